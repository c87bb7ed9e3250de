//! The layers beyond a role's own policies read against moto on 127.0.0.1: a KMS key policy
//! (GetKeyPolicy, `default`), bucket policies (GetBucketPolicy; NoSuchBucketPolicy is no policy)
//! with ListBuckets telling the account's own buckets, and the SCPs: none outside an
//! organization (DescribeOrganization's AWSOrganizationsNotInUseException) nor for the management
//! account, and the levels root → OU → account of a
//! member account as the management account reads them.

use aws_sdk_organizations::types::PolicyType;
use irsa_aws::resource_reads::{ResourceLayersRequest, read_resource_layers, scp_levels};
use irsa_aws::{Clients, Options};
use irsa_core::resource_layers::{Observed, Scps};
use serde_json::json;
use testkit::moto::MotoServer;

mod common;

const ACCOUNT: &str = "123456789012";

fn clients(moto: &MotoServer) -> Clients {
    common::clients_for(&moto.endpoint(), Options::default())
}

async fn create_key(clients: &Clients, policy: &serde_json::Value) -> String {
    let out = clients
        .kms
        .create_key()
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();
    out.key_metadata().unwrap().arn().unwrap().to_string()
}

async fn create_bucket(clients: &Clients, name: &str, policy: Option<&serde_json::Value>) {
    clients
        .s3
        .create_bucket()
        .bucket(name)
        .send()
        .await
        .unwrap();
    if let Some(policy) = policy {
        clients
            .s3
            .put_bucket_policy()
            .bucket(name)
            .policy(policy.to_string())
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn key_and_bucket_policies_are_read_and_a_missing_one_is_no_policy() {
    let moto = MotoServer::start().unwrap();
    let clients = clients(&moto);
    let key_policy = json!({"Version": "2012-10-17", "Statement": [{"Sid": "Admins", "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:role/key-admin")}, "Action": "kms:*", "Resource": "*"}]});
    let key = create_key(&clients, &key_policy).await;
    let deny = json!({"Version": "2012-10-17", "Statement": [{"Sid": "NoDeletes", "Effect": "Deny",
        "Principal": "*", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::guarded/*"}]});
    create_bucket(&clients, "guarded", Some(&deny)).await;
    create_bucket(&clients, "open", None).await;
    let request = ResourceLayersRequest {
        resources: vec![
            key.clone(),
            "arn:aws:s3:::guarded".into(),
            "arn:aws:s3:::open".into(),
            "arn:aws:s3:::not-there".into(),
        ],
        scps: false,
        account: ACCOUNT.into(),
    };
    let layers = read_resource_layers(&clients, &request).await;
    assert_eq!(
        layers.resources[&key].policy,
        Observed::Read(Some(key_policy))
    );
    let guarded = &layers.resources["arn:aws:s3:::guarded"];
    assert_eq!(guarded.policy, Observed::Read(Some(deny)));
    assert_eq!(guarded.own_account, Some(true));
    assert_eq!(
        layers.resources["arn:aws:s3:::open"].policy,
        Observed::Read(None)
    );
    let missing = &layers.resources["arn:aws:s3:::not-there"];
    assert_eq!(missing.own_account, Some(false));
    match &missing.policy {
        Observed::NotChecked(why) => assert!(why.contains("NoSuchBucket"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(layers.scps, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_scp_layer_outside_an_organization_nor_for_its_management_account() {
    let moto = MotoServer::start().unwrap();
    let clients = clients(&moto);
    let request = ResourceLayersRequest {
        resources: Vec::new(),
        scps: true,
        account: ACCOUNT.into(),
    };
    assert_eq!(
        read_resource_layers(&clients, &request).await.scps,
        Some(Scps::NoOrganization)
    );
    clients
        .organizations
        .create_organization()
        .send()
        .await
        .unwrap();
    assert_eq!(
        read_resource_layers(&clients, &request).await.scps,
        Some(Scps::ManagementAccount)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_accounts_scp_levels_run_from_the_root_to_the_account() {
    let moto = MotoServer::start().unwrap();
    let clients = clients(&moto);
    let org = &clients.organizations;
    org.create_organization().send().await.unwrap();
    let roots = org.list_roots().send().await.unwrap();
    let root = roots.roots()[0].id().unwrap().to_string();
    let ou = org
        .create_organizational_unit()
        .parent_id(&root)
        .name("workloads")
        .send()
        .await
        .unwrap();
    let ou = ou.organizational_unit().unwrap().id().unwrap().to_string();
    let created = org
        .create_account()
        .account_name("prod")
        .email("prod@example.com")
        .send()
        .await
        .unwrap();
    let member = created
        .create_account_status()
        .unwrap()
        .account_id()
        .unwrap()
        .to_string();
    org.move_account()
        .account_id(&member)
        .source_parent_id(&root)
        .destination_parent_id(&ou)
        .send()
        .await
        .unwrap();
    let content = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "kms:CreateGrant", "Resource": "*"}]});
    let policy = org
        .create_policy()
        .name("no-grants")
        .description("deny grants")
        .r#type(PolicyType::ServiceControlPolicy)
        .content(content.to_string())
        .send()
        .await
        .unwrap();
    let policy_id = policy
        .policy()
        .unwrap()
        .policy_summary()
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    org.attach_policy()
        .policy_id(&policy_id)
        .target_id(&ou)
        .send()
        .await
        .unwrap();

    let levels = scp_levels(&clients, &member).await.unwrap();
    let targets: Vec<&str> = levels.iter().map(|l| l.target.as_str()).collect();
    assert_eq!(targets, [root.as_str(), ou.as_str(), member.as_str()]);
    let at_ou: Vec<&str> = levels[1].policies.iter().map(|(n, _)| n.as_str()).collect();
    assert!(at_ou.contains(&"no-grants"), "{at_ou:?}");
    let (_, document) = levels[1]
        .policies
        .iter()
        .find(|(n, _)| n == "no-grants")
        .unwrap();
    assert_eq!(document, &content);
    assert!(
        levels[0].policies.iter().any(|(n, _)| n == "FullAWSAccess"),
        "{:?}",
        levels[0].policies
    );
}
