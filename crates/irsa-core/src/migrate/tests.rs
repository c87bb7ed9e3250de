//! Migration plans over snapshot fixtures: a cluster on IRSA (one plain service account whose
//! role irsa owns, one EKS add-on whose role it does not), replayed phase by phase.

use super::*;
use crate::identity::irsa::web_identity_trust_policy;
use crate::snapshot::{Cluster, OidcProvider, PodIdentityAssociation, ServiceAccount};

const ACCOUNT: &str = "123456789012";
const ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE";
const PROVIDER: &str =
    "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE";
const APP_ROLE: &str = "arn:aws:iam::123456789012:role/app";
const EBS_ROLE: &str = "arn:aws:iam::123456789012:role/ebs";
const EBS_ADDON: &str = "aws-ebs-csi-driver";
const EBS_ADDON_ARN: &str = "arn:aws:eks:us-east-1:123456789012:addon/demo/aws-ebs-csi-driver/1";

fn irsa_trust(namespace: &str, name: &str) -> Value {
    web_identity_trust_policy("aws", ACCOUNT, ISSUER, namespace, name, DEFAULT_AUDIENCE).unwrap()
}

fn role(name: &str, trust: Value, owned: bool) -> Role {
    Role {
        name: name.into(),
        arn: format!("arn:aws:iam::{ACCOUNT}:role/{name}"),
        path: "/".into(),
        trust_policy: trust,
        tags: if owned {
            ownership_tags("demo")
        } else {
            Default::default()
        },
        ..Default::default()
    }
}

fn annotated(namespace: &str, name: &str, role_arn: &str) -> ServiceAccount {
    let mut sa = ServiceAccount {
        namespace: namespace.into(),
        name: name.into(),
        ..Default::default()
    };
    sa.annotations
        .insert(ROLE_ARN_ANNOTATION.into(), role_arn.into());
    sa.annotations.insert("team".into(), "payments".into());
    sa.labels.insert("app".into(), name.into());
    sa
}

/// A cluster on IRSA: `default/app` (role irsa owns) and the EBS CSI add-on (a foreign role).
fn on_irsa() -> Snapshot {
    Snapshot {
        account: ACCOUNT.into(),
        partition: "aws".into(),
        region: "us-east-1".into(),
        cluster: Some(Cluster {
            name: "demo".into(),
            arn: "arn:aws:eks:us-east-1:123456789012:cluster/demo".into(),
            issuer_url: Some(ISSUER.into()),
            status: "ACTIVE".into(),
            version: None,
        }),
        oidc_providers: vec![OidcProvider {
            arn: PROVIDER.into(),
            url: "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE".into(),
            client_ids: vec![DEFAULT_AUDIENCE.into()],
            ..Default::default()
        }],
        roles: vec![
            role("app", irsa_trust("default", "app"), true),
            role(
                "ebs",
                irsa_trust("kube-system", "ebs-csi-controller-sa"),
                false,
            ),
        ],
        addons: vec![Addon {
            name: EBS_ADDON.into(),
            status: "ACTIVE".into(),
            service_account_role_arn: Some(EBS_ROLE.into()),
            arn: EBS_ADDON_ARN.into(),
            ..Default::default()
        }],
        service_accounts: vec![
            annotated("default", "app", APP_ROLE),
            annotated("kube-system", "ebs-csi-controller-sa", EBS_ROLE),
        ],
        ..Default::default()
    }
}

fn with_agent(mut snapshot: Snapshot) -> Snapshot {
    snapshot.addons.push(Addon {
        name: AGENT_ADDON.into(),
        status: "ACTIVE".into(),
        arn: "arn:aws:eks:us-east-1:123456789012:addon/demo/eks-pod-identity-agent/1".into(),
        ..Default::default()
    });
    snapshot
}

fn to(kind: Kind) -> Options {
    Options {
        to: Some(kind),
        ..Default::default()
    }
}

/// What the snapshot shows once `step` ran (as EKS, IAM and Kubernetes would leave it).
pub(crate) fn apply(snapshot: &mut Snapshot, step: &Step) {
    match step {
        Step::CreateAddon { name, .. } => {
            snapshot.addons.push(Addon {
                name: name.clone(),
                status: "ACTIVE".into(),
                ..Default::default()
            });
        }
        Step::UpdateTrustPolicy {
            role_name,
            trust_policy,
        } => {
            let role = snapshot.roles.iter_mut().find(|r| r.name == *role_name);
            role.unwrap().trust_policy = trust_policy.clone();
        }
        Step::CreatePodIdentityAssociation {
            namespace,
            service_account,
            role_arn,
            tags,
            ..
        } => snapshot
            .pod_identity_associations
            .push(PodIdentityAssociation {
                association_id: format!("a-{service_account}"),
                namespace: namespace.clone(),
                service_account: service_account.clone(),
                role_arn: role_arn.clone(),
                tags: tags.clone(),
                ..Default::default()
            }),
        Step::DeletePodIdentityAssociation { association_id, .. } => snapshot
            .pod_identity_associations
            .retain(|a| a.association_id != *association_id),
        Step::ApplyServiceAccount {
            namespace,
            name,
            annotations,
            ..
        } => {
            let sa = snapshot
                .service_accounts
                .iter_mut()
                .find(|s| s.namespace == *namespace && s.name == *name)
                .unwrap();
            merge(&mut sa.annotations, annotations);
        }
        Step::UpdateAddon { name, identity, .. } => update_addon(snapshot, name, identity),
        other => panic!("a migration does not plan {other:?}"),
    }
}

fn merge(map: &mut crate::snapshot::Tags, patch: &[(String, Option<String>)]) {
    for (key, value) in patch {
        match value {
            Some(v) => map.insert(key.clone(), v.clone()),
            None => map.remove(key),
        };
    }
}

/// EKS's UpdateAddon: the associations replaced, or the role set (EKS annotates its service
/// account with it, or removes the annotation for an empty one).
fn update_addon(snapshot: &mut Snapshot, name: &str, identity: &AddonIdentity) {
    let addon = snapshot.addons.iter_mut().find(|a| a.name == name).unwrap();
    let arn = addon.arn.clone();
    match identity {
        AddonIdentity::ServiceAccountRole { role_arn } => {
            addon.service_account_role_arn = Some(role_arn.clone()).filter(|r| !r.is_empty());
            let role = addon.service_account_role_arn.clone();
            // A plan's snapshot does not read the service accounts EKS add-ons create.
            let sa = snapshot
                .service_accounts
                .iter_mut()
                .find(|s| s.name == "ebs-csi-controller-sa");
            if let Some(sa) = sa {
                merge(
                    &mut sa.annotations,
                    &[(ROLE_ARN_ANNOTATION.to_string(), role)],
                );
            }
        }
        AddonIdentity::PodIdentity { associations } => {
            snapshot
                .pod_identity_associations
                .retain(|a| a.owner_arn.as_deref() != Some(&arn));
            for a in associations {
                snapshot
                    .pod_identity_associations
                    .push(PodIdentityAssociation {
                        association_id: format!("a-{}", a.service_account),
                        namespace: "kube-system".into(),
                        service_account: a.service_account.clone(),
                        role_arn: a.role_arn.clone(),
                        owner_arn: Some(arn.clone()),
                        ..Default::default()
                    });
            }
        }
        AddonIdentity::None => {}
    }
}

/// The snapshot after every step of the plan (agent, then each migration's phases).
fn run_all(mut snapshot: Snapshot, plan: &MigrationPlan) -> Snapshot {
    for step in plan
        .agent
        .iter()
        .chain(plan.migrations.iter().flat_map(|m| m.steps()))
    {
        apply(&mut snapshot, step);
    }
    snapshot
}

fn names(m: &Migration) -> Vec<&'static str> {
    m.phases.iter().map(|p| p.name.as_str()).collect()
}

fn migration<'a>(plan: &'a MigrationPlan, name: &str) -> &'a Migration {
    plan.migrations.iter().find(|m| m.name == name).unwrap()
}

#[test]
fn fresh_cluster_to_pod_identity_follows_the_safe_order() {
    let plan = plan(&on_irsa(), &to(Kind::PodIdentity)).unwrap();
    assert!(
        matches!(plan.agent.as_slice(), [Step::CreateAddon { name, .. }] if name == AGENT_ADDON)
    );
    let app = migration(&plan, "app");
    assert_eq!(
        names(app),
        ["trust", "link", "proof", "unlink", "restart", "pods-proof"]
    );
    assert_eq!((app.from, app.to), (Kind::Irsa, Kind::PodIdentity));
    assert!(matches!(
        &app.phases[1].steps[..],
        [Step::CreatePodIdentityAssociation { role_arn, .. }] if role_arn == APP_ROLE
    ));
    // Only the role-arn annotation is removed.
    assert!(matches!(
        &app.phases[3].steps[..],
        [Step::ApplyServiceAccount { annotations, labels, create: false, .. }]
            if labels.is_empty() && *annotations == vec![(ROLE_ARN_ANNOTATION.to_string(), None)]
    ));
    let after = run_all(on_irsa(), &plan);
    let sa = after.service_account("default", "app").unwrap();
    assert!(!sa.annotations.contains_key(ROLE_ARN_ANNOTATION));
    assert_eq!(sa.annotations["team"], "payments");
    assert_eq!(sa.labels["app"], "app");
}

#[test]
fn addon_moves_through_pod_identity_associations_then_loses_its_role() {
    let plan = plan(&on_irsa(), &to(Kind::PodIdentity)).unwrap();
    let ebs = migration(&plan, "ebs-csi-controller-sa");
    assert_eq!(ebs.addon.as_deref(), Some(EBS_ADDON));
    let link = &ebs.phases[1].steps[0];
    let Step::UpdateAddon {
        identity: AddonIdentity::PodIdentity { associations },
        ..
    } = link
    else {
        panic!("expected podIdentityAssociations, got {link:?}");
    };
    assert_eq!(associations[0].role_arn, EBS_ROLE);
    assert!(matches!(
        &ebs.phases[3].steps[..],
        [Step::UpdateAddon { identity: AddonIdentity::ServiceAccountRole { role_arn }, .. }] if role_arn.is_empty()
    ));
    let after = run_all(on_irsa(), &plan);
    assert_eq!(
        after.addon(EBS_ADDON).unwrap().service_account_role_arn,
        None
    );
}

#[test]
fn trust_keeps_the_oidc_statement_and_a_foreign_role_only_gains_one() {
    let snapshot = on_irsa();
    let plan = plan(&snapshot, &to(Kind::PodIdentity)).unwrap();
    for (name, role_name) in [("app", "app"), ("ebs-csi-controller-sa", "ebs")] {
        let Step::UpdateTrustPolicy { trust_policy, .. } =
            &migration(&plan, name).phases[0].steps[0]
        else {
            panic!("the first phase updates the trust");
        };
        let before = &snapshot.role(role_name).unwrap().trust_policy["Statement"];
        let after = trust_policy["Statement"].as_array().unwrap();
        assert_eq!(after.len(), 2, "{role_name}: one statement added");
        assert_eq!(
            after[0], before[0],
            "{role_name}: the OIDC statement stays as it was"
        );
        assert_eq!(
            after[1]["Principal"]["Service"],
            pod_identity::SERVICE_PRINCIPAL
        );
    }
}

#[test]
fn second_run_plans_nothing() {
    for kind in Kind::ALL {
        let start = match kind {
            Kind::PodIdentity => on_irsa(),
            Kind::Irsa => run_all(
                on_irsa(),
                &plan(&on_irsa(), &to(Kind::PodIdentity)).unwrap(),
            ),
        };
        let done = run_all(start.clone(), &plan(&start, &to(kind)).unwrap());
        let again = plan(&done, &to(kind)).unwrap();
        assert!(!again.has_changes(), "{kind}: {again:?}");
        assert!(again.migrations.iter().all(Migration::is_done), "{kind}");
    }
}

#[test]
fn a_rerun_after_each_phase_does_only_what_is_left() {
    let mut snapshot = on_irsa();
    let first = plan(&snapshot, &to(Kind::PodIdentity)).unwrap();
    for step in &first.agent {
        apply(&mut snapshot, step);
    }
    let app = migration(&first, "app").clone();
    let mut left = names(&app);
    for phase in app.phases.iter().filter(|p| !p.steps.is_empty()) {
        for step in &phase.steps {
            apply(&mut snapshot, step);
        }
        let rerun = plan(&snapshot, &to(Kind::PodIdentity)).unwrap();
        assert!(rerun.agent.is_empty());
        let now = migration(&rerun, "app");
        let position = left.iter().position(|n| *n == phase.name.as_str()).unwrap();
        left.remove(position);
        let with_steps: Vec<_> = now
            .phases
            .iter()
            .filter(|p| !p.steps.is_empty())
            .map(|p| p.name.as_str())
            .collect();
        assert!(
            !with_steps.contains(&phase.name.as_str()),
            "{} is done, yet planned again: {now:?}",
            phase.name.as_str()
        );
    }
    assert!(migration(&plan(&snapshot, &to(Kind::PodIdentity)).unwrap(), "app").is_done());
}

#[test]
fn stale_pods_keep_the_restart_and_its_proof() {
    let done = run_all(
        on_irsa(),
        &plan(&on_irsa(), &to(Kind::PodIdentity)).unwrap(),
    );
    let mut options = to(Kind::PodIdentity);
    options.stale_pods.insert(("default".into(), "app".into()));
    let rerun = plan(&done, &options).unwrap();
    let app = migration(&rerun, "app");
    assert_eq!(names(app), ["proof", "restart", "pods-proof"]);
    assert_eq!(app.steps().count(), 0);
}

#[test]
fn remove_irsa_trust_drops_the_oidc_statement_last() {
    let mut options = to(Kind::PodIdentity);
    options.remove_irsa_trust = true;
    let snapshot = with_agent(on_irsa());
    let plan = plan(&snapshot, &options).unwrap();
    let app = migration(&plan, "app");
    assert_eq!(names(app).last(), Some(&"remove-irsa-trust"));
    let after = run_all(snapshot, &plan);
    let trust = &after.role("app").unwrap().trust_policy["Statement"];
    assert_eq!(trust.as_array().unwrap().len(), 1);
    assert_eq!(
        trust[0]["Principal"]["Service"],
        pod_identity::SERVICE_PRINCIPAL
    );
    assert!(
        !after.oidc_providers.is_empty(),
        "the provider is never deleted"
    );
}

#[test]
fn remove_irsa_trust_keeps_statements_another_annotated_service_account_needs() {
    let mut snapshot = with_agent(on_irsa());
    snapshot
        .service_accounts
        .push(annotated("other", "worker", APP_ROLE));
    let mut options = to(Kind::PodIdentity);
    options.remove_irsa_trust = true;
    options.only = Some(("default".into(), "app".into()));
    let plan = plan(&snapshot, &options).unwrap();
    let app = migration(&plan, "app");
    assert!(!names(app).contains(&"remove-irsa-trust"), "{app:?}");
}

#[test]
fn a_trust_over_the_quota_is_refused_with_the_numbers() {
    let mut snapshot = on_irsa();
    let long = (0..40)
        .map(|i| {
            irsa_trust("default", &format!("service-account-number-{i}"))["Statement"][0].clone()
        })
        .collect();
    snapshot.roles[0].trust_policy["Statement"] = Value::Array(long);
    let plan = plan(&snapshot, &to(Kind::PodIdentity)).unwrap();
    let app = migration(&plan, "app");
    let why = app.refusal.as_deref().unwrap();
    assert!(why.contains("characters") && why.contains("2048"), "{why}");
    assert!(
        app.phases.is_empty(),
        "nothing planned for a refused service account"
    );
    // The others go on.
    assert!(migration(&plan, "ebs-csi-controller-sa").refusal.is_none());
}

#[test]
fn back_to_irsa_annotates_first_and_removes_the_association_last() {
    let mut options = to(Kind::PodIdentity);
    options.remove_irsa_trust = true;
    let on_pod_identity = run_all(
        with_agent(on_irsa()),
        &plan(&with_agent(on_irsa()), &options).unwrap(),
    );
    let back = plan(&on_pod_identity, &to(Kind::Irsa)).unwrap();
    assert!(back.agent.is_empty());
    let app = migration(&back, "app");
    assert_eq!((app.from, app.to), (Kind::PodIdentity, Kind::Irsa));
    assert_eq!(
        names(app),
        ["trust", "link", "proof", "restart", "pods-proof", "unlink"]
    );
    assert!(matches!(
        &app.phases.last().unwrap().steps[..],
        [Step::DeletePodIdentityAssociation { .. }]
    ));
    let ebs = migration(&back, "ebs-csi-controller-sa");
    assert!(matches!(
        &ebs.phases.last().unwrap().steps[..],
        [Step::UpdateAddon { identity: AddonIdentity::PodIdentity { associations }, .. }] if associations.is_empty()
    ));
    let after = run_all(on_pod_identity, &back);
    assert_eq!(
        after.service_account("default", "app").unwrap().annotations[ROLE_ARN_ANNOTATION],
        APP_ROLE
    );
    assert_eq!(
        after
            .addon(EBS_ADDON)
            .unwrap()
            .service_account_role_arn
            .as_deref(),
        Some(EBS_ROLE)
    );
    assert!(after.pod_identity_associations.is_empty());
}

#[test]
fn back_to_irsa_without_an_oidc_provider_is_refused_with_the_remedy() {
    let mut on_pod_identity = run_all(
        on_irsa(),
        &plan(&on_irsa(), &to(Kind::PodIdentity)).unwrap(),
    );
    on_pod_identity.oidc_providers.clear();
    let back = plan(&on_pod_identity, &to(Kind::Irsa)).unwrap();
    let why = migration(&back, "app").refusal.as_deref().unwrap();
    assert!(why.contains("associate-iam-oidc-provider"), "{why}");
}

#[test]
fn one_service_account_only_and_an_unlinked_one_is_an_error() {
    let mut options = to(Kind::PodIdentity);
    options.only = Some(("default".into(), "app".into()));
    let plan = plan(&on_irsa(), &options).unwrap();
    assert_eq!(plan.migrations.len(), 1);
    options.only = Some(("default".into(), "nobody".into()));
    assert_eq!(
        super::plan(&on_irsa(), &options),
        Err(MigrateError::NotLinked("default/nobody".into()))
    );
}

#[test]
fn an_association_to_another_role_is_refused() {
    let mut snapshot = on_irsa();
    snapshot
        .pod_identity_associations
        .push(PodIdentityAssociation {
            association_id: "a-other".into(),
            namespace: "default".into(),
            service_account: "app".into(),
            role_arn: EBS_ROLE.into(),
            ..Default::default()
        });
    let plan = plan(&snapshot, &to(Kind::PodIdentity)).unwrap();
    let why = migration(&plan, "app").refusal.as_deref().unwrap();
    assert!(why.contains("another role"), "{why}");
}

#[test]
fn a_failed_agent_is_refused_and_a_starting_one_waited_for() {
    let mut snapshot = with_agent(on_irsa());
    snapshot.addons.last_mut().unwrap().status = "CREATING".into();
    let plan_creating = plan(&snapshot, &to(Kind::PodIdentity)).unwrap();
    assert!(matches!(
        plan_creating.agent.as_slice(),
        [Step::WaitForAddon { .. }]
    ));
    snapshot.addons.last_mut().unwrap().status = "CREATE_FAILED".into();
    let failed = plan(&snapshot, &to(Kind::PodIdentity)).unwrap();
    assert!(failed.agent_refusal.unwrap().contains("CREATE_FAILED"));
}

#[test]
fn a_trust_with_the_statement_and_a_deny_is_not_grown_again() {
    let mut snapshot = with_agent(on_irsa());
    let first = plan(&snapshot, &to(Kind::PodIdentity)).unwrap();
    apply(&mut snapshot, &migration(&first, "app").phases[0].steps[0]);
    let deny = serde_json::json!({
        "Effect": "Deny",
        "Principal": { "Service": pod_identity::SERVICE_PRINCIPAL },
        "Action": "sts:AssumeRole"
    });
    let role = snapshot.roles.iter_mut().find(|r| r.name == "app").unwrap();
    role.trust_policy = trust::with_statement(&role.trust_policy, deny);
    let rerun = plan(&snapshot, &to(Kind::PodIdentity)).unwrap();
    assert_eq!(
        names(migration(&rerun, "app")),
        ["link", "proof", "unlink", "restart", "pods-proof"]
    );
}

/// The cluster moved to Pod Identity with `--remove-irsa-trust`: the roles trust only
/// `pods.eks.amazonaws.com`.
fn on_pod_identity() -> Snapshot {
    let mut options = to(Kind::PodIdentity);
    options.remove_irsa_trust = true;
    let snapshot = with_agent(on_irsa());
    let plan = plan(&snapshot, &options).unwrap();
    run_all(snapshot, &plan)
}

#[test]
fn remove_pod_identity_trust_comes_after_the_proof_and_the_association_removal() {
    let snapshot = on_pod_identity();
    let mut options = to(Kind::Irsa);
    options.remove_pod_identity_trust = true;
    let back = plan(&snapshot, &options).unwrap();
    let app = migration(&back, "app");
    assert_eq!(
        names(app),
        [
            "trust",
            "link",
            "proof",
            "restart",
            "pods-proof",
            "unlink",
            "remove-pod-identity-trust"
        ]
    );
    let after = run_all(snapshot, &back);
    let trust = &after.role("app").unwrap().trust_policy;
    assert_eq!(trust["Statement"].as_array().unwrap().len(), 1, "{trust:#}");
    assert!(
        trust["Statement"][0]["Principal"]["Federated"]
            .as_str()
            .unwrap()
            .ends_with("oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"),
        "{trust:#}"
    );
    // Done: a rerun plans nothing, the flag included.
    let again = plan(&after, &options).unwrap();
    assert!(!again.has_changes(), "{again:#?}");
}

#[test]
fn remove_pod_identity_trust_keeps_the_statement_another_association_needs() {
    let mut snapshot = on_pod_identity();
    snapshot
        .pod_identity_associations
        .push(PodIdentityAssociation {
            association_id: "a-worker".into(),
            namespace: "other".into(),
            service_account: "worker".into(),
            role_arn: APP_ROLE.into(),
            ..Default::default()
        });
    let mut options = to(Kind::Irsa);
    options.remove_pod_identity_trust = true;
    options.only = Some(("default".into(), "app".into()));
    let back = plan(&snapshot, &options).unwrap();
    let app = migration(&back, "app");
    assert!(
        !names(app).contains(&"remove-pod-identity-trust"),
        "{app:?}"
    );
}

#[test]
fn only_the_statement_naming_pods_eks_alone_is_dropped() {
    let mixed = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": ["pods.eks.amazonaws.com"]}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"Service": ["pods.eks.amazonaws.com", "ec2.amazonaws.com"]}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]});
    let rest = trust::without_service(&mixed, pod_identity::SERVICE_PRINCIPAL).unwrap();
    assert_eq!(rest["Statement"].as_array().unwrap().len(), 2, "{rest:#}");
    assert_eq!(
        trust::without_service(&rest["Statement"][1], pod_identity::SERVICE_PRINCIPAL),
        None
    );
}

/// EKS Pod Identity runs on Linux Amazon EC2 nodes only, not on Fargate (EKS user guide,
/// https://docs.aws.amazon.com/eks/latest/userguide/pod-identities.html, "EKS Pod Identity
/// restrictions").
#[test]
fn pods_on_fargate_stay_on_irsa_and_the_others_go_on() {
    let mut options = to(Kind::PodIdentity);
    options.fargate.insert(("default".into(), "app".into()));
    let plan = plan(&with_agent(on_irsa()), &options).unwrap();
    let app = migration(&plan, "app");
    let why = app.refusal.as_deref().unwrap();
    assert!(
        why.contains("Fargate") && why.contains("stays on IRSA"),
        "{why}"
    );
    assert!(app.phases.is_empty());
    let ebs = migration(&plan, "ebs-csi-controller-sa");
    assert!(ebs.refusal.is_none() && !ebs.phases.is_empty(), "{ebs:?}");
    // Fargate runs IRSA: the way back is not refused.
    let mut back = to(Kind::Irsa);
    back.fargate = options.fargate.clone();
    let back = plan_back(&back);
    assert!(migration(&back, "app").refusal.is_none());
}

fn plan_back(options: &Options) -> MigrationPlan {
    plan(&on_pod_identity(), options).unwrap()
}

#[test]
fn a_spec_gives_the_association_its_options_and_tags() {
    let mut options = to(Kind::PodIdentity);
    options.only = Some(("default".into(), "app".into()));
    options.mechanism = Some(Mechanism::PodIdentity(PodIdentity {
        target_role_arn: Some("arn:aws:iam::210987654321:role/reports".into()),
        ..Default::default()
    }));
    let tags: crate::snapshot::Tags = [("team".to_string(), "payments".to_string())].into();
    options.association_tags = Some(tags.clone());
    let plan = plan(&with_agent(on_irsa()), &options).unwrap();
    let created = migration(&plan, "app")
        .steps()
        .find_map(|s| match s {
            Step::CreatePodIdentityAssociation {
                target_role_arn,
                tags,
                ..
            } => Some((target_role_arn.clone(), tags.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        created,
        (Some("arn:aws:iam::210987654321:role/reports".into()), tags)
    );
}

#[test]
fn an_addon_with_a_role_is_a_subject_without_its_service_account_read() {
    let mut snapshot = with_agent(on_irsa());
    snapshot
        .service_accounts
        .retain(|sa| sa.name != "ebs-csi-controller-sa");
    let mut options = to(Kind::PodIdentity);
    options.only = Some(("kube-system".into(), "ebs-csi-controller-sa".into()));
    let plan = plan(&snapshot, &options).unwrap();
    let ebs = migration(&plan, "ebs-csi-controller-sa");
    assert_eq!(ebs.addon.as_deref(), Some(EBS_ADDON));
    assert_eq!(ebs.role_arn, EBS_ROLE);
}
