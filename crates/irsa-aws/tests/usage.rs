//! `irsa usage`'s reads against moto behind the FAKE CloudTrail on 127.0.0.1: real
//! AssumeRoleWithWebIdentity calls through the fake's STS (recorded as CloudTrail records them),
//! then LookupEvents paged by NextToken, and IAM's roles (GetRole, GetAccountAuthorizationDetails)
//! read concurrently.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use irsa_aws::{
    Clients, ErrorKind, Options, UsageRequest, assume_role_with_web_identity, execute,
    observe_usage,
};
use irsa_core::steps::Step;
use irsa_core::usage::{UsageEvents, build_report};
use serde_json::json;
use testkit::fake_cloudtrail::FakeCloudTrail;
use testkit::moto::MotoServer;

mod common;

const ACCOUNT: &str = "123456789012";
const ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/USAGE";

/// Every call goes to the fake, which forwards IAM (and all but LookupEvents) to moto.
fn clients_for(endpoint: &str) -> Clients {
    common::clients_for(
        endpoint,
        Options {
            consistency_timeout: std::time::Duration::ZERO,
            ..Options::default()
        },
    )
}

/// A JWT-shaped token for a service account (the fake and moto verify no signature).
fn token(namespace: &str, name: &str, audience: &str) -> String {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims = json!({"iss": ISSUER, "sub": format!("system:serviceaccount:{namespace}:{name}"), "aud": [audience], "exp": 4102444800u64});
    format!(
        "{}.{}.{}",
        engine.encode(r#"{"alg":"RS256"}"#),
        engine.encode(claims.to_string()),
        engine.encode("unsigned")
    )
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn reads_web_identity_events_and_role_usage() {
    let moto = MotoServer::start().unwrap();
    let fake = FakeCloudTrail::start(&moto.endpoint(), "us-east-1").unwrap();
    let clients = clients_for(&fake.endpoint());
    let provider_host = ISSUER.trim_start_matches("https://");
    execute(
        &clients,
        &Step::CreateOidcProvider {
            url: ISSUER.into(),
            client_ids: vec!["sts.amazonaws.com".into()],
            thumbprints: vec!["9e99a48a9960b14926bb7f3b02e22da2b0ab7280".into()],
            tags: Default::default(),
        },
        &|_| {},
    )
    .await
    .unwrap();
    for name in ["app", "idle"] {
        let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Federated": format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{provider_host}")},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {format!("{provider_host}:sub"): "system:serviceaccount:team:app"}}}]});
        execute(
            &clients,
            &Step::CreateRole {
                name: name.into(),
                path: "/".into(),
                trust_policy: trust,
                permissions_boundary: None,
                tags: Default::default(),
            },
            &|_| {},
        )
        .await
        .unwrap();
    }
    let role = format!("arn:aws:iam::{ACCOUNT}:role/app");
    let start = now() - 60;

    // 120 successful calls from team/app, and 3 refused ones from team/vault (wrong audience),
    // refused by the fake's STS token checks.
    const SUCCESSES: usize = 120;
    let good = token("team", "app", "sts.amazonaws.com");
    for i in 0..SUCCESSES {
        assume_role_with_web_identity(&clients, &role, &good, &format!("s{i}"))
            .await
            .unwrap();
    }
    fake.check_web_identity_tokens(true);
    let wrong_audience = token("team", "vault", "vault");
    for i in 0..3 {
        let err = assume_role_with_web_identity(&clients, &role, &wrong_audience, &format!("v{i}"))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidToken, "{err}");
    }
    assert!(
        !format!("{:?}", fake.events()).contains(&good),
        "no token is recorded"
    );

    let before = clients.stats();
    let end = now() + 1;
    let seen = observe_usage(
        &clients,
        &UsageRequest {
            roles: vec!["app".into(), "missing".into()],
            start,
            end,
        },
    )
    .await
    .unwrap();
    let calls = clients.stats().api_calls - before.api_calls;
    let web = &seen.events.web_identity;
    assert_eq!(web.len(), SUCCESSES + 3);
    assert!(seen.unreadable.is_empty(), "{:?}", seen.unreadable);
    // ⌈123 / 50⌉ = 3 LookupEvents pages for AssumeRoleWithWebIdentity, one (empty) page each
    // for AssumeRole and AssumeRoleForPodIdentity, plus one GetRole per requested role.
    assert_eq!(
        seen.lookup_calls,
        BTreeMap::from([
            ("AssumeRole", 1),
            ("AssumeRoleForPodIdentity", 1),
            ("AssumeRoleWithWebIdentity", 3)
        ])
    );
    assert_eq!(calls, 5 + 2);
    assert_eq!(seen.roles.len(), 1, "the missing role is absent");
    assert!(web[0].time >= web[SUCCESSES + 2].time, "newest first");

    let report = build_report(
        &seen.events,
        &seen.roles,
        &["app".into(), "missing".into()],
        start,
        end,
    );
    let app = &report.roles[0];
    assert_eq!((app.role.as_str(), app.exists), ("app", true));
    assert_eq!(app.successes, SUCCESSES as u64);
    let subjects: Vec<(&str, u64, Option<&u64>)> = app
        .service_accounts
        .iter()
        .map(|s| {
            (
                s.subject.as_str(),
                s.successes,
                s.failures.get("InvalidIdentityToken"),
            )
        })
        .collect();
    assert_eq!(
        subjects,
        vec![
            ("team/app", SUCCESSES as u64, None),
            ("team/vault", 0, Some(&3))
        ]
    );
    assert_eq!(
        app.service_accounts[1].last_error.as_deref(),
        Some("InvalidIdentityToken: Incorrect token audience")
    );
    assert!(!report.roles[1].exists);

    // Without roles: one GetAccountAuthorizationDetails walk; the idle IRSA role is reported.
    let all = observe_usage(
        &clients,
        &UsageRequest {
            roles: vec![],
            start,
            end,
        },
    )
    .await
    .unwrap();
    let report = build_report(&all.events, &all.roles, &[], start, end);
    let names: Vec<&str> = report.roles.iter().map(|r| r.role.as_str()).collect();
    assert_eq!(names, vec!["app", "idle"]);
    assert!(report.roles[1].service_accounts.is_empty());

    // A window before the calls has no events.
    let empty = observe_usage(
        &clients,
        &UsageRequest {
            roles: vec!["app".into()],
            start: start - 3600,
            end: start,
        },
    )
    .await
    .unwrap();
    assert_eq!(empty.events, UsageEvents::default());
    assert_eq!(empty.total_lookup_calls(), 3, "one page per event name");
}
