//! Executes the Kubernetes steps of a plan, one request each, so that running a step again (an
//! interrupted apply, a repeated destroy) is harmless:
//! - `CreateNamespace`: POST; "already exists" counts as done.
//! - `ApplyServiceAccount`: with `create`, POST the service account with the given labels and
//!   annotations (an existing one is an error: the plan did not know it, so irsa may not own it);
//!   otherwise a JSON merge patch (RFC 7386) of exactly the given keys, `None` sent as `null` so
//!   the key is removed: labels and annotations irsa does not name are never touched.
//! - `DeleteServiceAccount`: DELETE; "not found" counts as done.
//!
//! Any other step is refused with [`KubeError::NotAKubernetesStep`].

use std::collections::BTreeMap;

use irsa_core::steps::Step;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Map, Value, json};

use crate::error::{is_already_exists, is_not_found};
use crate::{KubeClient, KubeError};

/// Runs one step against the cluster.
pub async fn execute(client: &KubeClient, step: &Step) -> Result<(), KubeError> {
    match step {
        Step::CreateNamespace { name } => create_namespace(client, name).await,
        Step::ApplyServiceAccount {
            namespace,
            name,
            create,
            labels,
            annotations,
        } => {
            if *create {
                create_service_account(client, namespace, name, labels, annotations).await
            } else {
                patch_service_account(client, namespace, name, labels, annotations).await
            }
        }
        Step::DeleteServiceAccount { namespace, name } => {
            delete_service_account(client, namespace, name).await
        }
        other => Err(KubeError::NotAKubernetesStep(step_name(other))),
    }
}

/// The step's tag as it appears in JSON plans (`create-role`).
fn step_name(step: &Step) -> String {
    serde_json::to_value(step)
        .ok()
        .and_then(|v| v["step"].as_str().map(str::to_string))
        .unwrap_or_else(|| "this step".into())
}

async fn create_namespace(client: &KubeClient, name: &str) -> Result<(), KubeError> {
    let api: Api<Namespace> = Api::all(client.kube().clone());
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            ..Default::default()
        },
        ..Default::default()
    };
    match api.create(&PostParams::default(), &namespace).await {
        Ok(_) => Ok(()),
        Err(e) if is_already_exists(&e) => Ok(()),
        Err(e) => Err(KubeError::api("create", format!("namespace {name}"), e)),
    }
}

fn present(pairs: &[(String, Option<String>)]) -> Option<BTreeMap<String, String>> {
    let map: BTreeMap<String, String> = pairs
        .iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
        .collect();
    (!map.is_empty()).then_some(map)
}

async fn create_service_account(
    client: &KubeClient,
    namespace: &str,
    name: &str,
    labels: &[(String, Option<String>)],
    annotations: &[(String, Option<String>)],
) -> Result<(), KubeError> {
    let api: Api<ServiceAccount> = Api::namespaced(client.kube().clone(), namespace);
    let sa = ServiceAccount {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(namespace.to_string()),
            labels: present(labels),
            annotations: present(annotations),
            ..Default::default()
        },
        ..Default::default()
    };
    api.create(&PostParams::default(), &sa)
        .await
        .map_err(|e| KubeError::api("create", format!("service account {namespace}/{name}"), e))?;
    Ok(())
}

/// The merge patch for the given keys: `{"metadata":{"labels":{k: v|null},"annotations":{…}}}`.
pub fn metadata_merge_patch(
    labels: &[(String, Option<String>)],
    annotations: &[(String, Option<String>)],
) -> Value {
    let to_map = |pairs: &[(String, Option<String>)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), v.as_ref().map_or(Value::Null, |v| json!(v))))
            .collect::<Map<String, Value>>()
    };
    let mut metadata = Map::new();
    if !labels.is_empty() {
        metadata.insert("labels".into(), Value::Object(to_map(labels)));
    }
    if !annotations.is_empty() {
        metadata.insert("annotations".into(), Value::Object(to_map(annotations)));
    }
    json!({ "metadata": metadata })
}

async fn patch_service_account(
    client: &KubeClient,
    namespace: &str,
    name: &str,
    labels: &[(String, Option<String>)],
    annotations: &[(String, Option<String>)],
) -> Result<(), KubeError> {
    if labels.is_empty() && annotations.is_empty() {
        return Ok(());
    }
    let api: Api<ServiceAccount> = Api::namespaced(client.kube().clone(), namespace);
    let patch = metadata_merge_patch(labels, annotations);
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| KubeError::api("patch", format!("service account {namespace}/{name}"), e))?;
    Ok(())
}

async fn delete_service_account(
    client: &KubeClient,
    namespace: &str,
    name: &str,
) -> Result<(), KubeError> {
    let api: Api<ServiceAccount> = Api::namespaced(client.kube().clone(), namespace);
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(KubeError::api(
            "delete",
            format!("service account {namespace}/{name}"),
            e,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_names_only_the_given_keys() {
        let patch = metadata_merge_patch(
            &[("a".into(), Some("1".into()))],
            &[("eks.amazonaws.com/role-arn".into(), None)],
        );
        assert_eq!(
            patch,
            json!({"metadata": {"labels": {"a": "1"}, "annotations": {"eks.amazonaws.com/role-arn": null}}})
        );
        assert_eq!(metadata_merge_patch(&[], &[]), json!({"metadata": {}}));
    }

    #[test]
    fn non_kubernetes_steps_are_named() {
        let step = Step::DeleteRole {
            role_name: "r".into(),
        };
        assert_eq!(step_name(&step), "delete-role");
    }
}
