//! The account-wide read for `irsa audit`, never per role: one `GetAccountAuthorizationDetails`
//! walk ([`crate::authorization_details`]), `ListOpenIDConnectProviders` (one call), the
//! clusters (`eks:ListClusters`, paged, then `DescribeCluster` for each, or only for the
//! `--cluster` names) and CloudTrail of the region (`DescribeTrails` with shadow trails, then
//! `GetTrailStatus` per trail: [`crate::trails`]) and, for each `--cluster` name, its EKS Pod
//! Identity associations (one paged `ListPodIdentityAssociations` walk, then
//! `DescribePodIdentityAssociation` per association: [`crate::pod_identity`]; the summaries name
//! no role). They run concurrently. With required tag
//! keys, `ListPolicyTags` is called for each customer-managed policy attached to a role
//! (GetAccountAuthorizationDetails carries role tags but not policy tags). No decision is made
//! here: the result feeds `irsa_core::audit`.

use std::collections::BTreeMap;

use futures_util::future::try_join_all;
use irsa_core::audit::model::Tag;
use irsa_core::audit::{AccountAuthorizationDetails, CloudTrailStatus, KnownCluster};
use irsa_core::snapshot::PodIdentityAssociation;
use tokio::sync::Semaphore;

use crate::clients::Clients;
use crate::error::{AwsError, all_items};
use crate::observe::{invalid, limited};
use crate::pod_identity::{AssociationScope, observe_associations};

/// What to read besides the account-wide state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountRequest {
    /// Describe only these clusters, and read their Pod Identity associations; `None`: every
    /// cluster of the region, and no associations.
    pub clusters: Option<Vec<String>>,
    /// Read the tags of attached customer-managed policies (for required-tag checks).
    pub policy_tags: bool,
}

/// Everything the live audit knows.
#[derive(Debug)]
pub struct AccountObservation {
    pub details: AccountAuthorizationDetails,
    /// Clusters with an OIDC issuer (clusters without one cannot use IRSA and are left out).
    pub clusters: Vec<KnownCluster>,
    pub oidc_provider_arns: Vec<String>,
    pub cloudtrail: CloudTrailStatus,
    /// Cluster name → its described Pod Identity associations, for the named clusters; `None`
    /// when no cluster was named.
    pub pod_identity_associations: Option<BTreeMap<String, Vec<PodIdentityAssociation>>>,
}

/// Reads the account (see the module doc for the calls).
pub async fn observe_account(
    clients: &Clients,
    request: &AccountRequest,
) -> Result<AccountObservation, AwsError> {
    let limit = Semaphore::new(clients.options().max_concurrency.max(1));
    let limit = &limit;
    // A named cluster is described before its associations are read, so one that does not
    // exist fails as DescribeCluster.
    let names = request.clusters.as_deref();
    let clusters_and_associations = async {
        let clusters = observe_clusters(clients, limit, names).await?;
        Ok((clusters, associations_of(clients, limit, names).await?))
    };
    let (mut details, (clusters, pod_identity_associations), oidc_provider_arns, cloudtrail) = tokio::try_join!(
        crate::authorization_details::read(clients),
        clusters_and_associations,
        limited(limit, provider_arns(clients)),
        crate::trails::observe(clients, limit),
    )?;
    if request.policy_tags {
        read_policy_tags(clients, limit, &mut details).await?;
    }
    Ok(AccountObservation {
        details,
        clusters,
        oidc_provider_arns,
        cloudtrail,
        pod_identity_associations,
    })
}

/// Every association of each named cluster (none read without names).
async fn associations_of(
    clients: &Clients,
    limit: &Semaphore,
    names: Option<&[String]>,
) -> Result<Option<BTreeMap<String, Vec<PodIdentityAssociation>>>, AwsError> {
    let Some(names) = names else {
        return Ok(None);
    };
    let read = try_join_all(
        names
            .iter()
            .map(|name| observe_associations(clients, limit, name, &AssociationScope::All)),
    )
    .await?;
    Ok(Some(names.iter().cloned().zip(read).collect()))
}

async fn provider_arns(clients: &Clients) -> Result<Vec<String>, AwsError> {
    let out = clients
        .iam
        .list_open_id_connect_providers()
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:ListOpenIDConnectProviders", "account", e))?;
    Ok(out
        .open_id_connect_provider_list()
        .iter()
        .filter_map(|p| p.arn().map(str::to_string))
        .collect())
}

async fn observe_clusters(
    clients: &Clients,
    limit: &Semaphore,
    names: Option<&[String]>,
) -> Result<Vec<KnownCluster>, AwsError> {
    let names = match names {
        Some(names) => names.to_vec(),
        None => limited(limit, list_clusters(clients)).await?,
    };
    let clusters = try_join_all(
        names
            .iter()
            .map(|name| limited(limit, describe_cluster(clients, name))),
    )
    .await?;
    Ok(clusters.into_iter().flatten().collect())
}

async fn list_clusters(clients: &Clients) -> Result<Vec<String>, AwsError> {
    all_items(
        clients.eks.list_clusters().into_paginator().items().send(),
        "eks:ListClusters",
        clients.region.as_str(),
    )
    .await
}

/// The cluster and its issuer; `None` when it has no issuer. A named cluster that does not
/// exist is an error (the user asked for it).
async fn describe_cluster(clients: &Clients, name: &str) -> Result<Option<KnownCluster>, AwsError> {
    const OP: &str = "eks:DescribeCluster";
    let out = clients
        .eks
        .describe_cluster()
        .name(name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(OP, name, e))?;
    let cluster = out
        .cluster()
        .ok_or_else(|| invalid(OP, name, "no cluster in the answer"))?;
    Ok(cluster
        .identity()
        .and_then(|i| i.oidc())
        .and_then(|o| o.issuer())
        .map(|issuer| KnownCluster::new(cluster.name().unwrap_or(name), issuer)))
}

async fn read_policy_tags(
    clients: &Clients,
    limit: &Semaphore,
    details: &mut AccountAuthorizationDetails,
) -> Result<(), AwsError> {
    let attached: std::collections::HashSet<&str> = details
        .role_detail_list
        .iter()
        .flat_map(|r| {
            r.attached_managed_policies
                .iter()
                .map(|a| a.policy_arn.as_str())
        })
        .collect();
    let wanted: Vec<String> = details
        .policies
        .iter()
        .filter(|p| !p.is_aws_managed() && attached.contains(p.arn.as_str()))
        .map(|p| p.arn.clone())
        .collect();
    let tags = try_join_all(
        wanted
            .iter()
            .map(|arn| limited(limit, policy_tags(clients, arn))),
    )
    .await?;
    for (arn, tags) in wanted.iter().zip(tags) {
        if let Some(policy) = details.policies.iter_mut().find(|p| &p.arn == arn) {
            policy.tags = Some(tags);
        }
    }
    Ok(())
}

async fn policy_tags(clients: &Clients, arn: &str) -> Result<Vec<Tag>, AwsError> {
    let tags: Vec<_> = all_items(
        clients
            .iam
            .list_policy_tags()
            .policy_arn(arn)
            .into_paginator()
            .items()
            .send(),
        "iam:ListPolicyTags",
        arn,
    )
    .await?;
    Ok(tags
        .iter()
        .map(|t| Tag {
            key: t.key().to_string(),
            value: t.value().to_string(),
        })
        .collect())
}
