//! Amazon VPC CNI plugin (`kube-system/aws-node`), installed as the EKS add-on `vpc-cni`, which
//! creates the service account: irsa creates the role only. IPv4 clusters get the AWS managed
//! `AmazonEKS_CNI_Policy`; `ipFamily: ipv6` instead creates the customer-managed IPv6 policy the
//! EKS user guide gives ("Configure the Amazon VPC CNI plugin to use IRSA", IPv6 section): assign
//! IPv6 addresses, describe instances and interfaces, and tag only network interfaces.

use serde_json::json;

use super::common::{choice_option, managed_only, one_document, partition, reject_unknown_options};
use super::{Install, Preset, PresetError, PresetOption, PresetParams, PresetPolicies, Source};

pub(crate) const NAME: &str = "vpc-cni";

const OPTIONS: &[PresetOption] = &[PresetOption {
    name: "ipFamily",
    help: "`ipv4` (default): AWS managed AmazonEKS_CNI_Policy; `ipv6`: customer-managed IPv6 policy \
           from the EKS user guide (for clusters created with ipFamily IPv6)",
}];

pub(crate) const PRESET: Preset = Preset {
    name: NAME,
    summary: "Amazon VPC CNI (aws-node): pod IP addresses on node interfaces; IPv4 managed or IPv6 policy; role only",
    namespace: "kube-system",
    service_account: "aws-node",
    source: Source {
        url: "https://docs.aws.amazon.com/eks/latest/userguide/cni-iam-role.html",
        checked: "2026-12-01",
    },
    install: Install::EksAddon { name: "vpc-cni" },
    options: OPTIONS,
    render,
    helm_service_account_path: Some("serviceAccount"),
    notes: &[
        "The add-on creates kube-system/aws-node; pass the role as serviceAccountRoleArn. Without a role the \
         plugin uses the node's instance role, which then needs AmazonEKS_CNI_Policy.",
        "Managed policy: https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonEKS_CNI_Policy.html",
    ],
    eksctl_well_known: None,
    example_options: &[],
};

const MANAGED_POLICY: &str = "AmazonEKS_CNI_Policy";

fn render(params: &PresetParams) -> Result<PresetPolicies, PresetError> {
    reject_unknown_options(NAME, params, OPTIONS)?;
    let p = partition(params);
    if choice_option(NAME, params, "ipFamily", &["ipv4", "ipv6"], "ipv4")? == "ipv4" {
        return Ok(managed_only(p, &[MANAGED_POLICY]));
    }
    Ok(one_document(
        &format!("{NAME}-ipv6"),
        vec![
            json!({
                "Sid": "AssignIpv6Addresses",
                "Effect": "Allow",
                "Action": [
                    "ec2:AssignIpv6Addresses",
                    "ec2:DescribeInstances",
                    "ec2:DescribeTags",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeInstanceTypes",
                ],
                "Resource": "*",
            }),
            json!({
                "Sid": "TagNetworkInterfaces",
                "Effect": "Allow",
                "Action": ["ec2:CreateTags"],
                "Resource": [format!("arn:{p}:ec2:*:*:network-interface/*")],
            }),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{params_with, sids};
    use super::*;

    #[test]
    fn ipv4_is_the_managed_policy_ipv6_a_document() {
        let v4 = (PRESET.render)(&params_with(None, &[])).unwrap();
        assert_eq!(
            v4.managed_arns,
            ["arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"]
        );
        assert!(v4.documents.is_empty());
        let v6 = (PRESET.render)(&params_with(None, &[("ipFamily", &["ipv6"])])).unwrap();
        assert!(v6.managed_arns.is_empty());
        assert_eq!(v6.documents[0].0, "vpc-cni-ipv6");
        assert_eq!(
            sids(&v6.documents[0].1),
            ["AssignIpv6Addresses", "TagNetworkInterfaces"]
        );
        assert!((PRESET.render)(&params_with(None, &[("ipFamily", &["dual"])])).is_err());
    }
}
