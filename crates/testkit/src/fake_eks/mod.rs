//! A FAKE of the parts of the EKS REST API that moto lacks, on 127.0.0.1, forwarding every
//! other request (clusters, node groups, …) to moto unchanged, so that one
//! `AWS_ENDPOINT_URL_EKS` serves both:
//!
//! - [`addons`]: CreateAddon, DescribeAddon, UpdateAddon, DeleteAddon, ListAddons, with the
//!   add-on status moving like the real service's after a configurable delay, and the add-ons'
//!   own Pod Identity associations (`podIdentityAssociations`);
//! - [`pod_identity`]: the EKS Pod Identity association API (Create/Describe/Update/Delete/List,
//!   tags), over [`associations`], the [`Associations`] port that the fake cluster's webhook and
//!   the fake EKS Auth read;
//! - [`catalog`]: DescribeAddonVersions and DescribeAddonConfiguration (with
//!   `podIdentityConfiguration`) for the add-ons irsa knows.
//!
//! Every operation follows the real restJson1 wire format (see [`crate::aws_wire::rest_json`]):
//! the same paths, JSON member names, `createdAt` as epoch seconds, and errors as EKS sends them
//! (404 `ResourceNotFoundException` for an unknown cluster or resource, 409
//! `ResourceInUseException` for a duplicate or a change while one is in progress, 400
//! `InvalidParameterException` for bad input). The cluster is looked up in moto (a forwarded
//! DescribeCluster) before any call. It implements only what irsa uses; it is not EKS.

// Handlers return `Result<_, Response>`: the error is the HTTP answer to send, built once.
#![allow(clippy::result_large_err)]

pub mod addons;
pub mod associations;
mod authorize;
pub mod catalog;
pub mod pod_identity;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use http_body_util::BodyExt;
use serde_json::{Map, Value};

use crate::aws_wire::{is_role_arn, rest_json};
use crate::enforce::{self, Enforcer, Gate};
use crate::forward::Forwarder;
use crate::server::BackgroundServer;

pub use addons::{AddonChange, AddonHook};
pub use associations::{Association, Associations};

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
            associations: Associations::default(),
            gate: Gate::default(),
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
        self.inner
            .with_addon(cluster, addon, |a| a.role_arn.clone())
            .flatten()
    }

    /// Checks every later call of the fake's own operations against `enforcer` (see
    /// [`authorize`]).
    pub fn enforce(&self, enforcer: Enforcer) {
        self.inner.gate.set(enforcer);
    }

    /// Every `serviceAccountRoleArn` the add-on was created or updated with, in order.
    pub fn addon_role_history(&self, cluster: &str, addon: &str) -> Vec<Option<String>> {
        self.inner
            .with_addon(cluster, addon, |a| a.role_history.clone())
            .unwrap_or_default()
    }

    /// The Pod Identity associations of every cluster: the port the fake cluster's webhook and
    /// the fake EKS Auth read, and through which tests plant associations EKS would refuse to
    /// create for them (another owner's, an add-on's, one naming a role that is gone).
    pub fn associations(&self) -> Associations {
        self.inner.associations.clone()
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

/// The fake's state, shared by its handlers.
struct Inner {
    moto: Forwarder,
    options: FakeEksOptions,
    addons: Mutex<HashMap<(String, String), addons::AddonRecord>>,
    /// Add-on name → health issue (code, message) to fail with.
    failures: Mutex<HashMap<String, (String, String)>>,
    associations: Associations,
    /// The IAM check of [`authorize`] (unset: everything allowed).
    gate: Gate,
}

fn router(inner: Arc<Inner>) -> Router {
    addons::routes()
        .merge(pod_identity::routes())
        .merge(catalog::routes())
        .fallback(forward)
        .layer(axum::middleware::from_fn_with_state(
            inner.clone(),
            authorize::authorize,
        ))
        .with_state(inner)
}

/// The query string of a request as name → value.
type QueryMap = axum::extract::Query<BTreeMap<String, String>>;

/// An EKS error with the members EKS adds (`clusterName`, `addonName`, …).
fn eks_error(
    status: StatusCode,
    kind: &str,
    message: impl AsRef<str>,
    members: &[(&str, &str)],
) -> Response {
    rest_json::error(status, kind, message.as_ref(), members)
}

/// 400 InvalidParameterException.
fn invalid(message: impl AsRef<str>, members: &[(&str, &str)]) -> Response {
    eks_error(
        StatusCode::BAD_REQUEST,
        "InvalidParameterException",
        message,
        members,
    )
}

/// 409 ResourceInUseException.
fn in_use(message: impl AsRef<str>, members: &[(&str, &str)]) -> Response {
    eks_error(
        StatusCode::CONFLICT,
        "ResourceInUseException",
        message,
        members,
    )
}

/// 404 ResourceNotFoundException.
fn not_found(message: impl AsRef<str>, members: &[(&str, &str)]) -> Response {
    eks_error(
        StatusCode::NOT_FOUND,
        "ResourceNotFoundException",
        message,
        members,
    )
}

fn server_error(message: impl AsRef<str>) -> Response {
    eks_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "ServerException",
        message,
        &[],
    )
}

/// A request body whose member errors answer InvalidParameterException with `members`.
struct Body400<'a> {
    body: Map<String, Value>,
    members: &'a [(&'a str, &'a str)],
}

impl<'a> Body400<'a> {
    fn parse(bytes: &bytes::Bytes, members: &'a [(&'a str, &'a str)]) -> Result<Self, Response> {
        let body = rest_json::parse_object(bytes).map_err(|m| invalid(m, members))?;
        Ok(Body400 { body, members })
    }

    fn string(&self, key: &str) -> Result<Option<String>, Response> {
        rest_json::optional_string(&self.body, key).map_err(|m| invalid(m, self.members))
    }

    fn required_string(&self, key: &str) -> Result<String, Response> {
        self.string(key)?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid(format!("{key} is required."), self.members))
    }

    fn bool(&self, key: &str) -> Result<Option<bool>, Response> {
        rest_json::optional_bool(&self.body, key).map_err(|m| invalid(m, self.members))
    }

    fn has(&self, key: &str) -> bool {
        self.body.get(key).is_some_and(|v| !v.is_null())
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.body.get(key).filter(|v| !v.is_null())
    }

    fn tags(&self) -> Result<Map<String, Value>, Response> {
        rest_json::tag_map(&self.body, "tags").map_err(|m| invalid(m, self.members))
    }

    /// A role ARN member, checked to name an IAM role (`member` in the message).
    fn role_arn(&self, key: &str) -> Result<Option<String>, Response> {
        let role = self.string(key)?;
        match &role {
            Some(r) if !r.is_empty() => check_role_arn(key, r, self.members)?,
            _ => {}
        }
        Ok(role)
    }
}

/// InvalidParameterException unless `role` is an IAM role ARN.
fn check_role_arn(member: &str, role: &str, members: &[(&str, &str)]) -> Result<(), Response> {
    if is_role_arn(role) {
        Ok(())
    } else {
        Err(invalid(format!("Invalid {member}: {role}"), members))
    }
}

/// The `maxResults`/`nextToken` of a List call (1–100, default 100; the token is an offset).
struct Page {
    start: usize,
    size: usize,
}

impl Page {
    fn parse(query: &BTreeMap<String, String>, members: &[(&str, &str)]) -> Result<Page, Response> {
        let size = match query.get("maxResults").map(|m| m.parse::<usize>()) {
            None => 100,
            Some(Ok(n)) if (1..=100).contains(&n) => n,
            Some(_) => return Err(invalid("maxResults must be between 1 and 100.", members)),
        };
        let start = match query.get("nextToken").map(|t| t.parse::<usize>()) {
            None => 0,
            Some(Ok(n)) => n,
            Some(Err(_)) => return Err(invalid("Invalid nextToken.", members)),
        };
        Ok(Page { start, size })
    }

    /// This page of `items` and the token of the next one.
    fn of<T: Clone>(&self, items: &[T]) -> (Vec<T>, Option<String>) {
        let page = items
            .iter()
            .skip(self.start)
            .take(self.size)
            .cloned()
            .collect();
        let next =
            (self.start + self.size < items.len()).then(|| (self.start + self.size).to_string());
        (page, next)
    }
}

/// The cluster's ARN from moto (a DescribeCluster of the fake's own, in the caller's region so
/// that moto looks in the same place), or the error response to send.
async fn cluster_arn(
    inner: &Inner,
    headers: &HeaderMap,
    cluster: &str,
) -> Result<String, Response> {
    moto_cluster_arn(&inner.moto, headers, cluster).await
}

/// [`cluster_arn`] for any fake in front of moto (the fake EKS Auth too). It signs as the
/// sandbox ([`enforce::SANDBOX_ACCESS_KEY`]): the lookup is the fake's, not the caller's call
/// (and the caller's signature would not match this request under `--enforce-iam`).
pub(crate) async fn moto_cluster_arn(
    moto: &Forwarder,
    headers: &HeaderMap,
    cluster: &str,
) -> Result<String, Response> {
    let region = enforce::signed_region(headers).unwrap_or_else(|| "us-east-1".into());
    let request = Request::builder()
        .method(Method::GET)
        .uri(format!(
            "/clusters/{}",
            rest_json::encode_path_segment(cluster)
        ))
        .header(header::AUTHORIZATION, sandbox_authorization("eks", &region));
    let request = request
        .body(Body::empty())
        .map_err(|e| server_error(format!("cannot build DescribeCluster: {e}")))?;
    let response = moto
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
        return Err(not_found(
            format!("No cluster found for name: {cluster}."),
            &[("clusterName", cluster)],
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
        .ok_or_else(|| server_error("moto's DescribeCluster has no cluster.arn"))
}

/// A SigV4-shaped Authorization header with an `eks` credential scope in us-east-1; moto
/// routes on the scope and does not check the signature.
pub const UNSIGNED_EKS_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/eks/aws4_request, SignedHeaders=host, Signature=0";

/// A SigV4-shaped Authorization header of the sandbox's own key for `service` in `region`: moto
/// routes on the scope, and lets the sandbox's key through unchecked (see [`crate::moto`]).
pub fn sandbox_authorization(service: &str, region: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential={}/20260101/{region}/{service}/aws4_request, SignedHeaders=host, Signature=0",
        enforce::SANDBOX_ACCESS_KEY
    )
}

/// Sends the request to moto unchanged (method, path, query, headers, body) and relays its answer.
async fn forward(State(inner): State<Arc<Inner>>, request: Request) -> Response {
    match inner.moto.forward(request).await {
        Ok(response) => response,
        Err(e) => eks_error(
            StatusCode::BAD_GATEWAY,
            "ServerException",
            format!("fake EKS: {e}"),
            &[],
        ),
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod pod_identity_tests;
