//! End-to-end tests of irsa under `irsa-sandbox --enforce-iam`: moto and the fakes check every
//! AWS request against the IAM policy of the user irsa runs as (see `testkit::enforce`). One
//! sandbox serves each test's policies ([`testkit::sandbox::Sandbox::set_enforced_policy`]); the
//! sandbox's own key resets the state between cases.

use irsa_core::steps::{AddonIdentity, Step};
use serde_json::{Value, json};

mod common;

use common::{Env, start_enforcing, text};

const ACCOUNT: &str = "123456789012";

/// The actions and resources of one statement.
struct Grant {
    actions: &'static [&'static str],
    resources: Vec<String>,
    condition: Option<Value>,
}

fn grant(actions: &'static [&'static str], resources: &[&str]) -> Grant {
    Grant {
        actions,
        resources: resources.iter().map(|r| r.to_string()).collect(),
        condition: None,
    }
}

/// What `plan` reads for the default bundle on cluster `demo`, before and after apply, scoped
/// to irsa's names.
fn read_grants() -> Vec<Grant> {
    let cluster = format!("arn:aws:eks:us-east-1:{ACCOUNT}:cluster/demo");
    let addons = format!("arn:aws:eks:us-east-1:{ACCOUNT}:addon/demo/*");
    let roles = format!("arn:aws:iam::{ACCOUNT}:role/irsa-demo-*");
    let policies = format!("arn:aws:iam::{ACCOUNT}:policy/irsa-demo-*");
    vec![
        grant(
            &["eks:DescribeCluster", "eks:ListPodIdentityAssociations"],
            &[&cluster],
        ),
        grant(&["eks:DescribeAddon"], &[&addons]),
        grant(
            &[
                "iam:GetRole",
                "iam:ListAttachedRolePolicies",
                "iam:ListRolePolicies",
            ],
            &[&roles],
        ),
        grant(
            &[
                "iam:GetPolicy",
                "iam:GetPolicyVersion",
                "iam:ListPolicyVersions",
            ],
            &[&policies, "arn:aws:iam::aws:policy/*"],
        ),
        grant(&["iam:GetOpenIDConnectProvider"], &[&providers()]),
        grant(&["iam:ListOpenIDConnectProviders"], &["*"]),
    ]
}

/// The cluster's OIDC provider, by its issuer.
fn providers() -> String {
    format!("arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/*")
}

/// What `apply` writes for the default bundle: roles and policies by irsa's names, the cluster's
/// OIDC provider, add-ons on the cluster, PassRole to EKS only.
fn write_grants() -> Vec<Grant> {
    let cluster = format!("arn:aws:eks:us-east-1:{ACCOUNT}:cluster/demo");
    let roles = format!("arn:aws:iam::{ACCOUNT}:role/irsa-demo-*");
    let policies = format!("arn:aws:iam::{ACCOUNT}:policy/irsa-demo-*");
    let providers = providers();
    let mut pass_role = grant(&["iam:PassRole"], &[&roles]);
    pass_role.condition =
        Some(json!({"StringEquals": {"iam:PassedToService": "eks.amazonaws.com"}}));
    vec![
        grant(
            &["iam:CreateRole", "iam:TagRole", "iam:AttachRolePolicy"],
            &[&roles],
        ),
        grant(&["iam:CreatePolicy", "iam:TagPolicy"], &[&policies]),
        grant(
            &[
                "iam:CreateOpenIDConnectProvider",
                "iam:TagOpenIDConnectProvider",
            ],
            &[&providers],
        ),
        grant(&["eks:CreateAddon"], &[&cluster]),
        pass_role,
    ]
}

/// The write actions moto and the fakes enforce for apply (`iam:TagRole`, `iam:TagPolicy`,
/// `iam:TagOpenIDConnectProvider` and `iam:PassRole` are granted as AWS needs them, but neither
/// moto nor the fakes check them; see `testkit::moto`). The provider first: destroy keeps it.
const ENFORCED_WRITES: &[&str] = &[
    "iam:CreateOpenIDConnectProvider",
    "iam:CreatePolicy",
    "iam:CreateRole",
    "iam:AttachRolePolicy",
    "eks:CreateAddon",
];

/// A policy document of `grants`.
fn policy(grants: &[Grant]) -> Value {
    let statements: Vec<Value> = grants
        .iter()
        .map(|g| {
            let mut statement =
                json!({"Effect": "Allow", "Action": g.actions, "Resource": g.resources});
            if let Some(condition) = &g.condition {
                statement["Condition"] = condition.clone();
            }
            statement
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// `document` less the actions in `removed` (a statement left with none goes).
fn without(document: &Value, removed: &[&str]) -> Value {
    let mut document = document.clone();
    let statements = document["Statement"]
        .as_array_mut()
        .expect("a Statement list");
    for statement in statements.iter_mut() {
        let actions: Vec<Value> = match &statement["Action"] {
            Value::String(one) => vec![json!(one)],
            Value::Array(list) => list.clone(),
            _ => Vec::new(),
        };
        statement["Action"] = actions
            .into_iter()
            .filter(|a| !a.as_str().is_some_and(|a| removed.contains(&a)))
            .collect();
    }
    statements.retain(|s| s["Action"].as_array().is_some_and(|a| !a.is_empty()));
    document
}

fn full_apply_policy(removed: &[&str]) -> Value {
    let mut grants = read_grants();
    grants.extend(write_grants());
    without(&policy(&grants), removed)
}

fn set_policy(env: &mut Env, policy: &Value) {
    env.runtime
        .block_on(env.sandbox.set_enforced_policy(policy))
        .expect("the enforced policy is replaced");
}

/// irsa run with the sandbox's own key, never checked.
fn as_sandbox(env: &Env, args: &[&str]) -> std::process::Output {
    env.irsa_with(
        args,
        &[
            ("AWS_ACCESS_KEY_ID", testkit::enforce::SANDBOX_ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
        ],
    )
}

/// irsa's answer to a denial (issue 14): the command, the caller, the action (`action` is a
/// prefix of it) and where to find the policy.
fn assert_denied(out: &std::process::Output, command: &str, action: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let caller = format!(
        "arn:aws:iam::{ACCOUNT}:user/{}",
        testkit::sandbox::ENFORCED_USER
    );
    let said = format!("irsa {command}: the caller ({caller}) may not {action}");
    let remedy = format!("; irsa permissions {command} prints the policy it needs");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with(&said) && l.ends_with(&remedy)),
        "expected `{said}… on …{remedy}`: {}",
        text(out)
    );
}

fn apply(env: &Env) -> std::process::Output {
    env.irsa(&["apply", "--cluster", "demo", "--yes"])
}

/// Plan says nothing is left to do.
fn assert_converged(env: &Env) {
    let plan = env.irsa(&["plan", "--cluster", "demo"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
}

#[test]
fn apply_works_with_the_full_policy_and_fails_without_any_one_write_action() {
    let mut env = start_enforcing(full_apply_policy(&[]));
    for removed in ENFORCED_WRITES {
        set_policy(&mut env, &full_apply_policy(&[removed]));
        let denied = apply(&env);
        assert_eq!(
            denied.status.code(),
            Some(1),
            "without {removed}: {}",
            text(&denied)
        );
        assert_denied(&denied, "apply", removed);
        // A rerun with the full policy completes what the denied run left.
        set_policy(&mut env, &full_apply_policy(&[]));
        let rerun = apply(&env);
        assert_eq!(
            rerun.status.code(),
            Some(0),
            "after {removed}: {}",
            text(&rerun)
        );
        assert_converged(&env);
        let reset = as_sandbox(&env, &["destroy", "--cluster", "demo", "--yes"]);
        assert_eq!(reset.status.code(), Some(0), "{}", text(&reset));
    }
}

#[test]
fn plan_needs_only_the_read_actions_and_apply_stops_at_the_first_write() {
    let env = start_enforcing(policy(&read_grants()));
    let plan = env.irsa(&["plan", "--cluster", "demo"]);
    assert_eq!(
        plan.status.code(),
        Some(3),
        "changes pending: {}",
        text(&plan)
    );
    let apply = apply(&env);
    assert_eq!(apply.status.code(), Some(1), "{}", text(&apply));
    assert_denied(&apply, "apply", "iam:Create");
    // Nothing in AWS changed: every IAM item and add-on is still to create (Kubernetes, which
    // the sandbox does not restrict, may have its service account).
    let after = as_sandbox(&env, &["plan", "--cluster", "demo"]);
    assert_eq!(
        aws_creations(&after),
        aws_creations(&plan),
        "{}",
        text(&after)
    );
}

/// The plan's `+` lines for AWS items.
fn aws_creations(plan: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&plan.stdout)
        .lines()
        .filter(|l| {
            l.starts_with("  + ") && !l.contains("service-account") && !l.contains("helm-values")
        })
        .map(str::to_string)
        .collect()
}

/// A policy that grants nothing beyond what every caller may (IAM wants one statement at least).
fn nothing() -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}]})
}

/// What `irsa permissions COMMANDS… --output FORMAT` prints for the sandbox's account (run as the
/// sandbox: printing needs no permission of the user's).
fn permissions(env: &Env, commands: &[&str], format: &str) -> Value {
    let mut args = vec!["permissions"];
    args.extend(commands);
    args.extend(["--account", ACCOUNT, "--output", format]);
    let out = as_sandbox(env, &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?} printed no JSON document ({e}): {}", text(&out)))
}

/// The printed IAM policy of `commands`.
fn printed_policy(env: &Env, commands: &[&str]) -> Value {
    permissions(env, commands, "policy")
}

/// Runs irsa as the enforced user; fails the test on any refusal or an exit code not in `codes`.
fn runs_with_its_policy(env: &Env, args: &[&str], codes: &[i32]) {
    let out = env.irsa(args);
    let all = text(&out);
    assert!(
        out.status.code().is_some_and(|c| codes.contains(&c)),
        "{args:?}: {all}"
    );
    assert!(
        !all.contains(" may not ") && !all.contains("AccessDenied"),
        "{args:?} was refused with its printed policy: {all}"
    );
}

/// Each command, in an order that leaves something for the next, with its exit codes.
const COMMANDS: &[(&str, &[&str], &[i32])] = &[
    ("plan", &["plan"], &[3]),
    ("apply", &["apply", "--yes"], &[0]),
    ("plan", &["plan"], &[0]),
    ("list", &["list", "--output", "json"], &[0]),
    ("verify", &["verify", "--all", "--output", "json"], &[0]),
    ("doctor", &["doctor", "--all", "--output", "json"], &[0, 1]),
    ("usage", &["usage", "--output", "json"], &[0]),
    ("audit", &["audit", "--output", "json"], &[0, 1]),
    (
        "migrate",
        &["migrate", "--to", "pod-identity", "--all", "--plan"],
        &[0, 3],
    ),
    ("destroy", &["destroy", "--yes"], &[0]),
];

#[test]
fn every_command_works_with_exactly_its_printed_policy() {
    let mut env = start_enforcing(nothing());
    for (command, args, codes) in COMMANDS {
        let policy = printed_policy(&env, &[command]);
        set_policy(&mut env, &policy);
        runs_with_its_policy(&env, args, codes);
    }
}

#[test]
fn the_read_only_commands_work_with_the_read_only_policy_alone() {
    let mut env = start_enforcing(nothing());
    let read_only = ["plan", "list", "verify", "doctor", "audit", "usage"];
    let policy = printed_policy(&env, &read_only);
    let catalog = permissions(&env, &read_only, "json");
    for command in catalog["commands"].as_array().unwrap() {
        assert_eq!(command["read_only"], true, "{command}");
    }
    set_policy(&mut env, &policy);
    runs_with_its_policy(&env, &["plan"], &[3]);
    // Something to read: the bundle applied by the sandbox itself.
    let applied = as_sandbox(&env, &["apply", "--yes"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    let after_apply = COMMANDS
        .iter()
        .skip_while(|(command, ..)| *command != "apply");
    for (command, args, codes) in after_apply {
        if read_only.contains(command) {
            runs_with_its_policy(&env, args, codes);
        }
    }
    // The read-only policy is not enough to change anything.
    let destroy = env.irsa(&["destroy", "--yes"]);
    assert_eq!(destroy.status.code(), Some(1), "{}", text(&destroy));
}

/// The write actions of apply's printed catalog.
fn apply_writes(env: &Env) -> Vec<String> {
    let catalog = permissions(env, &["apply"], "json");
    catalog["commands"][0]["aws"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|need| need["access"] == "write")
        .filter_map(|need| need["action"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn removing_any_write_action_apply_makes_from_its_printed_policy_fails_apply() {
    let mut env = start_enforcing(nothing());
    let full = printed_policy(&env, &["apply"]);
    let writes = apply_writes(&env);
    for removed in ENFORCED_WRITES {
        assert!(
            writes.iter().any(|w| w == removed),
            "{removed} in {writes:?}"
        );
        set_policy(&mut env, &without(&full, &[removed]));
        let denied = apply(&env);
        assert_eq!(
            denied.status.code(),
            Some(1),
            "without {removed}: {}",
            text(&denied)
        );
        assert_denied(&denied, "apply", removed);
        set_policy(&mut env, &full);
        let rerun = apply(&env);
        assert_eq!(
            rerun.status.code(),
            Some(0),
            "after {removed}: {}",
            text(&rerun)
        );
        assert_converged(&env);
        let reset = as_sandbox(&env, &["destroy", "--cluster", "demo", "--yes"]);
        assert_eq!(reset.status.code(), Some(0), "{}", text(&reset));
    }
}

/// Drift that the sandbox plants after apply, and the write action of apply's printed policy
/// that repairing it needs.
fn drifts(env: &Env) -> Vec<(Step, &'static str)> {
    let issuer = env
        .sandbox
        .issuer
        .trim_start_matches("https://")
        .to_string();
    let loose_trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer}")},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {format!("{issuer}:aud"): "sts.amazonaws.com"}}}]});
    let autoscaler = "irsa-demo-kube-system-cluster-autoscaler";
    let policy_arn = format!("arn:aws:iam::{ACCOUNT}:policy/{autoscaler}-cluster-autoscaler");
    let widened = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "autoscaling:*", "Resource": "*"}]});
    vec![
        (
            Step::UpdateTrustPolicy {
                role_name: autoscaler.into(),
                trust_policy: loose_trust,
            },
            "iam:UpdateAssumeRolePolicy",
        ),
        (
            Step::CreatePolicyVersion {
                policy_arn,
                document: widened,
                prune: None,
            },
            "iam:CreatePolicyVersion",
        ),
        (
            Step::UpdateAddon {
                cluster: "demo".into(),
                name: "aws-efs-csi-driver".into(),
                identity: AddonIdentity::ServiceAccountRole {
                    role_arn: format!(
                        "arn:aws:iam::{ACCOUNT}:role/irsa-demo-kube-system-ebs-csi-controller-sa"
                    ),
                },
                settings: Default::default(),
            },
            "eks:UpdateAddon",
        ),
    ]
}

#[test]
fn removing_the_write_action_a_repair_needs_fails_apply_and_a_full_rerun_converges() {
    let mut env = start_enforcing(nothing());
    let full = printed_policy(&env, &["apply"]);
    let applied = as_sandbox(&env, &["apply", "--yes"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    for (drift, needed) in drifts(&env) {
        env.step(drift);
        set_policy(&mut env, &without(&full, &[needed]));
        let denied = apply(&env);
        assert_eq!(
            denied.status.code(),
            Some(1),
            "without {needed}: {}",
            text(&denied)
        );
        assert_denied(&denied, "apply", needed);
        set_policy(&mut env, &full);
        let rerun = apply(&env);
        assert_eq!(
            rerun.status.code(),
            Some(0),
            "after {needed}: {}",
            text(&rerun)
        );
        assert_converged(&env);
    }
}
