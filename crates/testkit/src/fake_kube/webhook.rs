//! A simulated EKS pod-identity webhook (amazon-eks-pod-identity-webhook), run as a create hook
//! on pods, so only when a pod is created (pods started before their service account was
//! annotated keep running without credentials, as on EKS).
//!
//! For a pod whose service account has `eks.amazonaws.com/role-arn`, every container and init
//! container, except those named in the pod annotation `eks.amazonaws.com/skip-containers`
//! (comma-separated, read as one CSV record, so names are not trimmed), gets
//! - env `AWS_STS_REGIONAL_ENDPOINTS=regional` (only when the service account's
//!   `eks.amazonaws.com/sts-regional-endpoints` is `"true"`), `AWS_ROLE_ARN` and
//!   `AWS_WEB_IDENTITY_TOKEN_FILE` (not when the container already defines `AWS_ROLE_ARN` or
//!   `AWS_WEB_IDENTITY_TOKEN_FILE` itself, as the webhook does);
//! - the volume mount `aws-iam-token`, read-only, at
//!   `/var/run/secrets/eks.amazonaws.com/serviceaccount` (unless it mounts `aws-iam-token`);
//!
//! and the pod gets, first in `spec.volumes` unless it has one of that name, the projected
//! volume `aws-iam-token` (a `serviceAccountToken` source with the audience of the service
//! account's `eks.amazonaws.com/audience` or `sts.amazonaws.com`, `expirationSeconds` from
//! `eks.amazonaws.com/token-expiration` on the pod, else on the service account, else 86400,
//! raised to at least 600, and path `token`). Region variables are not injected (the EKS webhook
//! adds them only when configured to). This follows upstream's `handler.go`
//! (`addEnvToContainer`, `getPodSpecPatch`).

use serde_json::{Value, json};

use super::resources::SERVICE_ACCOUNTS;
use super::status::ApiError;
use super::store::Store;

pub const ROLE_ARN_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
pub const AUDIENCE_ANNOTATION: &str = "eks.amazonaws.com/audience";
pub const STS_REGIONAL_ENDPOINTS_ANNOTATION: &str = "eks.amazonaws.com/sts-regional-endpoints";
pub const TOKEN_EXPIRATION_ANNOTATION: &str = "eks.amazonaws.com/token-expiration";
pub const SKIP_CONTAINERS_ANNOTATION: &str = "eks.amazonaws.com/skip-containers";

pub const TOKEN_VOLUME: &str = "aws-iam-token";
pub const TOKEN_MOUNT_PATH: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount";
pub const TOKEN_FILE: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";
pub const DEFAULT_AUDIENCE: &str = "sts.amazonaws.com";
pub const DEFAULT_TOKEN_EXPIRATION: i64 = 86400;
const MIN_TOKEN_EXPIRATION: i64 = 600;

fn annotation<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object["metadata"]["annotations"][key].as_str()
}

fn parse_expiration(value: Option<&str>) -> Option<i64> {
    value.and_then(|v| v.trim().parse::<i64>().ok())
}

/// The pod's (namespace, service account name); `default` when it names none.
pub(super) fn service_account_of(pod: &Value) -> (String, String) {
    let namespace = pod["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let name = pod["spec"]["serviceAccountName"]
        .as_str()
        .or_else(|| pod["spec"]["serviceAccount"].as_str())
        .unwrap_or("default")
        .to_string();
    (namespace, name)
}

/// The create hook: mutates `pod` when its service account is annotated with a role.
pub fn pod_identity_webhook(store: &Store, pod: &mut Value) -> Result<(), ApiError> {
    let (namespace, sa_name) = service_account_of(pod);
    let Ok(sa) = store.get(&SERVICE_ACCOUNTS, Some(&namespace), &sa_name) else {
        return Ok(());
    };
    let Some(role_arn) = annotation(&sa, ROLE_ARN_ANNOTATION).filter(|a| !a.is_empty()) else {
        return Ok(());
    };
    let role_arn = role_arn.to_string();
    let audience = annotation(&sa, AUDIENCE_ANNOTATION)
        .filter(|a| !a.is_empty())
        .unwrap_or(DEFAULT_AUDIENCE)
        .to_string();
    let regional = annotation(&sa, STS_REGIONAL_ENDPOINTS_ANNOTATION) == Some("true");
    let expiration = parse_expiration(annotation(pod, TOKEN_EXPIRATION_ANNOTATION))
        .or_else(|| parse_expiration(annotation(&sa, TOKEN_EXPIRATION_ANNOTATION)))
        .unwrap_or(DEFAULT_TOKEN_EXPIRATION)
        .max(MIN_TOKEN_EXPIRATION);
    let skipped: Vec<String> = annotation(pod, SKIP_CONTAINERS_ANNOTATION)
        .unwrap_or_default()
        .split(',')
        .map(str::to_string)
        .collect();

    for list in ["initContainers", "containers"] {
        let Some(containers) = pod["spec"][list].as_array_mut() else {
            continue;
        };
        for container in containers {
            let name = container["name"].as_str().unwrap_or_default();
            if !skipped.iter().any(|s| s == name) {
                inject_into_container(container, &role_arn, regional);
            }
        }
    }
    let volumes = &mut pod["spec"]["volumes"];
    if !volumes.is_array() {
        *volumes = json!([]);
    }
    let volumes = volumes.as_array_mut().expect("made an array above");
    if !volumes.iter().any(|v| v["name"] == TOKEN_VOLUME) {
        volumes.insert(
            0,
            json!({
                "name": TOKEN_VOLUME,
                "projected": {
                    "sources": [{"serviceAccountToken": {
                        "audience": audience,
                        "expirationSeconds": expiration,
                        "path": "token",
                    }}],
                    // The API server's defaulting.
                    "defaultMode": 420,
                },
            }),
        );
    }
    Ok(())
}

fn inject_into_container(container: &mut Value, role_arn: &str, regional: bool) {
    let env = &mut container["env"];
    if !env.is_array() {
        *env = json!([]);
    }
    let env = env.as_array_mut().expect("made an array above");
    let defined = |env: &Vec<Value>, name: &str| env.iter().any(|e| e["name"] == name);
    if regional && !defined(env, "AWS_STS_REGIONAL_ENDPOINTS") {
        env.push(json!({"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"}));
    }
    if !defined(env, "AWS_ROLE_ARN") && !defined(env, "AWS_WEB_IDENTITY_TOKEN_FILE") {
        env.push(json!({"name": "AWS_ROLE_ARN", "value": role_arn}));
        env.push(json!({"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": TOKEN_FILE}));
    }
    let mounts = &mut container["volumeMounts"];
    if !mounts.is_array() {
        *mounts = json!([]);
    }
    let mounts = mounts.as_array_mut().expect("made an array above");
    if !mounts.iter().any(|m| m["name"] == TOKEN_VOLUME) {
        mounts.push(json!({"name": TOKEN_VOLUME, "readOnly": true, "mountPath": TOKEN_MOUNT_PATH}));
    }
}
