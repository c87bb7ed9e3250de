//! Amazon EFS CSI driver controller (`kube-system/efs-csi-controller-sa`): describes file systems,
//! mount targets and availability zones, and creates/deletes the access points it tags
//! `efs.csi.aws.com/cluster`. By default the role gets the AWS managed
//! `service-role/AmazonEFSCSIDriverPolicy`; `policy: custom` instead creates a customer-managed
//! document following the driver's published example policy
//! (kubernetes-sigs/aws-efs-csi-driver, `docs/iam-policy-example.json`), which matches the tag
//! with `StringLike` and does not restrict the other tag keys, so custom access-point tags
//! (`controller.tags`) work. Installed as the EKS add-on `aws-efs-csi-driver`; the driver's Helm
//! chart works too when pointed at the service account irsa creates.

use serde_json::json;

use super::common::{
    choice_option, document, managed_policy_arn, partition, reject_unknown_options,
};
use super::{Install, Preset, PresetError, PresetOption, PresetParams, PresetPolicies, Source};

pub(crate) const NAME: &str = "efs-csi";

const OPTIONS: &[PresetOption] = &[PresetOption {
    name: "policy",
    help: "`managed` (default): attach the AWS managed AmazonEFSCSIDriverPolicy; `custom`: create a \
           customer-managed policy following the driver's example policy (allows custom access-point tags)",
}];

const POLICY_CHOICES: &[&str] = &["managed", "custom"];

pub(crate) const PRESET: Preset = Preset {
    name: NAME,
    summary: "Amazon EFS CSI driver controller: describe file systems, manage its tagged access points",
    namespace: "kube-system",
    service_account: "efs-csi-controller-sa",
    source: Source {
        url: "https://github.com/kubernetes-sigs/aws-efs-csi-driver/blob/master/docs/iam-policy-example.json",
        checked: "2026-11-29",
    },
    install: Install::EksAddon {
        name: "aws-efs-csi-driver",
    },
    options: OPTIONS,
    render,
    helm_service_account_path: Some("controller.serviceAccount"),
    notes: &[
        "Alternative install: Helm chart aws-efs-csi-driver from https://kubernetes-sigs.github.io/aws-efs-csi-driver \
         with controller.serviceAccount.create=false and controller.serviceAccount.name=efs-csi-controller-sa.",
        "The managed policy only allows the efs.csi.aws.com/cluster tag key on new access points; use \
         `policy: custom` when the driver is configured with extra tags.",
    ],
    eksctl_well_known: Some("efsCSIController"),
    example_options: &[],
};

/// Path and name of the AWS managed policy under `arn:<partition>:iam::aws:policy/`.
const MANAGED_POLICY: &str = "service-role/AmazonEFSCSIDriverPolicy";

const CLUSTER_TAG_REQUEST: &str = "aws:RequestTag/efs.csi.aws.com/cluster";
const CLUSTER_TAG_RESOURCE: &str = "aws:ResourceTag/efs.csi.aws.com/cluster";

fn render(params: &PresetParams) -> Result<PresetPolicies, PresetError> {
    reject_unknown_options(NAME, params, OPTIONS)?;
    let policy = choice_option(NAME, params, "policy", POLICY_CHOICES, "managed")?;
    if policy == "managed" {
        return Ok(PresetPolicies {
            managed_arns: vec![managed_policy_arn(partition(params), MANAGED_POLICY)],
            documents: Vec::new(),
        });
    }
    let doc = document(vec![
        json!({
            "Sid": "DescribeFileSystems",
            "Effect": "Allow",
            "Action": [
                "elasticfilesystem:DescribeAccessPoints",
                "elasticfilesystem:DescribeFileSystems",
                "elasticfilesystem:DescribeMountTargets",
                "ec2:DescribeAvailabilityZones",
            ],
            "Resource": "*",
        }),
        json!({
            "Sid": "CreateTaggedAccessPoints",
            "Effect": "Allow",
            "Action": ["elasticfilesystem:CreateAccessPoint"],
            "Resource": "*",
            "Condition": { "StringLike": { CLUSTER_TAG_REQUEST: "true" } },
        }),
        json!({
            // EFS authorizes tags given on create with TagResource as well (since 2023).
            "Sid": "TagDriverResources",
            "Effect": "Allow",
            "Action": ["elasticfilesystem:TagResource"],
            "Resource": "*",
            "Condition": { "StringLike": { CLUSTER_TAG_RESOURCE: "true" } },
        }),
        json!({
            "Sid": "DeleteDriverAccessPoints",
            "Effect": "Allow",
            "Action": ["elasticfilesystem:DeleteAccessPoint"],
            "Resource": "*",
            "Condition": { "StringEquals": { CLUSTER_TAG_RESOURCE: "true" } },
        }),
    ]);
    Ok(PresetPolicies {
        managed_arns: Vec::new(),
        documents: vec![(NAME.to_string(), doc)],
    })
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{actions, find, params_with, sids, statements};
    use super::*;

    #[test]
    fn default_is_the_managed_policy_in_the_partition() {
        let policies = (PRESET.render)(&params_with(None, &[])).unwrap();
        assert_eq!(
            policies.managed_arns,
            ["arn:aws:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy"]
        );
        assert!(policies.documents.is_empty());

        let mut gov = params_with(None, &[("policy", &["managed"])]);
        gov.partition = Some("aws-us-gov".into());
        let policies = (PRESET.render)(&gov).unwrap();
        assert_eq!(
            policies.managed_arns,
            ["arn:aws-us-gov:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy"]
        );
    }

    #[test]
    fn custom_follows_the_example_policy() {
        let policies = (PRESET.render)(&params_with(None, &[("policy", &["custom"])])).unwrap();
        assert!(policies.managed_arns.is_empty());
        let (suffix, doc) = &policies.documents[0];
        assert_eq!(suffix, "efs-csi");
        assert_eq!(
            sids(doc),
            [
                "DescribeFileSystems",
                "CreateTaggedAccessPoints",
                "TagDriverResources",
                "DeleteDriverAccessPoints"
            ]
        );
        let stmts = statements(doc);
        let describe = find(&stmts, "DescribeFileSystems");
        assert!(actions(describe).contains(&"elasticfilesystem:DescribeMountTargets".to_string()));
        assert!(actions(describe).contains(&"ec2:DescribeAvailabilityZones".to_string()));
        assert_eq!(describe["Resource"], "*");

        let create = find(&stmts, "CreateTaggedAccessPoints");
        assert_eq!(actions(create), ["elasticfilesystem:CreateAccessPoint"]);
        assert_eq!(
            create["Condition"]["StringLike"]["aws:RequestTag/efs.csi.aws.com/cluster"],
            "true"
        );
        assert!(
            create["Condition"]
                .get("ForAllValues:StringEquals")
                .is_none(),
            "custom tags allowed"
        );

        let delete = find(&stmts, "DeleteDriverAccessPoints");
        assert_eq!(actions(delete), ["elasticfilesystem:DeleteAccessPoint"]);
        assert_eq!(
            delete["Condition"]["StringEquals"]["aws:ResourceTag/efs.csi.aws.com/cluster"],
            "true"
        );

        let tag = find(&stmts, "TagDriverResources");
        assert_eq!(actions(tag), ["elasticfilesystem:TagResource"]);
        assert_eq!(
            tag["Condition"]["StringLike"]["aws:ResourceTag/efs.csi.aws.com/cluster"],
            "true"
        );
    }

    #[test]
    fn rejects_bad_policy_value_and_unknown_options() {
        let err = (PRESET.render)(&params_with(None, &[("policy", &["v2"])])).unwrap_err();
        assert!(
            matches!(&err, PresetError::BadOption { preset: "efs-csi", option, message }
                if option == "policy" && message.contains("managed, custom")),
            "{err:?}"
        );
        let err = (PRESET.render)(&params_with(None, &[("kmsKeyArns", &["x"])])).unwrap_err();
        assert!(
            matches!(&err, PresetError::BadOption { option, message, .. }
                if option == "kmsKeyArns" && message.contains("valid options: policy")),
            "{err:?}"
        );
    }

    #[test]
    fn installs_as_addon() {
        assert_eq!(
            PRESET.install,
            Install::EksAddon {
                name: "aws-efs-csi-driver"
            }
        );
    }
}
