//! A FAKE of the EKS add-on REST API (moto does not implement add-ons), on 127.0.0.1, that
//! forwards every other request (clusters, node groups, …) to moto unchanged, so that one
//! `AWS_ENDPOINT_URL_EKS` serves both.
//!
//! It follows the real restJson1 wire format of CreateAddon, DescribeAddon, UpdateAddon,
//! DeleteAddon and ListAddons: the same paths, JSON member names (`addonName`,
//! `serviceAccountRoleArn`, `createdAt` as epoch seconds, an `update` object from UpdateAddon, …),
//! and errors as EKS sends them (status code, `x-amzn-ErrorType` header, JSON body with
//! `message`): 404 `ResourceNotFoundException` for an unknown cluster or add-on, 409
//! `ResourceInUseException` for a create of an existing add-on or a change while one is in
//! progress, 400 `InvalidParameterException` for bad input. Status moves like the real service,
//! after a configurable delay: CREATING → ACTIVE, UPDATING → ACTIVE, DELETING → gone (or to
//! CREATE_FAILED / UPDATE_FAILED with a health issue for add-ons marked with
//! [`FakeEks::fail_addon`]). The cluster is looked up in moto (a forwarded DescribeCluster)
//! before any add-on call. It implements only what irsa uses; it is not EKS.

// Handlers return `Result<_, Response>`: the error is the HTTP answer to send, built once.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::{Map, Value, json};

use crate::forward::Forwarder;
use crate::server::BackgroundServer;

/// Options of the fake.
#[derive(Debug, Clone)]
pub struct FakeEksOptions {
    /// How long CREATING, UPDATING and DELETING last.
    pub transition_delay: Duration,
    /// Called when an add-on becomes ACTIVE or disappears, as the real add-on then installs or
    /// removes its Kubernetes objects (the sandbox creates the service account and controller).
    pub on_change: Option<AddonHook>,
}

impl Default for FakeEksOptions {
    fn default() -> Self {
        FakeEksOptions {
            transition_delay: Duration::from_millis(300),
            on_change: None,
        }
    }
}

/// An add-on that became ACTIVE (`installed`) or was deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddonChange {
    pub cluster: String,
    pub addon: String,
    pub role_arn: Option<String>,
    pub installed: bool,
}

/// The callback of [`FakeEksOptions::on_change`].
#[derive(Clone)]
pub struct AddonHook(pub Arc<dyn Fn(&AddonChange) + Send + Sync>);

impl std::fmt::Debug for AddonHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AddonHook")
    }
}

/// The running fake, on its own thread and runtime; stopped on drop.
pub struct FakeEks {
    server: BackgroundServer,
    inner: Arc<Inner>,
}

impl std::fmt::Debug for FakeEks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeEks")
            .field("port", &self.server.port())
            .field("moto", &self.inner.moto)
            .finish()
    }
}

impl FakeEks {
    /// Starts the fake on 127.0.0.1 with a free port, forwarding to `moto_endpoint`
    /// (`http://127.0.0.1:PORT`).
    pub fn start(moto_endpoint: &str) -> std::io::Result<FakeEks> {
        FakeEks::start_with(moto_endpoint, FakeEksOptions::default())
    }

    pub fn start_with(moto_endpoint: &str, options: FakeEksOptions) -> std::io::Result<FakeEks> {
        let inner = Arc::new(Inner {
            moto: Forwarder::new(moto_endpoint),
            options,
            addons: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
        });
        let app = router(inner.clone());
        let server = BackgroundServer::start("fake-eks", app, 1)?;
        Ok(FakeEks { server, inner })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        self.server.endpoint()
    }

    /// The `serviceAccountRoleArn` the add-on currently has (None when it has none or does not
    /// exist).
    pub fn addon_role_arn(&self, cluster: &str, addon: &str) -> Option<String> {
        let mut addons = self.inner.addons.lock().unwrap();
        self.inner.settle(&mut addons, Instant::now());
        addons
            .get(&(cluster.to_string(), addon.to_string()))
            .and_then(|a| a.role_arn.clone())
    }

    /// Every `serviceAccountRoleArn` the add-on was created or updated with, in order.
    pub fn addon_role_history(&self, cluster: &str, addon: &str) -> Vec<Option<String>> {
        let addons = self.inner.addons.lock().unwrap();
        addons
            .get(&(cluster.to_string(), addon.to_string()))
            .map(|a| a.role_history.clone())
            .unwrap_or_default()
    }

    /// Makes later creates (and updates) of add-ons named `addon` end in CREATE_FAILED
    /// (UPDATE_FAILED) with this health issue, as when the driver's pods cannot start.
    pub fn fail_addon(&self, addon: &str, code: &str, message: &str) {
        self.inner
            .failures
            .lock()
            .unwrap()
            .insert(addon.to_string(), (code.to_string(), message.to_string()));
    }
}

struct Inner {
    moto: Forwarder,
    options: FakeEksOptions,
    addons: Mutex<HashMap<(String, String), AddonRecord>>,
    /// Add-on name → health issue (code, message) to fail with.
    failures: Mutex<HashMap<String, (String, String)>>,
}

#[derive(Debug, Clone)]
struct AddonRecord {
    cluster: String,
    name: String,
    arn: String,
    version: String,
    role_arn: Option<String>,
    role_history: Vec<Option<String>>,
    configuration_values: Option<String>,
    tags: Map<String, Value>,
    status: &'static str,
    /// The status to move to, and when; `None` target means the add-on disappears.
    pending: Option<(Instant, Option<&'static str>)>,
    issues: Vec<Value>,
    created_at: f64,
    modified_at: f64,
}

impl AddonRecord {
    fn to_json(&self) -> Value {
        let mut addon = json!({
            "addonName": self.name,
            "clusterName": self.cluster,
            "status": self.status,
            "addonVersion": self.version,
            "health": { "issues": self.issues },
            "addonArn": self.arn,
            "createdAt": self.created_at,
            "modifiedAt": self.modified_at,
            "tags": self.tags,
            "publisher": "eks",
            "owner": "aws",
            "podIdentityAssociations": [],
        });
        if let Some(role) = &self.role_arn {
            addon["serviceAccountRoleArn"] = json!(role);
        }
        if let Some(values) = &self.configuration_values {
            addon["configurationValues"] = json!(values);
        }
        addon
    }
}

impl Inner {
    /// Applies every status transition that is due, telling [`FakeEksOptions::on_change`].
    fn settle(&self, addons: &mut HashMap<(String, String), AddonRecord>, now: Instant) {
        let mut changes = Vec::new();
        addons.retain(|_, addon| match addon.pending {
            Some((at, target)) if at <= now => {
                let change = AddonChange {
                    cluster: addon.cluster.clone(),
                    addon: addon.name.clone(),
                    role_arn: addon.role_arn.clone(),
                    installed: target == Some("ACTIVE"),
                };
                match target {
                    Some(status) => {
                        addon.status = status;
                        addon.pending = None;
                        if status == "ACTIVE" {
                            changes.push(change);
                        }
                        true
                    }
                    None => {
                        changes.push(change);
                        false
                    }
                }
            }
            _ => true,
        });
        if let Some(hook) = &self.options.on_change {
            for change in &changes {
                (hook.0)(change);
            }
        }
    }
}

fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route(
            "/clusters/{cluster}/addons",
            get(list_addons).post(create_addon),
        )
        .route(
            "/clusters/{cluster}/addons/{addon}",
            get(describe_addon).delete(delete_addon),
        )
        .route(
            "/clusters/{cluster}/addons/{addon}/update",
            post(update_addon),
        )
        .fallback(forward)
        .with_state(inner)
}

fn epoch_now() -> f64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (now.as_millis() as f64) / 1000.0
}

/// A fresh UUID-shaped identifier (unique within the process).
pub(crate) fn new_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (t >> 32) as u32,
        (t >> 16) as u16,
        n & 0xfff,
        (t >> 4) & 0xfff,
        (t ^ n.rotate_left(29)) & 0xffff_ffff_ffff
    )
}

/// An error as EKS sends it: status, `x-amzn-ErrorType`, and a JSON body with `message`.
fn eks_error(
    status: StatusCode,
    kind: &str,
    message: String,
    cluster: Option<&str>,
    addon: Option<&str>,
) -> Response {
    let mut body = json!({ "message": message });
    if let Some(cluster) = cluster {
        body["clusterName"] = json!(cluster);
    }
    if let Some(addon) = addon {
        body["addonName"] = json!(addon);
    }
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(
        "x-amzn-ErrorType",
        HeaderValue::from_str(kind).unwrap_or(HeaderValue::from_static("ServerException")),
    );
    response
}

fn not_found_addon(cluster: &str, addon: &str) -> Response {
    eks_error(
        StatusCode::NOT_FOUND,
        "ResourceNotFoundException",
        format!("No addon: {addon} found in cluster: {cluster}"),
        Some(cluster),
        Some(addon),
    )
}

fn invalid(message: String, cluster: &str, addon: Option<&str>) -> Response {
    eks_error(
        StatusCode::BAD_REQUEST,
        "InvalidParameterException",
        message,
        Some(cluster),
        addon,
    )
}

fn ok(body: Value) -> Response {
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// The cluster's ARN from moto (a forwarded DescribeCluster with the caller's credentials, so
/// moto sees the same account and region), or the error response to send.
async fn cluster_arn(
    inner: &Inner,
    headers: &HeaderMap,
    cluster: &str,
) -> Result<String, Response> {
    let mut request = Request::builder()
        .method(Method::GET)
        .uri(format!("/clusters/{}", encode_path_segment(cluster)));
    for name in [
        header::AUTHORIZATION.as_str(),
        "x-amz-date",
        "x-amz-security-token",
    ] {
        if let Some(value) = headers.get(name) {
            request = request.header(name, value);
        }
    }
    if !headers.contains_key(header::AUTHORIZATION) {
        // moto picks the service (and region) from the credential scope.
        request = request.header(header::AUTHORIZATION, UNSIGNED_EKS_AUTHORIZATION);
    }
    let request = request
        .body(Body::empty())
        .map_err(|e| server_error(format!("cannot build DescribeCluster: {e}")))?;
    let response = inner
        .moto
        .forward(request)
        .await
        .map_err(|e| server_error(format!("DescribeCluster: {e}")))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| server_error(format!("cannot read moto's answer: {e}")))?
        .to_bytes();
    if status == StatusCode::NOT_FOUND {
        return Err(eks_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!("No cluster found for name: {cluster}."),
            Some(cluster),
            None,
        ));
    }
    if !status.is_success() {
        return Err(server_error(format!(
            "moto answered DescribeCluster with {status}: {}",
            String::from_utf8_lossy(&body)
        )));
    }
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| server_error(format!("moto's DescribeCluster is not JSON: {e}")))?;
    value["cluster"]["arn"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| server_error("moto's DescribeCluster has no cluster.arn".into()))
}

/// A SigV4-shaped Authorization header with an `eks` credential scope in us-east-1; moto
/// routes on the scope and does not check the signature.
pub const UNSIGNED_EKS_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/eks/aws4_request, SignedHeaders=host, Signature=0";

fn server_error(message: String) -> Response {
    eks_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "ServerException",
        message,
        None,
        None,
    )
}

fn encode_path_segment(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn parse_body(
    body: &Bytes,
    cluster: &str,
    addon: Option<&str>,
) -> Result<Map<String, Value>, Response> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(invalid(
            "The request body is not a JSON object.".into(),
            cluster,
            addon,
        )),
    }
}

fn optional_string(
    body: &Map<String, Value>,
    key: &str,
    cluster: &str,
    addon: Option<&str>,
) -> Result<Option<String>, Response> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(format!("{key} must be a string."), cluster, addon)),
    }
}

fn check_role_arn(role: &str, cluster: &str, addon: &str) -> Result<(), Response> {
    let parts: Vec<&str> = role.splitn(6, ':').collect();
    if parts.len() == 6 && parts[0] == "arn" && parts[2] == "iam" && parts[5].starts_with("role/") {
        Ok(())
    } else {
        Err(invalid(
            format!("Invalid serviceAccountRoleArn: {role}"),
            cluster,
            Some(addon),
        ))
    }
}

fn default_version(addon: &str) -> &'static str {
    match addon {
        "aws-ebs-csi-driver" => "v1.37.0-eksbuild.1",
        "aws-efs-csi-driver" => "v2.1.0-eksbuild.1",
        "vpc-cni" => "v1.19.0-eksbuild.1",
        _ => "v1.0.0-eksbuild.1",
    }
}

fn health_issue(code: &str, message: &str) -> Value {
    json!({ "code": code, "message": message, "resourceIds": [] })
}

async fn create_addon(
    State(inner): State<Arc<Inner>>,
    Path(cluster): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match parse_body(&body, &cluster, None) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let name = match optional_string(&body, "addonName", &cluster, None) {
        Ok(Some(name)) if !name.is_empty() => name,
        Ok(_) => return invalid("addonName is required.".into(), &cluster, None),
        Err(response) => return response,
    };
    let fields = (|| {
        let role = optional_string(&body, "serviceAccountRoleArn", &cluster, Some(&name))?;
        if let Some(role) = &role {
            check_role_arn(role, &cluster, &name)?;
        }
        let version = optional_string(&body, "addonVersion", &cluster, Some(&name))?;
        let values = optional_string(&body, "configurationValues", &cluster, Some(&name))?;
        if let Some(resolve) = optional_string(&body, "resolveConflicts", &cluster, Some(&name))?
            && !["OVERWRITE", "NONE", "PRESERVE"].contains(&resolve.as_str())
        {
            return Err(invalid(
                format!("Invalid resolveConflicts: {resolve}"),
                &cluster,
                Some(&name),
            ));
        }
        let tags = match body.get("tags") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(tags)) if tags.values().all(Value::is_string) => tags.clone(),
            Some(_) => {
                return Err(invalid(
                    "tags must map strings to strings.".into(),
                    &cluster,
                    Some(&name),
                ));
            }
        };
        Ok((role, version, values, tags))
    })();
    let (role, version, values, tags) = match fields {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    let cluster_arn = match cluster_arn(&inner, &headers, &cluster).await {
        Ok(arn) => arn,
        Err(response) => return response,
    };
    let now = Instant::now();
    let mut addons = inner.addons.lock().unwrap();
    inner.settle(&mut addons, now);
    let key = (cluster.clone(), name.clone());
    if addons.contains_key(&key) {
        return eks_error(
            StatusCode::CONFLICT,
            "ResourceInUseException",
            format!("Addon already exists: {name}"),
            Some(&cluster),
            Some(&name),
        );
    }
    let failure = inner.failures.lock().unwrap().get(&name).cloned();
    let (target, issues) = match &failure {
        Some((code, message)) => ("CREATE_FAILED", vec![health_issue(code, message)]),
        None => ("ACTIVE", vec![]),
    };
    let created = epoch_now();
    let arn = format!(
        "{}/{name}/{}",
        cluster_arn.replacen(":cluster/", ":addon/", 1),
        new_id()
    );
    let record = AddonRecord {
        cluster: cluster.clone(),
        name: name.clone(),
        arn,
        version: version.unwrap_or_else(|| default_version(&name).to_string()),
        role_arn: role.clone(),
        role_history: vec![role],
        configuration_values: values,
        tags,
        status: "CREATING",
        pending: Some((now + inner.options.transition_delay, Some(target))),
        issues,
        created_at: created,
        modified_at: created,
    };
    let mut response = record.to_json();
    // The issues appear with the final status, not while creating.
    response["health"] = json!({ "issues": [] });
    addons.insert(key, record);
    ok(json!({ "addon": response }))
}

async fn describe_addon(
    State(inner): State<Arc<Inner>>,
    Path((cluster, addon)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = cluster_arn(&inner, &headers, &cluster).await {
        return response;
    }
    let mut addons = inner.addons.lock().unwrap();
    inner.settle(&mut addons, Instant::now());
    match addons.get(&(cluster.clone(), addon.clone())) {
        Some(record) => {
            let mut value = record.to_json();
            if record.pending.is_some() {
                value["health"] = json!({ "issues": [] });
            }
            ok(json!({ "addon": value }))
        }
        None => not_found_addon(&cluster, &addon),
    }
}

async fn update_addon(
    State(inner): State<Arc<Inner>>,
    Path((cluster, addon)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match parse_body(&body, &cluster, Some(&addon)) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let fields = (|| {
        let role = optional_string(&body, "serviceAccountRoleArn", &cluster, Some(&addon))?;
        if let Some(role) = role.as_deref().filter(|r| !r.is_empty()) {
            check_role_arn(role, &cluster, &addon)?;
        }
        let version = optional_string(&body, "addonVersion", &cluster, Some(&addon))?;
        let values = optional_string(&body, "configurationValues", &cluster, Some(&addon))?;
        let resolve = optional_string(&body, "resolveConflicts", &cluster, Some(&addon))?;
        Ok((role, version, values, resolve))
    })();
    let (role, version, values, resolve) = match fields {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    if let Err(response) = cluster_arn(&inner, &headers, &cluster).await {
        return response;
    }
    let now = Instant::now();
    let mut addons = inner.addons.lock().unwrap();
    inner.settle(&mut addons, now);
    let Some(record) = addons.get_mut(&(cluster.clone(), addon.clone())) else {
        return not_found_addon(&cluster, &addon);
    };
    if matches!(record.status, "CREATING" | "UPDATING" | "DELETING") {
        return eks_error(
            StatusCode::CONFLICT,
            "ResourceInUseException",
            format!(
                "Addon {addon} is in {} state and cannot be updated",
                record.status
            ),
            Some(&cluster),
            Some(&addon),
        );
    }
    let mut params = Vec::new();
    if let Some(version) = version {
        params.push(json!({ "type": "AddonVersion", "value": version }));
        record.version = version;
    }
    if let Some(role) = role {
        params.push(json!({ "type": "ServiceAccountRoleArn", "value": role }));
        // An empty string removes the role, as with the real API.
        record.role_arn = Some(role).filter(|r| !r.is_empty());
        record.role_history.push(record.role_arn.clone());
    }
    if let Some(resolve) = resolve {
        params.push(json!({ "type": "ResolveConflicts", "value": resolve }));
    }
    if let Some(values) = values {
        params.push(json!({ "type": "ConfigurationValues", "value": values }));
        record.configuration_values = Some(values).filter(|v| !v.is_empty());
    }
    let failure = inner.failures.lock().unwrap().get(&addon).cloned();
    let (target, issues) = match &failure {
        Some((code, message)) => ("UPDATE_FAILED", vec![health_issue(code, message)]),
        None => ("ACTIVE", vec![]),
    };
    record.status = "UPDATING";
    record.issues = issues;
    record.pending = Some((now + inner.options.transition_delay, Some(target)));
    record.modified_at = epoch_now();
    ok(json!({ "update": {
        "id": new_id(),
        "status": "InProgress",
        "type": "AddonUpdate",
        "params": params,
        "createdAt": record.modified_at,
        "errors": [],
    }}))
}

async fn delete_addon(
    State(inner): State<Arc<Inner>>,
    Path((cluster, addon)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = cluster_arn(&inner, &headers, &cluster).await {
        return response;
    }
    let now = Instant::now();
    let mut addons = inner.addons.lock().unwrap();
    inner.settle(&mut addons, now);
    let Some(record) = addons.get_mut(&(cluster.clone(), addon.clone())) else {
        return not_found_addon(&cluster, &addon);
    };
    if record.status != "DELETING" {
        record.status = "DELETING";
        record.issues.clear();
        record.pending = Some((now + inner.options.transition_delay, None));
        record.modified_at = epoch_now();
    }
    ok(json!({ "addon": record.to_json() }))
}

async fn list_addons(
    State(inner): State<Arc<Inner>>,
    Path(cluster): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let max_results = match query.get("maxResults").map(|m| m.parse::<usize>()) {
        None => 100,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => {
            return invalid(
                "maxResults must be between 1 and 100.".into(),
                &cluster,
                None,
            );
        }
    };
    let start = match query.get("nextToken").map(|t| t.parse::<usize>()) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return invalid("Invalid nextToken.".into(), &cluster, None),
    };
    if let Err(response) = cluster_arn(&inner, &headers, &cluster).await {
        return response;
    }
    let mut addons = inner.addons.lock().unwrap();
    inner.settle(&mut addons, Instant::now());
    let mut names: Vec<&str> = addons
        .values()
        .filter(|a| a.cluster == cluster)
        .map(|a| a.name.as_str())
        .collect();
    names.sort_unstable();
    let page: Vec<&str> = names
        .iter()
        .skip(start)
        .take(max_results)
        .copied()
        .collect();
    let mut body = json!({ "addons": page });
    if start + max_results < names.len() {
        body["nextToken"] = json!((start + max_results).to_string());
    }
    ok(body)
}

/// Sends the request to moto unchanged (method, path, query, headers, body) and relays its answer.
async fn forward(State(inner): State<Arc<Inner>>, request: Request) -> Response {
    match inner.moto.forward(request).await {
        Ok(response) => response,
        Err(e) => eks_error(
            StatusCode::BAD_GATEWAY,
            "ServerException",
            format!("fake EKS: {e}"),
            None,
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::moto::MotoServer;
    use http_body_util::Full;
    use hyper_util::client::legacy::Client;
    use hyper_util::client::legacy::connect::HttpConnector;
    use hyper_util::rt::TokioExecutor;

    struct Http {
        client: Client<HttpConnector, Full<Bytes>>,
        base: String,
    }

    impl Http {
        async fn call(
            &self,
            method: Method,
            path: &str,
            body: Option<Value>,
        ) -> (StatusCode, Option<String>, Value) {
            let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
            let request = hyper::Request::builder()
                .method(method)
                .uri(format!("{}{path}", self.base))
                .header("content-type", "application/json")
                .header("authorization", UNSIGNED_EKS_AUTHORIZATION)
                .body(Full::new(bytes))
                .unwrap();
            let response = self.client.request(request).await.unwrap();
            let status = response.status();
            let kind = response
                .headers()
                .get("x-amzn-errortype")
                .map(|v| v.to_str().unwrap().to_string());
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (
                status,
                kind,
                serde_json::from_slice(&body).unwrap_or(Value::Null),
            )
        }
    }

    #[tokio::test]
    async fn addon_lifecycle_and_forwarding() {
        let moto = MotoServer::start().unwrap();
        let changes: Arc<Mutex<Vec<AddonChange>>> = Arc::default();
        let seen = changes.clone();
        let fake = FakeEks::start_with(
            &moto.endpoint(),
            FakeEksOptions {
                transition_delay: Duration::from_millis(100),
                on_change: Some(AddonHook(Arc::new(move |change| {
                    seen.lock().unwrap().push(change.clone())
                }))),
            },
        )
        .unwrap();
        let http = Http {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base: fake.endpoint(),
        };

        // Unknown cluster: 404 from the fake's cluster check.
        let (status, kind, _) = http
            .call(
                Method::GET,
                "/clusters/nope/addons/aws-ebs-csi-driver",
                None,
            )
            .await;
        assert_eq!(
            (status, kind.as_deref()),
            (StatusCode::NOT_FOUND, Some("ResourceNotFoundException"))
        );

        // CreateCluster is forwarded to moto.
        let cluster = json!({ "name": "demo", "roleArn": "arn:aws:iam::123456789012:role/eks", "resourcesVpcConfig": { "subnetIds": ["subnet-1", "subnet-2"] } });
        let (status, _, body) = http.call(Method::POST, "/clusters", Some(cluster)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["cluster"]["name"], "demo");

        let (status, kind, body) = http
            .call(
                Method::GET,
                "/clusters/demo/addons/aws-ebs-csi-driver",
                None,
            )
            .await;
        assert_eq!(
            (status, kind.as_deref()),
            (StatusCode::NOT_FOUND, Some("ResourceNotFoundException"))
        );
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("aws-ebs-csi-driver")
        );

        let role = "arn:aws:iam::123456789012:role/ebs";
        let create = json!({ "addonName": "aws-ebs-csi-driver", "serviceAccountRoleArn": role, "tags": { "a": "b" } });
        let (status, _, body) = http
            .call(Method::POST, "/clusters/demo/addons", Some(create.clone()))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["addon"]["status"], "CREATING");
        assert!(
            body["addon"]["addonArn"]
                .as_str()
                .unwrap()
                .starts_with("arn:aws:eks:us-east-1:123456789012:addon/demo/aws-ebs-csi-driver/")
        );
        let (status, kind, _) = http
            .call(Method::POST, "/clusters/demo/addons", Some(create))
            .await;
        assert_eq!(
            (status, kind.as_deref()),
            (StatusCode::CONFLICT, Some("ResourceInUseException"))
        );
        let (status, kind, _) = http
            .call(
                Method::POST,
                "/clusters/demo/addons/aws-ebs-csi-driver/update",
                Some(json!({})),
            )
            .await;
        assert_eq!(
            (status, kind.as_deref()),
            (StatusCode::CONFLICT, Some("ResourceInUseException"))
        );

        tokio::time::sleep(Duration::from_millis(150)).await;
        let (_, _, body) = http
            .call(
                Method::GET,
                "/clusters/demo/addons/aws-ebs-csi-driver",
                None,
            )
            .await;
        assert_eq!(body["addon"]["status"], "ACTIVE");
        assert_eq!(body["addon"]["serviceAccountRoleArn"], role);
        assert_eq!(body["addon"]["tags"], json!({ "a": "b" }));

        let role2 = "arn:aws:iam::123456789012:role/ebs2";
        let (status, _, body) = http
            .call(
                Method::POST,
                "/clusters/demo/addons/aws-ebs-csi-driver/update",
                Some(json!({ "serviceAccountRoleArn": role2 })),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["update"]["type"], "AddonUpdate");
        assert_eq!(
            body["update"]["params"][0],
            json!({ "type": "ServiceAccountRoleArn", "value": role2 })
        );
        let (_, _, body) = http
            .call(
                Method::GET,
                "/clusters/demo/addons/aws-ebs-csi-driver",
                None,
            )
            .await;
        assert_eq!(body["addon"]["status"], "UPDATING");
        assert_eq!(
            fake.addon_role_arn("demo", "aws-ebs-csi-driver").as_deref(),
            Some(role2)
        );
        assert_eq!(
            fake.addon_role_history("demo", "aws-ebs-csi-driver"),
            vec![Some(role.to_string()), Some(role2.to_string())]
        );

        let (_, _, body) = http.call(Method::GET, "/clusters/demo/addons", None).await;
        assert_eq!(body, json!({ "addons": ["aws-ebs-csi-driver"] }));

        tokio::time::sleep(Duration::from_millis(150)).await;
        let (status, _, body) = http
            .call(
                Method::DELETE,
                "/clusters/demo/addons/aws-ebs-csi-driver",
                None,
            )
            .await;
        assert_eq!(
            (status, body["addon"]["status"].as_str()),
            (StatusCode::OK, Some("DELETING"))
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
        let (status, _, _) = http
            .call(
                Method::GET,
                "/clusters/demo/addons/aws-ebs-csi-driver",
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Failing add-ons end in CREATE_FAILED with the health issue.
        fake.fail_addon(
            "aws-efs-csi-driver",
            "InsufficientNumberOfReplicas",
            "pods not ready",
        );
        http.call(
            Method::POST,
            "/clusters/demo/addons",
            Some(json!({ "addonName": "aws-efs-csi-driver" })),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(150)).await;
        let (_, _, body) = http
            .call(
                Method::GET,
                "/clusters/demo/addons/aws-efs-csi-driver",
                None,
            )
            .await;
        assert_eq!(body["addon"]["status"], "CREATE_FAILED");
        assert_eq!(
            body["addon"]["health"]["issues"][0]["code"],
            "InsufficientNumberOfReplicas"
        );
        // The hook heard each add-on become ACTIVE (and EBS's deletion), not the failed one.
        let changes = changes.lock().unwrap().clone();
        assert!(
            changes.iter().all(|c| c.addon == "aws-ebs-csi-driver"),
            "{changes:?}"
        );
        assert!(
            changes
                .first()
                .is_some_and(|c| c.installed && c.role_arn.is_some())
        );
        assert!(changes.iter().any(|c| !c.installed), "{changes:?}");
    }
}
