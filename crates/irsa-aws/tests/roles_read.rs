//! `observe_roles_bulk` against moto on 127.0.0.1: the account walk (past the threshold) and
//! the per-role reads give the same roles, attached and boundary policies (default document,
//! versions) and inline policies' documents; absent roles are left out and a name given twice is
//! read once. moto ignores paging on GetAccountAuthorizationDetails (one page).

use irsa_aws::roles_read::WALK_THRESHOLD;
use irsa_aws::{Clients, Options, ReadVia, observe_roles_bulk};
use serde_json::json;
use testkit::moto::MotoServer;

mod common;

const ACCOUNT: &str = "123456789012";

fn document(action: &str) -> serde_json::Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": action, "Resource": "*"}]})
}

async fn create_policy(clients: &Clients, name: &str, action: &str) -> String {
    let out = clients
        .iam
        .create_policy()
        .policy_name(name)
        .policy_document(document(action).to_string())
        .send()
        .await
        .unwrap();
    out.policy().unwrap().arn().unwrap().to_string()
}

/// `WALK_THRESHOLD + 2` roles `r-<i>` sharing policy `shared` (two versions, the second
/// default); `r-0` also has an inline policy and the boundary `boundary` (attached to nothing).
async fn seed(clients: &Clients) -> Vec<String> {
    let shared = create_policy(clients, "shared", "s3:GetObject").await;
    clients
        .iam
        .create_policy_version()
        .policy_arn(&shared)
        .policy_document(document("s3:ListBucket").to_string())
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    let boundary = create_policy(clients, "boundary", "s3:*").await;
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let names: Vec<String> = (0..WALK_THRESHOLD + 2).map(|i| format!("r-{i}")).collect();
    for name in &names {
        let tag = aws_sdk_iam::types::Tag::builder()
            .key("team")
            .value(name)
            .build()
            .unwrap();
        clients
            .iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust.to_string())
            .tags(tag)
            .send()
            .await
            .unwrap();
        clients
            .iam
            .attach_role_policy()
            .role_name(name)
            .policy_arn(&shared)
            .send()
            .await
            .unwrap();
    }
    clients
        .iam
        .put_role_policy()
        .role_name("r-0")
        .policy_name("inline")
        .policy_document(document("sqs:SendMessage").to_string())
        .send()
        .await
        .unwrap();
    clients
        .iam
        .put_role_permissions_boundary()
        .role_name("r-0")
        .permissions_boundary(&boundary)
        .send()
        .await
        .unwrap();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn the_walk_and_the_per_role_reads_agree() {
    let moto = MotoServer::start().expect("moto starts");
    let clients = common::clients_for(&moto.endpoint(), Options::default());
    let names = seed(&clients).await;

    let few = vec!["r-0".to_string(), "r-1".to_string(), "r-0".to_string()];
    let before = clients.stats().api_calls;
    let per_role = observe_roles_bulk(&clients, &few, true).await.unwrap();
    assert_eq!(per_role.via, ReadVia::PerRole);
    // 2 roles × 3, 2 policies × 3, one inline policy: r-0 given twice is read once.
    assert_eq!(clients.stats().api_calls - before, 13);

    let mut many = names.clone();
    many.push("absent".to_string());
    let before = clients.stats().api_calls;
    let walked = observe_roles_bulk(&clients, &many, true).await.unwrap();
    assert_eq!(walked.via, ReadVia::AccountWalk);
    assert_eq!(clients.stats().api_calls - before, 1);
    assert_eq!(
        walked.roles.len(),
        names.len(),
        "the absent role is left out"
    );

    for role in &per_role.roles {
        let same = walked.roles.iter().find(|r| r.name == role.name).unwrap();
        assert_eq!(same.arn, role.arn);
        assert_eq!(same.path, role.path);
        assert_eq!(same.trust_policy, role.trust_policy);
        assert_eq!(same.permissions_boundary, role.permissions_boundary);
        assert_eq!(same.tags, role.tags);
        assert_eq!(same.attached_policy_arns, role.attached_policy_arns);
        assert_eq!(same.inline_policy_names, role.inline_policy_names);
    }
    assert_eq!(
        per_role.roles[0].permissions_boundary.as_deref(),
        Some(format!("arn:aws:iam::{ACCOUNT}:policy/boundary").as_str())
    );
    assert_eq!(walked.inline["r-0"], per_role.inline["r-0"]);
    assert_eq!(
        walked.inline["r-0"],
        vec![("inline".to_string(), document("sqs:SendMessage"))]
    );
    let mut arns: Vec<&str> = walked.policies.iter().map(|p| p.arn.as_str()).collect();
    arns.sort();
    assert_eq!(
        arns,
        [
            format!("arn:aws:iam::{ACCOUNT}:policy/boundary"),
            format!("arn:aws:iam::{ACCOUNT}:policy/shared")
        ]
    );
    for policy in &per_role.policies {
        let same = walked
            .policies
            .iter()
            .find(|p| p.arn == policy.arn)
            .unwrap();
        assert_eq!(same.name, policy.name);
        assert_eq!(same.document, policy.document);
        assert_eq!(same.default_version_id, policy.default_version_id);
        let ids = |p: &irsa_core::snapshot::ManagedPolicy| {
            p.versions
                .iter()
                .map(|v| (v.id.clone(), v.is_default))
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(same), ids(policy));
    }
    let shared = walked.policies.iter().find(|p| p.name == "shared").unwrap();
    assert_eq!(shared.default_version_id, "v2");
    assert_eq!(shared.document, document("s3:ListBucket"));

    // Without documents the walk still reads the roles in one call.
    let roles_only = observe_roles_bulk(&clients, &names, false).await.unwrap();
    assert_eq!(roles_only.roles.len(), names.len());
}
