//! Errors of the fake API server, answered as the real server does: a `Status` object
//! (`{"kind":"Status","apiVersion":"v1","status":"Failure","message":…,"reason":…,"details":…,"code":…}`)
//! with the matching HTTP status code. Messages follow the real wording
//! (`serviceaccounts "x" not found`, `deployments.apps "x" already exists`) because clients,
//! and people, read them.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::resources::ResourceType;

/// A failed request, rendered as a `Status` object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: u16,
    /// `NotFound`, `AlreadyExists`, `Conflict`, `BadRequest`, `Invalid`, `Forbidden`, …
    pub reason: &'static str,
    pub message: String,
    /// `details`: name, group and kind (the resource plural, as the real server puts it).
    pub details: Option<(String, String, String)>,
}

impl ApiError {
    fn about(
        code: u16,
        reason: &'static str,
        message: String,
        rt: &ResourceType,
        name: &str,
    ) -> Self {
        ApiError {
            code,
            reason,
            message,
            details: Some((
                name.to_string(),
                rt.group.to_string(),
                rt.plural.to_string(),
            )),
        }
    }

    pub fn not_found(rt: &ResourceType, name: &str) -> Self {
        Self::about(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", rt.qualified()),
            rt,
            name,
        )
    }

    pub fn already_exists(rt: &ResourceType, name: &str) -> Self {
        Self::about(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", rt.qualified()),
            rt,
            name,
        )
    }

    pub fn conflict(rt: &ResourceType, name: &str) -> Self {
        let message = format!(
            "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
            rt.qualified()
        );
        Self::about(409, "Conflict", message, rt, name)
    }

    pub fn forbidden(rt: &ResourceType, name: &str, why: &str) -> Self {
        Self::about(
            403,
            "Forbidden",
            format!("{} \"{name}\" is forbidden: {why}", rt.qualified()),
            rt,
            name,
        )
    }

    pub fn invalid(rt: &ResourceType, name: &str, why: &str) -> Self {
        Self::about(
            422,
            "Invalid",
            format!("{} \"{name}\" is invalid: {why}", rt.kind),
            rt,
            name,
        )
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError {
            code: 400,
            reason: "BadRequest",
            message: message.into(),
            details: None,
        }
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        ApiError {
            code: 415,
            reason: "UnsupportedMediaType",
            message: format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {content_type:?})"
            ),
            details: None,
        }
    }

    /// A POST or PUT body in a format the fake does not read (protobuf: the fake speaks JSON only).
    pub fn unsupported_body(content_type: &str) -> Self {
        ApiError {
            code: 415,
            reason: "UnsupportedMediaType",
            message: format!(
                "the body of the request was in an unknown format - accepted media types include: application/json (got {content_type:?})"
            ),
            details: None,
        }
    }

    /// A method the resource does not serve (the real server's 405).
    pub fn method_not_allowed(method: &axum::http::Method, resource: &str) -> Self {
        ApiError {
            code: 405,
            reason: "MethodNotAllowed",
            message: format!(
                "the server does not allow this method on the requested resource ({method} {resource})"
            ),
            details: None,
        }
    }

    /// The answer to a path the fake does not serve (the real server's wording).
    pub fn no_route() -> Self {
        ApiError {
            code: 404,
            reason: "NotFound",
            message: "the server could not find the requested resource".into(),
            details: None,
        }
    }

    /// The `Status` object.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some((name, group, kind)) = &self.details {
            let mut details = json!({ "name": name, "kind": kind });
            if !group.is_empty() {
                details["group"] = json!(group);
            }
            status["details"] = details;
        }
        status
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (code, axum::Json(self.to_status())).into_response()
    }
}
