//! `kubectl exec POD -- aws sts get-caller-identity` (the guide's "Test IAM Role Assumption"
//! run in a long-lived aws-cli pod), over the streaming protocol kubectl 1.30 and later speak
//! first: a WebSocket (RFC 6455) upgrade of `GET …/pods/{name}/exec?command=…&stdout=true…`
//! with subprotocol `v5.channel.k8s.io` (or `v4.channel.k8s.io`), then binary messages whose
//! first byte is the stream (1 stdout, 2 stderr, 3 the final `Status`), then a close frame.
//! The one command the fake runs is the aws CLI's `sts get-caller-identity` in a container whose
//! image is the aws CLI's, with the pod's credentials (see [`super::awscli`]): stdout is what
//! the real CLI prints, a failure goes to stderr with its exit code in the `Status`
//! (`NonZeroExitCode`). Any other command exits 127, as a missing executable does.
//! Not served: SPDY (kubectl before 1.30 — it gets a 400 `Status` saying so), stdin and TTYs.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use tokio::io::AsyncWriteExt;

use super::Shared;
use super::awscli;
use super::resources::PODS;
use super::status::ApiError;

/// The subprotocols served, preferred first.
const PROTOCOLS: [&str; 2] = ["v5.channel.k8s.io", "v4.channel.k8s.io"];
const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const ERROR: u8 = 3;

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (RFC 6455 §4.2.2).
pub fn accept_key(key: &str) -> String {
    let digest = Sha1::digest(format!("{key}{WEBSOCKET_GUID}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// One unmasked binary frame from the server (RFC 6455 §5.2), `opcode` 0x2 binary, 0x8 close.
pub fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= 0xffff => {
            out.push(126);
            out.extend((n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend((n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

/// The final `Status` on the error stream for an exit code.
pub fn exit_status(command: &[String], exit_code: i32) -> Value {
    if exit_code == 0 {
        return json!({"metadata": {}, "status": "Success"});
    }
    json!({
        "metadata": {},
        "status": "Failure",
        "message": format!("command terminated with non-zero exit code: error executing command [{}], exit code {exit_code}", command.join(" ")),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": exit_code.to_string()}]},
    })
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// `GET|POST …/pods/{name}/exec`.
pub async fn exec(
    State(shared): State<Arc<Shared>>,
    UrlPath((ns, name)): UrlPath<(String, String)>,
    Query(params): Query<Vec<(String, String)>>,
    mut request: Request,
) -> Response {
    let pod = match shared.store().get(&PODS, Some(&ns), &name) {
        Ok(pod) => pod,
        Err(e) => return e.into_response(),
    };
    let param = |key: &'static str| {
        params
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let command: Vec<String> = param("command").collect();
    let containers: Vec<String> = pod["spec"]["containers"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let container = param("container")
        .next()
        .or_else(|| containers.first().cloned())
        .unwrap_or_default();
    if !containers.contains(&container) {
        return ApiError::bad_request(format!("container {container} is not valid for pod {name}"))
            .into_response();
    }
    if pod["status"]["phase"] != "Running" {
        let phase = pod["status"]["phase"].as_str().unwrap_or("Pending");
        return ApiError::bad_request(format!(
            "unable to upgrade connection: container not found (\"{container}\"); pod is {phase}"
        ))
        .into_response();
    }
    let headers = request.headers().clone();
    let offered: Vec<&str> = header(&headers, "sec-websocket-protocol")
        .split(',')
        .map(str::trim)
        .collect();
    let protocol = PROTOCOLS.iter().find(|p| offered.contains(p));
    let key = header(&headers, "sec-websocket-key").to_string();
    let (Some(protocol), true, false) = (
        protocol,
        header(&headers, "upgrade").eq_ignore_ascii_case("websocket"),
        key.is_empty(),
    ) else {
        return ApiError::bad_request("the fake Kubernetes API serves exec over WebSocket (v5.channel.k8s.io, kubectl 1.30 and later) only, not SPDY").into_response();
    };
    let upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(run(shared, pod, container, command, upgrade));
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "websocket")
        .header("Sec-WebSocket-Accept", accept_key(&key))
        .header("Sec-WebSocket-Protocol", *protocol)
        .body(Body::empty())
        .unwrap_or_else(|_| ApiError::bad_request("cannot upgrade").into_response())
}

/// Runs the command and streams its output, its status, then a close frame.
async fn run(
    shared: Arc<Shared>,
    pod: Value,
    container: String,
    command: Vec<String>,
    upgrade: hyper::upgrade::OnUpgrade,
) {
    let Ok(upgraded) = upgrade.await else {
        return;
    };
    let mut io = TokioIo::new(upgraded);
    let (output, exit_code) = run_command(&shared, &pod, &container, &command).await;
    let stream = if exit_code == 0 { STDOUT } else { STDERR };
    let mut messages = Vec::new();
    if !output.is_empty() {
        messages.push(frame(0x2, &[&[stream][..], output.as_bytes()].concat()));
    }
    let status = exit_status(&command, exit_code).to_string();
    messages.push(frame(0x2, &[&[ERROR][..], status.as_bytes()].concat()));
    messages.push(frame(0x8, &1000u16.to_be_bytes()));
    for message in messages {
        if io.write_all(&message).await.is_err() {
            return;
        }
    }
    let _ = io.flush().await;
    // Give the client its close handshake before the connection drops.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
}

/// What the command prints and its exit code.
async fn run_command(
    shared: &Arc<Shared>,
    pod: &Value,
    container: &str,
    command: &[String],
) -> (String, i32) {
    let words: Vec<&str> = command.iter().map(String::as_str).collect();
    let image = pod["spec"]["containers"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == container))
        .and_then(|c| c["image"].as_str())
        .unwrap_or_default();
    let is_aws_cli = image.contains("aws-cli") && words.first() == Some(&"aws");
    if is_aws_cli && words[1..] == ["sts", "get-caller-identity"] {
        return awscli::run_in(&Arc::downgrade(shared), pod, container).await;
    }
    let program = words.first().copied().unwrap_or_default();
    (
        format!(
            "exec: \"{program}\": the fake Kubernetes API runs only `aws sts get-caller-identity` in an aws-cli container\n"
        ),
        127,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handshake_key_is_rfc_6455s_example() {
        // RFC 6455 §1.3's worked example.
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn frames_are_unmasked_with_the_length_in_one_three_or_nine_bytes() {
        assert_eq!(frame(0x2, b"\x01hi"), b"\x82\x03\x01hi");
        let long = vec![0u8; 300];
        assert_eq!(&frame(0x2, &long)[..4], &[0x82, 126, 0x01, 0x2c]);
        assert_eq!(frame(0x8, &1000u16.to_be_bytes()), b"\x88\x02\x03\xe8");
    }

    #[test]
    fn a_failed_command_reports_its_exit_code() {
        let status = exit_status(&["aws".into(), "sts".into()], 255);
        assert_eq!(status["reason"], "NonZeroExitCode");
        assert_eq!(status["details"]["causes"][0]["message"], "255");
        assert_eq!(exit_status(&[], 0)["status"], "Success");
    }
}
