//! End-to-end tests of `irsa migrate` against the local sandbox: the default bundle applied with
//! IRSA, moved to EKS Pod Identity (the two add-ons through `podIdentityAssociations`) and proven
//! by `irsa verify --all` through EKS Auth, idempotent, safe to kill at any point (every service
//! account still gets credentials through one mechanism), and moved back with `--to irsa`.
//! The same migration through a spec: `irsa apply` of the bundle with `defaults.identity:
//! pod-identity` (and back), also killed midway. Pods on Fargate keep their service account on
//! IRSA.

use std::process::Output;

use serde_json::Value;

mod common;

use common::{Env, start, text};

const SUBJECTS: [&str; 3] = [
    "cluster-autoscaler",
    "ebs-csi-controller-sa",
    "efs-csi-controller-sa",
];

fn migrate(env: &Env, to: &str, extra: &[&str]) -> Output {
    let mut args = vec!["migrate", "--to", to, "--cluster", "demo"];
    args.extend_from_slice(extra);
    env.irsa(&args)
}

/// `irsa migrate --to pod-identity --all --yes` as JSON, which must exit 1 with the
/// cluster-autoscaler the one service account not done; its outcome.
fn the_autoscaler_alone_not_done(env: &Env) -> Value {
    let out = migrate(env, "pod-identity", &["--all", "--yes", "--output", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let outcomes: Vec<Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("migrate JSON ({e}): {}", text(&out)));
    let not_done: Vec<&Value> = outcomes.iter().filter(|o| o["done"] == false).collect();
    assert_eq!(not_done.len(), 1, "{outcomes:#?}");
    assert_eq!(not_done[0]["name"], "cluster-autoscaler");
    not_done[0].clone()
}

fn stats(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("last line is not stats JSON ({e}): {}", text(out)))
}

/// `irsa verify --all` as JSON, by service account name: (identity, ok).
fn verdicts(env: &Env) -> Vec<(String, String, bool)> {
    let out = env.irsa(&["verify", "--all", "--cluster", "demo", "--output", "json"]);
    let list: Vec<Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("verify JSON ({e}): {}", text(&out)));
    let mut all: Vec<(String, String, bool)> = list
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap().to_string(),
                v["identity"].as_str().unwrap_or("none").to_string(),
                v["ok"] == true,
            )
        })
        .collect();
    all.sort();
    all
}

fn all_proven_through(env: &Env, identity: &str) {
    let verdicts = verdicts(env);
    assert_eq!(verdicts.len(), 3, "{verdicts:?}");
    for (name, proven, ok) in &verdicts {
        assert!(
            *ok && proven == identity,
            "{name}: {proven} ok={ok}: {verdicts:?}"
        );
    }
}

/// The role's trust policy as IAM (moto) returns it.
fn trust_policy(env: &Env, role: &str) -> String {
    let conf = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(env.sandbox.moto.endpoint())
        .credentials_provider(aws_sdk_iam::config::SharedCredentialsProvider::new(
            aws_sdk_iam::config::Credentials::new("testing", "testing", None, None, "sandbox"),
        ))
        .build();
    let iam = aws_sdk_iam::Client::new(&conf);
    let out = env
        .runtime
        .block_on(iam.get_role().role_name(role).send())
        .expect("get-role");
    // URL-encoded or not, the principals' names read the same (no reserved characters).
    out.role
        .unwrap()
        .assume_role_policy_document
        .unwrap_or_default()
}

fn apply_default_bundle(env: &Env) {
    let apply = env.irsa(&["apply", "--cluster", "demo", "--yes"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    all_proven_through(env, "irsa");
}

#[test]
fn default_bundle_moves_to_pod_identity_and_back() {
    let env = start();
    apply_default_bundle(&env);

    let plan = migrate(&env, "pod-identity", &["--all", "--plan"]);
    assert_eq!(plan.status.code(), Some(3), "{}", text(&plan));
    let unattended = migrate(&env, "pod-identity", &["--all"]);
    assert_eq!(unattended.status.code(), Some(2), "{}", text(&unattended));
    assert!(
        String::from_utf8_lossy(&unattended.stderr).contains("--yes"),
        "{}",
        text(&unattended)
    );

    let out = migrate(
        &env,
        "pod-identity",
        &["--all", "--yes", "--output", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let outcomes: Vec<Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("migrate JSON ({e}): {}", text(&out)));
    let mut names: Vec<&str> = outcomes
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, SUBJECTS);
    for o in &outcomes {
        assert_eq!(
            (&o["from"], &o["to"], &o["done"]),
            (&"irsa".into(), &"pod-identity".into(), &true.into()),
            "{o:#}"
        );
        let steps: Vec<&str> = o["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        let proof = steps.iter().position(|s| *s == "proof").unwrap();
        let unlink = steps.iter().position(|s| *s == "unlink").unwrap();
        assert!(proof < unlink, "{steps:?}");
        assert!(o["role_arn"].as_str().unwrap().starts_with("arn:aws:iam::"));
    }
    // The two add-ons moved through their own podIdentityAssociations and lost their role.
    let associations = env.sandbox.associations().of_cluster("demo");
    assert_eq!(associations.len(), 3, "{associations:#?}");
    assert_eq!(
        associations
            .iter()
            .filter(|a| a.owner_arn.is_some())
            .count(),
        2,
        "{associations:#?}"
    );
    all_proven_through(&env, "pod-identity");
    // The OIDC statement stays without --remove-irsa-trust.
    let trust = trust_policy(&env, "irsa-demo-kube-system-cluster-autoscaler");
    assert!(trust.contains("oidc-provider"), "{trust}");
    assert!(trust.contains("pods.eks.amazonaws.com"), "{trust}");

    // Idempotent: nothing left, no mutating call.
    let again = migrate(&env, "pod-identity", &["--all", "--yes", "--stats"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_eq!(stats(&again)["mutating_calls"], 0, "{}", text(&again));
    let plan = migrate(&env, "pod-identity", &["--all", "--plan"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));

    // And back: the annotation first, the association removed last.
    let back = migrate(&env, "irsa", &["--all", "--yes"]);
    assert_eq!(back.status.code(), Some(0), "{}", text(&back));
    assert!(env.sandbox.associations().of_cluster("demo").is_empty());
    all_proven_through(&env, "irsa");
    let again = migrate(&env, "irsa", &["--all", "--yes", "--stats"]);
    assert_eq!(stats(&again)["mutating_calls"], 0, "{}", text(&again));
}

#[test]
fn the_command_plan_names_for_one_service_account_works() {
    let env = start();
    apply_default_bundle(&env);
    // The form `irsa plan` names for an identity change.
    let out = env.irsa(&[
        "migrate",
        "--to",
        "pod-identity",
        "--namespace",
        "kube-system",
        "--service-account",
        "cluster-autoscaler",
        "--yes",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let verdicts = verdicts(&env);
    let moved: Vec<_> = verdicts.iter().filter(|v| v.1 == "pod-identity").collect();
    assert_eq!(moved.len(), 1, "{verdicts:?}");
    assert_eq!(moved[0].0, "cluster-autoscaler");
    assert!(verdicts.iter().all(|v| v.2), "{verdicts:?}");
}

/// Starts `irsa migrate --to TO --all --yes` and kills it (SIGKILL) after `delay_ms`.
fn kill_migrate_after(env: &Env, to: &str, delay_ms: u64) {
    env.kill_after(
        &["migrate", "--to", to, "--cluster", "demo", "--all", "--yes"],
        delay_ms,
    );
}

/// Kills `kill` at each of `delays_ms`; after each kill every service account is proven
/// through one mechanism. Returns how many kills landed midway (something started, `pending`
/// still says more is left).
fn kill_at_each(
    env: &Env,
    delays_ms: &[u64],
    kill: impl Fn(u64),
    pending: impl Fn() -> bool,
) -> usize {
    let mut midway = 0;
    for &delay_ms in delays_ms {
        kill(delay_ms);
        let started = !env.sandbox.associations().of_cluster("demo").is_empty();
        midway += usize::from(started && pending());
        let verdicts = verdicts(env);
        assert_eq!(verdicts.len(), 3, "after {delay_ms} ms: {verdicts:?}");
        assert!(
            verdicts.iter().all(|v| v.2),
            "after a kill at {delay_ms} ms, some service account has no credentials: {verdicts:?}"
        );
    }
    midway
}

#[test]
fn killed_migrations_never_leave_a_service_account_without_credentials() {
    let env = start();
    apply_default_bundle(&env);
    let midway = kill_at_each(
        &env,
        &[150, 400, 800, 1500],
        |delay_ms| kill_migrate_after(&env, "pod-identity", delay_ms),
        || {
            migrate(&env, "pod-identity", &["--all", "--plan"])
                .status
                .code()
                == Some(3)
        },
    );
    assert!(midway > 0, "no kill landed in the middle of the migration");
    let finish = migrate(&env, "pod-identity", &["--all", "--yes"]);
    assert_eq!(finish.status.code(), Some(0), "{}", text(&finish));
    all_proven_through(&env, "pod-identity");

    for delay_ms in [150u64, 600] {
        kill_migrate_after(&env, "irsa", delay_ms);
        let verdicts = verdicts(&env);
        assert!(verdicts.iter().all(|v| v.2), "{delay_ms} ms: {verdicts:?}");
    }
    let finish = migrate(&env, "irsa", &["--all", "--yes"]);
    assert_eq!(finish.status.code(), Some(0), "{}", text(&finish));
    all_proven_through(&env, "irsa");
}

/// IAM's URL-encoded documents, decoded (moto may answer either way).
fn decoded(text: &str) -> Value {
    if let Ok(value) = serde_json::from_str(text) {
        return value;
    }
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
            i += 1;
        }
    }
    serde_json::from_slice(&out).unwrap()
}

/// The autoscaler's role denies Pod Identity explicitly: its proof cannot pass.
fn deny_pod_identity_to_the_autoscaler(env: &Env) {
    let role = "irsa-demo-kube-system-cluster-autoscaler";
    let mut trust = decoded(&trust_policy(env, role));
    trust["Statement"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "Effect": "Deny",
            "Principal": { "Service": "pods.eks.amazonaws.com" },
            "Action": ["sts:AssumeRole", "sts:TagSession"]
        }));
    env.step(irsa_core::steps::Step::UpdateTrustPolicy {
        role_name: role.into(),
        trust_policy: trust,
    });
}

/// Every service account is proven; the autoscaler on IRSA, the others on Pod Identity.
fn only_the_autoscaler_on_irsa(env: &Env) {
    let verdicts = verdicts(env);
    assert!(verdicts.iter().all(|v| v.2), "{verdicts:?}");
    for (name, identity, _) in &verdicts {
        let wanted = if name == "cluster-autoscaler" {
            "irsa"
        } else {
            "pod-identity"
        };
        assert_eq!(identity, wanted, "{verdicts:?}");
    }
}

#[test]
fn a_failed_proof_stops_that_service_account_on_irsa_and_the_others_go_on() {
    let env = start();
    apply_default_bundle(&env);
    deny_pod_identity_to_the_autoscaler(&env);
    let stopped = the_autoscaler_alone_not_done(&env);
    let last = stopped["steps"].as_array().unwrap().last().unwrap();
    assert_eq!(
        (&last["name"], &last["ok"]),
        (&"proof".into(), &false.into()),
        "{last:#}"
    );
    assert!(
        last["detail"].as_str().unwrap().contains("irsa doctor"),
        "{last:#}"
    );
    // It keeps working on IRSA; the others moved.
    only_the_autoscaler_on_irsa(&env);
}

#[test]
fn a_failed_proof_in_apply_stops_that_binding_on_irsa_and_the_others_go_on() {
    let env = start();
    apply_default_bundle(&env);
    deny_pod_identity_to_the_autoscaler(&env);
    let spec = pod_identity_spec(&env);
    let out = env.irsa(&["apply", "-f", &spec, "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("proof failed") && stdout.contains("irsa doctor"),
        "{}",
        text(&out)
    );
    only_the_autoscaler_on_irsa(&env);
    // The OIDC statement of the stopped binding's role stays: it still needs it.
    let trust = trust_policy(&env, "irsa-demo-kube-system-cluster-autoscaler");
    assert!(trust.contains("oidc-provider"), "{trust}");
}

#[test]
fn remove_irsa_trust_drops_the_oidc_statement_and_keeps_the_provider() {
    let env = start();
    apply_default_bundle(&env);
    let out = migrate(
        &env,
        "pod-identity",
        &["--all", "--yes", "--remove-irsa-trust"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let trust = trust_policy(&env, "irsa-demo-kube-system-cluster-autoscaler");
    assert!(!trust.contains("oidc-provider"), "{trust}");
    assert!(trust.contains("pods.eks.amazonaws.com"), "{trust}");
    all_proven_through(&env, "pod-identity");
    // The OIDC provider stays: a plan of the IRSA bundle does not want to create it again.
    let plan = env.irsa(&["plan", "--cluster", "demo", "--output", "json"]);
    let items: Value = serde_json::from_slice(&plan.stdout).unwrap();
    let provider = items["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "oidc-provider")
        .cloned()
        .unwrap();
    assert_ne!(provider["mark"], "create", "{provider:#}");
}

#[test]
fn remove_pod_identity_trust_drops_the_statement_after_the_association() {
    let env = start();
    apply_default_bundle(&env);
    let out = migrate(&env, "pod-identity", &["--all", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let back = migrate(
        &env,
        "irsa",
        &[
            "--all",
            "--yes",
            "--remove-pod-identity-trust",
            "--output",
            "json",
        ],
    );
    assert_eq!(back.status.code(), Some(0), "{}", text(&back));
    let outcomes: Vec<Value> = serde_json::from_slice(&back.stdout)
        .unwrap_or_else(|e| panic!("migrate JSON ({e}): {}", text(&back)));
    for o in &outcomes {
        let steps: Vec<&str> = o["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            &steps[steps.len() - 2..],
            ["unlink", "remove-pod-identity-trust"],
            "{o:#}"
        );
    }
    let trust = trust_policy(&env, "irsa-demo-kube-system-cluster-autoscaler");
    assert!(!trust.contains("pods.eks.amazonaws.com"), "{trust}");
    assert!(trust.contains("oidc-provider"), "{trust}");
    assert!(env.sandbox.associations().of_cluster("demo").is_empty());
    all_proven_through(&env, "irsa");
    let help = env.irsa(&["migrate", "--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--remove-pod-identity-trust") && help.contains("--remove-irsa-trust"));
}

/// The default bundle with every binding on EKS Pod Identity, as a spec file.
const POD_IDENTITY_SPEC: &str = "cluster: {name: demo, region: us-east-1}
defaults: {identity: pod-identity}
bindings:
  - preset: cluster-autoscaler
  - preset: ebs-csi
  - preset: efs-csi
";

fn pod_identity_spec(env: &Env) -> String {
    let path = env.dir.join("irsa-pod-identity.yaml");
    std::fs::write(&path, POD_IDENTITY_SPEC).unwrap();
    path.display().to_string()
}

#[test]
fn apply_of_an_identity_change_migrates_with_the_proofs_and_back() {
    let env = start();
    apply_default_bundle(&env);
    let spec = pod_identity_spec(&env);

    // plan shows the migrations instead of a conflict, and when the OIDC statement goes.
    let plan = env.irsa(&["plan", "-f", &spec, "--output", "json"]);
    assert_eq!(plan.status.code(), Some(3), "{}", text(&plan));
    let planned: Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(planned["summary"]["conflict"], 0, "{planned:#}");
    let migrations = planned["migrations"].as_array().unwrap();
    assert_eq!(migrations.len(), 3, "{planned:#}");
    let steps: Vec<&str> = migrations[0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(steps.last(), Some(&"remove-irsa-trust"), "{steps:?}");
    let shown = env.irsa(&["plan", "-f", &spec]);
    assert!(
        String::from_utf8_lossy(&shown.stdout).contains("OIDC (IRSA) statement leaves the trust"),
        "{}",
        text(&shown)
    );

    let apply = env.irsa(&["apply", "-f", &spec, "--yes"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    all_proven_through(&env, "pod-identity");
    // irsa's roles end with the spec's trust: Pod Identity only.
    let trust = trust_policy(&env, "irsa-demo-kube-system-cluster-autoscaler");
    assert!(!trust.contains("oidc-provider"), "{trust}");
    assert!(trust.contains("pods.eks.amazonaws.com"), "{trust}");
    let again = env.irsa(&["apply", "-f", &spec, "--yes", "--stats"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_eq!(stats(&again)["mutating_calls"], 0, "{}", text(&again));

    // Back to the IRSA bundle: the association last, then the Pod Identity statement.
    let back = env.irsa(&["apply", "--cluster", "demo", "--yes"]);
    assert_eq!(back.status.code(), Some(0), "{}", text(&back));
    assert!(env.sandbox.associations().of_cluster("demo").is_empty());
    all_proven_through(&env, "irsa");
    let trust = trust_policy(&env, "irsa-demo-kube-system-cluster-autoscaler");
    assert!(!trust.contains("pods.eks.amazonaws.com"), "{trust}");
    let again = env.irsa(&["apply", "--cluster", "demo", "--yes", "--stats"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_eq!(stats(&again)["mutating_calls"], 0, "{}", text(&again));
}

#[test]
fn killed_applies_of_an_identity_change_never_leave_a_service_account_without_credentials() {
    let env = start();
    apply_default_bundle(&env);
    let spec = pod_identity_spec(&env);
    let midway = kill_at_each(
        &env,
        &[300, 700, 1200, 2000],
        |delay_ms| env.kill_after(&["apply", "-f", &spec, "--yes"], delay_ms),
        || env.irsa(&["plan", "-f", &spec]).status.code() == Some(3),
    );
    assert!(midway > 0, "no kill landed in the middle of the migration");
    let finish = env.irsa(&["apply", "-f", &spec, "--yes"]);
    assert_eq!(finish.status.code(), Some(0), "{}", text(&finish));
    all_proven_through(&env, "pod-identity");
    let again = env.irsa(&["apply", "-f", &spec, "--yes", "--stats"]);
    assert_eq!(stats(&again)["mutating_calls"], 0, "{}", text(&again));
}

/// A pod of the autoscaler on Fargate (as EKS labels and places one).
fn autoscaler_pod_on_fargate(env: &Env) {
    let pod = serde_json::json!({
        "metadata": {"name": "autoscaler-on-fargate", "labels": {"eks.amazonaws.com/fargate-profile": "fp-default"}},
        "spec": {
            "serviceAccountName": "cluster-autoscaler",
            "nodeName": "fargate-ip-10-0-1-23.ec2.internal",
            "containers": [{"name": "app", "image": "public.ecr.aws/docker/library/busybox:latest"}]
        }
    });
    env.sandbox
        .kube
        .create(&testkit::fake_kube::PODS, Some("kube-system"), pod)
        .unwrap();
}

/// EKS Pod Identity runs on Linux Amazon EC2 nodes only, not on Fargate (EKS user guide,
/// https://docs.aws.amazon.com/eks/latest/userguide/pod-identities.html, "EKS Pod Identity
/// restrictions").
#[test]
fn pods_on_fargate_keep_their_service_account_on_irsa_and_the_others_move() {
    let env = start();
    apply_default_bundle(&env);
    autoscaler_pod_on_fargate(&env);
    let spec = pod_identity_spec(&env);
    let apply = env.irsa(&["apply", "-f", &spec, "--yes"]);
    assert_eq!(apply.status.code(), Some(1), "{}", text(&apply));
    assert!(
        String::from_utf8_lossy(&apply.stdout).contains("run on Fargate"),
        "{}",
        text(&apply)
    );
    only_the_autoscaler_on_irsa(&env);

    // migrate refuses it the same way.
    let refused = the_autoscaler_alone_not_done(&env);
    assert!(
        refused["steps"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("Fargate"),
        "{refused:#}"
    );
}
