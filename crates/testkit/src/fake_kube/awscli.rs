//! The fake "runs" one kind of container: the aws CLI's `sts get-caller-identity` (the guide's
//! IRSA test pod). A pod with a container whose image contains `aws-cli` and whose command and
//! args contain `sts` and `get-caller-identity` is created Pending; a spawned task then moves it
//! to Running and, after the job, to Succeeded (exit 0) or Failed (the CLI's exit code), with
//! `containerStatuses[].state.terminated`, and writes what the CLI would print to the pod log.
//!
//! The job resolves credentials through a provider chain in the order of the CLI's default
//! chain, from the container's literal env; the first provider the pod configures answers:
//! - `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`): used as they are;
//! - `AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE` (what the pod-identity webhook injects): the
//!   token file must be a `serviceAccountToken` projection mounted in the container (else the
//!   CLI's `[Errno 2] No such file or directory`); the fake mints that token (its audience and
//!   expiration, bound to the pod) for the pod's service account and calls STS
//!   `AssumeRoleWithWebIdentity` (unsigned, as the CLI sends it; session name
//!   `AWS_ROLE_SESSION_NAME` or `botocore-session-<epoch seconds>`);
//! - `AWS_CONTAINER_CREDENTIALS_FULL_URI` + `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (what EKS
//!   Pod Identity injects): the token file is read the same way, and the simulated Pod Identity
//!   agent answers at `http://169.254.170.23/…` when its DaemonSet
//!   `kube-system/eks-pod-identity-agent` is ready, by calling EKS Auth's
//!   AssumeRoleForPodIdentity ([`super::FakeKubeOptions::pod_identity`]); otherwise the CLI's
//!   `Error when retrieving credentials from container-role: … Could not connect to the
//!   endpoint URL`, and an EKS Auth refusal comes back as `Received non 200 response (…) from
//!   container metadata: …` (exit 255);
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
use super::resources::{DAEMON_SETS, PODS, SERVICE_ACCOUNTS};
use super::status::ApiError;
use super::store::{Store, now_rfc3339};
use super::tokens::{BoundObject, DEFAULT_TOKEN_EXPIRATION_SECONDS, TokenSpec, stand_in_uid};
use crate::addon_objects::POD_IDENTITY_AGENT;
use crate::aws_wire::query::{form_encode, xml_text};

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

/// A running pod's status: every container started and ready, the pod `Ready` (what the kubelet
/// reports once the containers run; also the store's default for a pod created without a status).
pub(super) fn running_status(pod: &Value, started: &str) -> Value {
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

/// What a job's providers see: the pod, its container's literal env, the fake's peers.
struct Job<'a> {
    shared: &'a Weak<Shared>,
    pod: &'a Value,
    container: &'a Value,
    env: HashMap<String, String>,
    sts: Option<String>,
}

impl Job<'_> {
    fn var(&self, name: &str) -> Option<String> {
        self.env.get(name).filter(|v| !v.is_empty()).cloned()
    }

    /// The token a projected-token file holds (minted for the pod as the kubelet would), or
    /// what the CLI prints when the file is not there.
    fn read_token(&self, file: &str) -> Result<String, Failure> {
        let (audience, expiration) =
            projected_token(self.pod, self.container, file).ok_or_else(|| {
                (
                    format!("\n[Errno 2] No such file or directory: '{file}'\n"),
                    255,
                )
            })?;
        mint_for_pod(self.shared, self.pod, audience, expiration).ok_or((String::new(), 137))
    }

    fn sts(&self) -> Result<&str, Failure> {
        self.sts.as_deref().ok_or_else(|| {
            (
                "\nfake Kubernetes API: no STS endpoint to run the aws-cli job against (FakeKubeOptions::sts_endpoint is unset)\n"
                    .to_string(),
                255,
            )
        })
    }
}

/// The providers of the CLI's default credential chain that a pod can configure, in the
/// chain's order: environment keys, web identity (`AWS_ROLE_ARN` +
/// `AWS_WEB_IDENTITY_TOKEN_FILE`), then container credentials
/// (`AWS_CONTAINER_CREDENTIALS_FULL_URI` + `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`, served in
/// EKS by the Pod Identity agent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Provider {
    Environment,
    WebIdentity,
    ContainerCredentials,
}

const CHAIN: [Provider; 3] = [
    Provider::Environment,
    Provider::WebIdentity,
    Provider::ContainerCredentials,
];

impl Provider {
    /// `None` when the pod does not configure this provider (the chain goes on); otherwise its
    /// credentials or the failure that stops the CLI.
    async fn resolve(self, job: &Job<'_>) -> Option<Result<Credentials, Failure>> {
        match self {
            Provider::Environment => {
                let access_key_id = job.var("AWS_ACCESS_KEY_ID")?;
                job.var("AWS_SECRET_ACCESS_KEY")?;
                Some(Ok(Credentials {
                    access_key_id,
                    session_token: job.var("AWS_SESSION_TOKEN"),
                }))
            }
            Provider::WebIdentity => {
                let role_arn = job.var("AWS_ROLE_ARN")?;
                let token_file = job.var("AWS_WEB_IDENTITY_TOKEN_FILE")?;
                Some(web_identity(job, &role_arn, &token_file).await)
            }
            Provider::ContainerCredentials => {
                let uri = job.var("AWS_CONTAINER_CREDENTIALS_FULL_URI")?;
                let token_file = job.var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")?;
                Some(container_credentials(job, &uri, &token_file).await)
            }
        }
    }
}

async fn web_identity(
    job: &Job<'_>,
    role_arn: &str,
    token_file: &str,
) -> Result<Credentials, Failure> {
    let token = job.read_token(token_file)?;
    let session = job
        .var("AWS_ROLE_SESSION_NAME")
        .unwrap_or_else(|| format!("botocore-session-{}", jiff::Timestamp::now().as_second()));
    assume_role_with_web_identity(job.sts()?, role_arn, &session, &token).await
}

/// What the CLI prints when the container credentials endpoint fails (botocore's
/// `CredentialRetrievalError` around `MetadataRetrievalError`).
fn container_failure(detail: String) -> Failure {
    (
        format!(
            "\nError when retrieving credentials from container-role: Error retrieving metadata: {detail}\n"
        ),
        255,
    )
}

/// The simulated EKS Pod Identity agent behind `AWS_CONTAINER_CREDENTIALS_FULL_URI`: reachable
/// when the URI is the agent's (169.254.170.23) and its DaemonSet runs ready in `kube-system`;
/// it calls EKS Auth's AssumeRoleForPodIdentity with the pod's token.
async fn container_credentials(
    job: &Job<'_>,
    uri: &str,
    token_file: &str,
) -> Result<Credentials, Failure> {
    let unreachable = || {
        container_failure(format!(
            "Received error when attempting to retrieve container metadata: Could not connect to the endpoint URL: \"{uri}\""
        ))
    };
    let token = job.read_token(token_file)?;
    let shared = job.shared.upgrade().ok_or((String::new(), 137))?;
    let agent_ready = shared
        .store()
        .get(&DAEMON_SETS, Some("kube-system"), POD_IDENTITY_AGENT)
        .is_ok_and(|ds| ds["status"]["numberReady"].as_u64().unwrap_or(0) > 0);
    let target = shared.options.pod_identity.as_ref().and_then(|p| {
        p.eks_auth_endpoint
            .clone()
            .map(|endpoint| (endpoint, p.cluster.clone()))
    });
    drop(shared);
    let (endpoint, cluster) = match target {
        Some(target) if agent_ready && is_agent_uri(uri) => target,
        _ => return Err(unreachable()),
    };
    let answer = post_json(
        &format!("{endpoint}/clusters/{cluster}/assume-role-for-pod-identity"),
        json!({ "token": token }),
    )
    .await
    .map_err(|_| unreachable())?;
    let body = String::from_utf8_lossy(&answer.body).into_owned();
    if answer.status != 200 {
        // The agent answers EKS Auth's status with its error as text (eks-pod-identity-agent
        // `HandleCredentialFetchingError`: `[request id]: (Code): message, fault: client`).
        let message: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        return Err(container_failure(format!(
            "Received non 200 response ({}) from container metadata: [{}]: ({}): {}, fault: client",
            answer.status,
            answer.request_id,
            answer.error_type,
            message["message"].as_str().unwrap_or_default()
        )));
    }
    let answer: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let credentials = &answer["credentials"];
    let access_key_id = credentials["accessKeyId"].as_str().ok_or_else(|| {
        container_failure(format!(
            "Invalid credentials from container metadata: {body}"
        ))
    })?;
    Ok(Credentials {
        access_key_id: access_key_id.to_string(),
        session_token: credentials["sessionToken"].as_str().map(str::to_string),
    })
}

/// Whether `uri` is the Pod Identity agent's endpoint (IPv4 or IPv6 link-local address).
fn is_agent_uri(uri: &str) -> bool {
    ["http://169.254.170.23/", "http://[fd00:ec2::23]/"]
        .iter()
        .any(|prefix| uri.starts_with(prefix))
}

/// What EKS Auth answered the agent.
struct AgentAnswer {
    status: u16,
    error_type: String,
    request_id: String,
    body: Bytes,
}

/// POSTs JSON as the agent's SDK does.
async fn post_json(url: &str, body: Value) -> Result<AgentAnswer, String> {
    let request = hyper::Request::post(url)
        .header("content-type", "application/json")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIAPODIDENTITYAGENT/20260101/us-east-1/eks-auth/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(|e| e.to_string())?;
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let response = tokio::time::timeout(Duration::from_secs(30), client.request(request))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (status, error_type, request_id) = (
        response.status().as_u16(),
        header("x-amzn-errortype"),
        header("x-amzn-requestid"),
    );
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok(AgentAnswer {
        status,
        error_type,
        request_id,
        body,
    })
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
    let (sts, issuer) = match shared.upgrade() {
        Some(s) => (
            s.options.sts_endpoint.clone(),
            s.issuer.issuer().to_string(),
        ),
        None => return (String::new(), 137),
    };
    let job = Job {
        shared,
        pod,
        container: c,
        env,
        sts,
    };
    let region = job
        .var("AWS_REGION")
        .or_else(|| job.var("AWS_DEFAULT_REGION"))
        .or_else(|| region_of_issuer(&issuer))
        .unwrap_or_else(|| "us-east-1".to_string());
    let mut resolved = None;
    for provider in CHAIN {
        if let Some(outcome) = provider.resolve(&job).await {
            resolved = Some(outcome);
            break;
        }
    }
    let credentials = match resolved {
        Some(Ok(credentials)) => credentials,
        Some(Err(failure)) => return failure,
        None => return (NO_CREDENTIALS.to_string(), 255),
    };
    let sts = match job.sts() {
        Ok(sts) => sts,
        Err(failure) => return failure,
    };
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
