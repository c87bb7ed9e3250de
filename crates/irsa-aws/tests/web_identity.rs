//! AssumeRoleWithWebIdentity and calls as the assumed role, against moto on 127.0.0.1 (which
//! checks neither tokens nor trust policies, nor whether the role exists) and, for STS's
//! refusals, against a stub STS on 127.0.0.1 that answers every request with one error.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use irsa_aws::{
    Clients, ErrorKind, Options, assume_role_with_web_identity, caller_identity_with, execute,
    try_read_action,
};
use irsa_core::steps::Step;
use serde_json::json;
use testkit::moto::MotoServer;

mod common;

const ACCOUNT: &str = "123456789012";
/// JWT-shaped; moto does not verify it.
const TOKEN: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJpc3MiOiJodHRwczovL29pZGMuZXhhbXBsZSIsInN1YiI6InN5c3RlbTpzZXJ2aWNlYWNjb3VudDp0ZWFtOmFwcCIsImF1ZCI6WyJzdHMuYW1hem9uYXdzLmNvbSJdfQ.c2lnbmF0dXJlLW5vdC1jaGVja2Vk";

fn clients_for(endpoint: &str, consistency_timeout: Duration) -> Clients {
    common::clients_for(
        endpoint,
        Options {
            consistency_timeout,
            ..Options::default()
        },
    )
}

async fn create_role(clients: &Clients, name: &str) -> String {
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": format!("arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.example/id/X")},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {"oidc.example/id/X:sub": "system:serviceaccount:team:app"}}
        }]
    });
    let step = Step::CreateRole {
        name: name.into(),
        path: "/".into(),
        trust_policy: trust,
        permissions_boundary: None,
        tags: Default::default(),
    };
    execute(clients, &step, &|_| {})
        .await
        .expect("moto creates the role");
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

#[tokio::test]
async fn assumes_a_role_and_calls_as_it() {
    let moto = MotoServer::start().expect("moto starts");
    let clients = clients_for(&moto.endpoint(), Duration::from_millis(300));
    let role_arn = create_role(&clients, "app").await;
    let before = clients.stats();

    let credentials = assume_role_with_web_identity(&clients, &role_arn, TOKEN, "irsa-verify")
        .await
        .expect("moto hands out credentials");
    let expected = format!("arn:aws:sts::{ACCOUNT}:assumed-role/app/irsa-verify");
    assert_eq!(
        credentials.assumed_role_arn.as_deref(),
        Some(expected.as_str())
    );
    assert!(!credentials.expiration.is_empty());

    let identity = caller_identity_with(&clients, &credentials)
        .await
        .expect("GetCallerIdentity as the role");
    assert_eq!(identity.arn, expected);
    assert_eq!(identity.account, ACCOUNT);
    assert!(identity.user_id.ends_with(":irsa-verify"), "{identity:?}");

    // Both calls went through counted clients, and neither changes anything.
    let after = clients.stats();
    assert_eq!(after.api_calls - before.api_calls, 2);
    assert_eq!(after.mutating_calls, before.mutating_calls);

    // Read-only permission checks as the role (moto enforces no IAM permissions).
    assert_eq!(
        try_read_action(&clients, &credentials, "iam:GetRole", &role_arn)
            .await
            .unwrap(),
        Some(true)
    );
    assert_eq!(
        try_read_action(
            &clients,
            &credentials,
            "IAM:getrole",
            &format!("arn:aws:iam::{ACCOUNT}:role/missing")
        )
        .await
        .unwrap(),
        Some(true),
        "a missing resource still proves the permission"
    );
    assert_eq!(
        try_read_action(&clients, &credentials, "sts:GetCallerIdentity", "*")
            .await
            .unwrap(),
        Some(true)
    );
    assert_eq!(
        try_read_action(&clients, &credentials, "s3:GetObject", "arn:aws:s3:::b/k")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        try_read_action(&clients, &credentials, "iam:GetRole", "*")
            .await
            .unwrap(),
        None
    );
    assert_eq!(clients.stats().api_calls - after.api_calls, 3);

    // The secrets never show.
    let shown = format!("{credentials:?}");
    for secret in [
        &credentials.secret_access_key,
        &credentials.session_token,
        &credentials.access_key_id,
    ] {
        assert!(!shown.contains(secret.as_str()), "{shown}");
    }
}

/// A stub STS answering every request with HTTP `status` and an awsQuery error; counts requests.
struct StubSts {
    endpoint: String,
    requests: Arc<AtomicUsize>,
}

fn stub_sts(status: u16, code: &str, message: &str) -> StubSts {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let body = format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>stub</RequestId></ErrorResponse>"
    );
    let counter = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            // Headers, then Content-Length bytes of body.
            let body_start = loop {
                let Ok(n) = stream.read(&mut buf) else {
                    break None;
                };
                if n == 0 {
                    break None;
                }
                seen.extend_from_slice(&buf[..n]);
                if let Some(i) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(i + 4);
                }
            };
            let Some(body_start) = body_start else {
                continue;
            };
            let head = String::from_utf8_lossy(&seen[..body_start]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while seen.len() < body_start + length {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            counter.fetch_add(1, Ordering::SeqCst);
            let response = format!(
                "HTTP/1.1 {status} Error\r\ncontent-type: text/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes());
        }
    });
    StubSts { endpoint, requests }
}

#[tokio::test]
async fn a_role_sts_cannot_assume_is_retried_until_the_consistency_timeout() {
    let sts = stub_sts(
        403,
        "AccessDenied",
        "Not authorized to perform sts:AssumeRoleWithWebIdentity",
    );
    let timeout = Duration::from_millis(1500);
    let clients = clients_for(&sts.endpoint, timeout);
    let started = Instant::now();
    let err = assume_role_with_web_identity(
        &clients,
        &format!("arn:aws:iam::{ACCOUNT}:role/missing"),
        TOKEN,
        "irsa-verify",
    )
    .await
    .expect_err("STS refuses");
    let elapsed = started.elapsed();
    assert_eq!(err.kind, ErrorKind::AccessDenied);
    assert_eq!(err.code.as_deref(), Some("AccessDenied"));
    assert_eq!(err.operation, "sts:AssumeRoleWithWebIdentity");
    assert!(err.to_string().contains("role/missing"), "{err}");
    assert!(!err.to_string().contains(TOKEN) && !format!("{err:?}").contains(TOKEN));
    // 200 ms, 400 ms, 800 ms backoff fits 1.5 s: a few attempts, then it gives up in time.
    let attempts = sts.requests.load(Ordering::SeqCst);
    assert!(attempts >= 3, "{attempts} attempts");
    assert!(elapsed < timeout + Duration::from_secs(1), "{elapsed:?}");
    assert_eq!(clients.stats().api_calls, attempts as u64);
    assert_eq!(clients.stats().mutating_calls, 0);
}

#[tokio::test]
async fn a_refused_token_is_not_retried() {
    for (code, kind) in [
        ("InvalidIdentityToken", ErrorKind::InvalidToken),
        ("ExpiredTokenException", ErrorKind::InvalidToken),
    ] {
        let sts = stub_sts(400, code, "Incorrect token audience");
        let clients = clients_for(&sts.endpoint, Duration::from_secs(5));
        let err = assume_role_with_web_identity(
            &clients,
            &format!("arn:aws:iam::{ACCOUNT}:role/app"),
            TOKEN,
            "irsa-verify",
        )
        .await
        .expect_err("STS refuses");
        assert_eq!((err.kind, err.code.as_deref()), (kind, Some(code)));
        assert_eq!(sts.requests.load(Ordering::SeqCst), 1, "{code}");
        assert!(!err.to_string().contains(TOKEN));
    }
}
