//! The workloads whose pods use a service account, and whether those pods carry the
//! credentials EKS's pod-identity webhook injects (`AWS_ROLE_ARN`, `AWS_WEB_IDENTITY_TOKEN_FILE`).
//! The webhook mutates pods only when they are created, so pods started before the service
//! account's `eks.amazonaws.com/role-arn` annotation was set or changed run without credentials,
//! or with the old role, until restarted: those are the "workloads needing a restart".
//!
//! Pods are grouped by their controlling owner; a ReplicaSet made by a Deployment counts as the
//! Deployment (recognised by the `pod-template-hash` label the deployment controller puts in the
//! ReplicaSet's name, else by reading the ReplicaSet's owner). The per-pod view (which container
//! has which variables) is [`pods_of`](crate::pods::pods_of); both share its pod listing and
//! owner resolution. [`restart_workload`] does what
//! `kubectl rollout restart` does: it sets the pod template's `kubectl.kubernetes.io/restartedAt`
//! annotation, so the controller replaces every pod.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde::Serialize;
use serde_json::json;

use crate::pods::{OwnerResolver, container_credentials, live_pods_of, runs_on_fargate};
use crate::{KubeClient, KubeError};

/// The annotation on a service account naming its IAM role.
pub const ROLE_ARN_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
/// The pod annotation listing containers the webhook leaves alone.
pub const SKIP_CONTAINERS_ANNOTATION: &str = "eks.amazonaws.com/skip-containers";
/// The pod-template annotation `kubectl rollout restart` sets.
pub const RESTARTED_AT_ANNOTATION: &str = "kubectl.kubernetes.io/restartedAt";

/// A workload whose pods use a service account.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
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
    /// Of those, the pods with a container that does not get EKS Pod Identity's credentials
    /// (see [`ContainerCredentials::uses_pod_identity`](crate::ContainerCredentials::uses_pod_identity)).
    pub pods_without_pod_identity: usize,
    /// Of those, the pods Fargate runs.
    pub fargate_pods: usize,
}

/// Counts of one workload's pods.
#[derive(Default)]
struct PodCounts {
    pods: usize,
    without_credentials: usize,
    without_pod_identity: usize,
    fargate: usize,
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
    container_credentials(pod)
        .iter()
        .any(|c| !c.is_current(role_arn))
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
    let object = format!("service account {namespace}/{service_account}");
    let (sa, pods) = futures::try_join!(
        async {
            sa_api
                .get_opt(service_account)
                .await
                .map_err(|e| KubeError::api("get", object.clone(), e))
        },
        live_pods_of(client, namespace, service_account),
    )?;
    let role_arn = sa
        .as_ref()
        .and_then(|sa| sa.metadata.annotations.as_ref())
        .and_then(|a| a.get(ROLE_ARN_ANNOTATION))
        .map(String::as_str);

    let mut owners = OwnerResolver::new(client, namespace);
    let mut groups: BTreeMap<(String, String), PodCounts> = BTreeMap::new();
    for pod in &pods {
        let owner = match owners.workload_of(pod).await? {
            Some(owner) => owner,
            None => (
                "Pod".to_string(),
                pod.metadata.name.clone().unwrap_or_default(),
            ),
        };
        let containers = container_credentials(pod);
        let counts = groups.entry(owner).or_default();
        counts.pods += 1;
        counts.without_credentials += usize::from(lacks_credentials(pod, role_arn));
        counts.without_pod_identity +=
            usize::from(containers.iter().any(|c| !c.uses_pod_identity()));
        counts.fargate += usize::from(runs_on_fargate(pod));
    }
    Ok(groups
        .into_iter()
        .map(|((kind, name), counts)| Workload {
            kind,
            namespace: namespace.to_string(),
            name,
            pods: counts.pods,
            pods_without_credentials: counts.without_credentials,
            pods_without_pod_identity: counts.without_pod_identity,
            fargate_pods: counts.fargate,
        })
        .collect())
}

/// The patch of a restart. kubectl writes whole seconds; irsa keeps the fraction so that two
/// restarts within one second (a migration, then an apply) each give a new pod template and
/// roll the pods, where equal templates would roll nothing.
fn restart_patch() -> serde_json::Value {
    let now = k8s_openapi::jiff::Timestamp::now();
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

/// The service account a Deployment's pods run as (`spec.template.spec.serviceAccountName`,
/// `default` when unset), or `None` when the Deployment does not exist.
pub async fn deployment_service_account(
    client: &KubeClient,
    namespace: &str,
    name: &str,
) -> Result<Option<String>, KubeError> {
    let api: Api<Deployment> = Api::namespaced(client.kube().clone(), namespace);
    let deployment = api
        .get_opt(name)
        .await
        .map_err(|e| KubeError::api("get", format!("deployment {namespace}/{name}"), e))?;
    Ok(deployment.map(|d| {
        d.spec
            .and_then(|s| s.template.spec)
            .and_then(|s| s.service_account_name)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".to_string())
    }))
}

/// A DaemonSet's `desiredNumberScheduled` and `numberReady`, or `None` when it does not exist
/// (one GET).
pub async fn daemon_set_status(
    client: &KubeClient,
    namespace: &str,
    name: &str,
) -> Result<Option<irsa_core::doctor::DaemonSetStatus>, KubeError> {
    let api: Api<DaemonSet> = Api::namespaced(client.kube().clone(), namespace);
    let daemon_set = api
        .get_opt(name)
        .await
        .map_err(|e| KubeError::api("get", format!("daemon set {namespace}/{name}"), e))?;
    Ok(daemon_set.map(|ds| {
        let status = ds.status.unwrap_or_default();
        let count = |n: i32| u32::try_from(n).unwrap_or(0);
        irsa_core::doctor::DaemonSetStatus {
            desired: count(status.desired_number_scheduled),
            ready: count(status.number_ready),
        }
    }))
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

    #[test]
    fn pod_identity_needs_both_agent_variables_and_no_web_identity() {
        let uri = (
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://169.254.170.23/v1/credentials",
        );
        let token = (
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token",
        );
        let uses = |env: &[(&str, &str)]| {
            container_credentials(&pod(env, &[(SKIP_CONTAINERS_ANNOTATION, "sidecar")]))
                .iter()
                .all(|c| c.uses_pod_identity())
        };
        assert!(uses(&[uri, token]));
        assert!(!uses(&[uri]));
        assert!(!uses(&[]));
        // With IRSA's token file too, the SDKs' default chain takes web identity first.
        assert!(!uses(&[
            uri,
            token,
            (
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"
            ),
        ]));
    }

    #[test]
    fn fargate_pods_are_recognised_by_node_name_profile_label_or_selector() {
        let pod_with = |patch: serde_json::Value| -> Pod {
            let mut value =
                json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "app"}]}});
            for (section, fields) in patch.as_object().unwrap() {
                for (k, v) in fields.as_object().unwrap() {
                    value[section][k] = v.clone();
                }
            }
            serde_json::from_value(value).unwrap()
        };
        assert!(runs_on_fargate(&pod_with(
            json!({"spec": {"nodeName": "fargate-ip-10-0-1-23.ec2.internal"}})
        )));
        assert!(runs_on_fargate(&pod_with(
            json!({"metadata": {"labels": {"eks.amazonaws.com/fargate-profile": "fp-default"}}})
        )));
        assert!(runs_on_fargate(&pod_with(
            json!({"spec": {"nodeSelector": {"eks.amazonaws.com/compute-type": "fargate"}}})
        )));
        assert!(!runs_on_fargate(&pod_with(
            json!({"spec": {"nodeName": "ip-10-0-1-23.ec2.internal"}})
        )));
    }
}
