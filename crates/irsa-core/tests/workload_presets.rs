//! The workload presets added for issue 15, evaluated by the policy engine on the requests their
//! workloads really make: the actions each controller calls, on realistic ARNs, with the tags and
//! condition keys those calls carry. Each test says allowed where the workload must succeed and
//! denied where the preset's scope (a tag, a bucket, a queue, a region) must stop it. Sources are
//! named per test; they are the upstream documents each preset module follows.

use iam_policy::context::Context;
use iam_policy::document::PolicyDocument;
use iam_policy::eval::{Decision, Request, decide};
use irsa_core::presets::requirements::{Requirement, RequirementParams, requirements};
use irsa_core::presets::{self, PresetParams};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

/// Preset options as written in a spec: name and values.
type Options<'a> = &'a [(&'a str, &'a [&'a str])];

fn params(options: Options<'_>) -> PresetParams {
    PresetParams {
        cluster: Some("demo".into()),
        region: Some(REGION.into()),
        account: Some(ACCOUNT.into()),
        partition: None,
        options: options
            .iter()
            .map(|(k, vs)| (k.to_string(), vs.iter().map(|v| v.to_string()).collect()))
            .collect(),
    }
}

/// The preset's customer-managed documents, parsed by the engine.
fn documents(name: &str, params: &PresetParams) -> Vec<PolicyDocument> {
    let rendered = (presets::find(name).unwrap().render)(params).unwrap();
    assert!(
        !rendered.documents.is_empty(),
        "{name} renders no document to evaluate"
    );
    rendered
        .documents
        .iter()
        .map(|(_, doc)| PolicyDocument::from_value(doc).unwrap())
        .collect()
}

/// One request and the decision the preset must give it.
struct Case<'a> {
    action: &'a str,
    resource: &'a str,
    context: Context,
    allowed: bool,
}

fn allow<'a>(action: &'a str, resource: &'a str) -> Case<'a> {
    Case {
        action,
        resource,
        context: Context::new(),
        allowed: true,
    }
}

fn deny<'a>(action: &'a str, resource: &'a str) -> Case<'a> {
    Case {
        allowed: false,
        ..allow(action, resource)
    }
}

impl Case<'_> {
    fn with(mut self, key: &str, value: &str) -> Self {
        self.context.insert(key, value);
        self
    }

    fn with_all(mut self, key: &str, values: &[&str]) -> Self {
        self.context
            .set(key, values.iter().map(|v| v.to_string()).collect());
        self
    }
}

fn check(docs: &[PolicyDocument], cases: &[Case<'_>]) {
    let refs: Vec<&PolicyDocument> = docs.iter().collect();
    for case in cases {
        let decision = decide(
            &refs,
            &Request {
                principal: None,
                action: case.action,
                resource: Some(case.resource),
                context: &case.context,
            },
        );
        let expected = if case.allowed {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
        };
        assert_eq!(
            decision, expected,
            "{} on {} with {:?}",
            case.action, case.resource, case.context
        );
    }
}

fn managed_arns(name: &str, params: &PresetParams) -> Vec<String> {
    (presets::find(name).unwrap().render)(params)
        .unwrap()
        .managed_arns
}

// Source: kubernetes-sigs/aws-load-balancer-controller docs/install/iam_policy.json (the
// controller tags what it creates with elbv2.k8s.aws/cluster=<cluster>; the ELB and EC2 user
// guides: elasticloadbalancing:CreateAction and ec2:CreateAction on tag-on-create).
#[test]
fn load_balancer_controller_changes_only_what_it_tagged() {
    let docs = documents("aws-load-balancer-controller", &params(&[]));
    let lb = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/k8s-web-1a2b3c/50dc6c495c0c9188";
    let tg = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/k8s-web-8d7e/73e2d6bc24d8a067";
    let listener = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/k8s-web-1a2b3c/50dc6c495c0c9188/f2f7dc8efc522ab2";
    let sg = "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0a1b2c3d4e5f67890";
    let tag = "aws:RequestTag/elbv2.k8s.aws/cluster";
    let owned = "aws:ResourceTag/elbv2.k8s.aws/cluster";
    check(
        &docs,
        &[
            allow("elasticloadbalancing:DescribeLoadBalancers", "*"),
            allow("elasticloadbalancing:DescribeListenerAttributes", "*"),
            allow("ec2:DescribeSubnets", "*"),
            allow("ec2:GetSecurityGroupsForVpc", "*"),
            allow("elasticloadbalancing:CreateLoadBalancer", lb)
                .with(tag, "demo")
                .with_all("aws:TagKeys", &["elbv2.k8s.aws/cluster", "ingress.k8s.aws/stack"]),
            deny("elasticloadbalancing:CreateLoadBalancer", lb),
            allow("elasticloadbalancing:AddTags", lb)
                .with(tag, "demo")
                .with("elasticloadbalancing:CreateAction", "CreateLoadBalancer"),
            allow("elasticloadbalancing:AddTags", lb)
                .with(owned, "demo")
                .with("aws:RequestTag/ingress.k8s.aws/resource", "LoadBalancer"),
            // Someone else's load balancer: no cluster tag on it, not being created.
            deny("elasticloadbalancing:AddTags", lb).with("aws:RequestTag/team", "x"),
            // Rewriting the ownership tag itself on an owned resource.
            deny("elasticloadbalancing:AddTags", lb)
                .with(owned, "demo")
                .with(tag, "other"),
            allow("elasticloadbalancing:DeleteLoadBalancer", lb).with(owned, "demo"),
            deny("elasticloadbalancing:DeleteLoadBalancer", lb),
            allow("elasticloadbalancing:ModifyListenerAttributes", listener).with(owned, "demo"),
            allow("elasticloadbalancing:RegisterTargets", tg),
            deny(
                "elasticloadbalancing:RegisterTargets",
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/1",
            ),
            allow("elasticloadbalancing:CreateListener", lb),
            allow("elasticloadbalancing:AddTags", listener),
            allow("ec2:CreateSecurityGroup", sg),
            allow("ec2:CreateTags", sg)
                .with("ec2:CreateAction", "CreateSecurityGroup")
                .with(tag, "demo"),
            deny("ec2:CreateTags", sg).with(tag, "demo"),
            allow("ec2:DeleteSecurityGroup", sg).with(owned, "demo"),
            deny("ec2:DeleteSecurityGroup", sg),
            deny(
                "ec2:CreateTags",
                "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0",
            )
            .with(owned, "demo"),
            allow(
                "iam:CreateServiceLinkedRole",
                "arn:aws:iam::123456789012:role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing",
            )
            .with("iam:AWSServiceName", "elasticloadbalancing.amazonaws.com"),
            deny(
                "iam:CreateServiceLinkedRole",
                "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
            )
            .with("iam:AWSServiceName", "autoscaling.amazonaws.com"),
            deny("iam:CreateRole", "arn:aws:iam::123456789012:role/x"),
        ],
    );
}

// Source: aws/karpenter-provider-aws getting-started cloudformation.yaml,
// KarpenterControllerPolicy (tags kubernetes.io/cluster/<cluster>=owned and karpenter.sh/nodepool
// on launch; aws:RequestedRegion on reads; PassRole only to the node role, only to EC2).
#[test]
fn karpenter_launches_and_terminates_only_this_clusters_nodes() {
    let queue = "arn:aws:sqs:us-east-1:123456789012:demo";
    let docs = documents("karpenter", &params(&[("interruptionQueueArn", &[queue])]));
    let instance = "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0";
    let fleet =
        "arn:aws:ec2:us-east-1:123456789012:fleet/fleet-0a1b2c3d-4e5f-6789-0abc-def012345678";
    let template = "arn:aws:ec2:us-east-1:123456789012:launch-template/lt-0123456789abcdef0";
    let image = "arn:aws:ec2:us-east-1::image/ami-0123456789abcdef0";
    let subnet = "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-0123456789abcdef0";
    let owned_req = "aws:RequestTag/kubernetes.io/cluster/demo";
    let owned_res = "aws:ResourceTag/kubernetes.io/cluster/demo";
    let pool_req = "aws:RequestTag/karpenter.sh/nodepool";
    let pool_res = "aws:ResourceTag/karpenter.sh/nodepool";
    let profile = "arn:aws:iam::123456789012:instance-profile/demo_1234567890";
    check(
        &docs,
        &[
            allow("ec2:CreateFleet", fleet)
                .with(owned_req, "owned")
                .with(pool_req, "default"),
            allow("ec2:CreateFleet", image),
            allow("ec2:CreateFleet", subnet),
            allow("ec2:RunInstances", instance)
                .with(owned_req, "owned")
                .with(pool_req, "default"),
            deny("ec2:RunInstances", instance)
                .with("aws:RequestTag/kubernetes.io/cluster/prod", "owned")
                .with(pool_req, "default"),
            deny("ec2:RunInstances", instance).with(owned_req, "owned"),
            deny(
                "ec2:RunInstances",
                "arn:aws:ec2:eu-west-1:123456789012:instance/i-0123456789abcdef0",
            )
            .with(owned_req, "owned")
            .with(pool_req, "default"),
            allow("ec2:CreateLaunchTemplate", template)
                .with(owned_req, "owned")
                .with(pool_req, "default"),
            allow("ec2:CreateTags", instance)
                .with("ec2:CreateAction", "RunInstances")
                .with(owned_req, "owned")
                .with(pool_req, "default"),
            allow("ec2:CreateTags", instance)
                .with(owned_res, "owned")
                .with(pool_res, "default")
                .with_all("aws:TagKeys", &["karpenter.sh/nodeclaim"]),
            deny("ec2:CreateTags", instance)
                .with(owned_res, "owned")
                .with(pool_res, "default")
                .with_all("aws:TagKeys", &["kubernetes.io/cluster/demo"]),
            allow("ec2:TerminateInstances", instance)
                .with(owned_res, "owned")
                .with(pool_res, "default"),
            deny("ec2:TerminateInstances", instance).with(owned_res, "owned"),
            deny("ec2:TerminateInstances", instance)
                .with("aws:ResourceTag/kubernetes.io/cluster/prod", "owned")
                .with(pool_res, "default"),
            allow("ec2:DescribeInstanceTypes", "*").with("aws:RequestedRegion", REGION),
            deny("ec2:DescribeInstanceTypes", "*").with("aws:RequestedRegion", "eu-west-1"),
            allow(
                "ssm:GetParameter",
                "arn:aws:ssm:us-east-1::parameter/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/standard/recommended/image_id",
            ),
            deny(
                "ssm:GetParameter",
                "arn:aws:ssm:us-east-1:123456789012:parameter/app/secret",
            ),
            allow("pricing:GetProducts", "*"),
            allow(
                "iam:PassRole",
                "arn:aws:iam::123456789012:role/KarpenterNodeRole-demo",
            )
            .with("iam:PassedToService", "ec2.amazonaws.com"),
            deny(
                "iam:PassRole",
                "arn:aws:iam::123456789012:role/KarpenterNodeRole-demo",
            )
            .with("iam:PassedToService", "lambda.amazonaws.com"),
            deny("iam:PassRole", "arn:aws:iam::123456789012:role/Admin")
                .with("iam:PassedToService", "ec2.amazonaws.com"),
            allow("iam:CreateInstanceProfile", profile)
                .with(owned_req, "owned")
                .with("aws:RequestTag/topology.kubernetes.io/region", REGION)
                .with("aws:RequestTag/karpenter.sh/nodeclass", "default"),
            deny("iam:CreateInstanceProfile", profile)
                .with(owned_req, "owned")
                .with("aws:RequestTag/topology.kubernetes.io/region", "eu-west-1")
                .with("aws:RequestTag/karpenter.sh/nodeclass", "default"),
            allow("iam:AddRoleToInstanceProfile", profile)
                .with(owned_res, "owned")
                .with("aws:ResourceTag/topology.kubernetes.io/region", REGION)
                .with("aws:ResourceTag/karpenter.sh/nodeclass", "default"),
            deny("iam:DeleteInstanceProfile", profile),
            allow("iam:GetInstanceProfile", profile),
            allow("sqs:ReceiveMessage", queue),
            allow("sqs:DeleteMessage", queue),
            deny(
                "sqs:ReceiveMessage",
                "arn:aws:sqs:us-east-1:123456789012:other",
            ),
            allow(
                "eks:DescribeCluster",
                "arn:aws:eks:us-east-1:123456789012:cluster/demo",
            ),
            deny(
                "eks:DescribeCluster",
                "arn:aws:eks:us-east-1:123456789012:cluster/prod",
            ),
        ],
    );
    let without_queue = documents("karpenter", &params(&[]));
    check(&without_queue, &[deny("sqs:ReceiveMessage", queue)]);
}

// Source: external-secrets.io AWS Secrets Manager and Parameter Store provider pages (the
// operator reads values, metadata and versions; secret ARNs end in -<6 characters>).
#[test]
fn external_secrets_reads_only_the_named_secrets_and_parameters() {
    let key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let docs = documents(
        "external-secrets",
        &params(&[
            (
                "secretArns",
                &["arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/*"],
            ),
            (
                "parameterArns",
                &["arn:aws:ssm:us-east-1:123456789012:parameter/prod/*"],
            ),
            ("kmsKeyArns", &[key]),
        ]),
    );
    let secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-password-AbCdEf";
    let other = "arn:aws:secretsmanager:us-east-1:123456789012:secret:dev/db-password-GhIjKl";
    let parameter = "arn:aws:ssm:us-east-1:123456789012:parameter/prod/api-key";
    check(
        &docs,
        &[
            allow("secretsmanager:GetSecretValue", secret),
            allow("secretsmanager:DescribeSecret", secret),
            allow("secretsmanager:ListSecretVersionIds", secret),
            allow("secretsmanager:GetResourcePolicy", secret),
            deny("secretsmanager:GetSecretValue", other),
            deny("secretsmanager:PutSecretValue", secret),
            deny("secretsmanager:DeleteSecret", secret),
            allow("ssm:GetParameter", parameter),
            allow("ssm:GetParameters", parameter),
            deny(
                "ssm:GetParameter",
                "arn:aws:ssm:us-east-1:123456789012:parameter/dev/api-key",
            ),
            deny("ssm:PutParameter", parameter),
            allow("kms:Decrypt", key),
            deny(
                "kms:Decrypt",
                "arn:aws:kms:us-east-1:123456789012:key/other",
            ),
            deny("kms:Encrypt", key),
        ],
    );
}

// Source: vmware-tanzu/velero-plugin-for-aws README, "Set permissions for Velero".
#[test]
fn velero_writes_backups_to_its_bucket_and_snapshots_volumes() {
    let docs = documents(
        "velero",
        &params(&[("bucket", &["demo-backups"]), ("prefix", &["demo"])]),
    );
    let backup = "arn:aws:s3:::demo-backups/demo/backups/daily-20261201/velero-backup.json";
    check(
        &docs,
        &[
            allow("s3:PutObject", backup),
            allow("s3:GetObject", backup),
            allow("s3:DeleteObject", backup),
            allow("s3:AbortMultipartUpload", backup),
            allow("s3:ListBucket", "arn:aws:s3:::demo-backups"),
            deny(
                "s3:PutObject",
                "arn:aws:s3:::demo-backups/other/backups/x.json",
            ),
            deny("s3:PutObject", "arn:aws:s3:::prod-data/demo/backups/x.json"),
            deny("s3:ListBucket", "arn:aws:s3:::prod-data"),
            deny("s3:DeleteBucket", "arn:aws:s3:::demo-backups"),
            allow(
                "ec2:CreateSnapshot",
                "arn:aws:ec2:us-east-1:123456789012:volume/vol-0123456789abcdef0",
            ),
            allow(
                "ec2:CreateSnapshot",
                "arn:aws:ec2:us-east-1::snapshot/snap-0123456789abcdef0",
            ),
            allow(
                "ec2:CreateVolume",
                "arn:aws:ec2:us-east-1:123456789012:volume/vol-0fedcba9876543210",
            ),
            allow("ec2:DescribeSnapshots", "*"),
            deny(
                "ec2:DeleteVolume",
                "arn:aws:ec2:us-east-1:123456789012:volume/vol-0123456789abcdef0",
            ),
        ],
    );
    let s3_only = documents(
        "velero",
        &params(&[("bucket", &["demo-backups"]), ("snapshots", &["false"])]),
    );
    check(
        &s3_only,
        &[
            allow("s3:PutObject", "arn:aws:s3:::demo-backups/backups/x.json"),
            deny(
                "ec2:CreateSnapshot",
                "arn:aws:ec2:us-east-1:123456789012:volume/vol-0123456789abcdef0",
            ),
        ],
    );
}

// Source: EKS user guide, "Configure the Amazon VPC CNI plugin to use IRSA" (IPv6 policy);
// the AWS managed AmazonEKS_CNI_Policy for IPv4.
#[test]
fn vpc_cni_ipv6_assigns_addresses_and_tags_only_interfaces() {
    assert_eq!(
        managed_arns("vpc-cni", &params(&[])),
        ["arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"]
    );
    let docs = documents("vpc-cni", &params(&[("ipFamily", &["ipv6"])]));
    let eni = "arn:aws:ec2:us-east-1:123456789012:network-interface/eni-0123456789abcdef0";
    check(
        &docs,
        &[
            allow("ec2:AssignIpv6Addresses", eni),
            allow("ec2:DescribeNetworkInterfaces", "*"),
            allow("ec2:DescribeInstanceTypes", "*"),
            allow("ec2:CreateTags", eni),
            deny(
                "ec2:CreateTags",
                "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0",
            ),
            deny("ec2:AssignPrivateIpAddresses", eni),
            deny("ec2:DeleteNetworkInterface", eni),
        ],
    );
}

// Source: EKS user guide, Mountpoint for Amazon S3 CSI driver IAM policy.
#[test]
fn mountpoint_mounts_only_its_buckets() {
    let docs = documents(
        "mountpoint-s3-csi",
        &params(&[("bucketNames", &["ml-datasets"])]),
    );
    let object = "arn:aws:s3:::ml-datasets/imagenet/train/n01440764/n01440764_10026.JPEG";
    check(
        &docs,
        &[
            allow("s3:ListBucket", "arn:aws:s3:::ml-datasets"),
            allow("s3:GetObject", object),
            allow("s3:PutObject", object),
            allow("s3:AbortMultipartUpload", object),
            allow("s3:DeleteObject", object),
            deny("s3:GetObject", "arn:aws:s3:::finance-reports/q3.csv"),
            deny("s3:ListBucket", "arn:aws:s3:::finance-reports"),
            deny("s3:PutBucketPolicy", "arn:aws:s3:::ml-datasets"),
        ],
    );
    let read_only = documents(
        "mountpoint-s3-csi",
        &params(&[("bucketNames", &["ml-datasets"]), ("readOnly", &["true"])]),
    );
    check(
        &read_only,
        &[allow("s3:GetObject", object), deny("s3:PutObject", object)],
    );
}

// Source: kubernetes-sigs/aws-fsx-csi-driver docs/install.md (service-linked roles for FSx and
// its S3 data repositories; file-system actions).
#[test]
fn fsx_lustre_manages_file_systems_and_only_fsx_service_linked_roles() {
    let docs = documents("fsx-lustre-csi", &params(&[]));
    let fs = "arn:aws:fsx:us-east-1:123456789012:file-system/fs-0123456789abcdef0";
    let s3_slr = "arn:aws:iam::123456789012:role/aws-service-role/s3.data-source.lustre.fsx.amazonaws.com/AWSServiceRoleForFSxS3Access_fs-0123456789abcdef0";
    check(
        &docs,
        &[
            allow("fsx:CreateFileSystem", fs),
            allow("fsx:DeleteFileSystem", fs),
            allow("fsx:DescribeFileSystems", "*"),
            allow("fsx:TagResource", fs),
            allow("iam:CreateServiceLinkedRole", s3_slr),
            allow("iam:AttachRolePolicy", s3_slr),
            allow(
                "iam:CreateServiceLinkedRole",
                "arn:aws:iam::123456789012:role/aws-service-role/fsx.amazonaws.com/AWSServiceRoleForAmazonFSx",
            )
            .with("iam:AWSServiceName", "fsx.amazonaws.com"),
            deny(
                "iam:CreateServiceLinkedRole",
                "arn:aws:iam::123456789012:role/aws-service-role/elasticloadbalancing.amazonaws.com/X",
            )
            .with("iam:AWSServiceName", "elasticloadbalancing.amazonaws.com"),
            deny("iam:AttachRolePolicy", "arn:aws:iam::123456789012:role/Admin"),
            deny("fsx:CreateBackup", fs),
        ],
    );
    assert_eq!(
        managed_arns("fsx-lustre-csi", &params(&[("policy", &["managed"])])),
        ["arn:aws:iam::aws:policy/AmazonFSxFullAccess"]
    );
}

// Source: AMP user guide, "Set up service roles for the ingestion of metrics from Amazon EKS
// clusters" (remote write is aps:RemoteWrite on the workspace).
#[test]
fn prometheus_remote_writes_only_to_its_workspace() {
    assert_eq!(
        managed_arns("amazon-managed-prometheus", &params(&[])),
        ["arn:aws:iam::aws:policy/AmazonPrometheusRemoteWriteAccess"]
    );
    let ws = "arn:aws:aps:us-east-1:123456789012:workspace/ws-0123abcd-4567-89ef-0123-456789abcdef";
    let docs = documents(
        "amazon-managed-prometheus",
        &params(&[("workspaceArns", &[ws])]),
    );
    check(
        &docs,
        &[
            allow("aps:RemoteWrite", ws),
            deny(
                "aps:RemoteWrite",
                "arn:aws:aps:us-east-1:123456789012:workspace/ws-ffffffff-4567-89ef-0123-456789abcdef",
            ),
            deny("aps:QueryMetrics", ws),
            deny("aps:DeleteWorkspace", ws),
        ],
    );
}

// Source: CloudWatch user guide, "Install the CloudWatch agent with the Amazon CloudWatch
// Observability EKS add-on" (CloudWatchAgentServerPolicy; AWSXrayWriteOnlyAccess for traces).
// Both are AWS managed: no customer document to evaluate, so the ARNs are what is checked.
#[test]
fn cloudwatch_observability_attaches_the_managed_agent_policy() {
    assert_eq!(
        managed_arns("cloudwatch-observability", &params(&[])),
        ["arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"]
    );
    let preset = presets::find("cloudwatch-observability").unwrap();
    assert_eq!(
        preset.install,
        presets::Install::EksAddon {
            name: "amazon-cloudwatch-observability"
        }
    );
    assert_eq!(
        (preset.namespace, preset.service_account),
        ("amazon-cloudwatch", "cloudwatch-agent")
    );
}

// Source: aws/aws-node-termination-handler README, queue-processor IAM policy.
#[test]
fn termination_handler_reads_only_its_queue() {
    let queue = "arn:aws:sqs:us-east-1:123456789012:demo-termination";
    let docs = documents(
        "aws-node-termination-handler",
        &params(&[("queueArn", &[queue])]),
    );
    let asg = "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:6d3a1c2e-0000-4000-8000-000000000000:autoScalingGroupName/eks-ng-1";
    check(
        &docs,
        &[
            allow("sqs:ReceiveMessage", queue),
            allow("sqs:DeleteMessage", queue),
            deny(
                "sqs:ReceiveMessage",
                "arn:aws:sqs:us-east-1:123456789012:orders",
            ),
            deny("sqs:SendMessage", queue),
            allow("autoscaling:CompleteLifecycleAction", asg),
            allow("autoscaling:DescribeAutoScalingInstances", "*"),
            allow("ec2:DescribeInstances", "*"),
            deny("autoscaling:SetDesiredCapacity", asg),
            deny(
                "ec2:TerminateInstances",
                "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0",
            ),
        ],
    );
}

// Source: eksctl-io/eksctl pkg/cfn/builder/iam.go (imageBuilder attaches
// AmazonEC2ContainerRegistryPowerUser); the scoped variant keeps its repository actions.
#[test]
fn image_builder_pushes_and_pulls_only_its_repositories() {
    assert_eq!(
        managed_arns("image-builder", &params(&[])),
        ["arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser"]
    );
    let docs = documents(
        "image-builder",
        &params(&[(
            "repositoryArns",
            &["arn:aws:ecr:us-east-1:123456789012:repository/team-a/*"],
        )]),
    );
    let repo = "arn:aws:ecr:us-east-1:123456789012:repository/team-a/api";
    check(
        &docs,
        &[
            allow("ecr:GetAuthorizationToken", "*"),
            allow("ecr:InitiateLayerUpload", repo),
            allow("ecr:UploadLayerPart", repo),
            allow("ecr:CompleteLayerUpload", repo),
            allow("ecr:PutImage", repo),
            allow("ecr:BatchGetImage", repo),
            allow("ecr:GetDownloadUrlForLayer", repo),
            deny(
                "ecr:PutImage",
                "arn:aws:ecr:us-east-1:123456789012:repository/team-b/api",
            ),
            deny("ecr:DeleteRepository", repo),
            deny("ecr:SetRepositoryPolicy", repo),
        ],
    );
}

#[test]
fn presets_missing_their_scope_refuse_to_render() {
    for (name, what) in [
        ("velero", "bucket"),
        ("mountpoint-s3-csi", "bucketNames"),
        ("aws-node-termination-handler", "queueArn"),
        ("external-secrets", "secretArns or parameterArns"),
    ] {
        let err = (presets::find(name).unwrap().render)(&params(&[])).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(name) && text.contains(what), "{name}: {text}");
    }
    let mut no_region = params(&[]);
    no_region.region = None;
    let err = (presets::find("karpenter").unwrap().render)(&no_region).unwrap_err();
    assert!(err.to_string().contains("region"), "{err}");
}

#[test]
fn eksctl_well_known_policies_resolve_to_presets() {
    let text = "apiVersion: eksctl.io/v1alpha5
kind: ClusterConfig
metadata: {name: demo, region: us-east-1}
iam:
  withOIDC: true
  serviceAccounts:
    - metadata: {name: lb, namespace: kube-system}
      wellKnownPolicies: {awsLoadBalancerController: true}
    - metadata: {name: builder, namespace: ci}
      wellKnownPolicies: {imageBuilder: true}
    - metadata: {name: dns, namespace: kube-system}
      wellKnownPolicies: {externalDNS: true}
";
    let spec = irsa_core::spec::parse(std::path::Path::new("eksctl.yaml"), text).unwrap();
    let presets: Vec<String> = spec
        .bindings
        .iter()
        .map(|b| b.preset.as_ref().unwrap().value.clone())
        .collect();
    assert_eq!(
        presets,
        [
            "aws-load-balancer-controller",
            "image-builder",
            "external-dns"
        ]
    );
}

/// The cluster the requirement tests place the workloads in.
fn sample_place() -> RequirementParams<'static> {
    RequirementParams {
        partition: "aws",
        region: REGION,
        account: ACCOUNT,
        cluster: "demo",
        auto_scaling_groups: None,
    }
}

/// Doctor's requirements as cases that must be allowed, with their request context.
fn allowed_cases(needed: &[Requirement]) -> Vec<Case<'_>> {
    needed
        .iter()
        .map(|r| {
            r.context
                .iter()
                .fold(allow(&r.action, &r.resource), |case, (key, value)| {
                    case.with(key, value)
                })
        })
        .collect()
}

/// What doctor requires of each preset's role holds for the preset's own customer documents, in
/// every variant that renders one: doctor cannot report a role irsa made as broken.
#[test]
fn doctor_requirements_hold_for_every_rendered_variant() {
    let variants: &[(&str, Options<'_>)] = &[
        ("aws-load-balancer-controller", &[]),
        ("karpenter", &[]),
        (
            "karpenter",
            &[(
                "interruptionQueueArn",
                &["arn:aws:sqs:us-east-1:123456789012:demo"],
            )],
        ),
        ("vpc-cni", &[("ipFamily", &["ipv6"])]),
        ("fsx-lustre-csi", &[]),
        (
            "image-builder",
            &[(
                "repositoryArns",
                &["arn:aws:ecr:us-east-1:123456789012:repository/app"],
            )],
        ),
        (
            "aws-node-termination-handler",
            &[("queueArn", &["arn:aws:sqs:us-east-1:123456789012:q"])],
        ),
    ];
    for (name, options) in variants {
        let docs = documents(name, &params(options));
        let needed = requirements(name, &sample_place());
        assert!(!needed.is_empty(), "{name} has no requirements");
        check(&docs, &allowed_cases(&needed));
    }
}

/// The permissions of two AWS managed policies the presets attach, as their action lists and
/// resources (AWS Managed Policy Reference: AmazonEKS_CNI_Policy v5, CloudWatchAgentServerPolicy),
/// so the managed variants meet doctor's requirements too.
fn managed_policy(name: &str) -> PolicyDocument {
    let doc = match name {
        "AmazonEKS_CNI_Policy" => serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Resource": "*", "Action": [
                    "ec2:AssignPrivateIpAddresses", "ec2:AttachNetworkInterface",
                    "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface",
                    "ec2:DescribeInstances", "ec2:DescribeTags", "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeInstanceTypes", "ec2:DescribeSubnets", "ec2:DetachNetworkInterface",
                    "ec2:ModifyNetworkInterfaceAttribute", "ec2:UnassignPrivateIpAddresses"]},
                {"Effect": "Allow", "Action": ["ec2:CreateTags"],
                 "Resource": ["arn:aws:ec2:*:*:network-interface/*"]}
            ]
        }),
        "CloudWatchAgentServerPolicy" => serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Resource": "*", "Action": [
                    "cloudwatch:PutMetricData", "ec2:DescribeVolumes", "ec2:DescribeTags",
                    "logs:PutLogEvents", "logs:PutRetentionPolicy", "logs:DescribeLogStreams",
                    "logs:DescribeLogGroups", "logs:CreateLogStream", "logs:CreateLogGroup",
                    "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
                    "xray:GetSamplingTargets", "xray:GetSamplingStatisticSummaries"]},
                {"Effect": "Allow", "Action": ["ssm:GetParameter"],
                 "Resource": "arn:aws:ssm:*:*:parameter/AmazonCloudWatch-*"}
            ]
        }),
        other => panic!("no action list for {other}"),
    };
    PolicyDocument::from_value(&doc).unwrap()
}

#[test]
fn doctor_requirements_hold_for_the_managed_variants() {
    for name in ["vpc-cni", "cloudwatch-observability"] {
        let docs: Vec<PolicyDocument> = managed_arns(name, &params(&[]))
            .iter()
            .map(|arn| managed_policy(arn.rsplit('/').next().unwrap()))
            .collect();
        let needed = requirements(name, &sample_place());
        assert!(!needed.is_empty(), "{name}");
        check(&docs, &allowed_cases(&needed));
    }
}
