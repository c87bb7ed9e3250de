//! Tests of the fake CloudTrail: request validation and paging on recorded events (no server),
//! then the whole path against moto: STS forwarded and recorded, LookupEvents, forwarding of
//! other CloudTrail calls, and the optional STS token checks.

use super::*;
use crate::moto::MotoServer;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

const ROLE: &str = "arn:aws:iam::123456789012:role/app";
const ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE";

fn jwt(claims: Value) -> String {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.{}",
        engine.encode(r#"{"alg":"RS256","kid":"k1"}"#),
        engine.encode(claims.to_string()),
        engine.encode("signature-not-checked")
    )
}

fn token(sub: &str, aud: &str) -> String {
    jwt(json!({"iss": ISSUER, "sub": sub, "aud": [aud], "exp": 4102444800u64}))
}

fn offline_inner() -> Inner {
    Inner {
        moto: Forwarder::new("http://127.0.0.1:9"),
        region: "us-east-1".into(),
        events: EventLog::default(),
        check_tokens: AtomicBool::new(false),
        gate: Default::default(),
    }
}

fn synthetic(name: &str, time_ms: i64, user: &str) -> RecordedEvent {
    RecordedEvent {
        seq: 0,
        event_id: new_id(),
        event_name: name.into(),
        event_source: "sts.amazonaws.com".into(),
        time_ms,
        username: Some(user.into()),
        access_key_id: None,
        read_only: true,
        resources: vec![("AWS::IAM::Role".into(), ROLE.into())],
        document: json!({"eventName": name}),
    }
}

async fn json_body(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn lookup(inner: &Inner, request: Value) -> (StatusCode, Value) {
    json_body(lookup_events(inner, &Bytes::from(request.to_string()))).await
}

#[test]
fn decodes_claims_without_verifying() {
    let claims = WebIdentityClaims::decode(&token(
        "system:serviceaccount:team:app",
        "sts.amazonaws.com",
    ))
    .unwrap();
    assert_eq!(claims.issuer, ISSUER);
    assert_eq!(claims.subject, "system:serviceaccount:team:app");
    assert_eq!(claims.audiences, vec!["sts.amazonaws.com"]);
    assert_eq!(
        claims.provider_arn("aws", "123456789012"),
        "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"
    );
    let single =
        WebIdentityClaims::decode(&jwt(json!({"iss": "i", "sub": "s", "aud": "a"}))).unwrap();
    assert_eq!(single.audiences, vec!["a"]);
    assert_eq!(WebIdentityClaims::decode("not-a-jwt"), None);
    assert_eq!(WebIdentityClaims::decode(&jwt(json!({"sub": "s"}))), None);
}

#[tokio::test]
async fn lookup_events_validates_like_cloudtrail() {
    let inner = offline_inner();
    let cases = [
        (
            json!({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "A"}, {"AttributeKey": "Username", "AttributeValue": "B"}]}),
            "InvalidLookupAttributesException",
        ),
        (
            json!({"LookupAttributes": [{"AttributeKey": "Colour", "AttributeValue": "red"}]}),
            "InvalidLookupAttributesException",
        ),
        (
            json!({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": ""}]}),
            "InvalidLookupAttributesException",
        ),
        (
            json!({"StartTime": 2000, "EndTime": 1000}),
            "InvalidTimeRangeException",
        ),
        (json!({"MaxResults": 51}), "InvalidMaxResultsException"),
        (json!({"MaxResults": 0}), "InvalidMaxResultsException"),
        (json!({"NextToken": "garbage"}), "InvalidNextTokenException"),
    ];
    for (request, kind) in cases {
        let (status, body) = lookup(&inner, request.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{request}");
        assert_eq!(body["__type"], kind, "{request}: {body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

#[tokio::test]
async fn pages_newest_first_and_stays_stable_while_events_arrive() {
    let inner = offline_inner();
    let now = now_ms();
    for (i, user) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        inner.events.record(synthetic(
            "AssumeRoleWithWebIdentity",
            now - 5000 + i as i64 * 1000,
            user,
        ));
    }
    inner.events.record(synthetic("AssumeRole", now, "other"));
    let by_name =
        json!([{"AttributeKey": "EventName", "AttributeValue": "AssumeRoleWithWebIdentity"}]);
    let (status, first) = lookup(
        &inner,
        json!({"LookupAttributes": by_name, "MaxResults": 2}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let users = |page: &Value| -> Vec<String> {
        page["Events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["Username"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(users(&first), vec!["e", "d"]);
    assert_eq!(first["Events"][0]["ReadOnly"], "true");
    assert_eq!(
        first["Events"][0]["Resources"][0],
        json!({"ResourceType": "AWS::IAM::Role", "ResourceName": ROLE})
    );
    // A new event between pages does not shift the next page.
    inner
        .events
        .record(synthetic("AssumeRoleWithWebIdentity", now, "new"));
    let token = first["NextToken"].as_str().unwrap().to_string();
    let (_, second) = lookup(
        &inner,
        json!({"LookupAttributes": by_name, "MaxResults": 2, "NextToken": token}),
    )
    .await;
    assert_eq!(users(&second), vec!["c", "b"]);
    let (_, third) = lookup(
        &inner,
        json!({"LookupAttributes": by_name, "MaxResults": 2, "NextToken": second["NextToken"]}),
    )
    .await;
    assert_eq!(users(&third), vec!["a"]);
    assert!(third.get("NextToken").is_none(), "{third}");
    // A token belongs to its query.
    let (status, body) = lookup(&inner, json!({"MaxResults": 2, "NextToken": token})).await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (StatusCode::BAD_REQUEST, Some("InvalidNextTokenException"))
    );
    // Time range and other attributes.
    let (_, window) = lookup(
        &inner,
        json!({"StartTime": (now - 3500) as f64 / 1000.0, "EndTime": (now - 1500) as f64 / 1000.0}),
    )
    .await;
    assert_eq!(users(&window), vec!["d", "c"]);
    let (_, by_user) = lookup(
        &inner,
        json!({"LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": "b"}]}),
    )
    .await;
    assert_eq!(users(&by_user), vec!["b"]);
    let (_, by_resource) = lookup(
        &inner,
        json!({"LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": ROLE}]}),
    )
    .await;
    assert_eq!(by_resource["Events"].as_array().unwrap().len(), 7);
    let (_, none) = lookup(&inner, json!({"LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": "arn:aws:iam::123456789012:role/other"}]})).await;
    assert_eq!(none, json!({"Events": []}));
}

struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
}

impl Http {
    async fn send(&self, headers: &[(&str, &str)], body: String) -> (StatusCode, String) {
        let mut request = hyper::Request::post(format!("{}/", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = self
            .client
            .request(request.body(Full::new(Bytes::from(body))).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    async fn query(&self, service: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{k}={}", form_encode(v)))
            .collect();
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"
        );
        self.send(
            &[
                (
                    "content-type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                ),
                ("authorization", &authorization),
            ],
            body.join("&"),
        )
        .await
    }

    async fn assume(&self, token: &str, session: &str) -> (StatusCode, String) {
        // Unsigned, as the SDKs send it.
        let form = [
            ("Action", "AssumeRoleWithWebIdentity"),
            ("Version", "2011-06-15"),
            ("RoleArn", ROLE),
            ("RoleSessionName", session),
            ("WebIdentityToken", token),
            ("DurationSeconds", "900"),
        ];
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{k}={}", form_encode(v)))
            .collect();
        self.send(
            &[(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )],
            body.join("&"),
        )
        .await
    }

    async fn cloudtrail(&self, operation: &str, body: Value) -> (StatusCode, Value) {
        // The API reference's form, with the namespace (the SDK's form is tested in irsa-aws).
        let target = format!("{TARGET_NAMESPACE}CloudTrail_20131101.{operation}");
        let (status, text) = self
            .send(
                &[
                    ("x-amz-target", &target),
                    ("content-type", "application/x-amz-json-1.1"),
                    ("authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/cloudtrail/aws4_request, SignedHeaders=host, Signature=0"),
                ],
                body.to_string(),
            )
            .await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn records_sts_web_identity_calls_and_serves_them() {
    let moto = MotoServer::start().unwrap();
    let fake = FakeCloudTrail::start(&moto.endpoint(), "eu-west-1").unwrap();
    let http = Http {
        client: Client::builder(TokioExecutor::new()).build_http(),
        base: fake.endpoint(),
    };
    let subject = "system:serviceaccount:team:app";
    let good = token(subject, "sts.amazonaws.com");

    // Forwarded to moto unchanged (moto checks nothing) and recorded.
    let (status, xml) = http.assume(&good, "s1").await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    assert!(xml.contains("<AssumedRoleUser>"), "{xml}");
    // Other STS calls are forwarded, not recorded.
    let (status, xml) = http
        .query(
            "sts",
            &[("Action", "GetCallerIdentity"), ("Version", "2011-06-15")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    assert_eq!(fake.events().len(), 1);

    let event = &fake.events()[0];
    assert_eq!(event["eventSource"], "sts.amazonaws.com");
    assert_eq!(event["eventName"], "AssumeRoleWithWebIdentity");
    assert_eq!(event["awsRegion"], "eu-west-1");
    assert_eq!(event["readOnly"], true);
    assert_eq!(event["recipientAccountId"], "123456789012");
    let provider =
        "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE";
    assert_eq!(
        event["userIdentity"],
        json!({"type": "WebIdentityUser", "principalId": format!("{provider}:sts.amazonaws.com:{subject}"), "userName": subject, "identityProvider": provider})
    );
    assert_eq!(
        event["requestParameters"],
        json!({"roleArn": ROLE, "roleSessionName": "s1", "durationSeconds": 900})
    );
    let response = &event["responseElements"];
    assert_eq!(response["subjectFromWebIdentityToken"], subject);
    assert_eq!(response["audience"], "sts.amazonaws.com");
    assert_eq!(response["provider"], provider);
    assert!(
        response["assumedRoleUser"]["arn"]
            .as_str()
            .unwrap()
            .ends_with(":assumed-role/app/s1"),
        "{event}"
    );
    assert!(response["credentials"]["accessKeyId"].is_string());
    assert!(response["credentials"].get("sessionToken").is_none());
    assert!(event.get("errorCode").is_none());
    assert!(
        !event.to_string().contains(&good),
        "the token is never stored"
    );

    // With STS's token checks: no provider for the issuer yet.
    fake.check_web_identity_tokens(true);
    let (status, xml) = http.assume(&good, "s2").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(xml.contains("<Code>InvalidIdentityToken</Code>"), "{xml}");
    let (status, xml) = http
        .query(
            "iam",
            &[
                ("Action", "CreateOpenIDConnectProvider"),
                ("Version", "2010-05-08"),
                ("Url", ISSUER),
                ("ClientIDList.member.1", "sts.amazonaws.com"),
                (
                    "ThumbprintList.member.1",
                    "9e99a48a9960b14926bb7f3b02e22da2b0ab7280",
                ),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    let (status, _) = http.assume(&good, "s3").await;
    assert_eq!(status, StatusCode::OK);
    let (status, xml) = http.assume(&token(subject, "vault"), "s4").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(xml.contains("Incorrect token audience"), "{xml}");

    // LookupEvents: newest first, failures with STS's error.
    let (status, page) = http
        .cloudtrail(
            "LookupEvents",
            json!({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "AssumeRoleWithWebIdentity"}], "MaxResults": 3}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let events = page["Events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    let documents: Vec<Value> = events
        .iter()
        .map(|e| serde_json::from_str(e["CloudTrailEvent"].as_str().unwrap()).unwrap())
        .collect();
    let sessions: Vec<&str> = documents
        .iter()
        .map(|d| d["requestParameters"]["roleSessionName"].as_str().unwrap())
        .collect();
    assert_eq!(sessions, vec!["s4", "s3", "s2"]);
    assert_eq!(documents[0]["errorCode"], "InvalidIdentityToken");
    assert_eq!(documents[0]["errorMessage"], "Incorrect token audience");
    assert_eq!(documents[0]["responseElements"], Value::Null);
    assert_eq!(
        documents[2]["errorMessage"],
        format!("No OpenIDConnect provider found in your account for {ISSUER}")
    );
    assert_eq!(events[0]["Username"], subject);
    assert_eq!(events[0]["EventSource"], "sts.amazonaws.com");
    let (_, rest) = http
        .cloudtrail(
            "LookupEvents",
            json!({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "AssumeRoleWithWebIdentity"}], "MaxResults": 3, "NextToken": page["NextToken"]}),
        )
        .await;
    assert_eq!(rest["Events"].as_array().unwrap().len(), 1);

    // Other CloudTrail calls go to moto.
    let (status, trails) = http.cloudtrail("DescribeTrails", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{trails}");
    assert!(trails["trailList"].is_array(), "{trails}");
}
