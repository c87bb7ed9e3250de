//! The presets' policies, evaluated by the policy engine: each allows what its workload needs and
//! no more than its documented scope.

use iam_policy::context::Context;
use iam_policy::document::PolicyDocument;
use iam_policy::eval::{Decision, Request, decide};
use iam_policy::lint::{LintOptions, Severity, lint_document};
use irsa_core::presets::{self, PresetParams};

fn params(cluster: &str) -> PresetParams {
    PresetParams {
        cluster: Some(cluster.into()),
        region: Some("us-east-1".into()),
        account: Some("123456789012".into()),
        partition: None,
        ..Default::default()
    }
}

fn documents(name: &str, params: &PresetParams) -> Vec<PolicyDocument> {
    let preset = presets::find(name).unwrap();
    let rendered = (preset.render)(params).unwrap();
    rendered
        .documents
        .iter()
        .map(|(_, doc)| PolicyDocument::from_value(doc).unwrap())
        .collect()
}

fn decision(docs: &[PolicyDocument], action: &str, resource: &str, ctx: &Context) -> Decision {
    let refs: Vec<&PolicyDocument> = docs.iter().collect();
    decide(
        &refs,
        &Request {
            principal: None,
            action,
            resource: Some(resource),
            context: ctx,
        },
    )
}

const ASG: &str = "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:6d3a1c2e-0000-4000-8000-000000000000:autoScalingGroupName/eks-ng-1";

#[test]
fn cluster_autoscaler_scales_only_this_clusters_tagged_groups() {
    let docs = documents("cluster-autoscaler", &params("demo"));
    let owned = Context::new()
        .with("aws:ResourceTag/k8s.io/cluster-autoscaler/demo", "owned")
        .with("aws:ResourceTag/k8s.io/cluster-autoscaler/enabled", "true");
    let other_cluster = Context::new()
        .with("aws:ResourceTag/k8s.io/cluster-autoscaler/prod", "owned")
        .with("aws:ResourceTag/k8s.io/cluster-autoscaler/enabled", "true");
    let not_enabled =
        Context::new().with("aws:ResourceTag/k8s.io/cluster-autoscaler/demo", "owned");
    for action in [
        "autoscaling:SetDesiredCapacity",
        "autoscaling:TerminateInstanceInAutoScalingGroup",
    ] {
        assert_eq!(
            decision(&docs, action, ASG, &owned),
            Decision::Allow,
            "{action}"
        );
        assert_eq!(
            decision(&docs, action, ASG, &other_cluster),
            Decision::ImplicitDeny,
            "{action}"
        );
        assert_eq!(
            decision(&docs, action, ASG, &not_enabled),
            Decision::ImplicitDeny,
            "{action}"
        );
    }
    for action in [
        "autoscaling:DescribeAutoScalingGroups",
        "ec2:DescribeInstanceTypes",
        "eks:DescribeNodegroup",
        "ec2:GetInstanceTypesFromInstanceRequirements",
    ] {
        assert_eq!(
            decision(&docs, action, "*", &Context::new()),
            Decision::Allow,
            "{action}"
        );
    }
    assert_eq!(
        decision(&docs, "autoscaling:DescribeTags", "*", &Context::new()),
        Decision::ImplicitDeny
    );
    assert_eq!(
        decision(&docs, "autoscaling:DeleteAutoScalingGroup", ASG, &owned),
        Decision::ImplicitDeny
    );
}

#[test]
fn rendered_documents_lint_clean_at_high() {
    for preset in presets::catalog() {
        let p = PresetParams {
            options: preset.example_option_map(),
            ..params("demo")
        };
        let rendered = (preset.render)(&p).unwrap_or_else(|e| panic!("{}: {e}", preset.name));
        for (suffix, doc) in &rendered.documents {
            let doc = PolicyDocument::from_value(doc).unwrap();
            let high: Vec<_> = lint_document(&doc, &LintOptions::default())
                .into_iter()
                .filter(|f| f.severity >= Severity::High)
                .collect();
            assert!(high.is_empty(), "{} {suffix}: {high:?}", preset.name);
        }
    }
}

#[test]
fn efs_custom_policy_scopes_access_points_to_driver_tags() {
    let mut p = params("demo");
    p.options.insert("policy".into(), vec!["custom".into()]);
    let docs = documents("efs-csi", &p);
    let ap = "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123";
    let fs = "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0123";
    let tagged_request = Context::new().with("aws:RequestTag/efs.csi.aws.com/cluster", "true");
    assert_eq!(
        decision(
            &docs,
            "elasticfilesystem:CreateAccessPoint",
            fs,
            &tagged_request
        ),
        Decision::Allow
    );
    assert_eq!(
        decision(
            &docs,
            "elasticfilesystem:CreateAccessPoint",
            fs,
            &Context::new()
        ),
        Decision::ImplicitDeny
    );
    let tagged_resource = Context::new().with("aws:ResourceTag/efs.csi.aws.com/cluster", "true");
    assert_eq!(
        decision(
            &docs,
            "elasticfilesystem:DeleteAccessPoint",
            ap,
            &tagged_resource
        ),
        Decision::Allow
    );
    assert_eq!(
        decision(
            &docs,
            "elasticfilesystem:DeleteAccessPoint",
            ap,
            &Context::new()
        ),
        Decision::ImplicitDeny
    );
    assert_eq!(
        decision(
            &docs,
            "elasticfilesystem:DescribeMountTargets",
            "*",
            &Context::new()
        ),
        Decision::Allow
    );
    assert_eq!(
        decision(&docs, "ec2:DescribeAvailabilityZones", "*", &Context::new()),
        Decision::Allow
    );
}

#[test]
fn ebs_kms_statements_only_for_aws_resources_grants() {
    let key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let mut p = params("demo");
    p.options.insert("kmsKeyArns".into(), vec![key.into()]);
    let docs = documents("ebs-csi", &p);
    let for_aws = Context::new().with("kms:GrantIsForAWSResource", "true");
    assert_eq!(
        decision(&docs, "kms:CreateGrant", key, &for_aws),
        Decision::Allow
    );
    assert_eq!(
        decision(&docs, "kms:CreateGrant", key, &Context::new()),
        Decision::ImplicitDeny
    );
    assert_eq!(
        decision(
            &docs,
            "kms:GenerateDataKeyWithoutPlaintext",
            key,
            &Context::new()
        ),
        Decision::Allow
    );
    assert_eq!(
        decision(
            &docs,
            "kms:Decrypt",
            "arn:aws:kms:us-east-1:123456789012:key/other",
            &Context::new()
        ),
        Decision::ImplicitDeny
    );
}
