//! A counting proxy for an AWS API: forwards every request unchanged to one local server (moto,
//! or the fake EKS) and counts it by its `Action` (query protocol, IAM: the form-encoded body's,
//! else the query string's), or, for a REST-JSON API (EKS), by its method and path (`GET
//! /clusters/demo/pod-identity-associations`), so that end-to-end tests can assert how many
//! calls a command made, the way a throttle would count them. Point `AWS_ENDPOINT_URL_IAM` (or
//! `AWS_ENDPOINT_URL_EKS`) at [`CountingProxy::endpoint`].
//! [`CountingProxy::deny`] makes it refuse one action as IAM refuses a caller without the
//! permission (HTTP 403, `AccessDenied`), counted but not forwarded.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use crate::aws_wire::query::{iam_access_denied, parse_form};
use crate::forward::Forwarder;
use crate::server::BackgroundServer;

/// Action → requests seen.
pub type Counts = BTreeMap<String, u64>;

/// The running proxy, on its own thread and runtime; stopped on drop.
pub struct CountingProxy {
    server: BackgroundServer,
    counts: Arc<Mutex<Counts>>,
    denied: Arc<Mutex<BTreeSet<String>>>,
}

#[derive(Clone)]
struct Route {
    target: Forwarder,
    counts: Arc<Mutex<Counts>>,
    denied: Arc<Mutex<BTreeSet<String>>>,
}

/// The caller IAM names in a refusal (moto's default account).
const CALLER: &str = "arn:aws:iam::123456789012:user/sandbox";

impl CountingProxy {
    /// Starts on 127.0.0.1 with a free port, forwarding to `target` (`http://127.0.0.1:PORT`).
    pub fn start(target: &str) -> std::io::Result<CountingProxy> {
        let counts = Arc::new(Mutex::new(Counts::new()));
        let denied = Arc::new(Mutex::new(BTreeSet::new()));
        let app = Router::new().fallback(counted).with_state(Route {
            target: Forwarder::new(target),
            counts: counts.clone(),
            denied: denied.clone(),
        });
        let server = BackgroundServer::start("counting-proxy", app, 2)?;
        Ok(CountingProxy {
            server,
            counts,
            denied,
        })
    }

    /// From now on, refuses `action` (e.g. `GetAccountAuthorizationDetails`) with AccessDenied.
    pub fn deny(&self, action: &str) {
        self.denied
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(action.to_string());
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        self.server.endpoint()
    }

    /// The requests seen so far, by action.
    pub fn counts(&self) -> Counts {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Every request seen so far.
    pub fn total(&self) -> u64 {
        self.counts().values().sum()
    }

    /// Forgets the counts.
    pub fn clear(&self) {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

/// The query protocol's action: in the form body (POST, as the SDKs send it) or the query
/// string; without one (a REST API), the method and path.
fn action_of(method: &str, path: &str, query: Option<&str>, body: &[u8]) -> String {
    let from_body = parse_form(&String::from_utf8_lossy(body)).remove("Action");
    from_body
        .or_else(|| query.and_then(|q| parse_form(q).remove("Action")))
        .unwrap_or_else(|| format!("{method} {path}"))
}

async fn counted(State(route): State<Route>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            return (StatusCode::BAD_REQUEST, format!("counting proxy: {e}")).into_response();
        }
    };
    let action = action_of(
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query(),
        &body,
    );
    *route
        .counts
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(action.clone())
        .or_default() += 1;
    let denied = route
        .denied
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .contains(&action);
    if denied {
        return iam_access_denied(CALLER, &action, "*");
    }
    match route.target.send(parts, body).await {
        Ok((parts, body)) => Response::from_parts(parts, Body::from(body)),
        Err(e) => (StatusCode::BAD_GATEWAY, format!("counting proxy: {e}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_action_comes_from_the_form_body_else_the_query() {
        assert_eq!(
            action_of(
                "POST",
                "/",
                None,
                b"Action=GetRole&Version=2010-05-08&RoleName=a"
            ),
            "GetRole"
        );
        assert_eq!(
            action_of("GET", "/", Some("Action=ListRoles&Version=2010-05-08"), b""),
            "ListRoles"
        );
    }

    #[test]
    fn a_rest_call_is_counted_by_method_and_path() {
        // EKS ListPodIdentityAssociations (REST-JSON: GET /clusters/{name}/pod-identity-associations).
        assert_eq!(
            action_of(
                "GET",
                "/clusters/demo/pod-identity-associations",
                Some("maxResults=100"),
                b""
            ),
            "GET /clusters/demo/pod-identity-associations"
        );
    }
}
