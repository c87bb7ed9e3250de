//! One `GetAccountAuthorizationDetails` walk, paged (Marker / IsTruncated, 1,000 items a page),
//! with Filter `Role`, `LocalManagedPolicy` and `AWSManagedPolicy`, converted into the
//! `irsa_core` model. AWS managed policies are requested so that the documents of the ones
//! attached to roles can be audited; those attached to no role are dropped once every page is in.
//! Users and groups are not requested. Documents stay URL-encoded text until the audit parses
//! them. [`walk`] is the paged walk alone, which `irsa usage` uses for the roles' RoleLastUsed.

use std::collections::HashSet;

use aws_sdk_iam::operation::get_account_authorization_details::GetAccountAuthorizationDetailsOutput;
use aws_sdk_iam::types::EntityType;
use irsa_core::audit::AccountAuthorizationDetails;
use irsa_core::audit::model::{
    AttachedPolicy, InlinePolicy, ManagedPolicyDetail, PermissionsBoundary, PolicyText,
    PolicyVersionDetail, RoleDetail, RoleLastUsed, Tag,
};

use crate::clients::Clients;
use crate::error::AwsError;
use crate::observe::rfc3339;

pub(crate) async fn read(clients: &Clients) -> Result<AccountAuthorizationDetails, AwsError> {
    let mut details = AccountAuthorizationDetails::default();
    let filters = [
        EntityType::Role,
        EntityType::LocalManagedPolicy,
        EntityType::AwsManagedPolicy,
    ];
    walk(clients, &filters, |page| {
        details
            .role_detail_list
            .extend(page.role_detail_list().iter().map(role));
        details.policies.extend(page.policies().iter().map(policy));
    })
    .await?;
    let attached: HashSet<String> = details
        .role_detail_list
        .iter()
        .flat_map(|r| {
            r.attached_managed_policies
                .iter()
                .map(|a| a.policy_arn.clone())
        })
        .collect();
    details
        .policies
        .retain(|p| !p.is_aws_managed() || attached.contains(&p.arn));
    Ok(details)
}

/// The paged walk itself (1,000 items a page, Marker / IsTruncated), handing each page to `page`.
pub(crate) async fn walk(
    clients: &Clients,
    filters: &[EntityType],
    mut page: impl FnMut(&GetAccountAuthorizationDetailsOutput),
) -> Result<(), AwsError> {
    let mut marker = None;
    loop {
        let out = clients
            .iam
            .get_account_authorization_details()
            .set_filter(Some(filters.to_vec()))
            .max_items(1000)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("iam:GetAccountAuthorizationDetails", "account", e))?;
        page(&out);
        marker = out
            .marker()
            .filter(|m| out.is_truncated() && !m.is_empty())
            .map(str::to_string);
        if marker.is_none() {
            return Ok(());
        }
    }
}

fn role(r: &aws_sdk_iam::types::RoleDetail) -> RoleDetail {
    RoleDetail {
        path: r.path().unwrap_or("/").to_string(),
        role_name: r.role_name().unwrap_or_default().to_string(),
        arn: r.arn().unwrap_or_default().to_string(),
        create_date: r.create_date().and_then(rfc3339),
        assume_role_policy_document: r
            .assume_role_policy_document()
            .map(PolicyText::from_api_text),
        role_policy_list: r
            .role_policy_list()
            .iter()
            .filter_map(|p| {
                Some(InlinePolicy {
                    policy_name: p.policy_name()?.to_string(),
                    policy_document: PolicyText::from_api_text(p.policy_document()?),
                })
            })
            .collect(),
        attached_managed_policies: r
            .attached_managed_policies()
            .iter()
            .filter_map(|p| {
                Some(AttachedPolicy {
                    policy_name: p.policy_name().unwrap_or_default().to_string(),
                    policy_arn: p.policy_arn()?.to_string(),
                })
            })
            .collect(),
        tags: r
            .tags()
            .iter()
            .map(|t| Tag {
                key: t.key().to_string(),
                value: t.value().to_string(),
            })
            .collect(),
        role_last_used: r.role_last_used().map(|u| RoleLastUsed {
            last_used_date: u.last_used_date().and_then(rfc3339),
            region: u.region().map(str::to_string),
        }),
        permissions_boundary: r.permissions_boundary().map(|b| PermissionsBoundary {
            permissions_boundary_arn: b.permissions_boundary_arn().map(str::to_string),
        }),
    }
}

fn policy(p: &aws_sdk_iam::types::ManagedPolicyDetail) -> ManagedPolicyDetail {
    ManagedPolicyDetail {
        policy_name: p.policy_name().unwrap_or_default().to_string(),
        arn: p.arn().unwrap_or_default().to_string(),
        path: p.path().unwrap_or("/").to_string(),
        default_version_id: p.default_version_id().map(str::to_string),
        policy_version_list: p
            .policy_version_list()
            .iter()
            .map(|v| PolicyVersionDetail {
                document: v.document().map(PolicyText::from_api_text),
                version_id: v.version_id().unwrap_or_default().to_string(),
                is_default_version: v.is_default_version(),
            })
            .collect(),
        tags: None,
    }
}
