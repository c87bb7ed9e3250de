//! End-to-end tests of irsa under `irsa-sandbox --enforce-iam`: moto and the fakes check every
//! AWS request against the IAM policy of the user irsa runs as (see `testkit::enforce`). One
//! sandbox serves each test's policies ([`testkit::sandbox::Sandbox::set_enforced_policy`]); the
//! sandbox's own key resets the state between cases.

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

/// A policy document of `grants` less the actions in `removed`.
fn policy(grants: &[Grant], removed: &[&str]) -> Value {
    let statements: Vec<Value> = grants
        .iter()
        .filter_map(|g| {
            let actions: Vec<&str> = g
                .actions
                .iter()
                .copied()
                .filter(|a| !removed.contains(a))
                .collect();
            if actions.is_empty() {
                return None;
            }
            let mut statement =
                json!({"Effect": "Allow", "Action": actions, "Resource": g.resources});
            if let Some(condition) = &g.condition {
                statement["Condition"] = condition.clone();
            }
            Some(statement)
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements})
}

fn full_apply_policy(removed: &[&str]) -> Value {
    let mut grants = read_grants();
    grants.extend(write_grants());
    policy(&grants, removed)
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
        let stderr = String::from_utf8_lossy(&denied.stderr);
        assert!(
            stderr.contains(removed) && stderr.contains("not authorized"),
            "the denial names {removed}: {}",
            text(&denied)
        );
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
    let env = start_enforcing(policy(&read_grants(), &[]));
    let plan = env.irsa(&["plan", "--cluster", "demo"]);
    assert_eq!(
        plan.status.code(),
        Some(3),
        "changes pending: {}",
        text(&plan)
    );
    let apply = apply(&env);
    assert_eq!(apply.status.code(), Some(1), "{}", text(&apply));
    assert!(
        String::from_utf8_lossy(&apply.stderr).contains("not authorized"),
        "{}",
        text(&apply)
    );
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
