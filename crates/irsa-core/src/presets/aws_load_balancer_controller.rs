//! AWS Load Balancer Controller (`kube-system/aws-load-balancer-controller`): provisions
//! Application and Network Load Balancers for Ingresses and Services. Follows the controller's
//! published `docs/install/iam_policy.json` (kubernetes-sigs/aws-load-balancer-controller, the
//! v2 policy with the `elbv2.k8s.aws/cluster` tag): reads are unrestricted, every load balancer,
//! target group and security group it creates must carry the `elbv2.k8s.aws/cluster` tag in the
//! request, and it may modify or delete only resources carrying that tag. The service-linked
//! role it may create is limited to Elastic Load Balancing's. ARNs follow the cluster's partition.

use serde_json::{Value, json};

use super::common::{one_document, partition, reject_unknown_options};
use super::{Install, Preset, PresetError, PresetOption, PresetParams, PresetPolicies, Source};

pub(crate) const NAME: &str = "aws-load-balancer-controller";

const OPTIONS: &[PresetOption] = &[];

pub(crate) const PRESET: Preset = Preset {
    name: NAME,
    summary: "AWS Load Balancer Controller: ALBs/NLBs for Ingress and Service, changes only resources it tagged",
    namespace: "kube-system",
    service_account: "aws-load-balancer-controller",
    source: Source {
        url: "https://github.com/kubernetes-sigs/aws-load-balancer-controller/blob/main/docs/install/iam_policy.json",
        checked: "2026-12-01",
    },
    install: Install::Helm {
        repo: "https://aws.github.io/eks-charts",
        chart: "aws-load-balancer-controller",
    },
    options: OPTIONS,
    render,
    helm_service_account_path: Some("serviceAccount"),
    notes: &[
        "Helm values commonly set: clusterName, region, vpcId, serviceAccount.create=false, \
         serviceAccount.name=aws-load-balancer-controller.",
        "Subnets are found by the tags kubernetes.io/role/elb (public) and kubernetes.io/role/internal-elb (private).",
    ],
    eksctl_well_known: Some("awsLoadBalancerController"),
    example_options: &[],
};

/// The tag the controller puts on everything it creates, and looks for before changing it.
const CLUSTER_TAG: &str = "elbv2.k8s.aws/cluster";

const DESCRIBE_ACTIONS: &[&str] = &[
    "ec2:DescribeAccountAttributes",
    "ec2:DescribeAddresses",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeVpcs",
    "ec2:DescribeVpcPeeringConnections",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeInstances",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeTags",
    "ec2:GetCoipPoolUsage",
    "ec2:DescribeCoipPools",
    "ec2:GetSecurityGroupsForVpc",
    "ec2:DescribeIpamPools",
    "ec2:DescribeRouteTables",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeListenerCertificates",
    "elasticloadbalancing:DescribeSSLPolicies",
    "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTrustStores",
    "elasticloadbalancing:DescribeListenerAttributes",
    "elasticloadbalancing:DescribeCapacityReservation",
];

/// Certificates, user pools, WAF and Shield the Ingress annotations refer to.
const INTEGRATION_ACTIONS: &[&str] = &[
    "cognito-idp:DescribeUserPoolClient",
    "acm:ListCertificates",
    "acm:DescribeCertificate",
    "iam:ListServerCertificates",
    "iam:GetServerCertificate",
    "waf-regional:GetWebACL",
    "waf-regional:GetWebACLForResource",
    "waf-regional:AssociateWebACL",
    "waf-regional:DisassociateWebACL",
    "wafv2:GetWebACL",
    "wafv2:GetWebACLForResource",
    "wafv2:AssociateWebACL",
    "wafv2:DisassociateWebACL",
    "shield:GetSubscriptionState",
    "shield:DescribeProtection",
    "shield:CreateProtection",
    "shield:DeleteProtection",
];

/// Changes to load balancers and target groups the controller tagged.
const MODIFY_TAGGED_ACTIONS: &[&str] = &[
    "elasticloadbalancing:ModifyLoadBalancerAttributes",
    "elasticloadbalancing:SetIpAddressType",
    "elasticloadbalancing:SetSecurityGroups",
    "elasticloadbalancing:SetSubnets",
    "elasticloadbalancing:DeleteLoadBalancer",
    "elasticloadbalancing:ModifyTargetGroup",
    "elasticloadbalancing:ModifyTargetGroupAttributes",
    "elasticloadbalancing:DeleteTargetGroup",
    "elasticloadbalancing:ModifyListenerAttributes",
    "elasticloadbalancing:ModifyCapacityReservation",
    "elasticloadbalancing:ModifyIpPools",
];

const LISTENER_ACTIONS: &[&str] = &[
    "elasticloadbalancing:SetWebAcl",
    "elasticloadbalancing:ModifyListener",
    "elasticloadbalancing:AddListenerCertificates",
    "elasticloadbalancing:RemoveListenerCertificates",
    "elasticloadbalancing:ModifyRule",
    "elasticloadbalancing:SetRulePriorities",
];

fn statement(sid: &str, actions: &[&str], resource: Value, condition: Option<Value>) -> Value {
    let mut s = json!({ "Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resource });
    if let Some(condition) = condition {
        s["Condition"] = condition;
    }
    s
}

fn render(params: &PresetParams) -> Result<PresetPolicies, PresetError> {
    reject_unknown_options(NAME, params, OPTIONS)?;
    let p = partition(params);
    let request_tag = format!("aws:RequestTag/{CLUSTER_TAG}");
    let resource_tag = format!("aws:ResourceTag/{CLUSTER_TAG}");
    let security_groups = json!(format!("arn:{p}:ec2:*:*:security-group/*"));
    let balancers_and_groups = json!([
        format!("arn:{p}:elasticloadbalancing:*:*:targetgroup/*/*"),
        format!("arn:{p}:elasticloadbalancing:*:*:loadbalancer/net/*/*"),
        format!("arn:{p}:elasticloadbalancing:*:*:loadbalancer/app/*/*"),
    ]);
    let tagged_request = json!({ "Null": { &request_tag: "false" } });
    let tagged_resource = json!({ "Null": { &resource_tag: "false" } });
    // Tags may change on a tagged resource only when the request leaves the cluster tag alone.
    let keeps_cluster_tag = json!({ "Null": { &request_tag: "true", &resource_tag: "false" } });
    Ok(one_document(
        NAME,
        vec![
            statement(
                "CreateElbServiceLinkedRole",
                &["iam:CreateServiceLinkedRole"],
                json!("*"),
                Some(json!({
                    "StringEquals": { "iam:AWSServiceName": "elasticloadbalancing.amazonaws.com" }
                })),
            ),
            statement("Describe", DESCRIBE_ACTIONS, json!("*"), None),
            statement(
                "UseCertificatesWafShield",
                INTEGRATION_ACTIONS,
                json!("*"),
                None,
            ),
            statement(
                "EditSecurityGroupIngress",
                &[
                    "ec2:AuthorizeSecurityGroupIngress",
                    "ec2:RevokeSecurityGroupIngress",
                ],
                json!("*"),
                None,
            ),
            statement(
                "CreateSecurityGroups",
                &["ec2:CreateSecurityGroup"],
                json!("*"),
                None,
            ),
            statement(
                "TagNewSecurityGroups",
                &["ec2:CreateTags"],
                security_groups.clone(),
                Some(json!({
                    "StringEquals": { "ec2:CreateAction": "CreateSecurityGroup" },
                    "Null": { &request_tag: "false" },
                })),
            ),
            statement(
                "RetagOwnSecurityGroups",
                &["ec2:CreateTags", "ec2:DeleteTags"],
                security_groups,
                Some(keeps_cluster_tag.clone()),
            ),
            statement(
                "ChangeOwnSecurityGroups",
                &[
                    "ec2:AuthorizeSecurityGroupIngress",
                    "ec2:RevokeSecurityGroupIngress",
                    "ec2:DeleteSecurityGroup",
                ],
                json!("*"),
                Some(tagged_resource.clone()),
            ),
            statement(
                "CreateTaggedLoadBalancers",
                &[
                    "elasticloadbalancing:CreateLoadBalancer",
                    "elasticloadbalancing:CreateTargetGroup",
                ],
                json!("*"),
                Some(tagged_request.clone()),
            ),
            statement(
                "ManageListenersAndRules",
                &[
                    "elasticloadbalancing:CreateListener",
                    "elasticloadbalancing:DeleteListener",
                    "elasticloadbalancing:CreateRule",
                    "elasticloadbalancing:DeleteRule",
                ],
                json!("*"),
                None,
            ),
            statement(
                "RetagOwnLoadBalancers",
                &[
                    "elasticloadbalancing:AddTags",
                    "elasticloadbalancing:RemoveTags",
                ],
                balancers_and_groups.clone(),
                Some(keeps_cluster_tag),
            ),
            statement(
                "TagListenersAndRules",
                &[
                    "elasticloadbalancing:AddTags",
                    "elasticloadbalancing:RemoveTags",
                ],
                json!([
                    format!("arn:{p}:elasticloadbalancing:*:*:listener/net/*/*/*"),
                    format!("arn:{p}:elasticloadbalancing:*:*:listener/app/*/*/*"),
                    format!("arn:{p}:elasticloadbalancing:*:*:listener-rule/net/*/*/*"),
                    format!("arn:{p}:elasticloadbalancing:*:*:listener-rule/app/*/*/*"),
                ]),
                None,
            ),
            statement(
                "ChangeOwnLoadBalancers",
                MODIFY_TAGGED_ACTIONS,
                json!("*"),
                Some(tagged_resource),
            ),
            statement(
                "TagOnCreate",
                &["elasticloadbalancing:AddTags"],
                balancers_and_groups,
                Some(json!({
                    "StringEquals": {
                        "elasticloadbalancing:CreateAction": ["CreateTargetGroup", "CreateLoadBalancer"]
                    },
                    "Null": { &request_tag: "false" },
                })),
            ),
            statement(
                "RegisterTargets",
                &[
                    "elasticloadbalancing:RegisterTargets",
                    "elasticloadbalancing:DeregisterTargets",
                ],
                json!(format!("arn:{p}:elasticloadbalancing:*:*:targetgroup/*/*")),
                None,
            ),
            statement("ConfigureListeners", LISTENER_ACTIONS, json!("*"), None),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{actions, find, params_with, statements};
    use super::*;

    #[test]
    fn follows_the_published_policy_in_the_partition() {
        let mut params = params_with(None, &[]);
        params.partition = Some("aws-cn".into());
        let policies = (PRESET.render)(&params).unwrap();
        assert!(policies.managed_arns.is_empty());
        let stmts = statements(&policies.documents[0].1);
        assert_eq!(stmts.len(), 16);
        assert_eq!(
            find(&stmts, "TagNewSecurityGroups")["Resource"],
            "arn:aws-cn:ec2:*:*:security-group/*"
        );
        assert!(
            actions(find(&stmts, "Describe"))
                .contains(&"elasticloadbalancing:DescribeListenerAttributes".to_string())
        );
        let text = serde_json::to_string(&policies.documents[0].1).unwrap();
        assert!(!text.contains("arn:aws:"), "{text}");
    }

    #[test]
    fn takes_no_options() {
        assert!((PRESET.render)(&params_with(None, &[("clusterName", &["x"])])).is_err());
    }
}
