//! The IRSA bindings a cluster declares: every service account carrying the
//! `eks.amazonaws.com/role-arn` annotation, in one namespace or across all of them, read with a
//! single list call (`GET /api/v1/serviceaccounts` or `/api/v1/namespaces/{ns}/serviceaccounts`)
//! and filtered here, since annotations cannot be selected on. Returned as the snapshot's
//! [`ServiceAccount`] (labels and annotations), sorted by namespace and name, for `irsa list` and
//! `irsa verify --all` to join with IAM.

use irsa_core::snapshot::ServiceAccount;
use k8s_openapi::api::core::v1::ServiceAccount as KubeServiceAccount;
use kube::Api;
use kube::api::ListParams;

use crate::observe::to_snapshot;
use crate::workloads::ROLE_ARN_ANNOTATION;
use crate::{KubeClient, KubeError};

/// The service accounts with an `eks.amazonaws.com/role-arn` annotation (any value, even
/// empty: a blank annotation is a misconfiguration worth reporting), in `namespace` or in all
/// namespaces when `None`, sorted by namespace and name.
pub async fn list_role_service_accounts(
    client: &KubeClient,
    namespace: Option<&str>,
) -> Result<Vec<ServiceAccount>, KubeError> {
    let (api, object): (Api<KubeServiceAccount>, String) = match namespace {
        Some(ns) => (
            Api::namespaced(client.kube().clone(), ns),
            format!("service accounts in namespace {ns}"),
        ),
        None => (
            Api::all(client.kube().clone()),
            "service accounts in all namespaces".to_string(),
        ),
    };
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(|e| KubeError::api("list", object, e))?;
    let mut found: Vec<ServiceAccount> = list
        .items
        .into_iter()
        .filter(|sa| {
            sa.metadata
                .annotations
                .as_ref()
                .is_some_and(|a| a.contains_key(ROLE_ARN_ANNOTATION))
        })
        .map(|sa| {
            let ns = sa
                .metadata
                .namespace
                .clone()
                .or_else(|| namespace.map(str::to_string))
                .unwrap_or_default();
            let name = sa.metadata.name.clone().unwrap_or_default();
            to_snapshot(&ns, &name, sa)
        })
        .collect();
    found.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    Ok(found)
}
