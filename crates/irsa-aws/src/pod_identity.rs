//! Reading a cluster's EKS Pod Identity associations: one paged ListPodIdentityAssociations walk
//! (100 a page, the API's largest), then DescribePodIdentityAssociation, concurrently, for the
//! ones in scope (the summaries carry no role, tags or options). A cluster EKS does not know
//! answers with none. Calls: pages + described associations.

use std::collections::BTreeSet;

use aws_sdk_eks::types::PodIdentityAssociationSummary;
use futures_util::future::try_join_all;
use irsa_core::snapshot::{PodIdentityAssociation, Tags};
use tokio::sync::Semaphore;

use crate::clients::Clients;
use crate::error::{AwsError, all_items};
use crate::observe::{absent_if_not_found, limited};

/// Which associations to describe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AssociationScope {
    /// None: do not read associations at all.
    #[default]
    None,
    /// Those of these (namespace, service account) pairs.
    Subjects(BTreeSet<(String, String)>),
    /// Every association of the cluster (destroy, list, doctor --all).
    All,
}

impl AssociationScope {
    /// Whether the association of `namespace/service_account` is in scope.
    pub fn contains(&self, namespace: &str, service_account: &str) -> bool {
        match self {
            AssociationScope::All => true,
            AssociationScope::Subjects(subjects) => {
                subjects.contains(&(namespace.to_string(), service_account.to_string()))
            }
            AssociationScope::None => false,
        }
    }
}

/// The described associations of `cluster` in `scope`.
pub async fn observe_associations(
    clients: &Clients,
    limit: &Semaphore,
    cluster: &str,
    scope: &AssociationScope,
) -> Result<Vec<PodIdentityAssociation>, AwsError> {
    if *scope == AssociationScope::None {
        return Ok(Vec::new());
    }
    let summaries = limited(limit, list_summaries(clients, cluster)).await?;
    let wanted = summaries.iter().filter(|s| {
        scope.contains(
            s.namespace().unwrap_or_default(),
            s.service_account().unwrap_or_default(),
        )
    });
    let described = try_join_all(
        wanted
            .filter_map(|s| s.association_id())
            .map(|id| limited(limit, describe_association(clients, cluster, id))),
    )
    .await?;
    Ok(described.into_iter().flatten().collect())
}

/// Every association summary of `cluster`, paged (none for a cluster EKS does not know).
async fn list_summaries(
    clients: &Clients,
    cluster: &str,
) -> Result<Vec<PodIdentityAssociationSummary>, AwsError> {
    let listed = all_items(
        clients
            .eks
            .list_pod_identity_associations()
            .cluster_name(cluster)
            .max_results(100)
            .into_paginator()
            .items()
            .send(),
        "eks:ListPodIdentityAssociations",
        cluster,
    )
    .await;
    Ok(absent_if_not_found(listed)?.unwrap_or_default())
}

/// [`observe_associations`] on its own, at most [`Options::max_concurrency`](crate::Options)
/// requests in flight.
pub async fn read_associations(
    clients: &Clients,
    cluster: &str,
    scope: &AssociationScope,
) -> Result<Vec<PodIdentityAssociation>, AwsError> {
    let limit = Semaphore::new(clients.options().max_concurrency.max(1));
    observe_associations(clients, &limit, cluster, scope).await
}

/// DescribePodIdentityAssociation as plain data (`None` when it went away meanwhile).
pub async fn describe_association(
    clients: &Clients,
    cluster: &str,
    association_id: &str,
) -> Result<Option<PodIdentityAssociation>, AwsError> {
    let result = clients
        .eks
        .describe_pod_identity_association()
        .cluster_name(cluster)
        .association_id(association_id)
        .send()
        .await
        .map_err(|e| {
            AwsError::from_sdk(
                "eks:DescribePodIdentityAssociation",
                format!("{cluster}/{association_id}"),
                e,
            )
        });
    let Some(out) = absent_if_not_found(result)? else {
        return Ok(None);
    };
    Ok(out.association().map(|a| PodIdentityAssociation {
        association_id: a.association_id().unwrap_or(association_id).to_string(),
        association_arn: a.association_arn().unwrap_or_default().to_string(),
        namespace: a.namespace().unwrap_or_default().to_string(),
        service_account: a.service_account().unwrap_or_default().to_string(),
        role_arn: a.role_arn().unwrap_or_default().to_string(),
        target_role_arn: a
            .target_role_arn()
            .filter(|t| !t.is_empty())
            .map(str::to_string),
        disable_session_tags: a.disable_session_tags().unwrap_or(false),
        policy: a.policy().filter(|p| !p.is_empty()).map(str::to_string),
        tags: a
            .tags()
            .map(|t| {
                t.iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<Tags>()
            })
            .unwrap_or_default(),
        owner_arn: a.owner_arn().filter(|o| !o.is_empty()).map(str::to_string),
        external_id: a.external_id().map(str::to_string),
    }))
}
