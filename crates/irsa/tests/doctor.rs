//! End-to-end tests of `irsa doctor` against the local sandbox: healthy after `irsa apply`, then
//! one link broken at a time (the provider deleted, a trust policy for another namespace, pods
//! started before the annotation, a policy detached, an add-on pointed at another role): doctor
//! names that link first, exits 1, and `--fix --yes` repairs what it can.

use std::process::Output;

use irsa_core::steps::Step;
use serde_json::Value;

mod common;

use common::{Env, start, text};

const PROVIDER_PREFIX: &str = "arn:aws:iam::123456789012:oidc-provider/";

fn findings(out: &Output) -> Vec<Value> {
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(out)));
    report["findings"].as_array().unwrap().clone()
}

fn rules(out: &Output) -> Vec<String> {
    findings(out)
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

fn applied() -> Env {
    let env = start();
    let apply = env.irsa(&["apply", "--cluster", "demo", "--yes"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    env
}

fn doctor(env: &Env, extra: &[&str]) -> Output {
    let mut args = vec!["doctor", "--cluster", "demo", "--output", "json"];
    args.extend_from_slice(extra);
    env.irsa(&args)
}

#[test]
fn healthy_after_apply_and_a_missing_provider_is_the_root_cause_fixed_by_fix() {
    let env = applied();
    let healthy = env.irsa(&["doctor", "--cluster", "demo"]);
    assert_eq!(healthy.status.code(), Some(0), "{}", text(&healthy));
    let stdout = String::from_utf8_lossy(&healthy.stdout);
    for sa in [
        "kube-system/cluster-autoscaler",
        "kube-system/ebs-csi-controller-sa",
        "kube-system/efs-csi-controller-sa",
    ] {
        assert!(stdout.contains(sa), "{stdout}");
    }

    let provider = format!(
        "{PROVIDER_PREFIX}{}",
        env.sandbox.issuer.trim_start_matches("https://")
    );
    env.step(Step::DeleteOidcProvider {
        provider_arn: provider.clone(),
    });
    let broken = doctor(&env, &[]);
    assert_eq!(broken.status.code(), Some(1), "{}", text(&broken));
    let found = findings(&broken);
    assert_eq!(found[0]["rule"], "DOC010", "{found:#?}");
    assert_eq!(
        found[0]["fix"]["action"]["step"]["step"],
        "create-oidc-provider"
    );

    let fixed = doctor(&env, &["--fix", "--yes"]);
    assert_eq!(fixed.status.code(), Some(0), "{}", text(&fixed));
    assert!(findings(&fixed).is_empty(), "{}", text(&fixed));
    let report: Value = serde_json::from_slice(&fixed.stdout).unwrap();
    assert_eq!(
        report["fixed"][0].as_str().unwrap(),
        format!("create the IAM OIDC provider for {}", env.sandbox.issuer)
    );
}

#[test]
fn trust_for_another_namespace_is_named_with_both_subjects_and_fixed() {
    let env = applied();
    let role = "irsa-demo-kube-system-cluster-autoscaler";
    let issuer = env
        .sandbox
        .issuer
        .trim_start_matches("https://")
        .to_string();
    let trust = irsa_core::desired::trust_policy(
        "aws",
        "123456789012",
        &env.sandbox.issuer,
        "default",
        "cluster-autoscaler",
        "sts.amazonaws.com",
    )
    .unwrap();
    env.step(Step::UpdateTrustPolicy {
        role_name: role.into(),
        trust_policy: trust,
    });
    let broken = doctor(
        &env,
        &[
            "--namespace",
            "kube-system",
            "--service-account",
            "cluster-autoscaler",
        ],
    );
    assert_eq!(broken.status.code(), Some(1), "{}", text(&broken));
    let found = findings(&broken);
    assert_eq!(rules(&broken), ["DOC033"], "{found:#?}");
    let message = found[0]["message"].as_str().unwrap();
    assert!(
        message.contains("system:serviceaccount:default:cluster-autoscaler"),
        "{message}"
    );
    assert!(
        message.contains("system:serviceaccount:kube-system:cluster-autoscaler"),
        "{message}"
    );
    assert!(
        found[0]["evidence"]
            .to_string()
            .contains(&format!("{issuer}:sub"))
    );

    let fixed = doctor(
        &env,
        &[
            "--namespace",
            "kube-system",
            "--service-account",
            "cluster-autoscaler",
            "--fix",
            "--yes",
        ],
    );
    assert_eq!(fixed.status.code(), Some(0), "{}", text(&fixed));
    let verify = env.irsa(&[
        "verify",
        "--cluster",
        "demo",
        "--namespace",
        "kube-system",
        "--service-account",
        "cluster-autoscaler",
    ]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify));
}

#[test]
fn pods_started_before_the_annotation_are_restarted_by_fix() {
    let env = start();
    env.sandbox.kube.insert_namespace("apps");
    env.sandbox.kube.insert_service_account("apps", "web", &[]);
    env.sandbox.kube.insert_deployment("apps", "web", "web", 2);
    let spec = env.dir.join("irsa.yaml");
    std::fs::write(&spec, "cluster: {name: demo, region: us-east-1}\nbindings:\n  - serviceAccount: apps/web\n    policies: {managed: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]}\n").unwrap();
    let spec = spec.to_str().unwrap();
    let apply = env.irsa(&["apply", "-f", spec, "--yes", "--adopt"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));

    let stale = env.irsa(&["doctor", "-f", spec, "--output", "json"]);
    assert_eq!(stale.status.code(), Some(1), "{}", text(&stale));
    let found = findings(&stale);
    assert_eq!(rules(&stale), ["DOC050"], "{found:#?}");
    assert_eq!(found[0]["subject"], "apps/web");
    assert_eq!(found[0]["fix"]["action"]["kind"], "restart");
    assert_eq!(
        found[0]["fix"]["command"],
        "kubectl rollout restart deployment/web -n apps"
    );

    let fixed = env.irsa(&["doctor", "-f", spec, "--fix", "--yes", "--output", "json"]);
    assert_eq!(fixed.status.code(), Some(0), "{}", text(&fixed));
}

#[test]
fn detached_policy_and_addon_on_another_role() {
    let env = applied();
    let role = "irsa-demo-kube-system-cluster-autoscaler";
    let policy = format!("arn:aws:iam::123456789012:policy/{role}-cluster-autoscaler");
    env.step(Step::DetachRolePolicy {
        role_name: role.into(),
        policy_arn: policy,
    });
    env.step(Step::UpdateAddon {
        settings: Default::default(),
        cluster: "demo".into(),
        name: "aws-efs-csi-driver".into(),
        identity: irsa_core::steps::AddonIdentity::ServiceAccountRole {
            role_arn: "arn:aws:iam::123456789012:role/irsa-demo-kube-system-ebs-csi-controller-sa"
                .into(),
        },
    });
    let out = doctor(&env, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let found = findings(&out);
    let by_subject = |sa: &str| -> Vec<String> {
        found
            .iter()
            .filter(|f| f["subject"] == sa)
            .map(|f| f["rule"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        by_subject("kube-system/cluster-autoscaler"),
        ["DOC040"],
        "{found:#?}"
    );
    // EKS re-annotates the add-on's service account with the new role: the annotation and the
    // add-on agree, but the role trusts the EBS driver's service account, not EFS's.
    assert_eq!(
        by_subject("kube-system/efs-csi-controller-sa")[0],
        "DOC033",
        "{found:#?}"
    );
}

#[test]
fn rules_list_and_bad_input_before_any_call() {
    let env = start();
    let listed = env.irsa(&["doctor", "--rules", "--output", "json"]);
    assert_eq!(listed.status.code(), Some(0));
    let rules: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let ids: Vec<&str> = rules
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"DOC010") && ids.contains(&"DOC063"),
        "{ids:?}"
    );

    env.sandbox.kube.clear_requests();
    let bad = env.irsa(&[
        "doctor",
        "--cluster",
        "demo",
        "--namespace",
        "Not_Valid",
        "--service-account",
        "x",
    ]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--namespace"));
    assert!(env.sandbox.kube.requests().is_empty());
}
