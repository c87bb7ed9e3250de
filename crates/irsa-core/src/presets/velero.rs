//! Velero (`velero/velero`) backing up to S3 with velero-plugin-for-aws: writes, reads and
//! deletes backup objects in one bucket, lists that bucket, and takes, reads and deletes EBS
//! snapshots of the volumes it backs up. Follows the IAM policy in the plugin's README
//! (vmware-tanzu/velero-plugin-for-aws). The bucket is required: a backup role on every bucket is
//! not a default. `prefix` narrows the objects to the backup storage location's prefix;
//! `snapshots: false` leaves out the EC2 snapshot statement for file-system (Kopia) or CSI
//! snapshot backups.

use serde_json::json;

use super::common::{
    bool_option, bucket_arn, bucket_names, objects_arn, one_document, partition,
    reject_unknown_options, required_list_option,
};
use super::{Install, Preset, PresetError, PresetOption, PresetParams, PresetPolicies, Source};

pub(crate) const NAME: &str = "velero";

const OPTIONS: &[PresetOption] = &[
    PresetOption {
        name: "bucket",
        help: "name of the S3 bucket of the backup storage location (required)",
    },
    PresetOption {
        name: "prefix",
        help: "key prefix of the backup storage location inside the bucket; objects are limited to <bucket>/<prefix>/*",
    },
    PresetOption {
        name: "snapshots",
        help: "`true` (default): allow EBS volume snapshots (volume snapshot location aws); `false`: S3 only",
    },
];

pub(crate) const PRESET: Preset = Preset {
    name: NAME,
    summary: "Velero with the AWS plugin: backups in one S3 bucket, EBS snapshots",
    namespace: "velero",
    service_account: "velero",
    source: Source {
        url: "https://github.com/vmware-tanzu/velero-plugin-for-aws/blob/main/README.md",
        checked: "2026-12-01",
    },
    install: Install::Helm {
        repo: "https://vmware-tanzu.github.io/helm-charts",
        chart: "velero",
    },
    options: OPTIONS,
    render,
    helm_service_account_path: Some("serviceAccount.server"),
    notes: &[
        "Helm values commonly set: configuration.backupStorageLocation[0].bucket and .config.region, \
         configuration.volumeSnapshotLocation[0].config.region, credentials.useSecret=false.",
    ],
    eksctl_well_known: None,
    example_options: &[("bucket", &["demo-backups"])],
};

const SNAPSHOT_ACTIONS: &[&str] = &[
    "ec2:DescribeVolumes",
    "ec2:DescribeSnapshots",
    "ec2:CreateTags",
    "ec2:CreateVolume",
    "ec2:CreateSnapshot",
    "ec2:DeleteSnapshot",
];

const OBJECT_ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:DeleteObject",
    "s3:PutObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
];

fn render(params: &PresetParams) -> Result<PresetPolicies, PresetError> {
    reject_unknown_options(NAME, params, OPTIONS)?;
    let names = required_list_option(
        NAME,
        params,
        "bucket",
        "Velero's objects are limited to the bucket of its backup storage location",
    )?;
    let [bucket] = bucket_names(NAME, "bucket", names)?
        .try_into()
        .map_err(|_| PresetError::BadOption {
            preset: NAME,
            option: "bucket".to_string(),
            message: "expects one bucket; give each backup storage location's role its own binding"
                .to_string(),
        })?;
    let prefix = prefix_option(params)?;
    let p = partition(params);
    let mut statements = Vec::new();
    if bool_option(NAME, params, "snapshots", true)? {
        statements.push(json!({
            "Sid": "ManageVolumeSnapshots",
            "Effect": "Allow",
            "Action": SNAPSHOT_ACTIONS,
            "Resource": "*",
        }));
    }
    statements.push(json!({
        "Sid": "ReadWriteBackups",
        "Effect": "Allow",
        "Action": OBJECT_ACTIONS,
        "Resource": [objects_arn(p, &bucket, prefix.as_deref())],
    }));
    statements.push(json!({
        "Sid": "ListBackupBucket",
        "Effect": "Allow",
        "Action": ["s3:ListBucket"],
        "Resource": [bucket_arn(p, &bucket)],
    }));
    Ok(one_document(NAME, statements))
}

/// The key prefix without surrounding slashes; wildcards are refused (they would widen the scope).
fn prefix_option(params: &PresetParams) -> Result<Option<String>, PresetError> {
    let Some(values) = params.options.get("prefix") else {
        return Ok(None);
    };
    let prefix = match values.as_slice() {
        [one] => one.trim().trim_matches('/'),
        _ => "",
    };
    if prefix.is_empty() || prefix.contains(['*', '?']) {
        return Err(PresetError::BadOption {
            preset: NAME,
            option: "prefix".to_string(),
            message: "expects one key prefix without wildcards, e.g. `cluster-a`".to_string(),
        });
    }
    Ok(Some(prefix.to_string()))
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{find, params_with, sids, statements};
    use super::*;

    #[test]
    fn bucket_prefix_and_snapshots() {
        let policies = (PRESET.render)(&params_with(
            None,
            &[("bucket", &["backups"]), ("prefix", &["/demo/"])],
        ))
        .unwrap();
        let stmts = statements(&policies.documents[0].1);
        assert_eq!(
            find(&stmts, "ReadWriteBackups")["Resource"],
            json!(["arn:aws:s3:::backups/demo/*"])
        );
        assert_eq!(
            find(&stmts, "ListBackupBucket")["Resource"],
            json!(["arn:aws:s3:::backups"])
        );
        let s3_only = (PRESET.render)(&params_with(
            None,
            &[("bucket", &["backups"]), ("snapshots", &["false"])],
        ))
        .unwrap();
        assert_eq!(
            sids(&s3_only.documents[0].1),
            ["ReadWriteBackups", "ListBackupBucket"]
        );
    }

    #[test]
    fn refuses_to_render_without_one_plain_bucket() {
        assert!(matches!(
            (PRESET.render)(&params_with(None, &[])),
            Err(PresetError::Missing { what: "bucket", .. })
        ));
        for bad in [&["*"][..], &["arn:aws:s3:::b"], &["a", "b-c"], &["Upper"]] {
            assert!(
                (PRESET.render)(&params_with(None, &[("bucket", bad)])).is_err(),
                "{bad:?}"
            );
        }
        assert!(
            (PRESET.render)(&params_with(
                None,
                &[("bucket", &["backups"]), ("prefix", &["*"])]
            ))
            .is_err()
        );
    }
}
