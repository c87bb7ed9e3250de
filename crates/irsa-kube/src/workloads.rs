//! The workloads whose pods use a service account, and whether those pods carry the
//! credentials EKS's pod-identity webhook injects (`AWS_ROLE_ARN`, `AWS_WEB_IDENTITY_TOKEN_FILE`).
//! The webhook mutates pods only when they are created, so pods started before the service
//! account's `eks.amazonaws.com/role-arn` annotation was set or changed run without credentials,
//! or with the old role, until restarted: those are the "workloads needing a restart".
//!
//! Pods are grouped by their controlling owner; a ReplicaSet made by a Deployment counts as the
//! Deployment (recognised by the `pod-template-hash` label the deployment controller puts in the
//! ReplicaSet's name, else by reading the ReplicaSet's owner). [`restart_workload`] does what
//! `kubectl rollout restart` does: it sets the pod template's `kubectl.kubernetes.io/restartedAt`
//! annotation, so the controller replaces every pod.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams};
use serde::Serialize;
use serde_json::json;

use crate::error::is_not_found;
use crate::{KubeClient, KubeError};

/// The annotation on a service account naming its IAM role.
pub const ROLE_ARN_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
/// The pod annotation listing containers the webhook leaves alone.
pub const SKIP_CONTAINERS_ANNOTATION: &str = "eks.amazonaws.com/skip-containers";
/// The pod-template annotation `kubectl rollout restart` sets.
pub const RESTARTED_AT_ANNOTATION: &str = "kubectl.kubernetes.io/restartedAt";

/// A workload whose pods use a service account.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Workload {
    /// `Deployment`, `StatefulSet`, `DaemonSet`, `ReplicaSet`, `Job`, … or `Pod` for a pod
    /// without a controller.
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// Its live pods using the service account.
    pub pods: usize,
    /// Of those, the pods with a container that lacks the injected credentials for the service
    /// account's current role: no `AWS_ROLE_ARN` or `AWS_WEB_IDENTITY_TOKEN_FILE`, or an
    /// `AWS_ROLE_ARN` other than the annotation's (also when the annotation was removed).
    pub pods_without_credentials: usize,
}

impl Workload {
    /// Whether a restart would give its pods the current credentials.
    pub fn needs_restart(&self) -> bool {
        self.pods_without_credentials > 0
    }
}

/// Whether a pod lacks the credentials for `role_arn` (the service account's current
/// annotation) in any container the webhook would have mutated.
fn lacks_credentials(pod: &Pod, role_arn: Option<&str>) -> bool {
    let skip: Vec<&str> = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(SKIP_CONTAINERS_ANNOTATION))
        .map(|s| s.split(',').map(str::trim).collect())
        .unwrap_or_default();
    let Some(spec) = &pod.spec else { return false };
    spec.containers
        .iter()
        .filter(|c| !skip.contains(&c.name.as_str()))
        .any(|container| {
            let env = container.env.as_deref().unwrap_or_default();
            let value = |name: &str| {
                env.iter()
                    .find(|e| e.name == name)
                    .map(|e| e.value.as_deref().unwrap_or_default())
            };
            match role_arn {
                Some(arn) => {
                    value("AWS_ROLE_ARN") != Some(arn)
                        || value("AWS_WEB_IDENTITY_TOKEN_FILE").is_none_or(str::is_empty)
                }
                None => value("AWS_ROLE_ARN").is_some(),
            }
        })
}

fn controller_of(refs: Option<&Vec<OwnerReference>>) -> Option<&OwnerReference> {
    refs.and_then(|refs| refs.iter().find(|r| r.controller == Some(true)))
}

/// The workloads in `namespace` whose live pods (not Succeeded, Failed or being deleted) run as
/// `service_account`, sorted by kind and name, with their pod counts. The service account's
/// current `eks.amazonaws.com/role-arn` annotation decides which pods lack credentials.
pub async fn workloads_using(
    client: &KubeClient,
    namespace: &str,
    service_account: &str,
) -> Result<Vec<Workload>, KubeError> {
    let sa_api: Api<ServiceAccount> = Api::namespaced(client.kube().clone(), namespace);
    let pod_api: Api<Pod> = Api::namespaced(client.kube().clone(), namespace);
    let object = format!("service account {namespace}/{service_account}");
    let params =
        ListParams::default().fields(&format!("spec.serviceAccountName={service_account}"));
    let (sa, pods) = futures::try_join!(
        async {
            sa_api
                .get_opt(service_account)
                .await
                .map_err(|e| KubeError::api("get", object.clone(), e))
        },
        async {
            pod_api
                .list(&params)
                .await
                .map_err(|e| KubeError::api("list pods using", object.clone(), e))
        },
    )?;
    let role_arn = sa
        .as_ref()
        .and_then(|sa| sa.metadata.annotations.as_ref())
        .and_then(|a| a.get(ROLE_ARN_ANNOTATION))
        .map(String::as_str);

    let rs_api: Api<ReplicaSet> = Api::namespaced(client.kube().clone(), namespace);
    let mut rs_owners: HashMap<String, (String, String)> = HashMap::new();
    let mut groups: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    for pod in &pods.items {
        let phase = pod
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .unwrap_or_default();
        if matches!(phase, "Succeeded" | "Failed") || pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        // Pods whose service account was defaulted carry it in spec either way; check anyway,
        // in case a server ignores the field selector.
        if pod
            .spec
            .as_ref()
            .and_then(|s| s.service_account_name.as_deref())
            .unwrap_or("default")
            != service_account
        {
            continue;
        }
        let pod_name = pod.metadata.name.clone().unwrap_or_default();
        let owner = match controller_of(pod.metadata.owner_references.as_ref()) {
            None => ("Pod".to_string(), pod_name),
            Some(owner) if owner.kind == "ReplicaSet" => {
                let hash = pod
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get("pod-template-hash"));
                match hash.and_then(|h| owner.name.strip_suffix(&format!("-{h}"))) {
                    Some(deployment) => ("Deployment".to_string(), deployment.to_string()),
                    None => match rs_owners.get(&owner.name) {
                        Some(found) => found.clone(),
                        None => {
                            let rs = match rs_api.get(&owner.name).await {
                                Ok(rs) => Some(rs),
                                Err(e) if is_not_found(&e) => None,
                                Err(e) => {
                                    return Err(KubeError::api(
                                        "get",
                                        format!("replica set {namespace}/{}", owner.name),
                                        e,
                                    ));
                                }
                            };
                            let found = rs
                                .and_then(|rs| {
                                    controller_of(rs.metadata.owner_references.as_ref())
                                        .map(|o| (o.kind.clone(), o.name.clone()))
                                })
                                .unwrap_or_else(|| ("ReplicaSet".to_string(), owner.name.clone()));
                            rs_owners.insert(owner.name.clone(), found.clone());
                            found
                        }
                    },
                }
            }
            Some(owner) => (owner.kind.clone(), owner.name.clone()),
        };
        let entry = groups.entry(owner).or_default();
        entry.0 += 1;
        entry.1 += usize::from(lacks_credentials(pod, role_arn));
    }
    Ok(groups
        .into_iter()
        .map(
            |((kind, name), (pods, pods_without_credentials))| Workload {
                kind,
                namespace: namespace.to_string(),
                name,
                pods,
                pods_without_credentials,
            },
        )
        .collect())
}

fn restart_patch() -> serde_json::Value {
    let now = k8s_openapi::jiff::Timestamp::now();
    let now = k8s_openapi::jiff::Timestamp::from_second(now.as_second()).unwrap_or(now);
    json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT_ANNOTATION: now.to_string()}}}}})
}

/// `kubectl rollout restart deployment/<name>`: sets the pod template's
/// `kubectl.kubernetes.io/restartedAt` annotation to now (a strategic merge patch, as kubectl
/// sends).
pub async fn restart_deployment(
    client: &KubeClient,
    namespace: &str,
    name: &str,
) -> Result<(), KubeError> {
    let api: Api<Deployment> = Api::namespaced(client.kube().clone(), namespace);
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Strategic(restart_patch()),
    )
    .await
    .map_err(|e| KubeError::api("restart", format!("deployment {namespace}/{name}"), e))?;
    Ok(())
}

/// The rollout restart of a Deployment, StatefulSet or DaemonSet; other kinds have none.
pub async fn restart_workload(client: &KubeClient, workload: &Workload) -> Result<(), KubeError> {
    let (namespace, name) = (workload.namespace.as_str(), workload.name.as_str());
    let patch = Patch::Strategic(restart_patch());
    let params = PatchParams::default();
    let result = match workload.kind.as_str() {
        "Deployment" => return restart_deployment(client, namespace, name).await,
        "StatefulSet" => Api::<StatefulSet>::namespaced(client.kube().clone(), namespace)
            .patch(name, &params, &patch)
            .await
            .map(drop),
        "DaemonSet" => Api::<DaemonSet>::namespaced(client.kube().clone(), namespace)
            .patch(name, &params, &patch)
            .await
            .map(drop),
        _ => {
            return Err(KubeError::NotRestartable {
                kind: workload.kind.clone(),
                namespace: namespace.to_string(),
                name: name.to_string(),
            });
        }
    };
    result.map_err(|e| {
        KubeError::api(
            "restart",
            format!("{} {namespace}/{name}", workload.kind.to_lowercase()),
            e,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(env: &[(&str, &str)], annotations: &[(&str, &str)]) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "p", "annotations": annotations.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>()},
            "spec": {"containers": [
                {"name": "app", "env": env.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>()},
                {"name": "sidecar"},
            ]},
        }))
        .unwrap()
    }

    #[test]
    fn credentials_are_judged_per_container_against_the_current_role() {
        let arn = "arn:aws:iam::111122223333:role/r";
        let full = [
            ("AWS_ROLE_ARN", arn),
            (
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
            ),
        ];
        // The sidecar lacks them.
        assert!(lacks_credentials(&pod(&full, &[]), Some(arn)));
        assert!(!lacks_credentials(
            &pod(&full, &[(SKIP_CONTAINERS_ANNOTATION, "sidecar")]),
            Some(arn)
        ));
        // Stale role.
        assert!(lacks_credentials(
            &pod(&full, &[(SKIP_CONTAINERS_ANNOTATION, "sidecar")]),
            Some("arn:aws:iam::111122223333:role/other")
        ));
        // No annotation: only pods still holding a role are stale.
        assert!(lacks_credentials(&pod(&full, &[]), None));
        assert!(!lacks_credentials(&pod(&[], &[]), None));
    }
}
