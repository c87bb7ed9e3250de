//! `kubectl exec POD -- aws sts get-caller-identity` (the guide's "Test IAM Role Assumption"
//! run in a long-lived aws-cli pod), over both streaming protocols kubectl speaks:
//! - WebSocket (kubectl 1.30 and later): an RFC 6455 upgrade of `GET …/pods/{name}/exec?
//!   command=…&stdout=true…` with subprotocol `v5.channel.k8s.io` (or `v4.channel.k8s.io`), then
//!   binary messages whose first byte is the stream (1 stdout, 2 stderr, 3 the final `Status`),
//!   then a close frame;
//! - SPDY (kubectl before 1.30, e.g. Debian's 1.20): an upgrade of `POST …/exec?…` to
//!   `SPDY/3.1` with `X-Stream-Protocol-Version: v4.channel.k8s.io`; the client opens one stream
//!   per channel (SYN_STREAM with a `streamType` header: error, stdout, stderr, and stdin or
//!   resize when asked for), each accepted with a SYN_REPLY; the output goes in DATA frames,
//!   stdout and stderr end with `FIN`, and the error stream carries the final `Status` (framing
//!   in [`super::spdy`]).
//!
//! The one command the fake runs, on either transport, is the aws CLI's `sts
//! get-caller-identity` in a container whose image is the aws CLI's, with the pod's credentials
//! (see [`super::awscli`]): stdout is what the real CLI prints, a failure goes to stderr with its
//! exit code in the `Status` (`NonZeroExitCode`). Any other command exits 127, as a missing
//! executable does. Not served: stdin and TTYs (their streams are accepted and left unread).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

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
use super::spdy::{Frame, HeaderCodec, SpdyError, read_frame};
use super::status::ApiError;

/// The subprotocols served, preferred first.
const PROTOCOLS: [&str; 2] = ["v5.channel.k8s.io", "v4.channel.k8s.io"];
const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// The `Upgrade` token kubectl before 1.30 asks for, and the one stream protocol served on it.
const SPDY_UPGRADE: &str = "SPDY/3.1";
const SPDY_PROTOCOL: &str = "v4.channel.k8s.io";
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

/// The streaming protocol the client asked for.
enum Transport {
    /// RFC 6455, with the client's `Sec-WebSocket-Key` and the subprotocol chosen.
    WebSocket { key: String, protocol: &'static str },
    /// `SPDY/3.1` with the `v4.channel.k8s.io` stream protocol.
    Spdy,
}

impl Transport {
    /// What the upgrade request's headers ask for, or the Status refusing it.
    fn negotiate(headers: &HeaderMap) -> Result<Transport, ApiError> {
        let upgrade = header(headers, "upgrade");
        if upgrade.eq_ignore_ascii_case(SPDY_UPGRADE) {
            let offered: Vec<&str> = headers
                .get_all("x-stream-protocol-version")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(',').map(str::trim))
                .collect();
            if !offered.contains(&SPDY_PROTOCOL) {
                return Err(ApiError::bad_request(format!(
                    "unable to upgrade: unable to negotiate protocol: client supports {offered:?}, server accepts [\"{SPDY_PROTOCOL}\"]"
                )));
            }
            return Ok(Transport::Spdy);
        }
        let offered: Vec<&str> = header(headers, "sec-websocket-protocol")
            .split(',')
            .map(str::trim)
            .collect();
        let protocol = PROTOCOLS.iter().find(|p| offered.contains(p));
        let key = header(headers, "sec-websocket-key").to_string();
        match (
            protocol,
            upgrade.eq_ignore_ascii_case("websocket"),
            key.is_empty(),
        ) {
            (Some(protocol), true, false) => Ok(Transport::WebSocket { key, protocol }),
            _ => Err(ApiError::bad_request(
                "unable to upgrade connection: exec needs an upgrade to WebSocket (v5.channel.k8s.io or v4.channel.k8s.io) or SPDY/3.1 (v4.channel.k8s.io)",
            )),
        }
    }

    /// The 101 response accepting the upgrade.
    fn switching_protocols(&self) -> Response {
        let builder = Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header(header::CONNECTION, "Upgrade");
        let builder = match self {
            Transport::WebSocket { key, protocol } => builder
                .header(header::UPGRADE, "websocket")
                .header("Sec-WebSocket-Accept", accept_key(key))
                .header("Sec-WebSocket-Protocol", *protocol),
            Transport::Spdy => builder
                .header(header::UPGRADE, SPDY_UPGRADE)
                .header("X-Stream-Protocol-Version", SPDY_PROTOCOL),
        };
        builder
            .body(Body::empty())
            .unwrap_or_else(|_| ApiError::bad_request("cannot upgrade").into_response())
    }
}

/// What one exec request runs: the pod, the container and the command, and the streams asked for.
struct Job {
    shared: Arc<Shared>,
    pod: Value,
    container: String,
    command: Vec<String>,
    /// `streamType`s the client opens over SPDY: `error`, then `stdin`, `stdout`, `stderr`,
    /// `resize` as the query asks.
    streams: Vec<&'static str>,
}

impl Job {
    /// Runs the command: what it prints, on which channel, and the final `Status`.
    async fn output(&self) -> Output {
        let (text, exit_code) =
            run_command(&self.shared, &self.pod, &self.container, &self.command).await;
        Output {
            text,
            on_stdout: exit_code == 0,
            status: exit_status(&self.command, exit_code).to_string(),
        }
    }
}

/// A finished command, as both transports send it.
struct Output {
    text: String,
    on_stdout: bool,
    status: String,
}

/// Reads the exec request's target and options, refusing what the real API refuses.
fn job(
    shared: Arc<Shared>,
    ns: &str,
    name: &str,
    params: &[(String, String)],
) -> Result<Job, ApiError> {
    let pod = shared.store().get(&PODS, Some(ns), name)?;
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
        return Err(ApiError::bad_request(format!(
            "container {container} is not valid for pod {name}"
        )));
    }
    if pod["status"]["phase"] != "Running" {
        let phase = pod["status"]["phase"].as_str().unwrap_or("Pending");
        return Err(ApiError::bad_request(format!(
            "unable to upgrade connection: container not found (\"{container}\"); pod is {phase}"
        )));
    }
    let asked = |key: &'static str| param(key).any(|v| v == "true" || v == "1");
    let streams = std::iter::once("error")
        .chain(
            ["stdin", "stdout", "stderr"]
                .into_iter()
                .filter(|s| asked(s)),
        )
        .chain(asked("tty").then_some("resize"))
        .collect();
    Ok(Job {
        shared,
        pod,
        container,
        command,
        streams,
    })
}

/// `GET|POST …/pods/{name}/exec`.
pub async fn exec(
    State(shared): State<Arc<Shared>>,
    UrlPath((ns, name)): UrlPath<(String, String)>,
    Query(params): Query<Vec<(String, String)>>,
    mut request: Request,
) -> Response {
    let job = match job(shared, &ns, &name, &params) {
        Ok(job) => job,
        Err(e) => return e.into_response(),
    };
    let transport = match Transport::negotiate(request.headers()) {
        Ok(transport) => transport,
        Err(e) => return e.into_response(),
    };
    let upgrade = hyper::upgrade::on(&mut request);
    let response = transport.switching_protocols();
    match transport {
        Transport::WebSocket { .. } => tokio::spawn(run_websocket(job, upgrade)),
        Transport::Spdy => tokio::spawn(run_spdy(job, upgrade)),
    };
    response
}

/// Runs the command and streams its output, its status, then a close frame.
async fn run_websocket(job: Job, upgrade: hyper::upgrade::OnUpgrade) {
    let Ok(upgraded) = upgrade.await else {
        return;
    };
    let mut io = TokioIo::new(upgraded);
    let output = job.output().await;
    let stream = if output.on_stdout { STDOUT } else { STDERR };
    let mut messages = Vec::new();
    if !output.text.is_empty() {
        messages.push(frame(
            0x2,
            &[&[stream][..], output.text.as_bytes()].concat(),
        ));
    }
    messages.push(frame(
        0x2,
        &[&[ERROR][..], output.status.as_bytes()].concat(),
    ));
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

/// Accepts the client's streams, runs the command once those asked for are open, sends its
/// output and `Status`, then answers pings until the client resets its streams and goes away.
async fn run_spdy(job: Job, upgrade: hyper::upgrade::OnUpgrade) {
    let Ok(upgraded) = upgrade.await else {
        return;
    };
    let mut session = SpdySession {
        io: TokioIo::new(upgraded),
        codec: HeaderCodec::default(),
        streams: HashMap::new(),
    };
    let opened = tokio::time::timeout(SPDY_STREAM_WAIT, session.accept_streams(&job.streams));
    if !matches!(opened.await, Ok(Ok(()))) {
        return;
    }
    let output = job.output().await;
    if session.send_output(output).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(SPDY_LINGER, session.until_goaway()).await;
}

/// How long the client has to open the streams it asked for (the kubelet waits 30 s).
const SPDY_STREAM_WAIT: Duration = Duration::from_secs(30);
/// How long the fake waits for the client's GOAWAY once everything is sent.
const SPDY_LINGER: Duration = Duration::from_secs(5);

/// One SPDY connection's state: its zlib streams and the streams the client opened, by type.
struct SpdySession {
    io: TokioIo<hyper::upgrade::Upgraded>,
    codec: HeaderCodec,
    streams: HashMap<String, u32>,
}

impl SpdySession {
    async fn send(&mut self, frames: &[Frame]) -> std::io::Result<()> {
        for frame in frames {
            let bytes = frame.encode(&mut self.codec);
            self.io.write_all(&bytes).await?;
        }
        self.io.flush().await
    }

    /// Answers one frame from the client: a new stream is accepted, a ping echoed.
    async fn answer(&mut self, frame: Frame) -> Result<(), SpdyError> {
        let reply = match frame {
            Frame::SynStream {
                stream_id, headers, ..
            } => {
                if let Some((_, kind)) = headers.into_iter().find(|(n, _)| n == "streamtype") {
                    self.streams.insert(kind, stream_id);
                }
                Frame::SynReply {
                    stream_id,
                    headers: Vec::new(),
                    fin: false,
                }
            }
            Frame::Ping { id } => Frame::Ping { id },
            _ => return Ok(()),
        };
        Ok(self.send(&[reply]).await?)
    }

    async fn accept_streams(&mut self, wanted: &[&str]) -> Result<(), SpdyError> {
        while !wanted.iter().all(|kind| self.streams.contains_key(*kind)) {
            let Some(frame) = read_frame(&mut self.io, &mut self.codec).await? else {
                return Err(SpdyError::Malformed(
                    "closed before its streams were open".into(),
                ));
            };
            self.answer(frame).await?;
        }
        Ok(())
    }

    /// The output on stdout or stderr, `FIN` on both, then the `Status` on the error stream.
    async fn send_output(&mut self, output: Output) -> std::io::Result<()> {
        let data = |stream_id: u32, fin: bool, payload: &[u8]| Frame::Data {
            stream_id,
            fin,
            payload: payload.to_vec(),
        };
        let target = if output.on_stdout { "stdout" } else { "stderr" };
        let mut frames = Vec::new();
        for kind in ["stdout", "stderr"] {
            let Some(&id) = self.streams.get(kind) else {
                continue;
            };
            if kind == target && !output.text.is_empty() {
                frames.push(data(id, false, output.text.as_bytes()));
            }
            frames.push(data(id, true, b""));
        }
        if let Some(&id) = self.streams.get("error") {
            frames.push(data(id, true, output.status.as_bytes()));
        }
        self.send(&frames).await
    }

    async fn until_goaway(&mut self) {
        while let Ok(Some(frame)) = read_frame(&mut self.io, &mut self.codec).await {
            if matches!(frame, Frame::GoAway { .. }) || self.answer(frame).await.is_err() {
                return;
            }
        }
    }
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

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn kubectl_1_20s_spdy_upgrade_is_accepted_with_the_v4_stream_protocol() {
        // What kubectl 1.20 sends (captured): one X-Stream-Protocol-Version header per version.
        let offered = headers(&[
            ("upgrade", "SPDY/3.1"),
            ("x-stream-protocol-version", "v4.channel.k8s.io"),
            ("x-stream-protocol-version", "v3.channel.k8s.io"),
            ("x-stream-protocol-version", "channel.k8s.io"),
        ]);
        let transport = Transport::negotiate(&offered).ok().unwrap();
        assert!(matches!(transport, Transport::Spdy));
        let response = transport.switching_protocols();
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(response.headers()["upgrade"], "SPDY/3.1");
        assert_eq!(
            response.headers()["x-stream-protocol-version"],
            "v4.channel.k8s.io"
        );
        let old = headers(&[
            ("upgrade", "SPDY/3.1"),
            ("x-stream-protocol-version", "v3.channel.k8s.io"),
        ]);
        let refused = Transport::negotiate(&old).err().unwrap().to_status();
        assert_eq!(refused["code"], 400);
        assert!(
            refused["message"]
                .as_str()
                .unwrap()
                .contains("unable to negotiate protocol"),
            "{refused}"
        );
    }

    #[test]
    fn a_websocket_upgrade_gets_the_preferred_subprotocol() {
        let offered = headers(&[
            ("upgrade", "websocket"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
            (
                "sec-websocket-protocol",
                "v4.channel.k8s.io, v5.channel.k8s.io",
            ),
        ]);
        let Ok(Transport::WebSocket { protocol, .. }) = Transport::negotiate(&offered) else {
            panic!("not a WebSocket upgrade");
        };
        assert_eq!(protocol, "v5.channel.k8s.io");
        assert!(Transport::negotiate(&headers(&[])).is_err());
    }

    #[test]
    fn a_failed_command_reports_its_exit_code() {
        let status = exit_status(&["aws".into(), "sts".into()], 255);
        assert_eq!(status["reason"], "NonZeroExitCode");
        assert_eq!(status["details"]["causes"][0]["message"], "255");
        assert_eq!(exit_status(&[], 0)["status"], "Success");
    }
}
