//! End-to-end test of `irsa usage` against the local sandbox: STS and CloudTrail go through the
//! FAKE CloudTrail (which records every AssumeRoleWithWebIdentity and serves LookupEvents), with
//! STS's token checks on, so a token with the wrong audience is refused as STS refuses it. The
//! calls come from `irsa verify` (the token proof) and from the aws-cli test pod (`--pod`).

use serde_json::Value;

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
    assert_eq!(report["lookup_calls"], 1);
    let roles = report["roles"].as_array().unwrap();
    assert_eq!(roles.len(), 1, "{report:#}");
    let role = &roles[0];
    assert_eq!(role["role"], ROLE);
    assert_eq!(role["exists"], true);
    let autoscaler = service_account(role, "kube-system/cluster-autoscaler");
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
