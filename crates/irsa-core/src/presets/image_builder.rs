//! Image builds that push to and pull from Amazon ECR (eksctl's `wellKnownPolicies.imageBuilder`).
//! eksctl attaches the AWS managed `AmazonEC2ContainerRegistryPowerUser` for it
//! (eksctl-io/eksctl, `pkg/cfn/builder/iam.go`, `createWellKnownPolicies`), and so does this preset
//! by default: pull and push on every repository, no repository creation or deletion.
//! `repositoryArns` instead creates a customer-managed policy with the same ECR actions limited
//! to the given repositories (plus `ecr:GetAuthorizationToken`, which has no resource). The
//! workload has no chart of its own: irsa creates the service account and the build runs as it.

use serde_json::json;

use super::common::{
    ArnKind, managed_only, one_document, partition, reject_unknown_options, resource_arns,
};
use super::{Install, Preset, PresetError, PresetOption, PresetParams, PresetPolicies, Source};

pub(crate) const NAME: &str = "image-builder";

const OPTIONS: &[PresetOption] = &[PresetOption {
    name: "repositoryArns",
    help: "list of ECR repository ARNs (arn:aws:ecr:<region>:<account>:repository/<name>, wildcards in the name allowed) \
           to push to and pull from; default: AWS managed AmazonEC2ContainerRegistryPowerUser (every repository)",
}];

pub(crate) const PRESET: Preset = Preset {
    name: NAME,
    summary: "Image builds (eksctl imageBuilder): push/pull ECR images",
    namespace: "default",
    service_account: "image-builder",
    source: Source {
        url: "https://github.com/eksctl-io/eksctl/blob/main/pkg/cfn/builder/iam.go",
        checked: "2026-12-01",
    },
    install: Install::Manual,
    options: OPTIONS,
    render,
    helm_service_account_path: None,
    notes: &[
        "eksctl has no default service account for imageBuilder; set serviceAccount: NAMESPACE/NAME for your build jobs.",
    ],
    eksctl_well_known: Some("imageBuilder"),
    example_options: &[],
};

/// `AmazonEC2ContainerRegistryPowerUser`'s repository actions, scoped to the repositories.
const REPOSITORY_ACTIONS: &[&str] = &[
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:GetRepositoryPolicy",
    "ecr:DescribeRepositories",
    "ecr:ListImages",
    "ecr:DescribeImages",
    "ecr:BatchGetImage",
    "ecr:GetLifecyclePolicy",
    "ecr:GetLifecyclePolicyPreview",
    "ecr:ListTagsForResource",
    "ecr:DescribeImageScanFindings",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
];

const REPOSITORY: ArnKind = ArnKind {
    service: "ecr",
    resource_prefix: "repository/",
    example: "arn:aws:ecr:us-east-1:123456789012:repository/team/app",
    wildcards: true,
};

fn render(params: &PresetParams) -> Result<PresetPolicies, PresetError> {
    reject_unknown_options(NAME, params, OPTIONS)?;
    let repositories = resource_arns(NAME, params, "repositoryArns", &REPOSITORY)?;
    if repositories.is_empty() {
        return Ok(managed_only(
            partition(params),
            &["AmazonEC2ContainerRegistryPowerUser"],
        ));
    }
    Ok(one_document(
        NAME,
        vec![
            json!({
                "Sid": "GetRegistryToken",
                "Effect": "Allow",
                "Action": ["ecr:GetAuthorizationToken"],
                "Resource": "*",
            }),
            json!({
                "Sid": "PushPullRepositories",
                "Effect": "Allow",
                "Action": REPOSITORY_ACTIONS,
                "Resource": repositories,
            }),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{params_with, sids};
    use super::*;

    #[test]
    fn power_user_like_eksctl_or_scoped_repositories() {
        let managed = (PRESET.render)(&params_with(None, &[])).unwrap();
        assert_eq!(
            managed.managed_arns,
            ["arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser"]
        );
        let scoped = (PRESET.render)(&params_with(
            None,
            &[(
                "repositoryArns",
                &["arn:aws:ecr:us-east-1:123456789012:repository/app"],
            )],
        ))
        .unwrap();
        assert_eq!(
            sids(&scoped.documents[0].1),
            ["GetRegistryToken", "PushPullRepositories"]
        );
        assert!((PRESET.render)(&params_with(None, &[("repositoryArns", &["app"])])).is_err());
    }
}
