use super::*;
use crate::desired::{self, ResolveInput, TAG_MANAGED_BY};
use crate::migrate::PhaseName;
use crate::render::ROLE_ARN_ANNOTATION;
use crate::snapshot::{
    Addon, Cluster, ManagedPolicy, OidcProvider, PolicyVersion, Role, ServiceAccount,
};

const ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/ABC";
const ACCOUNT: &str = "123456789012";

fn state() -> DesiredState {
    let spec = desired::default_spec("demo", "us-east-1", Some(ACCOUNT));
    desired::resolve(&spec, &ResolveInput::default(), &|_| unreachable!()).unwrap()
}

fn empty_snapshot() -> Snapshot {
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
        namespaces: vec!["default".into(), "kube-system".into()],
        ..Default::default()
    }
}

/// An add-on as EKS shows it once created with `identity` (its associations owned by it).
fn add_addon(
    snapshot: &mut Snapshot,
    name: &str,
    identity: &crate::steps::AddonIdentity,
    tags: &Tags,
) {
    let arn = format!("arn:aws:eks:us-east-1:{ACCOUNT}:addon/demo/{name}/1");
    let mut role = None;
    match identity {
        crate::steps::AddonIdentity::None => {}
        crate::steps::AddonIdentity::ServiceAccountRole { role_arn } => {
            role = Some(role_arn.clone())
        }
        crate::steps::AddonIdentity::PodIdentity { associations } => {
            for a in associations {
                snapshot
                    .pod_identity_associations
                    .push(crate::snapshot::PodIdentityAssociation {
                        association_id: format!("a-{name}"),
                        namespace: "kube-system".into(),
                        service_account: a.service_account.clone(),
                        role_arn: a.role_arn.clone(),
                        owner_arn: Some(arn.clone()),
                        ..Default::default()
                    });
            }
        }
    }
    snapshot.addons.push(Addon {
        configuration_values: None,
        name: name.to_string(),
        status: "ACTIVE".into(),
        service_account_role_arn: role,
        version: None,
        tags: tags.clone(),
        arn,
    });
}

/// The snapshot an apply of `plan` would leave behind (what the adapters would observe).
fn applied(mut snapshot: Snapshot, plan: &Plan) -> Snapshot {
    for s in &plan.steps {
        match &s.step {
            Step::CreateOidcProvider {
                url,
                client_ids,
                tags,
                ..
            } => snapshot.oidc_providers.push(OidcProvider {
                arn: format!(
                    "arn:aws:iam::{ACCOUNT}:oidc-provider/{}",
                    crate::snapshot::issuer_host_path(url)
                ),
                url: crate::snapshot::issuer_host_path(url).into(),
                client_ids: client_ids.clone(),
                thumbprints: vec![],
                tags: tags.clone(),
            }),
            Step::CreatePolicy {
                name,
                path,
                document,
                tags,
            } => snapshot.policies.push(ManagedPolicy {
                name: name.clone(),
                arn: format!("arn:aws:iam::{ACCOUNT}:policy{path}{name}"),
                path: path.clone(),
                default_version_id: "v1".into(),
                document: document.clone(),
                versions: vec![PolicyVersion {
                    id: "v1".into(),
                    is_default: true,
                    created: String::new(),
                }],
                tags: tags.clone(),
                attachment_count: None,
            }),
            Step::CreateRole {
                name,
                path,
                trust_policy,
                permissions_boundary,
                tags,
            } => snapshot.roles.push(Role {
                name: name.clone(),
                arn: format!("arn:aws:iam::{ACCOUNT}:role{path}{name}"),
                path: path.clone(),
                trust_policy: trust_policy.clone(),
                permissions_boundary: permissions_boundary.clone(),
                tags: tags.clone(),
                ..Default::default()
            }),
            Step::AttachRolePolicy {
                role_name,
                policy_arn,
            } => snapshot
                .roles
                .iter_mut()
                .find(|r| r.name == *role_name)
                .unwrap()
                .attached_policy_arns
                .push(policy_arn.clone()),
            Step::ApplyServiceAccount {
                namespace,
                name,
                labels,
                annotations,
                ..
            } => snapshot.service_accounts.push(ServiceAccount {
                namespace: namespace.clone(),
                name: name.clone(),
                labels: labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone().unwrap()))
                    .collect(),
                annotations: annotations
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone().unwrap()))
                    .collect(),
            }),
            Step::CreateAddon {
                name,
                identity,
                tags,
                ..
            } => add_addon(&mut snapshot, name, identity, tags),
            Step::CreatePodIdentityAssociation {
                namespace,
                service_account,
                role_arn,
                target_role_arn,
                disable_session_tags,
                policy,
                tags,
                ..
            } => {
                let id = format!("a-{}", snapshot.pod_identity_associations.len());
                snapshot
                    .pod_identity_associations
                    .push(crate::snapshot::PodIdentityAssociation {
                        association_arn: format!(
                            "arn:aws:eks:us-east-1:{ACCOUNT}:podidentityassociation/demo/{id}"
                        ),
                        association_id: id,
                        namespace: namespace.clone(),
                        service_account: service_account.clone(),
                        role_arn: role_arn.clone(),
                        target_role_arn: target_role_arn.clone(),
                        disable_session_tags: *disable_session_tags,
                        policy: policy.clone(),
                        tags: tags.clone(),
                        ..Default::default()
                    });
            }
            other => panic!("unexpected step in a first apply: {other:?}"),
        }
    }
    snapshot
}

#[test]
fn first_apply_of_default_bundle() {
    let plan = plan(&state(), &empty_snapshot(), &PlanOptions::default()).unwrap();
    let kinds: Vec<(&str, Mark)> = plan.items.iter().map(|i| (i.kind, i.mark)).collect();
    assert_eq!(kinds.iter().filter(|(k, _)| *k == "role").count(), 3);
    assert!(kinds.iter().all(|(_, m)| *m == Mark::Create), "{kinds:?}");
    // provider, 1 policy, 3 roles, 3 attachments, 1 service account, 2 add-ons.
    assert_eq!(plan.steps.len(), 11, "{:#?}", plan.steps);
    // provider → role → attachment or add-on: a chain of 3 calls.
    assert_eq!(plan.critical_path(), 3);
    let create_role = plan.steps.iter().find(|s| matches!(&s.step, Step::CreateRole { name, .. } if name == "irsa-demo-kube-system-cluster-autoscaler")).unwrap();
    assert_eq!(
        create_role.after,
        vec![0],
        "roles wait for the OIDC provider"
    );
    let Step::CreateRole {
        trust_policy, tags, ..
    } = &create_role.step
    else {
        unreachable!()
    };
    assert_eq!(
        trust_policy["Statement"][0]["Condition"]["StringEquals"]["oidc.eks.us-east-1.amazonaws.com/id/ABC:sub"],
        "system:serviceaccount:kube-system:cluster-autoscaler"
    );
    assert_eq!(tags.get(TAG_MANAGED_BY).map(String::as_str), Some("irsa"));
    let addon = plan
        .steps
        .iter()
        .find(|s| matches!(&s.step, Step::CreateAddon { name, .. } if name == "aws-ebs-csi-driver"))
        .unwrap();
    assert!(
        !addon.after.is_empty(),
        "the add-on waits for its role and attachment"
    );
    assert!(!plan.steps.iter().any(|s| matches!(&s.step, Step::ApplyServiceAccount { name, .. } if name == "ebs-csi-controller-sa")), "add-ons create their own service accounts");
}

#[test]
fn second_apply_changes_nothing() {
    let first = plan(&state(), &empty_snapshot(), &PlanOptions::default()).unwrap();
    let after = applied(empty_snapshot(), &first);
    let second = plan(&state(), &after, &PlanOptions::default()).unwrap();
    assert!(second.steps.is_empty(), "{:#?}", second.steps);
    assert!(
        second.items.iter().all(|i| i.mark == Mark::Unchanged),
        "{:#?}",
        second.items
    );
    assert!(!second.has_changes());
}

#[test]
fn drift_is_repaired() {
    let first = plan(&state(), &empty_snapshot(), &PlanOptions::default()).unwrap();
    let mut drifted = applied(empty_snapshot(), &first);
    let role = drifted
        .roles
        .iter_mut()
        .find(|r| r.name == "irsa-demo-kube-system-cluster-autoscaler")
        .unwrap();
    role.trust_policy["Statement"][0]["Condition"]["StringEquals"]["oidc.eks.us-east-1.amazonaws.com/id/ABC:sub"] =
        "system:serviceaccount:kube-system:*".into();
    role.attached_policy_arns.clear();
    drifted.service_accounts.iter_mut().for_each(|sa| {
        sa.annotations.remove(ROLE_ARN_ANNOTATION);
    });
    drifted.policies[0].document["Statement"][0]["Action"] = "ec2:*".into();
    let repair = plan(&state(), &drifted, &PlanOptions::default()).unwrap();
    let steps: Vec<&Step> = repair.steps.iter().map(|s| &s.step).collect();
    assert!(
        steps
            .iter()
            .any(|s| matches!(s, Step::UpdateTrustPolicy { .. }))
    );
    assert!(
        steps
            .iter()
            .any(|s| matches!(s, Step::AttachRolePolicy { .. }))
    );
    assert!(
        steps
            .iter()
            .any(|s| matches!(s, Step::CreatePolicyVersion { prune: None, .. }))
    );
    assert!(steps.iter().any(|s| matches!(s, Step::ApplyServiceAccount { create: false, annotations, .. } if annotations.iter().any(|(k, _)| k == ROLE_ARN_ANNOTATION))));
    let role_item = repair
        .items
        .iter()
        .find(|i| i.kind == "role" && i.mark == Mark::Update)
        .unwrap();
    assert!(
        role_item
            .details
            .iter()
            .any(|d| d.starts_with("- ") && d.contains("kube-system:*")),
        "{:?}",
        role_item.details
    );
    assert!(
        role_item
            .details
            .iter()
            .any(|d| d.starts_with("+ ") && d.contains("kube-system:cluster-autoscaler")),
        "{:?}",
        role_item.details
    );

    // A deleted service account is created again.
    let mut deleted = applied(empty_snapshot(), &first);
    deleted.service_accounts.clear();
    let recreate = plan(&state(), &deleted, &PlanOptions::default()).unwrap();
    assert!(
        recreate
            .steps
            .iter()
            .any(|s| matches!(&s.step, Step::ApplyServiceAccount { create: true, .. }))
    );
}

#[test]
fn policy_versions_are_pruned_at_five() {
    let first = plan(&state(), &empty_snapshot(), &PlanOptions::default()).unwrap();
    let mut s = applied(empty_snapshot(), &first);
    s.policies[0].document["Statement"][0]["Sid"] = "Old".into();
    s.policies[0].versions = (1..=5)
        .map(|i| PolicyVersion {
            id: format!("v{i}"),
            is_default: i == 3,
            created: String::new(),
        })
        .collect();
    let p = plan(&state(), &s, &PlanOptions::default()).unwrap();
    assert!(
        p.steps.iter().any(
            |st| matches!(&st.step, Step::CreatePolicyVersion { prune: Some(v), .. } if v == "v1")
        ),
        "{:#?}",
        p.steps
    );
}

#[test]
fn foreign_objects_are_conflicts_unless_adopted() {
    let mut s = empty_snapshot();
    s.roles.push(Role {
        name: "irsa-demo-kube-system-cluster-autoscaler".into(),
        arn: "arn:aws:iam::123456789012:role/irsa-demo-kube-system-cluster-autoscaler".into(),
        path: "/".into(),
        ..Default::default()
    });
    s.service_accounts.push(ServiceAccount {
        namespace: "kube-system".into(),
        name: "cluster-autoscaler".into(),
        ..Default::default()
    });
    s.addons.push(Addon {
        configuration_values: None,
        name: "aws-ebs-csi-driver".into(),
        status: "ACTIVE".into(),
        service_account_role_arn: None,
        ..Default::default()
    });
    let p = plan(&state(), &s, &PlanOptions::default()).unwrap();
    assert!(p.has_conflicts());
    let conflicts: Vec<&str> = p
        .items
        .iter()
        .filter(|i| i.mark == Mark::Conflict)
        .map(|i| i.kind)
        .collect();
    assert_eq!(conflicts, vec!["role", "eks-addon"], "{:#?}", p.items);
    let touches_role = |st: &&PlannedStep| match &st.step {
        Step::UpdateTrustPolicy { role_name, .. }
        | Step::AttachRolePolicy { role_name, .. }
        | Step::TagRole { role_name, .. } => role_name.contains("cluster-autoscaler"),
        _ => false,
    };
    assert!(
        !p.steps.iter().any(|st| touches_role(&st)),
        "nothing touches the foreign role: {:#?}",
        p.steps
    );
    assert!(
        !p.steps
            .iter()
            .any(|st| matches!(&st.step, Step::UpdateAddon { .. }))
    );

    let adopted = plan(
        &state(),
        &s,
        &PlanOptions {
            adopt: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(!adopted.has_conflicts(), "{:#?}", adopted.items);
    assert!(
        adopted
            .steps
            .iter()
            .any(|st| matches!(&st.step, Step::UpdateTrustPolicy { .. }))
    );
    assert!(
        adopted
            .steps
            .iter()
            .any(|st| matches!(&st.step, Step::TagRole { .. }))
    );
    assert!(
        adopted
            .steps
            .iter()
            .any(|st| matches!(&st.step, Step::ApplyServiceAccount { create: false, .. }))
    );
    assert!(
        adopted
            .steps
            .iter()
            .any(|st| matches!(&st.step, Step::UpdateAddon { .. }))
    );
}

#[test]
fn provider_without_sts_client_id_gets_it() {
    let mut s = empty_snapshot();
    s.oidc_providers.push(OidcProvider {
        arn: "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
            .into(),
        url: "oidc.eks.us-east-1.amazonaws.com/id/ABC".into(),
        client_ids: vec!["other".into()],
        ..Default::default()
    });
    let p = plan(&state(), &s, &PlanOptions::default()).unwrap();
    assert!(
        matches!(&p.steps[0].step, Step::AddOidcClientId { client_id, .. } if client_id == "sts.amazonaws.com")
    );
    assert_eq!(p.items[0].mark, Mark::Update);
}

#[test]
fn missing_cluster_or_issuer_or_wrong_account() {
    let mut s = empty_snapshot();
    s.cluster = None;
    assert_eq!(
        plan(&state(), &s, &PlanOptions::default()),
        Err(PlanError::ClusterNotFound("demo".into()))
    );
    let mut s = empty_snapshot();
    s.cluster.as_mut().unwrap().issuer_url = None;
    assert!(matches!(
        plan(&state(), &s, &PlanOptions::default()),
        Err(PlanError::NoIssuer(_))
    ));
    let mut s = empty_snapshot();
    s.account = "999999999999".into();
    assert!(matches!(
        plan(&state(), &s, &PlanOptions::default()),
        Err(PlanError::AccountMismatch { .. })
    ));
}

#[test]
fn helm_values_are_written_when_asked() {
    let p = plan(
        &state(),
        &empty_snapshot(),
        &PlanOptions {
            values_dir: Some("values".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let write = p.steps.iter().find_map(|s| match &s.step {
        Step::WriteFile { path, contents } => Some((path.clone(), contents.clone())),
        _ => None,
    });
    let (path, contents) = write.unwrap();
    assert_eq!(
        path,
        "values/kube-system.cluster-autoscaler/helm-values.yaml"
    );
    assert!(contents.contains("clusterName: demo"));
    // Written already with the same contents: nothing to do.
    let mut s = empty_snapshot();
    s.files.insert(path.clone(), contents);
    let again = plan(
        &state(),
        &s,
        &PlanOptions {
            values_dir: Some("values".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        !again
            .steps
            .iter()
            .any(|st| matches!(st.step, Step::WriteFile { .. }))
    );
    assert!(
        again
            .items
            .iter()
            .any(|i| i.kind == "helm-values" && i.mark == Mark::Unchanged)
    );
}

#[test]
fn destroy_removes_only_what_irsa_owns() {
    let first = plan(&state(), &empty_snapshot(), &PlanOptions::default()).unwrap();
    let mut s = applied(empty_snapshot(), &first);
    // A foreign role for one binding, and a foreign policy attached to an irsa role.
    s.roles
        .iter_mut()
        .find(|r| r.name.contains("efs"))
        .unwrap()
        .tags
        .clear();
    s.roles
        .iter_mut()
        .find(|r| r.name.contains("cluster-autoscaler"))
        .unwrap()
        .attached_policy_arns
        .push("arn:aws:iam::123456789012:policy/team-owned".into());
    s.policies.push(ManagedPolicy {
        arn: "arn:aws:iam::123456789012:policy/team-owned".into(),
        ..Default::default()
    });
    s.role_trusts = Some(trusts_of(&s));
    let d = destroy(&state(), &s);
    let steps: Vec<&Step> = d.steps.iter().map(|x| &x.step).collect();
    assert!(steps.iter().any(|st| matches!(st, Step::DeleteRole { role_name } if role_name.contains("cluster-autoscaler"))));
    assert!(
        !steps
            .iter()
            .any(|st| matches!(st, Step::DeleteRole { role_name } if role_name.contains("efs")))
    );
    assert!(steps.iter().any(|st| matches!(st, Step::DetachRolePolicy { policy_arn, .. } if policy_arn.ends_with("team-owned"))));
    assert!(!steps.iter().any(|st| matches!(st, Step::DeletePolicy { policy_arn, .. } if policy_arn.ends_with("team-owned"))));
    assert!(
        steps
            .iter()
            .any(|st| matches!(st, Step::DeletePolicy { .. }))
    );
    assert!(
        steps
            .iter()
            .any(|st| matches!(st, Step::DeleteServiceAccount { .. }))
    );
    assert_eq!(
        steps
            .iter()
            .filter(|st| matches!(st, Step::DeleteAddon { .. }))
            .count(),
        2
    );
    // The foreign EFS role stays and trusts the provider: the provider stays too.
    assert!(!deletes_provider(&d));
    assert!(provider_item(&d).details.join(" ").contains("efs"));
}

/// The ListRoles view of the snapshot's roles.
fn trusts_of(s: &Snapshot) -> Vec<crate::snapshot::RoleTrust> {
    s.roles
        .iter()
        .map(|r| crate::snapshot::RoleTrust {
            name: r.name.clone(),
            arn: r.arn.clone(),
            trust_policy: r.trust_policy.clone(),
        })
        .collect()
}

/// The default bundle applied, with the ListRoles view read as destroy reads it.
fn applied_bundle() -> Snapshot {
    let first = plan(&state(), &empty_snapshot(), &PlanOptions::default()).unwrap();
    let mut s = applied(empty_snapshot(), &first);
    s.role_trusts = Some(trusts_of(&s));
    s
}

fn deleted_roles(p: &Plan) -> Vec<&str> {
    p.steps
        .iter()
        .filter_map(|x| match &x.step {
            Step::DeleteRole { role_name } => Some(role_name.as_str()),
            _ => None,
        })
        .collect()
}

fn deletes_provider(p: &Plan) -> bool {
    p.steps
        .iter()
        .any(|x| matches!(x.step, Step::DeleteOidcProvider { .. }))
}

fn provider_item(p: &Plan) -> &Item {
    p.items.iter().find(|i| i.kind == "oidc-provider").unwrap()
}

#[test]
fn destroy_removes_roles_irsa_made_for_the_cluster_that_the_spec_no_longer_names() {
    let s = applied_bundle();
    // The spec now holds only the autoscaler: the two CSI roles are left over from earlier.
    let mut smaller = state();
    smaller
        .bindings
        .retain(|b| b.service_account == "cluster-autoscaler");
    let d = destroy(&smaller, &s);
    let mut roles = deleted_roles(&d);
    roles.sort();
    assert_eq!(roles.len(), 3, "{roles:?}");
    // Their add-ons run as the leftover roles and go first.
    for addon in ["aws-ebs-csi-driver", "aws-efs-csi-driver"] {
        let addon_step = d
            .steps
            .iter()
            .find(|x| matches!(&x.step, Step::DeleteAddon { name, .. } if name == addon))
            .unwrap_or_else(|| panic!("{addon} is not deleted"));
        let role_step = d
            .steps
            .iter()
            .find(|x| matches!(&x.step, Step::DeleteRole { role_name } if role_name.contains(if addon.contains("ebs") { "ebs" } else { "efs" })))
            .unwrap();
        assert!(role_step.after.contains(&addon_step.id));
    }
    let last = d.steps.last().unwrap();
    assert!(matches!(last.step, Step::DeleteOidcProvider { .. }));
    assert_eq!(last.after.len(), 3, "the provider goes after the roles");
}

#[test]
fn destroy_keeps_roles_irsa_made_for_another_cluster() {
    let mut s = applied_bundle();
    let other = Role {
        name: "irsa-other-default-app".into(),
        arn: format!("arn:aws:iam::{ACCOUNT}:role/irsa-other-default-app"),
        path: "/".into(),
        tags: [
            (TAG_MANAGED_BY.to_string(), "irsa".to_string()),
            (desired::TAG_CLUSTER.to_string(), "other".to_string()),
        ]
        .into(),
        ..Default::default()
    };
    s.roles.push(other);
    let d = destroy(&state(), &s);
    assert!(!deleted_roles(&d).contains(&"irsa-other-default-app"));
}

#[test]
fn destroy_keeps_the_provider_while_a_role_that_stays_trusts_it() {
    let mut s = applied_bundle();
    // A role made by hand (or by eksctl, Terraform…) for another workload of the cluster.
    let autoscaler = s
        .roles
        .iter()
        .find(|r| r.name.contains("cluster-autoscaler"))
        .unwrap();
    s.role_trusts
        .as_mut()
        .unwrap()
        .push(crate::snapshot::RoleTrust {
            name: "team-app".into(),
            arn: format!("arn:aws:iam::{ACCOUNT}:role/team-app"),
            trust_policy: autoscaler.trust_policy.clone(),
        });
    let d = destroy(&state(), &s);
    assert_eq!(deleted_roles(&d).len(), 3);
    assert!(!deletes_provider(&d));
    let item = provider_item(&d);
    assert_eq!(item.mark, Mark::Unchanged);
    assert!(item.details.join(" ").contains("team-app"), "{item:?}");

    // A role trusting another provider does not hold this one.
    let mut s = applied_bundle();
    let mut trust = s.roles[0].trust_policy.clone();
    let text = trust.to_string().replace("id/ABC", "id/OTHER");
    trust = serde_json::from_str(&text).unwrap();
    s.role_trusts
        .as_mut()
        .unwrap()
        .push(crate::snapshot::RoleTrust {
            name: "elsewhere".into(),
            arn: format!("arn:aws:iam::{ACCOUNT}:role/elsewhere"),
            trust_policy: trust,
        });
    assert!(deletes_provider(&destroy(&state(), &s)));
}

#[test]
fn destroy_keeps_the_provider_when_it_could_not_read_who_trusts_it() {
    let mut s = applied_bundle();
    s.role_trusts = None;
    let d = destroy(&state(), &s);
    assert!(!deletes_provider(&d));
    assert!(provider_item(&d).details.join(" ").contains("not read"));
}

#[test]
fn destroy_deletes_inline_policies_before_the_role() {
    let mut s = applied_bundle();
    let role = s
        .roles
        .iter_mut()
        .find(|r| r.name.contains("cluster-autoscaler"))
        .unwrap();
    role.inline_policy_names.push("added-by-hand".into());
    let role_name = role.name.clone();
    let d = destroy(&state(), &s);
    let inline = d
        .steps
        .iter()
        .find(|x| matches!(&x.step, Step::DeleteRolePolicy { policy_name, .. } if policy_name == "added-by-hand"))
        .expect("the inline policy is deleted");
    let role_step = d
        .steps
        .iter()
        .find(|x| matches!(&x.step, Step::DeleteRole { role_name: n } if *n == role_name))
        .unwrap();
    assert!(role_step.after.contains(&inline.id));
}

#[test]
fn destroy_keeps_irsas_policy_while_something_that_stays_uses_it() {
    let mut s = applied_bundle();
    let policy = s.policies.first_mut().unwrap();
    // Attached to irsa's role and to one role, user or group of someone else.
    policy.attachment_count = Some(2);
    let arn = policy.arn.clone();
    let d = destroy(&state(), &s);
    assert!(
        !d.steps.iter().any(
            |x| matches!(&x.step, Step::DeletePolicy { policy_arn, .. } if *policy_arn == arn)
        )
    );
    let item = d.items.iter().find(|i| i.name == arn).unwrap();
    assert_eq!(item.mark, Mark::Unchanged);
    assert!(item.details.join(" ").contains("1 other"));

    s.policies.first_mut().unwrap().attachment_count = Some(1);
    let d = destroy(&state(), &s);
    assert!(
        d.steps.iter().any(
            |x| matches!(&x.step, Step::DeletePolicy { policy_arn, .. } if *policy_arn == arn)
        )
    );
}

#[test]
fn destroy_removes_a_spec_policy_no_role_holds() {
    // An apply killed after CreatePolicy, before CreateRole: only the policy exists.
    let first = plan(&state(), &empty_snapshot(), &PlanOptions::default()).unwrap();
    let mut s = applied(empty_snapshot(), &first);
    s.roles.clear();
    s.policies[0].attachment_count = Some(0);
    s.role_trusts = Some(Vec::new());
    let arn = s.policies[0].arn.clone();
    let d = destroy(&state(), &s);
    let step = d
        .steps
        .iter()
        .find(|x| matches!(&x.step, Step::DeletePolicy { policy_arn, .. } if *policy_arn == arn))
        .expect("the orphaned policy is deleted");
    assert!(step.after.is_empty());
    assert!(deletes_provider(&d), "nothing trusts the provider any more");
}

// --- EKS Pod Identity -------------------------------------------------------------------

/// The default bundle with `defaults.identity: pod-identity`.
fn pod_identity_state() -> DesiredState {
    pod_identity_state_from(
        "cluster: {name: demo, region: us-east-1, account: '123456789012'}\ndefaults: {identity: pod-identity}\nbindings:\n  - preset: cluster-autoscaler\n  - preset: efs-csi\n  - preset: ebs-csi\n",
    )
}

fn pod_identity_state_from(text: &str) -> DesiredState {
    let spec = crate::spec::parse(std::path::Path::new("irsa.yaml"), text).unwrap();
    desired::resolve(&spec, &ResolveInput::default(), &|_| unreachable!()).unwrap()
}

fn steps_named(plan: &Plan, pick: fn(&Step) -> bool) -> Vec<&PlannedStep> {
    plan.steps.iter().filter(|s| pick(&s.step)).collect()
}

#[test]
fn pod_identity_bundle_installs_the_agent_then_associations() {
    let plan = plan(
        &pod_identity_state(),
        &empty_snapshot(),
        &PlanOptions::default(),
    )
    .unwrap();
    // No OIDC provider: no binding uses IRSA.
    assert!(steps_named(&plan, |s| matches!(s, Step::CreateOidcProvider { .. })).is_empty());
    let agent = steps_named(
        &plan,
        |s| matches!(s, Step::CreateAddon { name, .. } if name == "eks-pod-identity-agent"),
    );
    assert_eq!(agent.len(), 1);
    let agent_id = agent[0].id;
    // The autoscaler gets an association; EBS and EFS get their add-on's podIdentityAssociations.
    let associations = steps_named(&plan, |s| {
        matches!(s, Step::CreatePodIdentityAssociation { .. })
    });
    assert_eq!(associations.len(), 1, "{:#?}", plan.steps);
    assert!(associations[0].after.contains(&agent_id));
    for addon in ["aws-ebs-csi-driver", "aws-efs-csi-driver"] {
        let step = plan
            .steps
            .iter()
            .find(|s| matches!(&s.step, Step::CreateAddon { name, .. } if name == addon))
            .unwrap();
        assert!(
            step.after.contains(&agent_id),
            "{addon} waits for the agent"
        );
        let Step::CreateAddon {
            identity: crate::steps::AddonIdentity::PodIdentity { associations },
            ..
        } = &step.step
        else {
            panic!("{addon}: {:?}", step.step);
        };
        assert_eq!(associations.len(), 1);
    }
    // Roles trust the Pod Identity service, scoped to this cluster and service account.
    for role in steps_named(&plan, |s| matches!(s, Step::CreateRole { .. })) {
        let Step::CreateRole { trust_policy, .. } = &role.step else {
            unreachable!()
        };
        let statement = &trust_policy["Statement"][0];
        assert_eq!(statement["Principal"]["Service"], "pods.eks.amazonaws.com");
        assert_eq!(
            statement["Condition"]["StringEquals"]["aws:RequestTag/eks-cluster-arn"],
            "arn:aws:eks:us-east-1:123456789012:cluster/demo"
        );
    }
    // The autoscaler's service account is created without a role annotation.
    let sa = steps_named(&plan, |s| matches!(s, Step::ApplyServiceAccount { .. }));
    let Step::ApplyServiceAccount { annotations, .. } = &sa[0].step else {
        unreachable!()
    };
    assert!(
        annotations.iter().all(|(k, _)| k != ROLE_ARN_ANNOTATION),
        "{annotations:?}"
    );
    // role → association (the agent runs beside the role): 2 calls, the add-on's wait aside.
    assert!(plan.critical_path() <= 3, "{}", plan.critical_path());
}

#[test]
fn pod_identity_second_apply_changes_nothing() {
    let state = pod_identity_state();
    let first = plan(&state, &empty_snapshot(), &PlanOptions::default()).unwrap();
    let after = applied(empty_snapshot(), &first);
    let second = plan(&state, &after, &PlanOptions::default()).unwrap();
    assert!(second.steps.is_empty(), "{:#?}", second.steps);
    assert!(!second.has_conflicts());
}

#[test]
fn pod_identity_association_drift_is_repaired() {
    let state = pod_identity_state();
    let first = plan(&state, &empty_snapshot(), &PlanOptions::default()).unwrap();
    let mut after = applied(empty_snapshot(), &first);
    let association = after
        .pod_identity_associations
        .iter_mut()
        .find(|a| a.service_account == "cluster-autoscaler")
        .unwrap();
    association.role_arn = "arn:aws:iam::123456789012:role/other".into();
    association.tags.remove(TAG_MANAGED_BY);
    // Still irsa's by its cluster tag? No: without managed-by it is foreign, so a conflict…
    let second = plan(&state, &after, &PlanOptions::default()).unwrap();
    assert!(second.has_conflicts());
    assert!(second.steps.is_empty());
    // …that --adopt takes over: the role is put back and irsa's tags added.
    let adopted = plan(
        &state,
        &after,
        &PlanOptions {
            adopt: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(steps_named(&adopted, |s| matches!(s, Step::UpdatePodIdentityAssociation { role_arn, .. } if role_arn.ends_with("irsa-demo-kube-system-cluster-autoscaler"))).len() == 1);
    assert!(
        steps_named(&adopted, |s| matches!(
            s,
            Step::TagPodIdentityAssociation { .. }
        ))
        .len()
            == 1
    );
}

#[test]
fn an_add_on_owned_association_is_a_conflict() {
    let state = pod_identity_state();
    let mut snapshot = empty_snapshot();
    snapshot
        .pod_identity_associations
        .push(crate::snapshot::PodIdentityAssociation {
            association_id: "a-1".into(),
            namespace: "kube-system".into(),
            service_account: "cluster-autoscaler".into(),
            role_arn: "arn:aws:iam::123456789012:role/x".into(),
            owner_arn: Some("arn:aws:eks:us-east-1:123456789012:addon/demo/other/1".into()),
            ..Default::default()
        });
    let p = plan(
        &state,
        &snapshot,
        &PlanOptions {
            adopt: true,
            ..Default::default()
        },
    )
    .unwrap();
    let item = p
        .items
        .iter()
        .find(|i| i.kind == "pod-identity-association")
        .unwrap();
    assert_eq!(item.mark, Mark::Conflict);
    assert!(
        item.details[0].contains("owned by the EKS add-on"),
        "{item:?}"
    );
}

/// The default bundle applied with IRSA (and the agent, as a first migration would leave it
/// absent: the plan installs it).
fn applied_with_irsa() -> Snapshot {
    applied(
        empty_snapshot(),
        &plan(&state(), &empty_snapshot(), &PlanOptions::default()).unwrap(),
    )
}

/// What the plan's steps, then its migrations' phases, leave behind.
fn applied_with_migrations(snapshot: Snapshot, p: &Plan) -> Snapshot {
    let mut after = applied(snapshot, p);
    for step in p.migrations.iter().flat_map(|m| m.steps()) {
        crate::migrate::tests::apply(&mut after, step);
    }
    after
}

#[test]
fn an_identity_change_plans_the_migration_of_each_binding() {
    let live = applied_with_irsa();
    let p = plan(&pod_identity_state(), &live, &PlanOptions::default()).unwrap();
    assert!(!p.has_conflicts(), "{:#?}", p.items);
    assert!(p.has_changes());
    let mut moving: Vec<&str> = p.migrations.iter().map(|m| m.name.as_str()).collect();
    moving.sort();
    assert_eq!(
        moving,
        [
            "cluster-autoscaler",
            "ebs-csi-controller-sa",
            "efs-csi-controller-sa"
        ]
    );
    // The plan's own steps: the agent; trust and links are the migrations'.
    assert!(
        p.steps.iter().all(|s| matches!(
            &s.step,
            Step::CreateAddon { name, .. } if name == "eks-pod-identity-agent"
        )),
        "{:#?}",
        p.steps
    );
    let autoscaler = p
        .migrations
        .iter()
        .find(|m| m.name == "cluster-autoscaler")
        .unwrap();
    let phases: Vec<&str> = autoscaler
        .phases
        .iter()
        .map(|ph| ph.name.as_str())
        .collect();
    assert_eq!(
        phases,
        [
            "trust",
            "link",
            "proof",
            "unlink",
            "restart",
            "pods-proof",
            "remove-irsa-trust"
        ]
    );
    // The plan says when the OIDC statement of irsa's role goes.
    let item = p
        .items
        .iter()
        .find(|i| i.kind == "migration" && i.name == "kube-system/cluster-autoscaler")
        .unwrap();
    assert_eq!(item.mark, Mark::Update);
    assert!(
        item.details
            .iter()
            .any(|d| d.contains("OIDC (IRSA) statement leaves the trust")),
        "{item:?}"
    );
}

#[test]
fn a_migrated_bundle_plans_nothing_more() {
    let live = applied_with_irsa();
    let spec = pod_identity_state();
    let p = plan(&spec, &live, &PlanOptions::default()).unwrap();
    let moved = applied_with_migrations(live, &p);
    let again = plan(&spec, &moved, &PlanOptions::default()).unwrap();
    assert!(!again.has_changes(), "{:#?}", again);
    assert!(again.migrations.is_empty());
    // The role irsa owns trusts exactly what a fresh Pod Identity apply would give it.
    let fresh = applied(
        empty_snapshot(),
        &plan(&spec, &empty_snapshot(), &PlanOptions::default()).unwrap(),
    );
    let name = "irsa-demo-kube-system-cluster-autoscaler";
    assert_eq!(
        moved.role(name).unwrap().trust_policy,
        fresh.role(name).unwrap().trust_policy
    );

    // And back to IRSA: the association last, then the Pod Identity statement.
    let back = plan(&state(), &moved, &PlanOptions::default()).unwrap();
    assert!(!back.has_conflicts(), "{:#?}", back.items);
    let autoscaler = back
        .migrations
        .iter()
        .find(|m| m.name == "cluster-autoscaler")
        .unwrap();
    let phases: Vec<&str> = autoscaler
        .phases
        .iter()
        .map(|ph| ph.name.as_str())
        .collect();
    assert_eq!(
        &phases[phases.len() - 2..],
        ["unlink", "remove-pod-identity-trust"]
    );
    let home = applied_with_migrations(moved, &back);
    let again = plan(&state(), &home, &PlanOptions::default()).unwrap();
    assert!(!again.has_changes(), "{:#?}", again);
}

#[test]
fn a_half_moved_binding_is_completed_by_the_next_plan() {
    let live = applied_with_irsa();
    let spec = pod_identity_state();
    let p = plan(&spec, &live, &PlanOptions::default()).unwrap();
    // Killed after the annotation went: the live mechanism is the spec's, the OIDC statement
    // and the pods still on IRSA are left.
    let mut half = applied(live, &p);
    let autoscaler = p
        .migrations
        .iter()
        .find(|m| m.name == "cluster-autoscaler")
        .unwrap();
    for phase in autoscaler
        .phases
        .iter()
        .take_while(|ph| ph.name != PhaseName::PodsProof)
    {
        for step in &phase.steps {
            crate::migrate::tests::apply(&mut half, step);
        }
    }
    let options = PlanOptions {
        stale_pods: [("kube-system".to_string(), "cluster-autoscaler".to_string())].into(),
        ..Default::default()
    };
    let next = plan(&spec, &half, &options).unwrap();
    let resumed = next
        .migrations
        .iter()
        .find(|m| m.name == "cluster-autoscaler")
        .unwrap();
    let phases: Vec<&str> = resumed.phases.iter().map(|ph| ph.name.as_str()).collect();
    assert_eq!(
        phases,
        ["proof", "restart", "pods-proof", "remove-irsa-trust"]
    );
    // The trust is not replaced in place meanwhile.
    assert!(steps_named(&next, |s| matches!(s, Step::UpdateTrustPolicy { .. })).is_empty());
}

#[test]
fn a_drifted_trust_of_a_binding_on_the_spec_mechanism_is_repaired_in_place() {
    let mut live = applied_with_irsa();
    let name = "irsa-demo-kube-system-cluster-autoscaler";
    let exact = live.role(name).unwrap().trust_policy.clone();
    live.roles
        .iter_mut()
        .find(|r| r.name == name)
        .unwrap()
        .trust_policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    });
    let p = plan(&state(), &live, &PlanOptions::default()).unwrap();
    assert!(p.migrations.is_empty(), "{:#?}", p.migrations);
    let repaired = steps_named(&p, |s| matches!(s, Step::UpdateTrustPolicy { .. }));
    assert!(
        matches!(&repaired[..], [s] if matches!(&s.step, Step::UpdateTrustPolicy { trust_policy, .. } if *trust_policy == exact)),
        "{repaired:#?}"
    );
    // Pods on Fargate of a binding already on IRSA are no refusal either.
    let options = PlanOptions {
        fargate: [("kube-system".to_string(), "cluster-autoscaler".to_string())].into(),
        ..Default::default()
    };
    let p = plan(&state(), &applied_with_irsa(), &options).unwrap();
    assert!(p.migrations.is_empty() && !p.has_changes(), "{p:#?}");
}

#[test]
fn pods_on_fargate_keep_their_binding_on_irsa_and_the_others_move() {
    let live = applied_with_irsa();
    let options = PlanOptions {
        fargate: [("kube-system".to_string(), "cluster-autoscaler".to_string())].into(),
        ..Default::default()
    };
    let p = plan(&pod_identity_state(), &live, &options).unwrap();
    assert!(
        !p.has_conflicts(),
        "a refusal does not stop the others: {:#?}",
        p.items
    );
    let item = p
        .items
        .iter()
        .find(|i| i.kind == "migration" && i.name == "kube-system/cluster-autoscaler")
        .unwrap();
    assert_eq!(item.mark, Mark::Unchanged);
    assert!(
        item.details[0].contains("stays on IRSA") && item.details[0].contains("Fargate"),
        "{item:?}"
    );
    let others = p
        .migrations
        .iter()
        .filter(|m| m.refusal.is_none() && !m.phases.is_empty());
    assert_eq!(others.count(), 2);
}

#[test]
fn a_switch_to_another_role_is_a_conflict_naming_migrate() {
    let live = applied_with_irsa();
    let spec = pod_identity_state_from(
        "cluster: {name: demo, region: us-east-1, account: '123456789012'}\ndefaults: {identity: pod-identity}\nbindings:\n  - preset: cluster-autoscaler\n    role: {name: autoscaler-elsewhere}\n",
    );
    let p = plan(&spec, &live, &PlanOptions::default()).unwrap();
    let conflict = p.items.iter().find(|i| i.mark == Mark::Conflict).unwrap();
    assert!(
        conflict.details[0].contains("a migration keeps the role"),
        "{conflict:?}"
    );
}

#[test]
fn an_agent_still_starting_is_waited_for() {
    let state = pod_identity_state();
    let mut snapshot = empty_snapshot();
    snapshot.addons.push(Addon {
        configuration_values: None,
        name: "eks-pod-identity-agent".into(),
        status: "CREATING".into(),
        ..Default::default()
    });
    let p = plan(&state, &snapshot, &PlanOptions::default()).unwrap();
    let wait = steps_named(&p, |s| matches!(s, Step::WaitForAddon { .. }));
    assert_eq!(wait.len(), 1);
    let association = steps_named(&p, |s| {
        matches!(s, Step::CreatePodIdentityAssociation { .. })
    });
    assert!(association[0].after.contains(&wait[0].id));
    snapshot.addons[0].status = "CREATE_FAILED".into();
    assert!(
        plan(&state, &snapshot, &PlanOptions::default())
            .unwrap()
            .has_conflicts()
    );
}

#[test]
fn pod_identity_options_reach_the_association() {
    let state = pod_identity_state_from(
        "cluster: {name: demo, region: us-east-1, account: '123456789012'}\nbindings:\n  - serviceAccount: apps/reporter\n    identity: pod-identity\n    targetRoleArn: arn:aws:iam::210987654321:role/data\n    disableSessionTags: true\n    sessionPolicy: {Version: '2012-10-17', Statement: [{Effect: Allow, Action: 's3:GetObject', Resource: '*'}]}\n",
    );
    let p = plan(&state, &empty_snapshot(), &PlanOptions::default()).unwrap();
    let a = steps_named(&p, |s| {
        matches!(s, Step::CreatePodIdentityAssociation { .. })
    });
    let Step::CreatePodIdentityAssociation {
        target_role_arn,
        disable_session_tags,
        policy,
        ..
    } = &a[0].step
    else {
        unreachable!()
    };
    assert_eq!(
        target_role_arn.as_deref(),
        Some("arn:aws:iam::210987654321:role/data")
    );
    assert!(*disable_session_tags);
    assert!(policy.as_deref().unwrap().contains("s3:GetObject"));
    // The role may assume the target; its trust cannot be scoped, and the plan says so.
    let role = p.items.iter().find(|i| i.kind == "role").unwrap();
    assert!(role.details[0].contains("cannot be scoped"), "{role:?}");
    assert!(
        steps_named(
            &p,
            |s| matches!(s, Step::CreatePolicy { name, .. } if name.ends_with("assume-target"))
        )
        .len()
            == 1
    );
}

#[test]
fn destroy_removes_associations_then_the_agent_irsa_installed() {
    let state = pod_identity_state();
    let after = applied(
        empty_snapshot(),
        &plan(&state, &empty_snapshot(), &PlanOptions::default()).unwrap(),
    );
    let p = destroy(&state, &after);
    let association = steps_named(&p, |s| {
        matches!(s, Step::DeletePodIdentityAssociation { .. })
    });
    assert_eq!(association.len(), 1);
    let role = p
        .steps
        .iter()
        .find(|s| matches!(&s.step, Step::DeleteRole { role_name } if role_name.ends_with("cluster-autoscaler")))
        .unwrap();
    assert!(
        role.after.contains(&association[0].id),
        "association before role"
    );
    let agent = steps_named(
        &p,
        |s| matches!(s, Step::DeleteAddon { name, .. } if name == "eks-pod-identity-agent"),
    );
    assert_eq!(agent.len(), 1);
    assert!(agent[0].after.contains(&association[0].id));
    // With another association left in the cluster, the agent stays.
    let mut shared = after.clone();
    shared
        .pod_identity_associations
        .push(crate::snapshot::PodIdentityAssociation {
            association_id: "theirs".into(),
            namespace: "team".into(),
            service_account: "app".into(),
            role_arn: "arn:aws:iam::123456789012:role/team".into(),
            ..Default::default()
        });
    let p = destroy(&state, &shared);
    assert!(
        steps_named(
            &p,
            |s| matches!(s, Step::DeleteAddon { name, .. } if name == "eks-pod-identity-agent")
        )
        .is_empty()
    );
    let kept = p
        .items
        .iter()
        .find(|i| i.name == "eks-pod-identity-agent")
        .unwrap();
    assert!(kept.details[0].contains("team/app"), "{kept:?}");
}

/// An eksctl add-on with its settings (eksctl's `addons[].version`, `configurationValues`,
/// `resolveConflicts`), on an add-on already installed by irsa with `values`.
fn addon_settings_plan(values: Option<&str>) -> Plan {
    let spec = crate::spec::parse(
        std::path::Path::new("cluster.yaml"),
        "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata: {name: demo, region: us-east-1}\naddons:\n  - name: aws-ebs-csi-driver\n    version: v1.37.0-eksbuild.1\n    resolveConflicts: overwrite\n    configurationValues: '{\"controller\": {\"replicaCount\": 1}}'\n",
    )
    .unwrap();
    let state = desired::resolve(&spec, &ResolveInput::default(), &|_| unreachable!()).unwrap();
    let first = plan(&state, &empty_snapshot(), &PlanOptions::default()).unwrap();
    let created = first
        .steps
        .iter()
        .find_map(|s| match &s.step {
            Step::CreateAddon { settings, .. } => Some(settings.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(created.version.as_deref(), Some("v1.37.0-eksbuild.1"));
    assert_eq!(created.resolve_conflicts.as_deref(), Some("OVERWRITE"));
    let mut s = applied(empty_snapshot(), &first);
    let addon = s
        .addons
        .iter_mut()
        .find(|a| a.name == "aws-ebs-csi-driver")
        .unwrap();
    addon.version = created.version.clone();
    addon.configuration_values = values.map(str::to_string);
    plan(&state, &s, &PlanOptions::default()).unwrap()
}

#[test]
fn addon_configuration_values_converge_and_drift_is_updated() {
    // The same document as YAML text is no change.
    let same = addon_settings_plan(Some("controller:\n  replicaCount: 1\n"));
    assert!(!same.has_changes(), "{:#?}", same.steps);
    for drifted in [None, Some(r#"{"controller": {"replicaCount": 3}}"#)] {
        let p = addon_settings_plan(drifted);
        let update = p
            .steps
            .iter()
            .find_map(|s| match &s.step {
                Step::UpdateAddon { settings, .. } => Some(settings),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{drifted:?}: {:#?}", p.steps));
        assert_eq!(
            update.configuration_values.as_deref(),
            Some(r#"{"controller":{"replicaCount":1}}"#)
        );
        let item = p.items.iter().find(|i| i.kind == "eks-addon").unwrap();
        assert!(
            item.details
                .iter()
                .any(|d| d.starts_with("configuration values ")),
            "{item:?}"
        );
    }
}
