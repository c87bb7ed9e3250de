//! Doctor on a healthy EKS Pod Identity chain (nothing found, no OIDC provider needed) and on
//! each broken link, one at a time: the first finding names that link's rule. Each case names
//! the AWS behaviour it stands for (Amazon EKS User Guide, pod-identities.html and the pages it
//! links; see REFERENCE.md "EKS Pod Identity").

use super::*;
use crate::identity::pod_identity::AGENT_ADDON;
use crate::identity::{Mechanism, PodIdentity, TrustTarget};
use crate::snapshot::PodIdentityAssociation;
use crate::steps::{AddonAssociation, AddonIdentity};

const CLUSTER_ARN: &str = "arn:aws:eks:us-east-1:123456789012:cluster/demo";
const EBS_ADDON_ARN: &str = "arn:aws:eks:us-east-1:123456789012:addon/demo/aws-ebs-csi-driver/1";

fn pod_identity(options: PodIdentity) -> Mechanism {
    Mechanism::PodIdentity(options)
}

/// The trust irsa writes for a Pod Identity binding of `namespace/name` on `demo`.
fn pi_trust(namespace: &str, name: &str, options: PodIdentity) -> serde_json::Value {
    let target = TrustTarget {
        partition: "aws",
        account: ACCOUNT,
        region: "us-east-1",
        cluster_name: "demo",
        issuer_url: None,
    };
    pod_identity(options)
        .trust_policy(&target, namespace, name)
        .unwrap()
}

fn association(namespace: &str, name: &str, role: &str) -> PodIdentityAssociation {
    PodIdentityAssociation {
        association_id: format!("a-{name}"),
        association_arn: format!(
            "arn:aws:eks:us-east-1:{ACCOUNT}:podidentityassociation/demo/a-{name}"
        ),
        namespace: namespace.into(),
        service_account: name.into(),
        role_arn: role_arn(role),
        tags: desired::ownership_tags("demo"),
        ..PodIdentityAssociation::default()
    }
}

fn spec_subject(namespace: &str, name: &str, role: &str) -> Subject {
    Subject {
        expected_role_arn: Some(role_arn(role)),
        mechanism: Some(pod_identity(PodIdentity::default())),
        ..subject_for(namespace, name)
    }
}

/// The IRSA healthy world moved to Pod Identity: agent installed and ready, one association per
/// service account (EBS's owned by its add-on), trusts for `pods.eks.amazonaws.com`, no role
/// annotations and no OIDC provider.
fn healthy_pi() -> World {
    let mut world = healthy();
    let snapshot = &mut world.snapshot;
    snapshot.oidc_providers.clear();
    snapshot.cluster.as_mut().unwrap().arn = CLUSTER_ARN.into();
    for (role, (namespace, name)) in [
        ("app", ("shop", "app")),
        ("autoscaler", ("kube-system", "cluster-autoscaler")),
        ("ebs", ("kube-system", "ebs-csi-controller-sa")),
    ] {
        let r = snapshot.roles.iter_mut().find(|r| r.name == role).unwrap();
        r.trust_policy = pi_trust(namespace, name, PodIdentity::default());
        let mut a = association(namespace, name, role);
        if role == "ebs" {
            a.owner_arn = Some(EBS_ADDON_ARN.into());
        }
        snapshot.pod_identity_associations.push(a);
    }
    for sa in &mut snapshot.service_accounts {
        sa.annotations.clear();
    }
    let ebs = &mut snapshot.addons[0];
    ebs.service_account_role_arn = None;
    ebs.arn = EBS_ADDON_ARN.into();
    ebs.version = Some("v1.38.1-eksbuild.1".into());
    snapshot.addons.push(Addon {
        configuration_values: None,
        name: AGENT_ADDON.into(),
        status: "ACTIVE".into(),
        version: Some("v1.3.4-eksbuild.1".into()),
        ..Addon::default()
    });
    world.subjects = vec![
        spec_subject("shop", "app", "app"),
        spec_subject("kube-system", "cluster-autoscaler", "autoscaler"),
        spec_subject("kube-system", "ebs-csi-controller-sa", "ebs"),
    ];
    world.pod_identity = PodIdentityFacts {
        agent_daemon_set: Some(DaemonSetStatus {
            desired: 2,
            ready: 2,
        }),
        addon_supports_pod_identity: [("aws-ebs-csi-driver".to_string(), true)].into(),
    };
    world
}

fn association_mut<'a>(world: &'a mut World, name: &str) -> &'a mut PodIdentityAssociation {
    world
        .snapshot
        .pod_identity_associations
        .iter_mut()
        .find(|a| a.service_account == name)
        .unwrap()
}

fn app_workload(world: &mut World) -> &mut WorkloadFacts {
    &mut world
        .workloads
        .get_mut(&("shop".into(), "app".into()))
        .unwrap()[0]
}

/// The subjects `irsa doctor` picks without a spec: mechanism and role read from what is live.
fn without_spec(mut world: World) -> World {
    for subject in &mut world.subjects {
        subject.mechanism = None;
        subject.expected_role_arn = None;
    }
    world
}

#[test]
fn a_healthy_pod_identity_chain_raises_nothing_and_needs_no_oidc_provider() {
    let findings = run(&healthy_pi());
    assert!(findings.is_empty(), "{findings:#?}");
    // Without a spec the association alone makes a service account a Pod Identity one.
    let world = without_spec(healthy_pi());
    for subject in &world.subjects {
        assert_eq!(
            mechanism_of(&world.snapshot, subject),
            Kind::PodIdentity,
            "{}",
            subject.label()
        );
    }
    let findings = run(&world);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn agent_missing_is_the_root_cause_and_fix_installs_it() {
    let mut world = healthy_pi();
    world.snapshot.addons.retain(|a| a.name != AGENT_ADDON);
    world.pod_identity.agent_daemon_set = None;
    // Also a broken association later in the chain: the agent still comes first.
    world
        .snapshot
        .pod_identity_associations
        .retain(|a| a.service_account != "app");
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC110", "DOC120"], "{findings:#?}");
    assert_eq!(findings[0].subject, None);
    assert!(matches!(
        &findings[0].fix.action,
        Some(FixAction::Step { step: Step::CreateAddon { name, identity: AddonIdentity::None, .. } }) if name == AGENT_ADDON
    ));
}

#[test]
fn agent_not_active() {
    let mut world = healthy_pi();
    world
        .snapshot
        .addons
        .iter_mut()
        .find(|a| a.name == AGENT_ADDON)
        .unwrap()
        .status = "DEGRADED".into();
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC111"], "{findings:#?}");
    assert!(findings[0].message.contains("DEGRADED"));
}

#[test]
fn agent_daemon_set_missing_or_not_ready_on_every_node() {
    let mut world = healthy_pi();
    world.pod_identity.agent_daemon_set = Some(DaemonSetStatus {
        desired: 3,
        ready: 1,
    });
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC112"], "{findings:#?}");
    assert!(findings[0].message.contains("ready on 1 of 3 node(s)"));

    world.pod_identity.agent_daemon_set = None;
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC112"]);
    assert!(findings[0].message.contains("does not exist"));
}

#[test]
fn association_missing_and_fix_creates_it_for_an_owned_role() {
    let mut world = healthy_pi();
    world
        .snapshot
        .pod_identity_associations
        .retain(|a| a.service_account != "cluster-autoscaler");
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC120"], "{findings:#?}");
    match &findings[0].fix.action {
        Some(FixAction::Step {
            step:
                Step::CreatePodIdentityAssociation {
                    namespace,
                    service_account,
                    role_arn: role,
                    disable_session_tags,
                    tags,
                    ..
                },
        }) => {
            assert_eq!(
                (namespace.as_str(), service_account.as_str()),
                ("kube-system", "cluster-autoscaler")
            );
            assert_eq!(role, &role_arn("autoscaler"));
            assert!(!disable_session_tags);
            assert!(desired::is_owned(tags));
        }
        other => panic!("{other:?}"),
    }

    // A role irsa did not create gets the command only, unless --adopt.
    role_mut(&mut world, "autoscaler").tags.clear();
    let findings = run(&world);
    assert_eq!(findings[0].rule, "DOC120");
    assert_eq!(findings[0].fix.action, None);
    assert!(
        findings[0]
            .fix
            .command
            .as_deref()
            .unwrap()
            .starts_with("aws eks create-pod-identity-association --cluster-name demo")
    );
    world.adopt = true;
    assert!(run(&world)[0].fix.action.is_some());
}

#[test]
fn an_addons_missing_association_is_fixed_through_the_addon() {
    let mut world = healthy_pi();
    world
        .snapshot
        .pod_identity_associations
        .retain(|a| a.service_account != "ebs-csi-controller-sa");
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC120"], "{findings:#?}");
    assert_eq!(
        findings[0].fix.action,
        Some(FixAction::Step {
            step: Step::UpdateAddon {
                settings: Default::default(),
                cluster: "demo".into(),
                name: "aws-ebs-csi-driver".into(),
                identity: AddonIdentity::PodIdentity {
                    associations: vec![AddonAssociation {
                        service_account: "ebs-csi-controller-sa".into(),
                        role_arn: role_arn("ebs"),
                    }],
                },
            },
        })
    );
}

#[test]
fn association_naming_another_role_than_the_spec() {
    let mut world = healthy_pi();
    let mut other = role(
        "other",
        pi_trust("shop", "app", PodIdentity::default()),
        &[S3_READ],
    );
    other.tags = desired::ownership_tags("demo");
    world.snapshot.roles.push(other);
    association_mut(&mut world, "app").role_arn = role_arn("other");
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC121"], "{findings:#?}");
    assert!(matches!(
        &findings[0].fix.action,
        Some(FixAction::Step { step: Step::UpdatePodIdentityAssociation { association_id, role_arn: to, .. } })
            if association_id == "a-app" && *to == role_arn("app")
    ));
}

#[test]
fn both_mechanisms_say_which_wins_for_whom() {
    // A workload: the SDKs find web identity first, so IRSA wins.
    let mut world = healthy_pi();
    world
        .snapshot
        .roles
        .push(role("irsa-app", trust("shop", "app"), &[S3_READ]));
    sa_mut(&mut world, "app")
        .annotations
        .insert(ROLE_ARN_ANNOTATION.into(), role_arn("irsa-app"));
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC122"], "{findings:#?}");
    assert!(findings[0].message.contains("its pods use IRSA"));
    assert!(findings[0].is_failure());
    // The spec says Pod Identity: the fix removes the annotation.
    assert!(matches!(
        &findings[0].fix.action,
        Some(FixAction::Step { step: Step::ApplyServiceAccount { annotations, .. } })
            if annotations == &vec![(ROLE_ARN_ANNOTATION.to_string(), None)]
    ));
    // Without a spec the workload is followed through IRSA, what its pods use.
    let world = without_spec(world);
    let app = &world.subjects[0];
    assert_eq!(mechanism_of(&world.snapshot, app), Kind::Irsa);

    // An EKS add-on: EKS uses the association and ignores serviceAccountRoleArn.
    let mut world = healthy_pi();
    sa_mut(&mut world, "ebs-csi-controller-sa")
        .annotations
        .insert(ROLE_ARN_ANNOTATION.into(), role_arn("ebs"));
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC122"], "{findings:#?}");
    assert!(
        findings[0].message.contains(
            "aws-ebs-csi-driver uses the association and ignores its serviceAccountRoleArn"
        )
    );
    // Both naming the same role work: low, not a failure.
    assert!(!findings[0].is_failure());
    assert_eq!(
        mechanism_of(
            &world.snapshot,
            &subject_for("kube-system", "ebs-csi-controller-sa")
        ),
        Kind::PodIdentity
    );
}

#[test]
fn association_role_missing() {
    let mut world = healthy_pi();
    world.snapshot.roles.retain(|r| r.name != "app");
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC130"], "{findings:#?}");
}

#[test]
fn trust_without_the_service_principal_and_fix_replaces_an_owned_trust() {
    let mut world = healthy_pi();
    // Still the IRSA trust: EKS Auth's AssumeRole as pods.eks.amazonaws.com is refused.
    role_mut(&mut world, "app").trust_policy = trust("shop", "app");
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC131"], "{findings:#?}");
    assert!(
        findings[0]
            .message
            .contains("Service principal pods.eks.amazonaws.com")
    );
    match &findings[0].fix.action {
        Some(FixAction::Step {
            step:
                Step::UpdateTrustPolicy {
                    role_name,
                    trust_policy,
                },
        }) => {
            assert_eq!(role_name, "app");
            assert_eq!(
                trust_policy,
                &pi_trust("shop", "app", PodIdentity::default())
            );
        }
        other => panic!("{other:?}"),
    }
    // An adopted role keeps its statements and gains the Pod Identity one.
    role_mut(&mut world, "app").tags.clear();
    world.adopt = true;
    let findings = run(&world);
    let Some(FixAction::Step {
        step: Step::UpdateTrustPolicy { trust_policy, .. },
    }) = &findings[0].fix.action
    else {
        panic!("{findings:#?}")
    };
    assert_eq!(trust_policy["Statement"].as_array().unwrap().len(), 2);
}

#[test]
fn trust_without_tag_session_while_session_tags_are_on() {
    let mut world = healthy_pi();
    role_mut(&mut world, "app").trust_policy["Statement"][0]["Action"] = json!("sts:AssumeRole");
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC132"], "{findings:#?}");
    assert!(findings[0].message.contains("sts:TagSession"));

    // With session tags off EKS calls only AssumeRole (and the trust cannot be scoped).
    let options = PodIdentity {
        disable_session_tags: true,
        ..PodIdentity::default()
    };
    let mut trust = pi_trust("shop", "app", options.clone());
    trust["Statement"][0]["Action"] = json!("sts:AssumeRole");
    role_mut(&mut world, "app").trust_policy = trust;
    association_mut(&mut world, "app").disable_session_tags = true;
    world.subjects[0].mechanism = Some(pod_identity(options));
    let findings = run(&world);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn trust_scoped_to_another_namespace_names_the_condition_and_the_tag_eks_sends() {
    let mut world = healthy_pi();
    role_mut(&mut world, "app").trust_policy = pi_trust("other", "app", PodIdentity::default());
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC133"], "{findings:#?}");
    assert!(
        findings[0].message.contains(
            "aws:RequestTag/kubernetes-namespace is [\"other\"]; for sts:AssumeRole EKS sends shop"
        ),
        "{}",
        findings[0].message
    );
    // Scoped to another cluster.
    let mut world = healthy_pi();
    world.snapshot.cluster.as_mut().unwrap().arn =
        "arn:aws:eks:us-east-1:123456789012:cluster/prod".into();
    let findings = run(&world);
    assert_eq!(findings[0].rule, "DOC133");
    assert!(findings[0].message.contains("eks-cluster-arn"));
}

#[test]
fn explicit_deny_in_a_pod_identity_trust() {
    let mut world = healthy_pi();
    let statements = role_mut(&mut world, "app").trust_policy["Statement"]
        .as_array_mut()
        .unwrap();
    statements.push(json!({"Effect": "Deny", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": "sts:TagSession"}));
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC134"], "{findings:#?}");
}

/// A target role in the same account (readable) trusting `trust`.
fn with_target(world: &mut World, trust: serde_json::Value, tags_on: bool) {
    world.snapshot.roles.push(role("target", trust, &[S3_READ]));
    let a = association_mut(world, "app");
    a.target_role_arn = Some(role_arn("target"));
    a.disable_session_tags = !tags_on;
    world.subjects[0].mechanism = Some(pod_identity(PodIdentity {
        target_role_arn: Some(role_arn("target")),
        disable_session_tags: !tags_on,
        ..PodIdentity::default()
    }));
    if !tags_on {
        role_mut(world, "app").trust_policy = pi_trust(
            "shop",
            "app",
            PodIdentity {
                disable_session_tags: true,
                ..PodIdentity::default()
            },
        );
    }
}

fn target_trust(principal: &str, condition: serde_json::Value) -> serde_json::Value {
    json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": condition
    }]})
}

#[test]
fn target_role_missing_or_not_trusting_the_first_role() {
    // Admitted by aws:PrincipalArn with the session tags (pod-id-assign-target-role.html).
    let mut world = healthy_pi();
    let admits = target_trust(
        &format!("arn:aws:iam::{ACCOUNT}:root"),
        json!({"ArnEquals": {"aws:PrincipalArn": role_arn("app")},
               "StringEquals": {"aws:RequestTag/kubernetes-namespace": "shop"}}),
    );
    with_target(&mut world, admits, true);
    assert!(run(&world).is_empty(), "{:#?}", run(&world));

    world.snapshot.roles.retain(|r| r.name != "target");
    assert_eq!(rules_of(&run(&world)), ["DOC135"]);

    let mut world = healthy_pi();
    let other = target_trust(
        &format!("arn:aws:iam::{ACCOUNT}:root"),
        json!({"ArnEquals": {"aws:PrincipalArn": role_arn("someone-else")}}),
    );
    with_target(&mut world, other, true);
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC136"], "{findings:#?}");
    assert!(findings[0].message.contains("aws:PrincipalArn"));
}

#[test]
fn target_role_admitting_by_external_id_when_session_tags_are_off() {
    let external_id = "us-east-1/123456789012/demo/shop/app";
    let mut world = healthy_pi();
    let admits = target_trust(
        &role_arn("app"),
        json!({"StringEquals": {"sts:ExternalId": external_id}}),
    );
    with_target(&mut world, admits, false);
    let findings = run(&world);
    assert!(findings.is_empty(), "{findings:#?}");

    let mut world = healthy_pi();
    let wrong = target_trust(
        &role_arn("app"),
        json!({"StringEquals": {"sts:ExternalId": "us-east-1/123456789012/demo/shop/other"}}),
    );
    with_target(&mut world, wrong, false);
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC136"], "{findings:#?}");
    assert!(findings[0].fix.summary.contains(external_id));
}

#[test]
fn a_session_policy_caps_the_roles_permissions() {
    let mut world = healthy_pi();
    let a = association_mut(&mut world, "cluster-autoscaler");
    a.disable_session_tags = true;
    a.policy = Some(
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "autoscaling:Describe*", "Resource": "*"}]})
            .to_string(),
    );
    let options = PodIdentity {
        disable_session_tags: true,
        session_policy: a.policy.clone(),
        ..PodIdentity::default()
    };
    role_mut(&mut world, "autoscaler").trust_policy =
        pi_trust("kube-system", "cluster-autoscaler", options.clone());
    world.subjects[1].mechanism = Some(pod_identity(options));
    let findings = run(&world);
    assert!(!findings.is_empty());
    assert!(findings.iter().all(|f| f.rule == "DOC140"), "{findings:#?}");
    assert!(
        findings
            .iter()
            .any(|f| f.message.contains("autoscaling:SetDesiredCapacity"))
    );
}

#[test]
fn pods_started_before_the_association_need_a_restart() {
    let mut world = healthy_pi();
    app_workload(&mut world).pods_without_pod_identity = 2;
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC150"], "{findings:#?}");
    assert!(
        findings[0]
            .message
            .contains("AWS_CONTAINER_CREDENTIALS_FULL_URI")
    );
    assert_eq!(
        findings[0].fix.action,
        Some(FixAction::Restart {
            namespace: "shop".into(),
            workload_kind: "Deployment".into(),
            workload: "app".into()
        })
    );
}

#[test]
fn fargate_pods_get_no_pod_identity() {
    let mut world = healthy_pi();
    app_workload(&mut world).fargate_pods = 1;
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC151"], "{findings:#?}");
    assert!(findings[0].fix.summary.contains("identity: irsa"));
}

#[test]
fn addon_version_without_pod_identity() {
    let mut world = healthy_pi();
    world.snapshot.addons[0].version = Some("v1.25.0-eksbuild.1".into());
    world
        .pod_identity
        .addon_supports_pod_identity
        .insert("aws-ebs-csi-driver".into(), false);
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC160"], "{findings:#?}");
    assert!(
        findings[0]
            .fix
            .command
            .as_deref()
            .unwrap()
            .ends_with("--addon-version v1.26.0-eksbuild.1")
    );
    // A Pod Identity add-on does not need serviceAccountRoleArn (DOC062 is IRSA's).
    assert!(world.snapshot.addons[0].service_account_role_arn.is_none());
}

#[test]
fn a_mixed_cluster_checks_each_service_account_through_its_own_mechanism() {
    // The IRSA world plus one Pod Identity service account without its agent: the agent is
    // reported, the IRSA chains are untouched.
    let mut world = healthy();
    world.snapshot.roles.push(role(
        "reports",
        pi_trust("shop", "reports", PodIdentity::default()),
        &[S3_READ],
    ));
    world.snapshot.service_accounts.push(ServiceAccount {
        namespace: "shop".into(),
        name: "reports".into(),
        ..ServiceAccount::default()
    });
    world
        .snapshot
        .pod_identity_associations
        .push(association("shop", "reports", "reports"));
    world.subjects.push(subject_for("shop", "reports"));
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC110"], "{findings:#?}");
}

#[test]
fn with_a_target_role_the_permissions_checked_are_the_targets() {
    // The autoscaler's first role may only assume the target, which holds the scaling policy.
    let mut world = healthy_pi();
    let scaling = role_mut(&mut world, "autoscaler")
        .attached_policy_arns
        .clone();
    let admits = target_trust(
        &role_arn("autoscaler"),
        json!({"StringEquals": {"aws:RequestTag/kubernetes-service-account": "cluster-autoscaler"}}),
    );
    let mut target = role("autoscaler-target", admits, &[]);
    target.attached_policy_arns = scaling;
    world.snapshot.roles.push(target);
    let first = role_mut(&mut world, "autoscaler");
    first.attached_policy_arns = vec![S3_READ.into()];
    association_mut(&mut world, "cluster-autoscaler").target_role_arn =
        Some(role_arn("autoscaler-target"));
    world.subjects[1].mechanism = Some(pod_identity(PodIdentity {
        target_role_arn: Some(role_arn("autoscaler-target")),
        ..PodIdentity::default()
    }));
    let findings = run(&world);
    assert!(findings.is_empty(), "{findings:#?}");

    // The target without the policy: the autoscaler's scaling is denied.
    role_mut(&mut world, "autoscaler-target")
        .attached_policy_arns
        .clear();
    let findings = run(&world);
    assert_eq!(findings[0].rule, "DOC040", "{findings:#?}");
    assert!(findings[0].message.contains("autoscaler-target"));
}
