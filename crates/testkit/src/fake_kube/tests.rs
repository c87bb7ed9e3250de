//! Tests of the fake itself, over a real socket with a minimal HTTP/1.1 client, so that what is
//! checked is the wire format clients see.

use serde_json::{Value, json};
use std::io::{Read, Write};

use super::*;

/// One request over a fresh connection (blocking std I/O on tokio's blocking pool: the crate
/// does not enable tokio's io-util).
async fn call(
    fake: &FakeKube,
    method: &str,
    uri: &str,
    content_type: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let addr = fake.addr();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let request = format!(
        "{method} {uri} HTTP/1.1\r\nHost: fake\r\nConnection: close\r\nAccept: application/json\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
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
    (code, serde_json::from_str(body).unwrap_or(Value::Null))
}

const JSON: &str = "application/json";
const MERGE: &str = "application/merge-patch+json";

fn rv(v: &Value) -> u64 {
    v["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn starts_with_the_standard_namespaces_and_default_service_accounts() {
    let fake = FakeKube::start().await;
    let (code, list) = call(&fake, "GET", "/api/v1/namespaces", JSON, None).await;
    assert_eq!(code, 200);
    assert_eq!(list["kind"], "NamespaceList");
    assert_eq!(list["apiVersion"], "v1");
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["metadata"]["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"default") && names.contains(&"kube-system"),
        "{names:?}"
    );
    assert!(list["metadata"]["resourceVersion"].is_string());
    let (code, sa) = call(
        &fake,
        "GET",
        "/api/v1/namespaces/kube-system/serviceaccounts/default",
        JSON,
        None,
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(sa["kind"], "ServiceAccount");
}

#[tokio::test]
async fn duplicate_post_is_409_already_exists() {
    let fake = FakeKube::start().await;
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "app"}});
    let (code, created) = call(
        &fake,
        "POST",
        "/api/v1/namespaces/default/serviceaccounts",
        JSON,
        Some(sa.clone()),
    )
    .await;
    assert_eq!(code, 201);
    assert_eq!(created["metadata"]["namespace"], "default");
    assert!(created["metadata"]["uid"].as_str().unwrap().len() == 36);
    assert!(
        created["metadata"]["creationTimestamp"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    let (code, status) = call(
        &fake,
        "POST",
        "/api/v1/namespaces/default/serviceaccounts",
        JSON,
        Some(sa),
    )
    .await;
    assert_eq!(code, 409);
    assert_eq!(status["reason"], "AlreadyExists");
    assert_eq!(status["message"], "serviceaccounts \"app\" already exists");
}

#[tokio::test]
async fn not_found_is_a_status_object() {
    let fake = FakeKube::start().await;
    let (code, status) = call(
        &fake,
        "GET",
        "/api/v1/namespaces/default/serviceaccounts/nope",
        JSON,
        None,
    )
    .await;
    assert_eq!(code, 404);
    assert_eq!(
        status,
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "serviceaccounts \"nope\" not found", "reason": "NotFound",
            "details": {"name": "nope", "kind": "serviceaccounts"}, "code": 404,
        })
    );
    let (code, status) = call(
        &fake,
        "GET",
        "/apis/apps/v1/namespaces/default/deployments/web",
        JSON,
        None,
    )
    .await;
    assert_eq!(code, 404);
    assert_eq!(status["message"], "deployments.apps \"web\" not found");
    assert_eq!(status["details"]["group"], "apps");
    // Creating in a missing namespace names the namespace.
    let (code, status) = call(
        &fake,
        "POST",
        "/api/v1/namespaces/ghost/serviceaccounts",
        JSON,
        Some(json!({"metadata": {"name": "x"}})),
    )
    .await;
    assert_eq!(code, 404);
    assert_eq!(status["message"], "namespaces \"ghost\" not found");
    // Unknown paths too.
    let (code, status) = call(
        &fake,
        "GET",
        "/api/v1/namespaces/default/widgets",
        JSON,
        None,
    )
    .await;
    assert_eq!((code, status["kind"].as_str()), (404, Some("Status")));
}

#[tokio::test]
async fn resource_version_increases_on_every_write_but_not_on_no_ops() {
    let fake = FakeKube::start().await;
    let (_, a) = call(
        &fake,
        "POST",
        "/api/v1/namespaces/default/serviceaccounts",
        JSON,
        Some(json!({"metadata": {"name": "a"}})),
    )
    .await;
    let (_, b) = call(
        &fake,
        "PATCH",
        "/api/v1/namespaces/default/serviceaccounts/a",
        MERGE,
        Some(json!({"metadata": {"labels": {"x": "1"}}})),
    )
    .await;
    assert!(rv(&b) > rv(&a));
    let (_, c) = call(
        &fake,
        "PATCH",
        "/api/v1/namespaces/default/serviceaccounts/a",
        MERGE,
        Some(json!({"metadata": {"labels": {"x": "1"}}})),
    )
    .await;
    assert_eq!(
        rv(&c),
        rv(&b),
        "a patch that changes nothing keeps the resourceVersion"
    );
    let (_, d) = call(
        &fake,
        "POST",
        "/api/v1/namespaces/default/serviceaccounts",
        JSON,
        Some(json!({"metadata": {"name": "d"}})),
    )
    .await;
    assert!(rv(&d) > rv(&c));
    let (_, list) = call(&fake, "GET", "/api/v1/serviceaccounts", JSON, None).await;
    assert_eq!(
        list["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap(),
        fake.resource_version()
    );
    assert_eq!(b["metadata"]["uid"], a["metadata"]["uid"]);
}

#[tokio::test]
async fn put_checks_the_resource_version() {
    let fake = FakeKube::start().await;
    let (_, sa) = call(
        &fake,
        "POST",
        "/api/v1/namespaces/default/serviceaccounts",
        JSON,
        Some(json!({"metadata": {"name": "a"}})),
    )
    .await;
    let mut stale = sa.clone();
    stale["metadata"]["labels"] = json!({"v": "1"});
    let (code, updated) = call(
        &fake,
        "PUT",
        "/api/v1/namespaces/default/serviceaccounts/a",
        JSON,
        Some(stale.clone()),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(updated["metadata"]["labels"]["v"], "1");
    // `stale` still carries the old resourceVersion.
    let (code, status) = call(
        &fake,
        "PUT",
        "/api/v1/namespaces/default/serviceaccounts/a",
        JSON,
        Some(stale),
    )
    .await;
    assert_eq!(code, 409);
    assert_eq!(status["reason"], "Conflict");
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("the object has been modified")
    );
    // Missing object: 404.
    let (code, _) = call(
        &fake,
        "PUT",
        "/api/v1/namespaces/default/serviceaccounts/zzz",
        JSON,
        Some(json!({"metadata": {"name": "zzz"}})),
    )
    .await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn merge_patch_removes_nulls_and_keeps_the_rest() {
    let fake = FakeKube::start().await;
    fake.insert_service_account("default", "a", &[("keep", "1"), ("drop", "2")]);
    let patch = json!({"metadata": {"annotations": {"drop": null, "new": "3"}}});
    let (code, sa) = call(
        &fake,
        "PATCH",
        "/api/v1/namespaces/default/serviceaccounts/a",
        "application/strategic-merge-patch+json",
        Some(patch),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(
        sa["metadata"]["annotations"],
        json!({"keep": "1", "new": "3"})
    );
    let (code, status) = call(
        &fake,
        "PATCH",
        "/api/v1/namespaces/default/serviceaccounts/a",
        "application/json-patch+json",
        Some(json!([])),
    )
    .await;
    assert_eq!(
        (code, status["reason"].as_str()),
        (415, Some("UnsupportedMediaType"))
    );
}

#[tokio::test]
async fn deployments_get_replica_sets_and_pods_and_restart_replaces_them() {
    let fake = FakeKube::start().await;
    fake.insert_deployment("default", "web", "app-sa", 2);
    let (_, pods) = call(
        &fake,
        "GET",
        "/api/v1/namespaces/default/pods?fieldSelector=spec.serviceAccountName%3Dapp-sa",
        JSON,
        None,
    )
    .await;
    let items = pods["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[0]["metadata"]["ownerReferences"][0]["kind"],
        "ReplicaSet"
    );
    let hash = items[0]["metadata"]["labels"]["pod-template-hash"]
        .as_str()
        .unwrap()
        .to_string();
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-01T00:00:00Z"}}}}});
    let (code, deploy) = call(
        &fake,
        "PATCH",
        "/apis/apps/v1/namespaces/default/deployments/web",
        "application/strategic-merge-patch+json",
        Some(patch),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(deploy["metadata"]["generation"], 2);
    assert_eq!(deploy["status"]["updatedReplicas"], 2);
    let pods = fake.list(&PODS, Some("default"));
    assert_eq!(pods.len(), 2);
    assert!(
        pods.iter()
            .all(|p| p["metadata"]["labels"]["pod-template-hash"] != hash.as_str())
    );
    assert!(pods.iter().all(
        |p| p["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
            == "2026-11-01T00:00:00Z"
    ));
    // Label selectors, and deleting the deployment takes its ReplicaSets and pods along.
    let (_, rs) = call(
        &fake,
        "GET",
        "/apis/apps/v1/replicasets?labelSelector=app%3Dweb",
        JSON,
        None,
    )
    .await;
    assert_eq!(rs["items"].as_array().unwrap().len(), 2);
    let (code, _) = call(
        &fake,
        "DELETE",
        "/apis/apps/v1/namespaces/default/deployments/web",
        JSON,
        None,
    )
    .await;
    assert_eq!(code, 200);
    assert!(fake.list(&PODS, None).is_empty());
    assert!(fake.list(&REPLICA_SETS, None).is_empty());
}

#[tokio::test]
async fn namespaces_delete_their_contents_and_protected_ones_stay() {
    let fake = FakeKube::start().await;
    fake.insert_namespace("team");
    fake.insert_pod("team", "p", "default", &[]);
    let (code, ns) = call(&fake, "DELETE", "/api/v1/namespaces/team", JSON, None).await;
    assert_eq!(code, 200);
    assert_eq!(ns["status"]["phase"], "Terminating");
    assert!(fake.list(&PODS, Some("team")).is_empty());
    assert!(
        fake.get(&SERVICE_ACCOUNTS, Some("team"), "default")
            .is_none()
    );
    let (code, status) = call(
        &fake,
        "DELETE",
        "/api/v1/namespaces/kube-system",
        JSON,
        None,
    )
    .await;
    assert_eq!((code, status["reason"].as_str()), (403, Some("Forbidden")));
}

#[tokio::test]
async fn create_hooks_see_and_mutate_new_objects_and_requests_are_recorded() {
    let fake = FakeKube::start().await;
    fake.on_create(&PODS, |store, pod| {
        let ns = pod["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let sa = pod["spec"]["serviceAccountName"]
            .as_str()
            .unwrap_or("default")
            .to_string();
        if store.get(&SERVICE_ACCOUNTS, Some(&ns), &sa).is_ok() {
            pod["metadata"]["annotations"] = json!({"seen-by": "hook"});
        }
        Ok(())
    });
    let pod = fake.insert_pod("default", "p", "default", &[("A", "1")]);
    assert_eq!(pod["metadata"]["annotations"]["seen-by"], "hook");
    fake.clear_requests();
    call(&fake, "GET", "/api/v1/pods", JSON, None).await;
    call(
        &fake,
        "DELETE",
        "/api/v1/namespaces/default/pods/p",
        JSON,
        None,
    )
    .await;
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(fake.mutating_requests(), 1);
    assert!(fake.kubeconfig_yaml().contains(&fake.endpoint()));
}

#[tokio::test]
async fn bodies_that_are_not_json_and_verbs_not_served_are_status_errors() {
    let fake = FakeKube::start().await;
    let (code, status) = call(
        &fake,
        "POST",
        "/api/v1/namespaces/default/serviceaccounts",
        "application/vnd.kubernetes.protobuf",
        Some(json!({"metadata": {"name": "x"}})),
    )
    .await;
    assert_eq!(
        (code, status["reason"].as_str()),
        (415, Some("UnsupportedMediaType"))
    );
    // Events are read-only in the resource table: no POST route.
    let (code, status) = call(
        &fake,
        "POST",
        "/api/v1/namespaces/default/events",
        JSON,
        Some(json!({"metadata": {"name": "e"}})),
    )
    .await;
    assert_eq!(
        (code, status["reason"].as_str()),
        (405, Some("MethodNotAllowed"))
    );
    assert_eq!(status["kind"], "Status");
    let (code, discovery) = call(&fake, "GET", "/apis/apps/v1", JSON, None).await;
    assert_eq!(code, 200);
    assert_eq!(discovery["kind"], "APIResourceList");
}
