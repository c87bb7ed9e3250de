//! End-to-end tests of `irsa plan`, `apply` and `destroy` against the local sandbox: moto for
//! IAM, STS and EKS clusters, the fake EKS add-on API and the fake Kubernetes API, all on
//! 127.0.0.1. Each test starts its own sandbox and runs the real binary.

use std::process::Output;

use irsa_core::steps::Step;
use serde_json::Value;

mod common;

use common::{start, text};

fn stats(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("last line is not stats JSON ({e}): {}", text(out)))
}

#[test]
fn apply_default_bundle_then_nothing_to_do() {
    let env = start();
    let plan = env.irsa(&["plan", "--cluster", "demo"]);
    assert_eq!(plan.status.code(), Some(3), "{}", text(&plan));
    assert!(
        String::from_utf8_lossy(&plan.stdout).contains("+ role"),
        "{}",
        text(&plan)
    );

    let apply = env.irsa(&["apply", "--cluster", "demo", "--yes", "--stats"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    let first = stats(&apply);
    assert!(first["mutating_calls"].as_u64().unwrap() >= 11, "{first}");
    assert!(
        first["critical_path"].as_u64().unwrap() <= 6,
        "critical path {first}"
    );

    // The service account exists, annotated with the role, labelled as irsa's.
    let sa = env
        .sandbox
        .kube
        .get(
            &testkit::fake_kube::SERVICE_ACCOUNTS,
            Some("kube-system"),
            "cluster-autoscaler",
        )
        .expect("service account created");
    assert_eq!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        "arn:aws:iam::123456789012:role/irsa-demo-kube-system-cluster-autoscaler"
    );
    assert_eq!(
        sa["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "irsa"
    );
    // The add-ons point at their roles.
    assert_eq!(
        env.sandbox
            .eks
            .addon_role_arn("demo", "aws-ebs-csi-driver")
            .as_deref(),
        Some("arn:aws:iam::123456789012:role/irsa-demo-kube-system-ebs-csi-controller-sa")
    );
    // Helm values for the autoscaler were written.
    let values = std::fs::read_to_string(
        env.dir
            .join("irsa-values/kube-system.cluster-autoscaler/helm-values.yaml"),
    )
    .unwrap();
    assert!(values.contains("clusterName: demo"), "{values}");

    // Idempotent: the second apply changes nothing and makes zero mutating calls.
    let kube_writes = env.sandbox.kube.mutating_requests();
    let again = env.irsa(&["apply", "--cluster", "demo", "--yes", "--stats"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_eq!(stats(&again)["mutating_calls"], 0, "{}", text(&again));
    assert_eq!(env.sandbox.kube.mutating_requests(), kube_writes);
    let plan = env.irsa(&["plan", "--cluster", "demo"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
}

#[test]
fn drift_is_repaired_by_the_next_apply() {
    let env = start();
    assert_eq!(
        env.irsa(&["apply", "--cluster", "demo", "--yes"])
            .status
            .code(),
        Some(0)
    );
    let role = "irsa-demo-kube-system-cluster-autoscaler";
    let issuer = env
        .sandbox
        .issuer
        .trim_start_matches("https://")
        .to_string();
    let loose_trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::123456789012:oidc-provider/{issuer}")},
        "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringEquals": {format!("{issuer}:aud"): "sts.amazonaws.com"}}}]});
    env.step(Step::UpdateTrustPolicy {
        role_name: role.into(),
        trust_policy: loose_trust,
    });
    env.step(Step::DetachRolePolicy {
        role_name: "irsa-demo-kube-system-ebs-csi-controller-sa".into(),
        policy_arn: "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy".into(),
    });
    let deleted = env.runtime.block_on(async {
        let client = irsa_kube::KubeClient::from_url(&env.sandbox.kube.endpoint()).unwrap();
        irsa_kube::execute(
            &client,
            &Step::DeleteServiceAccount {
                namespace: "kube-system".into(),
                name: "cluster-autoscaler".into(),
            },
        )
        .await
    });
    deleted.unwrap();

    let plan = env.irsa(&["plan", "--cluster", "demo"]);
    assert_eq!(plan.status.code(), Some(3), "{}", text(&plan));
    let shown = String::from_utf8_lossy(&plan.stdout);
    assert!(shown.contains("~ role"), "{shown}");
    assert!(
        shown.contains("system:serviceaccount:kube-system:cluster-autoscaler"),
        "the trust diff shows the subject: {shown}"
    );

    let repair = env.irsa(&["apply", "--cluster", "demo", "--yes"]);
    assert_eq!(repair.status.code(), Some(0), "{}", text(&repair));
    assert_eq!(
        env.irsa(&["plan", "--cluster", "demo"]).status.code(),
        Some(0)
    );
    assert!(
        env.sandbox
            .kube
            .get(
                &testkit::fake_kube::SERVICE_ACCOUNTS,
                Some("kube-system"),
                "cluster-autoscaler"
            )
            .is_some()
    );
    assert!(env.role(role).is_some());
}

#[test]
fn foreign_role_is_a_conflict_unless_adopted() {
    let env = start();
    let issuer = env
        .sandbox
        .issuer
        .trim_start_matches("https://")
        .to_string();
    env.step(Step::CreateRole {
        name: "irsa-demo-kube-system-cluster-autoscaler".into(),
        path: "/".into(),
        trust_policy: serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": format!("arn:aws:iam::123456789012:oidc-provider/{issuer}")}, "Action": "sts:AssumeRoleWithWebIdentity"}]}),
        permissions_boundary: None,
        tags: Default::default(),
    });
    let plan = env.irsa(&["plan", "--cluster", "demo"]);
    assert_eq!(plan.status.code(), Some(1), "{}", text(&plan));
    assert!(
        String::from_utf8_lossy(&plan.stdout).contains("! role"),
        "{}",
        text(&plan)
    );
    let refused = env.irsa(&["apply", "--cluster", "demo", "--yes"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--adopt"));
    let adopted = env.irsa(&["apply", "--cluster", "demo", "--yes", "--adopt"]);
    assert_eq!(adopted.status.code(), Some(0), "{}", text(&adopted));
    assert_eq!(
        env.irsa(&["plan", "--cluster", "demo"]).status.code(),
        Some(0)
    );
}

/// `irsa plan SELECTORS --output json` as ("kind name", mark) pairs.
fn marks(env: &common::Env, selectors: &[&str]) -> Vec<(String, String)> {
    let mut args = vec!["plan"];
    args.extend_from_slice(selectors);
    args.extend_from_slice(&["--output", "json"]);
    let plan: Value = serde_json::from_slice(&env.irsa(&args).stdout).unwrap();
    plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                format!(
                    "{} {}",
                    i["kind"].as_str().unwrap(),
                    i["name"].as_str().unwrap()
                ),
                i["mark"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// What `irsa plan` of the default bundle would not create again, besides the local Helm values
/// file (nothing, after a complete destroy).
fn left_in_the_cloud_and_cluster(env: &common::Env) -> Vec<(String, String)> {
    marks(env, &["--cluster", "demo"])
        .into_iter()
        .filter(|(item, mark)| !item.starts_with("helm-values") && mark != "create")
        .collect()
}

/// Starts `irsa apply` of the default bundle and kills it after `delay_ms`.
fn kill_apply_after(env: &common::Env, delay_ms: u64) {
    env.kill_after(&["apply", "--cluster", "demo", "--yes"], delay_ms);
}

#[test]
fn interrupted_apply_is_completed_and_destroy_leaves_nothing() {
    let env = start();
    // Kill an apply part-way, twice, at different points.
    for delay_ms in [150u64, 400] {
        kill_apply_after(&env, delay_ms);
    }
    let finish = env.irsa(&["apply", "--cluster", "demo", "--yes", "--stats"]);
    assert_eq!(finish.status.code(), Some(0), "{}", text(&finish));
    let plan = env.irsa(&["plan", "--cluster", "demo", "--output", "json"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    let items: Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(
        items["summary"]["unchanged"].as_u64().unwrap() as usize,
        items["items"].as_array().unwrap().len()
    );

    let destroy = env.irsa(&["destroy", "--cluster", "demo", "--yes"]);
    assert_eq!(destroy.status.code(), Some(0), "{}", text(&destroy));
    // Every cloud and cluster object would be created again; the local Helm values file stays.
    let after = marks(&env, &["--cluster", "demo"]);
    assert_eq!(left_in_the_cloud_and_cluster(&env), vec![], "{after:#?}");
    assert_eq!(
        after.iter().filter(|(_, mark)| mark == "create").count(),
        11,
        "{after:#?}"
    );
    let again = env.irsa(&["destroy", "--cluster", "demo", "--yes"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
}

#[test]
fn bad_input_is_reported_before_any_api_call() {
    let env = start();
    let spec = env.dir.join("irsa.yaml");
    std::fs::write(
        &spec,
        "cluster: {name: demo, region: us-east-1}\nbindings:\n  - preset: karpenterr\n",
    )
    .unwrap();
    let out = env.irsa(&["apply", "-f", spec.to_str().unwrap(), "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("irsa.yaml:3:13: bindings[0].preset: unknown preset `karpenterr`"),
        "{}",
        text(&out)
    );
    assert!(
        env.sandbox.kube.requests().is_empty(),
        "no Kubernetes request was made"
    );
}

#[test]
fn missing_cluster_is_a_clear_error() {
    let env = start();
    let out = env.irsa(&["plan", "--cluster", "nope"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("EKS cluster `nope` was not found"),
        "{}",
        text(&out)
    );
}

fn verdict(out: &Output) -> Value {
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(out)));
    v[0].clone()
}

fn failed_steps(v: &Value) -> Vec<String> {
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["ok"] == false)
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn verify_proves_the_default_bundle_and_explains_failures() {
    let env = start();
    // A pod started before irsa annotates its service account runs without credentials.
    env.sandbox
        .kube
        .insert_service_account("kube-system", "cluster-autoscaler", &[]);
    let foreign = env.irsa(&["apply", "--cluster", "demo", "--yes", "--adopt", "--verify"]);
    assert_eq!(foreign.status.code(), Some(0), "{}", text(&foreign));
    assert!(
        String::from_utf8_lossy(&foreign.stdout).contains("✓ kube-system/cluster-autoscaler"),
        "{}",
        text(&foreign)
    );

    let ok = env.irsa(&[
        "verify",
        "--cluster",
        "demo",
        "--namespace",
        "kube-system",
        "--service-account",
        "cluster-autoscaler",
        "--pod",
        "--output",
        "json",
    ]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    let v = verdict(&ok);
    assert_eq!(v["ok"], true);
    assert!(v["assumed_arn"].as_str().unwrap().starts_with("arn:aws:sts::123456789012:assumed-role/irsa-demo-kube-system-cluster-autoscaler/irsa-verify-"), "{v:#}");
    assert!(failed_steps(&v).is_empty(), "{v:#}");
    let combined = format!(
        "{}{}",
        String::from_utf8_lossy(&ok.stdout),
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(!combined.contains("eyJ"), "no token is printed");

    // Trust naming another namespace: same role, service account in `default`.
    let role = "arn:aws:iam::123456789012:role/irsa-demo-kube-system-cluster-autoscaler";
    env.sandbox.kube.insert_service_account(
        "default",
        "cluster-autoscaler",
        &[("eks.amazonaws.com/role-arn", role)],
    );
    let wrong_ns = env.irsa(&[
        "verify",
        "--cluster",
        "demo",
        "--namespace",
        "default",
        "--service-account",
        "cluster-autoscaler",
        "--output",
        "json",
    ]);
    assert_eq!(wrong_ns.status.code(), Some(1), "{}", text(&wrong_ns));
    let v = verdict(&wrong_ns);
    assert_eq!(failed_steps(&v), vec!["trust"], "{v:#}");
    assert!(
        v.to_string()
            .contains("the token's sub is `system:serviceaccount:default:cluster-autoscaler`"),
        "{v:#}"
    );

    // Annotation missing.
    env.sandbox
        .kube
        .insert_service_account("default", "bare", &[]);
    let bare = verdict(&env.irsa(&[
        "verify",
        "--cluster",
        "demo",
        "--namespace",
        "default",
        "--service-account",
        "bare",
        "--output",
        "json",
    ]));
    assert_eq!(failed_steps(&bare), vec!["annotation"], "{bare:#}");

    // Wrong audience.
    env.sandbox.kube.insert_service_account(
        "default",
        "vault",
        &[
            ("eks.amazonaws.com/role-arn", role),
            ("eks.amazonaws.com/audience", "vault"),
        ],
    );
    let aud = verdict(&env.irsa(&[
        "verify",
        "--cluster",
        "demo",
        "--namespace",
        "default",
        "--service-account",
        "vault",
        "--output",
        "json",
    ]));
    assert!(
        failed_steps(&aud).contains(&"audience".to_string()),
        "{aud:#}"
    );

    // OIDC provider missing.
    let issuer = env
        .sandbox
        .issuer
        .trim_start_matches("https://")
        .to_string();
    env.step(Step::DeleteOidcProvider {
        provider_arn: format!("arn:aws:iam::123456789012:oidc-provider/{issuer}"),
    });
    let no_provider = env.irsa(&["verify", "--cluster", "demo", "--all", "--output", "json"]);
    assert_eq!(no_provider.status.code(), Some(1));
    let all: Value = serde_json::from_slice(&no_provider.stdout).unwrap();
    let ca = all
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["namespace"] == "kube-system")
        .unwrap();
    assert_eq!(failed_steps(ca), vec!["oidc-provider"], "{ca:#}");

    // `irsa list` joins the annotated service accounts with IAM.
    let list = env.irsa(&["list", "--cluster", "demo", "--output", "json"]);
    assert_eq!(list.status.code(), Some(0), "{}", text(&list));
    let entries: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert!(
        entries
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["namespace"] == "kube-system" && e["role_exists"] == true),
        "{entries:#}"
    );
}

#[test]
fn verify_reports_pods_started_before_the_annotation() {
    let env = start();
    env.sandbox.kube.insert_namespace("apps");
    env.sandbox.kube.insert_service_account("apps", "web", &[]);
    env.sandbox.kube.insert_deployment("apps", "web", "web", 2);
    let spec = env.dir.join("irsa.yaml");
    std::fs::write(&spec, "cluster: {name: demo, region: us-east-1}\nbindings:\n  - serviceAccount: apps/web\n    policies: {managed: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]}\n").unwrap();
    let apply = env.irsa(&["apply", "-f", spec.to_str().unwrap(), "--yes", "--adopt"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    assert!(
        String::from_utf8_lossy(&apply.stderr).contains("deployment apps/web"),
        "{}",
        text(&apply)
    );
    let out = env.irsa(&["verify", "-f", spec.to_str().unwrap(), "--output", "json"]);
    let v = verdict(&out);
    assert_eq!(v["ok"], true, "the role is assumable: {v:#}");
    let pods = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "pods")
        .unwrap();
    assert_eq!(pods["ok"], false);
    assert!(
        pods["detail"]
            .as_str()
            .unwrap()
            .contains("restart deployment web"),
        "{pods:#}"
    );
    let restart = env.irsa(&["apply", "-f", spec.to_str().unwrap(), "--yes"]);
    assert_eq!(restart.status.code(), Some(0));
}

/// A spec of `n` bindings `bench/app-1…n`, each with one AWS managed policy.
fn write_spec(env: &common::Env, file: &str, n: usize) -> String {
    let mut spec = String::from(
        "apiVersion: irsa/v1\nkind: IrsaConfig\ncluster: {name: demo, region: us-east-1, account: \"123456789012\"}\nbindings:\n",
    );
    for i in 1..=n {
        spec.push_str(&format!(
            "  - serviceAccount: bench/app-{i}\n    policies: {{managed: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]}}\n"
        ));
    }
    let path = env.dir.join(file);
    std::fs::write(&path, spec).unwrap();
    path.display().to_string()
}

#[test]
fn destroy_removes_dropped_bindings_and_keeps_a_provider_others_trust() {
    let env = start();
    let two = write_spec(&env, "two.yaml", 2);
    let one = write_spec(&env, "one.yaml", 1);
    let applied = env.irsa(&["apply", "-f", &two, "--yes"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    // A role made by hand for another workload, trusting the same provider.
    let issuer = env
        .sandbox
        .issuer
        .trim_start_matches("https://")
        .to_string();
    let provider = format!("arn:aws:iam::123456789012:oidc-provider/{issuer}");
    env.step(Step::CreateRole {
        name: "team-app".into(),
        path: "/".into(),
        trust_policy: serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity"}]}),
        permissions_boundary: None,
        tags: Default::default(),
    });

    // The spec now names one binding; destroy removes both, since irsa made both for the cluster.
    let destroyed = env.irsa(&["destroy", "-f", &one, "--yes"]);
    assert_eq!(destroyed.status.code(), Some(0), "{}", text(&destroyed));
    let shown = String::from_utf8_lossy(&destroyed.stdout);
    assert!(
        shown.contains("still trusted by 1 role that stays (team-app)"),
        "{}",
        text(&destroyed)
    );
    let after = marks(&env, &["-f", &two]);
    for (item, mark) in &after {
        let expected = if item.starts_with("oidc-provider") || item.starts_with("namespace") {
            "unchanged"
        } else {
            "create"
        };
        assert_eq!(mark, expected, "{item} after destroy: {after:?}");
    }
    assert_eq!(
        after.iter().filter(|(_, m)| m == "create").count(),
        6,
        "{after:?}"
    );

    // Once nothing else trusts it, the provider irsa created goes too.
    env.step(Step::DeleteRole {
        role_name: "team-app".into(),
    });
    let again = env.irsa(&["destroy", "-f", &one, "--yes"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let after = marks(&env, &["-f", &two]);
    assert!(
        after.contains(&(format!("oidc-provider {provider}"), "create".to_string())),
        "the provider is not deleted: {after:?}"
    );
}

#[test]
fn destroy_right_after_an_interrupted_apply_leaves_nothing() {
    for delay_ms in [80u64, 300] {
        let env = start();
        kill_apply_after(&env, delay_ms);
        let destroy = env.irsa(&["destroy", "--cluster", "demo", "--yes"]);
        assert_eq!(
            destroy.status.code(),
            Some(0),
            "killed at {delay_ms} ms: {}",
            text(&destroy)
        );
        let left = left_in_the_cloud_and_cluster(&env);
        assert!(
            left.is_empty(),
            "killed at {delay_ms} ms, left after destroy: {left:#?}"
        );
    }
}
