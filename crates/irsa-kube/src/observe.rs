//! Observation for the snapshot: which of the namespaces and service accounts a plan concerns
//! exist, with the service accounts' labels and annotations. Every object is one GET, all of them
//! concurrent; a 404 means absent, any other failure is an error naming the object.

use futures::future::try_join_all;
use irsa_core::snapshot::{ServiceAccount, Tags};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount as KubeServiceAccount};
use kube::Api;

use crate::{KubeClient, KubeError};

/// What to look at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubeObserveRequest {
    /// Namespace names.
    pub namespaces: Vec<String>,
    /// (namespace, name) of service accounts.
    pub service_accounts: Vec<(String, String)>,
}

/// The requested namespaces that exist (in request order, without duplicates) and the
/// requested service accounts that exist.
pub async fn observe(
    client: &KubeClient,
    request: &KubeObserveRequest,
) -> Result<(Vec<String>, Vec<ServiceAccount>), KubeError> {
    let mut namespaces: Vec<&String> = Vec::new();
    for ns in &request.namespaces {
        if !namespaces.contains(&ns) {
            namespaces.push(ns);
        }
    }
    let mut service_accounts: Vec<&(String, String)> = Vec::new();
    for sa in &request.service_accounts {
        if !service_accounts.contains(&sa) {
            service_accounts.push(sa);
        }
    }

    let ns_api: Api<Namespace> = Api::all(client.kube().clone());
    let namespace_gets = namespaces.into_iter().map(|name| {
        let api = ns_api.clone();
        async move {
            let found = api
                .get_opt(name)
                .await
                .map_err(|e| KubeError::api("get", format!("namespace {name}"), e))?;
            Ok::<_, KubeError>(found.map(|_| name.clone()))
        }
    });
    let sa_gets = service_accounts.into_iter().map(|(namespace, name)| {
        let api: Api<KubeServiceAccount> = Api::namespaced(client.kube().clone(), namespace);
        async move {
            let found = api.get_opt(name).await.map_err(|e| {
                KubeError::api("get", format!("service account {namespace}/{name}"), e)
            })?;
            Ok::<_, KubeError>(found.map(|sa| to_snapshot(namespace, name, sa)))
        }
    });
    let (namespaces, service_accounts) =
        futures::try_join!(try_join_all(namespace_gets), try_join_all(sa_gets))?;
    Ok((
        namespaces.into_iter().flatten().collect(),
        service_accounts.into_iter().flatten().collect(),
    ))
}

/// The snapshot's view of a service account: its labels and annotations.
pub(crate) fn to_snapshot(namespace: &str, name: &str, sa: KubeServiceAccount) -> ServiceAccount {
    ServiceAccount {
        namespace: namespace.to_string(),
        name: name.to_string(),
        labels: sa
            .metadata
            .labels
            .unwrap_or_default()
            .into_iter()
            .collect::<Tags>(),
        annotations: sa
            .metadata
            .annotations
            .unwrap_or_default()
            .into_iter()
            .collect::<Tags>(),
    }
}
