//! Karpenter controller (`kube-system/karpenter`): launches and terminates EC2 instances for
//! pending pods, manages its launch templates and the instance profiles of its node role.
//! Follows the `KarpenterControllerPolicy` of Karpenter's getting-started CloudFormation template
//! (aws/karpenter-provider-aws, `website/content/en/preview/getting-started/
//! getting-started-with-karpenter/cloudformation.yaml`): every launch, tag and deletion is scoped
//! to this cluster's `kubernetes.io/cluster/<cluster>=owned` tag and a `karpenter.sh/nodepool`
//! (or `karpenter.sh/nodeclass`) tag, reads are limited to the cluster's region, `iam:PassRole`
//! to the node role, and `eks:DescribeCluster` to this cluster. So rendering needs the cluster
//! name, region and account. The interruption-queue statement is written only when
//! `interruptionQueueArn` names the queue (Karpenter's `settings.interruptionQueue`).

use serde_json::{Value, json};

use super::common::{
    SQS_QUEUE, one_document, partition, reject_unknown_options, required_cluster,
    required_region_and_account, single_resource_arn,
};
use super::{Install, Preset, PresetError, PresetOption, PresetParams, PresetPolicies, Source};

pub(crate) const NAME: &str = "karpenter";

const OPTIONS: &[PresetOption] = &[
    PresetOption {
        name: "interruptionQueueArn",
        help: "ARN of the SQS queue Karpenter reads spot-interruption and health events from (its \
               settings.interruptionQueue); adds receive/delete on exactly that queue. Default: no queue access",
    },
    PresetOption {
        name: "interruptionQueueName",
        help: "name of that queue in the cluster's region and account (eksctl's \
               `karpenter.withSpotInterruptionQueue` creates one named after the cluster); \
               the same as interruptionQueueArn with the ARN built for you",
    },
    PresetOption {
        name: "nodeRoleName",
        help: "name of the IAM role of the nodes Karpenter launches, which it passes to EC2; \
               default KarpenterNodeRole-<cluster> (the getting-started template's name)",
    },
];

pub(crate) const PRESET: Preset = Preset {
    name: NAME,
    summary: "Karpenter controller: launch/terminate this cluster's tagged nodes, pass its node role",
    namespace: "kube-system",
    service_account: "karpenter",
    source: Source {
        url: "https://github.com/aws/karpenter-provider-aws/blob/main/website/content/en/preview/getting-started/getting-started-with-karpenter/cloudformation.yaml",
        checked: "2026-12-01",
    },
    install: Install::Helm {
        repo: "oci://public.ecr.aws/karpenter",
        chart: "karpenter",
    },
    options: OPTIONS,
    render,
    helm_service_account_path: Some("serviceAccount"),
    notes: &[
        "Helm values commonly set: settings.clusterName, settings.interruptionQueue (when a queue is used), \
         serviceAccount.create=false, serviceAccount.name=karpenter.",
        "The node role (KarpenterNodeRole-<cluster>) and the interruption queue with its EventBridge rules \
         are not created by irsa; the getting-started CloudFormation template creates them.",
        "Some installs use the `karpenter` namespace: set serviceAccount: karpenter/karpenter in the binding.",
    ],
    eksctl_well_known: None,
    example_options: &[],
};

const WHY_SCOPED: &str = "Karpenter's launches, deletions, node-role pass and cluster lookup are \
                          scoped to this cluster's tags, region and account; without them the policy \
                          would be written on every cluster (irsa will not)";

const REGIONAL_READS: &[&str] = &[
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeImages",
    "ec2:DescribeInstances",
    "ec2:DescribeInstanceTypeOfferings",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplates",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSpotPriceHistory",
    "ec2:DescribeSubnets",
];

/// Where Karpenter runs, for the ARNs and tag keys of its statements.
struct Scope<'a> {
    partition: &'a str,
    region: &'a str,
    account: &'a str,
    cluster: &'a str,
}

impl Scope<'_> {
    /// `arn:<partition>:ec2:<region>:*:<kind>/*` (or without account for images and snapshots).
    fn ec2(&self, kind: &str) -> String {
        let account = if matches!(kind, "image" | "snapshot") {
            ""
        } else {
            "*"
        };
        format!(
            "arn:{}:ec2:{}:{account}:{kind}/*",
            self.partition, self.region
        )
    }

    fn ec2_all(&self, kinds: &[&str]) -> Value {
        json!(kinds.iter().map(|k| self.ec2(k)).collect::<Vec<_>>())
    }

    fn owned_key(&self, tag_kind: &str) -> String {
        format!("aws:{tag_kind}/kubernetes.io/cluster/{}", self.cluster)
    }
}

fn render(params: &PresetParams) -> Result<PresetPolicies, PresetError> {
    reject_unknown_options(NAME, params, OPTIONS)?;
    let cluster = required_cluster(NAME, params, WHY_SCOPED)?;
    let (region, account) = required_region_and_account(NAME, params, WHY_SCOPED)?;
    let scope = Scope {
        partition: partition(params),
        region,
        account,
        cluster,
    };
    let queue = interruption_queue(params, &scope)?;
    let node_role = node_role_name(params, cluster)?;
    let mut statements = instance_statements(&scope);
    statements.extend(read_statements(&scope));
    if let Some(queue) = queue {
        statements.push(json!({
            "Sid": "AllowInterruptionQueueActions",
            "Effect": "Allow",
            "Action": ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
            "Resource": queue,
        }));
    }
    statements.extend(iam_statements(&scope, &node_role));
    statements.push(json!({
        "Sid": "AllowAPIServerEndpointDiscovery",
        "Effect": "Allow",
        "Action": "eks:DescribeCluster",
        "Resource": format!("arn:{}:eks:{region}:{account}:cluster/{cluster}", scope.partition),
    }));
    Ok(one_document(NAME, statements))
}

/// The interruption queue's ARN: `interruptionQueueArn`, or `interruptionQueueName` in this
/// cluster's region and account (not both).
fn interruption_queue(params: &PresetParams, scope: &Scope) -> Result<Option<String>, PresetError> {
    let arn = single_resource_arn(NAME, params, "interruptionQueueArn", &SQS_QUEUE)?;
    let Some(names) = params.options.get("interruptionQueueName") else {
        return Ok(arn);
    };
    let bad = |message: String| PresetError::BadOption {
        preset: NAME,
        option: "interruptionQueueName".to_string(),
        message,
    };
    if arn.is_some() {
        return Err(bad(
            "give interruptionQueueArn or interruptionQueueName, not both".to_string(),
        ));
    }
    let [name] = names.as_slice() else {
        return Err(bad(format!("expects one queue name, got {}", names.len())));
    };
    // SQS queue names: 1-80 letters, digits, `-` and `_` (`.fifo` for FIFO queues).
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    if base.is_empty()
        || name.len() > 80
        || !base
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    {
        return Err(bad(format!(
            "\"{name}\" is not an SQS queue name: 1 to 80 letters, digits, `-` and `_`"
        )));
    }
    Ok(Some(format!(
        "arn:{}:sqs:{}:{}:{name}",
        scope.partition, scope.region, scope.account
    )))
}

/// The node role's name: the option, or the getting-started template's `KarpenterNodeRole-<cluster>`.
fn node_role_name(params: &PresetParams, cluster: &str) -> Result<String, PresetError> {
    let Some(values) = params.options.get("nodeRoleName") else {
        return Ok(format!("KarpenterNodeRole-{cluster}"));
    };
    let name = match values.as_slice() {
        [one] => one.trim(),
        _ => "",
    };
    if crate::spec::rules::role_name(name).is_err() {
        return Err(PresetError::BadOption {
            preset: NAME,
            option: "nodeRoleName".to_string(),
            message: format!(
                "`{name}` is not one IAM role name (1-64 letters, digits and +=,.@_-; the name, not the ARN)"
            ),
        });
    }
    Ok(name.to_string())
}

fn instance_statements(s: &Scope<'_>) -> Vec<Value> {
    let created = [
        "fleet",
        "instance",
        "volume",
        "network-interface",
        "launch-template",
    ];
    let owned_request = s.owned_key("RequestTag");
    let owned_resource = s.owned_key("ResourceTag");
    vec![
        json!({
            "Sid": "AllowScopedEC2InstanceActions",
            "Effect": "Allow",
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
            "Resource": s.ec2_all(&["image", "snapshot", "spot-instances-request", "security-group", "subnet", "launch-template"]),
        }),
        json!({
            "Sid": "AllowScopedEC2InstanceActionsWithTags",
            "Effect": "Allow",
            "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
            "Resource": s.ec2_all(&created),
            "Condition": {
                "StringEquals": { &owned_request: "owned" },
                "StringLike": { "aws:RequestTag/karpenter.sh/nodepool": "*" },
            },
        }),
        json!({
            "Sid": "AllowScopedResourceCreationTagging",
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": s.ec2_all(&created),
            "Condition": {
                "StringEquals": {
                    &owned_request: "owned",
                    "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
                },
                "StringLike": { "aws:RequestTag/karpenter.sh/nodepool": "*" },
            },
        }),
        json!({
            "Sid": "AllowScopedResourceTagging",
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": s.ec2("instance"),
            "Condition": {
                "StringEquals": { &owned_resource: "owned" },
                "StringLike": { "aws:ResourceTag/karpenter.sh/nodepool": "*" },
                "ForAllValues:StringEquals": { "aws:TagKeys": ["karpenter.sh/nodeclaim", "Name"] },
            },
        }),
        json!({
            "Sid": "AllowScopedDeletion",
            "Effect": "Allow",
            "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            "Resource": s.ec2_all(&["instance", "launch-template"]),
            "Condition": {
                "StringEquals": { &owned_resource: "owned" },
                "StringLike": { "aws:ResourceTag/karpenter.sh/nodepool": "*" },
            },
        }),
    ]
}

fn read_statements(s: &Scope<'_>) -> Vec<Value> {
    vec![
        json!({
            "Sid": "AllowRegionalReadActions",
            "Effect": "Allow",
            "Action": REGIONAL_READS,
            "Resource": "*",
            "Condition": { "StringEquals": { "aws:RequestedRegion": s.region } },
        }),
        json!({
            "Sid": "AllowSSMReadActions",
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": format!("arn:{}:ssm:{}::parameter/aws/service/*", s.partition, s.region),
        }),
        json!({
            "Sid": "AllowPricingReadActions",
            "Effect": "Allow",
            "Action": "pricing:GetProducts",
            "Resource": "*",
        }),
    ]
}

fn iam_statements(s: &Scope<'_>, node_role: &str) -> Vec<Value> {
    let owned_request = s.owned_key("RequestTag");
    let owned_resource = s.owned_key("ResourceTag");
    let region_request = "aws:RequestTag/topology.kubernetes.io/region";
    let region_resource = "aws:ResourceTag/topology.kubernetes.io/region";
    vec![
        json!({
            "Sid": "AllowPassingInstanceRole",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": format!("arn:{}:iam::{}:role/{node_role}", s.partition, s.account),
            "Condition": { "StringEquals": { "iam:PassedToService": "ec2.amazonaws.com" } },
        }),
        json!({
            "Sid": "AllowScopedInstanceProfileCreationActions",
            "Effect": "Allow",
            "Action": ["iam:CreateInstanceProfile"],
            "Resource": "*",
            "Condition": {
                "StringEquals": { &owned_request: "owned", region_request: s.region },
                "StringLike": { "aws:RequestTag/karpenter.sh/nodeclass": "*" },
            },
        }),
        json!({
            "Sid": "AllowScopedInstanceProfileTagActions",
            "Effect": "Allow",
            "Action": ["iam:TagInstanceProfile"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    &owned_resource: "owned",
                    region_resource: s.region,
                    &owned_request: "owned",
                    region_request: s.region,
                },
                "StringLike": {
                    "aws:ResourceTag/karpenter.sh/nodeclass": "*",
                    "aws:RequestTag/karpenter.sh/nodeclass": "*",
                },
            },
        }),
        json!({
            "Sid": "AllowScopedInstanceProfileActions",
            "Effect": "Allow",
            "Action": [
                "iam:AddRoleToInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:DeleteInstanceProfile",
            ],
            "Resource": "*",
            "Condition": {
                "StringEquals": { &owned_resource: "owned", region_resource: s.region },
                "StringLike": { "aws:ResourceTag/karpenter.sh/nodeclass": "*" },
            },
        }),
        json!({
            "Sid": "AllowInstanceProfileReadActions",
            "Effect": "Allow",
            "Action": "iam:GetInstanceProfile",
            "Resource": "*",
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{find, params_with, sids, statements};
    use super::*;

    fn params(options: &[(&str, &[&str])]) -> PresetParams {
        let mut p = params_with(Some("demo"), options);
        p.region = Some("eu-west-1".into());
        p.account = Some("111122223333".into());
        p
    }

    #[test]
    fn scoped_to_the_cluster_region_and_account() {
        let policies = (PRESET.render)(&params(&[])).unwrap();
        let doc = &policies.documents[0].1;
        assert!(!sids(doc).contains(&"AllowInterruptionQueueActions".to_string()));
        let stmts = statements(doc);
        assert_eq!(
            find(&stmts, "AllowPassingInstanceRole")["Resource"],
            "arn:aws:iam::111122223333:role/KarpenterNodeRole-demo"
        );
        assert_eq!(
            find(&stmts, "AllowAPIServerEndpointDiscovery")["Resource"],
            "arn:aws:eks:eu-west-1:111122223333:cluster/demo"
        );
        assert_eq!(
            find(&stmts, "AllowScopedEC2InstanceActions")["Resource"][0],
            "arn:aws:ec2:eu-west-1::image/*"
        );
    }

    #[test]
    fn queue_by_name_is_in_the_cluster_region_and_account() {
        // eksctl's withSpotInterruptionQueue: a queue named after the cluster.
        let policies = (PRESET.render)(&params(&[("interruptionQueueName", &["demo"])])).unwrap();
        let stmts = statements(&policies.documents[0].1);
        assert_eq!(
            find(&stmts, "AllowInterruptionQueueActions")["Resource"],
            "arn:aws:sqs:eu-west-1:111122223333:demo"
        );
        let both = [
            ("interruptionQueueName", &["demo"][..]),
            (
                "interruptionQueueArn",
                &["arn:aws:sqs:eu-west-1:111122223333:demo"][..],
            ),
        ];
        assert!((PRESET.render)(&params(&both)).is_err());
    }

    #[test]
    fn queue_and_node_role_options() {
        let queue = "arn:aws:sqs:eu-west-1:111122223333:demo";
        let policies = (PRESET.render)(&params(&[
            ("interruptionQueueArn", &[queue]),
            ("nodeRoleName", &["nodes"]),
        ]))
        .unwrap();
        let stmts = statements(&policies.documents[0].1);
        assert_eq!(
            find(&stmts, "AllowInterruptionQueueActions")["Resource"],
            queue
        );
        assert_eq!(
            find(&stmts, "AllowPassingInstanceRole")["Resource"],
            "arn:aws:iam::111122223333:role/nodes"
        );
        for bad in [
            ("interruptionQueueArn", "demo"),
            (
                "interruptionQueueArn",
                "arn:aws:sns:eu-west-1:111122223333:demo",
            ),
            ("nodeRoleName", "arn:aws:iam::111122223333:role/nodes"),
            ("interruptionQueueName", "demo queue"),
        ] {
            let err = (PRESET.render)(&params(&[(bad.0, &[bad.1])])).unwrap_err();
            assert!(
                matches!(&err, PresetError::BadOption { option, .. } if option == bad.0),
                "{bad:?}: {err:?}"
            );
        }
    }

    #[test]
    fn needs_cluster_region_and_account() {
        let mut p = params(&[]);
        p.cluster = None;
        assert!(matches!(
            (PRESET.render)(&p),
            Err(PresetError::Missing {
                what: "the cluster name",
                ..
            })
        ));
        let mut p = params(&[]);
        p.region = None;
        assert!(matches!(
            (PRESET.render)(&p),
            Err(PresetError::Missing { what, .. }) if what.contains("region")
        ));
        let mut p = params(&[]);
        p.account = Some("account".into());
        assert!(matches!(
            (PRESET.render)(&p),
            Err(PresetError::Missing { what, .. }) if what.contains("account id")
        ));
    }
}
