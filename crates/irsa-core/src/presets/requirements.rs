//! What each preset's workload must be allowed to do, as concrete IAM requests against real
//! resources, so that `irsa doctor` can evaluate a role's actual policies with the policy engine
//! instead of comparing documents. A requirement is one action on one resource with the request
//! context the workload's calls carry (for example the tag the EBS CSI driver puts on the volumes
//! it creates). For the Cluster Autoscaler the resources are the cluster's real Auto Scaling
//! groups: the scaling actions are required on every group the autoscaler discovers (both
//! auto-discovery tags, `k8s.io/cluster-autoscaler/enabled` and `k8s.io/cluster-autoscaler/<cluster>`),
//! evaluated with that group's tags as `aws:ResourceTag/…`.
//!
//! A resource's tags reach policies under two keys: the global `aws:ResourceTag/<key>` and the
//! service's own (`ec2:ResourceTag/<key>`, `autoscaling:ResourceTag/<key>`); AWS's managed EBS CSI
//! policy conditions on the EC2 one, so requirements carry both (Service Authorization
//! Reference, "Condition keys for Amazon EC2" and "for Amazon EC2 Auto Scaling").
//!
//! Sources: the Cluster Autoscaler AWS README (auto-discovery tags, the actions it calls), the
//! EBS CSI driver's `docs/example-iam-policy.json` and the EFS CSI driver's `docs/iam-policy-example.json`
//! (the tags they put on volumes and access points), external-dns' AWS tutorial, cert-manager's
//! Route 53 page; for the workload presets, the upstream documents their modules name.
//!
//! A requirement must hold whatever options the preset was rendered with, since doctor sees the
//! role, not the spec: presets scoped entirely by an option (a bucket, a secret, a queue, a
//! workspace) only require what every rendering allows, possibly nothing.

use std::collections::BTreeMap;

use super::{
    aws_load_balancer_controller, aws_node_termination_handler, cert_manager,
    cloudwatch_observability, cluster_autoscaler, ebs_csi, efs_csi, external_dns, fsx_lustre_csi,
    image_builder, karpenter, vpc_cni,
};

/// Concrete resources stand for "any resource of this kind": a `*` in a request's resource would
/// be a literal character to IAM, not a wildcard.
const SAMPLE_VOLUME: &str = "volume/vol-0123456789abcdef0";
const SAMPLE_INSTANCE: &str = "instance/i-0123456789abcdef0";

/// The auto-discovery tag every group must carry (value ignored by the autoscaler).
pub const AUTOSCALER_ENABLED_TAG: &str = "k8s.io/cluster-autoscaler/enabled";

/// The auto-discovery tag naming the cluster.
pub fn autoscaler_cluster_tag(cluster: &str) -> String {
    format!("k8s.io/cluster-autoscaler/{cluster}")
}

/// An Auto Scaling group as observed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AutoScalingGroup {
    pub name: String,
    pub arn: String,
    pub tags: BTreeMap<String, String>,
}

impl AutoScalingGroup {
    /// Whether the autoscaler's `--node-group-auto-discovery=asg:tag=…` finds it for `cluster`.
    pub fn discovered_for(&self, cluster: &str) -> bool {
        self.tags.contains_key(AUTOSCALER_ENABLED_TAG)
            && self.tags.contains_key(&autoscaler_cluster_tag(cluster))
    }
}

/// Where the workload runs.
#[derive(Debug, Clone, Default)]
pub struct RequirementParams<'a> {
    pub partition: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub cluster: &'a str,
    /// The region's Auto Scaling groups, when observed (the autoscaler's requirements need them).
    pub auto_scaling_groups: Option<&'a [AutoScalingGroup]>,
}

/// One request the workload makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub action: String,
    pub resource: String,
    /// Request context keys and values (`aws:RequestTag/…`, `aws:ResourceTag/…`).
    pub context: Vec<(String, String)>,
    /// What the workload does with it, for the finding.
    pub purpose: String,
}

impl Requirement {
    pub(crate) fn new(action: &str, resource: impl Into<String>, purpose: &str) -> Requirement {
        Requirement {
            action: action.to_string(),
            resource: resource.into(),
            context: Vec::new(),
            purpose: purpose.to_string(),
        }
    }

    pub(crate) fn with(mut self, key: &str, value: &str) -> Requirement {
        self.context.push((key.to_string(), value.to_string()));
        self
    }
}

/// The requirements of the preset `preset`, or none for a preset without a known workload.
pub fn requirements(preset: &str, p: &RequirementParams<'_>) -> Vec<Requirement> {
    match preset {
        cluster_autoscaler::NAME => autoscaler(p),
        ebs_csi::NAME => ebs(p),
        efs_csi::NAME => efs(p),
        external_dns::NAME => external_dns(p),
        cert_manager::NAME => cert_manager(p),
        aws_load_balancer_controller::NAME => load_balancer_controller(p),
        karpenter::NAME => karpenter(p),
        vpc_cni::NAME => vpc_cni(p),
        cloudwatch_observability::NAME => cloudwatch_agent(p),
        fsx_lustre_csi::NAME => fsx_lustre(p),
        image_builder::NAME => vec![Requirement::new(
            "ecr:GetAuthorizationToken",
            "*",
            "log in to the registry",
        )],
        aws_node_termination_handler::NAME => vec![
            Requirement::new("ec2:DescribeInstances", "*", "find the node of an event"),
            Requirement::new(
                "autoscaling:DescribeAutoScalingInstances",
                "*",
                "find the node's Auto Scaling group",
            ),
        ],
        _ => Vec::new(),
    }
}

/// `arn:<partition>:<service>:<region>:<account>:<resource>`.
fn regional_arn(p: &RequirementParams<'_>, service: &str, resource: &str) -> String {
    format!(
        "arn:{}:{service}:{}:{}:{resource}",
        p.partition, p.region, p.account
    )
}

fn load_balancer_controller(p: &RequirementParams<'_>) -> Vec<Requirement> {
    let balancer = regional_arn(
        p,
        "elasticloadbalancing",
        "loadbalancer/app/k8s-default-web-0123456789/50dc6c495c0c9188",
    );
    vec![
        Requirement::new(
            "elasticloadbalancing:DescribeLoadBalancers",
            "*",
            "find its load balancers",
        ),
        // Added upstream in 2024: controllers from v2.8 on fail without it.
        Requirement::new(
            "elasticloadbalancing:DescribeListenerAttributes",
            "*",
            "reconcile listener attributes",
        ),
        Requirement::new("ec2:DescribeSubnets", "*", "discover the subnets"),
        Requirement::new(
            "elasticloadbalancing:CreateLoadBalancer",
            balancer.clone(),
            "create a load balancer for an Ingress or Service",
        )
        .with("aws:RequestTag/elbv2.k8s.aws/cluster", p.cluster),
        Requirement::new(
            "elasticloadbalancing:DeleteLoadBalancer",
            balancer,
            "delete a load balancer it created",
        )
        .with("aws:ResourceTag/elbv2.k8s.aws/cluster", p.cluster)
        .with(
            "elasticloadbalancing:ResourceTag/elbv2.k8s.aws/cluster",
            p.cluster,
        ),
    ]
}

fn karpenter(p: &RequirementParams<'_>) -> Vec<Requirement> {
    let instance = regional_arn(p, "ec2", SAMPLE_INSTANCE);
    let owned = format!("kubernetes.io/cluster/{}", p.cluster);
    vec![
        Requirement::new(
            "ec2:DescribeInstanceTypes",
            "*",
            "list the instance types it can launch",
        )
        .with("aws:RequestedRegion", p.region),
        Requirement::new("ec2:RunInstances", instance.clone(), "launch a node")
            .with(&format!("aws:RequestTag/{owned}"), "owned")
            .with("aws:RequestTag/karpenter.sh/nodepool", "default"),
        Requirement::new(
            "ec2:TerminateInstances",
            instance,
            "remove a node it launched",
        )
        .with(&format!("aws:ResourceTag/{owned}"), "owned")
        .with(&format!("ec2:ResourceTag/{owned}"), "owned")
        .with("aws:ResourceTag/karpenter.sh/nodepool", "default")
        .with("ec2:ResourceTag/karpenter.sh/nodepool", "default"),
        Requirement::new(
            "eks:DescribeCluster",
            regional_arn(p, "eks", &format!("cluster/{}", p.cluster)),
            "discover the API server endpoint",
        ),
    ]
}

fn vpc_cni(p: &RequirementParams<'_>) -> Vec<Requirement> {
    vec![
        Requirement::new(
            "ec2:DescribeNetworkInterfaces",
            "*",
            "find the node's network interfaces",
        ),
        Requirement::new(
            "ec2:CreateTags",
            regional_arn(p, "ec2", "network-interface/eni-0123456789abcdef0"),
            "tag the interfaces it manages",
        ),
    ]
}

fn cloudwatch_agent(p: &RequirementParams<'_>) -> Vec<Requirement> {
    vec![
        Requirement::new("cloudwatch:PutMetricData", "*", "publish metrics"),
        Requirement::new(
            "logs:PutLogEvents",
            regional_arn(
                p,
                "logs",
                &format!(
                    "log-group:/aws/containerinsights/{}/performance:log-stream:node-1",
                    p.cluster
                ),
            ),
            "write Container Insights performance logs",
        ),
    ]
}

fn fsx_lustre(p: &RequirementParams<'_>) -> Vec<Requirement> {
    vec![
        Requirement::new("fsx:DescribeFileSystems", "*", "find file systems"),
        Requirement::new(
            "fsx:CreateFileSystem",
            regional_arn(p, "fsx", "file-system/fs-0123456789abcdef0"),
            "provision a file system for a volume",
        ),
    ]
}

fn autoscaler(p: &RequirementParams<'_>) -> Vec<Requirement> {
    let mut out = vec![
        Requirement::new(
            "autoscaling:DescribeAutoScalingGroups",
            "*",
            "discover the node groups",
        ),
        Requirement::new(
            "ec2:DescribeLaunchTemplateVersions",
            "*",
            "read the node groups' instance shapes",
        ),
        Requirement::new("ec2:DescribeInstanceTypes", "*", "size scale-ups from zero"),
    ];
    for group in p
        .auto_scaling_groups
        .unwrap_or_default()
        .iter()
        .filter(|g| g.discovered_for(p.cluster))
    {
        for (action, purpose) in [
            ("autoscaling:SetDesiredCapacity", "scale the group"),
            (
                "autoscaling:TerminateInstanceInAutoScalingGroup",
                "scale the group down",
            ),
        ] {
            let mut requirement = Requirement::new(
                action,
                group.arn.clone(),
                &format!("{purpose} {}", group.name),
            );
            for (key, value) in &group.tags {
                requirement = requirement
                    .with(&format!("aws:ResourceTag/{key}"), value)
                    .with(&format!("autoscaling:ResourceTag/{key}"), value);
            }
            out.push(requirement);
        }
    }
    out
}

fn ebs(p: &RequirementParams<'_>) -> Vec<Requirement> {
    let arn = |kind_and_id: &str| {
        format!(
            "arn:{}:ec2:{}:{}:{kind_and_id}",
            p.partition, p.region, p.account
        )
    };
    vec![
        Requirement::new("ec2:DescribeVolumes", "*", "find volumes"),
        Requirement::new("ec2:CreateVolume", arn(SAMPLE_VOLUME), "provision a volume")
            .with("aws:RequestTag/ebs.csi.aws.com/cluster", "true"),
        Requirement::new(
            "ec2:AttachVolume",
            arn(SAMPLE_VOLUME),
            "attach a volume to a node",
        ),
        Requirement::new(
            "ec2:AttachVolume",
            arn(SAMPLE_INSTANCE),
            "attach a volume to a node",
        ),
        Requirement::new(
            "ec2:DeleteVolume",
            arn(SAMPLE_VOLUME),
            "delete a volume it created",
        )
        .with("aws:ResourceTag/ebs.csi.aws.com/cluster", "true")
        .with("ec2:ResourceTag/ebs.csi.aws.com/cluster", "true"),
    ]
}

fn efs(p: &RequirementParams<'_>) -> Vec<Requirement> {
    let file_system = format!(
        "arn:{}:elasticfilesystem:{}:{}:file-system/fs-0123456789abcdef0",
        p.partition, p.region, p.account
    );
    let access_point = format!(
        "arn:{}:elasticfilesystem:{}:{}:access-point/fsap-0123456789abcdef0",
        p.partition, p.region, p.account
    );
    vec![
        Requirement::new(
            "elasticfilesystem:DescribeFileSystems",
            "*",
            "find file systems",
        ),
        Requirement::new(
            "elasticfilesystem:CreateAccessPoint",
            file_system,
            "provision a volume as an access point",
        )
        .with("aws:RequestTag/efs.csi.aws.com/cluster", "true"),
        Requirement::new(
            "elasticfilesystem:DeleteAccessPoint",
            access_point,
            "delete an access point it created",
        )
        .with("aws:ResourceTag/efs.csi.aws.com/cluster", "true"),
    ]
}

fn external_dns(_: &RequirementParams<'_>) -> Vec<Requirement> {
    // Record changes are scoped to the zones the user chose (the preset's `hostedZoneIds`),
    // which doctor does not know without the spec: only the listing is required everywhere.
    vec![Requirement::new(
        "route53:ListHostedZones",
        "*",
        "find the hosted zones",
    )]
}

fn cert_manager(p: &RequirementParams<'_>) -> Vec<Requirement> {
    vec![
        Requirement::new(
            "route53:GetChange",
            format!("arn:{}:route53:::change/C2682N5HXP0BZ4", p.partition),
            "wait for a DNS-01 record",
        ),
        Requirement::new("route53:ListHostedZonesByName", "*", "find the hosted zone"),
    ]
}
