//! Amazon FSx for Lustre CSI driver controller (`kube-system/fsx-csi-controller-sa`): creates,
//! updates and deletes FSx for Lustre file systems for dynamically provisioned volumes, and the
//! service-linked roles FSx needs. By default the role gets the customer-managed policy published
//! in the driver's install guide (kubernetes-sigs/aws-fsx-csi-driver, `docs/install.md`), whose
//! service-linked-role statements are limited to FSx's own roles; `policy: managed` attaches the
//! AWS managed `AmazonFSxFullAccess` instead, as the guide's eksctl example does.

use serde_json::json;

use super::common::{choice_option, managed_only, one_document, partition, reject_unknown_options};
use super::{Install, Preset, PresetError, PresetOption, PresetParams, PresetPolicies, Source};

pub(crate) const NAME: &str = "fsx-lustre-csi";

const OPTIONS: &[PresetOption] = &[PresetOption {
    name: "policy",
    help: "`custom` (default): the driver's published least-privilege policy; `managed`: AWS managed AmazonFSxFullAccess",
}];

pub(crate) const PRESET: Preset = Preset {
    name: NAME,
    summary: "Amazon FSx for Lustre CSI driver controller: create/delete file systems for volumes",
    namespace: "kube-system",
    service_account: "fsx-csi-controller-sa",
    source: Source {
        url: "https://github.com/kubernetes-sigs/aws-fsx-csi-driver/blob/master/docs/install.md",
        checked: "2026-12-01",
    },
    install: Install::Helm {
        repo: "https://kubernetes-sigs.github.io/aws-fsx-csi-driver",
        chart: "aws-fsx-csi-driver",
    },
    options: OPTIONS,
    render,
    helm_service_account_path: Some("controller.serviceAccount"),
    notes: &[
        "Statically provisioned volumes (an existing file system) need no controller permissions.",
    ],
    eksctl_well_known: None,
    example_options: &[],
};

fn render(params: &PresetParams) -> Result<PresetPolicies, PresetError> {
    reject_unknown_options(NAME, params, OPTIONS)?;
    let p = partition(params);
    if choice_option(NAME, params, "policy", &["custom", "managed"], "custom")? == "managed" {
        return Ok(managed_only(p, &["AmazonFSxFullAccess"]));
    }
    Ok(one_document(
        NAME,
        vec![
            json!({
                "Sid": "S3DataRepositoryServiceLinkedRole",
                "Effect": "Allow",
                "Action": ["iam:CreateServiceLinkedRole", "iam:AttachRolePolicy", "iam:PutRolePolicy"],
                "Resource": format!("arn:{p}:iam::*:role/aws-service-role/s3.data-source.lustre.fsx.amazonaws.com/*"),
            }),
            json!({
                "Sid": "FsxServiceLinkedRole",
                "Effect": "Allow",
                "Action": "iam:CreateServiceLinkedRole",
                "Resource": "*",
                "Condition": { "StringLike": { "iam:AWSServiceName": ["fsx.amazonaws.com"] } },
            }),
            json!({
                "Sid": "ManageFileSystems",
                "Effect": "Allow",
                "Action": [
                    "s3:ListBucket",
                    "fsx:CreateFileSystem",
                    "fsx:DeleteFileSystem",
                    "fsx:DescribeFileSystems",
                    "fsx:TagResource",
                    "fsx:UpdateFileSystem",
                ],
                "Resource": ["*"],
            }),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{params_with, sids};
    use super::*;

    #[test]
    fn custom_by_default_managed_on_request() {
        let custom = (PRESET.render)(&params_with(None, &[])).unwrap();
        assert_eq!(
            sids(&custom.documents[0].1),
            [
                "S3DataRepositoryServiceLinkedRole",
                "FsxServiceLinkedRole",
                "ManageFileSystems"
            ]
        );
        let managed = (PRESET.render)(&params_with(None, &[("policy", &["managed"])])).unwrap();
        assert_eq!(
            managed.managed_arns,
            ["arn:aws:iam::aws:policy/AmazonFSxFullAccess"]
        );
        assert!(managed.documents.is_empty());
    }
}
