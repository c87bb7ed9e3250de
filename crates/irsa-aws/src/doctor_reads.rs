//! The reads `irsa doctor` needs beyond [`observe`](crate::observe()): the inline policy
//! documents of the roles it follows (GetRolePolicy each, concurrently: ListRolePolicies in the
//! observe round already named them) and the region's Auto Scaling groups that carry one of the
//! Cluster Autoscaler's auto-discovery tag keys (DescribeAutoScalingGroups with a `tag-key`
//! filter, paged by 100), with their tags; for EKS Pod Identity, whether an installed add-on's
//! version supports it (DescribeAddonConfiguration: its `podIdentityConfiguration` is empty
//! before the add-on's first version with Pod Identity).

use futures_util::future::try_join_all;
use irsa_core::presets::requirements::{
    AUTOSCALER_ENABLED_TAG, AutoScalingGroup, autoscaler_cluster_tag,
};

use crate::clients::Clients;
use crate::error::{AwsError, all_items};
use crate::observe::decode_document;

/// `(policy name, document)` of each named inline policy of `role`.
pub async fn inline_policies(
    clients: &Clients,
    role: &str,
    names: &[String],
) -> Result<Vec<(String, serde_json::Value)>, AwsError> {
    try_join_all(names.iter().map(|name| async move {
        let out = clients
            .iam
            .get_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("iam:GetRolePolicy", format!("{role} {name}"), e))?;
        let document = decode_document("iam:GetRolePolicy", role, out.policy_document())?;
        Ok::<_, AwsError>((name.clone(), document))
    }))
    .await
}

/// The groups carrying `k8s.io/cluster-autoscaler/enabled` or `k8s.io/cluster-autoscaler/<cluster>`.
pub async fn autoscaler_groups(
    clients: &Clients,
    cluster: &str,
) -> Result<Vec<AutoScalingGroup>, AwsError> {
    let filter = aws_sdk_autoscaling::types::Filter::builder()
        .name("tag-key")
        .values(AUTOSCALER_ENABLED_TAG)
        .values(autoscaler_cluster_tag(cluster))
        .build();
    let groups: Vec<_> = all_items(
        clients
            .autoscaling
            .describe_auto_scaling_groups()
            .filters(filter)
            .max_records(100)
            .into_paginator()
            .items()
            .send(),
        "autoscaling:DescribeAutoScalingGroups",
        cluster,
    )
    .await?;
    Ok(groups
        .iter()
        .map(|group| AutoScalingGroup {
            name: group
                .auto_scaling_group_name()
                .unwrap_or_default()
                .to_string(),
            arn: group
                .auto_scaling_group_arn()
                .unwrap_or_default()
                .to_string(),
            tags: group
                .tags()
                .iter()
                .filter_map(|t| {
                    Some((
                        t.key()?.to_string(),
                        t.value().unwrap_or_default().to_string(),
                    ))
                })
                .collect(),
        })
        .collect())
}

/// Whether version `version` of EKS add-on `addon` supports EKS Pod Identity: the
/// `podIdentityConfiguration` DescribeAddonConfiguration returns lists its service accounts.
pub async fn addon_supports_pod_identity(
    clients: &Clients,
    addon: &str,
    version: &str,
) -> Result<bool, AwsError> {
    let out = clients
        .eks
        .describe_addon_configuration()
        .addon_name(addon)
        .addon_version(version)
        .send()
        .await
        .map_err(|e| {
            AwsError::from_sdk(
                "eks:DescribeAddonConfiguration",
                format!("{addon} {version}"),
                e,
            )
        })?;
    Ok(!out.pod_identity_configuration().is_empty())
}
