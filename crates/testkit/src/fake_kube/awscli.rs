//! The fake "runs" one kind of container: the aws CLI's `sts get-caller-identity` (the guide's
//! IRSA test pod). A pod with a container whose image contains `aws-cli` and whose command and
//! args contain `sts` and `get-caller-identity` is created Pending; a spawned task then moves it
//! to Running and, after the job, to Succeeded (exit 0) or Failed (the CLI's exit code), with
//! `containerStatuses[].state.terminated`, and writes what the CLI would print to the pod log.
//!
//! The job resolves credentials like the CLI's chain, from the container's literal env:
//! - `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`): used as they are;
//! - `AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE` (what the pod-identity webhook injects): the
//!   token file must be a `serviceAccountToken` projection mounted in the container (else the
//!   CLI's `[Errno 2] No such file or directory`); the fake mints that token (its audience and
//!   expiration, bound to the pod) for the pod's service account and calls STS
//!   `AssumeRoleWithWebIdentity` (unsigned, as the CLI sends it; session name
//!   `AWS_ROLE_SESSION_NAME` or `botocore-session-<epoch seconds>`);
//! - otherwise `Unable to locate credentials…`, exit 255.
//!
//! Then `GetCallerIdentity` with those credentials (a SigV4-shaped Authorization header whose
//! credential is the access key id; moto resolves the caller from it and checks no signature),
//! and the JSON the CLI prints (4-space indent). STS errors are logged as the CLI reports them
//! (`An error occurred (Code) when calling the … operation: message`), exit 254; an unreachable
//! endpoint is `Could not connect to the endpoint URL`, exit 255. STS is
//! [`super::FakeKubeOptions::sts_endpoint`]; without one the job fails with a line saying so.

use std::collections::HashMap;
use std::sync::Weak;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use super::Shared;
use super::resources::{PODS, SERVICE_ACCOUNTS};
use super::status::ApiError;
use super::store::{Store, now_rfc3339};
use super::tokens::{BoundObject, DEFAULT_TOKEN_EXPIRATION_SECONDS, TokenSpec, stand_in_uid};
use crate::query_protocol::{form_encode, xml_text};

/// What the CLI prints without credentials.
pub const NO_CREDENTIALS: &str =
    "\nUnable to locate credentials. You can configure credentials by running \"aws configure\".\n";

/// The name of the container the fake runs as the aws CLI's `sts get-caller-identity`, if any.
pub fn job_container(pod: &Value) -> Option<String> {
    pod["spec"]["containers"]
        .as_array()?
        .iter()
        .find(|c| {
            let image = c["image"].as_str().unwrap_or_default();
            let words: Vec<&str> = ["command", "args"]
                .iter()
                .filter_map(|k| c[*k].as_array())
                .flatten()
                .filter_map(Value::as_str)
                .flat_map(str::split_whitespace)
                .collect();
            image.contains("aws-cli")
                && words.contains(&"sts")
                && words.contains(&"get-caller-identity")
        })
        .and_then(|c| c["name"].as_str().map(str::to_string))
}

fn container_statuses(pod: &Value, state: impl Fn(&str) -> Value, ready: bool) -> Vec<Value> {
    pod["spec"]["containers"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    let name = c["name"].as_str().unwrap_or_default();
                    json!({
                        "name": name,
                        "image": c["image"],
                        "imageID": "",
                        "ready": ready,
                        "restartCount": 0,
                        "started": ready,
                        "state": state(name),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

fn pending_status(pod: &Value) -> Value {
    json!({
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": now_rfc3339()}],
        "containerStatuses": container_statuses(pod, |_| json!({"waiting": {"reason": "ContainerCreating"}}), false),
        "qosClass": "BestEffort",
    })
}

fn running_status(pod: &Value, started: &str) -> Value {
    json!({
        "phase": "Running",
        "startTime": started,
        "conditions": [
            {"type": "PodScheduled", "status": "True"},
            {"type": "Initialized", "status": "True"},
            {"type": "ContainersReady", "status": "True"},
            {"type": "Ready", "status": "True"},
        ],
        "containerStatuses": container_statuses(pod, |_| json!({"running": {"startedAt": started}}), true),
        "qosClass": "BestEffort",
    })
}

fn terminated_status(pod: &Value, started: &str, exit_code: i32) -> Value {
    let finished = now_rfc3339();
    let reason = if exit_code == 0 { "Completed" } else { "Error" };
    json!({
        "phase": if exit_code == 0 { "Succeeded" } else { "Failed" },
        "startTime": started,
        "conditions": [
            {"type": "PodScheduled", "status": "True"},
            {"type": "Initialized", "status": "True", "reason": "PodCompleted"},
            {"type": "ContainersReady", "status": "False", "reason": "PodCompleted"},
            {"type": "Ready", "status": "False", "reason": "PodCompleted"},
        ],
        "containerStatuses": container_statuses(pod, |_| json!({"terminated": {
            "exitCode": exit_code,
            "reason": reason,
            "startedAt": started,
            "finishedAt": finished,
        }}), false),
        "qosClass": "BestEffort",
    })
}

/// The create hook: marks an aws-cli job pod Pending and spawns its run on `runtime`.
pub fn hook(
    shared: Weak<Shared>,
    runtime: tokio::runtime::Handle,
    step: Duration,
) -> impl Fn(&Store, &mut Value) -> Result<(), ApiError> + Send + Sync + 'static {
    move |_store, pod| {
        let Some(container) = job_container(pod) else {
            return Ok(());
        };
        pod["status"] = pending_status(pod);
        let meta = &pod["metadata"];
        let key = PodKey {
            namespace: meta["namespace"].as_str().unwrap_or_default().to_string(),
            name: meta["name"].as_str().unwrap_or_default().to_string(),
            uid: meta["uid"].as_str().unwrap_or_default().to_string(),
        };
        runtime.spawn(run(shared.clone(), key, container, step));
        Ok(())
    }
}

struct PodKey {
    namespace: String,
    name: String,
    uid: String,
}

/// Writes the pod's status if it is still the pod the job started for; answers the pod.
fn update_status(
    shared: &Shared,
    key: &PodKey,
    status: impl FnOnce(&Value) -> Value,
) -> Option<Value> {
    let mut store = shared.store();
    let pod = store.get(&PODS, Some(&key.namespace), &key.name).ok()?;
    if pod["metadata"]["uid"] != key.uid.as_str() {
        return None;
    }
    let status = status(&pod);
    store.write_status(&PODS, Some(&key.namespace), &key.name, status);
    store.get(&PODS, Some(&key.namespace), &key.name).ok()
}

async fn run(shared: Weak<Shared>, key: PodKey, container: String, step: Duration) {
    tokio::time::sleep(step).await;
    let Some(s) = shared.upgrade() else {
        return;
    };
    let started = now_rfc3339();
    let Some(pod) = update_status(&s, &key, |pod| running_status(pod, &started)) else {
        return;
    };
    drop(s);
    let (log, exit_code) = execute(&shared, &pod, &container).await;
    tokio::time::sleep(step).await;
    let Some(s) = shared.upgrade() else {
        return;
    };
    s.append_log(&key.uid, &container, &log);
    update_status(&s, &key, |pod| terminated_status(pod, &started, exit_code));
}

struct Credentials {
    access_key_id: String,
    session_token: Option<String>,
}

/// `aws sts get-caller-identity` run in the pod's `container` (a job pod's, or `kubectl exec`'s):
/// what the CLI prints and its exit code.
pub async fn run_in(shared: &Weak<Shared>, pod: &Value, container: &str) -> (String, i32) {
    execute(shared, pod, container).await
}

/// The job: (what the CLI prints, its exit code).
async fn execute(shared: &Weak<Shared>, pod: &Value, container: &str) -> (String, i32) {
    let Some(c) = pod["spec"]["containers"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == container))
    else {
        return (NO_CREDENTIALS.to_string(), 255);
    };
    let env: HashMap<String, String> = c["env"]
        .as_array()
        .map(|env| {
            env.iter()
                .filter_map(|e| Some((e["name"].as_str()?.into(), e["value"].as_str()?.into())))
                .collect()
        })
        .unwrap_or_default();
    let var = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
    let (sts, issuer) = match shared.upgrade() {
        Some(s) => (
            s.options.sts_endpoint.clone(),
            s.issuer.issuer().to_string(),
        ),
        None => return (String::new(), 137),
    };
    let region = var("AWS_REGION")
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .or_else(|| region_of_issuer(&issuer))
        .unwrap_or_else(|| "us-east-1".to_string());
    let no_sts = || {
        (
            "\nfake Kubernetes API: no STS endpoint to run the aws-cli job against (FakeKubeOptions::sts_endpoint is unset)\n"
                .to_string(),
            255,
        )
    };

    let credentials = if let (Some(access_key_id), Some(_)) =
        (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY"))
    {
        Credentials {
            access_key_id,
            session_token: var("AWS_SESSION_TOKEN"),
        }
    } else if let (Some(role_arn), Some(token_file)) =
        (var("AWS_ROLE_ARN"), var("AWS_WEB_IDENTITY_TOKEN_FILE"))
    {
        let Some((audience, expiration)) = projected_token(pod, c, &token_file) else {
            return (
                format!("\n[Errno 2] No such file or directory: '{token_file}'\n"),
                255,
            );
        };
        let Some(token) = mint_for_pod(shared, pod, audience, expiration) else {
            return (String::new(), 137);
        };
        let Some(sts) = &sts else { return no_sts() };
        let session = var("AWS_ROLE_SESSION_NAME")
            .unwrap_or_else(|| format!("botocore-session-{}", jiff::Timestamp::now().as_second()));
        match assume_role_with_web_identity(sts, &role_arn, &session, &token).await {
            Ok(credentials) => credentials,
            Err(failure) => return failure,
        }
    } else {
        return (NO_CREDENTIALS.to_string(), 255);
    };
    let Some(sts) = &sts else { return no_sts() };
    match get_caller_identity(sts, &region, &credentials).await {
        Ok(identity) => (identity, 0),
        Err(failure) => failure,
    }
}

/// `oidc.eks.<region>.amazonaws.com` → region.
fn region_of_issuer(issuer: &str) -> Option<String> {
    let host = issuer
        .trim_start_matches("https://")
        .split('/')
        .next()
        .unwrap_or_default();
    host.strip_prefix("oidc.eks.")
        .and_then(|rest| rest.split('.').next())
        .map(str::to_string)
}

/// The (audience, expirationSeconds) of the `serviceAccountToken` projection that `file` is in
/// the container, if it is one.
fn projected_token(pod: &Value, container: &Value, file: &str) -> Option<(Option<String>, i64)> {
    let (dir, base) = file.rsplit_once('/')?;
    let mount = container["volumeMounts"]
        .as_array()?
        .iter()
        .find(|m| m["mountPath"].as_str().map(|p| p.trim_end_matches('/')) == Some(dir))?;
    let volume = pod["spec"]["volumes"]
        .as_array()?
        .iter()
        .find(|v| v["name"] == mount["name"])?;
    let source = volume["projected"]["sources"]
        .as_array()?
        .iter()
        .map(|s| &s["serviceAccountToken"])
        .find(|t| t["path"] == base)?;
    Some((
        source["audience"].as_str().map(str::to_string),
        source["expirationSeconds"]
            .as_i64()
            .unwrap_or(DEFAULT_TOKEN_EXPIRATION_SECONDS),
    ))
}

/// The kubelet's token for the pod: its service account, the projection's audience (the
/// issuer when none), bound to the pod.
fn mint_for_pod(
    shared: &Weak<Shared>,
    pod: &Value,
    audience: Option<String>,
    expiration: i64,
) -> Option<String> {
    let s = shared.upgrade()?;
    let namespace = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let sa = pod["spec"]["serviceAccountName"]
        .as_str()
        .unwrap_or("default");
    let sa_uid = s
        .store()
        .get(&SERVICE_ACCOUNTS, Some(namespace), sa)
        .ok()
        .and_then(|o| o["metadata"]["uid"].as_str().map(str::to_string))
        .unwrap_or_else(|| stand_in_uid(namespace, sa));
    let audience = audience.unwrap_or_else(|| s.issuer.issuer().to_string());
    let (token, _) = s.issuer.mint(&TokenSpec {
        namespace,
        service_account: sa,
        service_account_uid: &sa_uid,
        audiences: vec![audience],
        expires_in_seconds: expiration,
        pod: Some(BoundObject {
            name: pod["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            uid: pod["metadata"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        }),
        rogue: false,
    });
    Some(token)
}

type Failure = (String, i32);

/// POSTs a query-API form to STS; answers the XML body of a 2xx, or what the CLI prints.
async fn sts_call(
    endpoint: &str,
    operation: &str,
    form: &[(&str, &str)],
    headers: &[(&str, String)],
) -> Result<String, Failure> {
    let body: Vec<String> = form
        .iter()
        .map(|(k, v)| format!("{k}={}", form_encode(v)))
        .collect();
    let url = format!("{}/", endpoint.trim_end_matches('/'));
    let mut request = hyper::Request::post(&url).header(
        "content-type",
        "application/x-www-form-urlencoded; charset=utf-8",
    );
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let unreachable = || {
        (
            format!("\nCould not connect to the endpoint URL: \"{url}\"\n"),
            255,
        )
    };
    let request = request
        .body(Full::new(Bytes::from(body.join("&"))))
        .map_err(|_| unreachable())?;
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let response = tokio::time::timeout(Duration::from_secs(30), client.request(request))
        .await
        .map_err(|_| unreachable())?
        .map_err(|_| unreachable())?;
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|_| unreachable())?
        .to_bytes();
    let xml = String::from_utf8_lossy(&bytes).into_owned();
    if status.is_success() {
        return Ok(xml);
    }
    let code = xml_text(&xml, "Code").unwrap_or_else(|| status.as_u16().to_string());
    let message = xml_text(&xml, "Message").unwrap_or_else(|| {
        status
            .canonical_reason()
            .unwrap_or("Unknown error")
            .to_string()
    });
    Err((
        format!("\nAn error occurred ({code}) when calling the {operation} operation: {message}\n"),
        254,
    ))
}

async fn assume_role_with_web_identity(
    sts: &str,
    role_arn: &str,
    session: &str,
    token: &str,
) -> Result<Credentials, Failure> {
    let xml = sts_call(
        sts,
        "AssumeRoleWithWebIdentity",
        &[
            ("Action", "AssumeRoleWithWebIdentity"),
            ("Version", "2011-06-15"),
            ("RoleArn", role_arn),
            ("RoleSessionName", session),
            ("WebIdentityToken", token),
        ],
        &[],
    )
    .await?;
    let access_key_id = xml_text(&xml, "AccessKeyId").ok_or_else(|| {
        (
            "\nAn error occurred (Unknown) when calling the AssumeRoleWithWebIdentity operation: no credentials in the response\n"
                .to_string(),
            254,
        )
    })?;
    Ok(Credentials {
        access_key_id,
        session_token: xml_text(&xml, "SessionToken"),
    })
}

async fn get_caller_identity(
    sts: &str,
    region: &str,
    credentials: &Credentials,
) -> Result<String, Failure> {
    let now = jiff::Timestamp::now();
    let amz_date = now.strftime("%Y%m%dT%H%M%SZ").to_string();
    let mut headers = vec![
        ("x-amz-date", amz_date.clone()),
        (
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential={}/{}/{region}/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature={}",
                credentials.access_key_id,
                &amz_date[..8],
                "0".repeat(64)
            ),
        ),
    ];
    if let Some(token) = &credentials.session_token {
        headers.push(("x-amz-security-token", token.clone()));
    }
    let xml = sts_call(
        sts,
        "GetCallerIdentity",
        &[("Action", "GetCallerIdentity"), ("Version", "2011-06-15")],
        &headers,
    )
    .await?;
    let field = |tag| xml_text(&xml, tag).unwrap_or_default();
    let identity =
        json!({"UserId": field("UserId"), "Account": field("Account"), "Arn": field("Arn")});
    Ok(pretty(&identity) + "\n")
}

/// JSON with a 4-space indent, as the aws CLI prints it.
fn pretty(value: &Value) -> String {
    use serde::Serialize;
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(
        &mut out,
        serde_json::ser::PrettyFormatter::with_indent(b"    "),
    );
    value
        .serialize(&mut serializer)
        .expect("serializing JSON to memory");
    String::from_utf8(out).expect("JSON is UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_the_aws_cli_job() {
        let pod = json!({"spec": {"containers": [
            {"name": "app", "image": "busybox"},
            {"name": "aws", "image": "public.ecr.aws/aws-cli/aws-cli:latest", "command": ["aws"], "args": ["sts", "get-caller-identity"]},
        ]}});
        assert_eq!(job_container(&pod).as_deref(), Some("aws"));
        let pod = json!({"spec": {"containers": [
            {"name": "aws", "image": "amazon/aws-cli", "args": ["s3", "ls"]},
        ]}});
        assert_eq!(job_container(&pod), None);
        let pod = json!({"spec": {"containers": [
            {"name": "aws", "image": "amazon/aws-cli", "command": ["sh", "-c", "aws sts get-caller-identity"]},
        ]}});
        assert_eq!(job_container(&pod).as_deref(), Some("aws"));
    }

    #[test]
    fn helpers() {
        assert_eq!(
            form_encode("arn:aws:iam::1:role/x y"),
            "arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fx%20y"
        );
        assert_eq!(
            xml_text("<a><Arn>x&amp;y</Arn></a>", "Arn").as_deref(),
            Some("x&y")
        );
        assert_eq!(
            region_of_issuer("https://oidc.eks.eu-west-1.amazonaws.com/id/ABC").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(
            pretty(&json!({"UserId": "u", "Account": "1"})),
            "{\n    \"UserId\": \"u\",\n    \"Account\": \"1\"\n}"
        );
    }
}
