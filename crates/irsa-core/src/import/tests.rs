//! Import on a cluster set up by eksctl and Terraform (fixtures shaped as `aws iam get-role` and
//! `aws eks describe-*` show such roles), and the round trip: the written file, read back by the
//! spec reader and planned with `--adopt` against the same snapshot, asks only for ownership
//! tags and labels.

use std::path::Path;

use serde_json::{Value, json};

use super::*;
use crate::desired::{self, ResolveInput};
use crate::plan::{Mark, PlanOptions, plan};
use crate::snapshot::{Addon, Cluster, OidcProvider, PodIdentityAssociation};
use crate::steps::Step;

const ACCOUNT: &str = "123456789012";
const ISSUER: &str = "oidc.eks.us-east-1.amazonaws.com/id/ABC";
const S3_READ: &str = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess";
const EBS: &str = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy";
const EKSCTL_ROLE: &str = "eksctl-demo-addon-iamserviceaccount-kube-sys-Role1-ABC123";

fn provider(id: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/{id}")
}

/// eksctl's iamserviceaccount trust (CloudFormation template: action as a list, aud and sub
/// under StringEquals).
fn eksctl_trust(namespace: &str, name: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": provider("ABC")},
        "Action": ["sts:AssumeRoleWithWebIdentity"],
        "Condition": {"StringEquals": {
            format!("{ISSUER}:aud"): "sts.amazonaws.com",
            format!("{ISSUER}:sub"): format!("system:serviceaccount:{namespace}:{name}")
        }}
    }]})
}

/// terraform-aws-modules/iam//modules/iam-role-for-service-accounts-eks: one statement per
/// entry of `oidc_providers`, `assume_role_condition_test` (StringEquals by default) on sub
/// and aud, values as lists.
fn terraform_trust(providers: &[&str], test: &str, subject: &str) -> Value {
    let statements: Vec<Value> = providers
        .iter()
        .map(|id| {
            let host = format!("oidc.eks.us-east-1.amazonaws.com/id/{id}");
            json!({
                "Effect": "Allow",
                "Principal": {"Federated": provider(id)},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {test: {
                    format!("{host}:sub"): [subject],
                    format!("{host}:aud"): ["sts.amazonaws.com"]
                }}
            })
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements})
}

fn role(name: &str, path: &str, trust: Value, attached: &[&str]) -> Role {
    Role {
        name: name.into(),
        arn: format!("arn:aws:iam::{ACCOUNT}:role{path}{name}"),
        path: path.into(),
        trust_policy: trust,
        attached_policy_arns: attached.iter().map(|a| a.to_string()).collect(),
        ..Default::default()
    }
}

fn annotated(namespace: &str, name: &str, role_arn: &str) -> ServiceAccount {
    ServiceAccount {
        namespace: namespace.into(),
        name: name.into(),
        labels: [(
            "app.kubernetes.io/managed-by".to_string(),
            "eksctl".to_string(),
        )]
        .into(),
        annotations: [(
            "eks.amazonaws.com/role-arn".to_string(),
            role_arn.to_string(),
        )]
        .into(),
    }
}

/// A cluster with an eksctl IRSA role, an eksctl add-on role, a Terraform role at a path and a
/// Pod Identity association, every one of which round-trips.
fn world() -> Snapshot {
    let mut s = Snapshot {
        account: ACCOUNT.into(),
        partition: "aws".into(),
        region: "us-east-1".into(),
        cluster: Some(Cluster {
            name: "demo".into(),
            arn: format!("arn:aws:eks:us-east-1:{ACCOUNT}:cluster/demo"),
            issuer_url: Some(format!("https://{ISSUER}")),
            status: "ACTIVE".into(),
            version: None,
        }),
        oidc_providers: vec![OidcProvider {
            arn: provider("ABC"),
            url: ISSUER.into(),
            client_ids: vec!["sts.amazonaws.com".into()],
            ..Default::default()
        }],
        namespaces: vec!["kube-system".into(), "apps".into()],
        ..Default::default()
    };
    let eksctl = role(
        EKSCTL_ROLE,
        "/",
        eksctl_trust("kube-system", "reader"),
        &[S3_READ],
    );
    s.service_accounts
        .push(annotated("kube-system", "reader", &eksctl.arn));
    s.roles.push(eksctl);

    let ebs = role(
        "eksctl-demo-addon-aws-ebs-csi-driver-Role1-DEF456",
        "/",
        eksctl_trust("kube-system", "ebs-csi-controller-sa"),
        &[EBS],
    );
    s.addons.push(Addon {
        name: "aws-ebs-csi-driver".into(),
        status: "ACTIVE".into(),
        service_account_role_arn: Some(ebs.arn.clone()),
        arn: format!("arn:aws:eks:us-east-1:{ACCOUNT}:addon/demo/aws-ebs-csi-driver/1"),
        ..Default::default()
    });
    s.service_accounts
        .push(annotated("kube-system", "ebs-csi-controller-sa", &ebs.arn));
    s.roles.push(ebs);

    let terraform = role(
        "reports-irsa",
        "/teams/",
        terraform_trust(
            &["ABC"],
            "StringEquals",
            "system:serviceaccount:apps:reports",
        ),
        &[S3_READ],
    );
    s.service_accounts
        .push(annotated("apps", "reports", &terraform.arn));
    s.roles.push(terraform);

    let pod_identity = role(
        "worker-pod-identity",
        "/",
        json!({"Version": "2012-10-17", "Statement": [{
            "Sid": "AllowEksAuthToAssumeRoleForPodIdentity",
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:TagSession", "sts:AssumeRole"],
            "Condition": {"StringEquals": {
                "aws:RequestTag/eks-cluster-arn": format!("arn:aws:eks:us-east-1:{ACCOUNT}:cluster/demo"),
                "aws:RequestTag/kubernetes-namespace": "apps",
                "aws:RequestTag/kubernetes-service-account": "worker"
            }}
        }]}),
        &[S3_READ],
    );
    s.pod_identity_associations.push(PodIdentityAssociation {
        association_id: "a-1".into(),
        association_arn: format!("arn:aws:eks:us-east-1:{ACCOUNT}:podidentityassociation/demo/a-1"),
        namespace: "apps".into(),
        service_account: "worker".into(),
        role_arn: pod_identity.arn.clone(),
        ..Default::default()
    });
    s.service_accounts.push(ServiceAccount {
        namespace: "apps".into(),
        name: "worker".into(),
        ..Default::default()
    });
    s.roles.push(pod_identity);
    s.addons.push(Addon {
        name: "eks-pod-identity-agent".into(),
        status: "ACTIVE".into(),
        ..Default::default()
    });
    s
}

fn input() -> ImportInput<'static> {
    ImportInput {
        observed_at: "2026-12-01T23:00:00Z".into(),
        ..Default::default()
    }
}

fn find<'a>(imported: &'a Imported, sa: &str) -> &'a ImportedBinding {
    imported
        .bindings
        .iter()
        .find(|b| format!("{}/{}", b.namespace, b.service_account) == sa)
        .unwrap_or_else(|| panic!("no binding for {sa}: {imported:#?}"))
}

/// Reads the written file back and plans it with --adopt against the snapshot it came from.
fn replan(snapshot: &Snapshot, text: &str) -> crate::plan::Plan {
    let spec = crate::spec::parse(Path::new("imported.yaml"), text)
        .unwrap_or_else(|e| panic!("{e:?}\n{text}"));
    let state = desired::resolve(&spec, &ResolveInput::default(), &|_| unreachable!())
        .unwrap_or_else(|e| panic!("{e:?}\n{text}"));
    plan(
        &state,
        snapshot,
        &PlanOptions {
            adopt: true,
            ..Default::default()
        },
    )
    .unwrap()
}

#[test]
fn each_link_becomes_a_binding_with_its_role_kept() {
    let imported = import(&world(), &InlinePolicies::new(), &input());
    assert!(imported.skipped.is_empty(), "{:?}", imported.skipped);
    let reader = find(&imported, "kube-system/reader");
    assert_eq!(reader.role_name, EKSCTL_ROLE);
    assert_eq!(reader.permissions.managed, vec![S3_READ]);
    assert!(reader.notes.is_empty(), "{:?}", reader.notes);

    let ebs = find(&imported, "kube-system/ebs-csi-controller-sa");
    assert_eq!(ebs.permissions.preset, Some("ebs-csi"));
    assert_eq!(ebs.addon.as_deref(), Some("aws-ebs-csi-driver"));
    assert!(ebs.permissions.managed.is_empty());

    let reports = find(&imported, "apps/reports");
    assert_eq!(reports.role_path, "/teams/");

    let worker = find(&imported, "apps/worker");
    assert_eq!(worker.mechanism.kind(), Kind::PodIdentity);
}

#[test]
fn the_written_file_plans_only_ownership_tags_and_labels() {
    let snapshot = world();
    let text = yaml::write(&import(&snapshot, &InlinePolicies::new(), &input()));
    assert!(text.starts_with("# Written by `irsa import` from EKS cluster demo (us-east-1, account 123456789012), observed 2026-12-01T23:00:00Z."), "{text}");
    let p = replan(&snapshot, &text);
    assert!(!p.has_conflicts(), "{:#?}", p.items);
    for step in &p.steps {
        match &step.step {
            Step::TagRole { tags, .. } | Step::TagPodIdentityAssociation { tags, .. } => {
                assert!(tags.keys().all(|k| k.starts_with("irsa.dev/")), "{tags:?}")
            }
            Step::ApplyServiceAccount {
                create: false,
                labels,
                annotations,
                ..
            } => {
                assert!(annotations.is_empty(), "{annotations:?}\n{text}");
                assert_eq!(
                    labels.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
                    vec!["app.kubernetes.io/managed-by"]
                );
            }
            other => panic!("only tags and labels expected, got {other:?}\n{text}"),
        }
    }
    let tagged_roles = p
        .steps
        .iter()
        .filter(|s| matches!(s.step, Step::TagRole { .. }))
        .count();
    assert_eq!(tagged_roles, 4, "{:#?}", p.steps);
}

/// The Terraform module with two clusters in `oidc_providers` writes two statements; irsa.yaml
/// is per cluster, so the other cluster's statement cannot be said, and adopting would take it
/// away: a comment in the file, a conflict in the plan, both naming the statement.
#[test]
fn a_trust_for_two_clusters_is_a_comment_and_a_conflict() {
    let mut snapshot = world();
    let reports = snapshot
        .roles
        .iter_mut()
        .find(|r| r.name == "reports-irsa")
        .unwrap();
    reports.trust_policy = terraform_trust(
        &["ABC", "OTHER"],
        "StringEquals",
        "system:serviceaccount:apps:reports",
    );
    let imported = import(&snapshot, &InlinePolicies::new(), &input());
    let notes = &find(&imported, "apps/reports").notes;
    assert!(notes[0].starts_with("cannot round-trip"), "{notes:?}");
    assert!(
        notes[1].contains("Statement[1]") && notes[1].contains("id/OTHER"),
        "{notes:?}"
    );

    let text = yaml::write(&imported);
    assert!(text.contains("  # cannot round-trip"), "{text}");
    let p = replan(&snapshot, &text);
    let conflict = p
        .items
        .iter()
        .find(|i| i.mark == Mark::Conflict)
        .expect("a conflict");
    assert!(
        conflict.name.ends_with("role/teams/reports-irsa"),
        "{conflict:?}"
    );
    assert!(
        conflict
            .details
            .iter()
            .any(|d| d.contains("Statement[1]") && d.contains("id/OTHER")),
        "{conflict:?}"
    );
    assert!(
        !p.steps.iter().any(|s| matches!(&s.step, Step::UpdateTrustPolicy { role_name, .. } if role_name == "reports-irsa")),
        "the trust is not replaced"
    );
}

/// `assume_role_condition_test = "StringLike"` with a namespace wildcard admits every service
/// account of the namespace: not what one binding says.
#[test]
fn a_subject_pattern_is_a_comment() {
    let mut snapshot = world();
    snapshot
        .roles
        .iter_mut()
        .find(|r| r.name == "reports-irsa")
        .unwrap()
        .trust_policy = terraform_trust(&["ABC"], "StringLike", "system:serviceaccount:apps:*");
    let imported = import(&snapshot, &InlinePolicies::new(), &input());
    let notes = &find(&imported, "apps/reports").notes;
    assert!(
        notes[0].contains("the plan narrows it to exactly apps/reports"),
        "{notes:?}"
    );
    assert!(notes.iter().any(|n| n.contains("StringLike")), "{notes:?}");
    let p = replan(&snapshot, &yaml::write(&imported));
    assert!(!p.has_conflicts(), "{:#?}", p.items);
    assert!(p.steps.iter().any(|s| matches!(&s.step, Step::UpdateTrustPolicy { role_name, .. } if role_name == "reports-irsa")));
}

#[test]
fn inline_policies_are_kept_or_written_when_they_are_all_there_is() {
    let mut snapshot = world();
    let doc = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": "*"}]});
    let mut inline = InlinePolicies::new();
    inline.insert(EKSCTL_ROLE.into(), vec![("Policy1".into(), doc.clone())]);
    let imported = import(&snapshot, &inline, &input());
    let reader = find(&imported, "kube-system/reader");
    assert!(reader.permissions.inline.is_empty());
    assert!(
        reader.notes[0].contains("Policy1 kept as is"),
        "{:?}",
        reader.notes
    );

    snapshot
        .roles
        .iter_mut()
        .find(|r| r.name == EKSCTL_ROLE)
        .unwrap()
        .attached_policy_arns
        .clear();
    let imported = import(&snapshot, &inline, &input());
    let reader = find(&imported, "kube-system/reader");
    assert_eq!(reader.permissions.inline, vec![doc]);
    assert!(
        reader.notes[0].starts_with("cannot round-trip"),
        "{:?}",
        reader.notes
    );
    // The document reads back as written.
    let text = yaml::write(&imported);
    let spec = crate::spec::parse(Path::new("i.yaml"), &text).unwrap();
    let b = spec
        .bindings
        .iter()
        .find(|b| b.name.as_ref().unwrap().value == "reader")
        .unwrap();
    assert_eq!(
        b.inline_policies[0].value["Statement"][0]["Action"],
        "sqs:ReceiveMessage"
    );
}

#[test]
fn filters_missing_and_shared_roles() {
    let mut snapshot = world();
    snapshot.service_accounts.push(annotated(
        "apps",
        "ghost",
        &format!("arn:aws:iam::{ACCOUNT}:role/gone"),
    ));
    snapshot.service_accounts.push(annotated(
        "apps",
        "twin",
        &format!("arn:aws:iam::{ACCOUNT}:role/reports-irsa"),
    ));
    let imported = import(&snapshot, &InlinePolicies::new(), &input());
    assert!(
        imported
            .skipped
            .iter()
            .any(|s| s.starts_with("apps/ghost") && s.contains("role gone does not exist")),
        "{:?}",
        imported.skipped
    );
    assert!(
        imported
            .skipped
            .iter()
            .any(|s| s.starts_with("apps/twin") && s.contains("as apps/reports does")),
        "{:?}",
        imported.skipped
    );

    let only_apps = import(
        &snapshot,
        &InlinePolicies::new(),
        &ImportInput {
            namespace: Some("apps"),
            identity: IdentityFilter::PodIdentity,
            ..input()
        },
    );
    let subjects: Vec<String> = only_apps
        .bindings
        .iter()
        .map(|b| format!("{}/{}", b.namespace, b.service_account))
        .collect();
    assert_eq!(subjects, vec!["apps/worker"]);
}

/// A preset's documents on a role under other names would be created again by `preset:`: the
/// policies are kept by ARN and a comment names the preset.
#[test]
fn a_preset_that_would_change_something_is_named_in_a_comment_only() {
    let mut snapshot = world();
    snapshot.addons.retain(|a| a.name != "aws-ebs-csi-driver");
    let ebs = snapshot
        .roles
        .iter()
        .find(|r| r.name.contains("ebs-csi"))
        .unwrap()
        .arn
        .clone();
    let imported = import(&snapshot, &InlinePolicies::new(), &input());
    let b = find(&imported, "kube-system/ebs-csi-controller-sa");
    assert_eq!(b.permissions.preset, None);
    assert_eq!(b.permissions.managed, vec![EBS]);
    assert!(
        b.notes[0].contains("equal preset ebs-csi's")
            && b.notes[0].contains("add-on aws-ebs-csi-driver"),
        "{:?} {ebs}",
        b.notes
    );
}

/// An EKS add-on linked through its own `podIdentityAssociations` (the association's ownerArn is
/// the add-on): a Pod Identity binding installed as that add-on, which round-trips.
#[test]
fn an_add_on_with_pod_identity_associations_round_trips() {
    let mut snapshot = world();
    let addon_arn = format!("arn:aws:eks:us-east-1:{ACCOUNT}:addon/demo/aws-efs-csi-driver/1");
    let efs = role(
        "eksctl-demo-addon-aws-efs-csi-driver-Role1-GHI789",
        "/",
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {
                "aws:RequestTag/eks-cluster-arn": format!("arn:aws:eks:us-east-1:{ACCOUNT}:cluster/demo"),
                "aws:RequestTag/kubernetes-namespace": "kube-system",
                "aws:RequestTag/kubernetes-service-account": "efs-csi-controller-sa"
            }}
        }]}),
        &["arn:aws:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy"],
    );
    snapshot
        .pod_identity_associations
        .push(PodIdentityAssociation {
            association_id: "a-efs".into(),
            namespace: "kube-system".into(),
            service_account: "efs-csi-controller-sa".into(),
            role_arn: efs.arn.clone(),
            owner_arn: Some(addon_arn.clone()),
            ..Default::default()
        });
    snapshot.addons.push(Addon {
        name: "aws-efs-csi-driver".into(),
        status: "ACTIVE".into(),
        arn: addon_arn,
        ..Default::default()
    });
    snapshot.roles.push(efs);
    let imported = import(&snapshot, &InlinePolicies::new(), &input());
    let b = find(&imported, "kube-system/efs-csi-controller-sa");
    assert_eq!(b.mechanism.kind(), Kind::PodIdentity);
    assert_eq!(b.permissions.preset, Some("efs-csi"));
    assert_eq!(b.addon.as_deref(), Some("aws-efs-csi-driver"));
    let p = replan(&snapshot, &yaml::write(&imported));
    assert!(!p.has_conflicts(), "{:#?}", p.items);
    assert!(
        !p.steps.iter().any(|s| matches!(
            s.step,
            Step::UpdateAddon { .. } | Step::CreatePodIdentityAssociation { .. }
        )),
        "{:#?}",
        p.steps
    );
}

/// With both an annotation and an association, workloads use IRSA (the SDKs find web identity
/// first): the binding is IRSA's and says the plan will name `irsa migrate`.
#[test]
fn both_mechanisms_are_imported_as_irsa_with_a_note() {
    let mut snapshot = world();
    snapshot
        .pod_identity_associations
        .push(PodIdentityAssociation {
            association_id: "a-2".into(),
            namespace: "kube-system".into(),
            service_account: "reader".into(),
            role_arn: format!("arn:aws:iam::{ACCOUNT}:role/{EKSCTL_ROLE}"),
            ..Default::default()
        });
    let imported = import(&snapshot, &InlinePolicies::new(), &input());
    let reader = find(&imported, "kube-system/reader");
    assert_eq!(reader.mechanism.kind(), Kind::Irsa);
    assert!(
        reader.notes.iter().any(|n| n.contains("irsa migrate")),
        "{:?}",
        reader.notes
    );
}
