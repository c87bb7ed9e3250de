//! The pod proof of IRSA, as the EKS guide does it by hand: a one-shot pod running as the
//! service account (one container `aws-cli`, `restartPolicy: Never`) whose command is typically
//! `aws sts get-caller-identity`; the pod-identity webhook injects the credentials at creation.
//! [`run_pod`] creates it, [`wait_pod_finished`] polls until it is Succeeded or Failed (with
//! backoff, 200 ms growing to 2 s) or the timeout passes, [`pod_log`] reads what it printed, and
//! [`delete_pod`] removes it (already gone is fine), which callers do on every path, failures and
//! interruptions included. Pods it creates are labelled `app.kubernetes.io/managed-by: irsa`.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;
use kube::api::{DeleteParams, LogParams, PostParams};

use crate::error::is_not_found;
use crate::{KubeClient, KubeError};

/// The name of the proof pod's container.
pub const CONTAINER_NAME: &str = "aws-cli";
/// The label on pods irsa creates.
pub const MANAGED_BY_LABEL: (&str, &str) = ("app.kubernetes.io/managed-by", "irsa");

/// How a pod ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodPhase {
    Succeeded,
    /// The pod failed; the `aws-cli` container's (else the first terminated container's) exit
    /// code and reason when it reported them, else the pod's reason.
    Failed {
        exit_code: Option<i32>,
        reason: Option<String>,
    },
}

fn describe(namespace: &str, name: &str) -> String {
    format!("pod {namespace}/{name}")
}

/// Creates the pod `namespace`/`name` running as `service_account`: one container `aws-cli`
/// with `image` and `command` (it replaces the image's entrypoint, so name the program:
/// `["aws", "sts", "get-caller-identity"]`), never restarted. An existing pod of that name is
/// the API's 409 AlreadyExists.
pub async fn run_pod(
    client: &KubeClient,
    namespace: &str,
    name: &str,
    service_account: &str,
    image: &str,
    command: Vec<String>,
) -> Result<(), KubeError> {
    let api: Api<Pod> = Api::namespaced(client.kube().clone(), namespace);
    let pod = Pod {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(namespace.to_string()),
            labels: Some(
                [(
                    MANAGED_BY_LABEL.0.to_string(),
                    MANAGED_BY_LABEL.1.to_string(),
                )]
                .into(),
            ),
            ..Default::default()
        },
        spec: Some(PodSpec {
            service_account_name: Some(service_account.to_string()),
            restart_policy: Some("Never".to_string()),
            containers: vec![Container {
                name: CONTAINER_NAME.to_string(),
                image: Some(image.to_string()),
                command: Some(command),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    api.create(&PostParams::default(), &pod)
        .await
        .map_err(|e| KubeError::api("create", describe(namespace, name), e))?;
    Ok(())
}

/// Polls the pod until its phase is Succeeded or Failed; after `timeout`, a
/// [`KubeError::Timeout`] naming the phase last seen and why a container is waiting
/// (`Pending (ImagePullBackOff)`). A pod that disappears is the API's 404.
pub async fn wait_pod_finished(
    client: &KubeClient,
    namespace: &str,
    name: &str,
    timeout: Duration,
) -> Result<PodPhase, KubeError> {
    let api: Api<Pod> = Api::namespaced(client.kube().clone(), namespace);
    let started = Instant::now();
    let mut delay = Duration::from_millis(200);
    loop {
        let pod = api
            .get(name)
            .await
            .map_err(|e| KubeError::api("wait for", describe(namespace, name), e))?;
        if let Some(phase) = finished(&pod) {
            return Ok(phase);
        }
        let waited = started.elapsed();
        if waited >= timeout {
            return Err(KubeError::Timeout {
                operation: "wait for",
                object: format!("{} to finish", describe(namespace, name)),
                waited,
                last_seen: last_seen(&pod),
            });
        }
        tokio::time::sleep(delay.min(timeout - waited)).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

/// The pod's phase if it ended.
fn finished(pod: &Pod) -> Option<PodPhase> {
    let status = pod.status.as_ref()?;
    match status.phase.as_deref()? {
        "Succeeded" => Some(PodPhase::Succeeded),
        "Failed" => {
            let statuses = status.container_statuses.as_deref().unwrap_or_default();
            let terminated = statuses
                .iter()
                .find(|s| s.name == CONTAINER_NAME)
                .into_iter()
                .chain(statuses)
                .find_map(|s| s.state.as_ref()?.terminated.as_ref());
            Some(PodPhase::Failed {
                exit_code: terminated.map(|t| t.exit_code),
                reason: terminated
                    .and_then(|t| t.reason.clone())
                    .or_else(|| status.reason.clone()),
            })
        }
        _ => None,
    }
}

/// `Pending`, `Pending (ImagePullBackOff)`, `Running`, … for a timeout message.
fn last_seen(pod: &Pod) -> String {
    let status = pod.status.as_ref();
    let phase = status
        .and_then(|s| s.phase.clone())
        .unwrap_or_else(|| "no phase yet".into());
    let waiting = status
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default()
        .iter()
        .find_map(|s| s.state.as_ref()?.waiting.as_ref()?.reason.clone());
    match waiting {
        Some(reason) => format!("{phase} ({reason})"),
        None => phase,
    }
}

/// The pod's log (its only container's; the `aws-cli` container's when it has several).
pub async fn pod_log(
    client: &KubeClient,
    namespace: &str,
    name: &str,
) -> Result<String, KubeError> {
    let api: Api<Pod> = Api::namespaced(client.kube().clone(), namespace);
    let mut params = LogParams::default();
    match api.logs(name, &params).await {
        Ok(log) => Ok(log),
        // Several containers (an injected sidecar): ask for ours.
        Err(kube::Error::Api(status))
            if status.code == 400
                && status.message.contains("container name must be specified") =>
        {
            params.container = Some(CONTAINER_NAME.to_string());
            api.logs(name, &params)
                .await
                .map_err(|e| KubeError::api("read the log of", describe(namespace, name), e))
        }
        Err(e) => Err(KubeError::api(
            "read the log of",
            describe(namespace, name),
            e,
        )),
    }
}

/// Deletes the pod; one already gone counts as deleted.
pub async fn delete_pod(client: &KubeClient, namespace: &str, name: &str) -> Result<(), KubeError> {
    let api: Api<Pod> = Api::namespaced(client.kube().clone(), namespace);
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(KubeError::api("delete", describe(namespace, name), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(status: serde_json::Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "p"}, "status": status})).unwrap()
    }

    #[test]
    fn reads_how_a_pod_ended() {
        assert_eq!(
            finished(&pod(json!({"phase": "Succeeded"}))),
            Some(PodPhase::Succeeded)
        );
        assert_eq!(finished(&pod(json!({"phase": "Running"}))), None);
        let failed = pod(json!({"phase": "Failed", "containerStatuses": [
            {"name": "aws-cli", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
             "state": {"terminated": {"exitCode": 254, "reason": "Error"}}}
        ]}));
        assert_eq!(
            finished(&failed),
            Some(PodPhase::Failed {
                exit_code: Some(254),
                reason: Some("Error".into())
            })
        );
        let evicted = pod(json!({"phase": "Failed", "reason": "Evicted"}));
        assert_eq!(
            finished(&evicted),
            Some(PodPhase::Failed {
                exit_code: None,
                reason: Some("Evicted".into())
            })
        );
        let pulling = pod(json!({"phase": "Pending", "containerStatuses": [
            {"name": "aws-cli", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
             "state": {"waiting": {"reason": "ImagePullBackOff"}}}
        ]}));
        assert_eq!(last_seen(&pulling), "Pending (ImagePullBackOff)");
        assert_eq!(last_seen(&pod(json!({}))), "no phase yet");
    }
}
