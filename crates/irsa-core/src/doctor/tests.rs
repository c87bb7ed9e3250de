//! Doctor on a healthy chain (nothing found) and on each broken link, one at a time: the first
//! finding names that link.

use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::desired;
use crate::render::ROLE_ARN_ANNOTATION;
use crate::snapshot::{Addon, Cluster, ManagedPolicy, OidcProvider, Role, ServiceAccount};

const ACCOUNT: &str = "123456789012";
const ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123456789";
const PROVIDER: &str =
    "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123456789";
const S3_READ: &str = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess";
const EBS_POLICY: &str = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy";
const ASG_ARN: &str = "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:6d3a1c2e-0000-4000-8000-000000000000:autoScalingGroupName/ng-1";

struct World {
    snapshot: Snapshot,
    subjects: Vec<Subject>,
    inline: BTreeMap<String, Vec<(String, serde_json::Value)>>,
    workloads: BTreeMap<(String, String), Vec<WorkloadFacts>>,
    groups: Vec<AutoScalingGroup>,
    controllers: BTreeMap<(String, String), String>,
    thumbprint: Thumbprint,
    pod_identity: PodIdentityFacts,
    resource_layers: ResourceLayers,
    adopt: bool,
}

fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

fn trust(namespace: &str, name: &str) -> serde_json::Value {
    desired::trust_policy("aws", ACCOUNT, ISSUER, namespace, name, "sts.amazonaws.com").unwrap()
}

/// The app's exact trust with only the condition key ending in `suffix` (`:sub` or `:aud`).
fn trust_keeping(suffix: &str) -> serde_json::Value {
    let mut t = trust("shop", "app");
    t["Statement"][0]["Condition"]["StringEquals"]
        .as_object_mut()
        .unwrap()
        .retain(|k, _| k.ends_with(suffix));
    t
}

fn role(name: &str, trust_policy: serde_json::Value, attached: &[&str]) -> Role {
    Role {
        name: name.into(),
        arn: role_arn(name),
        path: "/".into(),
        trust_policy,
        tags: desired::ownership_tags("demo"),
        attached_policy_arns: attached.iter().map(|s| s.to_string()).collect(),
        ..Role::default()
    }
}

fn service_account(namespace: &str, name: &str, role: &str) -> ServiceAccount {
    ServiceAccount {
        namespace: namespace.into(),
        name: name.into(),
        annotations: [(ROLE_ARN_ANNOTATION.to_string(), role_arn(role))].into(),
        ..ServiceAccount::default()
    }
}

fn policy(arn: &str, document: serde_json::Value) -> ManagedPolicy {
    ManagedPolicy {
        name: arn.rsplit('/').next().unwrap().into(),
        arn: arn.into(),
        document,
        ..ManagedPolicy::default()
    }
}

fn autoscaler_policy() -> serde_json::Value {
    let preset = crate::presets::find("cluster-autoscaler").unwrap();
    let params = crate::presets::PresetParams {
        cluster: Some("demo".into()),
        ..Default::default()
    };
    (preset.render)(&params).unwrap().documents[0].1.clone()
}

/// The EBS CSI driver's volume statements, enough for the requirements.
fn ebs_policy() -> serde_json::Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ec2:DescribeVolumes", "ec2:AttachVolume"], "Resource": "*"},
        {"Effect": "Allow", "Action": "ec2:CreateVolume", "Resource": "arn:aws:ec2:*:*:volume/*",
         "Condition": {"StringLike": {"aws:RequestTag/ebs.csi.aws.com/cluster": "true"}}},
        {"Effect": "Allow", "Action": "ec2:DeleteVolume", "Resource": "*",
         "Condition": {"StringLike": {"ec2:ResourceTag/ebs.csi.aws.com/cluster": "true"}}},
        {"Effect": "Allow", "Action": "ec2:DeleteVolume", "Resource": "*",
         "Condition": {"StringLike": {"aws:ResourceTag/ebs.csi.aws.com/cluster": "true"}}}
    ]})
}

/// A healthy cluster: an app, the autoscaler (with a discoverable group) and the EBS add-on.
fn healthy() -> World {
    let autoscaler_policy_arn = format!("arn:aws:iam::{ACCOUNT}:policy/irsa-demo-autoscaler");
    let snapshot = Snapshot {
        account: ACCOUNT.into(),
        partition: "aws".into(),
        region: "us-east-1".into(),
        cluster: Some(Cluster {
            name: "demo".into(),
            issuer_url: Some(ISSUER.into()),
            status: "ACTIVE".into(),
            ..Cluster::default()
        }),
        oidc_providers: vec![OidcProvider {
            arn: PROVIDER.into(),
            url: "oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123456789".into(),
            client_ids: vec!["sts.amazonaws.com".into()],
            thumbprints: vec!["9e99a48a9960b14926bb7f3b02e22da2b0ab7280".into()],
            ..OidcProvider::default()
        }],
        roles: vec![
            role("app", trust("shop", "app"), &[S3_READ]),
            role(
                "autoscaler",
                trust("kube-system", "cluster-autoscaler"),
                &[&autoscaler_policy_arn],
            ),
            role(
                "ebs",
                trust("kube-system", "ebs-csi-controller-sa"),
                &[EBS_POLICY],
            ),
        ],
        policies: vec![
            policy(
                S3_READ,
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}]}),
            ),
            policy(&autoscaler_policy_arn, autoscaler_policy()),
            policy(EBS_POLICY, ebs_policy()),
        ],
        addons: vec![Addon {
            configuration_values: None,
            name: "aws-ebs-csi-driver".into(),
            status: "ACTIVE".into(),
            service_account_role_arn: Some(role_arn("ebs")),
            ..Addon::default()
        }],
        service_accounts: vec![
            service_account("shop", "app", "app"),
            service_account("kube-system", "cluster-autoscaler", "autoscaler"),
            service_account("kube-system", "ebs-csi-controller-sa", "ebs"),
        ],
        ..Snapshot::default()
    };
    let subjects = vec![
        subject_for("shop", "app"),
        subject_for("kube-system", "cluster-autoscaler"),
        subject_for("kube-system", "ebs-csi-controller-sa"),
    ];
    let workloads = [(
        ("shop".to_string(), "app".to_string()),
        vec![WorkloadFacts {
            kind: "Deployment".into(),
            name: "app".into(),
            pods: 2,
            ..WorkloadFacts::default()
        }],
    )]
    .into();
    let groups = vec![AutoScalingGroup {
        name: "ng-1".into(),
        arn: ASG_ARN.into(),
        tags: [
            (
                "k8s.io/cluster-autoscaler/enabled".to_string(),
                "true".to_string(),
            ),
            (
                "k8s.io/cluster-autoscaler/demo".to_string(),
                "owned".to_string(),
            ),
        ]
        .into(),
    }];
    let controllers = [(
        ("kube-system".to_string(), "ebs-csi-controller".to_string()),
        "ebs-csi-controller-sa".to_string(),
    )]
    .into();
    World {
        snapshot,
        subjects,
        inline: BTreeMap::new(),
        workloads,
        groups,
        controllers,
        thumbprint: Thumbprint::NotChecked("issuer not reachable".into()),
        pod_identity: PodIdentityFacts::default(),
        resource_layers: ResourceLayers::default(),
        adopt: false,
    }
}

fn run(world: &World) -> Vec<Finding> {
    diagnose(&DoctorInput {
        snapshot: &world.snapshot,
        cluster: "demo",
        subjects: &world.subjects,
        inline_policies: &world.inline,
        workloads: &world.workloads,
        auto_scaling_groups: Some(&world.groups),
        controllers: &world.controllers,
        thumbprint: &world.thumbprint,
        pod_identity: &world.pod_identity,
        resource_layers: &world.resource_layers,
        adopt: world.adopt,
    })
}

fn rules_of(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.rule).collect()
}

fn role_mut<'a>(world: &'a mut World, name: &str) -> &'a mut Role {
    world
        .snapshot
        .roles
        .iter_mut()
        .find(|r| r.name == name)
        .unwrap()
}

fn sa_mut<'a>(world: &'a mut World, name: &str) -> &'a mut ServiceAccount {
    world
        .snapshot
        .service_accounts
        .iter_mut()
        .find(|s| s.name == name)
        .unwrap()
}

#[test]
fn a_healthy_chain_raises_nothing() {
    let findings = run(&healthy());
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn the_subjects_presets_are_recognised_by_their_well_known_names() {
    let autoscaler = subject_for("kube-system", "cluster-autoscaler");
    assert_eq!(autoscaler.preset.as_deref(), Some("cluster-autoscaler"));
    assert_eq!(autoscaler.addon, None);
    let ebs = subject_for("kube-system", "ebs-csi-controller-sa");
    assert_eq!(ebs.addon.as_deref(), Some("aws-ebs-csi-driver"));
    assert_eq!(
        ebs.controller,
        Some(("kube-system".into(), "ebs-csi-controller".into()))
    );
    assert_eq!(subject_for("shop", "app").preset, None);
}

#[test]
fn missing_provider_is_the_root_cause_and_fix_creates_it() {
    let mut world = healthy();
    // A provider for the same cluster id under another spelling does not count.
    world.snapshot.oidc_providers[0].url =
        "oidc.eks.us-east-1.amazonaws.com/id/abcdef0123456789".into();
    let findings = run(&world);
    assert_eq!(findings[0].rule, "DOC010", "{findings:#?}");
    assert!(
        findings[0]
            .evidence
            .iter()
            .any(|e| e.contains("same cluster id, different URL"))
    );
    match &findings[0].fix.action {
        Some(FixAction::Step {
            step: Step::CreateOidcProvider {
                url, client_ids, ..
            },
        }) => {
            assert_eq!(url, ISSUER);
            assert_eq!(client_ids, &["sts.amazonaws.com".to_string()]);
        }
        other => panic!("{other:?}"),
    }
    // Trust still evaluates against the expected provider ARN: nothing else is broken.
    assert_eq!(rules_of(&findings), ["DOC010"]);
}

#[test]
fn provider_without_the_audience_as_client_id() {
    let mut world = healthy();
    world.snapshot.oidc_providers[0].client_ids = vec!["other".into()];
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC011"]);
    assert!(matches!(
        &findings[0].fix.action,
        Some(FixAction::Step { step: Step::AddOidcClientId { client_id, .. } }) if client_id == "sts.amazonaws.com"
    ));
}

#[test]
fn thumbprint_mismatch_is_low_and_not_a_failure() {
    let mut world = healthy();
    world.thumbprint = Thumbprint::Expected("06b25927c42a721631c1efd9431e648fa62e1e39".into());
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC012"]);
    assert!(!findings[0].is_failure());
}

#[test]
fn service_account_missing_or_unannotated_or_malformed() {
    let mut world = healthy();
    world.snapshot.service_accounts.retain(|s| s.name != "app");
    assert_eq!(rules_of(&run(&world)), ["DOC020"]);

    let mut world = healthy();
    sa_mut(&mut world, "app").annotations.clear();
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC021"]);
    assert!(
        findings[0]
            .fix
            .command
            .as_deref()
            .unwrap()
            .starts_with("kubectl annotate serviceaccount app -n shop")
    );

    let mut world = healthy();
    sa_mut(&mut world, "app")
        .annotations
        .insert(ROLE_ARN_ANNOTATION.into(), "app-role".into());
    assert_eq!(rules_of(&run(&world)), ["DOC022"]);

    let mut world = healthy();
    sa_mut(&mut world, "app").annotations.insert(
        ROLE_ARN_ANNOTATION.into(),
        "arn:aws:iam::999999999999:role/app".into(),
    );
    assert_eq!(rules_of(&run(&world)), ["DOC023"]);
}

#[test]
fn spec_role_differs_from_annotation_and_fix_annotates() {
    let mut world = healthy();
    world.subjects[0].expected_role_arn = Some(role_arn("app-v2"));
    let findings = run(&world);
    assert_eq!(findings[0].rule, "DOC024");
    assert!(matches!(
        &findings[0].fix.action,
        Some(FixAction::Step { step: Step::ApplyServiceAccount { annotations, create: false, .. } })
            if annotations[0].1.as_deref() == Some(role_arn("app-v2").as_str())
    ));
}

#[test]
fn role_missing() {
    let mut world = healthy();
    world.snapshot.roles.retain(|r| r.name != "app");
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC030"]);
    assert!(findings[0].message.contains("does not exist"));
}

#[test]
fn trust_naming_another_clusters_provider() {
    let mut world = healthy();
    let other = "https://oidc.eks.us-east-1.amazonaws.com/id/OTHERCLUSTER";
    role_mut(&mut world, "app").trust_policy =
        desired::trust_policy("aws", ACCOUNT, other, "shop", "app", "sts.amazonaws.com").unwrap();
    let findings = run(&world);
    assert_eq!(findings[0].rule, "DOC031");
    assert!(
        findings[0].message.contains("id/OTHERCLUSTER"),
        "{}",
        findings[0].message
    );
    assert!(findings[0].message.contains(PROVIDER));
}

#[test]
fn trust_with_another_action() {
    let mut world = healthy();
    let mut t = trust("shop", "app");
    t["Statement"][0]["Action"] = json!("sts:AssumeRole");
    role_mut(&mut world, "app").trust_policy = t;
    assert_eq!(rules_of(&run(&world)), ["DOC032"]);
}

#[test]
fn trust_for_another_namespace_names_the_subject_and_fix_replaces_an_owned_trust() {
    let mut world = healthy();
    role_mut(&mut world, "app").trust_policy = trust("other", "app");
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC033"]);
    assert!(
        findings[0]
            .message
            .contains("system:serviceaccount:other:app")
    );
    assert!(
        findings[0]
            .message
            .contains("system:serviceaccount:shop:app")
    );
    match &findings[0].fix.action {
        Some(FixAction::Step {
            step: Step::UpdateTrustPolicy { trust_policy, .. },
        }) => {
            assert_eq!(trust_policy, &trust("shop", "app"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn foreign_role_gets_no_automatic_trust_fix_unless_adopted_and_then_keeps_its_statements() {
    let mut world = healthy();
    let role = role_mut(&mut world, "app");
    role.tags.clear();
    role.trust_policy = trust("other", "app");
    let findings = run(&world);
    assert_eq!(findings[0].rule, "DOC033");
    assert!(findings[0].fix.action.is_none());
    assert!(
        findings[0]
            .fix
            .command
            .as_deref()
            .unwrap()
            .starts_with("aws iam update-assume-role-policy --role-name app")
    );

    world.adopt = true;
    let findings = run(&world);
    match &findings[0].fix.action {
        Some(FixAction::Step {
            step: Step::UpdateTrustPolicy { trust_policy, .. },
        }) => {
            let statements = trust_policy["Statement"].as_array().unwrap();
            assert_eq!(statements.len(), 2);
            assert_eq!(statements[0], trust("other", "app")["Statement"][0]);
            assert_eq!(statements[1], trust("shop", "app")["Statement"][0]);
        }
        other => panic!("{other:?}"),
    }
}

/// "`*` inside StringEquals" — StringEquals compares exactly; only the StringLike family treats
/// `*` and `?` as wildcards (IAM JSON policy elements: Condition operators, "String condition
/// operators", docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).
#[test]
fn string_equals_with_a_wildcard_subject_is_called_out() {
    let mut world = healthy();
    let mut t = trust("shop", "app");
    t["Statement"][0]["Condition"]["StringEquals"]["oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123456789:sub"] =
        json!("system:serviceaccount:shop:*");
    role_mut(&mut world, "app").trust_policy = t;
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC034"]);
    assert!(findings[0].message.contains("StringLike"));
}

#[test]
fn trust_for_another_audience() {
    let mut world = healthy();
    role_mut(&mut world, "app").trust_policy =
        desired::trust_policy("aws", ACCOUNT, ISSUER, "shop", "app", "vault").unwrap();
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC035"]);
}

#[test]
fn explicit_deny_in_trust() {
    let mut world = healthy();
    let mut t = trust("shop", "app");
    t["Statement"].as_array_mut().unwrap().push(json!({
        "Effect": "Deny", "Principal": {"Federated": PROVIDER},
        "Action": "sts:AssumeRoleWithWebIdentity"
    }));
    role_mut(&mut world, "app").trust_policy = t;
    assert_eq!(rules_of(&run(&world)), ["DOC036"]);
}

#[test]
fn trust_without_sub_lets_every_service_account_in() {
    let mut world = healthy();
    role_mut(&mut world, "app").trust_policy = trust_keeping(":aud");
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC037"]);
    assert!(
        findings[0].fix.action.is_some(),
        "owned role: replaced by the exact trust"
    );
}

#[test]
fn trust_without_aud_is_medium() {
    let mut world = healthy();
    role_mut(&mut world, "app").trust_policy = trust_keeping(":sub");
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC039"]);
    assert_eq!(findings[0].severity, Severity::Medium);
}

#[test]
fn trust_near_and_over_the_size_quota() {
    let mut world = healthy();
    let mut t = trust("shop", "app");
    let statements = t["Statement"].as_array_mut().unwrap();
    for i in 0..12 {
        let mut s =
            trust("team", &format!("service-account-with-a-long-name-{i}"))["Statement"][0].clone();
        s["Sid"] = json!(format!("S{i}"));
        statements.push(s);
    }
    role_mut(&mut world, "app").trust_policy = t;
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC038"]);
    assert_eq!(
        findings[0].severity,
        Severity::High,
        "{}",
        findings[0].message
    );
}

#[test]
fn role_without_policies() {
    let mut world = healthy();
    role_mut(&mut world, "app").attached_policy_arns.clear();
    assert_eq!(rules_of(&run(&world)), ["DOC040"]);
}

#[test]
fn autoscaler_policy_not_allowing_this_clusters_groups() {
    let mut world = healthy();
    // The policy of another cluster: scaling is limited to groups tagged for `prod`.
    let prod = {
        let preset = crate::presets::find("cluster-autoscaler").unwrap();
        let params = crate::presets::PresetParams {
            cluster: Some("prod".into()),
            ..Default::default()
        };
        (preset.render)(&params).unwrap().documents[0].1.clone()
    };
    world.snapshot.policies[1].document = prod;
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC041", "DOC041"]);
    assert!(
        findings[0]
            .message
            .contains("autoscaling:SetDesiredCapacity")
            || findings[1]
                .message
                .contains("autoscaling:SetDesiredCapacity")
    );
    assert!(
        findings[0].evidence[0].contains("aws:ResourceTag/k8s.io/cluster-autoscaler/demo=owned")
    );
}

#[test]
fn autoscaler_groups_without_discovery_tags() {
    let mut world = healthy();
    world.groups[0]
        .tags
        .remove("k8s.io/cluster-autoscaler/demo");
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC043"]);
    assert!(findings[0].evidence[0].contains("ng-1: [k8s.io/cluster-autoscaler/enabled]"));
}

#[test]
fn permissions_boundary_capping_a_required_action() {
    let mut world = healthy();
    let boundary = format!("arn:aws:iam::{ACCOUNT}:policy/boundary");
    world.snapshot.policies.push(policy(
        &boundary,
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]}),
    ));
    role_mut(&mut world, "ebs").permissions_boundary = Some(boundary);
    let findings = run(&world);
    assert!(!findings.is_empty());
    assert!(findings.iter().all(|f| f.rule == "DOC042"), "{findings:#?}");
    assert!(
        findings
            .iter()
            .any(|f| f.message.contains("ec2:CreateVolume"))
    );
}

#[test]
fn unreadable_policy_is_reported_not_ignored() {
    let mut world = healthy();
    world.snapshot.policies.retain(|p| p.arn != S3_READ);
    assert_eq!(rules_of(&run(&world)), ["DOC044"]);
}

// IAM refuses a permissions policy that names a principal ("Has prohibited field Principal",
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html):
// doctor reports the document as invalid, with the place, instead of evaluating it without its
// Deny.
#[test]
fn a_principal_in_a_permissions_policy_is_an_invalid_document() {
    let mut world = healthy();
    let document = world
        .snapshot
        .policies
        .iter_mut()
        .find(|p| p.arn == S3_READ)
        .unwrap();
    document.document = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}
    ]});
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC044"]);
    assert!(
        findings[0].message.contains("Statement[1].Principal"),
        "{}",
        findings[0].message
    );
}

#[test]
fn stale_pods_need_a_restart_and_fix_restarts_their_deployment() {
    let mut world = healthy();
    world
        .workloads
        .get_mut(&("shop".into(), "app".into()))
        .unwrap()[0]
        .pods_without_credentials = 1;
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC050"]);
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
fn addon_missing_failed_or_with_another_role() {
    let mut world = healthy();
    world.snapshot.addons.clear();
    assert_eq!(rules_of(&run(&world)), ["DOC060"]);

    let mut world = healthy();
    world.snapshot.addons[0].status = "DEGRADED".into();
    assert_eq!(rules_of(&run(&world)), ["DOC061"]);

    let mut world = healthy();
    world.snapshot.addons[0].service_account_role_arn = None;
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC062"]);
    assert!(matches!(
        &findings[0].fix.action,
        Some(FixAction::Step { step: Step::UpdateAddon { identity: crate::steps::AddonIdentity::ServiceAccountRole { role_arn: arn }, .. } }) if *arn == role_arn("ebs")
    ));
}

#[test]
fn controller_running_as_another_service_account() {
    let mut world = healthy();
    world.controllers.insert(
        ("kube-system".into(), "ebs-csi-controller".into()),
        "default".into(),
    );
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC063"]);
}

#[test]
fn cluster_without_issuer_stops_the_identity_links() {
    let mut world = healthy();
    world.snapshot.cluster.as_mut().unwrap().issuer_url = None;
    let findings = run(&world);
    assert_eq!(findings[0].rule, "DOC001");
    assert!(!rules_of(&findings).contains(&"DOC010"));
}

#[test]
fn findings_come_root_cause_first() {
    let mut world = healthy();
    world.snapshot.oidc_providers.clear();
    world
        .workloads
        .get_mut(&("shop".into(), "app".into()))
        .unwrap()[0]
        .pods_without_credentials = 2;
    role_mut(&mut world, "app").attached_policy_arns.clear();
    sa_mut(&mut world, "ebs-csi-controller-sa")
        .annotations
        .clear();
    let rules = rules_of(&run(&world));
    let mut sorted = rules.clone();
    sorted.sort();
    assert_eq!(rules, sorted);
    assert_eq!(rules.first(), Some(&"DOC010"));
    assert!(rules.contains(&"DOC021") && rules.contains(&"DOC040") && rules.contains(&"DOC050"));
}

mod pod_identity;

mod resource_layers;
/// Finding the role of a service account that lost its annotation.
mod trusting_roles;
