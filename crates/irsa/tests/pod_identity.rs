//! End-to-end tests of EKS Pod Identity bindings against the local sandbox (moto, the fake EKS
//! API with Pod Identity associations and add-ons, the fake EKS Auth, the fake cluster with its
//! webhook): the default bundle applied with `defaults.identity: pod-identity`, proven by
//! `irsa verify --all` through EKS Auth, idempotent, kill-safe, and destroyed without leftovers.

use std::process::Output;

use serde_json::Value;

mod common;

use common::{Env, start, text};

const SPEC: &str = "cluster: {name: demo, region: us-east-1}\ndefaults: {identity: pod-identity}\nbindings:\n  - preset: cluster-autoscaler\n  - preset: efs-csi\n  - preset: ebs-csi\n";

fn write_spec(env: &Env) -> String {
    let path = env.dir.join("pod-identity.yaml");
    std::fs::write(&path, SPEC).unwrap();
    path.display().to_string()
}

fn stats(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("last line is not stats JSON ({e}): {}", text(out)))
}

fn plan_items(env: &Env, spec: &str) -> Vec<Value> {
    let out = env.irsa(&["plan", "-f", spec, "--output", "json"]);
    let plan: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("plan JSON ({e}): {}", text(&out)));
    plan["items"].as_array().unwrap().clone()
}

/// `irsa verify` of the autoscaler's service account (plus `extra`), expecting exit `code`: its
/// verdict.
fn verify_autoscaler(env: &Env, extra: &[&str], code: i32) -> Value {
    let mut args = vec![
        "verify",
        "--namespace",
        "kube-system",
        "--service-account",
        "cluster-autoscaler",
        "--cluster",
        "demo",
        "--output",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = env.irsa(&args);
    assert_eq!(out.status.code(), Some(code), "{}", text(&out));
    let mut verdicts: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    verdicts.remove(0)
}

/// The verdict's step called `name`.
fn named_step(verdict: &Value, name: &str) -> Value {
    verdict["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no step {name}: {verdict:#}"))
}

#[test]
fn pod_identity_bundle_applies_proves_and_reapplies_with_no_change() {
    let env = start();
    let spec = write_spec(&env);
    let apply = env.irsa(&["apply", "-f", &spec, "--yes", "--stats"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    let first = stats(&apply);
    assert!(first["critical_path"].as_u64().unwrap() <= 6, "{first}");

    // Three associations: one made by irsa, two by the add-ons' podIdentityAssociations.
    let associations = env.sandbox.associations().of_cluster("demo");
    assert_eq!(associations.len(), 3, "{associations:#?}");
    let autoscaler = associations
        .iter()
        .find(|a| a.service_account == "cluster-autoscaler")
        .unwrap();
    assert_eq!(
        autoscaler.role_arn,
        "arn:aws:iam::123456789012:role/irsa-demo-kube-system-cluster-autoscaler"
    );
    assert!(autoscaler.owner_arn.is_none());
    assert_eq!(
        associations
            .iter()
            .filter(|a| a.owner_arn.is_some())
            .count(),
        2
    );
    // The service account exists without an IRSA annotation.
    let sa = env
        .sandbox
        .kube
        .get(
            &testkit::fake_kube::SERVICE_ACCOUNTS,
            Some("kube-system"),
            "cluster-autoscaler",
        )
        .expect("service account created");
    assert!(
        sa["metadata"]["annotations"]
            .get("eks.amazonaws.com/role-arn")
            .is_none(),
        "{sa}"
    );

    // Every service account is proven through EKS Auth.
    let verify = env.irsa(&["verify", "--all", "--cluster", "demo", "--output", "json"]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify));
    let verdicts: Vec<Value> = serde_json::from_slice(&verify.stdout).unwrap();
    assert_eq!(verdicts.len(), 3, "{verdicts:#?}");
    for v in &verdicts {
        assert_eq!(v["identity"], "pod-identity", "{v:#}");
        assert_eq!(named_step(v, "eks-auth")["ok"], true, "{v:#}");
        let role = v["role_arn"].as_str().unwrap().rsplit('/').next().unwrap();
        assert!(
            v["assumed_arn"]
                .as_str()
                .unwrap()
                .contains(&format!(":assumed-role/{role}/")),
            "{v:#}"
        );
    }

    // The guide's test pod gets its credentials through the agent, as the SDK does.
    let step = named_step(&verify_autoscaler(&env, &["--pod"], 0), "pod");
    assert_eq!(step["ok"], true, "{step}");
    assert!(
        step["detail"]
            .as_str()
            .unwrap()
            .contains(":assumed-role/irsa-demo-kube-system-cluster-autoscaler/"),
        "{step}"
    );

    // Idempotent: nothing to change, no mutating call.
    let again = env.irsa(&["apply", "-f", &spec, "--yes", "--stats"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_eq!(stats(&again)["mutating_calls"], 0, "{}", text(&again));
    let plan = env.irsa(&["plan", "-f", &spec]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
}

#[test]
fn a_trust_that_admits_another_service_account_fails_verify_with_the_reason() {
    let env = start();
    let spec = write_spec(&env);
    let apply = env.irsa(&["apply", "-f", &spec, "--yes"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    // Point the autoscaler's association at the EFS driver's role, whose trust names another
    // service account.
    let efs_role = "arn:aws:iam::123456789012:role/irsa-demo-kube-system-efs-csi-controller-sa";
    let associations = env.sandbox.associations();
    let autoscaler = associations
        .find("demo", "kube-system", "cluster-autoscaler")
        .unwrap();
    associations.remove("demo", &autoscaler.id);
    env.sandbox
        .plant_association("kube-system", "cluster-autoscaler", efs_role, &[], None);
    let trust = named_step(&verify_autoscaler(&env, &[], 1), "trust");
    assert_eq!(trust["ok"], false, "{trust}");
    assert!(
        trust["detail"]
            .as_str()
            .unwrap()
            .contains("kubernetes-service-account"),
        "{trust}"
    );
    // The plan names the foreign association as a conflict.
    let conflict = plan_items(&env, &spec)
        .into_iter()
        .find(|i| i["kind"] == "pod-identity-association")
        .unwrap();
    assert_eq!(conflict["mark"], "conflict", "{conflict}");
}

/// Starts `irsa apply -f spec` and kills it after `delay_ms`.
fn kill_apply_after(env: &Env, spec: &str, delay_ms: u64) {
    env.kill_after(&["apply", "-f", spec, "--yes"], delay_ms);
}

#[test]
fn interrupted_apply_is_completed_and_destroy_removes_associations_and_the_agent() {
    let env = start();
    let spec = write_spec(&env);
    for delay_ms in [120u64, 300, 600] {
        kill_apply_after(&env, &spec, delay_ms);
    }
    let finish = env.irsa(&["apply", "-f", &spec, "--yes"]);
    assert_eq!(finish.status.code(), Some(0), "{}", text(&finish));
    let items = plan_items(&env, &spec);
    assert!(items.iter().all(|i| i["mark"] == "unchanged"), "{items:#?}");
    assert_eq!(env.sandbox.associations().of_cluster("demo").len(), 3);

    let destroy = env.irsa(&["destroy", "-f", &spec, "--yes"]);
    assert_eq!(destroy.status.code(), Some(0), "{}", text(&destroy));
    assert!(env.sandbox.associations().of_cluster("demo").is_empty());
    let after = plan_items(&env, &spec);
    assert!(
        after
            .iter()
            .filter(|i| i["kind"] != "helm-values")
            .all(|i| i["mark"] == "create"),
        "{after:#?}"
    );
    let again = env.irsa(&["destroy", "-f", &spec, "--yes"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
}
