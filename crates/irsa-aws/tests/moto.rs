//! The AWS adapter against real peers on 127.0.0.1: moto (IAM, STS, EKS clusters) and the
//! testkit's fake of the EKS add-on API in front of it. The SdkConfig is built by hand (static
//! test credentials, explicit endpoints) so that nothing is read from the environment and no
//! request leaves loopback.

use std::sync::Mutex;

use irsa_aws::{CallStats, Clients, ErrorKind, ObserveRequest, Options, execute, observe};
use irsa_core::snapshot::{Snapshot, Tags};
use irsa_core::steps::{AddonIdentity, Step};
use serde_json::json;
use testkit::fake_eks::FakeEks;
use testkit::moto::MotoServer;

mod common;

const ACCOUNT: &str = "123456789012";
const EBS_MANAGED: &str = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy";

struct Sandbox {
    clients: Clients,
    fake: FakeEks,
    _moto: MotoServer,
}

fn sandbox() -> Sandbox {
    let moto = MotoServer::start().expect("moto starts");
    let fake = FakeEks::start(&moto.endpoint()).expect("fake EKS starts");
    let options = Options {
        consistency_timeout: std::time::Duration::from_millis(300),
        eks_endpoint_url: Some(fake.endpoint()),
        ..Options::default()
    };
    Sandbox {
        clients: common::clients_for(&moto.endpoint(), options),
        fake,
        _moto: moto,
    }
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn delta(before: CallStats, after: CallStats) -> (u64, u64) {
    (
        after.api_calls - before.api_calls,
        after.mutating_calls - before.mutating_calls,
    )
}

async fn run(clients: &Clients, step: Step) -> Vec<String> {
    let messages = Mutex::new(Vec::new());
    let progress = |m: &str| messages.lock().unwrap().push(m.to_string());
    execute(clients, &step, &progress)
        .await
        .unwrap_or_else(|e| panic!("{step:?}: {e}"));
    messages.into_inner().unwrap()
}

async fn run_err(clients: &Clients, step: Step) -> irsa_aws::AwsError {
    execute(clients, &step, &|_| {})
        .await
        .expect_err("the step fails")
}

async fn create_cluster(clients: &Clients, name: &str) {
    let vpc = aws_sdk_eks::types::VpcConfigRequest::builder()
        .subnet_ids("subnet-11111111")
        .subnet_ids("subnet-22222222")
        .build();
    clients
        .eks
        .create_cluster()
        .name(name)
        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/eks-cluster"))
        .resources_vpc_config(vpc)
        .send()
        .await
        .expect("moto creates the cluster");
}

fn trust_policy(
    provider_arn: &str,
    issuer_host_path: &str,
    namespace: &str,
    sa: &str,
) -> serde_json::Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Federated": provider_arn },
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": { "StringEquals": {
                format!("{issuer_host_path}:sub"): format!("system:serviceaccount:{namespace}:{sa}"),
                format!("{issuer_host_path}:aud"): "sts.amazonaws.com",
            }}
        }]
    })
}

fn policy_document(actions: &[&str]) -> serde_json::Value {
    json!({ "Version": "2012-10-17", "Statement": [{ "Effect": "Allow", "Action": actions, "Resource": "*" }] })
}

/// The resources the phases below create and read, in the account moto holds.
struct World<'a> {
    c: &'a Clients,
    fake: &'a FakeEks,
    role: &'static str,
    role_arn: String,
    policy_arn: String,
    request: ObserveRequest,
    issuer: String,
    host_path: String,
    provider_arn: String,
    owner: Tags,
    document: serde_json::Value,
}

impl<'a> World<'a> {
    fn new(c: &'a Clients, fake: &'a FakeEks) -> Self {
        let role = "irsa-demo-ebs-csi";
        let policy_arn = format!("arn:aws:iam::{ACCOUNT}:policy/irsa/irsa-demo-autoscaler");
        World {
            c,
            fake,
            role,
            role_arn: format!("arn:aws:iam::{ACCOUNT}:role/irsa/{role}"),
            request: ObserveRequest {
                cluster: "demo".into(),
                role_names: vec![role.into()],
                policy_arns: vec![policy_arn.clone()],
                addon_names: vec!["aws-ebs-csi-driver".into()],
                ..Default::default()
            },
            policy_arn,
            issuer: String::new(),
            host_path: String::new(),
            provider_arn: String::new(),
            owner: tags(&[
                ("irsa.dev/managed-by", "irsa"),
                ("irsa.dev/cluster", "demo"),
            ]),
            document: policy_document(&["autoscaling:DescribeAutoScalingGroups"]),
        }
    }

    /// Records the cluster's issuer, which names the OIDC provider.
    fn with_issuer(mut self, issuer: String) -> Self {
        self.host_path = issuer.trim_start_matches("https://").to_string();
        self.provider_arn = format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{}", self.host_path);
        self.issuer = issuer;
        self
    }
}

/// One account, phase by phase: each phase starts from what the one before left.
#[tokio::test]
async fn observe_and_execute_against_moto_and_fake_eks() {
    let Sandbox {
        clients,
        fake,
        _moto,
    } = sandbox();
    create_cluster(&clients, "demo").await;
    let world = World::new(&clients, &fake);
    let issuer = nothing_but_the_cluster(&world).await;
    let world = world.with_issuer(issuer);
    provider_policy_role_attachments_and_tags(&world).await;
    trust_drift_repaired_and_policy_versions_pruned(&world).await;
    ebs_addon_created_waited_for_and_updated(&world).await;
    destroy_in_planned_order_repeatable(&world).await;
}

/// Only the cluster exists: the observation is empty, and a missing cluster is absent, not an
/// error. Returns the cluster's issuer.
async fn nothing_but_the_cluster(w: &World<'_>) -> String {
    let World { c, request, .. } = w;
    let before = c.stats();
    let snapshot = observe(c, request).await.unwrap();
    // sts + DescribeCluster + ListOIDCProviders + GetRole + GetPolicy + DescribeAddon: an absent
    // role or policy is not listed further.
    assert_eq!(delta(before, c.stats()), (6, 0));
    assert_eq!(
        (
            snapshot.account.as_str(),
            snapshot.partition.as_str(),
            snapshot.region.as_str()
        ),
        (ACCOUNT, "aws", "us-east-1")
    );
    let cluster = snapshot.cluster.clone().expect("the cluster is found");
    assert_eq!(cluster.name, "demo");
    let issuer = cluster
        .issuer_url
        .clone()
        .expect("moto gives the cluster an issuer");
    assert!(
        issuer.starts_with("https://oidc.eks.us-east-1.amazonaws.com/id/"),
        "{issuer}"
    );
    assert!(snapshot.provider_for_issuer(&issuer).is_none());
    assert!(
        snapshot.roles.is_empty()
            && snapshot.policies.is_empty()
            && snapshot.addons.is_empty()
            && snapshot.oidc_providers.is_empty()
    );

    // A cluster that does not exist is absent, not an error; so are its add-ons.
    let missing = observe(
        c,
        &ObserveRequest {
            cluster: "nope".into(),
            addon_names: vec!["aws-ebs-csi-driver".into()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!((missing.cluster, missing.addons), (None, vec![]));

    issuer
}

/// The provider, a customer policy, the role, its attachments and tags, observed back.
async fn provider_policy_role_attachments_and_tags(w: &World<'_>) {
    let World {
        c,
        role,
        role_arn,
        policy_arn,
        request,
        issuer,
        host_path,
        provider_arn,
        owner,
        document,
        ..
    } = w;
    let role = *role;
    let trust = trust_policy(
        provider_arn,
        host_path,
        "kube-system",
        "ebs-csi-controller-sa",
    );
    let before = c.stats();
    run(
        c,
        Step::CreateOidcProvider {
            url: issuer.clone(),
            client_ids: vec!["sts.amazonaws.com".into()],
            thumbprints: vec!["9e99a48a9960b14926bb7f3b02e22da2b0ab7280".into()],
            tags: owner.clone(),
        },
    )
    .await;
    run(
        c,
        Step::CreatePolicy {
            name: "irsa-demo-autoscaler".into(),
            path: "/irsa/".into(),
            document: document.clone(),
            tags: owner.clone(),
        },
    )
    .await;
    run(
        c,
        Step::CreateRole {
            name: role.into(),
            path: "/irsa/".into(),
            trust_policy: trust.clone(),
            permissions_boundary: None,
            tags: owner.clone(),
        },
    )
    .await;
    run(
        c,
        Step::AttachRolePolicy {
            role_name: role.into(),
            policy_arn: policy_arn.clone(),
        },
    )
    .await;
    run(
        c,
        Step::AttachRolePolicy {
            role_name: role.into(),
            policy_arn: EBS_MANAGED.into(),
        },
    )
    .await;
    run(
        c,
        Step::TagRole {
            role_name: role.into(),
            tags: tags(&[("team", "storage")]),
        },
    )
    .await;
    run(
        c,
        Step::TagPolicy {
            policy_arn: policy_arn.clone(),
            tags: tags(&[("team", "platform")]),
        },
    )
    .await;
    assert_eq!(delta(before, c.stats()), (7, 7));

    let before = c.stats();
    let snapshot = observe(c, request).await.unwrap();
    // 9 as above + GetOpenIDConnectProvider + GetPolicyVersion.
    assert_eq!(delta(before, c.stats()), (11, 0));
    let provider = snapshot
        .provider_for_issuer(issuer)
        .expect("the provider exists");
    assert_eq!(&provider.arn, provider_arn);
    assert_eq!(&provider.url, host_path);
    assert_eq!(provider.client_ids, vec!["sts.amazonaws.com"]);
    assert_eq!(
        provider.thumbprints,
        vec!["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"]
    );
    assert_eq!(&provider.tags, owner);
    let observed = snapshot.role(role).expect("the role exists");
    assert_eq!(&observed.arn, role_arn);
    assert_eq!(observed.path, "/irsa/");
    assert_eq!(
        observed.trust_policy, trust,
        "the trust policy decodes to what was sent"
    );
    let mut role_tags = owner.clone();
    role_tags.insert("team".into(), "storage".into());
    assert_eq!(observed.tags, role_tags);
    let mut attached = observed.attached_policy_arns.clone();
    attached.sort();
    let mut expected = vec![EBS_MANAGED.to_string(), policy_arn.clone()];
    expected.sort();
    assert_eq!(attached, expected);
    assert!(observed.inline_policy_names.is_empty());
    assert_eq!(observed.permissions_boundary, None);
    let policy = snapshot.policy(policy_arn).expect("the policy exists");
    assert_eq!(
        (
            policy.name.as_str(),
            policy.path.as_str(),
            policy.default_version_id.as_str()
        ),
        ("irsa-demo-autoscaler", "/irsa/", "v1")
    );
    assert_eq!(&policy.document, document);
    assert_eq!(
        policy
            .versions
            .iter()
            .map(|v| (v.id.as_str(), v.is_default))
            .collect::<Vec<_>>(),
        vec![("v1", true)]
    );
    let mut policy_tags = owner.clone();
    policy_tags.insert("team".into(), "platform".into());
    assert_eq!(policy.tags, policy_tags);
    assert_eq!(policy.attachment_count, Some(1), "attached to the role");

    // The same policy named by path and name only: its ARN comes from STS's answer.
    let by_name = observe(
        c,
        &ObserveRequest {
            cluster: "demo".into(),
            own_policies: vec![("/irsa/".into(), "irsa-demo-autoscaler".into())],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(by_name.policy(policy_arn), Some(policy));

    // Creating again: a distinguishable AlreadyExists.
    let err = run_err(
        c,
        Step::CreateRole {
            name: role.into(),
            path: "/irsa/".into(),
            trust_policy: trust.clone(),
            permissions_boundary: None,
            tags: Tags::new(),
        },
    )
    .await;
    assert_eq!(
        (err.kind, err.code.as_deref()),
        (ErrorKind::AlreadyExists, Some("EntityAlreadyExists"))
    );
    assert!(
        err.to_string()
            .starts_with(&format!("iam:CreateRole {role}: EntityAlreadyExists")),
        "{err}"
    );
    // Attaching to a role that does not exist: NotFound once the consistency retries run out.
    let err = run_err(
        c,
        Step::AttachRolePolicy {
            role_name: "no-such-role".into(),
            policy_arn: policy_arn.clone(),
        },
    )
    .await;
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
}

/// Trust policy drift repaired; policy versions up to IAM's limit of five, then pruned.
async fn trust_drift_repaired_and_policy_versions_pruned(w: &World<'_>) {
    let World {
        c,
        role,
        policy_arn,
        request,
        host_path,
        provider_arn,
        document,
        ..
    } = w;
    let role = *role;
    let trust2 = trust_policy(provider_arn, host_path, "kube-system", "ebs-csi-node-sa");
    run(
        c,
        Step::UpdateTrustPolicy {
            role_name: role.into(),
            trust_policy: trust2.clone(),
        },
    )
    .await;
    let mut last = document.clone();
    for n in 2..=5 {
        last = policy_document(&[
            "autoscaling:DescribeAutoScalingGroups",
            &format!("ec2:DescribeImages{n}"),
        ]);
        run(
            c,
            Step::CreatePolicyVersion {
                policy_arn: policy_arn.clone(),
                document: last.clone(),
                prune: None,
            },
        )
        .await;
    }
    let snapshot = observe(c, request).await.unwrap();
    assert_eq!(snapshot.role(role).unwrap().trust_policy, trust2);
    let ids = |s: &Snapshot| {
        s.policy(policy_arn)
            .unwrap()
            .versions
            .iter()
            .map(|v| v.id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&snapshot), ["v1", "v2", "v3", "v4", "v5"]);
    let at_limit = run_err(
        c,
        Step::CreatePolicyVersion {
            policy_arn: policy_arn.clone(),
            document: document.clone(),
            prune: None,
        },
    )
    .await;
    assert_eq!(
        at_limit.code.as_deref(),
        Some("LimitExceeded"),
        "{at_limit}"
    );
    let before = c.stats();
    run(
        c,
        Step::CreatePolicyVersion {
            policy_arn: policy_arn.clone(),
            document: document.clone(),
            prune: Some("v1".into()),
        },
    )
    .await;
    assert_eq!(delta(before, c.stats()), (2, 2));
    let snapshot = observe(c, request).await.unwrap();
    let policy = snapshot.policy(policy_arn).unwrap();
    assert_eq!(ids(&snapshot), ["v2", "v3", "v4", "v5", "v6"]);
    assert_eq!(
        (policy.default_version_id.as_str(), &policy.document),
        ("v6", document)
    );
    assert_eq!(
        policy
            .versions
            .iter()
            .filter(|v| v.is_default)
            .map(|v| v.id.as_str())
            .collect::<Vec<_>>(),
        ["v6"]
    );
    assert_ne!(&last, document);
}

/// The EBS CSI add-on: created with the role, waited for until ACTIVE, then updated; a failing
/// add-on reports its health issues.
async fn ebs_addon_created_waited_for_and_updated(w: &World<'_>) {
    let World {
        c,
        fake,
        role_arn,
        request,
        owner,
        ..
    } = w;
    let before = c.stats();
    let messages = run(
        c,
        Step::CreateAddon {
            settings: Default::default(),
            cluster: "demo".into(),
            name: "aws-ebs-csi-driver".into(),
            identity: AddonIdentity::ServiceAccountRole {
                role_arn: role_arn.clone(),
            },
            tags: owner.clone(),
        },
    )
    .await;
    let (calls, mutating) = delta(before, c.stats());
    assert_eq!(mutating, 1);
    assert!(
        calls >= 2,
        "CreateAddon plus at least one DescribeAddon, got {calls}"
    );
    // A DescribeAddon during the transition reports CREATING; a loaded machine may first ask
    // after it (the fake's transition takes a fixed delay), so only the end is certain.
    assert!(messages.last().unwrap().contains("ACTIVE"), "{messages:?}");
    assert!(
        messages[..messages.len() - 1]
            .iter()
            .all(|m| m.contains("CREATING")),
        "{messages:?}"
    );
    let snapshot = observe(c, request).await.unwrap();
    let addon = snapshot
        .addon("aws-ebs-csi-driver")
        .expect("the add-on exists");
    assert_eq!(
        (
            addon.status.as_str(),
            addon.service_account_role_arn.as_deref()
        ),
        ("ACTIVE", Some(role_arn.as_str()))
    );
    assert_eq!(&addon.tags, owner);
    assert!(addon.version.is_some());
    let err = run_err(
        c,
        Step::CreateAddon {
            settings: Default::default(),
            cluster: "demo".into(),
            name: "aws-ebs-csi-driver".into(),
            identity: AddonIdentity::ServiceAccountRole {
                role_arn: role_arn.clone(),
            },
            tags: Tags::new(),
        },
    )
    .await;
    assert_eq!(err.kind, ErrorKind::AlreadyExists, "{err}");

    let role2_arn = format!("arn:aws:iam::{ACCOUNT}:role/irsa/irsa-demo-ebs-csi-2");
    let messages = run(
        c,
        Step::UpdateAddon {
            settings: Default::default(),
            cluster: "demo".into(),
            name: "aws-ebs-csi-driver".into(),
            identity: AddonIdentity::ServiceAccountRole {
                role_arn: role2_arn.clone(),
            },
        },
    )
    .await;
    assert!(messages.last().unwrap().contains("ACTIVE"), "{messages:?}");
    assert!(
        messages[..messages.len() - 1]
            .iter()
            .all(|m| m.contains("UPDATING")),
        "{messages:?}"
    );
    let snapshot = observe(c, request).await.unwrap();
    let addon = snapshot.addon("aws-ebs-csi-driver").unwrap();
    assert_eq!(
        (
            addon.status.as_str(),
            addon.service_account_role_arn.as_deref()
        ),
        ("ACTIVE", Some(role2_arn.as_str()))
    );
    assert_eq!(
        fake.addon_role_history("demo", "aws-ebs-csi-driver"),
        vec![Some(role_arn.clone()), Some(role2_arn.clone())]
    );

    // An add-on that fails reports its health issues.
    fake.fail_addon(
        "aws-efs-csi-driver",
        "InsufficientNumberOfReplicas",
        "The add-on is unhealthy because it doesn't have the desired number of replicas.",
    );
    let err = run_err(
        c,
        Step::CreateAddon {
            settings: Default::default(),
            cluster: "demo".into(),
            name: "aws-efs-csi-driver".into(),
            identity: AddonIdentity::ServiceAccountRole {
                role_arn: role_arn.clone(),
            },
            tags: Tags::new(),
        },
    )
    .await;
    assert_eq!(
        (err.kind, err.code.as_deref()),
        (ErrorKind::AddonFailed, Some("CREATE_FAILED")),
        "{err}"
    );
    assert!(
        err.message.contains("InsufficientNumberOfReplicas"),
        "{err}"
    );
}

/// Destroy, in the planned order; each delete is harmless when repeated.
async fn destroy_in_planned_order_repeatable(w: &World<'_>) {
    let World {
        c,
        role,
        policy_arn,
        request,
        provider_arn,
        ..
    } = w;
    let role = *role;
    let snapshot = observe(c, request).await.unwrap();
    let non_default: Vec<String> = snapshot
        .policy(policy_arn)
        .unwrap()
        .versions
        .iter()
        .filter(|v| !v.is_default)
        .map(|v| v.id.clone())
        .collect();
    let destroy = vec![
        Step::DeleteAddon {
            cluster: "demo".into(),
            name: "aws-ebs-csi-driver".into(),
        },
        Step::DetachRolePolicy {
            role_name: role.into(),
            policy_arn: policy_arn.clone(),
        },
        Step::DetachRolePolicy {
            role_name: role.into(),
            policy_arn: EBS_MANAGED.into(),
        },
        Step::DeletePolicy {
            policy_arn: policy_arn.clone(),
            non_default_versions: non_default,
        },
        Step::DeleteRole {
            role_name: role.into(),
        },
        Step::DeleteOidcProvider {
            provider_arn: provider_arn.clone(),
        },
    ];
    for step in &destroy {
        run(c, step.clone()).await;
    }
    let snapshot = observe(c, request).await.unwrap();
    assert!(
        snapshot.roles.is_empty()
            && snapshot.policies.is_empty()
            && snapshot.oidc_providers.is_empty(),
        "{snapshot:#?}"
    );
    // DeleteAddon waits until the add-on is gone.
    assert!(snapshot.addons.is_empty(), "{:#?}", snapshot.addons);
    for step in &destroy {
        run(c, step.clone()).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert!(observe(c, request).await.unwrap().addons.is_empty());

    // Steps for other adapters are refused.
    let err = run_err(
        c,
        Step::WriteFile {
            path: "values.yaml".into(),
            contents: String::new(),
        },
    )
    .await;
    assert_eq!(err.kind, ErrorKind::NotAnAwsStep);
}

#[tokio::test]
async fn managed_policies_are_loaded_and_observable() {
    let sandbox = sandbox();
    let snapshot = observe(
        &sandbox.clients,
        &ObserveRequest {
            cluster: "none".into(),
            policy_arns: vec![EBS_MANAGED.into()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let policy = snapshot
        .policy(EBS_MANAGED)
        .expect("MOTO_IAM_LOAD_MANAGED_POLICIES loads AWS managed policies");
    assert_eq!(policy.name, "AmazonEBSCSIDriverPolicy");
    assert!(
        policy.document["Statement"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
    );
}
