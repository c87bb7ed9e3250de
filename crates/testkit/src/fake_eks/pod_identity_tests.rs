//! Tests of the fake's Pod Identity associations, add-on-owned associations and add-on catalog,
//! against moto: every error case over plain HTTP, then the same API through the real boto3
//! (`eks` client of botocore's `eks/2017-11-01` model).

use super::associations::MAX_ASSOCIATIONS;
use super::*;
use crate::boto3;
use crate::moto::MotoServer;
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::json;

const ACCOUNT: &str = "123456789012";

/// The moto server and fake with cluster `demo` and roles `app`, `other` (trusting EKS Pod
/// Identity) in IAM.
struct World {
    _moto: MotoServer,
    fake: FakeEks,
}

fn role(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

async fn world() -> World {
    let moto = MotoServer::start().unwrap();
    let fake = FakeEks::start_with(
        &moto.endpoint(),
        FakeEksOptions {
            transition_delay: Duration::from_millis(50),
            on_change: None,
        },
    )
    .unwrap();
    let env = [
        ("AWS_ENDPOINT_URL_IAM", moto.endpoint()),
        ("AWS_ENDPOINT_URL_EKS", fake.endpoint()),
    ];
    let seeded = tokio::task::spawn_blocking(move || {
        boto3::run(
            r#"
trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}]})
iam = boto3.client("iam")
for name in ["app", "other"]:
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
eks = boto3.client("eks")
c = eks.create_cluster(name="demo", roleArn="arn:aws:iam::123456789012:role/eks", resourcesVpcConfig={"subnetIds": ["subnet-1", "subnet-2"]})
print(json.dumps(c["cluster"]["arn"]))
"#,
            &env,
        )
    })
    .await
    .unwrap();
    assert!(
        seeded.as_str().unwrap().ends_with(":cluster/demo"),
        "{seeded}"
    );
    World { _moto: moto, fake }
}

/// (status, x-amzn-ErrorType, body) of one call.
async fn call(base: &str, method: Method, path: &str, body: Option<Value>) -> (u16, String, Value) {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let request = hyper::Request::builder()
        .method(method)
        .uri(format!("{base}{path}"))
        .header("content-type", "application/json")
        .header("authorization", UNSIGNED_EKS_AUTHORIZATION)
        .body(Full::new(
            body.map(|b| Bytes::from(b.to_string())).unwrap_or_default(),
        ))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("x-amzn-errortype")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        kind,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

const ASSOCIATIONS: &str = "/clusters/demo/pod-identity-associations";

fn create_body(namespace: &str, sa: &str, role_arn: &str) -> Value {
    json!({"namespace": namespace, "serviceAccount": sa, "roleArn": role_arn})
}

#[tokio::test]
async fn association_errors_over_http() {
    let w = world().await;
    let base = w.fake.endpoint();
    // Required members, role ARN shape, role existence, the policy rule (EKS model).
    for (body, why) in [
        (
            json!({"namespace": "shop", "serviceAccount": "web"}),
            "roleArn is required",
        ),
        (
            create_body("shop", "", &role("app")),
            "serviceAccount is required",
        ),
        (
            create_body("shop", "web", &format!("arn:aws:iam::{ACCOUNT}:user/app")),
            "Invalid roleArn",
        ),
        (
            create_body("shop", "web", &role("missing")),
            "does not exist",
        ),
        (
            json!({"namespace": "shop", "serviceAccount": "web", "roleArn": role("app"), "policy": "{}"}),
            "disableSessionTags",
        ),
        (
            json!({"namespace": "shop", "serviceAccount": "web", "roleArn": role("app"), "disableSessionTags": "yes"}),
            "boolean",
        ),
    ] {
        let (status, kind, answer) = call(&base, Method::POST, ASSOCIATIONS, Some(body)).await;
        assert_eq!(
            (status, kind.as_str()),
            (400, "InvalidParameterException"),
            "{answer}"
        );
        assert!(
            answer["message"].as_str().unwrap().contains(why),
            "{why}: {answer}"
        );
    }
    let (status, kind, _) = call(
        &base,
        Method::POST,
        "/clusters/nope/pod-identity-associations",
        Some(create_body("shop", "web", &role("app"))),
    )
    .await;
    assert_eq!((status, kind.as_str()), (404, "ResourceNotFoundException"));

    let tagged = json!({"namespace": "shop", "serviceAccount": "web", "roleArn": role("app"), "tags": {"irsa.dev/managed-by": "irsa"}});
    let (status, _, created) = call(&base, Method::POST, ASSOCIATIONS, Some(tagged)).await;
    assert_eq!(status, 200, "{created}");
    let a = &created["association"];
    let id = a["associationId"].as_str().unwrap().to_string();
    assert!(id.starts_with("a-") && id.len() == 19, "{id}");
    assert_eq!(
        a["associationArn"],
        format!("arn:aws:eks:us-east-1:{ACCOUNT}:podidentityassociation/demo/{id}")
    );
    assert_eq!(a["tags"], json!({"irsa.dev/managed-by": "irsa"}));
    assert_eq!(a["disableSessionTags"], false);
    assert!(a.get("ownerArn").is_none() && a["createdAt"].is_f64());

    // One association per service account.
    let (status, kind, _) = call(
        &base,
        Method::POST,
        ASSOCIATIONS,
        Some(create_body("shop", "web", &role("other"))),
    )
    .await;
    assert_eq!((status, kind.as_str()), (409, "ResourceInUseException"));

    let item = format!("{ASSOCIATIONS}/{id}");
    let (status, _, described) = call(&base, Method::GET, &item, None).await;
    assert_eq!((status, &described["association"]), (200, a));
    let (status, kind, _) = call(
        &base,
        Method::GET,
        &format!("{ASSOCIATIONS}/a-00000000000000000"),
        None,
    )
    .await;
    assert_eq!((status, kind.as_str()), (404, "ResourceNotFoundException"));

    // Updates: namespace/serviceAccount immutable, at least one change, roles must exist.
    for (body, why) in [
        (json!({"namespace": "other"}), "cannot be updated"),
        (json!({}), "at least one"),
        (json!({"roleArn": role("missing")}), "does not exist"),
        (
            json!({"policy": "{\"Version\":\"2012-10-17\"}"}),
            "disableSessionTags",
        ),
    ] {
        let (status, kind, answer) = call(&base, Method::POST, &item, Some(body)).await;
        assert_eq!(
            (status, kind.as_str()),
            (400, "InvalidParameterException"),
            "{answer}"
        );
        assert!(
            answer["message"].as_str().unwrap().contains(why),
            "{why}: {answer}"
        );
    }
    let (status, kind, _) = call(
        &base,
        Method::POST,
        &format!("{ASSOCIATIONS}/a-00000000000000000"),
        Some(json!({"roleArn": role("other")})),
    )
    .await;
    assert_eq!((status, kind.as_str()), (404, "ResourceNotFoundException"));
    let update = json!({"roleArn": role("other"), "targetRoleArn": role("app"), "disableSessionTags": true, "policy": "{\"Version\":\"2012-10-17\",\"Statement\":[]}"});
    let (status, _, updated) = call(&base, Method::POST, &item, Some(update)).await;
    assert_eq!(status, 200, "{updated}");
    let u = &updated["association"];
    assert_eq!(
        (u["roleArn"].as_str(), u["targetRoleArn"].as_str()),
        (Some(role("other").as_str()), Some(role("app").as_str()))
    );
    assert_eq!(
        u["externalId"],
        format!("us-east-1/{ACCOUNT}/demo/shop/web")
    );
    assert_eq!(
        (u["namespace"].as_str(), u["disableSessionTags"].as_bool()),
        (Some("shop"), Some(true))
    );

    // List: filters, paging, summaries without roleArn.
    for sa in ["api", "worker"] {
        assert_eq!(
            call(
                &base,
                Method::POST,
                ASSOCIATIONS,
                Some(create_body("shop", sa, &role("app")))
            )
            .await
            .0,
            200
        );
    }
    call(
        &base,
        Method::POST,
        ASSOCIATIONS,
        Some(create_body("ops", "web", &role("app"))),
    )
    .await;
    let (_, _, first) = call(
        &base,
        Method::GET,
        &format!("{ASSOCIATIONS}?namespace=shop&maxResults=2"),
        None,
    )
    .await;
    assert_eq!(
        first["associations"].as_array().unwrap().len(),
        2,
        "{first}"
    );
    assert!(first["associations"][0].get("roleArn").is_none());
    let token = first["nextToken"].as_str().unwrap();
    let (_, _, second) = call(
        &base,
        Method::GET,
        &format!("{ASSOCIATIONS}?namespace=shop&maxResults=2&nextToken={token}"),
        None,
    )
    .await;
    assert_eq!(second["associations"].as_array().unwrap().len(), 1);
    assert!(second.get("nextToken").is_none());
    let (_, _, web) = call(
        &base,
        Method::GET,
        &format!("{ASSOCIATIONS}?serviceAccount=web"),
        None,
    )
    .await;
    assert_eq!(web["associations"].as_array().unwrap().len(), 2);
    let (status, kind, _) = call(
        &base,
        Method::GET,
        &format!("{ASSOCIATIONS}?maxResults=101"),
        None,
    )
    .await;
    assert_eq!((status, kind.as_str()), (400, "InvalidParameterException"));

    // Tags on the association ARN.
    let tags = format!(
        "/tags/{}",
        rest_json::encode_path_segment(a["associationArn"].as_str().unwrap())
    );
    assert_eq!(
        call(
            &base,
            Method::POST,
            &tags,
            Some(json!({"tags": {"team": "a"}}))
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(
            &base,
            Method::DELETE,
            &format!("{tags}?tagKeys=irsa.dev%2Fmanaged-by"),
            None
        )
        .await
        .0,
        200
    );
    let (_, _, listed) = call(&base, Method::GET, &tags, None).await;
    assert_eq!(listed, json!({"tags": {"team": "a"}}));
    let (status, kind, _) = call(
        &base,
        Method::GET,
        "/tags/arn%3Aaws%3Aeks%3Aus-east-1%3A123456789012%3Apodidentityassociation%2Fdemo%2Fa-x",
        None,
    )
    .await;
    assert_eq!((status, kind.as_str()), (404, "NotFoundException"));

    let (status, _, deleted) = call(&base, Method::DELETE, &item, None).await;
    assert_eq!(
        (status, deleted["association"]["associationId"].as_str()),
        (200, Some(id.as_str()))
    );
    assert_eq!(call(&base, Method::DELETE, &item, None).await.0, 404);
    assert!(w.fake.associations().find("demo", "shop", "web").is_none());
    assert!(w.fake.associations().find("demo", "shop", "api").is_some());
}

#[tokio::test]
async fn addon_owned_associations_and_catalog() {
    let w = world().await;
    let base = w.fake.endpoint();
    let with =
        |list: Value| json!({"addonName": "aws-ebs-csi-driver", "podIdentityAssociations": list});
    let (status, kind, _) = call(
        &base,
        Method::POST,
        "/clusters/demo/addons",
        Some(with(
            json!([{"serviceAccount": "ebs-csi-controller-sa", "roleArn": role("missing")}]),
        )),
    )
    .await;
    assert_eq!((status, kind.as_str()), (400, "InvalidParameterException"));
    let (status, _, created) = call(
        &base,
        Method::POST,
        "/clusters/demo/addons",
        Some(with(
            json!([{"serviceAccount": "ebs-csi-controller-sa", "roleArn": role("app")}]),
        )),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let addon_arn = created["addon"]["addonArn"].as_str().unwrap().to_string();
    let owned = w
        .fake
        .associations()
        .find("demo", "kube-system", "ebs-csi-controller-sa")
        .unwrap();
    assert_eq!(owned.owner_arn.as_deref(), Some(addon_arn.as_str()));
    assert_eq!(
        created["addon"]["podIdentityAssociations"],
        json!([owned.arn])
    );
    let (_, _, listed) = call(&base, Method::GET, ASSOCIATIONS, None).await;
    assert_eq!(listed["associations"][0]["ownerArn"], addon_arn.as_str());

    // A service account with someone else's association: 409, nothing changes.
    call(
        &base,
        Method::POST,
        ASSOCIATIONS,
        Some(create_body(
            "kube-system",
            "efs-csi-controller-sa",
            &role("other"),
        )),
    )
    .await;
    let (status, kind, _) = call(&base, Method::POST, "/clusters/demo/addons", Some(json!({"addonName": "aws-efs-csi-driver", "podIdentityAssociations": [{"serviceAccount": "efs-csi-controller-sa", "roleArn": role("app")}]}))).await;
    assert_eq!((status, kind.as_str()), (409, "ResourceInUseException"));

    tokio::time::sleep(Duration::from_millis(80)).await;
    let update = "/clusters/demo/addons/aws-ebs-csi-driver/update";
    // Omitted: unchanged.
    let (status, _, answer) = call(
        &base,
        Method::POST,
        update,
        Some(json!({"addonVersion": "v1.37.0-eksbuild.1"})),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        w.fake
            .associations()
            .find("demo", "kube-system", "ebs-csi-controller-sa")
            .map(|a| a.role_arn),
        Some(role("app"))
    );
    tokio::time::sleep(Duration::from_millis(80)).await;
    // A list replaces.
    let (_, _, answer) = call(&base, Method::POST, update, Some(json!({"podIdentityAssociations": [{"serviceAccount": "ebs-csi-controller-sa", "roleArn": role("other")}]}))).await;
    assert_eq!(
        answer["update"]["params"][0]["type"],
        "PodIdentityAssociations"
    );
    assert_eq!(
        w.fake
            .associations()
            .find("demo", "kube-system", "ebs-csi-controller-sa")
            .map(|a| a.role_arn),
        Some(role("other"))
    );
    tokio::time::sleep(Duration::from_millis(80)).await;
    // [] removes the add-on's own.
    call(
        &base,
        Method::POST,
        update,
        Some(json!({"podIdentityAssociations": []})),
    )
    .await;
    assert!(
        w.fake
            .associations()
            .find("demo", "kube-system", "ebs-csi-controller-sa")
            .is_none()
    );
    tokio::time::sleep(Duration::from_millis(80)).await;
    call(&base, Method::POST, update, Some(json!({"podIdentityAssociations": [{"serviceAccount": "ebs-csi-controller-sa", "roleArn": role("app")}]}))).await;
    tokio::time::sleep(Duration::from_millis(80)).await;
    // They go with the add-on; others stay.
    call(
        &base,
        Method::DELETE,
        "/clusters/demo/addons/aws-ebs-csi-driver",
        None,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(
        call(
            &base,
            Method::GET,
            "/clusters/demo/addons/aws-ebs-csi-driver",
            None
        )
        .await
        .0,
        404
    );
    assert!(
        w.fake
            .associations()
            .find("demo", "kube-system", "ebs-csi-controller-sa")
            .is_none()
    );
    assert!(
        w.fake
            .associations()
            .find("demo", "kube-system", "efs-csi-controller-sa")
            .is_some()
    );

    // Catalog.
    let (_, _, configuration) = call(&base, Method::GET, "/addons/configuration-schemas?addonName=aws-ebs-csi-driver&addonVersion=v1.26.0-eksbuild.1", None).await;
    assert_eq!(
        configuration["podIdentityConfiguration"],
        json!([{"serviceAccount": "ebs-csi-controller-sa", "recommendedManagedPolicies": ["arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"]}])
    );
    let (_, _, old) = call(&base, Method::GET, "/addons/configuration-schemas?addonName=aws-ebs-csi-driver&addonVersion=v1.25.0-eksbuild.1", None).await;
    assert!(
        old.get("podIdentityConfiguration").is_none() && old["configurationSchema"].is_string()
    );
    let (status, kind, _) = call(
        &base,
        Method::GET,
        "/addons/configuration-schemas?addonName=aws-ebs-csi-driver&addonVersion=v0.1.0-eksbuild.1",
        None,
    )
    .await;
    assert_eq!((status, kind.as_str()), (404, "ResourceNotFoundException"));
    let (_, _, versions) = call(
        &base,
        Method::GET,
        "/addons/supported-versions?addonName=eks-pod-identity-agent",
        None,
    )
    .await;
    assert_eq!(
        versions["addons"][0]["addonVersions"][0]["addonVersion"],
        "v1.3.4-eksbuild.1"
    );
}

#[tokio::test]
async fn boto3_sees_the_real_shapes_and_errors() {
    let w = world().await;
    let env = [("AWS_ENDPOINT_URL_EKS", w.fake.endpoint())];
    let answer = tokio::task::spawn_blocking(move || boto3::run(r#"
eks = boto3.client("eks")
out = {}
a = eks.create_pod_identity_association(clusterName="demo", namespace="shop", serviceAccount="web", roleArn="arn:aws:iam::123456789012:role/app", tags={"irsa.dev/managed-by": "irsa"})["association"]
out["created"] = {"id": a["associationId"], "arn": a["associationArn"], "tags": a["tags"], "createdAt": str(type(a["createdAt"]).__name__)}
for name, call in [
    ("duplicate", lambda: eks.create_pod_identity_association(clusterName="demo", namespace="shop", serviceAccount="web", roleArn="arn:aws:iam::123456789012:role/other")),
    ("missing", lambda: eks.describe_pod_identity_association(clusterName="demo", associationId="a-00000000000000000")),
    ("invalid", lambda: eks.create_pod_identity_association(clusterName="demo", namespace="shop", serviceAccount="api", roleArn="arn:aws:iam::123456789012:role/app", policy="{}")),
    ("nocluster", lambda: eks.list_pod_identity_associations(clusterName="nope")),
]:
    try:
        call()
        out[name] = "no error"
    except botocore.exceptions.ClientError as e:
        out[name] = err(e)
for sa in ["api", "worker"]:
    eks.create_pod_identity_association(clusterName="demo", namespace="shop", serviceAccount=sa, roleArn="arn:aws:iam::123456789012:role/app")
pages = eks.get_paginator("list_pod_identity_associations").paginate(clusterName="demo", namespace="shop", PaginationConfig={"PageSize": 2})
out["pages"] = [[s["serviceAccount"] for s in p["associations"]] for p in pages]
u = eks.update_pod_identity_association(clusterName="demo", associationId=a["associationId"], roleArn="arn:aws:iam::123456789012:role/other", disableSessionTags=True)["association"]
out["updated"] = [u["roleArn"], u["disableSessionTags"]]
eks.tag_resource(resourceArn=a["associationArn"], tags={"team": "a"})
eks.untag_resource(resourceArn=a["associationArn"], tagKeys=["irsa.dev/managed-by"])
out["tags"] = eks.list_tags_for_resource(resourceArn=a["associationArn"])["tags"]
addon = eks.create_addon(clusterName="demo", addonName="aws-efs-csi-driver", podIdentityAssociations=[{"serviceAccount": "efs-csi-controller-sa", "roleArn": "arn:aws:iam::123456789012:role/app"}])["addon"]
out["addon"] = addon["podIdentityAssociations"]
c = eks.describe_addon_configuration(addonName="aws-efs-csi-driver", addonVersion="v2.0.5-eksbuild.1")
out["configuration"] = c["podIdentityConfiguration"]
out["deleted"] = eks.delete_pod_identity_association(clusterName="demo", associationId=a["associationId"])["association"]["associationId"] == a["associationId"]
print(json.dumps(out))
"#, &env)).await.unwrap();
    assert_eq!(
        answer["created"]["tags"],
        json!({"irsa.dev/managed-by": "irsa"})
    );
    assert_eq!(
        answer["created"]["createdAt"], "datetime",
        "restJson1 timestamps parse"
    );
    assert_eq!(
        (
            &answer["duplicate"]["error"],
            &answer["duplicate"]["status"]
        ),
        (&json!("ResourceInUseException"), &json!(409))
    );
    assert_eq!(
        (&answer["missing"]["error"], &answer["missing"]["status"]),
        (&json!("ResourceNotFoundException"), &json!(404))
    );
    assert_eq!(
        (&answer["invalid"]["error"], &answer["invalid"]["status"]),
        (&json!("InvalidParameterException"), &json!(400))
    );
    assert_eq!(answer["nocluster"]["error"], "ResourceNotFoundException");
    assert_eq!(answer["pages"], json!([["web", "api"], ["worker"]]));
    assert_eq!(answer["updated"], json!([role("other"), true]));
    assert_eq!(answer["tags"], json!({"team": "a"}));
    let owned = w
        .fake
        .associations()
        .find("demo", "kube-system", "efs-csi-controller-sa")
        .unwrap();
    assert_eq!(answer["addon"], json!([owned.arn]));
    assert_eq!(
        answer["configuration"][0]["serviceAccount"],
        "efs-csi-controller-sa"
    );
    assert_eq!(answer["deleted"], true);
}

#[tokio::test]
async fn idempotent_retries_limits_and_planted_associations() {
    let w = world().await;
    let base = w.fake.endpoint();
    // A retry with the same clientRequestToken answers the association it made, not 409.
    let body = json!({"namespace": "shop", "serviceAccount": "web", "roleArn": role("app"), "clientRequestToken": "t-1"});
    let (_, _, first) = call(&base, Method::POST, ASSOCIATIONS, Some(body.clone())).await;
    let (status, _, again) = call(&base, Method::POST, ASSOCIATIONS, Some(body)).await;
    assert_eq!(
        (status, &again["association"]),
        (200, &first["association"])
    );
    let other = json!({"namespace": "shop", "serviceAccount": "web", "roleArn": role("app"), "clientRequestToken": "t-2"});
    assert_eq!(
        call(&base, Method::POST, ASSOCIATIONS, Some(other)).await.0,
        409
    );

    // Planted: another owner's (tags) and an add-on's (ownerArn), as the API shows them.
    let cluster_arn = format!("arn:aws:eks:us-east-1:{ACCOUNT}:cluster/demo");
    let foreign = w.fake.associations().plant(
        &cluster_arn,
        "shop",
        "api",
        &role("other"),
        &[("owner", "terraform")],
        None,
    );
    let addon_arn = format!("arn:aws:eks:us-east-1:{ACCOUNT}:addon/demo/vpc-cni/x");
    w.fake.associations().plant(
        &cluster_arn,
        "kube-system",
        "aws-node",
        &role("app"),
        &[],
        Some(&addon_arn),
    );
    let (_, _, described) = call(
        &base,
        Method::GET,
        &format!("{ASSOCIATIONS}/{}", foreign.id),
        None,
    )
    .await;
    assert_eq!(
        described["association"]["tags"],
        json!({"owner": "terraform"})
    );
    let (_, _, listed) = call(
        &base,
        Method::GET,
        &format!("{ASSOCIATIONS}?namespace=kube-system"),
        None,
    )
    .await;
    assert_eq!(listed["associations"][0]["ownerArn"], addon_arn.as_str());

    // 5,000 per cluster.
    for i in 0..(MAX_ASSOCIATIONS - 3) {
        w.fake.associations().plant(
            &cluster_arn,
            "bulk",
            &format!("sa-{i}"),
            &role("app"),
            &[],
            None,
        );
    }
    let (status, kind, _) = call(
        &base,
        Method::POST,
        ASSOCIATIONS,
        Some(create_body("shop", "last", &role("app"))),
    )
    .await;
    assert_eq!(
        (status, kind.as_str()),
        (400, "ResourceLimitExceededException")
    );
}
