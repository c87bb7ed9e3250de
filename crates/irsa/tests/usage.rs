//! End-to-end test of `irsa usage` against the local sandbox: STS and CloudTrail go through the
//! FAKE CloudTrail (which records every AssumeRoleWithWebIdentity and serves LookupEvents), with
//! STS's token checks on, so a token with the wrong audience is refused as STS refuses it. The
//! calls come from `irsa verify` (the token proof) and from the aws-cli test pod (`--pod`).
//! EKS Pod Identity's calls come from an aws-cli pod whose service account has an association:
//! the simulated agent calls the FAKE EKS Auth, which records AssumeRoleForPodIdentity and the
//! STS AssumeRole by pods.eks.amazonaws.com with the session tags in the fake CloudTrail.

use std::time::{Duration, Instant};

use irsa_core::steps::{AddonIdentity, Step};
use serde_json::{Value, json};
use testkit::fake_kube::PODS;

mod common;

use common::{start, text};

const ROLE: &str = "irsa-demo-kube-system-cluster-autoscaler";

fn service_account<'a>(role: &'a Value, subject: &str) -> &'a Value {
    role["service_accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["subject"] == subject)
        .unwrap_or_else(|| panic!("no {subject} in {role:#}"))
}

#[test]
fn usage_shows_successes_and_refusals_per_service_account() {
    let env = start();
    // Bad input is refused before any API call.
    for (args, what) in [
        (vec!["usage", "--since", "91d"], "90 days"),
        (vec!["usage", "--since", "3s"], "not a duration"),
        (vec!["usage", "--role", "bad name!"], "--role"),
    ] {
        let out = env.irsa(&args);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(what),
            "{}",
            text(&out)
        );
    }
    assert!(env.sandbox.cloudtrail.events().is_empty());

    env.sandbox.cloudtrail.check_web_identity_tokens(true);
    let apply = env.irsa(&["apply", "--cluster", "demo", "--yes"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));

    // A success: the token proof of the autoscaler's service account.
    let ok = env.irsa(&[
        "verify",
        "--cluster",
        "demo",
        "--namespace",
        "kube-system",
        "--service-account",
        "cluster-autoscaler",
    ]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));

    // A refusal: a service account using the same role with audience `vault`. irsa's own proof
    // stops at the audience check; the guide's test pod calls STS anyway and is refused.
    let role_arn = format!("arn:aws:iam::123456789012:role/{ROLE}");
    env.sandbox.kube.insert_service_account(
        "default",
        "vault",
        &[
            ("eks.amazonaws.com/role-arn", role_arn.as_str()),
            ("eks.amazonaws.com/audience", "vault"),
        ],
    );
    let refused = env.irsa(&[
        "verify",
        "--cluster",
        "demo",
        "--namespace",
        "default",
        "--service-account",
        "vault",
        "--pod",
    ]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));

    let out = env.irsa(&[
        "usage", "--role", ROLE, "--since", "90m", "--output", "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["region"], "us-east-1");
    // One walk per event name, one page each.
    assert_eq!(report["lookup_calls"], 3);
    assert_eq!(
        report["lookup_calls_by_event"],
        serde_json::json!({"AssumeRole": 1, "AssumeRoleForPodIdentity": 1, "AssumeRoleWithWebIdentity": 1})
    );
    let roles = report["roles"].as_array().unwrap();
    assert_eq!(roles.len(), 1, "{report:#}");
    let role = &roles[0];
    assert_eq!(role["role"], ROLE);
    assert_eq!(role["exists"], true);
    let autoscaler = service_account(role, "kube-system/cluster-autoscaler");
    assert_eq!(autoscaler["identity"], "irsa");
    assert_eq!(autoscaler["namespace"], "kube-system");
    assert_eq!(autoscaler["successes"], 1, "{autoscaler:#}");
    assert_eq!(autoscaler["failures"], serde_json::json!({}));
    let vault = service_account(role, "default/vault");
    assert_eq!(vault["successes"], 0, "{vault:#}");
    assert_eq!(vault["failures"]["InvalidIdentityToken"], 1, "{vault:#}");
    assert_eq!(
        vault["last_error"],
        "InvalidIdentityToken: Incorrect token audience"
    );
    assert_eq!(role["failures"]["InvalidIdentityToken"], 1);

    // The table, with every IRSA role of the bundle (the unused ones too).
    let table = env.irsa(&["usage"]);
    assert_eq!(table.status.code(), Some(0), "{}", text(&table));
    let stdout = String::from_utf8_lossy(&table.stdout);
    assert!(stdout.contains("ROLE LAST USED"), "{stdout}");
    let row = |subject: &str| {
        stdout
            .lines()
            .find(|l| l.contains(ROLE) && l.contains(subject))
            .unwrap_or_else(|| panic!("no row for {subject}:\n{stdout}"))
            .to_string()
    };
    assert!(
        row("kube-system/cluster-autoscaler").contains(" 1 "),
        "{stdout}"
    );
    assert!(
        row("default/vault").contains("1 InvalidIdentityToken"),
        "{stdout}"
    );
    assert!(
        stdout.lines().any(
            |l| l.contains("irsa-demo-kube-system-ebs-csi-controller-sa")
                && l.contains("(no calls)")
        ),
        "{stdout}"
    );
    assert!(
        !stdout.contains("eyJ") && !String::from_utf8_lossy(&out.stdout).contains("eyJ"),
        "no token is printed"
    );
    assert!(
        stdout.contains(&format!(
            "{ROLE} as default/vault: last failure InvalidIdentityToken: Incorrect token audience"
        )),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&env.dir);
}

const POD_ROLE: &str = "pi-app";

/// The role, the agent add-on (waited for ACTIVE) and the association, as a user would make them.
fn seed_pod_identity(env: &common::Env) {
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {"StringEquals": {
            "aws:RequestTag/eks-cluster-arn": env.sandbox.cluster_arn(),
            "aws:RequestTag/kubernetes-namespace": "default",
            "aws:RequestTag/kubernetes-service-account": "web"}}}]});
    env.step(Step::CreateRole {
        name: POD_ROLE.into(),
        path: "/".into(),
        trust_policy: trust,
        permissions_boundary: None,
        tags: Default::default(),
    });
    env.step(Step::CreateAddon {
        settings: Default::default(),
        cluster: "demo".into(),
        name: "eks-pod-identity-agent".into(),
        identity: AddonIdentity::None,
        tags: Default::default(),
    });
    env.step(Step::CreatePodIdentityAssociation {
        cluster: "demo".into(),
        namespace: "default".into(),
        service_account: "web".into(),
        role_arn: format!("arn:aws:iam::123456789012:role/{POD_ROLE}"),
        target_role_arn: None,
        disable_session_tags: false,
        policy: None,
        tags: Default::default(),
    });
}

/// Runs `aws sts get-caller-identity` in a pod of `service_account` and waits for it.
fn run_aws_cli_pod(env: &common::Env, name: &str, service_account: &str) -> String {
    env.sandbox
        .kube
        .create(
            &PODS,
            Some("default"),
            json!({"metadata": {"name": name}, "spec": {"serviceAccountName": service_account, "restartPolicy": "Never",
                "containers": [{"name": "aws", "image": "amazon/aws-cli", "args": ["sts", "get-caller-identity"]}]}}),
        )
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let pod = env.sandbox.kube.get(&PODS, Some("default"), name).unwrap();
        if let Some(phase @ ("Succeeded" | "Failed")) = pod["status"]["phase"].as_str() {
            return phase.to_string();
        }
        assert!(Instant::now() < deadline, "{pod}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn usage_shows_pod_identity_per_service_account_and_the_agents_refusals() {
    let env = start();
    seed_pod_identity(&env);
    for service_account in ["web", "orphan"] {
        env.sandbox
            .kube
            .insert_service_account("default", service_account, &[]);
    }
    assert_eq!(run_aws_cli_pod(&env, "web-1", "web"), "Succeeded");
    assert_eq!(run_aws_cli_pod(&env, "web-2", "web"), "Succeeded");
    // An association naming a role that is gone: EKS Auth refuses, STS is never called.
    env.sandbox.plant_association(
        "default",
        "orphan",
        "arn:aws:iam::123456789012:role/deleted-since",
        &[],
        None,
    );
    assert_eq!(run_aws_cli_pod(&env, "orphan-1", "orphan"), "Failed");

    let out = env.irsa(&["usage", "--since", "90m", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["lookup_calls_by_event"]["AssumeRole"], 1,
        "{report:#}"
    );
    assert_eq!(report["skipped_events"], 0, "{report:#}");
    let role = report["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"] == POD_ROLE)
        .unwrap_or_else(|| panic!("no {POD_ROLE} in {report:#}"));
    assert_eq!(role["identities"], json!(["pod-identity"]));
    let app = service_account(role, "default/web");
    assert_eq!(
        (&app["identity"], &app["cluster"], &app["successes"]),
        (&json!("pod-identity"), &json!("demo"), &json!(2)),
        "{app:#}"
    );
    let agent = report["pod_identity_requests"].as_array().unwrap();
    assert_eq!(agent.len(), 1, "{report:#}");
    assert_eq!(agent[0]["cluster"], "demo");
    assert_eq!(agent[0]["successes"], 2);
    assert_eq!(
        agent[0]["failures"]["AccessDeniedException"], 1,
        "{report:#}"
    );

    let table = env.irsa(&["usage", "--role", POD_ROLE]);
    let stdout = String::from_utf8_lossy(&table.stdout);
    println!("{stdout}");
    assert!(
        stdout.lines().any(|l| l.contains(POD_ROLE)
            && l.contains("pod-identity")
            && l.contains("default/web (demo)")),
        "{stdout}"
    );
    assert!(
        stdout.contains("EKS Pod Identity agent (AssumeRoleForPodIdentity) per cluster")
            && stdout.contains("cluster demo: last refusal AccessDeniedException"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&env.dir);
}
