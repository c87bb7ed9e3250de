//! A counting proxy for an AWS API: forwards every request unchanged to one local server (moto,
//! or a fake) and counts it by its action, so that end-to-end tests can assert how many calls a
//! command made, the way a throttle would count them, and which actions it called. For a
//! query-protocol API (IAM, STS: [`CountingProxy::start`]) the action is the `Action` of the
//! form-encoded body, else of the query string; for a restJson1 API (EKS, EKS Auth:
//! [`CountingProxy::start_for`]) it is named from the method and path as the service's model
//! routes them ([`eks_action`]). Point `AWS_ENDPOINT_URL_<SERVICE>` at
//! [`CountingProxy::endpoint`]. [`CountingProxy::deny`] makes it refuse one action as the
//! service refuses a caller without the permission (HTTP 403, `AccessDenied` for IAM, an
//! `AccessDeniedException` for EKS), counted but not forwarded. Moto has no policy simulator:
//! [`CountingProxy::answer_simulations`] makes the IAM proxy answer
//! `SimulatePrincipalPolicy` itself, in IAM's wire format, `implicitDeny` for the denied
//! actions (by name, or `service:Name` for another service's) and `allowed` for the rest.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use crate::aws_wire::query::{
    iam_access_denied, parse_form, parse_form_all, sts_error, xml_escape,
};
use crate::aws_wire::rest_json;
use crate::forward::Forwarder;
use crate::server::BackgroundServer;

/// Action → requests seen.
pub type Counts = BTreeMap<String, u64>;

/// The running proxy, on its own thread and runtime; stopped on drop.
pub struct CountingProxy {
    server: BackgroundServer,
    counts: Arc<Mutex<Counts>>,
    denied: Arc<Mutex<BTreeSet<String>>>,
    simulate: Arc<AtomicBool>,
}

#[derive(Clone)]
struct Route {
    target: Forwarder,
    wire: Wire,
    counts: Arc<Mutex<Counts>>,
    denied: Arc<Mutex<BTreeSet<String>>>,
    simulate: Arc<AtomicBool>,
}

/// The protocol of the API behind the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// Query protocol (IAM, STS): actions by `Action`; `prefix` is the IAM service prefix.
    Query { prefix: &'static str },
    /// restJson1 (EKS, EKS Auth): actions by method and path.
    RestJson { prefix: &'static str },
}

impl Wire {
    /// IAM's query protocol.
    pub const IAM: Wire = Wire::Query { prefix: "iam" };
    /// STS's query protocol.
    pub const STS: Wire = Wire::Query { prefix: "sts" };
    /// EKS's restJson1.
    pub const EKS: Wire = Wire::RestJson { prefix: "eks" };
    /// EKS Auth's restJson1.
    pub const EKS_AUTH: Wire = Wire::RestJson { prefix: "eks-auth" };

    /// The IAM service prefix of the actions (`iam`, `eks`, …).
    pub fn prefix(self) -> &'static str {
        match self {
            Wire::Query { prefix } | Wire::RestJson { prefix } => prefix,
        }
    }
}

/// The caller IAM names in a refusal (moto's default account).
const CALLER: &str = "arn:aws:iam::123456789012:user/sandbox";

impl CountingProxy {
    /// Starts on 127.0.0.1 with a free port, forwarding IAM requests to `target`
    /// (`http://127.0.0.1:PORT`).
    pub fn start(target: &str) -> std::io::Result<CountingProxy> {
        CountingProxy::start_for(target, Wire::IAM)
    }

    /// Starts before `target`, reading actions as `wire` carries them (`Wire::EKS` for EKS).
    pub fn start_for(target: &str, wire: Wire) -> std::io::Result<CountingProxy> {
        let counts = Arc::new(Mutex::new(Counts::new()));
        let denied = Arc::new(Mutex::new(BTreeSet::new()));
        let simulate = Arc::new(AtomicBool::new(false));
        let app = Router::new().fallback(counted).with_state(Route {
            target: Forwarder::new(target),
            wire,
            counts: counts.clone(),
            denied: denied.clone(),
            simulate: simulate.clone(),
        });
        let server = BackgroundServer::start("counting-proxy", app, 2)?;
        Ok(CountingProxy {
            server,
            counts,
            denied,
            simulate,
        })
    }

    /// From now on, refuses `action` (e.g. `GetAccountAuthorizationDetails`, without the
    /// service prefix) with AccessDenied.
    pub fn deny(&self, action: &str) {
        self.denied
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(action.to_string());
    }

    /// From now on, answers `SimulatePrincipalPolicy` (see the module doc).
    pub fn answer_simulations(&self) {
        self.simulate.store(true, Ordering::Relaxed);
    }

    /// From now on, refuses nothing.
    pub fn allow_all(&self) {
        self.denied
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
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

/// The action of a request as `wire` carries it.
fn action_for(wire: Wire, parts: &axum::http::request::Parts, body: &[u8]) -> String {
    match wire {
        Wire::Query { .. } => action_of(parts.uri.query(), body),
        Wire::RestJson { .. } => eks_action(parts.method.as_str(), parts.uri.path()),
    }
}

/// The EKS (and EKS Auth) operation a restJson1 request is, by its method and path as the
/// API models route them (`GET /clusters/{name}` DescribeCluster, `POST
/// /clusters/{name}/addons/{addon}/update` UpdateAddon, `POST /tags/{arn}` TagResource, …).
pub fn eks_action(method: &str, path: &str) -> String {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let name = match (method, segments.as_slice()) {
        ("GET", ["clusters"]) => "ListClusters",
        ("GET", ["clusters", _]) => "DescribeCluster",
        ("GET", ["clusters", _, "addons"]) => "ListAddons",
        ("POST", ["clusters", _, "addons"]) => "CreateAddon",
        ("GET", ["clusters", _, "addons", _]) => "DescribeAddon",
        ("DELETE", ["clusters", _, "addons", _]) => "DeleteAddon",
        ("POST", ["clusters", _, "addons", _, "update"]) => "UpdateAddon",
        ("GET", ["addons", "supported-versions"]) => "DescribeAddonVersions",
        ("GET", ["addons", "configuration-schemas"]) => "DescribeAddonConfiguration",
        ("GET", ["clusters", _, "pod-identity-associations"]) => "ListPodIdentityAssociations",
        ("POST", ["clusters", _, "pod-identity-associations"]) => "CreatePodIdentityAssociation",
        ("GET", ["clusters", _, "pod-identity-associations", _]) => {
            "DescribePodIdentityAssociation"
        }
        ("POST", ["clusters", _, "pod-identity-associations", _]) => "UpdatePodIdentityAssociation",
        ("DELETE", ["clusters", _, "pod-identity-associations", _]) => {
            "DeletePodIdentityAssociation"
        }
        ("POST", ["clusters", _, "assume-role-for-pod-identity"]) => "AssumeRoleForPodIdentity",
        ("GET", ["tags", ..]) => "ListTagsForResource",
        ("POST", ["tags", ..]) => "TagResource",
        ("DELETE", ["tags", ..]) => "UntagResource",
        _ => return format!("({method} {path})"),
    };
    name.to_string()
}

/// The service's refusal of `action` for the sandbox's caller.
fn access_denied(wire: Wire, action: &str) -> Response {
    match wire {
        Wire::Query { prefix: "iam" } => iam_access_denied(CALLER, action, "*"),
        Wire::Query { prefix } => query_access_denied(prefix, action),
        Wire::RestJson { prefix } => rest_json::error(
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            &format!(
                "User: {CALLER} is not authorized to perform: {prefix}:{action} on resource: *"
            ),
            &[],
        ),
    }
}

/// IAM's `SimulatePrincipalPolicy` answer (IAM API reference: `EvaluationResults` members
/// with `EvalActionName`, `EvalResourceName`, `EvalDecision`) for the request's
/// `ActionNames.member.N` on each of its `ResourceArns.member.N` (or `*`).
fn simulation_answer(form: &str, denied: &BTreeSet<String>) -> Response {
    let fields = parse_form_all(form);
    let members = |prefix: &str| -> Vec<String> {
        fields
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v.clone())
            .collect()
    };
    let actions = members("ActionNames.member.");
    let mut resources = members("ResourceArns.member.");
    if resources.is_empty() {
        resources.push("*".into());
    }
    let is_denied = |action: &str| {
        denied.contains(action)
            || action
                .strip_prefix("iam:")
                .is_some_and(|a| denied.contains(a))
    };
    let mut results = String::new();
    for action in &actions {
        for resource in &resources {
            let decision = if is_denied(action) {
                "implicitDeny"
            } else {
                "allowed"
            };
            results.push_str(&format!(
                "<member><EvalActionName>{}</EvalActionName><EvalResourceName>{}</EvalResourceName><EvalDecision>{decision}</EvalDecision><MatchedStatements/><MissingContextValues/></member>",
                xml_escape(action),
                xml_escape(resource)
            ));
        }
    }
    let xml = format!(
        "<SimulatePrincipalPolicyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated><EvaluationResults>{results}</EvaluationResults></SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></SimulatePrincipalPolicyResponse>",
        crate::aws_wire::new_id()
    );
    (
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, "text/xml")],
        xml,
    )
        .into_response()
}

/// STS's refusal (query protocol, HTTP 403 `AccessDenied`).
fn query_access_denied(prefix: &str, action: &str) -> Response {
    let mut response = sts_error(
        "AccessDenied",
        &format!("User: {CALLER} is not authorized to perform: {prefix}:{action} on resource: *"),
    );
    *response.status_mut() = StatusCode::FORBIDDEN;
    response
}

/// The query protocol's action: in the form body (POST, as the SDKs send it) or the query string.
fn action_of(query: Option<&str>, body: &[u8]) -> String {
    let from_body = parse_form(&String::from_utf8_lossy(body)).remove("Action");
    from_body
        .or_else(|| query.and_then(|q| parse_form(q).remove("Action")))
        .unwrap_or_else(|| "(no Action)".to_string())
}

async fn counted(State(route): State<Route>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            return (StatusCode::BAD_REQUEST, format!("counting proxy: {e}")).into_response();
        }
    };
    let action = action_for(route.wire, &parts, &body);
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
        return access_denied(route.wire, &action);
    }
    if action == "SimulatePrincipalPolicy" && route.simulate.load(Ordering::Relaxed) {
        let denied = route
            .denied
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        return simulation_answer(&String::from_utf8_lossy(&body), &denied);
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
            action_of(None, b"Action=GetRole&Version=2010-05-08&RoleName=a"),
            "GetRole"
        );
        assert_eq!(
            action_of(Some("Action=ListRoles&Version=2010-05-08"), b""),
            "ListRoles"
        );
        assert_eq!(action_of(None, b""), "(no Action)");
    }

    /// Paths of the EKS API reference (docs.aws.amazon.com/eks/latest/APIReference, each
    /// operation's "Request Syntax") and of EKS Auth's AssumeRoleForPodIdentity.
    #[test]
    fn eks_actions_come_from_the_method_and_path() {
        for (method, path, action) in [
            ("GET", "/clusters/demo", "DescribeCluster"),
            ("GET", "/clusters", "ListClusters"),
            ("POST", "/clusters/demo/addons", "CreateAddon"),
            (
                "GET",
                "/clusters/demo/addons/aws-ebs-csi-driver",
                "DescribeAddon",
            ),
            (
                "POST",
                "/clusters/demo/addons/aws-ebs-csi-driver/update",
                "UpdateAddon",
            ),
            (
                "DELETE",
                "/clusters/demo/addons/aws-ebs-csi-driver",
                "DeleteAddon",
            ),
            (
                "GET",
                "/addons/configuration-schemas",
                "DescribeAddonConfiguration",
            ),
            (
                "GET",
                "/clusters/demo/pod-identity-associations",
                "ListPodIdentityAssociations",
            ),
            (
                "POST",
                "/clusters/demo/pod-identity-associations",
                "CreatePodIdentityAssociation",
            ),
            (
                "GET",
                "/clusters/demo/pod-identity-associations/a-1",
                "DescribePodIdentityAssociation",
            ),
            (
                "POST",
                "/clusters/demo/pod-identity-associations/a-1",
                "UpdatePodIdentityAssociation",
            ),
            (
                "DELETE",
                "/clusters/demo/pod-identity-associations/a-1",
                "DeletePodIdentityAssociation",
            ),
            (
                "POST",
                "/clusters/demo/assume-role-for-pod-identity",
                "AssumeRoleForPodIdentity",
            ),
            (
                "POST",
                "/tags/arn%3Aaws%3Aeks%3Aus-east-1%3A1%3Acluster%2Fdemo",
                "TagResource",
            ),
        ] {
            assert_eq!(eks_action(method, path), action, "{method} {path}");
        }
        assert_eq!(eks_action("PUT", "/x"), "(PUT /x)");
    }
}
