//! The adapter against testkit's FAKE Kubernetes API server (plain HTTP on 127.0.0.1).

use irsa_core::steps::Step;
use irsa_kube::{
    KubeClient, KubeError, KubeObserveRequest, Workload, execute, observe, restart_deployment,
    restart_workload, workloads_using,
};
use serde_json::json;
use testkit::fake_kube::{DEPLOYMENTS, FakeKube, PODS, SERVICE_ACCOUNTS};

const ROLE: &str = "arn:aws:iam::111122223333:role/app";
const ROLE_ANNOTATION: &str = "eks.amazonaws.com/role-arn";

async fn start() -> (FakeKube, KubeClient) {
    let fake = FakeKube::start().await;
    let client = KubeClient::from_url(&fake.endpoint()).unwrap();
    (fake, client)
}

fn apply(
    namespace: &str,
    name: &str,
    create: bool,
    labels: &[(&str, Option<&str>)],
    annotations: &[(&str, Option<&str>)],
) -> Step {
    let pairs = |p: &[(&str, Option<&str>)]| {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
            .collect()
    };
    Step::ApplyServiceAccount {
        namespace: namespace.into(),
        name: name.into(),
        create,
        labels: pairs(labels),
        annotations: pairs(annotations),
    }
}

#[tokio::test]
async fn observe_reports_what_exists_and_skips_what_does_not() {
    let (fake, client) = start().await;
    fake.insert_service_account(
        "kube-system",
        "cluster-autoscaler",
        &[(ROLE_ANNOTATION, ROLE)],
    );
    let request = KubeObserveRequest {
        namespaces: vec!["kube-system".into(), "missing".into(), "kube-system".into()],
        service_accounts: vec![
            ("kube-system".into(), "cluster-autoscaler".into()),
            ("kube-system".into(), "absent".into()),
            ("missing".into(), "x".into()),
        ],
    };
    let (namespaces, accounts) = observe(&client, &request).await.unwrap();
    assert_eq!(namespaces, vec!["kube-system".to_string()]);
    assert_eq!(accounts.len(), 1);
    assert_eq!(
        (accounts[0].namespace.as_str(), accounts[0].name.as_str()),
        ("kube-system", "cluster-autoscaler")
    );
    assert_eq!(
        accounts[0]
            .annotations
            .get(ROLE_ANNOTATION)
            .map(String::as_str),
        Some(ROLE)
    );
    assert_eq!(fake.mutating_requests(), 0);
}

#[tokio::test]
async fn creates_a_service_account_in_a_new_namespace() {
    let (fake, client) = start().await;
    execute(
        &client,
        &Step::CreateNamespace {
            name: "storage".into(),
        },
    )
    .await
    .unwrap();
    // Again: already exists counts as done.
    execute(
        &client,
        &Step::CreateNamespace {
            name: "storage".into(),
        },
    )
    .await
    .unwrap();
    execute(
        &client,
        &apply(
            "storage",
            "efs-csi-controller-sa",
            true,
            &[
                ("app.kubernetes.io/managed-by", Some("irsa")),
                ("ignored", None),
            ],
            &[(ROLE_ANNOTATION, Some(ROLE))],
        ),
    )
    .await
    .unwrap();
    let sa = fake
        .get(&SERVICE_ACCOUNTS, Some("storage"), "efs-csi-controller-sa")
        .unwrap();
    assert_eq!(
        sa["metadata"]["labels"],
        json!({"app.kubernetes.io/managed-by": "irsa"})
    );
    assert_eq!(
        sa["metadata"]["annotations"],
        json!({ROLE_ANNOTATION: ROLE})
    );
    let (namespaces, accounts) = observe(
        &client,
        &KubeObserveRequest {
            namespaces: vec!["storage".into()],
            service_accounts: vec![("storage".into(), "efs-csi-controller-sa".into())],
        },
    )
    .await
    .unwrap();
    assert_eq!(namespaces, vec!["storage".to_string()]);
    assert_eq!(
        accounts[0]
            .labels
            .get("app.kubernetes.io/managed-by")
            .map(String::as_str),
        Some("irsa")
    );
}

#[tokio::test]
async fn merge_patch_keeps_foreign_keys_and_removes_those_given_as_none() {
    let (fake, client) = start().await;
    fake.create(
        &SERVICE_ACCOUNTS,
        Some("kube-system"),
        json!({"metadata": {"name": "ca", "labels": {"team": "infra", "irsa/old": "x"}, "annotations": {"owner": "alice", ROLE_ANNOTATION: "arn:aws:iam::111122223333:role/old"}}}),
    )
    .unwrap();
    let before = fake.resource_version();
    execute(
        &client,
        &apply(
            "kube-system",
            "ca",
            false,
            &[
                ("app.kubernetes.io/managed-by", Some("irsa")),
                ("irsa/old", None),
            ],
            &[(ROLE_ANNOTATION, Some(ROLE))],
        ),
    )
    .await
    .unwrap();
    let sa = fake
        .get(&SERVICE_ACCOUNTS, Some("kube-system"), "ca")
        .unwrap();
    assert_eq!(
        sa["metadata"]["labels"],
        json!({"team": "infra", "app.kubernetes.io/managed-by": "irsa"})
    );
    assert_eq!(
        sa["metadata"]["annotations"],
        json!({"owner": "alice", ROLE_ANNOTATION: ROLE})
    );
    assert!(fake.resource_version() > before);
    let patches: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .collect();
    assert_eq!(patches.len(), 1, "one request per step");
    // Removing the annotation.
    execute(
        &client,
        &apply("kube-system", "ca", false, &[], &[(ROLE_ANNOTATION, None)]),
    )
    .await
    .unwrap();
    let sa = fake
        .get(&SERVICE_ACCOUNTS, Some("kube-system"), "ca")
        .unwrap();
    assert_eq!(sa["metadata"]["annotations"], json!({"owner": "alice"}));
}

#[tokio::test]
async fn deleting_is_idempotent() {
    let (fake, client) = start().await;
    fake.insert_service_account("default", "app", &[]);
    let step = Step::DeleteServiceAccount {
        namespace: "default".into(),
        name: "app".into(),
    };
    execute(&client, &step).await.unwrap();
    assert!(
        fake.get(&SERVICE_ACCOUNTS, Some("default"), "app")
            .is_none()
    );
    execute(&client, &step).await.unwrap();
    // Even in a namespace that is gone.
    execute(
        &client,
        &Step::DeleteServiceAccount {
            namespace: "gone".into(),
            name: "app".into(),
        },
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn workloads_using_finds_pods_without_credentials_grouped_by_workload() {
    let (fake, client) = start().await;
    fake.insert_namespace("web");
    fake.insert_service_account("web", "app", &[]);
    // Started before the annotation: the (simulated) webhook had nothing to inject.
    fake.insert_deployment("web", "frontend", "app", 2);
    execute(
        &client,
        &apply("web", "app", false, &[], &[(ROLE_ANNOTATION, Some(ROLE))]),
    )
    .await
    .unwrap();
    // A bare pod with the injected credentials, one with a stale role, and one of another SA.
    let token = (
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
    );
    fake.insert_pod("web", "good", "app", &[("AWS_ROLE_ARN", ROLE), token]);
    fake.insert_pod(
        "web",
        "stale",
        "app",
        &[
            ("AWS_ROLE_ARN", "arn:aws:iam::111122223333:role/old"),
            token,
        ],
    );
    fake.insert_pod("web", "other", "default", &[]);
    let workloads = workloads_using(&client, "web", "app").await.unwrap();
    let deployment = Workload {
        kind: "Deployment".into(),
        namespace: "web".into(),
        name: "frontend".into(),
        pods: 2,
        pods_without_credentials: 2,
        // No pod carries EKS Pod Identity's variables: the service account has no association.
        pods_without_pod_identity: 2,
        fargate_pods: 0,
    };
    let good = Workload {
        kind: "Pod".into(),
        namespace: "web".into(),
        name: "good".into(),
        pods: 1,
        pods_without_credentials: 0,
        pods_without_pod_identity: 1,
        fargate_pods: 0,
    };
    let stale = Workload {
        kind: "Pod".into(),
        namespace: "web".into(),
        name: "stale".into(),
        pods: 1,
        pods_without_credentials: 1,
        pods_without_pod_identity: 1,
        fargate_pods: 0,
    };
    assert_eq!(workloads, vec![deployment.clone(), good.clone(), stale]);
    assert!(workloads[0].needs_restart() && !workloads[1].needs_restart());
    // The pods carry a field selector request, as kubectl's `--field-selector` does.
    assert!(
        fake.requests().iter().any(|r| r
            .uri
            .contains("fieldSelector=spec.serviceAccountName%3Dapp")),
        "{:?}",
        fake.requests()
    );

    // A ReplicaSet without the pod-template-hash convention is resolved through its owner.
    let rs = fake
        .list(&testkit::fake_kube::REPLICA_SETS, Some("web"))
        .remove(0);
    let mut pod = fake
        .list(&PODS, Some("web"))
        .into_iter()
        .find(|p| p["metadata"]["ownerReferences"].is_array())
        .unwrap();
    pod["metadata"]["name"] = json!("renamed");
    pod["metadata"]["labels"] = json!({"app": "frontend"});
    for field in ["uid", "resourceVersion", "creationTimestamp", "namespace"] {
        pod["metadata"].as_object_mut().unwrap().remove(field);
    }
    fake.create(&PODS, Some("web"), pod).unwrap();
    assert_eq!(rs["metadata"]["ownerReferences"][0]["name"], "frontend");
    let workloads = workloads_using(&client, "web", "app").await.unwrap();
    // The copy was created after the annotation: the webhook gave it credentials.
    assert_eq!(
        workloads[0],
        Workload {
            pods: 3,
            pods_without_credentials: 2,
            pods_without_pod_identity: 3,
            ..deployment
        }
    );
    assert!(
        workloads_using(&client, "web", "nobody")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn restart_sets_the_restarted_at_annotation() {
    let (fake, client) = start().await;
    fake.insert_deployment("default", "api", "app", 1);
    let old_pods: Vec<_> = fake
        .list(&PODS, Some("default"))
        .into_iter()
        .map(|p| p["metadata"]["name"].clone())
        .collect();
    restart_deployment(&client, "default", "api").await.unwrap();
    let deployment = fake.get(&DEPLOYMENTS, Some("default"), "api").unwrap();
    let at = deployment["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"].as_str().unwrap().to_string();
    assert!(
        at.ends_with('Z') && at.parse::<k8s_openapi::jiff::Timestamp>().is_ok(),
        "{at}"
    );
    assert_eq!(
        deployment["metadata"]["labels"],
        json!({"app": "api"}),
        "other fields kept"
    );
    // The fake's deployment controller rolled the pods.
    let new_pods: Vec<_> = fake
        .list(&PODS, Some("default"))
        .into_iter()
        .map(|p| p["metadata"]["name"].clone())
        .collect();
    assert_eq!(new_pods.len(), 1);
    assert_ne!(new_pods, old_pods);
    // A second restart within the same second rolls the pods again.
    restart_deployment(&client, "default", "api").await.unwrap();
    let newer_pods: Vec<_> = fake
        .list(&PODS, Some("default"))
        .into_iter()
        .map(|p| p["metadata"]["name"].clone())
        .collect();
    assert_eq!(newer_pods.len(), 1);
    assert_ne!(newer_pods, new_pods, "a second restart rolls again");
    // Through the workload, too; a bare pod has no rollout restart.
    let workloads = workloads_using(&client, "default", "app").await.unwrap();
    restart_workload(&client, &workloads[0]).await.unwrap();
    let bare = Workload {
        kind: "Pod".into(),
        namespace: "default".into(),
        name: "p".into(),
        pods: 1,
        pods_without_credentials: 1,
        ..Workload::default()
    };
    let err = restart_workload(&client, &bare).await.unwrap_err();
    assert!(
        err.to_string().contains("cannot restart Pod default/p"),
        "{err}"
    );
}

#[tokio::test]
async fn errors_name_the_object_the_operation_and_the_api_message() {
    let (fake, client) = start().await;
    let err = execute(
        &client,
        &apply("ghost", "app", true, &[], &[(ROLE_ANNOTATION, Some(ROLE))]),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "create service account ghost/app: namespaces \"ghost\" not found (404 NotFound)"
    );
    assert_eq!(err.code(), Some(404));

    let err = execute(
        &client,
        &apply(
            "default",
            "missing",
            false,
            &[],
            &[(ROLE_ANNOTATION, Some(ROLE))],
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "patch service account default/missing: serviceaccounts \"missing\" not found (404 NotFound)"
    );

    fake.insert_service_account("default", "taken", &[]);
    let err = execute(&client, &apply("default", "taken", true, &[], &[]))
        .await
        .unwrap_err();
    assert_eq!(err.reason(), Some("AlreadyExists"));
    assert!(
        err.to_string().contains("service account default/taken"),
        "{err}"
    );

    let err = restart_deployment(&client, "default", "nope")
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "restart deployment default/nope: deployments.apps \"nope\" not found (404 NotFound)"
    );

    let err = execute(
        &client,
        &Step::DeleteRole {
            role_name: "r".into(),
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, KubeError::NotAKubernetesStep(_)));
    assert_eq!(err.to_string(), "delete-role is not a Kubernetes step");

    // Nothing listening: the transport error, still naming the object.
    let endpoint = fake.endpoint();
    drop(fake);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let dead = KubeClient::from_url(&endpoint).unwrap();
    let request = KubeObserveRequest {
        namespaces: vec!["kube-system".into()],
        service_accounts: vec![],
    };
    let err = observe(&dead, &request).await.unwrap_err();
    assert!(
        err.to_string().starts_with("get namespace kube-system: "),
        "{err}"
    );
    assert_eq!(err.code(), None);
}

#[tokio::test]
async fn from_kubeconfig_reads_a_file_and_a_context() {
    let (fake, _) = start().await;
    let path = std::env::temp_dir().join(format!(
        "irsa-kube-test-{}-{}.yaml",
        std::process::id(),
        fake.addr().port()
    ));
    std::fs::write(&path, fake.kubeconfig_yaml_named("sandbox")).unwrap();
    let client = KubeClient::from_kubeconfig(Some(&path), Some("sandbox"))
        .await
        .unwrap();
    assert_eq!(client.default_namespace(), "default");
    let (namespaces, _) = observe(
        &client,
        &KubeObserveRequest {
            namespaces: vec!["default".into()],
            service_accounts: vec![],
        },
    )
    .await
    .unwrap();
    assert_eq!(namespaces, vec!["default".to_string()]);
    let err = KubeClient::from_kubeconfig(Some(&path), Some("nope"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "cannot load the Kubernetes configuration from {} (context nope): ",
            path.display()
        )),
        "{err}"
    );
    std::fs::remove_file(&path).unwrap();
}

#[tokio::test]
async fn an_https_client_builds_without_choosing_a_crypto_provider() {
    // With two rustls providers compiled in, this is where kube would panic.
    KubeClient::from_url("https://127.0.0.1:6443").unwrap();
}
