//! restJson1, the protocol of EKS and EKS Auth: JSON request bodies and answers, path segments
//! percent-encoded, and errors as the services send them — a status code, the
//! `x-amzn-ErrorType` header naming the error shape, and a JSON body with `message` plus the
//! shape's own members (EKS's `clusterName`, `addonName`, …). The AWS SDKs read the error code
//! from that header.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Map, Value, json};

/// An error answer: `status`, `x-amzn-ErrorType: kind`, body `{"message": …, members…}`.
pub fn error(status: StatusCode, kind: &str, message: &str, members: &[(&str, &str)]) -> Response {
    let mut body = json!({ "message": message });
    for (name, value) in members {
        body[*name] = json!(value);
    }
    let mut response = answer(status, body);
    response.headers_mut().insert(
        "x-amzn-ErrorType",
        HeaderValue::from_str(kind).unwrap_or(HeaderValue::from_static("ServerException")),
    );
    response
}

/// A 200 answer with a JSON body.
pub fn ok(body: Value) -> Response {
    answer(StatusCode::OK, body)
}

/// A JSON answer with the `x-amzn-RequestId` every AWS answer carries.
fn answer(status: StatusCode, body: Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    if let Ok(id) = HeaderValue::from_str(&super::new_id()) {
        response.headers_mut().insert("x-amzn-RequestId", id);
    }
    response
}

/// The request body as a JSON object (an empty body is an empty object); the error says why not.
pub fn parse_object(body: &Bytes) -> Result<Map<String, Value>, String> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err("The request body is not a JSON object.".into()),
    }
}

/// A string member (`None` when absent or null); the error names a member of another type.
pub fn optional_string(body: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{key} must be a string.")),
    }
}

/// A boolean member (`None` when absent or null).
pub fn optional_bool(body: &Map<String, Value>, key: &str) -> Result<Option<bool>, String> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(format!("{key} must be a boolean.")),
    }
}

/// A `TagMap` member (string → string; empty when absent).
pub fn tag_map(body: &Map<String, Value>, key: &str) -> Result<Map<String, Value>, String> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(tags)) if tags.values().all(Value::is_string) => Ok(tags.clone()),
        Some(_) => Err(format!("{key} must map strings to strings.")),
    }
}

/// Percent-encodes one path segment (RFC 3986 unreserved characters stay).
pub fn encode_path_segment(segment: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn errors_carry_the_shape_in_the_header_and_members_in_the_body() {
        let response = error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            "No cluster found for name: x.",
            &[("clusterName", "x")],
        );
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            response.headers()["x-amzn-errortype"],
            "ResourceNotFoundException"
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body,
            json!({"message": "No cluster found for name: x.", "clusterName": "x"})
        );
    }

    #[test]
    fn members() {
        let body = parse_object(&Bytes::from(r#"{"a":"x","b":true,"t":{"k":"v"},"n":1}"#)).unwrap();
        assert_eq!(optional_string(&body, "a").unwrap().as_deref(), Some("x"));
        assert_eq!(optional_string(&body, "z").unwrap(), None);
        assert!(optional_string(&body, "n").is_err());
        assert_eq!(optional_bool(&body, "b").unwrap(), Some(true));
        assert!(optional_bool(&body, "a").is_err());
        assert_eq!(tag_map(&body, "t").unwrap()["k"], "v");
        assert!(tag_map(&body, "a").is_err());
        assert!(parse_object(&Bytes::from("[1]")).is_err());
        assert!(parse_object(&Bytes::new()).unwrap().is_empty());
        assert_eq!(encode_path_segment("a b/c"), "a%20b%2Fc");
    }
}
