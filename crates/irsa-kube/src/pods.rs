//! The pods running as a service account and the credentials each container carries: the
//! `AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_TOKEN_FILE` variables EKS's pod-identity webhook injects
//! when a pod is created (never later), so a pod started before the service account's
//! `eks.amazonaws.com/role-arn` annotation was set or changed has none, or the old role.
//! Only live pods count (not Succeeded, Failed or being deleted), and only the containers the
//! webhook mutates (not those named in the pod's `eks.amazonaws.com/skip-containers`). For EKS
//! Pod Identity the same webhook injects `AWS_CONTAINER_CREDENTIALS_FULL_URI` and
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` at creation when the service account has an
//! association ([`ContainerCredentials::uses_pod_identity`]); Fargate pods get no agent
//! ([`runs_on_fargate`]). Each pod's
//! controlling owner is resolved to the workload to restart: a ReplicaSet made by a Deployment
//! counts as that Deployment. [`workloads_using`](crate::workloads_using) groups the same pods
//! by owner.

use std::collections::HashMap;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::Api;
use kube::api::ListParams;
use serde::Serialize;

use irsa_core::identity::pod_identity::{ENV_CREDENTIALS_URI, ENV_TOKEN_FILE};

use crate::error::is_not_found;
use crate::workloads::SKIP_CONTAINERS_ANNOTATION;
use crate::{KubeClient, KubeError};

/// The environment variable naming the role, injected by the webhook.
pub const ROLE_ARN_ENV: &str = "AWS_ROLE_ARN";
/// The environment variable naming the projected token file, injected by the webhook.
pub const TOKEN_FILE_ENV: &str = "AWS_WEB_IDENTITY_TOKEN_FILE";
/// The pod label Fargate puts on the pods it runs (the profile that selected them).
pub const FARGATE_PROFILE_LABEL: &str = "eks.amazonaws.com/fargate-profile";
/// The node label (and pod node selector) of Fargate's compute type.
pub const COMPUTE_TYPE_LABEL: &str = "eks.amazonaws.com/compute-type";

/// What a container carries of the injected credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerCredentials {
    pub name: String,
    /// `AWS_ROLE_ARN`, when set (an empty string when set without a literal value).
    pub role_arn_env: Option<String>,
    /// `AWS_WEB_IDENTITY_TOKEN_FILE`, when set.
    pub token_file_env: Option<String>,
    /// EKS Pod Identity's `AWS_CONTAINER_CREDENTIALS_FULL_URI`, when set.
    pub credentials_uri_env: Option<String>,
    /// EKS Pod Identity's `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`, when set.
    pub authorization_token_file_env: Option<String>,
}

impl ContainerCredentials {
    /// Whether the container holds the credentials for `role_arn`, the service account's
    /// current annotation: both variables, with that role. With no annotation (`None`), a
    /// container is current when it holds no role either.
    pub fn is_current(&self, role_arn: Option<&str>) -> bool {
        match role_arn {
            Some(arn) => {
                self.role_arn_env.as_deref() == Some(arn)
                    && self
                        .token_file_env
                        .as_deref()
                        .is_some_and(|f| !f.is_empty())
            }
            None => self.role_arn_env.is_none(),
        }
    }

    /// Whether the SDK in this container gets EKS Pod Identity's credentials: both of the
    /// agent's variables are set, and no web identity token file, which the SDKs' default chain
    /// would use first.
    pub fn uses_pod_identity(&self) -> bool {
        let set = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty());
        set(&self.credentials_uri_env)
            && set(&self.authorization_token_file_env)
            && !set(&self.token_file_env)
    }
}

/// Whether Fargate runs the pod (EKS Pod Identity does not work there): Fargate names its nodes
/// `fargate-…` and labels the pods with their profile; a pod may also select the compute type.
pub fn runs_on_fargate(pod: &Pod) -> bool {
    let on_fargate_node = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .is_some_and(|n| n.starts_with("fargate-"));
    let profiled = pod
        .metadata
        .labels
        .as_ref()
        .is_some_and(|l| l.contains_key(FARGATE_PROFILE_LABEL));
    let selects = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_selector.as_ref())
        .and_then(|s| s.get(COMPUTE_TYPE_LABEL))
        .is_some_and(|t| t == "fargate");
    on_fargate_node || profiled || selects
}

/// A live pod running as the service account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodCredentials {
    pub name: String,
    /// The workload to restart, `(kind, name)`: its controller, a Deployment for a Deployment's
    /// ReplicaSet; `None` for a pod without a controller.
    pub owner: Option<(String, String)>,
    /// `metadata.creationTimestamp` (RFC 3339).
    pub created: Option<String>,
    /// The containers the webhook mutates, in the pod's order.
    pub containers: Vec<ContainerCredentials>,
}

impl PodCredentials {
    /// Whether a container lacks the credentials for `role_arn` (see
    /// [`ContainerCredentials::is_current`]): the pod needs a restart.
    pub fn lacks_credentials(&self, role_arn: Option<&str>) -> bool {
        self.containers.iter().any(|c| !c.is_current(role_arn))
    }
}

/// The live pods in `namespace` running as `service_account`, sorted by name, with each
/// container's injected credentials and the workload that owns the pod.
pub async fn pods_of(
    client: &KubeClient,
    namespace: &str,
    service_account: &str,
) -> Result<Vec<PodCredentials>, KubeError> {
    let pods = live_pods_of(client, namespace, service_account).await?;
    let mut owners = OwnerResolver::new(client, namespace);
    let mut found = Vec::with_capacity(pods.len());
    for pod in &pods {
        found.push(PodCredentials {
            name: pod.metadata.name.clone().unwrap_or_default(),
            owner: owners.workload_of(pod).await?,
            created: pod
                .metadata
                .creation_timestamp
                .as_ref()
                .map(|t| t.0.to_string()),
            containers: container_credentials(pod),
        });
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// The credentials of the containers the webhook mutates.
pub(crate) fn container_credentials(pod: &Pod) -> Vec<ContainerCredentials> {
    let skip: Vec<&str> = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(SKIP_CONTAINERS_ANNOTATION))
        .map(|s| s.split(',').map(str::trim).collect())
        .unwrap_or_default();
    let Some(spec) = &pod.spec else {
        return Vec::new();
    };
    spec.containers
        .iter()
        .filter(|c| !skip.contains(&c.name.as_str()))
        .map(|container| {
            let env = container.env.as_deref().unwrap_or_default();
            let value = |name: &str| {
                env.iter()
                    .find(|e| e.name == name)
                    .map(|e| e.value.clone().unwrap_or_default())
            };
            ContainerCredentials {
                name: container.name.clone(),
                role_arn_env: value(ROLE_ARN_ENV),
                token_file_env: value(TOKEN_FILE_ENV),
                credentials_uri_env: value(ENV_CREDENTIALS_URI),
                authorization_token_file_env: value(ENV_TOKEN_FILE),
            }
        })
        .collect()
}

/// The live pods (not Succeeded, Failed or being deleted) in `namespace` running as
/// `service_account`: one list call with a field selector, checked again here in case a server
/// ignores the selector.
pub(crate) async fn live_pods_of(
    client: &KubeClient,
    namespace: &str,
    service_account: &str,
) -> Result<Vec<Pod>, KubeError> {
    let api: Api<Pod> = Api::namespaced(client.kube().clone(), namespace);
    let params =
        ListParams::default().fields(&format!("spec.serviceAccountName={service_account}"));
    let pods = api.list(&params).await.map_err(|e| {
        KubeError::api(
            "list pods using",
            format!("service account {namespace}/{service_account}"),
            e,
        )
    })?;
    Ok(pods
        .items
        .into_iter()
        .filter(|pod| {
            let phase = pod
                .status
                .as_ref()
                .and_then(|s| s.phase.as_deref())
                .unwrap_or_default();
            let runs_as = pod
                .spec
                .as_ref()
                .and_then(|s| s.service_account_name.as_deref())
                .unwrap_or("default")
                == service_account;
            runs_as
                && !matches!(phase, "Succeeded" | "Failed")
                && pod.metadata.deletion_timestamp.is_none()
        })
        .collect())
}

fn controller_of(refs: Option<&Vec<OwnerReference>>) -> Option<&OwnerReference> {
    refs.and_then(|refs| refs.iter().find(|r| r.controller == Some(true)))
}

/// Resolves pods' controllers to workloads, reading each ReplicaSet at most once.
pub(crate) struct OwnerResolver {
    namespace: String,
    replica_sets: Api<ReplicaSet>,
    cache: HashMap<String, (String, String)>,
}

impl OwnerResolver {
    pub(crate) fn new(client: &KubeClient, namespace: &str) -> Self {
        OwnerResolver {
            namespace: namespace.to_string(),
            replica_sets: Api::namespaced(client.kube().clone(), namespace),
            cache: HashMap::new(),
        }
    }

    /// The pod's workload `(kind, name)`, `None` without a controller. A ReplicaSet is its
    /// Deployment when the pod's `pod-template-hash` label ends its name, else the ReplicaSet's
    /// own controller (read from the API), else the ReplicaSet itself.
    pub(crate) async fn workload_of(
        &mut self,
        pod: &Pod,
    ) -> Result<Option<(String, String)>, KubeError> {
        let Some(owner) = controller_of(pod.metadata.owner_references.as_ref()) else {
            return Ok(None);
        };
        if owner.kind != "ReplicaSet" {
            return Ok(Some((owner.kind.clone(), owner.name.clone())));
        }
        let hash = pod
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("pod-template-hash"));
        if let Some(deployment) = hash.and_then(|h| owner.name.strip_suffix(&format!("-{h}"))) {
            return Ok(Some(("Deployment".to_string(), deployment.to_string())));
        }
        if let Some(found) = self.cache.get(&owner.name) {
            return Ok(Some(found.clone()));
        }
        let rs = match self.replica_sets.get(&owner.name).await {
            Ok(rs) => Some(rs),
            Err(e) if is_not_found(&e) => None,
            Err(e) => {
                return Err(KubeError::api(
                    "get",
                    format!("replica set {}/{}", self.namespace, owner.name),
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
        self.cache.insert(owner.name.clone(), found.clone());
        Ok(Some(found))
    }
}
