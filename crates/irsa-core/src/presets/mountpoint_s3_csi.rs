//! Mountpoint for Amazon S3 CSI driver (`kube-system/s3-csi-driver-sa`), installed as the EKS
//! add-on `aws-mountpoint-s3-csi-driver`, which creates the service account: irsa creates the
//! role only. Mounts S3 buckets as volumes: lists the buckets and reads, writes and deletes their
//! objects. Follows the IAM policy in the EKS user guide ("Mountpoint for Amazon S3 CSI driver",
//! create an IAM policy), scoped to the buckets in `bucketNames` (required: a mount role on every
//! bucket is not a default). `readOnly: true` drops the write and delete actions for read-only
//! mounts.

use serde_json::json;

use super::common::{
    bool_option, bucket_arn, bucket_names, objects_arn, one_document, partition,
    reject_unknown_options, required_list_option,
};
use super::{Install, Preset, PresetError, PresetOption, PresetParams, PresetPolicies, Source};

pub(crate) const NAME: &str = "mountpoint-s3-csi";

const OPTIONS: &[PresetOption] = &[
    PresetOption {
        name: "bucketNames",
        help: "list of S3 bucket names the driver mounts (required)",
    },
    PresetOption {
        name: "readOnly",
        help: "`true`: read and list only (read-only mounts); `false` (default): also write and delete objects",
    },
];

pub(crate) const PRESET: Preset = Preset {
    name: NAME,
    summary: "Mountpoint for Amazon S3 CSI driver: mount the given buckets; role only",
    namespace: "kube-system",
    service_account: "s3-csi-driver-sa",
    source: Source {
        url: "https://docs.aws.amazon.com/eks/latest/userguide/s3-csi-create.html",
        checked: "2026-12-01",
    },
    install: Install::EksAddon {
        name: "aws-mountpoint-s3-csi-driver",
    },
    options: OPTIONS,
    render,
    helm_service_account_path: Some("node.serviceAccount"),
    notes: &[
        "The add-on creates kube-system/s3-csi-driver-sa; pass the role as serviceAccountRoleArn.",
        "Alternative install: Helm chart aws-mountpoint-s3-csi-driver from \
         https://awslabs.github.io/mountpoint-s3-csi-driver (node.serviceAccount).",
    ],
    eksctl_well_known: None,
    example_options: &[("bucketNames", &["demo-data"])],
};

const READ_ACTIONS: &[&str] = &["s3:GetObject"];
const WRITE_ACTIONS: &[&str] = &["s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"];

fn render(params: &PresetParams) -> Result<PresetPolicies, PresetError> {
    reject_unknown_options(NAME, params, OPTIONS)?;
    let names = required_list_option(
        NAME,
        params,
        "bucketNames",
        "the driver's access is limited to the buckets it mounts",
    )?;
    let buckets = bucket_names(NAME, "bucketNames", names)?;
    let read_only = bool_option(NAME, params, "readOnly", false)?;
    let p = partition(params);
    let mut object_actions = READ_ACTIONS.to_vec();
    if !read_only {
        object_actions.extend_from_slice(WRITE_ACTIONS);
    }
    Ok(one_document(
        NAME,
        vec![
            json!({
                "Sid": "MountpointListBuckets",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": buckets.iter().map(|b| bucket_arn(p, b)).collect::<Vec<_>>(),
            }),
            json!({
                "Sid": "MountpointObjectAccess",
                "Effect": "Allow",
                "Action": object_actions,
                "Resource": buckets.iter().map(|b| objects_arn(p, b, None)).collect::<Vec<_>>(),
            }),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{actions, find, params_with, statements};
    use super::*;

    #[test]
    fn scoped_to_the_buckets_and_read_only() {
        let policies =
            (PRESET.render)(&params_with(None, &[("bucketNames", &["a-1", "b.2"])])).unwrap();
        let stmts = statements(&policies.documents[0].1);
        assert_eq!(
            find(&stmts, "MountpointListBuckets")["Resource"],
            json!(["arn:aws:s3:::a-1", "arn:aws:s3:::b.2"])
        );
        assert_eq!(actions(find(&stmts, "MountpointObjectAccess")).len(), 4);
        let read_only = (PRESET.render)(&params_with(
            None,
            &[("bucketNames", &["a-1"]), ("readOnly", &["true"])],
        ))
        .unwrap();
        let stmts = statements(&read_only.documents[0].1);
        assert_eq!(
            actions(find(&stmts, "MountpointObjectAccess")),
            ["s3:GetObject"]
        );
        assert!(matches!(
            (PRESET.render)(&params_with(None, &[])),
            Err(PresetError::Missing {
                what: "bucketNames",
                ..
            })
        ));
        assert!((PRESET.render)(&params_with(None, &[("bucketNames", &["*"])])).is_err());
    }
}
