//! Doctor through the layers beyond the role: KMS key policies, S3 bucket policies and SCPs, each
//! case on the healthy world with one layer added, citing the AWS page of its rule.

use super::*;
use crate::resource_layers::{Observed, ResourceFacts, ScpLevel, Scps};

const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const BUCKET: &str = "arn:aws:s3:::demo-backups";

fn rendered(preset: &str, options: &[(&str, &[&str])]) -> serde_json::Value {
    let params = crate::presets::PresetParams {
        cluster: Some("demo".into()),
        options: options
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect(),
        ..Default::default()
    };
    let preset = crate::presets::find(preset).unwrap();
    (preset.render)(&params).unwrap().documents[0].1.clone()
}

/// The healthy world whose EBS role also has the preset's policy for `KEY`.
fn with_key(key_policy: Observed<Option<serde_json::Value>>) -> World {
    let mut world = healthy();
    let arn = format!("arn:aws:iam::{ACCOUNT}:policy/irsa-demo-ebs-kms");
    world
        .snapshot
        .policies
        .push(policy(&arn, rendered("ebs-csi", &[("kmsKeyArns", &[KEY])])));
    role_mut(&mut world, "ebs").attached_policy_arns.push(arn);
    world.resource_layers.resources.insert(
        KEY.into(),
        ResourceFacts {
            policy: key_policy,
            own_account: None,
        },
    );
    world
}

/// The healthy world plus Velero backing up to `BUCKET`, with this bucket policy.
fn with_velero(bucket_policy: Option<serde_json::Value>, own_account: bool) -> World {
    let mut world = healthy();
    let arn = format!("arn:aws:iam::{ACCOUNT}:policy/irsa-demo-velero");
    world.snapshot.policies.push(policy(
        &arn,
        rendered("velero", &[("bucket", &["demo-backups"])]),
    ));
    world
        .snapshot
        .roles
        .push(role("velero", trust("velero", "velero"), &[&arn]));
    world
        .snapshot
        .service_accounts
        .push(service_account("velero", "velero", "velero"));
    world.subjects.push(subject_for("velero", "velero"));
    world.resource_layers.resources.insert(
        BUCKET.into(),
        ResourceFacts {
            policy: Observed::Read(bucket_policy),
            own_account: Some(own_account),
        },
    );
    world
}

fn key_policy(statements: serde_json::Value) -> Observed<Option<serde_json::Value>> {
    Observed::Read(Some(
        json!({"Version": "2012-10-17", "Statement": statements}),
    ))
}

fn root_allows_kms() -> serde_json::Value {
    json!({"Sid": "Enable IAM User Permissions", "Effect": "Allow",
           "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")},
           "Action": "kms:*", "Resource": "*"})
}

// https://docs.aws.amazon.com/kms/latest/developerguide/key-policies-default.html: the default
// key policy allows the account, so the role's IAM policy decides.
#[test]
fn the_default_key_policy_lets_the_roles_policy_decide() {
    let findings = run(&with_key(key_policy(json!([root_allows_kms()]))));
    assert!(findings.is_empty(), "{findings:#?}");
}

// https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html: "Unless the key
// policy explicitly allows it, you cannot use IAM policies to allow access to a KMS key", even in
// the key's own account: the classic "volume stuck attaching".
#[test]
fn a_key_policy_not_admitting_the_role_names_the_key_the_actions_and_the_statement() {
    let admin_only = json!([{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:role/key-admin")},
        "Action": "kms:*", "Resource": "*"}]);
    let findings = run(&with_key(key_policy(admin_only)));
    assert_eq!(rules_of(&findings), ["DOC045"], "{findings:#?}");
    let finding = &findings[0];
    assert_eq!(
        finding.subject.as_deref(),
        Some("kube-system/ebs-csi-controller-sa")
    );
    assert!(finding.message.contains(KEY), "{}", finding.message);
    for action in [
        "kms:CreateGrant",
        "kms:Decrypt",
        "kms:GenerateDataKeyWithoutPlaintext",
        "kms:ReEncryptFrom",
        "kms:DescribeKey",
    ] {
        assert!(
            finding.message.contains(action),
            "{action}: {}",
            finding.message
        );
    }
    let statement = finding
        .evidence
        .iter()
        .find_map(|e| e.strip_prefix("statement to add to the key policy: "))
        .unwrap();
    let statement: serde_json::Value = serde_json::from_str(statement).unwrap();
    assert_eq!(statement["Principal"]["AWS"], role_arn("ebs"));
    assert_eq!(statement["Resource"], json!(["*"]));
    assert!(
        finding
            .fix
            .command
            .as_deref()
            .unwrap()
            .starts_with(&format!(
                "aws kms put-key-policy --key-id {KEY} --policy-name default"
            ))
    );
}

// A key policy statement naming the role allows by itself within the account
// (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html); one limited by
// kms:ViaService to EC2 still admits what EC2 asks on the driver's behalf
// (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service).
#[test]
fn a_key_policy_naming_the_role_through_ec2_admits_it() {
    let via_ec2 = json!([{"Effect": "Allow", "Principal": {"AWS": role_arn("ebs")},
        "Action": ["kms:CreateGrant", "kms:Decrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:DescribeKey"],
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": "ec2.us-east-1.amazonaws.com"}}}]);
    let findings = run(&with_key(key_policy(via_ec2)));
    assert!(findings.is_empty(), "{findings:#?}");
}

// A key policy doctor may not read is said once, never fails doctor, and the role's own policies
// decide meanwhile.
#[test]
fn an_unreadable_key_policy_is_not_checked_once() {
    let mut world = with_key(Observed::NotChecked(
        "AccessDeniedException: not authorized to perform kms:GetKeyPolicy".into(),
    ));
    world.subjects.push(world.subjects[2].clone());
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC047"], "{findings:#?}");
    assert!(!findings[0].is_failure());
    assert!(
        findings[0]
            .message
            .starts_with(&format!("key policy of `{KEY}` not checked: AccessDenied"))
    );
}

// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html:
// an explicit Deny in any policy, the bucket policy included, wins over every Allow.
#[test]
fn a_bucket_policy_deny_wins_and_names_its_statement() {
    let deny = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "NoDeletes", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject",
         "Resource": format!("{BUCKET}/*")}]});
    let findings = run(&with_velero(Some(deny), true));
    assert_eq!(rules_of(&findings), ["DOC045"], "{findings:#?}");
    let finding = &findings[0];
    assert!(
        finding
            .message
            .starts_with("the bucket policy of `demo-backups` explicitly denies s3:DeleteObject"),
        "{}",
        finding.message
    );
    assert!(
        finding
            .evidence
            .iter()
            .any(|e| e.contains("Statement[0] (Sid \"NoDeletes\")"))
    );
}

// https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html: the usual
// Deny of aws:SecureTransport=false does not touch the SDKs, which use TLS.
#[test]
fn denying_plain_http_does_not_deny_the_workload() {
    let tls_only = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [BUCKET, format!("{BUCKET}/*")],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]});
    let findings = run(&with_velero(Some(tls_only), true));
    assert!(findings.is_empty(), "{findings:#?}");
}

// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html:
// Deny with NotPrincipal denies everyone not listed.
#[test]
fn a_deny_not_principal_listing_another_role_denies_this_one() {
    let others = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "NotPrincipal": {"AWS": role_arn("backup-admin")}, "Action": "s3:*",
         "Resource": [BUCKET, format!("{BUCKET}/*")]}]});
    let findings = run(&with_velero(Some(others), true));
    assert!(!findings.is_empty());
    assert!(findings.iter().all(|f| f.rule == "DOC045"), "{findings:#?}");
    assert!(findings.iter().any(|f| f.message.contains("s3:ListBucket")));
}

// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html:
// across accounts the bucket policy must allow the role too.
#[test]
fn a_bucket_in_another_account_must_allow_the_role() {
    let findings = run(&with_velero(None, false));
    // No bucket policy and another account: decided by the role's side, the bucket cannot be
    // judged (nothing to read): only what was read is decided.
    assert!(findings.is_empty(), "{findings:#?}");
    let someone_else = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
         "Action": "s3:*", "Resource": [BUCKET, format!("{BUCKET}/*")]}]});
    let findings = run(&with_velero(Some(someone_else), false));
    assert!(!findings.is_empty());
    assert!(findings.iter().all(|f| f.rule == "DOC045"), "{findings:#?}");
    assert!(
        findings[0].message.contains("in another account"),
        "{}",
        findings[0].message
    );
    let admits = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": role_arn("velero")},
         "Action": "s3:*", "Resource": [BUCKET, format!("{BUCKET}/*")]}]});
    assert!(run(&with_velero(Some(admits), false)).is_empty());
}

fn scp(statements: serde_json::Value) -> (String, serde_json::Value) {
    (
        "guardrails".into(),
        json!({"Version": "2012-10-17", "Statement": statements}),
    )
}

fn full_access() -> (String, serde_json::Value) {
    (
        "FullAWSAccess".into(),
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
    )
}

fn with_scps(levels: Vec<ScpLevel>) -> World {
    let mut world = healthy();
    world.resource_layers.scps = Some(Scps::Levels(levels));
    world
}

fn level(target: &str, policies: Vec<(String, serde_json::Value)>) -> ScpLevel {
    ScpLevel {
        target: target.into(),
        policies,
    }
}

// https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html:
// a Deny at any level denies; every level from the root to the account must allow.
#[test]
fn an_scp_deny_names_its_level_and_target() {
    let deny_attach =
        scp(json!([{"Effect": "Deny", "Action": "ec2:AttachVolume", "Resource": "*"}]));
    let world = with_scps(vec![
        level("r-ab12", vec![full_access()]),
        level("ou-ab12-11111111", vec![full_access(), deny_attach]),
        level(ACCOUNT, vec![full_access()]),
    ]);
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC046"], "{findings:#?}");
    assert!(
        findings[0].message.contains("ou-ab12-11111111 (level 1"),
        "{}",
        findings[0].message
    );
    assert!(
        findings[0]
            .message
            .contains("explicitly deny ec2:AttachVolume")
    );
    assert!(
        findings[0]
            .evidence
            .iter()
            .any(|e| e == "SCPs on ou-ab12-11111111: FullAWSAccess, guardrails")
    );
}

#[test]
fn an_scp_level_without_an_allow_denies_implicitly() {
    let ec2_only = scp(json!([{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]));
    let world = with_scps(vec![
        level("r-ab12", vec![full_access()]),
        level(ACCOUNT, vec![ec2_only]),
    ]);
    let findings = run(&world);
    assert!(!findings.is_empty());
    assert!(findings.iter().all(|f| f.rule == "DOC046"), "{findings:#?}");
    assert!(
        findings
            .iter()
            .any(|f| f.message.contains("do not allow autoscaling:"))
    );
    assert!(findings.iter().all(|f| !f.message.contains("ec2:")));
}

// SCPs do not restrict the management account
// (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html), and
// an account in no organization has none
// (https://docs.aws.amazon.com/organizations/latest/APIReference/API_DescribeOrganization.html:
// AWSOrganizationsNotInUseException).
#[test]
fn the_management_account_and_an_account_outside_organizations_have_no_scp_layer() {
    for scps in [Scps::ManagementAccount, Scps::NoOrganization] {
        let mut world = healthy();
        world.resource_layers.scps = Some(scps);
        assert!(run(&world).is_empty());
    }
}

#[test]
fn scps_not_readable_are_said_once_and_do_not_fail() {
    let mut world = healthy();
    world.resource_layers.scps = Some(Scps::NotChecked(
        "organizations:ListParents 123456789012: AccessDeniedException: not allowed".into(),
    ));
    let findings = run(&world);
    assert_eq!(rules_of(&findings), ["DOC047"], "{findings:#?}");
    assert_eq!(
        findings[0].message,
        "SCP layer not checked: organizations:ListParents 123456789012: AccessDeniedException: not allowed"
    );
    assert!(findings[0].subject.is_none());
    assert!(!findings.iter().any(Finding::is_failure));
}
