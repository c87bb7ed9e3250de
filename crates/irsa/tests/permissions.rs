//! `irsa permissions` against what irsa actually calls: every command run on the sandbox with
//! counting proxies (`testkit::counting`) before IAM, STS, EKS and EKS Auth, each action seen
//! must be in the catalog of that command (`irsa_core::permissions::needs`), and the read-only
//! commands make no change. Also the printed forms: the policy passes `irsa policy lint --kind
//! permissions` and stays under IAM's 6,144-character quota, the ClusterRole is one kubectl
//! reads.

mod common;

use std::collections::BTreeSet;
use std::process::Output;

use common::{Env, text};
use irsa_core::permissions::{self, Command};
use serde_json::Value;
use testkit::counting::{CountingProxy, Wire};

/// The four proxies, each before the sandbox's server for its service.
struct Proxies {
    proxies: Vec<(CountingProxy, &'static str)>,
    wires: Vec<Wire>,
}

impl Proxies {
    fn start(env: &Env) -> Proxies {
        let sandbox = &env.sandbox;
        let targets = [
            (Wire::IAM, sandbox.moto.endpoint(), "AWS_ENDPOINT_URL_IAM"),
            (
                Wire::STS,
                sandbox.cloudtrail.endpoint(),
                "AWS_ENDPOINT_URL_STS",
            ),
            (Wire::EKS, sandbox.eks.endpoint(), "AWS_ENDPOINT_URL_EKS"),
            (
                Wire::EKS_AUTH,
                sandbox.eks_auth.endpoint(),
                "AWS_ENDPOINT_URL_EKS_AUTH",
            ),
        ];
        let mut proxies = Vec::new();
        let mut wires = Vec::new();
        for (wire, target, var) in targets {
            proxies.push((
                CountingProxy::start_for(&target, wire).expect("proxy starts"),
                var,
            ));
            wires.push(wire);
        }
        Proxies { proxies, wires }
    }

    /// Runs irsa through the proxies; its output and every action it called (`iam:GetRole`).
    fn run(&self, env: &Env, args: &[&str]) -> (Output, BTreeSet<String>) {
        for (proxy, _) in &self.proxies {
            proxy.clear();
        }
        let endpoints: Vec<(&str, String)> = self
            .proxies
            .iter()
            .map(|(proxy, var)| (*var, proxy.endpoint()))
            .collect();
        let extra: Vec<(&str, &str)> = endpoints.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let out = env.irsa_with(args, &extra);
        let mut actions = BTreeSet::new();
        for ((proxy, _), wire) in self.proxies.iter().zip(&self.wires) {
            actions.extend(
                proxy
                    .counts()
                    .into_keys()
                    .map(|a| format!("{}:{a}", wire.prefix())),
            );
        }
        (out, actions)
    }
}

impl Proxies {
    /// The proxy of the service whose actions start with `prefix` (`iam`, `eks`).
    fn of(&self, prefix: &str) -> &CountingProxy {
        let at = self
            .wires
            .iter()
            .position(|w| w.prefix() == prefix)
            .unwrap();
        &self.proxies[at].0
    }
}

/// The catalog's actions of `command`.
fn catalog(command: Command) -> BTreeSet<String> {
    permissions::needs(command)
        .iter()
        .map(|n| n.action.to_string())
        .collect()
}

/// Runs `args` as `command` and checks every call it made is in the catalog; the calls.
fn assert_in_catalog(
    env: &Env,
    proxies: &Proxies,
    command: Command,
    args: &[&str],
    codes: &[i32],
) -> BTreeSet<String> {
    let (out, made) = proxies.run(env, args);
    assert!(
        out.status.code().is_some_and(|c| codes.contains(&c)),
        "{args:?}: {}",
        text(&out)
    );
    println!(
        "irsa {}: {}",
        args.join(" "),
        made.iter().cloned().collect::<Vec<_>>().join(" ")
    );
    let listed = catalog(command);
    let missing: Vec<&String> = made.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "irsa {args:?} called {missing:?}, which `irsa permissions {}` does not list",
        command.name()
    );
    if command.is_read_only() {
        let writes: Vec<&String> = made
            .iter()
            .filter(|a| irsa_aws::stats::is_mutating(a.split(':').nth(1).unwrap_or(a)))
            .collect();
        assert!(writes.is_empty(), "read-only {args:?} changed: {writes:?}");
    }
    made
}

#[test]
fn every_action_each_command_calls_is_in_its_catalog() {
    let env = common::start();
    let proxies = Proxies::start(&env);
    let plan = assert_in_catalog(&env, &proxies, Command::Plan, &["plan"], &[3]);
    assert!(plan.contains("eks:DescribeCluster") && plan.contains("iam:GetRole"));
    let apply = assert_in_catalog(&env, &proxies, Command::Apply, &["apply", "--yes"], &[0]);
    for write in [
        "iam:CreateOpenIDConnectProvider",
        "iam:CreateRole",
        "iam:CreatePolicy",
        "iam:AttachRolePolicy",
        "eks:CreateAddon",
    ] {
        assert!(apply.contains(write), "apply made {apply:?}");
    }
    let runs: [(Command, &[&str], &[i32]); 6] = [
        (Command::Plan, &["plan"], &[0]),
        (Command::List, &["list", "--output", "json"], &[0]),
        (
            Command::Verify,
            &["verify", "--all", "--output", "json"],
            &[0],
        ),
        (
            Command::Doctor,
            &["doctor", "--all", "--output", "json"],
            &[0, 1],
        ),
        (Command::Usage, &["usage", "--output", "json"], &[0]),
        (Command::Audit, &["audit", "--output", "json"], &[0, 1]),
    ];
    for (command, args, codes) in runs {
        let made = assert_in_catalog(&env, &proxies, command, args, codes);
        assert!(!made.is_empty(), "{args:?} made no AWS call");
    }
    assert_in_catalog(
        &env,
        &proxies,
        Command::Migrate,
        &["migrate", "--to", "pod-identity", "--all", "--plan"],
        &[0, 3],
    );
    let destroy = assert_in_catalog(
        &env,
        &proxies,
        Command::Destroy,
        &["destroy", "--yes"],
        &[0],
    );
    for write in ["iam:DeleteRole", "iam:DeletePolicy", "eks:DeleteAddon"] {
        assert!(destroy.contains(write), "destroy made {destroy:?}");
    }
}

#[test]
fn the_printed_policy_lints_clean_and_fits_one_managed_policy() {
    let env = common::start();
    let out = env.irsa(&["permissions", "--output", "policy"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("account 123456789012, the caller's (STS GetCallerIdentity)"),
        "{stderr}"
    );
    let document: Value = serde_json::from_slice(&out.stdout).expect("one policy document");
    let compact = document.to_string();
    assert!(compact.len() <= 6_144, "{} characters", compact.len());
    assert!(
        compact.contains("arn:aws:iam::123456789012:role/irsa-demo-kube-system-cluster-autoscaler")
    );
    let file = env.dir.join("policy.json");
    std::fs::write(&file, &out.stdout).unwrap();
    let lint = env.irsa(&[
        "policy",
        "lint",
        "--kind",
        "permissions",
        file.to_str().unwrap(),
    ]);
    assert_eq!(lint.status.code(), Some(0), "{}", text(&lint));
    assert!(
        String::from_utf8_lossy(&lint.stdout).contains("1 file, 0 findings"),
        "{}",
        text(&lint)
    );
}

#[test]
fn the_json_catalog_and_the_text_name_each_command() {
    let env = common::start();
    let out = env.irsa(&[
        "permissions",
        "plan",
        "destroy",
        "--account",
        "123456789012",
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let catalog: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(catalog["cluster"], "demo");
    let commands = catalog["commands"].as_array().unwrap();
    assert_eq!(commands.len(), 2);
    assert_eq!(commands[0]["read_only"], true);
    assert_eq!(commands[1]["read_only"], false);
    let delete_role = commands[1]["aws"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["action"] == "iam:DeleteRole")
        .expect("destroy deletes roles");
    assert_eq!(
        delete_role["condition"]["StringEquals"]["aws:ResourceTag/irsa.dev/cluster"],
        "demo"
    );
    let human = env.irsa(&["permissions", "verify", "--account", "123456789012"]);
    let human = String::from_utf8_lossy(&human.stdout);
    assert!(human.contains("irsa verify (read-only)"), "{human}");
    assert!(human.contains("create serviceaccounts/token"), "{human}");
    let unknown = env.irsa(&["permissions", "frobnicate"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown command `frobnicate`"));
}

#[test]
fn the_cluster_role_grants_what_the_kubernetes_steps_need() {
    let env = common::start();
    let out = env.irsa(&["permissions", "--output", "rbac"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let role: Value = serde_saphyr::from_str(&String::from_utf8_lossy(&out.stdout))
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    assert_eq!(role["apiVersion"], "rbac.authorization.k8s.io/v1");
    assert_eq!(role["kind"], "ClusterRole");
    let verbs = |resource: &str| -> Vec<String> {
        role["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resources"][0] == resource || r["nonResourceURLs"][0] == resource)
            .map(|r| serde_json::from_value(r["verbs"].clone()).unwrap())
            .unwrap_or_default()
    };
    assert_eq!(
        verbs("serviceaccounts"),
        ["create", "delete", "get", "list", "patch"]
    );
    assert_eq!(verbs("serviceaccounts/token"), ["create"]);
    assert_eq!(verbs("pods"), ["create", "delete", "get", "list"]);
    assert_eq!(verbs("/openid/v1/jwks"), ["get"]);
    assert!(verbs("deployments").contains(&"patch".to_string()));
}

/// The sandbox's caller as the proxies name it in a refusal.
const CALLER: &str = "arn:aws:iam::123456789012:user/sandbox";

#[test]
fn a_denied_write_names_the_caller_action_and_command_and_a_rerun_converges() {
    let env = common::start();
    let proxies = Proxies::start(&env);
    proxies.of("iam").deny("CreateRole");
    let (out, _) = proxies.run(&env, &["apply", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("irsa apply: the caller ({CALLER}) may not iam:CreateRole on *; irsa permissions apply prints the policy it needs")),
        "{stderr}"
    );
    proxies.of("iam").allow_all();
    let (out, _) = proxies.run(&env, &["apply", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (out, made) = proxies.run(&env, &["plan"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        made.iter()
            .all(|a| !irsa_aws::stats::is_mutating(a.split(':').nth(1).unwrap()))
    );
}

#[test]
fn a_denied_read_and_a_denied_eks_call_are_answered_the_same_way() {
    let env = common::start();
    let proxies = Proxies::start(&env);
    proxies.of("iam").deny("GetRole");
    let (out, _) = proxies.run(&env, &["plan"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("irsa plan: the caller ({CALLER}) may not iam:GetRole on *; irsa permissions plan prints the policy it needs")),
        "{stderr}"
    );
    proxies.of("iam").allow_all();
    proxies.of("eks").deny("CreateAddon");
    let (out, _) = proxies.run(&env, &["apply", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("irsa apply: the caller ({CALLER}) may not eks:CreateAddon on *; irsa permissions apply prints the policy it needs")),
        "{stderr}"
    );
}

/// Whether `made` holds a change (an action that is not a read).
fn changed(made: &BTreeSet<String>) -> Vec<&String> {
    made.iter()
        .filter(|a| irsa_aws::stats::is_mutating(a.split(':').nth(1).unwrap_or(a)))
        .collect()
}

#[test]
fn apply_finds_a_missing_permission_before_its_first_write_when_it_may_simulate() {
    let env = common::start();
    let proxies = Proxies::start(&env);
    let iam = proxies.of("iam");
    iam.answer_simulations();
    // Only the simulation refuses it: the point is that apply never gets to call it.
    iam.deny("eks:CreateAddon");
    let (out, made) = proxies.run(&env, &["apply", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("irsa apply: the caller (arn:aws:sts::123456789012:user/moto) may not eks:CreateAddon on arn:aws:eks:us-east-1:123456789012:cluster/demo"),
        "{stderr}"
    );
    assert!(
        stderr.contains("found by iam:SimulatePrincipalPolicy before any change"),
        "{stderr}"
    );
    assert!(made.contains("iam:SimulatePrincipalPolicy"), "{made:?}");
    assert!(
        changed(&made).is_empty(),
        "apply changed {:?}",
        changed(&made)
    );
    iam.allow_all();
    let (out, _) = proxies.run(&env, &["apply", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("permissions checked: the caller may make the plan's"),
        "{stderr}"
    );
}

#[test]
fn without_the_simulator_the_plan_says_permissions_were_not_checked() {
    let env = common::start();
    let proxies = Proxies::start(&env);
    // moto has no policy simulator (it answers HTTP 500).
    let (out, made) = proxies.run(&env, &["apply", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("permissions not checked: iam:SimulatePrincipalPolicy failed"),
        "{stderr}"
    );
    assert!(made.contains("iam:SimulatePrincipalPolicy"));
    // A caller who may not simulate: said so, and the run goes on to the real calls.
    proxies.of("iam").answer_simulations();
    proxies.of("iam").deny("SimulatePrincipalPolicy");
    let (out, _) = proxies.run(&env, &["destroy", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("permissions not checked: the caller (arn:aws:sts::123456789012:user/moto) may not iam:SimulatePrincipalPolicy"),
        "{stderr}"
    );
}

#[test]
fn pod_identity_bindings_call_only_catalogued_actions() {
    let env = common::start();
    let proxies = Proxies::start(&env);
    let spec = env.dir.join("irsa.yaml");
    std::fs::write(
        &spec,
        "cluster: {name: demo, region: us-east-1}\ndefaults: {identity: pod-identity}\nbindings:\n  - preset: cluster-autoscaler\n  - preset: ebs-csi\n",
    )
    .unwrap();
    let file = spec.to_str().unwrap();
    let apply = assert_in_catalog(
        &env,
        &proxies,
        Command::Apply,
        &["apply", "-f", file, "--yes"],
        &[0],
    );
    assert!(
        apply.contains("eks:CreatePodIdentityAssociation"),
        "{apply:?}"
    );
    assert_in_catalog(
        &env,
        &proxies,
        Command::Verify,
        &["verify", "--all", "--output", "json"],
        &[0],
    );
    assert_in_catalog(
        &env,
        &proxies,
        Command::List,
        &["list", "--output", "json"],
        &[0],
    );
    assert_in_catalog(
        &env,
        &proxies,
        Command::Doctor,
        &["doctor", "--all", "--output", "json"],
        &[0, 1],
    );
    let destroy = assert_in_catalog(
        &env,
        &proxies,
        Command::Destroy,
        &["destroy", "-f", file, "--yes"],
        &[0],
    );
    assert!(
        destroy.contains("eks:DeletePodIdentityAssociation"),
        "{destroy:?}"
    );
}
