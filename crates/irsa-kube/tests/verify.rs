//! The verification reads and the pod proof against testkit's fake Kubernetes API (plain HTTP on
//! 127.0.0.1): annotated service accounts, pods and their injected credentials, TokenRequest, the
//! issuer's discovery document and JWKS, and the aws-cli test pod (run by the fake against moto).

use std::time::Duration;

use base64::Engine;
use irsa_core::steps::Step;
use irsa_kube::{
    KubeClient, KubeError, PodPhase, delete_pod, execute, fetch_jwks, fetch_oidc_discovery,
    list_role_service_accounts, pod_log, pods_of, request_token, run_pod, wait_pod_finished,
};
use serde_json::Value;
use testkit::fake_kube::{FakeKube, FakeKubeOptions, PODS};
use testkit::moto::MotoServer;

const ROLE: &str = "arn:aws:iam::123456789012:role/app";
const ROLE_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
const AWS_CLI: &str = "public.ecr.aws/aws-cli/aws-cli:2.27.0";

async fn start_with(options: FakeKubeOptions) -> (FakeKube, KubeClient) {
    let fake = FakeKube::start_with(options).await;
    let client = KubeClient::from_url(&fake.endpoint()).unwrap();
    (fake, client)
}

async fn start() -> (FakeKube, KubeClient) {
    start_with(FakeKubeOptions::default()).await
}

fn annotate(namespace: &str, name: &str, role: &str) -> Step {
    Step::ApplyServiceAccount {
        namespace: namespace.into(),
        name: name.into(),
        create: false,
        labels: vec![],
        annotations: vec![(ROLE_ANNOTATION.into(), Some(role.into()))],
    }
}

fn get_caller_identity() -> Vec<String> {
    ["aws", "sts", "get-caller-identity"]
        .map(String::from)
        .to_vec()
}

#[tokio::test]
async fn lists_the_annotated_service_accounts() {
    let (fake, client) = start().await;
    fake.insert_namespace("team");
    fake.insert_service_account("team", "app", &[(ROLE_ANNOTATION, ROLE)]);
    fake.insert_service_account("team", "plain", &[("other", "x")]);
    fake.insert_service_account(
        "kube-system",
        "ebs-csi-controller-sa",
        &[(ROLE_ANNOTATION, "arn:aws:iam::123456789012:role/ebs")],
    );

    let all = list_role_service_accounts(&client, None).await.unwrap();
    let names: Vec<(&str, &str)> = all
        .iter()
        .map(|sa| (sa.namespace.as_str(), sa.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [("kube-system", "ebs-csi-controller-sa"), ("team", "app")]
    );
    assert_eq!(
        all[1].annotations.get(ROLE_ANNOTATION).map(String::as_str),
        Some(ROLE)
    );

    let team = list_role_service_accounts(&client, Some("team"))
        .await
        .unwrap();
    assert_eq!(team.len(), 1);
    assert_eq!(
        (team[0].namespace.as_str(), team[0].name.as_str()),
        ("team", "app")
    );
    assert!(
        list_role_service_accounts(&client, Some("empty"))
            .await
            .unwrap()
            .is_empty()
    );
    // One list call each, nothing written.
    assert_eq!(fake.mutating_requests(), 0);
}

#[tokio::test]
async fn reports_each_pods_credentials_and_owner() {
    let (fake, client) = start().await;
    fake.insert_namespace("team");
    fake.insert_service_account("team", "app", &[]);
    // Started before the annotation: the webhook had nothing to inject.
    fake.insert_pod("team", "old", "app", &[]);
    execute(&client, &annotate("team", "app", ROLE))
        .await
        .unwrap();
    fake.insert_pod("team", "new", "app", &[]);
    fake.insert_deployment("team", "web", "app", 2);
    fake.insert_pod("team", "someone-else", "default", &[]);

    let pods = pods_of(&client, "team", "app").await.unwrap();
    assert_eq!(pods.len(), 4, "{pods:#?}");
    let old = pods.iter().find(|p| p.name == "old").unwrap();
    assert_eq!(old.owner, None);
    assert!(old.created.is_some());
    assert_eq!(old.containers.len(), 1);
    assert_eq!(old.containers[0].name, "app");
    assert_eq!(old.containers[0].role_arn_env, None);
    assert!(old.lacks_credentials(Some(ROLE)));

    let new = pods.iter().find(|p| p.name == "new").unwrap();
    assert_eq!(new.containers[0].role_arn_env.as_deref(), Some(ROLE));
    assert!(new.containers[0].token_file_env.is_some());
    assert!(!new.lacks_credentials(Some(ROLE)));
    assert!(new.lacks_credentials(Some("arn:aws:iam::123456789012:role/other")));

    let web: Vec<_> = pods
        .iter()
        .filter(|p| p.owner == Some(("Deployment".into(), "web".into())))
        .collect();
    assert_eq!(web.len(), 2, "{pods:#?}");
    assert!(web.iter().all(|p| !p.lacks_credentials(Some(ROLE))));
    assert!(pods.windows(2).all(|w| w[0].name <= w[1].name));
}

#[tokio::test]
async fn requests_a_token_for_a_service_account() {
    let (fake, client) = start().await;
    fake.insert_namespace("team");
    fake.insert_service_account("team", "app", &[(ROLE_ANNOTATION, ROLE)]);

    let token = request_token(&client, "team", "app", "sts.amazonaws.com", 60)
        .await
        .unwrap();
    assert!(!token.expires_at.is_empty());
    let shown = format!("{token:?}");
    assert!(!shown.contains(&token.token), "{shown}");

    let payload = token.token.split('.').nth(1).expect("a JWT");
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["sub"], "system:serviceaccount:team:app");
    assert_eq!(claims["aud"], serde_json::json!(["sts.amazonaws.com"]));
    assert_eq!(claims["iss"], fake.issuer());
    // Raised to the API's minimum of 10 minutes.
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert!(lifetime >= 600, "{lifetime}");

    let err = request_token(&client, "team", "missing", "sts.amazonaws.com", 600)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(404), "{err}");
    assert!(err.to_string().contains("team/missing"), "{err}");
}

#[tokio::test]
async fn reads_the_issuer_discovery_and_jwks() {
    let (fake, client) = start().await;
    let discovery = fetch_oidc_discovery(&client).await.unwrap();
    assert_eq!(discovery["issuer"], fake.issuer());
    assert!(discovery["jwks_uri"].is_string());
    let jwks = fetch_jwks(&client).await.unwrap();
    assert_eq!(jwks, fake.jwks());
    assert!(!jwks["keys"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn runs_the_aws_cli_pod_and_reads_its_log() {
    let moto = MotoServer::start().expect("moto starts");
    let (fake, client) = start_with(FakeKubeOptions {
        sts_endpoint: Some(moto.endpoint()),
        job_step: Duration::from_millis(50),
        ..FakeKubeOptions::default()
    })
    .await;
    fake.insert_namespace("team");
    fake.insert_service_account("team", "app", &[(ROLE_ANNOTATION, ROLE)]);

    run_pod(
        &client,
        "team",
        "irsa-verify-app",
        "app",
        AWS_CLI,
        get_caller_identity(),
    )
    .await
    .unwrap();
    let pod = fake.get(&PODS, Some("team"), "irsa-verify-app").unwrap();
    assert_eq!(pod["spec"]["restartPolicy"], "Never");
    assert_eq!(pod["spec"]["serviceAccountName"], "app");
    assert_eq!(pod["spec"]["containers"][0]["name"], "aws-cli");

    // The name is taken now.
    let err = run_pod(
        &client,
        "team",
        "irsa-verify-app",
        "app",
        AWS_CLI,
        get_caller_identity(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.reason(), Some("AlreadyExists"), "{err}");

    let phase = wait_pod_finished(&client, "team", "irsa-verify-app", Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(phase, PodPhase::Succeeded);
    let log = pod_log(&client, "team", "irsa-verify-app").await.unwrap();
    let printed: Value = serde_json::from_str(&log).unwrap_or_else(|e| panic!("{e}: {log}"));
    let arn = printed["Arn"].as_str().unwrap();
    assert!(
        arn.starts_with("arn:aws:sts::123456789012:assumed-role/app/"),
        "{arn}"
    );

    delete_pod(&client, "team", "irsa-verify-app")
        .await
        .unwrap();
    assert!(fake.get(&PODS, Some("team"), "irsa-verify-app").is_none());
    // Gone already: still fine.
    delete_pod(&client, "team", "irsa-verify-app")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_pod_without_credentials_fails_and_says_why() {
    let (fake, client) = start().await;
    fake.insert_namespace("team");
    fake.insert_service_account("team", "bare", &[]);
    run_pod(
        &client,
        "team",
        "proof",
        "bare",
        AWS_CLI,
        get_caller_identity(),
    )
    .await
    .unwrap();
    let phase = wait_pod_finished(&client, "team", "proof", Duration::from_secs(20))
        .await
        .unwrap();
    assert!(
        matches!(phase, PodPhase::Failed { exit_code: Some(code), .. } if code != 0),
        "{phase:?}"
    );
    let log = pod_log(&client, "team", "proof").await.unwrap();
    assert!(log.contains("Unable to locate credentials"), "{log}");
    delete_pod(&client, "team", "proof").await.unwrap();
}

#[tokio::test]
async fn waiting_for_a_pod_that_never_ends_times_out() {
    let (fake, client) = start().await;
    fake.insert_namespace("team");
    // Not the aws CLI: the fake leaves it Running.
    run_pod(
        &client,
        "team",
        "sleeper",
        "default",
        "public.ecr.aws/docker/library/busybox:latest",
        vec!["sleep".into(), "3600".into()],
    )
    .await
    .unwrap();
    let err = wait_pod_finished(&client, "team", "sleeper", Duration::from_millis(500))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, KubeError::Timeout { last_seen, .. } if last_seen == "Running"),
        "{err:?}"
    );
    assert!(err.to_string().contains("pod team/sleeper"), "{err}");
    delete_pod(&client, "team", "sleeper").await.unwrap();

    let err = wait_pod_finished(&client, "team", "sleeper", Duration::from_secs(1))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(404), "{err}");
    assert_eq!(
        pod_log(&client, "team", "sleeper")
            .await
            .unwrap_err()
            .code(),
        Some(404)
    );
}
