//! End-to-end tests of `irsa doctor` for EKS Pod Identity against the local sandbox (moto, the
//! fake EKS with its Pod Identity associations and agent add-on, the fake cluster with its Pod
//! Identity webhook): healthy after `irsa apply` of the default bundle with
//! `defaults.identity: pod-identity`, then one link broken at a time (the agent add-on deleted,
//! an association deleted, a trust without `sts:TagSession` or for another namespace, the
//! service account annotated with an IRSA role too, pods started before the association, a pod
//! on Fargate): doctor names that link's rule first, exits 1, and `--fix --yes` repairs the safe
//! ones.

use std::process::Output;

use irsa_core::identity::pod_identity::AGENT_ADDON;
use irsa_core::identity::{Mechanism, PodIdentity, TrustTarget};
use irsa_core::steps::Step;
use serde_json::{Value, json};
use testkit::fake_kube::{PODS, SERVICE_ACCOUNTS};

mod common;

use common::{Env, start, text};

const SPEC: &str = "cluster: {name: demo, region: us-east-1}\ndefaults: {identity: pod-identity}\nbindings:\n  - preset: cluster-autoscaler\n  - preset: efs-csi\n  - preset: ebs-csi\n";
const AUTOSCALER_ROLE: &str = "irsa-demo-kube-system-cluster-autoscaler";

/// A sandbox with the default bundle applied through EKS Pod Identity, and the spec's path.
struct Applied {
    env: Env,
    spec: String,
}

impl Applied {
    fn doctor(&self, extra: &[&str]) -> Output {
        let mut args = vec!["doctor", "-f", &self.spec, "--output", "json"];
        args.extend_from_slice(extra);
        self.env.irsa(&args)
    }

    /// Doctor finds `rule` first and exits 1; returns the findings.
    fn broken(&self, rule: &str) -> Vec<Value> {
        let out = self.doctor(&[]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let found = findings(&out);
        assert_eq!(found[0]["rule"], rule, "{found:#?}");
        found
    }

    /// `--fix --yes` leaves a healthy chain; returns what it did.
    fn fixed(&self) -> Vec<Value> {
        let out = self.doctor(&["--fix", "--yes"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert!(findings(&out).is_empty(), "{}", text(&out));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        report["fixed"].as_array().unwrap().clone()
    }
}

fn findings(out: &Output) -> Vec<Value> {
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(out)));
    report["findings"].as_array().unwrap().clone()
}

/// Applies the default bundle with Pod Identity (and `flags`), after `before` seeded the
/// cluster.
fn applied_with(flags: &[&str], before: impl FnOnce(&Env)) -> Applied {
    let env = start();
    before(&env);
    let spec = env.dir.join("irsa.yaml");
    std::fs::write(&spec, SPEC).unwrap();
    let spec = spec.to_str().unwrap().to_string();
    let mut args = vec!["apply", "-f", &spec, "--yes"];
    args.extend_from_slice(flags);
    let apply = env.irsa(&args);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    Applied { env, spec }
}

fn applied() -> Applied {
    applied_with(&[], |_| {})
}

/// The trust irsa writes for the autoscaler's Pod Identity role.
fn autoscaler_trust() -> Value {
    let target = TrustTarget {
        partition: "aws",
        account: "123456789012",
        region: "us-east-1",
        cluster_name: "demo",
        issuer_url: None,
    };
    Mechanism::PodIdentity(PodIdentity::default())
        .trust_policy(&target, "kube-system", "cluster-autoscaler")
        .unwrap()
}

#[test]
fn healthy_after_a_pod_identity_apply_with_and_without_the_spec() {
    let applied = applied();
    let env = &applied.env;
    let with_spec = env.irsa(&["doctor", "-f", &applied.spec]);
    assert_eq!(with_spec.status.code(), Some(0), "{}", text(&with_spec));
    let stdout = String::from_utf8_lossy(&with_spec.stdout);
    for sa in [
        "kube-system/cluster-autoscaler (EKS Pod Identity)",
        "kube-system/ebs-csi-controller-sa (EKS Pod Identity)",
        "kube-system/efs-csi-controller-sa (EKS Pod Identity)",
    ] {
        assert!(stdout.contains(sa), "{stdout}");
    }
    // Without a spec the associations make the service accounts Pod Identity ones; no IAM OIDC
    // provider is needed (the apply made none).
    let without = env.irsa(&["doctor", "--cluster", "demo", "--output", "json"]);
    assert_eq!(without.status.code(), Some(0), "{}", text(&without));
    let report: Value = serde_json::from_slice(&without.stdout).unwrap();
    assert_eq!(report["healthy"], true);
    let checked = report["service_accounts"].to_string();
    for sa in [
        "kube-system/cluster-autoscaler",
        "kube-system/ebs-csi-controller-sa",
        "kube-system/efs-csi-controller-sa",
    ] {
        assert!(checked.contains(sa), "{checked}");
    }
}

#[test]
fn agent_addon_deleted_is_the_root_cause_and_fix_reinstalls_it() {
    let applied = applied();
    applied.env.step(Step::DeleteAddon {
        cluster: "demo".into(),
        name: AGENT_ADDON.into(),
    });
    let found = applied.broken("DOC110");
    assert_eq!(found[0]["subject"], Value::Null);
    assert_eq!(found[0]["fix"]["action"]["step"]["step"], "create-addon");
    let fixed = applied.fixed();
    assert_eq!(fixed[0], format!("install EKS add-on {AGENT_ADDON}"));
}

#[test]
fn association_deleted_is_named_and_fix_creates_it() {
    let applied = applied();
    let sandbox = &applied.env.sandbox;
    let association = sandbox
        .associations()
        .find("demo", "kube-system", "cluster-autoscaler")
        .expect("apply made the association");
    applied.env.step(Step::DeletePodIdentityAssociation {
        cluster: "demo".into(),
        association_id: association.id,
    });
    let found = applied.broken("DOC120");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["subject"], "kube-system/cluster-autoscaler");
    applied.fixed();
    let again = sandbox
        .associations()
        .find("demo", "kube-system", "cluster-autoscaler")
        .expect("fix made the association");
    assert!(again.role_arn.ends_with(AUTOSCALER_ROLE));
}

#[test]
fn trust_without_tag_session_is_named_and_fix_restores_it() {
    let applied = applied();
    let mut trust = autoscaler_trust();
    trust["Statement"][0]["Action"] = json!("sts:AssumeRole");
    applied.env.step(Step::UpdateTrustPolicy {
        role_name: AUTOSCALER_ROLE.into(),
        trust_policy: trust,
    });
    let found = applied.broken("DOC132");
    assert!(
        found[0]["message"]
            .as_str()
            .unwrap()
            .contains("sts:TagSession"),
        "{found:#?}"
    );
    applied.fixed();
}

#[test]
fn trust_for_another_namespace_names_the_session_tag() {
    let applied = applied();
    let target = TrustTarget {
        partition: "aws",
        account: "123456789012",
        region: "us-east-1",
        cluster_name: "demo",
        issuer_url: None,
    };
    let trust = Mechanism::PodIdentity(PodIdentity::default())
        .trust_policy(&target, "default", "cluster-autoscaler")
        .unwrap();
    applied.env.step(Step::UpdateTrustPolicy {
        role_name: AUTOSCALER_ROLE.into(),
        trust_policy: trust,
    });
    let found = applied.broken("DOC133");
    let message = found[0]["message"].as_str().unwrap();
    assert!(
        message.contains("aws:RequestTag/kubernetes-namespace") && message.contains("kube-system"),
        "{message}"
    );
    applied.fixed();
}

#[test]
fn service_account_annotated_with_an_irsa_role_too_says_irsa_wins_and_fix_removes_it() {
    let applied = applied();
    let annotation = json!({"metadata": {"annotations": {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/legacy-autoscaler"
    }}});
    applied.env.sandbox.kube.with_store(|store| {
        store
            .patch(
                &SERVICE_ACCOUNTS,
                Some("kube-system"),
                "cluster-autoscaler",
                &annotation,
            )
            .unwrap()
    });
    let found = applied.broken("DOC122");
    let message = found[0]["message"].as_str().unwrap();
    assert!(message.contains("its pods use IRSA"), "{message}");
    let fixed = applied.fixed();
    assert_eq!(
        fixed[0],
        "remove the role annotation of service account kube-system/cluster-autoscaler"
    );
}

#[test]
fn pods_started_before_the_association_are_restarted_by_fix() {
    // The service account exists before irsa: apply takes it over with --adopt.
    let applied = applied_with(&["--adopt"], |env| {
        env.sandbox
            .kube
            .insert_service_account("kube-system", "cluster-autoscaler", &[]);
        env.sandbox.kube.insert_deployment(
            "kube-system",
            "cluster-autoscaler",
            "cluster-autoscaler",
            2,
        );
    });
    let found = applied.broken("DOC150");
    assert_eq!(found[0]["fix"]["action"]["kind"], "restart");
    assert_eq!(
        found[0]["fix"]["command"],
        "kubectl rollout restart deployment/cluster-autoscaler -n kube-system"
    );
    applied.fixed();
    // The new pods carry the agent's variables, injected at creation.
    let pods = applied.env.sandbox.kube.list(&PODS, Some("kube-system"));
    let autoscaler: Vec<&Value> = pods
        .iter()
        .filter(|p| p["spec"]["serviceAccountName"] == "cluster-autoscaler")
        .collect();
    assert!(!autoscaler.is_empty());
    for pod in autoscaler {
        assert!(
            pod["spec"]["containers"][0]["env"]
                .to_string()
                .contains("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
            "{pod}"
        );
    }
}

#[test]
fn a_pod_on_fargate_is_named() {
    let applied = applied();
    let pod = json!({
        "metadata": {"name": "autoscaler-on-fargate", "labels": {"eks.amazonaws.com/fargate-profile": "fp-default"}},
        "spec": {
            "serviceAccountName": "cluster-autoscaler",
            "nodeName": "fargate-ip-10-0-1-23.ec2.internal",
            "containers": [{"name": "app", "image": "public.ecr.aws/docker/library/busybox:latest"}]
        }
    });
    applied
        .env
        .sandbox
        .kube
        .create(&PODS, Some("kube-system"), pod)
        .unwrap();
    let found = applied.broken("DOC151");
    assert_eq!(found[0]["subject"], "kube-system/cluster-autoscaler");
}

#[test]
fn the_rules_list_holds_the_pod_identity_rules_in_chain_order() {
    let env = start();
    let listed = env.irsa(&["doctor", "--rules", "--output", "json"]);
    assert_eq!(listed.status.code(), Some(0), "{}", text(&listed));
    let rules: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let links: Vec<(String, String)> = rules
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["id"].as_str().unwrap().starts_with("DOC1"))
        .map(|r| {
            (
                r["id"].as_str().unwrap().into(),
                r["link"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        links.first().unwrap(),
        &("DOC110".to_string(), "agent".to_string())
    );
    assert!(links.contains(&("DOC120".to_string(), "association".to_string())));
    assert!(links.contains(&("DOC151".to_string(), "pods".to_string())));
}

#[test]
fn an_association_naming_a_missing_role_is_named_without_the_spec() {
    let applied = applied();
    let sandbox = &applied.env.sandbox;
    let association = sandbox
        .associations()
        .find("demo", "kube-system", "cluster-autoscaler")
        .unwrap();
    applied.env.step(Step::DeletePodIdentityAssociation {
        cluster: "demo".into(),
        association_id: association.id,
    });
    // Someone else's association, to a role deleted since (EKS does not notice).
    sandbox.plant_association(
        "kube-system",
        "cluster-autoscaler",
        "arn:aws:iam::123456789012:role/deleted-autoscaler",
        &[],
        None,
    );
    let out = applied
        .env
        .irsa(&["doctor", "--cluster", "demo", "--output", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let found = findings(&out);
    assert_eq!(found[0]["rule"], "DOC130", "{found:#?}");
    assert_eq!(found[0]["subject"], "kube-system/cluster-autoscaler");
    // With the spec, the association naming another role than the spec's comes first.
    assert_eq!(applied.broken("DOC121")[1]["rule"], "DOC130");
}

#[test]
fn an_addon_version_without_pod_identity_is_named_with_the_minimum() {
    let applied = applied();
    let env = &applied.env;
    let conf = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(env.sandbox.eks.endpoint())
        .credentials_provider(aws_sdk_eks::config::SharedCredentialsProvider::new(
            aws_sdk_eks::config::Credentials::new("testing", "testing", None, None, "sandbox"),
        ))
        .build();
    let eks = aws_sdk_eks::Client::new(&conf);
    env.runtime.block_on(async {
        eks.update_addon()
            .cluster_name("demo")
            .addon_name("aws-ebs-csi-driver")
            .addon_version("v1.25.0-eksbuild.1")
            .send()
            .await
            .expect("update-addon");
        for _ in 0..100 {
            let addon = eks
                .describe_addon()
                .cluster_name("demo")
                .addon_name("aws-ebs-csi-driver")
                .send()
                .await
                .unwrap();
            let status = addon
                .addon()
                .and_then(|a| a.status())
                .map(|s| s.as_str().to_string());
            if status.as_deref() == Some("ACTIVE") {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the add-on did not become ACTIVE");
    });
    let found = applied.broken("DOC160");
    assert_eq!(found[0]["subject"], "kube-system/ebs-csi-controller-sa");
    assert!(
        found[0]["fix"]["command"]
            .as_str()
            .unwrap()
            .ends_with("--addon-version v1.26.0-eksbuild.1"),
        "{found:#?}"
    );
}
