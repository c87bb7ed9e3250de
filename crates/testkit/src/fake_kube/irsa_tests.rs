//! Tests of what the fake serves for IRSA: the token issuer (TokenRequest, discovery, JWKS),
//! the simulated pod-identity webhook, pod logs and the aws-cli job (against a real moto), over
//! a real socket.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

use super::tokens::ServiceAccountClaims;
use super::webhook::{TOKEN_FILE, TOKEN_MOUNT_PATH};
use super::*;
use crate::moto::MotoServer;

/// One request over a fresh connection: (status code, content type, body).
async fn call(
    fake: &FakeKube,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (u16, String, String) {
    let addr = fake.addr();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let request = format!(
        "{method} {uri} HTTP/1.1\r\nHost: fake\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let response = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    })
    .await
    .unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let code = head.split(' ').nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_string)
        })
        .unwrap_or_default();
    (code, content_type, body.to_string())
}

async fn call_json(fake: &FakeKube, method: &str, uri: &str, body: Option<Value>) -> (u16, Value) {
    let (code, _, body) = call(fake, method, uri, body).await;
    (code, serde_json::from_str(&body).unwrap_or(Value::Null))
}

async fn jwks_of(fake: &FakeKube) -> JwkSet {
    let (code, content_type, body) = call(fake, "GET", "/openid/v1/jwks", None).await;
    assert_eq!(code, 200);
    assert_eq!(content_type, "application/jwk-set+json");
    serde_json::from_str(&body).unwrap()
}

/// Verifies a token as STS would: the kid's key from the JWKS, RS256, issuer and audience.
fn verify(
    token: &str,
    jwks: &JwkSet,
    issuer: &str,
    audience: &str,
) -> Result<ServiceAccountClaims, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("no kid")?;
    let jwk = jwks
        .find(&kid)
        .ok_or(format!("kid {kid} not in the JWKS"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub", "nbf"]);
    jsonwebtoken::decode::<ServiceAccountClaims>(token, &key, &validation)
        .map(|d| d.claims)
        .map_err(|e| format!("{:?}", e.kind()))
}

const SA_TOKEN: &str = "/api/v1/namespaces/default/serviceaccounts/app/token";

#[tokio::test]
async fn token_request_round_trip_verifies_against_the_jwks() {
    let fake = FakeKube::start().await;
    let sa = fake.insert_service_account("default", "app", &[]);
    let (code, tr) = call_json(
        &fake,
        "POST",
        SA_TOKEN,
        Some(json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"audiences": ["sts.amazonaws.com"], "expirationSeconds": 900}})),
    )
    .await;
    assert_eq!(code, 201, "{tr}");
    assert_eq!(tr["kind"], "TokenRequest");
    assert_eq!(tr["apiVersion"], "authentication.k8s.io/v1");
    assert_eq!(tr["spec"]["audiences"], json!(["sts.amazonaws.com"]));
    assert_eq!(tr["spec"]["expirationSeconds"], 900);
    let token = tr["status"]["token"].as_str().unwrap();
    let expires: jiff::Timestamp = tr["status"]["expirationTimestamp"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.kid.as_deref(), Some(fake.token_issuer().kid()));
    assert_eq!(header.typ, None);

    let jwks = jwks_of(&fake).await;
    assert_eq!(jwks.keys.len(), 1);
    let (_, raw_jwks) = call_json(&fake, "GET", "/openid/v1/jwks", None).await;
    let key = &raw_jwks["keys"][0];
    assert_eq!(
        (&key["kty"], &key["alg"], &key["use"]),
        (&json!("RSA"), &json!("RS256"), &json!("sig"))
    );
    for part in ["n", "e"] {
        let s = key[part].as_str().unwrap();
        assert!(
            !s.contains('=') && !s.contains('+') && !s.contains('/'),
            "{s}"
        );
    }

    let claims = verify(token, &jwks, DEFAULT_ISSUER, "sts.amazonaws.com").unwrap();
    assert_eq!(claims.iss, DEFAULT_ISSUER);
    assert_eq!(claims.sub, "system:serviceaccount:default:app");
    assert_eq!(claims.aud, vec!["sts.amazonaws.com"]);
    assert_eq!(claims.exp - claims.iat, 900);
    assert_eq!(claims.nbf, claims.iat);
    assert_eq!(claims.exp, expires.as_second());
    assert_eq!(claims.jti.len(), 36);
    assert_eq!(claims.kubernetes.namespace, "default");
    assert_eq!(claims.kubernetes.serviceaccount.name, "app");
    assert_eq!(
        claims.kubernetes.serviceaccount.uid,
        sa["metadata"]["uid"].as_str().unwrap()
    );
    assert_eq!(claims.kubernetes.pod, None);
    // The raw payload names the private claim `kubernetes.io`.
    let raw: Value = jsonwebtoken::dangerous::insecure_decode::<Value>(token)
        .unwrap()
        .claims;
    assert!(
        raw["kubernetes.io"]["serviceaccount"]["uid"].is_string(),
        "{raw}"
    );
    assert!(raw["aud"].is_array());

    let (code, discovery) =
        call_json(&fake, "GET", "/.well-known/openid-configuration", None).await;
    assert_eq!(code, 200);
    assert_eq!(discovery["issuer"], DEFAULT_ISSUER);
    assert_eq!(
        discovery["jwks_uri"],
        format!("{DEFAULT_ISSUER}/keys").as_str()
    );
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    assert_eq!(discovery["response_types_supported"], json!(["id_token"]));
    assert_eq!(discovery["subject_types_supported"], json!(["public"]));
}

#[tokio::test]
async fn token_request_defaults_audience_to_the_issuer_and_an_hour() {
    let issuer = "https://oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF";
    let fake = FakeKube::start_with(FakeKubeOptions {
        issuer: issuer.into(),
        ..FakeKubeOptions::default()
    })
    .await;
    fake.insert_service_account("default", "app", &[]);
    let (code, tr) = call_json(&fake, "POST", SA_TOKEN, Some(json!({"spec": {}}))).await;
    assert_eq!(code, 201, "{tr}");
    assert_eq!(tr["spec"]["audiences"], json!([issuer]));
    assert_eq!(tr["spec"]["expirationSeconds"], 3600);
    let claims = verify(
        tr["status"]["token"].as_str().unwrap(),
        &jwks_of(&fake).await,
        issuer,
        issuer,
    )
    .unwrap();
    assert_eq!(claims.exp - claims.iat, 3600);
    let (_, discovery) = call_json(&fake, "GET", "/.well-known/openid-configuration", None).await;
    assert_eq!(discovery["jwks_uri"], format!("{issuer}/keys").as_str());
}

#[tokio::test]
async fn token_request_validates_like_the_api_server() {
    let fake = FakeKube::start().await;
    fake.insert_service_account("default", "app", &[]);
    let (code, status) = call_json(
        &fake,
        "POST",
        SA_TOKEN,
        Some(json!({"spec": {"expirationSeconds": 599}})),
    )
    .await;
    assert_eq!(code, 422, "{status}");
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["reason"], "Invalid");
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes"),
        "{status}"
    );
    let (code, _) = call_json(
        &fake,
        "POST",
        SA_TOKEN,
        Some(json!({"spec": {"expirationSeconds": 600}})),
    )
    .await;
    assert_eq!(code, 201);

    let (code, status) = call_json(
        &fake,
        "POST",
        "/api/v1/namespaces/default/serviceaccounts/nope/token",
        Some(json!({"spec": {}})),
    )
    .await;
    assert_eq!(code, 404);
    assert_eq!(status["reason"], "NotFound");
    assert_eq!(status["message"], "serviceaccounts \"nope\" not found");
    let (code, _) = call_json(
        &fake,
        "POST",
        "/api/v1/namespaces/missing/serviceaccounts/app/token",
        Some(json!({"spec": {}})),
    )
    .await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn token_request_binds_to_a_pod() {
    let fake = FakeKube::start().await;
    fake.insert_service_account("default", "app", &[]);
    let pod = fake.insert_pod("default", "web", "app", &[]);
    let (code, tr) = call_json(
        &fake,
        "POST",
        SA_TOKEN,
        Some(json!({"spec": {"audiences": ["a"], "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": "web"}}})),
    )
    .await;
    assert_eq!(code, 201, "{tr}");
    let claims = verify(
        tr["status"]["token"].as_str().unwrap(),
        &jwks_of(&fake).await,
        DEFAULT_ISSUER,
        "a",
    )
    .unwrap();
    let bound = claims.kubernetes.pod.unwrap();
    assert_eq!(bound.name, "web");
    assert_eq!(bound.uid, pod["metadata"]["uid"].as_str().unwrap());
    let (code, _) = call_json(
        &fake,
        "POST",
        SA_TOKEN,
        Some(json!({"spec": {"boundObjectRef": {"kind": "Pod", "name": "gone"}}})),
    )
    .await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn rogue_and_expired_tokens_fail_verification() {
    let fake = FakeKube::start().await;
    fake.insert_service_account("default", "app", &[]);
    let jwks = jwks_of(&fake).await;
    let good = fake.mint_token("default", "app", &["sts.amazonaws.com"], 600, false);
    let claims = verify(&good, &jwks, DEFAULT_ISSUER, "sts.amazonaws.com").unwrap();
    assert_eq!(claims.sub, "system:serviceaccount:default:app");
    assert!(
        verify(&good, &jwks, DEFAULT_ISSUER, "other").is_err(),
        "wrong audience"
    );

    let rogue = fake.mint_token("default", "app", &["sts.amazonaws.com"], 600, true);
    let header = jsonwebtoken::decode_header(&rogue).unwrap();
    assert_eq!(header.kid.as_deref(), Some(fake.token_issuer().rogue_kid()));
    assert_ne!(fake.token_issuer().rogue_kid(), fake.token_issuer().kid());
    let err = verify(&rogue, &jwks, DEFAULT_ISSUER, "sts.amazonaws.com").unwrap_err();
    assert!(err.contains("not in the JWKS"), "{err}");
    // Even with the published key forced, the signature does not verify.
    let key = DecodingKey::from_jwk(&jwks.keys[0]).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&["sts.amazonaws.com"]);
    let err = jsonwebtoken::decode::<ServiceAccountClaims>(&rogue, &key, &validation).unwrap_err();
    assert_eq!(
        *err.kind(),
        jsonwebtoken::errors::ErrorKind::InvalidSignature
    );

    let expired = fake.mint_token("default", "app", &["sts.amazonaws.com"], -120, false);
    let claims: ServiceAccountClaims = jsonwebtoken::dangerous::insecure_decode(&expired)
        .unwrap()
        .claims;
    let now = jiff::Timestamp::now().as_second();
    assert!(claims.exp < now, "exp {} now {now}", claims.exp);
    assert!(claims.iat < claims.exp);
    let err = verify(&expired, &jwks, DEFAULT_ISSUER, "sts.amazonaws.com").unwrap_err();
    assert!(err.contains("ExpiredSignature"), "{err}");

    // A service account that does not exist still gets a (stable) uid.
    let a = fake.mint_token("default", "ghost", &["x"], 600, false);
    let b = fake.mint_token("default", "ghost", &["x"], 600, false);
    let uid = |t: &str| {
        jsonwebtoken::dangerous::insecure_decode::<ServiceAccountClaims>(t)
            .unwrap()
            .claims
            .kubernetes
            .serviceaccount
            .uid
    };
    assert_eq!(uid(&a), uid(&b));
}

const ROLE: &str = "arn:aws:iam::123456789012:role/irsa-test";

fn env_of(container: &Value) -> Vec<(String, String)> {
    container["env"]
        .as_array()
        .map(|env| {
            env.iter()
                .map(|e| {
                    (
                        e["name"].as_str().unwrap().to_string(),
                        e["value"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn webhook_injects_for_annotated_service_accounts_only() {
    let fake = FakeKube::start().await;
    fake.insert_service_account(
        "default",
        "app",
        &[
            ("eks.amazonaws.com/role-arn", ROLE),
            ("eks.amazonaws.com/audience", "example.com/aud"),
            ("eks.amazonaws.com/sts-regional-endpoints", "true"),
            ("eks.amazonaws.com/token-expiration", "7200"),
        ],
    );
    fake.insert_service_account("default", "plain", &[]);
    let (code, pod) = call_json(
        &fake,
        "POST",
        "/api/v1/namespaces/default/pods",
        Some(json!({
            "metadata": {"name": "web", "annotations": {"eks.amazonaws.com/skip-containers": "sidecar,other"}},
            "spec": {
                "serviceAccountName": "app",
                "initContainers": [{"name": "init", "image": "busybox"}],
                "containers": [
                    {"name": "app", "image": "busybox", "env": [{"name": "KEEP", "value": "1"}]},
                    {"name": "sidecar", "image": "busybox"},
                ],
            },
        })),
    )
    .await;
    assert_eq!(code, 201, "{pod}");
    let app = &pod["spec"]["containers"][0];
    assert_eq!(
        env_of(app),
        vec![
            ("KEEP".to_string(), "1".to_string()),
            (
                "AWS_STS_REGIONAL_ENDPOINTS".to_string(),
                "regional".to_string()
            ),
            ("AWS_ROLE_ARN".to_string(), ROLE.to_string()),
            (
                "AWS_WEB_IDENTITY_TOKEN_FILE".to_string(),
                TOKEN_FILE.to_string()
            ),
        ]
    );
    assert_eq!(
        app["volumeMounts"],
        json!([{"name": "aws-iam-token", "readOnly": true, "mountPath": TOKEN_MOUNT_PATH}])
    );
    assert_eq!(env_of(&pod["spec"]["initContainers"][0]).len(), 3);
    let sidecar = &pod["spec"]["containers"][1];
    assert!(sidecar.get("env").is_none(), "{sidecar}");
    assert!(sidecar.get("volumeMounts").is_none(), "{sidecar}");
    assert_eq!(
        pod["spec"]["volumes"],
        json!([{"name": "aws-iam-token", "projected": {"sources": [{"serviceAccountToken": {
            "audience": "example.com/aud", "expirationSeconds": 7200, "path": "token"}}], "defaultMode": 420}}])
    );
    // What is stored is what was answered.
    assert_eq!(
        fake.get(&PODS, Some("default"), "web").unwrap()["spec"],
        pod["spec"]
    );

    // Not annotated: untouched.
    let plain = fake.insert_pod("default", "plain", "plain", &[]);
    assert_eq!(plain["spec"]["containers"][0]["env"], json!([]));
    assert!(plain["spec"].get("volumes").is_none());
}

#[tokio::test]
async fn webhook_defaults_and_runs_only_at_creation() {
    let fake = FakeKube::start().await;
    fake.insert_service_account("default", "app", &[]);
    // A pod started before the annotation keeps running without credentials.
    let before = fake.insert_pod("default", "before", "app", &[]);
    fake.with_store(|s| {
        s.patch(
            &SERVICE_ACCOUNTS,
            Some("default"),
            "app",
            &json!({"metadata": {"annotations": {"eks.amazonaws.com/role-arn": ROLE}}}),
        )
    })
    .unwrap();
    fake.with_store(|s| {
        s.patch(
            &PODS,
            Some("default"),
            "before",
            &json!({"metadata": {"labels": {"touched": "yes"}}}),
        )
    })
    .unwrap();
    let stored = fake.get(&PODS, Some("default"), "before").unwrap();
    assert_eq!(stored["spec"], before["spec"]);

    // Created after: defaults (sts.amazonaws.com, 86400), no regional endpoint; a pod
    // annotation overrides the expiration, kept at least 600.
    let after = fake.insert_pod("default", "after", "app", &[]);
    let names: Vec<String> = env_of(&after["spec"]["containers"][0])
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(names, ["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"]);
    let source = &after["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"];
    assert_eq!(source["audience"], "sts.amazonaws.com");
    assert_eq!(source["expirationSeconds"], 86400);
    let short = fake
        .create(
            &PODS,
            Some("default"),
            json!({"metadata": {"name": "short", "annotations": {"eks.amazonaws.com/token-expiration": "60"}},
                   "spec": {"serviceAccountName": "app", "containers": [{"name": "c", "image": "busybox"}]}}),
        )
        .unwrap();
    assert_eq!(
        short["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"],
        600
    );

    // Deployment pods go through the webhook too.
    fake.insert_deployment("default", "deploy", "app", 2);
    let pods: Vec<Value> = fake
        .list(&PODS, Some("default"))
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["app"] == "deploy")
        .collect();
    assert_eq!(pods.len(), 2);
    for pod in pods {
        assert!(
            env_of(&pod["spec"]["containers"][0]).contains(&("AWS_ROLE_ARN".into(), ROLE.into())),
            "{pod}"
        );
    }
}

#[tokio::test]
async fn webhook_can_be_turned_off() {
    let fake = FakeKube::start_with(FakeKubeOptions {
        pod_identity_webhook: false,
        ..FakeKubeOptions::default()
    })
    .await;
    fake.insert_service_account("default", "app", &[("eks.amazonaws.com/role-arn", ROLE)]);
    let pod = fake.insert_pod("default", "web", "app", &[]);
    assert_eq!(pod["spec"]["containers"][0]["env"], json!([]));
    assert!(pod["spec"].get("volumes").is_none());
}

fn aws_cli_pod(name: &str, service_account: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "serviceAccountName": service_account,
            "restartPolicy": "Never",
            "containers": [{"name": name, "image": "public.ecr.aws/aws-cli/aws-cli:latest", "args": ["sts", "get-caller-identity"]}],
        },
    })
}

/// Waits for the pod to end; answers it.
async fn wait_finished(fake: &FakeKube, name: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let pod = fake.get(&PODS, Some("default"), name).unwrap();
        if matches!(
            pod["status"]["phase"].as_str(),
            Some("Succeeded" | "Failed")
        ) {
            return pod;
        }
        assert!(
            Instant::now() < deadline,
            "pod {name} did not finish: {pod}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn exit_code(pod: &Value) -> i64 {
    pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn pod_logs_follow_the_real_api() {
    let fake = FakeKube::start().await;
    fake.insert_service_account("default", "plain", &[]);
    let (code, status) = call_json(
        &fake,
        "GET",
        "/api/v1/namespaces/default/pods/nope/log",
        None,
    )
    .await;
    assert_eq!(code, 404);
    assert_eq!(status["message"], "pods \"nope\" not found");

    // A job pod is Pending at first: 400, as for a container waiting to start.
    let (code, created) = call_json(
        &fake,
        "POST",
        "/api/v1/namespaces/default/pods",
        Some(aws_cli_pod("job", "plain")),
    )
    .await;
    assert_eq!(code, 201);
    assert_eq!(created["status"]["phase"], "Pending");
    let (code, status) = call_json(
        &fake,
        "GET",
        "/api/v1/namespaces/default/pods/job/log",
        None,
    )
    .await;
    assert_eq!(code, 400, "{status}");
    assert_eq!(
        status["message"],
        "container \"job\" in pod \"job\" is waiting to start: ContainerCreating"
    );

    // Without an annotated service account: no credentials, exit 255.
    let pod = wait_finished(&fake, "job").await;
    assert_eq!(pod["status"]["phase"], "Failed");
    assert_eq!(exit_code(&pod), 255);
    assert_eq!(
        pod["status"]["containerStatuses"][0]["state"]["terminated"]["reason"],
        "Error"
    );
    let (code, content_type, log) = call(
        &fake,
        "GET",
        "/api/v1/namespaces/default/pods/job/log",
        None,
    )
    .await;
    assert_eq!(code, 200);
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert_eq!(
        log,
        "\nUnable to locate credentials. You can configure credentials by running \"aws configure\".\n"
    );
    assert_eq!(
        fake.pod_log("default", "job").as_deref(),
        Some(log.as_str())
    );

    // A running pod that printed nothing: an empty log; several containers need a name.
    fake.insert_pod("default", "quiet", "plain", &[]);
    let (code, _, log) = call(
        &fake,
        "GET",
        "/api/v1/namespaces/default/pods/quiet/log",
        None,
    )
    .await;
    assert_eq!((code, log.as_str()), (200, ""));
    fake.append_pod_log("default", "quiet", "app", "hello\n");
    let (_, _, log) = call(
        &fake,
        "GET",
        "/api/v1/namespaces/default/pods/quiet/log?container=app",
        None,
    )
    .await;
    assert_eq!(log, "hello\n");
    let (code, status) = call_json(
        &fake,
        "GET",
        "/api/v1/namespaces/default/pods/quiet/log?container=nope",
        None,
    )
    .await;
    assert_eq!(code, 400);
    assert_eq!(
        status["message"],
        "container nope is not valid for pod quiet"
    );
    fake.create(
        &PODS,
        Some("default"),
        json!({"metadata": {"name": "two"}, "spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "x"}]}}),
    )
    .unwrap();
    let (code, status) = call_json(
        &fake,
        "GET",
        "/api/v1/namespaces/default/pods/two/log",
        None,
    )
    .await;
    assert_eq!(code, 400);
    assert_eq!(
        status["message"],
        "a container name must be specified for pod two, choose one of: [a b]"
    );
}

#[tokio::test]
async fn aws_cli_job_without_an_sts_endpoint_says_so() {
    let fake = FakeKube::start().await;
    fake.insert_service_account("default", "app", &[("eks.amazonaws.com/role-arn", ROLE)]);
    fake.create(&PODS, Some("default"), aws_cli_pod("job", "app"))
        .unwrap();
    let pod = wait_finished(&fake, "job").await;
    assert_eq!(pod["status"]["phase"], "Failed");
    let log = fake.pod_log("default", "job").unwrap();
    assert!(log.contains("no STS endpoint"), "{log}");
}

#[tokio::test]
async fn aws_cli_job_assumes_the_role_against_moto() {
    let moto = tokio::task::spawn_blocking(MotoServer::start)
        .await
        .unwrap()
        .expect("moto starts");
    let fake = FakeKube::start_with(FakeKubeOptions {
        issuer: "https://oidc.eks.us-east-1.amazonaws.com/id/SANDBOX".into(),
        sts_endpoint: Some(moto.endpoint()),
        ..FakeKubeOptions::default()
    })
    .await;
    fake.insert_service_account("default", "app", &[("eks.amazonaws.com/role-arn", ROLE)]);
    fake.insert_service_account("default", "plain", &[]);
    let started = Instant::now();
    let created = fake
        .create(&PODS, Some("default"), aws_cli_pod("irsa-check", "app"))
        .unwrap();
    assert_eq!(created["status"]["phase"], "Pending");
    fake.create(&PODS, Some("default"), aws_cli_pod("no-creds", "plain"))
        .unwrap();

    // Running in between.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let pod = fake.get(&PODS, Some("default"), "irsa-check").unwrap();
        let phase = pod["status"]["phase"].as_str().unwrap().to_string();
        if phase != "Pending" {
            assert!(
                ["Running", "Succeeded"].contains(&phase.as_str()),
                "{phase}"
            );
            break;
        }
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let pod = wait_finished(&fake, "irsa-check").await;
    let elapsed = started.elapsed();
    let log = fake.pod_log("default", "irsa-check").unwrap();
    assert_eq!(pod["status"]["phase"], "Succeeded", "{log}");
    assert_eq!(exit_code(&pod), 0);
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert!(log.starts_with("{\n    \"UserId\": "), "{log}");
    assert!(log.ends_with("}\n"), "{log}");
    let identity: Value = serde_json::from_str(&log).unwrap();
    assert_eq!(identity["Account"], "123456789012");
    let arn = identity["Arn"].as_str().unwrap();
    let session = arn
        .strip_prefix("arn:aws:sts::123456789012:assumed-role/irsa-test/")
        .unwrap_or_else(|| panic!("{arn}"));
    assert!(
        session
            .strip_prefix("botocore-session-")
            .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit())),
        "{session}"
    );
    assert!(
        identity["UserId"].as_str().unwrap().ends_with(session),
        "{identity}"
    );
    let keys: Vec<&String> = identity.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["UserId", "Account", "Arn"]);

    let pod = wait_finished(&fake, "no-creds").await;
    assert_eq!(pod["status"]["phase"], "Failed");
    assert_eq!(exit_code(&pod), 255);
    assert!(
        fake.pod_log("default", "no-creds")
            .unwrap()
            .contains("Unable to locate credentials"),
    );
}
