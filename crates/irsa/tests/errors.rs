//! Errors a person can act on: the real binary meets no credentials, refused credentials, a
//! closed AWS endpoint, throttling beyond the retries, a Kubernetes API that is down or refuses,
//! and the wrong account, and says in two lines what happened and what to do (the SDK's dumps
//! only with `--debug`). Refusals come from a one-answer HTTP server on 127.0.0.1 that replies
//! as AWS or the API server does (error shapes from the AWS Query protocol's `ErrorResponse`
//! and Kubernetes' `Status`).

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A loopback port nothing listens on (bound, then closed).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Answers every request (at most 50, for 30 s) with `status`, `content_type` and `body`; a
/// request that is not in the Query protocol (no `Action=`, e.g. EKS's REST calls made beside
/// STS's) is answered 3 s late, so that the Query call's answer is the one irsa meets first.
fn answering(status: &'static str, content_type: &'static str, body: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        for stream in listener.incoming().take(50) {
            if std::time::Instant::now() > deadline {
                break;
            }
            if let Ok(stream) = stream {
                std::thread::spawn(move || answer(stream, status, content_type, body));
            }
        }
    });
    port
}

fn answer(mut stream: TcpStream, status: &str, content_type: &str, body: &str) {
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(2)));
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    // Read the head and, by Content-Length, the body, so the client sees a complete exchange.
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&request).to_lowercase();
        if let Some(head_end) = text.find("\r\n\r\n") {
            let length = text
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if request.len() >= head_end + 4 + length {
                break;
            }
        }
    }
    if !String::from_utf8_lossy(&request).contains("Action=") {
        std::thread::sleep(std::time::Duration::from_secs(3));
    }
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
}

/// A kubeconfig whose EKS context points at `server`.
fn kubeconfig(dir: &Path, server: &str) -> String {
    let arn = "arn:aws:eks:us-east-1:123456789012:cluster/demo";
    let path = dir.join(format!("kubeconfig-{}", server.replace([':', '/'], "_")));
    std::fs::write(
        &path,
        format!("apiVersion: v1\nkind: Config\nclusters:\n- name: {arn}\n  cluster:\n    server: {server}\nusers:\n- name: {arn}\n  user: {{}}\ncontexts:\n- name: {arn}\n  context:\n    cluster: {arn}\n    user: {arn}\ncurrent-context: {arn}\n"),
    )
    .unwrap();
    path.display().to_string()
}

/// The binary with only these variables (no credentials unless given), one attempt per call.
fn irsa(args: &[&str], env: &[(&str, &str)]) -> Output {
    let home = std::env::temp_dir().join(format!("irsa-errors-home-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_irsa"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("IRSA_AWS_MAX_ATTEMPTS", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("irsa runs")
}

fn two_lines(out: &Output) -> Vec<String> {
    let text = stderr(out);
    let lines: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with("irsa: cluster demo"))
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        !text.contains("ProviderAttempt") && !text.contains("DispatchFailure"),
        "{text}"
    );
    lines
}

const STATIC_KEYS: [(&str, &str); 2] = [
    ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
    (
        "AWS_SECRET_ACCESS_KEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
];

/// The STS Query protocol's error document.
const EXPIRED: &str = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>The security token included in the request is expired</Message></Error><RequestId>1</RequestId></ErrorResponse>";
const THROTTLED: &str = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>2</RequestId></ErrorResponse>";

#[test]
fn no_credentials_names_the_sources_and_what_to_set() {
    let dir = std::env::temp_dir();
    let kube = answering(
        "200 OK",
        "application/json",
        r#"{"kind":"ServiceAccountList","apiVersion":"v1","metadata":{},"items":[]}"#,
    );
    let config = kubeconfig(&dir, &format!("http://127.0.0.1:{kube}"));
    let out = irsa(
        &["list", "--kubeconfig", &config],
        &[("KUBECONFIG", &config)],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let lines = two_lines(&out);
    assert!(
        lines[0].starts_with(
            "irsa: no AWS credentials found for sts:GetCallerIdentity (tried the environment"
        ),
        "{lines:?}"
    );
    assert!(
        lines[1].contains("AWS_PROFILE")
            && lines[1].contains("--profile")
            && lines[1].contains("aws sso login"),
        "{lines:?}"
    );
    // The detail is there on request.
    let debug = irsa(
        &["list", "--kubeconfig", &config, "--debug"],
        &[("KUBECONFIG", &config)],
    );
    assert!(
        stderr(&debug).contains("detail (observing AWS)"),
        "{}",
        stderr(&debug)
    );
}

#[test]
fn a_closed_endpoint_names_the_service_url_and_the_overrides() {
    let kube = answering(
        "200 OK",
        "application/json",
        r#"{"kind":"ServiceAccountList","apiVersion":"v1","metadata":{},"items":[]}"#,
    );
    let config = kubeconfig(&std::env::temp_dir(), &format!("http://127.0.0.1:{kube}"));
    let aws = format!("http://127.0.0.1:{}", closed_port());
    let mut env = STATIC_KEYS.to_vec();
    env.extend([
        ("AWS_ENDPOINT_URL", aws.as_str()),
        ("KUBECONFIG", config.as_str()),
    ]);
    let out = irsa(&["list"], &env);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let lines = two_lines(&out);
    // Observation calls STS, IAM and EKS at once: whichever is refused first is named.
    let service = lines[0]
        .strip_prefix("irsa: cannot reach ")
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert!(["sts", "iam", "eks"].contains(&service), "{lines:?}");
    assert!(
        lines[0].starts_with(&format!(
            "irsa: cannot reach {service} at {aws} for {service}:"
        )),
        "{lines:?}"
    );
    assert!(lines[0].contains("Connection refused"), "{lines:?}");
    let override_var = format!("AWS_ENDPOINT_URL_{}", service.to_uppercase());
    assert!(
        lines[1].contains(&override_var) && lines[1].contains("HTTPS_PROXY"),
        "{lines:?}"
    );
}

#[test]
fn expired_credentials_and_throttling_say_what_to_do() {
    let kube = answering(
        "200 OK",
        "application/json",
        r#"{"kind":"ServiceAccountList","apiVersion":"v1","metadata":{},"items":[]}"#,
    );
    let config = kubeconfig(&std::env::temp_dir(), &format!("http://127.0.0.1:{kube}"));
    for (body, first, second) in [
        (
            EXPIRED,
            "irsa: AWS refused the credentials for {op}: ExpiredToken: The security token included in the request is expired",
            "aws sso login",
        ),
        (
            THROTTLED,
            "irsa: {op} was throttled beyond the retries (Throttling)",
            "lower --concurrency",
        ),
    ] {
        let aws = format!(
            "http://127.0.0.1:{}",
            answering("400 Bad Request", "text/xml", body)
        );
        let mut env = STATIC_KEYS.to_vec();
        env.extend([
            ("AWS_ENDPOINT_URL", aws.as_str()),
            ("KUBECONFIG", config.as_str()),
        ]);
        let out = irsa(&["list"], &env);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let lines = two_lines(&out);
        // STS and IAM (both in the Query protocol) are called at once: either answers first.
        let expected = [
            "sts:GetCallerIdentity",
            "sts:GetCallerIdentity caller",
            "iam:ListOpenIDConnectProviders",
            "iam:ListOpenIDConnectProviders account",
        ]
        .map(|op| first.replace("{op}", op));
        assert!(
            expected.iter().any(|e| lines[0].starts_with(e.as_str())),
            "{lines:?}"
        );
        assert!(lines[1].contains(second), "{lines:?}");
    }
}

#[test]
fn a_kubernetes_api_down_or_refusing_names_the_context_and_server() {
    let dir = std::env::temp_dir();
    let down = format!("http://127.0.0.1:{}", closed_port());
    let config = kubeconfig(&dir, &down);
    let out = irsa(&["list"], &[("KUBECONFIG", &config)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let lines = two_lines(&out);
    assert!(lines[0].starts_with(&format!("irsa: cannot reach the Kubernetes API of context `arn:aws:eks:us-east-1:123456789012:cluster/demo` ({down}) to list service accounts")), "{lines:?}");
    assert!(lines[1].contains("aws eks update-kubeconfig"), "{lines:?}");

    let refusing = answering(
        "403 Forbidden",
        "application/json",
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"serviceaccounts is forbidden: User \"alice\" cannot list resource \"serviceaccounts\" in API group \"\" at the cluster scope","reason":"Forbidden","details":{"kind":"serviceaccounts"},"code":403}"#,
    );
    let config = kubeconfig(&dir, &format!("http://127.0.0.1:{refusing}"));
    let out = irsa(&["list"], &[("KUBECONFIG", &config)]);
    let lines = two_lines(&out);
    // The answer to a 403 (issue 14): who may not do what where, and the RBAC rule to add.
    assert!(
        lines[0].starts_with("irsa list: the Kubernetes user (alice) may not list serviceaccounts at the cluster scope (Kubernetes API of context `arn:aws:eks:us-east-1:123456789012:cluster/demo`"),
        "{lines:?}"
    );
    assert!(
        lines[1].contains(r#"add the RBAC rule {apiGroups: [""], resources: ["serviceaccounts"], verbs: ["list"]}"#)
            && lines[1].contains("access entries")
            && lines[1].contains("irsa permissions list --output rbac"),
        "{lines:?}"
    );
}

#[test]
fn the_wrong_account_says_which_and_how_to_switch() {
    let env = common::start();
    let out = env.irsa(&["plan", "--account", "111122223333"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(text.contains("irsa: the spec is for account 111122223333, but the credentials are for account 123456789012\n  use credentials for account 111122223333 (--profile NAME or AWS_PROFILE)"), "{text}");
}
