//! Tests of the fake EKS Auth against moto, the fake EKS's associations and the fake cluster's
//! token issuer: every refusal over plain HTTP and through the real boto3 `eks-auth` client
//! (botocore model `eks-auth/2023-11-26`: InvalidTokenException, ExpiredTokenException and
//! AccessDeniedException are 400, ResourceNotFoundException 404), the credentials checked with
//! STS GetCallerIdentity, and the two CloudTrail records found by LookupEvents.

use super::*;
use crate::boto3;
use crate::fake_cloudtrail::FakeCloudTrail;
use crate::fake_eks::FakeEks;
use crate::fake_kube::TokenIssuer;
use crate::fake_kube::tokens::{BoundObject, TokenSpec};
use crate::moto::MotoServer;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

const ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/EKSAUTHTEST";
const ACCOUNT: &str = "123456789012";

struct World {
    moto: MotoServer,
    _eks: FakeEks,
    cloudtrail: FakeCloudTrail,
    auth: FakeEksAuth,
    issuer: Arc<TokenIssuer>,
}

fn role(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

async fn world() -> World {
    let moto = MotoServer::start().unwrap();
    let eks = FakeEks::start(&moto.endpoint()).unwrap();
    let cloudtrail = FakeCloudTrail::start(&moto.endpoint(), "us-east-1").unwrap();
    let issuer = Arc::new(TokenIssuer::new(ISSUER));
    let auth = FakeEksAuth::start(
        &moto.endpoint(),
        FakeEksAuthOptions {
            region: "us-east-1".into(),
            associations: eks.associations(),
            verifier: issuer.clone(),
            events: Some(cloudtrail.event_log()),
        },
    )
    .unwrap();
    let env = [
        ("AWS_ENDPOINT_URL", moto.endpoint()),
        ("AWS_ENDPOINT_URL_EKS", eks.endpoint()),
    ];
    tokio::task::spawn_blocking(move || {
        boto3::run(
            r#"
def trust(statement):
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})
pods = {"Service": "pods.eks.amazonaws.com"}
iam = boto3.client("iam")
iam.create_role(RoleName="app", AssumeRolePolicyDocument=trust({"Effect": "Allow", "Principal": pods, "Action": ["sts:AssumeRole", "sts:TagSession"]}))
iam.create_role(RoleName="notag", AssumeRolePolicyDocument=trust({"Effect": "Allow", "Principal": pods, "Action": "sts:AssumeRole"}))
iam.create_role(RoleName="irsa", AssumeRolePolicyDocument=trust({"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/x"}, "Action": "sts:AssumeRoleWithWebIdentity"}))
iam.create_role(RoleName="gone", AssumeRolePolicyDocument=trust({"Effect": "Allow", "Principal": pods, "Action": ["sts:AssumeRole", "sts:TagSession"]}))
iam.create_role(RoleName="target", AssumeRolePolicyDocument=trust({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/app"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}))
eks = boto3.client("eks")
eks.create_cluster(name="demo", roleArn="arn:aws:iam::123456789012:role/eks", resourcesVpcConfig={"subnetIds": ["subnet-1"]})
for sa, role, extra in [("web", "app", {}), ("notag", "notag", {}), ("notag-off", "notag", {"disableSessionTags": True}),
                        ("irsa", "irsa", {}), ("gone", "gone", {}), ("cross", "app", {"targetRoleArn": "arn:aws:iam::123456789012:role/target"}),
                        ("scoped", "app", {"disableSessionTags": True, "policy": json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]})}),
                        ("cross-untagged", "app", {"targetRoleArn": "arn:aws:iam::123456789012:role/target", "disableSessionTags": True})]:
    eks.create_pod_identity_association(clusterName="demo", namespace="shop", serviceAccount=sa, roleArn="arn:aws:iam::123456789012:role/" + role, **extra)
iam.delete_role(RoleName="gone")
print(json.dumps("seeded"))
"#,
            &env,
        )
    })
    .await
    .unwrap();
    World {
        moto,
        _eks: eks,
        cloudtrail,
        auth,
        issuer,
    }
}

impl World {
    fn token(&self, sa: &str, audience: &str, expires_in: i64, rogue: bool) -> String {
        self.issuer
            .mint(&TokenSpec {
                namespace: "shop",
                service_account: sa,
                service_account_uid: "11111111-2222-4333-8444-555555555555",
                audiences: vec![audience.to_string()],
                expires_in_seconds: expires_in,
                pod: Some(BoundObject {
                    name: format!("{sa}-pod"),
                    uid: "0cda7f85-c1f9-4dee-b6e9-a0b50c8f3012".into(),
                }),
                rogue,
            })
            .0
    }

    fn good(&self, sa: &str) -> String {
        self.token(sa, AUDIENCE, 3600, false)
    }
}

async fn assume(base: &str, cluster: &str, token: &str) -> (u16, String, Value) {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let request = hyper::Request::post(format!("{base}/clusters/{cluster}/assume-role-for-pod-identity"))
        .header("content-type", "application/json")
        .header("authorization", "AWS4-HMAC-SHA256 Credential=AKIANODE/20260101/us-east-1/eks-auth/aws4_request, SignedHeaders=host, Signature=0")
        .body(Full::new(Bytes::from(json!({"token": token}).to_string())))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("x-amzn-errortype")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        kind,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn refuses_as_eks_auth_does_over_http() {
    let w = world().await;
    let base = w.auth.endpoint();
    let other_issuer = TokenIssuer::new("https://oidc.eks.us-east-1.amazonaws.com/id/OTHER");
    let foreign = other_issuer
        .mint(&TokenSpec {
            namespace: "shop",
            service_account: "web",
            service_account_uid: "u",
            audiences: vec![AUDIENCE.into()],
            expires_in_seconds: 3600,
            pod: None,
            rogue: false,
        })
        .0;
    for (cluster, token, expected) in [
        (
            "demo",
            w.token("web", "sts.amazonaws.com", 3600, false),
            (400, "InvalidTokenException"),
        ),
        (
            "demo",
            w.token("web", AUDIENCE, 3600, true),
            (400, "InvalidTokenException"),
        ),
        ("demo", foreign, (400, "InvalidTokenException")),
        (
            "demo",
            "not.a.jwt".to_string(),
            (400, "InvalidTokenException"),
        ),
        (
            "demo",
            w.token("web", AUDIENCE, -60, false),
            (400, "ExpiredTokenException"),
        ),
        ("demo", w.good("nobody"), (404, "ResourceNotFoundException")),
        ("nope", w.good("web"), (404, "ResourceNotFoundException")),
        ("demo", w.good("notag"), (400, "AccessDeniedException")),
        ("demo", w.good("irsa"), (400, "AccessDeniedException")),
        ("demo", w.good("gone"), (400, "AccessDeniedException")),
    ] {
        let (status, kind, body) = assume(&base, cluster, &token).await;
        assert_eq!((status, kind.as_str()), expected, "{body}");
        assert!(body["message"].is_string(), "{body}");
    }
    let (status, kind, _) = assume(&base, "demo", "").await;
    assert_eq!((status, kind.as_str()), (400, "InvalidParameterException"));

    let (status, _, body) = assume(&base, "demo", &w.good("web")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["subject"],
        json!({"namespace": "shop", "serviceAccount": "web"})
    );
    assert_eq!(body["audience"], AUDIENCE);
    assert!(
        body["podIdentityAssociation"]["associationId"]
            .as_str()
            .unwrap()
            .starts_with("a-")
    );
    let arn = body["assumedRoleUser"]["arn"].as_str().unwrap();
    assert!(
        arn.starts_with(&format!(
            "arn:aws:sts::{ACCOUNT}:assumed-role/app/eks-demo-web-pod-"
        )),
        "{arn}"
    );
    assert!(arn.len() - arn.rfind('/').unwrap() - 1 <= 64);
    assert!(
        body["credentials"]["expiration"].is_f64()
            && body["credentials"]["sessionToken"].is_string()
    );

    // Without session tags the role needs only sts:AssumeRole.
    let (status, _, _) = assume(&base, "demo", &w.good("notag-off")).await;
    assert_eq!(status, 200);
    // A target role: the answer is the target's session.
    let (status, _, body) = assume(&base, "demo", &w.good("cross")).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["assumedRoleUser"]["arn"]
            .as_str()
            .unwrap()
            .contains(":assumed-role/target/eks-demo-cross-pod-"),
        "{body}"
    );

    // A session policy (with session tags off) goes to STS with no tags.
    let (status, _, _) = assume(&base, "demo", &w.good("scoped")).await;
    assert_eq!(status, 200);
    // Session tags off with a target role: the target's AssumeRole carries the external id.
    let (status, _, body) = assume(&base, "demo", &w.good("cross-untagged")).await;
    assert_eq!(status, 200, "{body}");

    // CloudTrail: AssumeRoleForPodIdentity and AssumeRole by pods.eks.amazonaws.com with the six tags.
    let events = w.cloudtrail.events();
    let refused = events
        .iter()
        .filter(|e| e["eventName"] == "AssumeRoleForPodIdentity" && e["errorCode"].is_string())
        .count();
    assert_eq!(refused, 11, "{events:?}");
    let web = events
        .iter()
        .find(|e| {
            e["eventName"] == "AssumeRole"
                && e["requestParameters"]["roleSessionName"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("eks-demo-web-pod-"))
        })
        .expect("the AssumeRole of web");
    assert_eq!(
        web["userIdentity"],
        json!({"type": "AWSService", "invokedBy": "pods.eks.amazonaws.com"})
    );
    assert_eq!(web["eventSource"], "sts.amazonaws.com");
    assert_eq!(web["requestParameters"]["durationSeconds"], 21600);
    let tags: Vec<(String, String)> = web["requestParameters"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["key"].as_str().unwrap().into(),
                t["value"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        tags,
        vec![
            (
                "eks-cluster-arn".to_string(),
                format!("arn:aws:eks:us-east-1:{ACCOUNT}:cluster/demo")
            ),
            ("eks-cluster-name".into(), "demo".into()),
            ("kubernetes-namespace".into(), "shop".into()),
            ("kubernetes-service-account".into(), "web".into()),
            ("kubernetes-pod-name".into(), "web-pod".into()),
            (
                "kubernetes-pod-uid".into(),
                "0cda7f85-c1f9-4dee-b6e9-a0b50c8f3012".into()
            ),
        ]
    );
    assert_eq!(
        web["requestParameters"]["transitiveTagKeys"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
    let untagged = events
        .iter()
        .find(|e| {
            e["eventName"] == "AssumeRole"
                && e["requestParameters"]["roleArn"] == role("notag").as_str()
        })
        .unwrap();
    assert!(untagged["requestParameters"].get("tags").is_none());
    let scoped = events
        .iter()
        .find(|e| {
            e["eventName"] == "AssumeRole"
                && e["requestParameters"]["roleSessionName"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("eks-demo-scoped-pod-"))
        })
        .unwrap();
    assert!(
        scoped["requestParameters"]["policy"]
            .as_str()
            .unwrap()
            .contains("s3:ListBucket")
    );
    assert!(scoped["requestParameters"].get("tags").is_none());
    let chained = events
        .iter()
        .find(|e| {
            e["eventName"] == "AssumeRole"
                && e["requestParameters"]["roleArn"] == role("target").as_str()
                && e["requestParameters"]["externalId"].is_string()
        })
        .expect("the target role's AssumeRole with the external id");
    assert_eq!(
        chained["requestParameters"]["externalId"],
        format!("us-east-1/{ACCOUNT}/demo/shop/cross-untagged")
    );
    let ok = events
        .iter()
        .find(|e| e["eventName"] == "AssumeRoleForPodIdentity" && e.get("errorCode").is_none())
        .unwrap();
    assert_eq!(
        ok["requestParameters"],
        json!({"clusterName": "demo", "token": "HIDDEN_DUE_TO_SECURITY_REASONS"})
    );
    assert_eq!(ok["userIdentity"]["accessKeyId"], "AKIANODE");
}

#[tokio::test]
async fn boto3_eks_auth_client_reads_answers_and_errors() {
    let w = world().await;
    let env = [
        ("AWS_ENDPOINT_URL", w.moto.endpoint()),
        ("AWS_ENDPOINT_URL_EKS_AUTH", w.auth.endpoint()),
        ("AWS_ENDPOINT_URL_CLOUDTRAIL", w.cloudtrail.endpoint()),
        ("GOOD", w.good("web")),
        ("EXPIRED", w.token("web", AUDIENCE, -60, false)),
        ("ROGUE", w.token("web", AUDIENCE, 3600, true)),
        ("NOTAG", w.good("notag")),
        ("NOBODY", w.good("nobody")),
    ];
    let answer = tokio::task::spawn_blocking(move || {
        boto3::run(
            r#"
import os
auth = boto3.client("eks-auth")
out = {}
r = auth.assume_role_for_pod_identity(clusterName="demo", token=os.environ["GOOD"])
c = r["credentials"]
out["ok"] = {"subject": r["subject"], "audience": r["audience"], "arn": r["assumedRoleUser"]["arn"], "expiration": type(c["expiration"]).__name__}
sts = boto3.client("sts", aws_access_key_id=c["accessKeyId"], aws_secret_access_key=c["secretAccessKey"], aws_session_token=c["sessionToken"])
out["caller"] = sts.get_caller_identity()["Arn"]
for name, cluster, token in [("expired", "demo", os.environ["EXPIRED"]), ("rogue", "demo", os.environ["ROGUE"]),
                             ("denied", "demo", os.environ["NOTAG"]), ("none", "demo", os.environ["NOBODY"]), ("nocluster", "nope", os.environ["GOOD"])]:
    try:
        auth.assume_role_for_pod_identity(clusterName=cluster, token=token)
        out[name] = "no error"
    except botocore.exceptions.ClientError as e:
        out[name] = err(e)
ct = boto3.client("cloudtrail")
out["lookup"] = [e["EventSource"] for e in ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "AssumeRoleForPodIdentity"}])["Events"]]
print(json.dumps(out))
"#,
            &env,
        )
    })
    .await
    .unwrap();
    assert_eq!(
        answer["ok"]["subject"],
        json!({"namespace": "shop", "serviceAccount": "web"})
    );
    assert_eq!(answer["ok"]["audience"], AUDIENCE);
    assert_eq!(answer["ok"]["expiration"], "datetime");
    assert_eq!(answer["caller"], answer["ok"]["arn"]);
    for (case, code, status) in [
        ("expired", "ExpiredTokenException", 400),
        ("rogue", "InvalidTokenException", 400),
        ("denied", "AccessDeniedException", 400),
        ("none", "ResourceNotFoundException", 404),
        ("nocluster", "ResourceNotFoundException", 404),
    ] {
        assert_eq!(
            (&answer[case]["error"], &answer[case]["status"]),
            (&json!(code), &json!(status)),
            "{case}: {answer}"
        );
    }
    assert_eq!(answer["lookup"], json!(vec!["eks-auth.amazonaws.com"; 6]));
}
