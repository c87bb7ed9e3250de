//! Tests of the fake EKS API against moto, over HTTP as the SDKs send it.

use super::*;
use crate::moto::MotoServer;
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::json;

struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
}

impl Http {
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Option<String>, Value) {
        let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let request = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .header("authorization", UNSIGNED_EKS_AUTHORIZATION)
            .body(Full::new(bytes))
            .unwrap();
        let response = self.client.request(request).await.unwrap();
        let status = response.status();
        let kind = response
            .headers()
            .get("x-amzn-errortype")
            .map(|v| v.to_str().unwrap().to_string());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            kind,
            serde_json::from_slice(&body).unwrap_or(Value::Null),
        )
    }
}

#[tokio::test]
async fn addon_lifecycle_and_forwarding() {
    let moto = MotoServer::start().unwrap();
    let changes: Arc<Mutex<Vec<AddonChange>>> = Arc::default();
    let seen = changes.clone();
    let fake = FakeEks::start_with(
        &moto.endpoint(),
        FakeEksOptions {
            transition_delay: Duration::from_millis(100),
            on_change: Some(AddonHook(Arc::new(move |change| {
                seen.lock().unwrap().push(change.clone())
            }))),
        },
    )
    .unwrap();
    let http = Http {
        client: Client::builder(TokioExecutor::new()).build_http(),
        base: fake.endpoint(),
    };

    // Unknown cluster: 404 from the fake's cluster check.
    let (status, kind, _) = http
        .call(
            Method::GET,
            "/clusters/nope/addons/aws-ebs-csi-driver",
            None,
        )
        .await;
    assert_eq!(
        (status, kind.as_deref()),
        (StatusCode::NOT_FOUND, Some("ResourceNotFoundException"))
    );

    // CreateCluster is forwarded to moto.
    let cluster = json!({ "name": "demo", "roleArn": "arn:aws:iam::123456789012:role/eks", "resourcesVpcConfig": { "subnetIds": ["subnet-1", "subnet-2"] } });
    let (status, _, body) = http.call(Method::POST, "/clusters", Some(cluster)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["cluster"]["name"], "demo");

    let (status, kind, body) = http
        .call(
            Method::GET,
            "/clusters/demo/addons/aws-ebs-csi-driver",
            None,
        )
        .await;
    assert_eq!(
        (status, kind.as_deref()),
        (StatusCode::NOT_FOUND, Some("ResourceNotFoundException"))
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("aws-ebs-csi-driver")
    );

    let role = "arn:aws:iam::123456789012:role/ebs";
    let create = json!({ "addonName": "aws-ebs-csi-driver", "serviceAccountRoleArn": role, "tags": { "a": "b" } });
    let (status, _, body) = http
        .call(Method::POST, "/clusters/demo/addons", Some(create.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["addon"]["status"], "CREATING");
    assert!(
        body["addon"]["addonArn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:eks:us-east-1:123456789012:addon/demo/aws-ebs-csi-driver/")
    );
    let (status, kind, _) = http
        .call(Method::POST, "/clusters/demo/addons", Some(create))
        .await;
    assert_eq!(
        (status, kind.as_deref()),
        (StatusCode::CONFLICT, Some("ResourceInUseException"))
    );
    let (status, kind, _) = http
        .call(
            Method::POST,
            "/clusters/demo/addons/aws-ebs-csi-driver/update",
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, kind.as_deref()),
        (StatusCode::CONFLICT, Some("ResourceInUseException"))
    );

    tokio::time::sleep(Duration::from_millis(150)).await;
    let (_, _, body) = http
        .call(
            Method::GET,
            "/clusters/demo/addons/aws-ebs-csi-driver",
            None,
        )
        .await;
    assert_eq!(body["addon"]["status"], "ACTIVE");
    assert_eq!(body["addon"]["serviceAccountRoleArn"], role);
    assert_eq!(body["addon"]["tags"], json!({ "a": "b" }));

    let role2 = "arn:aws:iam::123456789012:role/ebs2";
    let (status, _, body) = http
        .call(
            Method::POST,
            "/clusters/demo/addons/aws-ebs-csi-driver/update",
            Some(json!({ "serviceAccountRoleArn": role2 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["update"]["type"], "AddonUpdate");
    assert_eq!(
        body["update"]["params"][0],
        json!({ "type": "ServiceAccountRoleArn", "value": role2 })
    );
    let (_, _, body) = http
        .call(
            Method::GET,
            "/clusters/demo/addons/aws-ebs-csi-driver",
            None,
        )
        .await;
    assert_eq!(body["addon"]["status"], "UPDATING");
    assert_eq!(
        fake.addon_role_arn("demo", "aws-ebs-csi-driver").as_deref(),
        Some(role2)
    );
    assert_eq!(
        fake.addon_role_history("demo", "aws-ebs-csi-driver"),
        vec![Some(role.to_string()), Some(role2.to_string())]
    );

    let (_, _, body) = http.call(Method::GET, "/clusters/demo/addons", None).await;
    assert_eq!(body, json!({ "addons": ["aws-ebs-csi-driver"] }));

    tokio::time::sleep(Duration::from_millis(150)).await;
    let (status, _, body) = http
        .call(
            Method::DELETE,
            "/clusters/demo/addons/aws-ebs-csi-driver",
            None,
        )
        .await;
    assert_eq!(
        (status, body["addon"]["status"].as_str()),
        (StatusCode::OK, Some("DELETING"))
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    let (status, _, _) = http
        .call(
            Method::GET,
            "/clusters/demo/addons/aws-ebs-csi-driver",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Failing add-ons end in CREATE_FAILED with the health issue.
    fake.fail_addon(
        "aws-efs-csi-driver",
        "InsufficientNumberOfReplicas",
        "pods not ready",
    );
    http.call(
        Method::POST,
        "/clusters/demo/addons",
        Some(json!({ "addonName": "aws-efs-csi-driver" })),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    let (_, _, body) = http
        .call(
            Method::GET,
            "/clusters/demo/addons/aws-efs-csi-driver",
            None,
        )
        .await;
    assert_eq!(body["addon"]["status"], "CREATE_FAILED");
    assert_eq!(
        body["addon"]["health"]["issues"][0]["code"],
        "InsufficientNumberOfReplicas"
    );
    // The hook heard each add-on become ACTIVE (and EBS's deletion), not the failed one.
    let changes = changes.lock().unwrap().clone();
    assert!(
        changes.iter().all(|c| c.addon == "aws-ebs-csi-driver"),
        "{changes:?}"
    );
    assert!(
        changes
            .first()
            .is_some_and(|c| c.installed && c.role_arn.is_some())
    );
    assert!(changes.iter().any(|c| !c.installed), "{changes:?}");
}
