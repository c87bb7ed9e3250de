//! The audit's account read against moto on 127.0.0.1: GetAccountAuthorizationDetails (moto
//! returns documents URL-encoded or raw; it ignores paging), ListOpenIDConnectProviders, EKS
//! ListClusters/DescribeCluster, CloudTrail DescribeTrails/GetTrailStatus and ListPolicyTags,
//! then the pure audit over what was read.

use std::io::{Read, Write};

use irsa_aws::{AccountRequest, Clients, ErrorKind, Options, observe_account};
use irsa_core::audit::{AuditContext, audit};
use serde_json::json;
use testkit::moto::MotoServer;

mod common;

const ACCOUNT: &str = "123456789012";

fn clients(moto: &MotoServer) -> Clients {
    common::clients_for(&moto.endpoint(), Options::default())
}

/// Creates an S3 bucket in moto with a plain path-style PUT (CreateTrail requires the bucket).
fn create_bucket(moto: &MotoServer, bucket: &str) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", moto.port())).unwrap();
    write!(
        stream,
        "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        moto.port()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

async fn create_cluster(clients: &Clients, name: &str) -> String {
    let vpc = aws_sdk_eks::types::VpcConfigRequest::builder()
        .subnet_ids("subnet-11111111")
        .build();
    let out = clients
        .eks
        .create_cluster()
        .name(name)
        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/eks-cluster"))
        .resources_vpc_config(vpc)
        .send()
        .await
        .unwrap();
    out.cluster()
        .unwrap()
        .identity()
        .unwrap()
        .oidc()
        .unwrap()
        .issuer()
        .unwrap()
        .to_string()
}

async fn create_provider(clients: &Clients, issuer_url: &str) -> String {
    clients
        .iam
        .create_open_id_connect_provider()
        .url(issuer_url)
        .client_id_list("sts.amazonaws.com")
        .thumbprint_list("9e99a48a9960b14926bb7f3b02e22da2b0ab7280")
        .send()
        .await
        .unwrap()
        .open_id_connect_provider_arn()
        .unwrap()
        .to_string()
}

async fn create_role(
    clients: &Clients,
    name: &str,
    trust: serde_json::Value,
    tags: &[(&str, &str)],
) {
    let mut call = clients
        .iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust.to_string());
    for (k, v) in tags {
        call = call.tags(
            aws_sdk_iam::types::Tag::builder()
                .key(*k)
                .value(*v)
                .build()
                .unwrap(),
        );
    }
    call.send().await.unwrap();
}

fn irsa_trust(provider_arn: &str, issuer: &str, sub: Option<&str>) -> serde_json::Value {
    let mut condition = json!({ format!("{issuer}:aud"): "sts.amazonaws.com" });
    if let Some(sub) = sub {
        condition[format!("{issuer}:sub")] = json!(sub);
    }
    json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": condition}}]})
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_the_account_and_audits_it() {
    let moto = MotoServer::start().expect("moto starts");
    let clients = clients(&moto);
    let issuer_url = create_cluster(&clients, "prod").await;
    let issuer = issuer_url.trim_start_matches("https://").to_string();
    let provider = create_provider(&clients, &issuer_url).await;
    create_role(
        &clients,
        "autoscaler",
        irsa_trust(
            &provider,
            &issuer,
            Some("system:serviceaccount:kube-system:cluster-autoscaler"),
        ),
        &[("owner", "platform")],
    )
    .await;
    create_role(
        &clients,
        "everyone-in-cluster",
        irsa_trust(&provider, &issuer, None),
        &[("owner", "platform")],
    )
    .await;
    let admin = clients
        .iam
        .create_policy()
        .policy_name("admin")
        .policy_document(json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}).to_string())
        .tags(aws_sdk_iam::types::Tag::builder().key("team").value("x").build().unwrap())
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    clients
        .iam
        .attach_role_policy()
        .role_name("autoscaler")
        .policy_arn(&admin)
        .send()
        .await
        .unwrap();
    create_bucket(&moto, "trail-bucket");
    clients
        .cloudtrail
        .create_trail()
        .name("main")
        .s3_bucket_name("trail-bucket")
        .send()
        .await
        .unwrap();

    let before = clients.stats();
    let observed = observe_account(
        &clients,
        &AccountRequest {
            clusters: None,
            policy_tags: true,
        },
    )
    .await
    .expect("the account is read");
    let calls = clients.stats().api_calls - before.api_calls;
    // GAAD (1 page in moto) + providers + ListClusters + DescribeCluster + DescribeTrails +
    // GetTrailStatus + ListPolicyTags for the one attached customer policy: no per-role call.
    assert_eq!(calls, 7);
    assert_eq!(observed.clusters.len(), 1);
    assert_eq!(observed.clusters[0].issuer, issuer);
    assert_eq!(observed.oidc_provider_arns, vec![provider.clone()]);
    assert_eq!(observed.cloudtrail.trails.len(), 1);
    assert!(
        !observed.cloudtrail.trails[0].logging,
        "a new trail is not logging"
    );
    let names: Vec<&str> = observed
        .details
        .role_detail_list
        .iter()
        .map(|r| r.role_name.as_str())
        .collect();
    assert!(
        names.contains(&"autoscaler") && names.contains(&"everyone-in-cluster"),
        "{names:?}"
    );
    let policy = observed
        .details
        .policies
        .iter()
        .find(|p| p.arn == admin)
        .unwrap();
    assert_eq!(policy.tags.as_ref().unwrap()[0].key, "team");

    let ctx = AuditContext {
        clusters: Some(observed.clusters.clone()),
        region: Some("us-east-1".into()),
        oidc_provider_arns: Some(observed.oidc_provider_arns.clone()),
        cloudtrail: Some(observed.cloudtrail.clone()),
        pod_identity_associations: observed.pod_identity_associations.clone(),
        now_ms: None,
        unused_days: 90,
        required_tags: vec!["owner".into()],
    };
    let findings = audit(&observed.details, &ctx);
    let has = |rule: &str, resource_end: &str| {
        findings
            .iter()
            .any(|f| f.rule == rule && f.resource.ends_with(resource_end))
    };
    assert!(has("AUD001", "role/everyone-in-cluster"), "{findings:#?}");
    assert!(has("AUD007", "role/autoscaler"), "{findings:#?}");
    assert!(has("AUD010", "policy/admin"), "{findings:#?}");
    assert!(has("AUD011", "trail/main"), "{findings:#?}");
    assert!(
        !findings.iter().any(|f| f.rule == "AUD005"),
        "{findings:#?}"
    );

    // Start logging: the CloudTrail finding goes away.
    clients
        .cloudtrail
        .start_logging()
        .name("main")
        .send()
        .await
        .unwrap();
    let observed = observe_account(&clients, &AccountRequest::default())
        .await
        .unwrap();
    assert!(observed.cloudtrail.logging_trail().is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_named_cluster_that_does_not_exist_is_an_error() {
    let moto = MotoServer::start().expect("moto starts");
    let clients = clients(&moto);
    let err = observe_account(
        &clients,
        &AccountRequest {
            clusters: Some(vec!["nope".into()]),
            policy_tags: false,
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert!(
        err.to_string().starts_with("eks:DescribeCluster nope"),
        "{err}"
    );
}

/// A role trusted by EKS Pod Identity, scoped to `namespace/service_account` of `cluster`.
fn pod_identity_trust(cluster: &str, namespace: &str, service_account: &str) -> serde_json::Value {
    json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {"StringEquals": {
            "aws:RequestTag/eks-cluster-arn": format!("arn:aws:eks:us-east-1:{ACCOUNT}:cluster/{cluster}"),
            "aws:RequestTag/kubernetes-namespace": namespace,
            "aws:RequestTag/kubernetes-service-account": service_account}}}]})
}

async fn associate(clients: &Clients, cluster: &str, service_account: &str, role: &str) {
    clients
        .eks
        .create_pod_identity_association()
        .cluster_name(cluster)
        .namespace("kube-system")
        .service_account(service_account)
        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/{role}"))
        .send()
        .await
        .unwrap();
}

/// Through the fake EKS (moto has no Pod Identity): the named cluster's associations are listed
/// once and described one by one; an association whose role was deleted since is AUD018, and
/// a cluster not named costs no association call.
#[tokio::test(flavor = "multi_thread")]
async fn reads_the_named_clusters_associations_and_finds_deleted_roles() {
    let moto = MotoServer::start().expect("moto starts");
    let fake = testkit::fake_eks::FakeEks::start(&moto.endpoint()).expect("fake EKS starts");
    let clients = common::clients_for(&fake.endpoint(), Options::default());
    // IAM straight to moto (the fake would forward it anyway).
    let iam = common::clients_for(&moto.endpoint(), Options::default());
    create_cluster(&clients, "prod").await;
    create_cluster(&clients, "other").await;
    for (sa, role) in [
        ("ebs-csi-controller-sa", "ebs"),
        ("efs-csi-controller-sa", "efs"),
        ("cluster-autoscaler", "autoscaler"),
    ] {
        create_role(
            &iam,
            role,
            pod_identity_trust("prod", "kube-system", sa),
            &[],
        )
        .await;
        associate(&clients, "prod", sa, role).await;
    }
    iam.iam.delete_role().role_name("efs").send().await.unwrap();

    let observe = |clusters: &[&str]| {
        let request = AccountRequest {
            clusters: Some(clusters.iter().map(|c| c.to_string()).collect()),
            policy_tags: false,
        };
        let clients = &clients;
        async move {
            let before = clients.stats().api_calls;
            let observed = observe_account(clients, &request).await.unwrap();
            (observed, clients.stats().api_calls - before)
        }
    };
    let (observed, calls) = observe(&["prod"]).await;
    let (_, calls_other) = observe(&["other"]).await;
    // The same reads for both clusters, plus one DescribePodIdentityAssociation per association.
    assert_eq!(calls - calls_other, 3);
    let associations = observed.pod_identity_associations.clone().unwrap();
    let prod = &associations["prod"];
    assert_eq!(prod.len(), 3);
    assert!(prod.iter().all(|a| a.role_arn.starts_with("arn:aws:iam::")));

    let ctx = AuditContext {
        clusters: Some(observed.clusters.clone()),
        region: Some("us-east-1".into()),
        oidc_provider_arns: Some(observed.oidc_provider_arns.clone()),
        cloudtrail: Some(observed.cloudtrail.clone()),
        pod_identity_associations: observed.pod_identity_associations.clone(),
        now_ms: None,
        unused_days: 90,
        required_tags: vec![],
    };
    let findings = audit(&observed.details, &ctx);
    let missing: Vec<&str> = findings
        .iter()
        .filter(|f| f.rule == "AUD018")
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(missing.len(), 1, "{findings:#?}");
    assert!(
        missing[0].contains("kube-system/efs-csi-controller-sa in cluster prod"),
        "{}",
        missing[0]
    );
    assert!(
        !findings.iter().any(|f| f.rule == "AUD016"),
        "the roles are scoped: {findings:#?}"
    );

    // No cluster named: associations are not read, and the audit says the check did not run.
    let unnamed = observe_account(&clients, &AccountRequest::default())
        .await
        .unwrap();
    assert!(unnamed.pod_identity_associations.is_none());
    let ctx = AuditContext {
        pod_identity_associations: None,
        ..ctx
    };
    let findings = audit(&unnamed.details, &ctx);
    assert!(
        findings
            .iter()
            .any(|f| f.rule == "AUD000" && f.evidence == "AUD018"),
        "{findings:#?}"
    );
}
