//! Observing: reads, concurrently, everything a plan needs into a [`Snapshot`]: the account and
//! partition (STS GetCallerIdentity), the cluster and its OIDC issuer (EKS DescribeCluster;
//! absent → `cluster: None`), every IAM OIDC provider (ListOpenIDConnectProviders, then
//! GetOpenIDConnectProvider each, which carries the tags), the named roles (GetRole, which carries
//! tags and the URL-encoded trust policy, then ListAttachedRolePolicies and ListRolePolicies for a
//! role that exists), the named customer-managed policies (GetPolicy, which carries the tags and the
//! default version id, then GetPolicyVersion of the default and ListPolicyVersions for a policy
//! that exists), the named EKS add-ons (DescribeAddon) and the cluster's EKS Pod Identity
//! associations in scope ([`crate::pod_identity`]). Absent roles, policies and add-ons
//! (NoSuchEntity, ResourceNotFoundException) are left out of the snapshot, not errors.
//!
//! Critical path: two sequential rounds. Round 1 issues every independent call at once (STS,
//! DescribeCluster, ListOpenIDConnectProviders, GetRole, GetPolicy and the add-on calls); round 2
//! holds only what needs a round-1 answer and only for what exists: GetOpenIDConnectProvider per
//! listed ARN, the role's two List calls, the policy's version calls, and the GetPolicy of
//! policies named without their account ([`ObserveRequest::own_policies`]), whose versions of
//! an existing one are then a third round on that chain only. List calls page with the
//! largest page size (a role has at most 20 attached policies by quota, so a second page does not
//! happen in practice). At most [`Options::max_concurrency`](crate::Options) requests are in
//! flight. Calls: 3 + providers + roles + 2 × existing roles + policies + 2 × existing policies +
//! add-ons; a first apply of N new bindings reads N roles with N calls.

use std::future::Future;

use aws_sdk_iam::types::Tag;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use futures_util::future::try_join_all;
use irsa_core::snapshot::{
    Addon, Cluster, ManagedPolicy, OidcProvider, PolicyVersion, Role, Snapshot, Tags,
    issuer_host_path,
};
use tokio::sync::Semaphore;

use crate::clients::Clients;
use crate::error::{AwsError, ErrorKind, all_items};

/// What to look at besides the account-wide state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObserveRequest {
    pub cluster: String,
    pub role_names: Vec<String>,
    pub policy_arns: Vec<String>,
    /// Customer-managed policies of the caller's account as (path, name), when the account is
    /// not known beforehand: their ARNs are built from STS's answer, so only these reads wait
    /// for it (one round later), not the whole observation.
    pub own_policies: Vec<(String, String)>,
    pub addon_names: Vec<String>,
    /// Which EKS Pod Identity associations to read.
    pub associations: crate::pod_identity::AssociationScope,
}

/// Reads the snapshot (see the module doc for the calls and their order).
pub async fn observe(clients: &Clients, request: &ObserveRequest) -> Result<Snapshot, AwsError> {
    let limit = Semaphore::new(clients.options().max_concurrency.max(1));
    let limit = &limit;
    let identity_then_own_policies = async {
        let (account, partition) = limited(limit, caller_identity(clients)).await?;
        let own = try_join_all(request.own_policies.iter().map(|(path, name)| {
            let arn = irsa_core::desired::policy_arn(&partition, &account, path, name);
            async move { observe_policy(clients, limit, &arn).await }
        }))
        .await?;
        Ok::<_, AwsError>(((account, partition), own))
    };
    let ((identity, own_policies), cluster, oidc_providers, roles, policies, addons, associations) =
        tokio::try_join!(
            identity_then_own_policies,
            limited(limit, observe_cluster(clients, &request.cluster)),
            observe_providers(clients, limit),
            try_join_all(
                request
                    .role_names
                    .iter()
                    .map(|name| observe_role(clients, limit, name))
            ),
            try_join_all(
                request
                    .policy_arns
                    .iter()
                    .map(|arn| observe_policy(clients, limit, arn))
            ),
            try_join_all(
                request
                    .addon_names
                    .iter()
                    .map(|name| limited(limit, observe_addon(clients, &request.cluster, name)))
            ),
            crate::pod_identity::observe_associations(
                clients,
                limit,
                &request.cluster,
                &request.associations
            ),
        )?;
    let (account, partition) = identity;
    Ok(Snapshot {
        account,
        partition,
        region: clients.region.clone(),
        cluster,
        oidc_providers,
        roles: roles.into_iter().flatten().collect(),
        policies: policies.into_iter().chain(own_policies).flatten().collect(),
        addons: addons.into_iter().flatten().collect(),
        pod_identity_associations: associations,
        namespaces: Vec::new(),
        service_accounts: Vec::new(),
        files: Default::default(),
        role_trusts: None,
    })
}

/// Runs `future` while holding one of the semaphore's permits.
pub(crate) async fn limited<T>(limit: &Semaphore, future: impl Future<Output = T>) -> T {
    let _permit = limit
        .acquire()
        .await
        .expect("the semaphore is never closed");
    future.await
}

/// `Ok(None)` for NotFound.
pub(crate) fn absent_if_not_found<T>(result: Result<T, AwsError>) -> Result<Option<T>, AwsError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

pub(crate) fn invalid(
    operation: &'static str,
    resource: &str,
    message: impl Into<String>,
) -> AwsError {
    AwsError::new(ErrorKind::InvalidResponse, operation, resource, message)
}

/// The caller's account and partition (STS GetCallerIdentity, which needs no permission).
pub async fn caller_identity(clients: &Clients) -> Result<(String, String), AwsError> {
    const OP: &str = "sts:GetCallerIdentity";
    let out = clients
        .sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(OP, "caller", e))?;
    let account = out
        .account()
        .ok_or_else(|| invalid(OP, "caller", "no Account in the answer"))?
        .to_string();
    let arn = out.arn().unwrap_or_default();
    let partition = arn
        .split(':')
        .nth(1)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            invalid(
                OP,
                "caller",
                format!("cannot read the partition from the ARN {arn:?}"),
            )
        })?;
    Ok((account, partition.to_string()))
}

async fn observe_cluster(clients: &Clients, name: &str) -> Result<Option<Cluster>, AwsError> {
    let result = clients
        .eks
        .describe_cluster()
        .name(name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("eks:DescribeCluster", name, e));
    let Some(out) = absent_if_not_found(result)? else {
        return Ok(None);
    };
    let cluster = out
        .cluster()
        .ok_or_else(|| invalid("eks:DescribeCluster", name, "no cluster in the answer"))?;
    Ok(Some(Cluster {
        name: cluster.name().unwrap_or(name).to_string(),
        arn: cluster.arn().unwrap_or_default().to_string(),
        issuer_url: cluster
            .identity()
            .and_then(|i| i.oidc())
            .and_then(|o| o.issuer())
            .map(str::to_string),
        status: cluster
            .status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        version: cluster.version().map(str::to_string),
    }))
}

async fn observe_providers(
    clients: &Clients,
    limit: &Semaphore,
) -> Result<Vec<OidcProvider>, AwsError> {
    const OP: &str = "iam:ListOpenIDConnectProviders";
    let list = limited(limit, clients.iam.list_open_id_connect_providers().send())
        .await
        .map_err(|e| AwsError::from_sdk(OP, "account", e))?;
    let arns: Vec<String> = list
        .open_id_connect_provider_list()
        .iter()
        .filter_map(|p| p.arn().map(str::to_string))
        .collect();
    let providers = try_join_all(
        arns.iter()
            .map(|arn| limited(limit, observe_provider(clients, arn))),
    )
    .await?;
    Ok(providers.into_iter().flatten().collect())
}

async fn observe_provider(clients: &Clients, arn: &str) -> Result<Option<OidcProvider>, AwsError> {
    let result = clients
        .iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:GetOpenIDConnectProvider", arn, e));
    // Deleted between the list and the get.
    let Some(out) = absent_if_not_found(result)? else {
        return Ok(None);
    };
    Ok(Some(OidcProvider {
        arn: arn.to_string(),
        url: issuer_host_path(out.url().unwrap_or_default()).to_string(),
        client_ids: out.client_id_list().to_vec(),
        thumbprints: out.thumbprint_list().to_vec(),
        tags: tags(out.tags()),
    }))
}

pub(crate) async fn observe_role(
    clients: &Clients,
    limit: &Semaphore,
    name: &str,
) -> Result<Option<Role>, AwsError> {
    let role = limited(limit, async {
        clients
            .iam
            .get_role()
            .role_name(name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("iam:GetRole", name, e))
    })
    .await;
    let Some(out) = absent_if_not_found(role)? else {
        return Ok(None);
    };
    // Only a role that exists has attachments to list: an absent role costs one call, not three.
    let (attached, inline) = tokio::join!(
        limited(limit, attached_policies(clients, name)),
        limited(limit, inline_policies(clients, name))
    );
    let (Some(attached_policy_arns), Some(inline_policy_names)) =
        (absent_if_not_found(attached)?, absent_if_not_found(inline)?)
    else {
        // Deleted while we looked.
        return Ok(None);
    };
    let role = out
        .role()
        .ok_or_else(|| invalid("iam:GetRole", name, "no Role in the answer"))?;
    let trust_policy = decode_document(
        "iam:GetRole",
        name,
        role.assume_role_policy_document().unwrap_or("{}"),
    )?;
    Ok(Some(Role {
        name: role.role_name().to_string(),
        arn: role.arn().to_string(),
        path: role.path().to_string(),
        trust_policy,
        permissions_boundary: role
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn())
            .map(str::to_string),
        tags: tags(role.tags()),
        attached_policy_arns,
        inline_policy_names,
        last_used: role
            .role_last_used()
            .and_then(|u| u.last_used_date())
            .and_then(rfc3339),
    }))
}

async fn attached_policies(clients: &Clients, role: &str) -> Result<Vec<String>, AwsError> {
    let attached: Vec<_> = all_items(
        clients
            .iam
            .list_attached_role_policies()
            .role_name(role)
            .max_items(1000)
            .into_paginator()
            .items()
            .send(),
        "iam:ListAttachedRolePolicies",
        role,
    )
    .await?;
    Ok(attached
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect())
}

async fn inline_policies(clients: &Clients, role: &str) -> Result<Vec<String>, AwsError> {
    all_items(
        clients
            .iam
            .list_role_policies()
            .role_name(role)
            .max_items(1000)
            .into_paginator()
            .items()
            .send(),
        "iam:ListRolePolicies",
        role,
    )
    .await
}

/// The roles `names` (absent ones left out), read as [`observe`] reads them: GetRole, then the
/// attached and inline policy lists of those that exist.
pub async fn observe_roles(clients: &Clients, names: &[String]) -> Result<Vec<Role>, AwsError> {
    let limit = Semaphore::new(clients.options().max_concurrency.max(1));
    let roles = try_join_all(names.iter().map(|name| observe_role(clients, &limit, name))).await?;
    Ok(roles.into_iter().flatten().collect())
}

/// The customer- or AWS-managed policies `arns` (absent ones left out), read as [`observe`]
/// reads them: GetPolicy, then the default version's document and the version list.
pub async fn observe_policies(
    clients: &Clients,
    arns: &[String],
) -> Result<Vec<ManagedPolicy>, AwsError> {
    let limit = Semaphore::new(clients.options().max_concurrency.max(1));
    let policies =
        try_join_all(arns.iter().map(|arn| observe_policy(clients, &limit, arn))).await?;
    Ok(policies.into_iter().flatten().collect())
}

pub(crate) async fn observe_policy(
    clients: &Clients,
    limit: &Semaphore,
    arn: &str,
) -> Result<Option<ManagedPolicy>, AwsError> {
    let policy = limited(limit, async {
        clients
            .iam
            .get_policy()
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("iam:GetPolicy", arn, e))
    })
    .await;
    let Some(out) = absent_if_not_found(policy)? else {
        return Ok(None);
    };
    let policy = out
        .policy()
        .ok_or_else(|| invalid("iam:GetPolicy", arn, "no Policy in the answer"))?;
    let default_version_id = policy
        .default_version_id()
        .ok_or_else(|| invalid("iam:GetPolicy", arn, "no DefaultVersionId"))?
        .to_string();
    // Round 2, both knowing the policy exists and its default version.
    let (version, versions) = tokio::join!(
        limited(
            limit,
            clients
                .iam
                .get_policy_version()
                .policy_arn(arn)
                .version_id(&default_version_id)
                .send(),
        ),
        limited(limit, policy_versions(clients, arn))
    );
    let version = version.map_err(|e| {
        AwsError::from_sdk(
            "iam:GetPolicyVersion",
            format!("{arn} {default_version_id}"),
            e,
        )
    });
    // Deleted while we looked.
    let (Some(version), Some(versions)) = (
        absent_if_not_found(version)?,
        absent_if_not_found(versions)?,
    ) else {
        return Ok(None);
    };
    let text = version
        .policy_version()
        .and_then(|v| v.document())
        .ok_or_else(|| invalid("iam:GetPolicyVersion", arn, "no Document in the answer"))?;
    Ok(Some(ManagedPolicy {
        name: policy.policy_name().unwrap_or_default().to_string(),
        arn: arn.to_string(),
        path: policy.path().unwrap_or("/").to_string(),
        document: decode_document("iam:GetPolicyVersion", arn, text)?,
        default_version_id,
        versions,
        tags: tags(policy.tags()),
        attachment_count: policy
            .attachment_count()
            .and_then(|n| u32::try_from(n).ok()),
    }))
}

/// Every version, oldest first (IAM lists them newest first; ids are `v1`, `v2`, … in creation
/// order).
async fn policy_versions(clients: &Clients, arn: &str) -> Result<Vec<PolicyVersion>, AwsError> {
    let listed: Vec<_> = all_items(
        clients
            .iam
            .list_policy_versions()
            .policy_arn(arn)
            .max_items(1000)
            .into_paginator()
            .items()
            .send(),
        "iam:ListPolicyVersions",
        arn,
    )
    .await?;
    let mut versions: Vec<PolicyVersion> = listed
        .iter()
        .map(|v| PolicyVersion {
            id: v.version_id().unwrap_or_default().to_string(),
            is_default: v.is_default_version(),
            created: v.create_date().and_then(rfc3339).unwrap_or_default(),
        })
        .collect();
    oldest_first(&mut versions);
    Ok(versions)
}

/// Sorts versions oldest first: by the number in the id (`v1`, `v2`, …), then the date.
pub(crate) fn oldest_first(versions: &mut [PolicyVersion]) {
    versions.sort_by_key(|v| {
        (
            v.id.trim_start_matches('v')
                .parse::<u64>()
                .unwrap_or(u64::MAX),
            v.created.clone(),
        )
    });
}

async fn observe_addon(
    clients: &Clients,
    cluster: &str,
    name: &str,
) -> Result<Option<Addon>, AwsError> {
    let resource = format!("{cluster}/{name}");
    let result = clients
        .eks
        .describe_addon()
        .cluster_name(cluster)
        .addon_name(name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("eks:DescribeAddon", resource.as_str(), e));
    let Some(out) = absent_if_not_found(result)? else {
        return Ok(None);
    };
    let addon = out
        .addon()
        .ok_or_else(|| invalid("eks:DescribeAddon", &resource, "no addon in the answer"))?;
    Ok(Some(Addon {
        name: addon.addon_name().unwrap_or(name).to_string(),
        status: addon
            .status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        service_account_role_arn: addon.service_account_role_arn().map(str::to_string),
        version: addon.addon_version().map(str::to_string),
        arn: addon.addon_arn().unwrap_or_default().to_string(),
        tags: addon
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
    }))
}

pub(crate) fn tags(tags: &[Tag]) -> Tags {
    tags.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

pub(crate) fn rfc3339(date: &DateTime) -> Option<String> {
    date.fmt(Format::DateTime).ok()
}

/// IAM returns documents URL-encoded (moto sometimes raw): decode, then parse the JSON.
pub(crate) fn decode_document(
    operation: &'static str,
    resource: &str,
    text: &str,
) -> Result<serde_json::Value, AwsError> {
    let decoded = iam_policy::document::decode_document_text(text).map_err(|e| {
        invalid(
            operation,
            resource,
            format!("cannot decode the policy document: {e}"),
        )
    })?;
    serde_json::from_str(&decoded).map_err(|e| {
        invalid(
            operation,
            resource,
            format!("the policy document is not JSON: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_url_encoded_and_raw_documents() {
        let raw = r#"{"Version":"2012-10-17","Statement":[]}"#;
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        let expected = serde_json::json!({ "Version": "2012-10-17", "Statement": [] });
        assert_eq!(decode_document("iam:GetRole", "r", raw).unwrap(), expected);
        assert_eq!(
            decode_document("iam:GetRole", "r", encoded).unwrap(),
            expected
        );
        let err = decode_document("iam:GetRole", "r", "%7Bnot").unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidResponse);
        assert!(err.to_string().starts_with("iam:GetRole r: "), "{err}");
    }
}
