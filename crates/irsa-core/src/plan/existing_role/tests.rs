//! Plans for roles irsa does not own (`role.arn`, eksctl `attachRoleARN` / `roleARN`), for
//! subject patterns (`serviceAccountPattern`, eksctl `subjectPattern`) and for eksctl's
//! `iam.withOIDC` alone.

use std::path::Path;

use serde_json::{Value, json};

use super::super::*;
use crate::desired::{self, ResolveInput};
use crate::render::ROLE_ARN_ANNOTATION;
use crate::snapshot::{Cluster, Role, ServiceAccount};

const ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/ABC";
const ISSUER_HOST: &str = "oidc.eks.us-east-1.amazonaws.com/id/ABC";
const ACCOUNT: &str = "123456789012";
const TEAM_ROLE: &str = "arn:aws:iam::123456789012:role/team/uploader";

fn state_from(text: &str) -> DesiredState {
    let spec = crate::spec::parse(Path::new("irsa.yaml"), text).unwrap();
    desired::resolve(&spec, &ResolveInput::default(), &|_| unreachable!()).unwrap()
}

fn existing_role_state() -> DesiredState {
    state_from(&format!(
        "cluster: {{name: demo, region: us-east-1, account: \"{ACCOUNT}\"}}\nbindings:\n  - serviceAccount: media/uploader\n    role: {{arn: {TEAM_ROLE}}}\n"
    ))
}

fn snapshot() -> Snapshot {
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
        namespaces: vec!["default".into(), "media".into()],
        ..Default::default()
    }
}

/// The exact IRSA statement for `media/uploader`.
fn uploader_statement() -> Value {
    json!({
        "Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER_HOST}")},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {
            format!("{ISSUER_HOST}:sub"): "system:serviceaccount:media:uploader",
            format!("{ISSUER_HOST}:aud"): "sts.amazonaws.com"
        }}
    })
}

/// A role made by someone else (no irsa tags), trusting `statements`, with a policy attached.
fn team_role(statements: Vec<Value>) -> Role {
    Role {
        name: "uploader".into(),
        arn: TEAM_ROLE.into(),
        path: "/team/".into(),
        trust_policy: json!({"Version": "2012-10-17", "Statement": statements}),
        attached_policy_arns: vec!["arn:aws:iam::aws:policy/AmazonS3FullAccess".into()],
        ..Default::default()
    }
}

fn ec2_statement() -> Value {
    json!({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
}

fn role_item(p: &Plan) -> &Item {
    p.items.iter().find(|i| i.kind == "role").unwrap()
}

fn only_the_provider(p: &Plan) -> bool {
    p.steps
        .iter()
        .all(|s| matches!(s.step, Step::CreateOidcProvider { .. }))
}

fn service_account_step(p: &Plan) -> Option<&Step> {
    p.steps
        .iter()
        .map(|s| &s.step)
        .find(|s| matches!(s, Step::ApplyServiceAccount { .. }))
}

#[test]
fn a_trust_that_admits_the_service_account_is_used_as_it_is() {
    let mut s = snapshot();
    s.roles
        .push(team_role(vec![ec2_statement(), uploader_statement()]));
    let p = plan(&existing_role_state(), &s, &PlanOptions::default()).unwrap();
    let item = role_item(&p);
    assert_eq!(
        (item.mark, item.name.as_str()),
        (Mark::Unchanged, TEAM_ROLE)
    );
    // The service account is annotated with the existing role; the role is not touched.
    let Some(Step::ApplyServiceAccount { annotations, .. }) = service_account_step(&p) else {
        panic!("no service account step: {:#?}", p.steps)
    };
    assert!(annotations.contains(&(ROLE_ARN_ANNOTATION.to_string(), Some(TEAM_ROLE.to_string()))));
    assert!(
        p.steps.iter().all(|st| !matches!(
            st.step,
            Step::CreateRole { .. }
                | Step::UpdateTrustPolicy { .. }
                | Step::TagRole { .. }
                | Step::AttachRolePolicy { .. }
                | Step::DetachRolePolicy { .. }
                | Step::CreatePolicy { .. }
        )),
        "{:#?}",
        p.steps
    );
}

#[test]
fn a_trust_that_does_not_admit_it_is_a_conflict_showing_the_statement_to_add() {
    let mut s = snapshot();
    s.roles.push(team_role(vec![ec2_statement()]));
    let p = plan(&existing_role_state(), &s, &PlanOptions::default()).unwrap();
    assert!(p.has_conflicts());
    let item = role_item(&p);
    assert_eq!(item.mark, Mark::Conflict);
    assert!(
        item.details[0].contains("does not admit media/uploader"),
        "{:?}",
        item.details
    );
    let shown: Value = serde_json::from_str(&item.details[1..].join("\n")).unwrap();
    assert_eq!(shown, uploader_statement());
    // Nothing that needs the role is planned (only the cluster's OIDC provider).
    assert!(only_the_provider(&p), "{:#?}", p.steps);
}

#[test]
fn adopt_adds_only_that_statement_and_keeps_the_others() {
    let mut s = snapshot();
    s.roles.push(team_role(vec![ec2_statement()]));
    let options = PlanOptions {
        adopt: true,
        ..Default::default()
    };
    let p = plan(&existing_role_state(), &s, &options).unwrap();
    let trust = p
        .steps
        .iter()
        .find_map(|st| match &st.step {
            Step::UpdateTrustPolicy {
                role_name,
                trust_policy,
            } if role_name == "uploader" => Some(trust_policy),
            _ => None,
        })
        .expect("a trust update");
    assert_eq!(
        trust["Statement"],
        json!([ec2_statement(), uploader_statement()])
    );
    // The trust update is the only change to the role; the service account waits for it.
    let role_changes = p
        .steps
        .iter()
        .filter(|st| {
            matches!(
                st.step,
                Step::UpdateTrustPolicy { .. }
                    | Step::TagRole { .. }
                    | Step::AttachRolePolicy { .. }
                    | Step::DetachRolePolicy { .. }
            )
        })
        .count();
    assert_eq!(role_changes, 1);
    let sa = p
        .steps
        .iter()
        .find(|st| matches!(st.step, Step::ApplyServiceAccount { .. }))
        .unwrap();
    assert!(!sa.after.is_empty());
}

#[test]
fn two_service_accounts_on_one_existing_role_each_get_their_statement() {
    let state = state_from(&format!(
        "cluster: {{name: demo, region: us-east-1}}\nbindings:\n  - serviceAccount: media/uploader\n    role: {{arn: {TEAM_ROLE}}}\n  - serviceAccount: media/resizer\n    role: {{arn: {TEAM_ROLE}}}\n"
    ));
    let mut s = snapshot();
    s.roles.push(team_role(vec![ec2_statement()]));
    let options = PlanOptions {
        adopt: true,
        ..Default::default()
    };
    let p = plan(&state, &s, &options).unwrap();
    let updates: Vec<&Value> = p
        .steps
        .iter()
        .filter_map(|st| match &st.step {
            Step::UpdateTrustPolicy { trust_policy, .. } => Some(trust_policy),
            _ => None,
        })
        .collect();
    assert_eq!(
        updates.len(),
        1,
        "one trust update for the role: {:#?}",
        p.steps
    );
    let subjects: Vec<&Value> = updates[0]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|st| st["Condition"]["StringEquals"].get(format!("{ISSUER_HOST}:sub")))
        .collect();
    assert_eq!(
        subjects,
        [
            &json!("system:serviceaccount:media:uploader"),
            &json!("system:serviceaccount:media:resizer")
        ]
    );
}

#[test]
fn a_missing_existing_role_is_a_conflict() {
    let p = plan(&existing_role_state(), &snapshot(), &PlanOptions::default()).unwrap();
    let item = role_item(&p);
    assert_eq!(item.mark, Mark::Conflict);
    assert!(
        item.details[0].contains("was not found in account 123456789012"),
        "{:?}",
        item.details
    );
    assert!(only_the_provider(&p), "{:#?}", p.steps);
}

#[test]
fn pod_identity_with_an_existing_role_checks_the_pods_service_trust() {
    let state = state_from(&format!(
        "cluster: {{name: demo, region: us-east-1}}\nbindings:\n  - serviceAccount: media/uploader\n    identity: pod-identity\n    role: {{arn: {TEAM_ROLE}}}\n"
    ));
    let mut s = snapshot();
    s.roles.push(team_role(vec![uploader_statement()]));
    let p = plan(&state, &s, &PlanOptions::default()).unwrap();
    let item = role_item(&p);
    assert_eq!(
        item.mark,
        Mark::Conflict,
        "web identity does not admit Pod Identity"
    );
    assert!(
        item.details
            .iter()
            .any(|d| d.contains("pods.eks.amazonaws.com")),
        "{:?}",
        item.details
    );
    // EKS's documented Pod Identity trust admits it: then only the association is planned.
    s.roles[0].trust_policy = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"]
    }]});
    let p = plan(&state, &s, &PlanOptions::default()).unwrap();
    assert_eq!(role_item(&p).mark, Mark::Unchanged);
    assert!(p.steps.iter().any(|st| matches!(&st.step, Step::CreatePodIdentityAssociation { role_arn, .. } if role_arn == TEAM_ROLE)));
}

#[test]
fn destroy_leaves_an_existing_role_its_policies_and_its_trust() {
    let state = existing_role_state();
    let mut s = snapshot();
    s.roles
        .push(team_role(vec![ec2_statement(), uploader_statement()]));
    s.service_accounts.push(ServiceAccount {
        namespace: "media".into(),
        name: "uploader".into(),
        ..Default::default()
    });
    s.role_trusts = Some(vec![]);
    let p = destroy(&state, &s);
    assert!(
        p.steps.iter().all(|st| !matches!(
            &st.step,
            Step::DeleteRole { .. }
                | Step::DetachRolePolicy { .. }
                | Step::UpdateTrustPolicy { .. }
                | Step::DeleteRolePolicy { .. }
        )),
        "{:#?}",
        p.steps
    );
}

#[test]
fn a_subject_pattern_trusts_string_like_on_sub_and_warns() {
    let state = state_from(
        "cluster: {name: demo, region: us-east-1}\nbindings:\n  - serviceAccountPattern: jobs/batch-*\n    policies: {managed: [arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess]}\n",
    );
    let b = &state.bindings[0];
    assert!(
        !b.create_service_account,
        "a pattern names no one service account to create"
    );
    assert_eq!(b.role.name, "irsa-demo-jobs-batch-any");
    let p = plan(&state, &snapshot(), &PlanOptions::default()).unwrap();
    let trust = p
        .steps
        .iter()
        .find_map(|st| match &st.step {
            Step::CreateRole { trust_policy, .. } => Some(trust_policy.clone()),
            _ => None,
        })
        .unwrap();
    let condition = &trust["Statement"][0]["Condition"];
    assert_eq!(
        condition["StringLike"][format!("{ISSUER_HOST}:sub")],
        "system:serviceaccount:jobs:batch-*"
    );
    assert_eq!(
        condition["StringEquals"][format!("{ISSUER_HOST}:aud")],
        "sts.amazonaws.com"
    );
    assert!(
        condition["StringEquals"]
            .get(format!("{ISSUER_HOST}:sub"))
            .is_none()
    );
    assert!(role_item(&p).details.iter().any(|d| d.starts_with("warning: the trust matches system:serviceaccount:jobs:batch-*")), "{:?}", role_item(&p).details);
    // The policy engine admits a matching service account and refuses another.
    for (name, admitted) in [("batch-nightly", true), ("web", false)] {
        let ok = b
            .mechanism
            .trust_admits(
                &trust,
                &TrustTarget {
                    partition: "aws",
                    account: ACCOUNT,
                    region: "us-east-1",
                    cluster_name: "demo",
                    issuer_url: Some(ISSUER),
                },
                "jobs",
                name,
            )
            .unwrap();
        assert_eq!(ok, admitted, "{name}");
    }
    // Lint rates it as the wildcard-subject rule does.
    let lint = iam_policy::lint::lint_text(&trust.to_string(), &Default::default());
    assert!(
        lint.iter()
            .any(|f| f.rule == iam_policy::lint::TRUST_WILDCARD_SUBJECT.id),
        "{lint:#?}"
    );
    // And audit, on the role as GetAccountAuthorizationDetails would list it.
    let dump = json!({"RoleDetailList": [{
        "Path": "/", "RoleName": b.role.name, "Arn": format!("arn:aws:iam::{ACCOUNT}:role/{}", b.role.name),
        "AssumeRolePolicyDocument": trust, "RolePolicyList": [], "AttachedManagedPolicies": [], "Tags": []
    }], "Policies": [], "UserDetailList": [], "GroupDetailList": []});
    let details = crate::audit::AccountAuthorizationDetails::from_json(&dump.to_string()).unwrap();
    let findings = crate::audit::audit(&details, &Default::default());
    assert!(
        findings
            .iter()
            .any(|f| f.rule == crate::audit::rules::TRUST_WILDCARD_SUBJECT.id),
        "{findings:#?}"
    );
}

#[test]
fn with_oidc_alone_plans_the_provider_only() {
    let spec = crate::spec::parse(
        Path::new("cluster.yaml"),
        "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata: {name: demo, region: us-east-1}\niam: {withOIDC: true}\n",
    )
    .unwrap();
    let state = desired::resolve(&spec, &ResolveInput::default(), &|_| unreachable!()).unwrap();
    let p = plan(&state, &snapshot(), &PlanOptions::default()).unwrap();
    assert_eq!(p.steps.len(), 1);
    assert!(matches!(p.steps[0].step, Step::CreateOidcProvider { .. }));
}
