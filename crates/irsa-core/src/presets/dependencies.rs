//! The resources a preset's workload depends on that carry a resource-based policy of their own,
//! and the requests the workload makes on them: the customer managed KMS keys the EBS CSI driver
//! encrypts volumes with (its `kmsKeyArns`), the S3 buckets of Velero (`bucket`) and of the
//! Mountpoint for Amazon S3 CSI driver (`bucketNames`). Doctor sees the role, not always the spec,
//! so the resources are read back from policy documents shaped as the presets render them (the
//! live role's, and the spec binding's when there is a spec): the literal key ARNs of statements
//! allowing `kms:CreateGrant`, the buckets of statements allowing `s3:ListBucket` on
//! `arn:<partition>:s3:::<bucket>`, and the object pattern allowed `s3:GetObject` in each.
//!
//! Sources for the requests: EBS encrypts a volume with a customer key by calling KMS through EC2
//! with the caller's credentials (`kms:ViaService` = `ec2.<region>.amazonaws.com`): CreateGrant
//! (for an AWS resource), Decrypt, GenerateDataKeyWithoutPlaintext, ReEncrypt and DescribeKey
//! (<https://docs.aws.amazon.com/kms/latest/developerguide/services-ebs.html>,
//! <https://docs.aws.amazon.com/eks/latest/userguide/csi-iam-role.html>); Velero's object and
//! listing calls (velero-plugin-for-aws README); Mountpoint's listing and reads (every rendering
//! allows them; writes depend on `readOnly`, which the role alone does not tell).

use iam_policy::document::{Effect, PolicyDocument};

use super::requirements::{Requirement, RequirementParams};
use super::{ebs_csi, mountpoint_s3_csi, velero};

/// The object key the bucket requirements use: a request ARN is literal text, never a pattern.
const SAMPLE_OBJECT: &str = "irsa-doctor-sample-object";

/// What a workload depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dependencies {
    /// KMS key ARNs (`arn:…:kms:<region>:<account>:key/<id>`).
    pub kms_keys: Vec<String>,
    pub buckets: Vec<Bucket>,
}

/// An S3 bucket the workload lists and reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// `arn:<partition>:s3:::<name>`: the resource that holds the bucket policy.
    pub arn: String,
    /// One object the workload reads, under the prefix the policy allows.
    pub sample_object: String,
}

impl Dependencies {
    pub fn is_empty(&self) -> bool {
        self.kms_keys.is_empty() && self.buckets.is_empty()
    }

    /// Adds what `other` names and this does not.
    pub fn merge(&mut self, other: Dependencies) {
        for key in other.kms_keys {
            if !self.kms_keys.contains(&key) {
                self.kms_keys.push(key);
            }
        }
        for bucket in other.buckets {
            if !self.buckets.iter().any(|b| b.arn == bucket.arn) {
                self.buckets.push(bucket);
            }
        }
    }

    /// Every resource whose resource-based policy matters: the keys, then the buckets.
    pub fn resources(&self) -> impl Iterator<Item = &str> {
        self.kms_keys
            .iter()
            .map(String::as_str)
            .chain(self.buckets.iter().map(|b| b.arn.as_str()))
    }
}

/// The dependencies of `preset`'s workload named in `documents` (unparsable ones name nothing).
pub fn dependencies(preset: &str, documents: &[&serde_json::Value]) -> Dependencies {
    let parsed: Vec<PolicyDocument> = documents
        .iter()
        .filter_map(|d| PolicyDocument::from_value(d).ok())
        .collect();
    match preset {
        ebs_csi::NAME => Dependencies {
            kms_keys: allowed_resources(&parsed, "kms:CreateGrant")
                .filter(|arn| is_key_arn(arn))
                .collect(),
            buckets: Vec::new(),
        },
        velero::NAME | mountpoint_s3_csi::NAME => Dependencies {
            kms_keys: Vec::new(),
            buckets: buckets(&parsed),
        },
        _ => Dependencies::default(),
    }
}

/// The requests the workload of `preset` makes on its dependencies.
pub fn requirements(
    preset: &str,
    dependencies: &Dependencies,
    p: &RequirementParams<'_>,
) -> Vec<Requirement> {
    let mut out = Vec::new();
    for key in &dependencies.kms_keys {
        out.extend(key_requirements(key, p));
    }
    let object_actions: &[(&str, &str)] = match preset {
        velero::NAME => &[
            ("s3:PutObject", "write a backup"),
            ("s3:GetObject", "read a backup to restore it"),
            ("s3:DeleteObject", "delete an expired backup"),
        ],
        _ => &[("s3:GetObject", "read a mounted file")],
    };
    for bucket in &dependencies.buckets {
        out.push(
            Requirement::new("s3:ListBucket", bucket.arn.clone(), "list the bucket")
                .with("aws:SecureTransport", "true"),
        );
        for (action, purpose) in object_actions {
            out.push(
                Requirement::new(action, bucket.sample_object.clone(), purpose)
                    .with("aws:SecureTransport", "true"),
            );
        }
    }
    out
}

/// What EC2 asks KMS for, on the driver's behalf, to create, attach and read an encrypted volume.
fn key_requirements(key: &str, p: &RequirementParams<'_>) -> Vec<Requirement> {
    let via = format!("ec2.{}.amazonaws.com", p.region);
    let request = |action: &str, purpose: &str| {
        Requirement::new(action, key, purpose)
            .with("kms:ViaService", &via)
            .with("kms:CallerAccount", p.account)
            .with("aws:SecureTransport", "true")
    };
    vec![
        request("kms:CreateGrant", "let EC2 use the key for a volume")
            .with("kms:GrantIsForAWSResource", "true"),
        request("kms:Decrypt", "attach an encrypted volume"),
        request(
            "kms:GenerateDataKeyWithoutPlaintext",
            "create an encrypted volume",
        ),
        request("kms:ReEncryptFrom", "re-encrypt a volume's data key"),
        request("kms:ReEncryptTo", "re-encrypt a volume's data key"),
        request("kms:DescribeKey", "check the key of a volume"),
    ]
}

/// The literal (wildcard-free) resources of the Allow statements covering `action`.
fn allowed_resources<'a>(
    documents: &'a [PolicyDocument],
    action: &'a str,
) -> impl Iterator<Item = String> + 'a {
    documents
        .iter()
        .flat_map(|d| &d.statements)
        .filter(move |s| s.effect == Effect::Allow && s.action.covers(action))
        .filter_map(|s| s.resource.as_ref().filter(|r| !r.negated))
        .flat_map(|r| &r.patterns)
        .map(|p| p.text.clone())
        .filter(|text| !text.contains(['*', '?', '$']))
}

fn is_key_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(parts[..], ["arn", _, "kms", _, _, resource] if resource.starts_with("key/"))
}

/// `arn:<partition>:s3:::<bucket>`, without an object key.
fn is_bucket_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(parts[..], ["arn", _, "s3", "", "", name] if !name.is_empty() && !name.contains('/'))
}

/// The buckets allowed `s3:ListBucket`, each with an object under the pattern allowed
/// `s3:GetObject` in it (the bucket's root when none is).
fn buckets(documents: &[PolicyDocument]) -> Vec<Bucket> {
    let object_patterns: Vec<String> = documents
        .iter()
        .flat_map(|d| &d.statements)
        .filter(|s| s.effect == Effect::Allow && s.action.covers("s3:GetObject"))
        .filter_map(|s| s.resource.as_ref().filter(|r| !r.negated))
        .flat_map(|r| &r.patterns)
        .map(|p| p.text.clone())
        .collect();
    let mut out: Vec<Bucket> = Vec::new();
    for arn in allowed_resources(documents, "s3:ListBucket") {
        if !is_bucket_arn(&arn) || out.iter().any(|b| b.arn == arn) {
            continue;
        }
        let sample_object = object_patterns
            .iter()
            .find_map(|pattern| {
                let under = pattern.strip_prefix(&arn)?.strip_prefix('/')?;
                let prefix = under.strip_suffix('*')?;
                (!prefix.contains(['*', '?'])).then(|| format!("{arn}/{prefix}{SAMPLE_OBJECT}"))
            })
            .unwrap_or_else(|| format!("{arn}/{SAMPLE_OBJECT}"));
        out.push(Bucket { arn, sample_object });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::{PresetParams, find};

    const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    fn rendered(preset: &str, options: &[(&str, &[&str])]) -> Vec<serde_json::Value> {
        let params = PresetParams {
            cluster: Some("demo".into()),
            options: options
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
                .collect(),
            ..Default::default()
        };
        let preset = find(preset).unwrap();
        (preset.render)(&params)
            .unwrap()
            .documents
            .into_iter()
            .map(|(_, d)| d)
            .collect()
    }

    fn deps(preset: &str, options: &[(&str, &[&str])]) -> Dependencies {
        let documents = rendered(preset, options);
        dependencies(preset, &documents.iter().collect::<Vec<_>>())
    }

    #[test]
    fn ebs_keys_come_back_from_the_rendered_policy() {
        assert_eq!(deps("ebs-csi", &[("kmsKeyArns", &[KEY])]).kms_keys, [KEY]);
        assert!(deps("ebs-csi", &[]).is_empty());
    }

    #[test]
    fn buckets_come_back_with_an_object_under_the_allowed_prefix() {
        let velero = deps(
            "velero",
            &[("bucket", &["backups"]), ("prefix", &["team-a"])],
        );
        assert_eq!(
            velero.buckets,
            [Bucket {
                arn: "arn:aws:s3:::backups".into(),
                sample_object: format!("arn:aws:s3:::backups/team-a/{SAMPLE_OBJECT}"),
            }]
        );
        let mountpoint = deps(
            "mountpoint-s3-csi",
            &[("bucketNames", &["a-data", "b-data"])],
        );
        let arns: Vec<&str> = mountpoint.resources().collect();
        assert_eq!(arns, ["arn:aws:s3:::a-data", "arn:aws:s3:::b-data"]);
    }

    // Wildcards name no particular resource: nothing to read.
    #[test]
    fn wildcard_resources_name_no_dependency() {
        let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "kms:*", "Resource": "*"},
            {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::logs-*"}
        ]});
        assert!(dependencies("ebs-csi", &[&doc]).is_empty());
        assert!(dependencies("velero", &[&doc]).is_empty());
    }

    #[test]
    fn key_requests_carry_what_ec2_sends_kms() {
        let p = RequirementParams {
            partition: "aws",
            region: "us-east-1",
            account: "123456789012",
            cluster: "demo",
            auto_scaling_groups: None,
        };
        let deps = Dependencies {
            kms_keys: vec![KEY.into()],
            buckets: Vec::new(),
        };
        let out = requirements("ebs-csi", &deps, &p);
        let grant = out.iter().find(|r| r.action == "kms:CreateGrant").unwrap();
        assert!(
            grant
                .context
                .contains(&("kms:GrantIsForAWSResource".into(), "true".into()))
        );
        assert!(grant.context.contains(&(
            "kms:ViaService".into(),
            "ec2.us-east-1.amazonaws.com".into()
        )));
        assert_eq!(out.len(), 6);
    }
}
