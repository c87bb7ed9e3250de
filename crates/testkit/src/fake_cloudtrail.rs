//! A FAKE of CloudTrail's event history for the sandbox's own STS calls (moto implements
//! neither LookupEvents nor any recording), on 127.0.0.1. It serves two endpoints on one port:
//!
//! - **STS** (`AWS_ENDPOINT_URL_STS`): every request is forwarded to moto unchanged and its
//!   answer relayed. An `Action=AssumeRoleWithWebIdentity` (query protocol, form-encoded) is
//!   also recorded as CloudTrail records it: `eventSource` `sts.amazonaws.com`, a
//!   `WebIdentityUser` identity (`principalId` `<provider-arn>:<aud>:<sub>`, `userName` the
//!   subject, `identityProvider` the IAM OIDC provider ARN), `requestParameters` (`roleArn`,
//!   `roleSessionName`, `durationSeconds`), on success `responseElements` with
//!   `subjectFromWebIdentityToken`, `assumedRoleUser`, `provider`, `audience` and the
//!   credentials' `accessKeyId` only (no secret, no session token), on failure `errorCode` and
//!   `errorMessage` from STS's answer and no `responseElements`; `readOnly` true. The token's
//!   claims come from its payload, decoded without verification; the token itself is never
//!   stored or logged. Format after "Logging IAM and AWS STS API calls with AWS CloudTrail",
//!   example `AssumeRoleWithWebIdentity` event
//!   (<https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-integration.html>) and
//!   "CloudTrail userIdentity element"
//!   (<https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html>).
//!   moto checks neither tokens nor trust: with [`FakeCloudTrail::check_web_identity_tokens`]
//!   the fake refuses, as STS does, a token whose issuer has no IAM OIDC provider in the role's
//!   account or whose audience is not one of the provider's client IDs (`InvalidIdentityToken`,
//!   HTTP 400, STS's XML error); signatures and trust policies stay unchecked.
//! - **CloudTrail** (`AWS_ENDPOINT_URL_CLOUDTRAIL`, JSON 1.1): `LookupEvents` (target
//!   [`LOOKUP_EVENTS_TARGET`], with or without its namespace) over the recorded events, newest first: at most one
//!   `LookupAttributes` entry (EventId, EventName, ReadOnly, Username, ResourceType,
//!   ResourceName, EventSource, AccessKeyId), `StartTime`/`EndTime` (epoch seconds; the last 90
//!   days by default), `MaxResults` 1–50 (default 50), `NextToken` paging that is stable while
//!   new events arrive and bound to the query; errors as CloudTrail sends them (HTTP 400, a
//!   JSON body with `__type` and `message`: InvalidLookupAttributesException,
//!   InvalidTimeRangeException, InvalidMaxResultsException, InvalidNextTokenException). Every
//!   other CloudTrail call (CreateTrail, DescribeTrails, GetTrailStatus, …) goes to moto. Under
//!   `irsa-sandbox --enforce-iam` ([`FakeCloudTrail::enforce`]) the caller needs
//!   `cloudtrail:LookupEvents` on `*` (the action has no resource type), else HTTP 400
//!   `AccessDeniedException` (the `cloudtrail/2013-11-01` model's shape has no status of its
//!   own: JSON 1.1's 400; see [`crate::enforce`]).
//!
//! Other fakes record their calls in the same history through the [`EventLog`] port
//! ([`FakeCloudTrail::event_log`]): the fake EKS Auth's `AssumeRoleForPodIdentity` and the STS
//! `AssumeRole` it makes as `pods.eks.amazonaws.com` (see `fake_eks_auth::events`).
//!
//! It implements only what irsa uses; it is not CloudTrail (no delivery delay, no trails).

// Handlers return `Result<_, Response>`: the error is the HTTP answer to send, built once.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::{Value, json};

use crate::aws_wire::query::{form_encode, parse_form, sts_error, xml_text, xml_texts};
use crate::aws_wire::{arn_partition_account, new_id};
use crate::enforce::{self, Enforcer, Gate};
use crate::forward::Forwarder;
use crate::server::BackgroundServer;

/// The `X-Amz-Target` of CloudTrail's LookupEvents as the AWS SDKs send it (aws-sdk-cloudtrail
/// 1.130: `CloudTrail_20131101.LookupEvents`); the API reference's examples add the namespace
/// [`TARGET_NAMESPACE`] in front, which is accepted as well.
pub const LOOKUP_EVENTS_TARGET: &str = "CloudTrail_20131101.LookupEvents";

/// The optional namespace before a CloudTrail target.
pub const TARGET_NAMESPACE: &str = "com.amazonaws.cloudtrail.v20131101.";

/// How far back LookupEvents looks, as the real event history (90 days).
pub const EVENT_HISTORY_SECONDS: i64 = 90 * 24 * 3600;

/// At most this many events per LookupEvents page.
pub const MAX_RESULTS: usize = 50;

/// The lookup attributes CloudTrail accepts.
const ATTRIBUTE_KEYS: [&str; 8] = [
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
];

/// The running fake, on its own thread and runtime; stopped on drop.
pub struct FakeCloudTrail {
    server: BackgroundServer,
    inner: Arc<Inner>,
}

impl std::fmt::Debug for FakeCloudTrail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeCloudTrail")
            .field("port", &self.server.port())
            .field("moto", &self.inner.moto)
            .field("region", &self.inner.region)
            .finish()
    }
}

impl FakeCloudTrail {
    /// Starts the fake on 127.0.0.1 with a free port, forwarding to `moto_endpoint`
    /// (`http://127.0.0.1:PORT`); events are recorded in `region` (STS's unsigned
    /// AssumeRoleWithWebIdentity carries no region of its own).
    pub fn start(moto_endpoint: &str, region: &str) -> std::io::Result<FakeCloudTrail> {
        let inner = Arc::new(Inner {
            moto: Forwarder::new(moto_endpoint),
            region: region.to_string(),
            events: EventLog::default(),
            check_tokens: AtomicBool::new(false),
            gate: Gate::default(),
        });
        let app = Router::new().fallback(dispatch).with_state(inner.clone());
        let server = BackgroundServer::start("fake-cloudtrail", app, 1)?;
        Ok(FakeCloudTrail { server, inner })
    }

    /// `http://127.0.0.1:PORT`: the STS and the CloudTrail endpoint.
    pub fn endpoint(&self) -> String {
        self.server.endpoint()
    }

    /// The recorded CloudTrail events (the `CloudTrailEvent` documents), oldest first.
    pub fn events(&self) -> Vec<Value> {
        let events = self.inner.events.lock().unwrap();
        events.iter().map(|e| e.document.clone()).collect()
    }

    /// The event history, for other fakes to record their calls in.
    pub fn event_log(&self) -> EventLog {
        self.inner.events.clone()
    }

    /// Turns on (or off) STS's token checks that moto skips: an IAM OIDC provider for the
    /// token's issuer in the role's account, and the token's audience among its client IDs.
    pub fn check_web_identity_tokens(&self, on: bool) {
        self.inner.check_tokens.store(on, Ordering::SeqCst);
    }

    /// Checks every later LookupEvents caller against `enforcer` (see the module doc).
    pub fn enforce(&self, enforcer: Enforcer) {
        self.inner.gate.set(enforcer);
    }
}

struct Inner {
    moto: Forwarder,
    region: String,
    /// Oldest first; `seq` increases by one per event.
    events: EventLog,
    check_tokens: AtomicBool,
    gate: Gate,
}

/// One event of the history, with the fields LookupEvents filters and answers on.
#[derive(Debug, Clone)]
pub struct RecordedEvent {
    /// Assigned by the [`EventLog`] (any value given is replaced).
    pub seq: u64,
    pub event_id: String,
    pub event_name: String,
    pub event_source: String,
    /// Milliseconds since the epoch.
    pub time_ms: i64,
    pub username: Option<String>,
    pub access_key_id: Option<String>,
    pub read_only: bool,
    /// (ResourceType, ResourceName)
    pub resources: Vec<(String, String)>,
    /// The `CloudTrailEvent` document.
    pub document: Value,
}

/// The event history: the port through which other fakes (the fake EKS Auth) record the calls
/// they serve, so LookupEvents finds them beside STS's.
#[derive(Debug, Clone, Default)]
pub struct EventLog(Arc<Mutex<Vec<RecordedEvent>>>);

impl EventLog {
    /// Appends an event (its `seq` follows the last one).
    pub fn record(&self, mut event: RecordedEvent) {
        let mut events = self.lock().unwrap_or_else(|p| p.into_inner());
        event.seq = events.last().map(|e| e.seq + 1).unwrap_or(1);
        events.push(event);
    }

    fn lock(&self) -> std::sync::LockResult<std::sync::MutexGuard<'_, Vec<RecordedEvent>>> {
        self.0.lock()
    }
}

impl RecordedEvent {
    fn matches(&self, key: &str, value: &str) -> bool {
        match key {
            "EventId" => self.event_id == value,
            "EventName" => self.event_name == value,
            "ReadOnly" => value == if self.read_only { "true" } else { "false" },
            "Username" => self.username.as_deref() == Some(value),
            "ResourceType" => self.resources.iter().any(|(t, _)| t == value),
            "ResourceName" => self.resources.iter().any(|(_, n)| n == value),
            "EventSource" => self.event_source == value,
            "AccessKeyId" => self.access_key_id.as_deref() == Some(value),
            _ => false,
        }
    }

    /// The event as LookupEvents returns it.
    fn to_lookup_json(&self) -> Value {
        let mut event = json!({
            "EventId": self.event_id,
            "EventName": self.event_name,
            "ReadOnly": if self.read_only { "true" } else { "false" },
            "EventTime": self.time_ms as f64 / 1000.0,
            "EventSource": self.event_source,
            "Resources": self.resources.iter().map(|(t, n)| json!({"ResourceType": t, "ResourceName": n})).collect::<Vec<_>>(),
            "CloudTrailEvent": self.document.to_string(),
        });
        if let Some(username) = &self.username {
            event["Username"] = json!(username);
        }
        if let Some(key) = &self.access_key_id {
            event["AccessKeyId"] = json!(key);
        }
        event
    }
}

/// Routes by protocol: CloudTrail's JSON target, STS's form `Action`, else moto.
async fn dispatch(State(inner): State<Arc<Inner>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => {
            return cloudtrail_error(
                500,
                "ServerException",
                &format!("cannot read the request body: {e}"),
            );
        }
    };
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok());
    if target.map(|t| t.strip_prefix(TARGET_NAMESPACE).unwrap_or(t)) == Some(LOOKUP_EVENTS_TARGET) {
        let asked = enforce::Request::new("cloudtrail:LookupEvents", "*");
        if let Err(refusal) = inner.gate.check(&parts.headers, &asked) {
            return cloudtrail_error(400, refusal.code(), &refusal.message());
        }
        return lookup_events(&inner, &body);
    }
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        let form = parse_form(&String::from_utf8_lossy(&body));
        if form.get("Action").map(String::as_str) == Some("AssumeRoleWithWebIdentity") {
            return assume_role_with_web_identity(&inner, parts, body, &form).await;
        }
    }
    match forward(&inner, parts, body).await {
        Ok((parts, body)) => Response::from_parts(parts, Body::from(body)),
        Err(response) => response,
    }
}

/// Sends the request to moto unchanged (method, path, query, headers, body); its whole answer.
async fn forward(
    inner: &Inner,
    parts: axum::http::request::Parts,
    body: Bytes,
) -> Result<(axum::http::response::Parts, Bytes), Response> {
    inner
        .moto
        .send(parts, body)
        .await
        .map_err(|e| cloudtrail_error(502, "ServerException", &format!("fake CloudTrail: {e}")))
}

/// The claims CloudTrail takes from a web identity token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebIdentityClaims {
    pub issuer: String,
    pub subject: String,
    /// `aud`: one string or several.
    pub audiences: Vec<String>,
}

impl WebIdentityClaims {
    /// Decodes the JWT's payload, without verifying anything. `None` when it is not a JWT with
    /// `iss` and `sub`.
    pub fn decode(token: &str) -> Option<WebIdentityClaims> {
        let payload = token.split('.').nth(1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()?;
        let claims: Value = serde_json::from_slice(&bytes).ok()?;
        let audiences = match &claims["aud"] {
            Value::String(aud) => vec![aud.clone()],
            Value::Array(auds) => auds
                .iter()
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        Some(WebIdentityClaims {
            issuer: claims["iss"].as_str()?.to_string(),
            subject: claims["sub"].as_str()?.to_string(),
            audiences,
        })
    }

    /// The IAM OIDC provider ARN for the issuer in `account`.
    pub fn provider_arn(&self, partition: &str, account: &str) -> String {
        format!(
            "arn:{partition}:iam::{account}:oidc-provider/{}",
            self.issuer.trim_start_matches("https://")
        )
    }
}

/// What STS answered to an AssumeRoleWithWebIdentity.
enum Outcome {
    Success {
        assumed_role_arn: Option<String>,
        assumed_role_id: Option<String>,
        access_key_id: Option<String>,
        expiration: Option<String>,
    },
    Failure {
        code: String,
        message: String,
    },
}

async fn assume_role_with_web_identity(
    inner: &Inner,
    parts: axum::http::request::Parts,
    body: Bytes,
    form: &HashMap<String, String>,
) -> Response {
    let claims = form
        .get("WebIdentityToken")
        .and_then(|t| WebIdentityClaims::decode(t));
    let role_arn = form.get("RoleArn").cloned().unwrap_or_default();
    let (partition, account) = arn_partition_account(&role_arn).unwrap_or(("aws", ""));
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let refusal = if inner.check_tokens.load(Ordering::SeqCst) {
        sts_token_refusal(inner, claims.as_ref(), partition, account).await
    } else {
        None
    };
    let (response, outcome) = match refusal {
        Some((code, message)) => (
            sts_error(&code, &message),
            Outcome::Failure { code, message },
        ),
        None => match forward(inner, parts, body).await {
            Err(response) => return response,
            Ok((parts, body)) => {
                let xml = String::from_utf8_lossy(&body);
                let outcome = if parts.status.is_success() {
                    Outcome::Success {
                        assumed_role_arn: xml_text(&xml, "Arn"),
                        assumed_role_id: xml_text(&xml, "AssumedRoleId"),
                        access_key_id: xml_text(&xml, "AccessKeyId"),
                        expiration: xml_text(&xml, "Expiration"),
                    }
                } else {
                    Outcome::Failure {
                        code: xml_text(&xml, "Code")
                            .unwrap_or_else(|| parts.status.as_u16().to_string()),
                        message: xml_text(&xml, "Message").unwrap_or_default(),
                    }
                };
                (Response::from_parts(parts, Body::from(body)), outcome)
            }
        },
    };
    let event = web_identity_event(
        &inner.region,
        partition,
        account,
        form,
        claims.as_ref(),
        &user_agent,
        &outcome,
    );
    inner.events.record(event);
    response
}

/// STS's checks of the token against IAM that moto skips (see the module doc).
async fn sts_token_refusal(
    inner: &Inner,
    claims: Option<&WebIdentityClaims>,
    partition: &str,
    account: &str,
) -> Option<(String, String)> {
    let Some(claims) = claims else {
        return Some((
            "InvalidIdentityToken".into(),
            "The ID Token provided is not a valid JWT.".into(),
        ));
    };
    let no_provider = || {
        Some((
            "InvalidIdentityToken".to_string(),
            format!(
                "No OpenIDConnect provider found in your account for {}",
                claims.issuer
            ),
        ))
    };
    let provider_arn = claims.provider_arn(partition, account);
    let form = format!(
        "Action=GetOpenIDConnectProvider&Version=2010-05-08&OpenIDConnectProviderArn={}",
        form_encode(&provider_arn)
    );
    let (parts, _) = axum::http::Request::post("/")
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .header(
            "authorization",
            crate::fake_eks::sandbox_authorization("iam", "us-east-1"),
        )
        .body(())
        .ok()?
        .into_parts();
    let (response, body) = inner.moto.send(parts, Bytes::from(form)).await.ok()?;
    let status = response.status;
    if !status.is_success() {
        return no_provider();
    }
    let xml = String::from_utf8_lossy(&body);
    let client_ids = xml
        .split_once("<ClientIDList>")
        .and_then(|(_, rest)| rest.split_once("</ClientIDList>"))
        .map(|(list, _)| xml_texts(list, "member"))
        .unwrap_or_default();
    if !claims.audiences.iter().any(|a| client_ids.contains(a)) {
        return Some((
            "InvalidIdentityToken".into(),
            "Incorrect token audience".into(),
        ));
    }
    None
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn rfc3339_seconds(time_ms: i64) -> String {
    jiff::Timestamp::from_millisecond(time_ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// The event CloudTrail writes for one AssumeRoleWithWebIdentity (see the module doc).
fn web_identity_event(
    region: &str,
    partition: &str,
    account: &str,
    form: &HashMap<String, String>,
    claims: Option<&WebIdentityClaims>,
    user_agent: &str,
    outcome: &Outcome,
) -> RecordedEvent {
    let time_ms = now_ms();
    let role_arn = form.get("RoleArn").cloned().unwrap_or_default();
    let provider_arn = claims.map(|c| c.provider_arn(partition, account));
    let audience = claims.and_then(|c| c.audiences.first().cloned());
    let mut user_identity = json!({ "type": "WebIdentityUser" });
    if let (Some(claims), Some(provider)) = (claims, &provider_arn) {
        user_identity["principalId"] = json!(format!(
            "{provider}:{}:{}",
            audience.as_deref().unwrap_or(""),
            claims.subject
        ));
        user_identity["userName"] = json!(claims.subject);
        user_identity["identityProvider"] = json!(provider);
    }
    let mut request_parameters = json!({
        "roleArn": role_arn,
        "roleSessionName": form.get("RoleSessionName").cloned().unwrap_or_default(),
    });
    if let Some(duration) = form
        .get("DurationSeconds")
        .and_then(|d| d.parse::<u64>().ok())
    {
        request_parameters["durationSeconds"] = json!(duration);
    }
    let event_id = new_id();
    let mut document = json!({
        "eventVersion": "1.08",
        "userIdentity": user_identity,
        "eventTime": rfc3339_seconds(time_ms),
        "eventSource": "sts.amazonaws.com",
        "eventName": "AssumeRoleWithWebIdentity",
        "awsRegion": region,
        "sourceIPAddress": "127.0.0.1",
        "userAgent": user_agent,
        "requestParameters": request_parameters,
        "responseElements": null,
        "requestID": new_id(),
        "eventID": event_id,
        "readOnly": true,
        "resources": [{ "accountId": account, "type": "AWS::IAM::Role", "ARN": role_arn }],
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": account,
        "eventCategory": "Management",
    });
    let mut resources = vec![("AWS::IAM::Role".to_string(), role_arn.clone())];
    match outcome {
        Outcome::Success {
            assumed_role_arn,
            assumed_role_id,
            access_key_id,
            expiration,
        } => {
            document["responseElements"] = json!({
                "credentials": { "accessKeyId": access_key_id, "expiration": expiration },
                "subjectFromWebIdentityToken": claims.map(|c| c.subject.clone()),
                "assumedRoleUser": { "assumedRoleId": assumed_role_id, "arn": assumed_role_arn },
                "provider": provider_arn,
                "audience": audience,
            });
            if let Some(arn) = assumed_role_arn {
                resources.push(("AWS::STS::AssumedRole".into(), arn.clone()));
            }
            if let Some(key) = access_key_id {
                resources.push(("AWS::IAM::AccessKey".into(), key.clone()));
            }
        }
        Outcome::Failure { code, message } => {
            document["errorCode"] = json!(code);
            document["errorMessage"] = json!(message);
        }
    }
    RecordedEvent {
        seq: 0,
        event_id,
        event_name: "AssumeRoleWithWebIdentity".into(),
        event_source: "sts.amazonaws.com".into(),
        time_ms,
        username: claims.map(|c| c.subject.clone()),
        // The caller's key: AssumeRoleWithWebIdentity is unsigned, so there is none.
        access_key_id: None,
        read_only: true,
        resources,
        document,
    }
}

/// A CloudTrail (JSON 1.1) error: status, `__type` and `message`.
fn cloudtrail_error(status: u16, kind: &str, message: &str) -> Response {
    let mut response = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        json!({ "__type": kind, "message": message }).to_string(),
    )
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    response
}

fn invalid(kind: &str, message: &str) -> Response {
    cloudtrail_error(400, kind, message)
}

/// A validated LookupEvents request.
#[derive(Debug)]
struct Lookup {
    attribute: Option<(String, String)>,
    start_ms: i64,
    end_ms: i64,
    max_results: usize,
    /// Return events with `seq <= cursor`.
    cursor: Option<u64>,
    /// Binds a NextToken to the query that produced it.
    fingerprint: u64,
}

fn epoch_ms(value: &Value, name: &str) -> Result<Option<i64>, Response> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_f64()
            .map(|s| Some((s * 1000.0) as i64))
            .ok_or_else(|| {
                invalid(
                    "InvalidTimeRangeException",
                    &format!("{name} is not a time."),
                )
            }),
        _ => Err(invalid(
            "SerializationException",
            &format!("{name} must be a timestamp in epoch seconds."),
        )),
    }
}

fn parse_lookup(body: &Bytes, now_ms: i64) -> Result<Lookup, Response> {
    let request: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(body)
            .map_err(|_| invalid("SerializationException", "The request is not JSON."))?
    };
    let attribute = match &request["LookupAttributes"] {
        Value::Null => None,
        Value::Array(list) if list.is_empty() => None,
        Value::Array(list) if list.len() > 1 => {
            return Err(invalid(
                "InvalidLookupAttributesException",
                "You can specify only one lookup attribute.",
            ));
        }
        Value::Array(list) => {
            let key = list[0]["AttributeKey"].as_str().unwrap_or_default();
            let value = list[0]["AttributeValue"].as_str().unwrap_or_default();
            if !ATTRIBUTE_KEYS.contains(&key) {
                return Err(invalid(
                    "InvalidLookupAttributesException",
                    &format!(
                        "Invalid AttributeKey `{key}`; valid keys are {}.",
                        ATTRIBUTE_KEYS.join(", ")
                    ),
                ));
            }
            if value.is_empty() {
                return Err(invalid(
                    "InvalidLookupAttributesException",
                    "AttributeValue must not be empty.",
                ));
            }
            Some((key.to_string(), value.to_string()))
        }
        _ => {
            return Err(invalid(
                "InvalidLookupAttributesException",
                "LookupAttributes must be a list.",
            ));
        }
    };
    let start_ms = epoch_ms(&request["StartTime"], "StartTime")?;
    let end_ms = epoch_ms(&request["EndTime"], "EndTime")?;
    if let (Some(start), Some(end)) = (start_ms, end_ms)
        && start > end
    {
        return Err(invalid(
            "InvalidTimeRangeException",
            "Start time must be earlier than end time.",
        ));
    }
    let max_results = match &request["MaxResults"] {
        Value::Null => MAX_RESULTS,
        value => match value.as_u64() {
            Some(n) if (1..=MAX_RESULTS as u64).contains(&n) => n as usize,
            _ => {
                return Err(invalid(
                    "InvalidMaxResultsException",
                    &format!("MaxResults must be between 1 and {MAX_RESULTS}."),
                ));
            }
        },
    };
    let fingerprint = {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (&attribute, start_ms, end_ms).hash(&mut hasher);
        hasher.finish()
    };
    let cursor = match request["NextToken"].as_str() {
        None => None,
        Some(token) => Some(parse_next_token(token, fingerprint).ok_or_else(|| {
            invalid(
                "InvalidNextTokenException",
                "Invalid NextToken: it was not returned for this query.",
            )
        })?),
    };
    Ok(Lookup {
        attribute,
        start_ms: start_ms.unwrap_or(now_ms - EVENT_HISTORY_SECONDS * 1000),
        end_ms: end_ms.unwrap_or(now_ms),
        max_results,
        cursor,
        fingerprint,
    })
}

fn next_token(seq: u64, fingerprint: u64) -> String {
    format!("ct1.{seq}.{fingerprint:016x}")
}

fn parse_next_token(token: &str, fingerprint: u64) -> Option<u64> {
    let rest = token.strip_prefix("ct1.")?;
    let (seq, print) = rest.split_once('.')?;
    (print == format!("{fingerprint:016x}"))
        .then(|| seq.parse().ok())
        .flatten()
}

fn lookup_events(inner: &Inner, body: &Bytes) -> Response {
    let lookup = match parse_lookup(body, now_ms()) {
        Ok(lookup) => lookup,
        Err(response) => return response,
    };
    let events = inner.events.lock().unwrap();
    let mut matching = events.iter().rev().filter(|e| {
        lookup.cursor.is_none_or(|c| e.seq <= c)
            && e.time_ms >= lookup.start_ms
            && e.time_ms <= lookup.end_ms
            && lookup
                .attribute
                .as_ref()
                .is_none_or(|(k, v)| e.matches(k, v))
    });
    let page: Vec<Value> = matching
        .by_ref()
        .take(lookup.max_results)
        .map(RecordedEvent::to_lookup_json)
        .collect();
    let mut answer = json!({ "Events": page });
    if let Some(next) = matching.next() {
        answer["NextToken"] = json!(next_token(next.seq, lookup.fingerprint));
    }
    let mut response = (StatusCode::OK, answer.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    response
}

#[cfg(test)]
mod tests;
