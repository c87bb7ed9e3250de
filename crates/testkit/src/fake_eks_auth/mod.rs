//! A FAKE of the EKS Auth API (moto has none), on 127.0.0.1, served at
//! `AWS_ENDPOINT_URL_EKS_AUTH`: AssumeRoleForPodIdentity (`POST
//! /clusters/{clusterName}/assume-role-for-pod-identity`, restJson1, body `{"token"}`; model
//! `eks-auth/2023-11-26`), answering `subject {namespace, serviceAccount}`, `audience`,
//! `podIdentityAssociation {associationArn, associationId}`, `assumedRoleUser {arn,
//! assumeRoleId}` and `credentials {sessionToken, secretAccessKey, accessKeyId, expiration}`.
//!
//! It does what EKS does, in order, each refusal with the model's error and status:
//! 0. under `irsa-sandbox --enforce-iam` ([`FakeEksAuth::enforce`]), the caller may
//!    `eks-auth:AssumeRoleForPodIdentity` on the cluster's ARN (400 AccessDeniedException, the
//!    model's status; see [`crate::enforce`]);
//! 1. the cluster exists in moto (404 ResourceNotFoundException);
//! 2. the token verifies against the cluster issuer's JWKS ([`TokenVerifier`]: RS256, `iss`,
//!    audience `pods.eks.amazonaws.com`; 400 InvalidTokenException), and is not expired (400
//!    ExpiredTokenException);
//! 3. the token's service account has an association ([`Associations`]; 404
//!    ResourceNotFoundException);
//! 4. the role exists and its trust has an Allow statement naming `Principal.Service`
//!    `pods.eks.amazonaws.com` with `sts:AssumeRole` and, unless the association disables
//!    session tags, `sts:TagSession` (400 AccessDeniedException; the check of
//!    [`moto_iam::trusts_pod_identity`], conditions not evaluated);
//! 5. moto's STS AssumeRole, session `eks-<cluster, 10>-<pod or service account, 10>-<uuid>`
//!    for 6 hours, with the six session tags (eks-cluster-arn, eks-cluster-name,
//!    kubernetes-namespace, kubernetes-service-account, kubernetes-pod-name, kubernetes-pod-uid;
//!    the pod ones from the token's `kubernetes.io.pod` claim, left out when the token is not
//!    bound to a pod), all transitive, unless disabled, and the association's session policy;
//! 6. with a `targetRoleArn`, a second AssumeRole of the target as the first session (its
//!    session policy then; `ExternalId` = the association's `externalId` when session tags are
//!    off); the answer carries the target role's credentials.
//!
//! Both calls reach the fake CloudTrail's [`EventLog`] as CloudTrail records them (see
//! [`events`]). Session names, durations and record shapes follow the sample events of
//! aws-samples/amazon-eks-security-immersion-day ("Deep Dive into EKS Pod Identity").

// Handlers return `Result<_, Response>`: the error is the HTTP answer to send, built once.
#![allow(clippy::result_large_err)]

pub mod events;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::post;
use bytes::Bytes;
use serde_json::json;

use crate::aws_wire::{new_id, rest_json};
use crate::enforce::{self, Enforcer, Gate};
use crate::fake_cloudtrail::EventLog;
use crate::fake_eks::{Association, Associations};
use crate::fake_kube::{ServiceAccountClaims, TokenError, TokenVerifier};
use crate::forward::Forwarder;
use crate::moto_iam::{self, AssumeRole, Assumed};
use crate::sandbox::SANDBOX_ACCOUNT;
use crate::server::BackgroundServer;

/// The audience of Pod Identity tokens, and of every answer.
pub const AUDIENCE: &str = "pods.eks.amazonaws.com";

/// How long the credentials last (the sample events' `durationSeconds`).
pub const SESSION_SECONDS: u32 = 6 * 3600;

/// What the fake needs from the other fakes.
#[derive(Clone)]
pub struct FakeEksAuthOptions {
    /// The region its calls and events are in.
    pub region: String,
    pub associations: Associations,
    /// The cluster issuer's verification.
    pub verifier: Arc<dyn TokenVerifier>,
    /// Where its events go (the fake CloudTrail's history), if anywhere.
    pub events: Option<EventLog>,
}

/// The running fake, on its own thread and runtime; stopped on drop.
pub struct FakeEksAuth {
    server: BackgroundServer,
    inner: Arc<Inner>,
}

impl std::fmt::Debug for FakeEksAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeEksAuth")
            .field("port", &self.server.port())
            .finish()
    }
}

impl FakeEksAuth {
    /// Starts the fake on a free loopback port, calling moto at `moto_endpoint`.
    pub fn start(moto_endpoint: &str, options: FakeEksAuthOptions) -> std::io::Result<FakeEksAuth> {
        let inner = Arc::new(Inner {
            moto: Forwarder::new(moto_endpoint),
            options,
            gate: Gate::default(),
        });
        let app = Router::new()
            .route(
                "/clusters/{cluster}/assume-role-for-pod-identity",
                post(assume_role_for_pod_identity),
            )
            .with_state(inner.clone());
        let server = BackgroundServer::start("fake-eks-auth", app, 1)?;
        Ok(FakeEksAuth { server, inner })
    }

    /// Checks every later caller against `enforcer` (step 0 of the module doc).
    pub fn enforce(&self, enforcer: Enforcer) {
        self.inner.gate.set(enforcer);
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        self.server.endpoint()
    }
}

struct Inner {
    moto: Forwarder,
    options: FakeEksAuthOptions,
    gate: Gate,
}

/// An EKS Auth error: the model's shape (which has only `message`) and status.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    kind: &'static str,
    message: String,
}

impl Refusal {
    fn response(&self) -> Response {
        rest_json::error(self.status, self.kind, &self.message, &[])
    }
}

fn error(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        kind,
        message: message.into(),
    }
}

fn access_denied(message: impl Into<String>) -> Refusal {
    error(StatusCode::BAD_REQUEST, "AccessDeniedException", message)
}

/// One AssumeRoleForPodIdentity being served: what the events need.
struct Call {
    cluster: String,
    caller_key: Option<String>,
    user_agent: String,
}

async fn assume_role_for_pod_identity(
    State(inner): State<Arc<Inner>>,
    Path(cluster): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let call = Call {
        cluster: cluster.clone(),
        caller_key: caller_access_key(&headers),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
    };
    let outcome = match authorize(&inner, &headers, &cluster) {
        Ok(()) => serve(&inner, &call, &body).await,
        Err(refusal) => Err(refusal),
    };
    if let Some(log) = &inner.options.events {
        log.record(events::assume_role_for_pod_identity(
            &inner.options.region,
            &call.cluster,
            call.caller_key.as_deref(),
            &call.user_agent,
            outcome.as_ref().err().map(|r| (r.kind, r.message.as_str())),
        ));
    }
    match outcome {
        Ok(response) => response,
        Err(refusal) => refusal.response(),
    }
}

/// The access key of the caller's SigV4 Authorization header.
fn caller_access_key(headers: &HeaderMap) -> Option<String> {
    enforce::access_key_id(headers)
}

/// Step 0: the caller's `eks-auth:AssumeRoleForPodIdentity` on the cluster (Service
/// Authorization Reference, "Amazon EKS Auth": resource type `cluster`).
fn authorize(inner: &Inner, headers: &HeaderMap, cluster: &str) -> Result<(), Refusal> {
    let resource = format!(
        "arn:aws:eks:{}:{SANDBOX_ACCOUNT}:cluster/{cluster}",
        inner.options.region
    );
    let asked = enforce::Request::new("eks-auth:AssumeRoleForPodIdentity", &resource);
    inner.gate.check(headers, &asked).map_err(|refusal| {
        let status = match refusal {
            enforce::Refusal::AccessDenied { .. } => StatusCode::BAD_REQUEST,
            _ => StatusCode::FORBIDDEN,
        };
        error(status, refusal.code(), refusal.message())
    })
}

async fn serve(inner: &Inner, call: &Call, body: &Bytes) -> Result<Response, Refusal> {
    let body = rest_json::parse_object(body)
        .map_err(|m| error(StatusCode::BAD_REQUEST, "InvalidParameterException", m))?;
    let token = rest_json::optional_string(&body, "token")
        .map_err(|m| error(StatusCode::BAD_REQUEST, "InvalidParameterException", m))?
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            error(
                StatusCode::BAD_REQUEST,
                "InvalidParameterException",
                "token is required.",
            )
        })?;
    let cluster_arn = crate::fake_eks::moto_cluster_arn(
        &inner.moto,
        &moto_headers(&inner.options.region),
        &call.cluster,
    )
    .await
    .map_err(|_| {
        error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!("No cluster found for name: {}.", call.cluster),
        )
    })?;
    let claims = inner
        .options
        .verifier
        .verify(&token, AUDIENCE)
        .map_err(|e| match e {
            TokenError::Expired => error(
                StatusCode::BAD_REQUEST,
                "ExpiredTokenException",
                "The service account token is expired.",
            ),
            TokenError::Invalid(why) => error(
                StatusCode::BAD_REQUEST,
                "InvalidTokenException",
                format!("The service account token is invalid: {why}."),
            ),
        })?;
    let subject = &claims.kubernetes;
    let association = inner
        .options
        .associations
        .find(&call.cluster, &subject.namespace, &subject.serviceaccount.name)
        .ok_or_else(|| {
            error(
                StatusCode::NOT_FOUND,
                "ResourceNotFoundException",
                format!(
                    "No Pod Identity Association found for service account {} in namespace {} of cluster {}.",
                    subject.serviceaccount.name, subject.namespace, call.cluster
                ),
            )
        })?;
    check_trust(inner, &association).await?;
    let credentials = assume(inner, call, &association, &cluster_arn, &claims).await?;
    Ok(rest_json::ok(json!({
        "subject": {"namespace": subject.namespace, "serviceAccount": subject.serviceaccount.name},
        "audience": AUDIENCE,
        "podIdentityAssociation": {"associationArn": association.arn, "associationId": association.id},
        "assumedRoleUser": {"arn": credentials.arn, "assumeRoleId": credentials.assumed_role_id},
        "credentials": {
            "sessionToken": credentials.session_token,
            "secretAccessKey": credentials.secret_access_key,
            "accessKeyId": credentials.access_key_id,
            "expiration": epoch_seconds(&credentials.expiration),
        },
    })))
}

/// Headers for moto's DescribeCluster in the fake's region (moto routes on the credential
/// scope; EKS Auth's own `eks-auth` scope is no service of moto's).
fn moto_headers(region: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let value = crate::fake_eks::sandbox_authorization("eks", region);
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.insert(header::AUTHORIZATION, value);
    }
    headers
}

/// STS's ISO 8601 expiration as epoch seconds (restJson1 timestamps).
fn epoch_seconds(iso: &str) -> f64 {
    iso.parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond() as f64 / 1000.0)
        .unwrap_or_default()
}

/// AccessDenied unless the role exists and trusts EKS Pod Identity (see the module doc).
async fn check_trust(inner: &Inner, association: &Association) -> Result<(), Refusal> {
    let role = &association.role_arn;
    let trust = moto_iam::role_trust(&inner.moto, role)
        .await
        .map_err(|e| {
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerException",
                e,
            )
        })?
        .ok_or_else(|| {
            access_denied(format!(
                "The role {role} of the association does not exist."
            ))
        })?;
    let tag_session = !association.disable_session_tags;
    if moto_iam::trusts_pod_identity(&trust, tag_session) {
        return Ok(());
    }
    let actions = if tag_session {
        "sts:AssumeRole and sts:TagSession"
    } else {
        "sts:AssumeRole"
    };
    Err(access_denied(format!(
        "The trust policy of {role} does not allow {} to perform {actions}.",
        moto_iam::POD_IDENTITY_PRINCIPAL
    )))
}

/// `eks-<cluster>-<pod>-<uuid>`, each name cut at 10 characters (STS allows 64).
fn session_name(cluster: &str, claims: &ServiceAccountClaims) -> String {
    let who = claims
        .kubernetes
        .pod
        .as_ref()
        .map(|p| p.name.as_str())
        .unwrap_or(&claims.kubernetes.serviceaccount.name);
    let cut = |s: &str| s.chars().take(10).collect::<String>();
    format!("eks-{}-{}-{}", cut(cluster), cut(who), new_id())
}

/// The six session tags (the pod's two only when the token names a pod).
fn session_tags(
    association: &Association,
    cluster_arn: &str,
    claims: &ServiceAccountClaims,
) -> Vec<(String, String)> {
    let mut tags = vec![
        ("eks-cluster-arn".to_string(), cluster_arn.to_string()),
        ("eks-cluster-name".to_string(), association.cluster.clone()),
        (
            "kubernetes-namespace".to_string(),
            association.namespace.clone(),
        ),
        (
            "kubernetes-service-account".to_string(),
            association.service_account.clone(),
        ),
    ];
    if let Some(pod) = &claims.kubernetes.pod {
        tags.push(("kubernetes-pod-name".to_string(), pod.name.clone()));
        tags.push(("kubernetes-pod-uid".to_string(), pod.uid.clone()));
    }
    tags
}

/// The AssumeRole (and the target role's) of the association; records each STS call.
async fn assume(
    inner: &Inner,
    call: &Call,
    association: &Association,
    cluster_arn: &str,
    claims: &ServiceAccountClaims,
) -> Result<Assumed, Refusal> {
    let session = session_name(&call.cluster, claims);
    let tags = if association.disable_session_tags {
        Vec::new()
    } else {
        session_tags(association, cluster_arn, claims)
    };
    let target = association.target_role_arn.clone();
    let first = AssumeRole {
        role_arn: association.role_arn.clone(),
        session_name: session.clone(),
        duration_seconds: SESSION_SECONDS,
        tags,
        // With a target role the session policy applies to the target only (EKS model).
        policy: association.policy.clone().filter(|_| target.is_none()),
        external_id: None,
        access_key_id: None,
    };
    let assumed = sts(inner, &first).await?;
    let Some(target) = target else {
        return Ok(assumed);
    };
    let second = AssumeRole {
        role_arn: target,
        session_name: session,
        duration_seconds: 3600,
        tags: Vec::new(),
        policy: association.policy.clone(),
        external_id: association
            .external_id
            .clone()
            .filter(|_| association.disable_session_tags),
        access_key_id: Some(assumed.access_key_id.clone()),
    };
    sts(inner, &second).await
}

/// One STS AssumeRole by `pods.eks.amazonaws.com`, recorded; STS's refusal is AccessDenied.
async fn sts(inner: &Inner, request: &AssumeRole) -> Result<Assumed, Refusal> {
    let outcome = moto_iam::assume_role(&inner.moto, request).await;
    if let Some(log) = &inner.options.events {
        log.record(events::service_assume_role(
            &inner.options.region,
            request,
            &outcome,
        ));
    }
    outcome.map_err(|(code, message)| {
        access_denied(format!(
            "STS AssumeRole of {}: {code}: {message}",
            request.role_arn
        ))
    })
}

#[cfg(test)]
mod tests;
