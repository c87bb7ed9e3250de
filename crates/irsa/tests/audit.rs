//! End-to-end tests of `irsa audit`: the real binary on the planted-misconfiguration corpus
//! (table, JSON, SARIF, exit codes, bad input refused before any call) and, live, against moto
//! on 127.0.0.1, and against the sandbox (the fake EKS's Pod Identity associations).

use std::path::PathBuf;
use std::process::{Command, Output};

use aws_sdk_iam::config::{Credentials, SharedCredentialsProvider};
use serde_json::{Value, json};
use testkit::moto::MotoServer;

mod common;

const CLUSTER_A: &str = "prod=https://oidc.eks.us-east-1.amazonaws.com/id/CLUSTERA";
const CLUSTER_B: &str = "staging=https://oidc.eks.us-east-1.amazonaws.com/id/CLUSTERB";

fn corpus() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../irsa-core/tests/fixtures/audit/planted.json")
        .display()
        .to_string()
}

fn irsa(args: &[&str], env: &[(&str, String)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_irsa"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("irsa runs")
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn temp_file(name: &str, content: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("irsa-audit-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

#[test]
fn snapshot_audit_reports_every_planted_rule_and_fails_at_high() {
    let corpus = corpus();
    let out = irsa(
        &[
            "audit",
            "--snapshot",
            &corpus,
            "--cluster",
            CLUSTER_A,
            "--cluster",
            CLUSTER_B,
            "--require-tag",
            "owner",
            "--output",
            "json",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json(&out);
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(report["summary"]["findings"], findings.len());
    assert_eq!(report["summary"]["roles"], 30);
    for f in findings {
        let resource = f["resource"].as_str().unwrap();
        let name = resource.rsplit('/').next().unwrap();
        if f["rule"] == "AUD000" {
            assert_eq!(resource, "arn:aws:iam::111122223333:root");
            continue;
        }
        let digits = name
            .strip_prefix("planted-aud")
            .unwrap_or_else(|| panic!("{name} is not planted but raised {f}"));
        let expected = format!("AUD{}", &digits[..3]);
        assert_eq!(f["rule"], expected.as_str(), "{f}");
        assert!(f["fix"].as_str().is_some_and(|s| !s.is_empty()));
    }
    // Offline, the CloudTrail check cannot run and says so; the provider check ran on issuers.
    assert!(
        findings
            .iter()
            .any(|f| f["rule"] == "AUD000"
                && f["message"].as_str().unwrap().contains("CloudTrail"))
    );
    // Sorted most severe first.
    assert_eq!(findings[0]["severity"], "critical");
}

#[test]
fn fail_on_sets_the_exit_code() {
    let corpus = corpus();
    let clean = {
        let mut dump: Value =
            serde_json::from_str(&std::fs::read_to_string(&corpus).unwrap()).unwrap();
        dump["RoleDetailList"]
            .as_array_mut()
            .unwrap()
            .retain(|r| r["RoleName"].as_str().unwrap().starts_with("clean-"));
        dump["Policies"]
            .as_array_mut()
            .unwrap()
            .retain(|p| p["PolicyName"].as_str().unwrap().starts_with("clean-"));
        temp_file("clean.json", &dump.to_string())
    };
    let clean = clean.display().to_string();
    let base = [
        "audit",
        "--snapshot",
        &clean,
        "--cluster",
        CLUSTER_A,
        "--cluster",
        CLUSTER_B,
    ];
    let run = |extra: &[&str]| {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        irsa(&args, &[])
    };
    // Clean roles: only the informational "CloudTrail check did not run" and, as clean Pod
    // Identity roles are there, "the association check did not run".
    let out = run(&["--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["summary"]["findings"], 2, "{report}");
    assert_eq!(report["findings"][0]["rule"], "AUD000");
    assert_eq!(report["findings"][1]["rule"], "AUD000");
    assert_eq!(run(&["--fail-on", "low"]).status.code(), Some(0));
    assert_eq!(run(&["--fail-on", "info"]).status.code(), Some(1));
    let table = run(&[]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("AUD000") && text.contains("failing at high: no"),
        "{text}"
    );
    // The planted corpus has a critical finding.
    assert_eq!(
        irsa(
            &["audit", "--snapshot", &corpus, "--fail-on", "critical"],
            &[]
        )
        .status
        .code(),
        Some(1)
    );
}

#[test]
fn sarif_output_is_sarif_2_1_0() {
    let corpus = corpus();
    let out = irsa(&["audit", "--snapshot", &corpus, "--output", "sarif"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let log = json(&out);
    assert_eq!(log["version"], "2.1.0");
    assert!(log["$schema"].as_str().unwrap().contains("sarif"));
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], r["ruleId"]);
        assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap()));
        let location = &r["locations"][0];
        assert!(
            location["logicalLocations"][0]["fullyQualifiedName"]
                .as_str()
                .unwrap()
                .starts_with("arn:aws:")
        );
        assert_eq!(
            location["physicalLocation"]["artifactLocation"]["uri"],
            corpus.as_str()
        );
    }
}

#[test]
fn bad_input_is_refused_before_any_call() {
    // An endpoint nobody listens on: reaching it would fail with exit 1, not 2.
    let env = [
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9".to_string()),
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ("IRSA_AWS_MAX_ATTEMPTS", "1".to_string()),
    ];
    let cases: &[&[&str]] = &[
        &["audit", "--region", "us-east-1", "--fail-on", "severe"],
        &[
            "audit",
            "--region",
            "us-east-1",
            "--cluster",
            "prod=https://x",
        ],
        &["audit", "--region", "us-east-1", "--cluster", "-bad"],
        &["audit", "--region", "nowhere"],
        &[
            "audit",
            "--region",
            "us-east-1",
            "--require-tag",
            "aws:reserved",
        ],
        &["audit"],
        &["audit", "--snapshot", "/nonexistent/dump.json"],
        &["audit", "--snapshot", "/dev/null", "--cluster", "prod"],
        &[
            "audit",
            "--snapshot",
            "/dev/null",
            "--cluster",
            "prod=http://insecure",
        ],
        &["audit", "--region", "us-east-1", "--unused-days", "-3"],
    ];
    for args in cases {
        let out = irsa(args, &env);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).len() > 10, "{args:?}");
    }
    let not_a_dump = temp_file("users.json", r#"{"UserDetailList": []}"#);
    let out = irsa(&["audit", "--snapshot", not_a_dump.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not a get-account-authorization-details dump"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn live_audit_against_moto() {
    let moto = MotoServer::start().expect("moto starts");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let conf = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(moto.endpoint())
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "test",
        )))
        .build();
    let clients = irsa_aws::Clients::from_conf(
        &conf,
        irsa_aws::Options {
            max_attempts: 1,
            ..Default::default()
        },
    );
    let provider = runtime.block_on(async {
        let vpc = aws_sdk_eks::types::VpcConfigRequest::builder()
            .subnet_ids("subnet-1")
            .build();
        let cluster = clients
            .eks
            .create_cluster()
            .name("demo")
            .role_arn("arn:aws:iam::123456789012:role/eks")
            .resources_vpc_config(vpc)
            .send()
            .await
            .unwrap();
        let issuer_url = cluster
            .cluster()
            .unwrap()
            .identity()
            .unwrap()
            .oidc()
            .unwrap()
            .issuer()
            .unwrap()
            .to_string();
        let provider = clients
            .iam
            .create_open_id_connect_provider()
            .url(&issuer_url)
            .client_id_list("sts.amazonaws.com")
            .thumbprint_list("9e99a48a9960b14926bb7f3b02e22da2b0ab7280")
            .send()
            .await
            .unwrap()
            .open_id_connect_provider_arn()
            .unwrap()
            .to_string();
        let issuer = issuer_url.trim_start_matches("https://");
        let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {format!("{issuer}:aud"): "sts.amazonaws.com"}}}]});
        clients
            .iam
            .create_role()
            .role_name("audience-only")
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .unwrap();
        provider
    });
    let env = [
        ("AWS_ENDPOINT_URL", moto.endpoint()),
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("IRSA_AWS_MAX_ATTEMPTS", "1".to_string()),
    ];
    let out = irsa(&["audit", "--output", "json"], &env);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json(&out);
    let findings = report["findings"].as_array().unwrap();
    let rules: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (f["rule"].as_str().unwrap(), f["resource"].as_str().unwrap()))
        .collect();
    assert!(
        rules.contains(&("AUD001", "arn:aws:iam::123456789012:role/audience-only")),
        "{rules:?}"
    );
    // No trail in the region.
    assert!(rules.iter().any(|(r, _)| *r == "AUD011"), "{rules:?}");
    // The provider exists and belongs to the listed cluster; every check could run.
    assert!(
        !rules.iter().any(|(r, _)| *r == "AUD005" || *r == "AUD000"),
        "{rules:?} {provider}"
    );
    // Naming a cluster that does not exist fails as an AWS error (exit 1), with the call named.
    let out = irsa(&["audit", "--cluster", "missing"], &env);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("eks:DescribeCluster missing"),
        "{}",
        stderr(&out)
    );
}

/// Live through the sandbox: the associations of `--cluster demo` are read, one naming a role
/// that was deleted since is AUD018 (high, so exit 1), in JSON and in SARIF; an unscoped Pod
/// Identity role is AUD016.
#[test]
fn live_audit_finds_associations_of_deleted_roles() {
    let env = common::start();
    let pods = |condition: Value| {
        let mut statement = json!({"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"]});
        if !condition.is_null() {
            statement["Condition"] = condition;
        }
        json!({"Version": "2012-10-17", "Statement": [statement]})
    };
    let scoped = pods(json!({"StringEquals": {
        "aws:RequestTag/eks-cluster-arn": env.sandbox.cluster_arn(),
        "aws:RequestTag/kubernetes-namespace": "default",
        "aws:RequestTag/kubernetes-service-account": "web"}}));
    for (name, trust) in [("pi-web", scoped), ("pi-anyone", pods(Value::Null))] {
        env.step(irsa_core::steps::Step::CreateRole {
            name: name.into(),
            path: "/".into(),
            trust_policy: trust,
            permissions_boundary: None,
            tags: Default::default(),
        });
    }
    let web = env.sandbox.plant_association(
        "default",
        "web",
        "arn:aws:iam::123456789012:role/pi-web",
        &[],
        None,
    );
    let orphan = env.sandbox.plant_association(
        "default",
        "orphan",
        "arn:aws:iam::123456789012:role/deleted-since",
        &[],
        None,
    );
    let out = env.irsa(&["audit", "--cluster", "demo", "--output", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", common::text(&out));
    let report = json(&out);
    let findings = report["findings"].as_array().unwrap();
    let of =
        |rule: &str| -> Vec<&Value> { findings.iter().filter(|f| f["rule"] == rule).collect() };
    let missing = of("AUD018");
    assert_eq!(missing.len(), 1, "{report:#}");
    assert_eq!(missing[0]["resource"], orphan.arn.as_str());
    assert_eq!(missing[0]["severity"], "high");
    assert!(
        !findings.iter().any(|f| f["resource"] == web.arn.as_str()),
        "{report:#}"
    );
    let unscoped = of("AUD016");
    assert_eq!(unscoped.len(), 1, "{report:#}");
    assert!(
        unscoped[0]["resource"]
            .as_str()
            .unwrap()
            .ends_with("role/pi-anyone")
    );
    assert!(of("AUD000").iter().all(|f| f["evidence"] != "AUD018"));

    let sarif = json(&env.irsa(&["audit", "--cluster", "demo", "--output", "sarif"]));
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().any(|r| r["ruleId"] == "AUD018"
        && r["level"] == "error"
        && r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == orphan.arn.as_str()));
    let _ = std::fs::remove_dir_all(&env.dir);
}
