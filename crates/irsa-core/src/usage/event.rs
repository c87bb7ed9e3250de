//! One CloudTrail `AssumeRoleWithWebIdentity` event, typed. CloudTrail writes the role in
//! `requestParameters.roleArn`, the token's subject as `userIdentity.userName` (also
//! `responseElements.subjectFromWebIdentityToken` on success), the IAM OIDC provider as
//! `userIdentity.identityProvider` (or `responseElements.provider`), the audience in
//! `responseElements.audience` or, for failures, inside `userIdentity.principalId`
//! (`<provider>:<aud>:<sub>`), and a failure's `errorCode` / `errorMessage`. Events of other
//! names, and events without a role or a time, are errors the caller may count and skip.

use serde::Serialize;
use serde_json::Value;

/// What one AssumeRoleWithWebIdentity call was, as CloudTrail recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebIdentityEvent {
    pub event_id: Option<String>,
    /// `eventTime`, seconds since the epoch.
    pub time: i64,
    pub role_arn: String,
    /// The token's `sub` (`system:serviceaccount:NS:NAME` for Kubernetes).
    pub subject: Option<String>,
    pub audience: Option<String>,
    /// The IAM OIDC provider (ARN) or issuer that CloudTrail names.
    pub provider: Option<String>,
    pub session: Option<String>,
    pub region: Option<String>,
    /// Set when STS refused the call (`AccessDenied`, `InvalidIdentityToken`, …).
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

impl WebIdentityEvent {
    pub fn succeeded(&self) -> bool {
        self.error_code.is_none()
    }
}

/// Why an event could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("the CloudTrail event is not JSON: {0}")]
    NotJson(String),
    #[error("the CloudTrail event is `{name}`, not {expected}")]
    OtherEvent {
        name: String,
        expected: &'static str,
    },
    #[error("the CloudTrail event {event_id} has no {field}")]
    Missing {
        event_id: String,
        field: &'static str,
    },
    #[error("the CloudTrail event {event_id} has an unreadable eventTime `{time}`")]
    BadTime { event_id: String, time: String },
}

pub(crate) fn text(value: &Value) -> Option<String> {
    value.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

/// What every event of the usage report carries: its id, time, region and failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub event_id: Option<String>,
    pub time: i64,
    pub region: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

impl Header {
    fn id(&self) -> String {
        self.event_id
            .clone()
            .unwrap_or_else(|| "(without eventID)".into())
    }

    /// A required text field of the event (`path` as CloudTrail names it).
    pub fn required(&self, value: &Value, path: &'static str) -> Result<String, EventError> {
        text(value).ok_or_else(|| EventError::Missing {
            event_id: self.id(),
            field: path,
        })
    }
}

/// Parses `json`, checks that it is an `expected` event and reads its [`Header`].
pub(crate) fn read_event(
    json: &str,
    expected: &'static str,
) -> Result<(Value, Header), EventError> {
    let event: Value =
        serde_json::from_str(json).map_err(|e| EventError::NotJson(e.to_string()))?;
    let name = event["eventName"].as_str().unwrap_or_default();
    if name != expected {
        return Err(EventError::OtherEvent {
            name: name.to_string(),
            expected,
        });
    }
    let mut header = Header {
        event_id: text(&event["eventID"]),
        time: 0,
        region: text(&event["awsRegion"]),
        error_code: text(&event["errorCode"]),
        error_message: text(&event["errorMessage"]),
    };
    let time_text = header.required(&event["eventTime"], "eventTime")?;
    header.time = chrono::DateTime::parse_from_rfc3339(&time_text)
        .map_err(|_| EventError::BadTime {
            event_id: header.id(),
            time: time_text.clone(),
        })?
        .timestamp();
    Ok((event, header))
}

/// Reads the `CloudTrailEvent` JSON string of one event.
pub fn parse_event(json: &str) -> Result<WebIdentityEvent, EventError> {
    let (event, header) = read_event(json, "AssumeRoleWithWebIdentity")?;
    let role_arn = header.required(
        &event["requestParameters"]["roleArn"],
        "requestParameters.roleArn",
    )?;
    let identity = &event["userIdentity"];
    let response = &event["responseElements"];
    let subject =
        text(&identity["userName"]).or_else(|| text(&response["subjectFromWebIdentityToken"]));
    let provider = text(&identity["identityProvider"]).or_else(|| text(&response["provider"]));
    let audience = text(&response["audience"]).or_else(|| {
        audience_from_principal(
            identity["principalId"].as_str()?,
            provider.as_deref()?,
            subject.as_deref()?,
        )
    });
    Ok(WebIdentityEvent {
        event_id: header.event_id,
        time: header.time,
        role_arn,
        subject,
        audience,
        provider,
        session: text(&event["requestParameters"]["roleSessionName"]),
        region: header.region,
        error_code: header.error_code,
        error_message: header.error_message,
    })
}

/// `<provider>:<aud>:<sub>` → `aud` (the subject may itself contain colons).
fn audience_from_principal(principal: &str, provider: &str, subject: &str) -> Option<String> {
    let rest = principal.strip_prefix(provider)?.strip_prefix(':')?;
    let aud = rest.strip_suffix(subject)?.strip_suffix(':')?;
    (!aud.is_empty()).then(|| aud.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROVIDER: &str = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

    #[test]
    fn reads_a_success() {
        let json = include_str!("../../tests/fixtures/usage/success.json");
        let e = parse_event(json).unwrap();
        assert_eq!(
            e.role_arn,
            "arn:aws:iam::111122223333:role/irsa-demo-kube-system-cluster-autoscaler"
        );
        assert_eq!(
            e.subject.as_deref(),
            Some("system:serviceaccount:kube-system:cluster-autoscaler")
        );
        assert_eq!(e.audience.as_deref(), Some("sts.amazonaws.com"));
        assert_eq!(e.provider.as_deref(), Some(PROVIDER));
        assert_eq!(e.session.as_deref(), Some("botocore-session-1767261600"));
        assert_eq!(e.time, 1_767_261_600);
        assert!(e.succeeded());
    }

    #[test]
    fn reads_a_failure_with_the_audience_from_the_principal() {
        let json = include_str!("../../tests/fixtures/usage/failure.json");
        let e = parse_event(json).unwrap();
        assert_eq!(e.error_code.as_deref(), Some("InvalidIdentityToken"));
        assert_eq!(e.error_message.as_deref(), Some("Incorrect token audience"));
        assert_eq!(e.audience.as_deref(), Some("vault"));
        assert_eq!(
            e.subject.as_deref(),
            Some("system:serviceaccount:default:vault")
        );
        assert!(!e.succeeded());
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert!(matches!(parse_event("{"), Err(EventError::NotJson(_))));
        assert_eq!(
            parse_event(r#"{"eventName":"AssumeRole"}"#),
            Err(EventError::OtherEvent {
                name: "AssumeRole".into(),
                expected: "AssumeRoleWithWebIdentity"
            })
        );
        assert!(matches!(
            parse_event(
                r#"{"eventName":"AssumeRoleWithWebIdentity","eventID":"x","eventTime":"2026-01-01T00:00:00Z"}"#
            ),
            Err(EventError::Missing {
                field: "requestParameters.roleArn",
                ..
            })
        ));
        assert!(matches!(
            parse_event(
                r#"{"eventName":"AssumeRoleWithWebIdentity","eventTime":"yesterday","requestParameters":{"roleArn":"arn:aws:iam::1:role/r"}}"#
            ),
            Err(EventError::BadTime { .. })
        ));
        assert_eq!(
            audience_from_principal("p:aud:s:u:b", "p", "s:u:b").as_deref(),
            Some("aud")
        );
        assert_eq!(audience_from_principal("p::s", "p", "s"), None);
    }
}
