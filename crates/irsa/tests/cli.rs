//! End-to-end tests of the offline commands: the real binary, real files, exit codes and JSON.

mod offline;

use offline::{core_fixture, fixture, irsa, json, stderr, tempdir};
use serde_json::Value;

const PROVIDER: &str = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

#[test]
fn trust_check_allows_exact_service_account() {
    let trust = fixture("trust-exact.json");
    let out = irsa(&[
        "trust",
        "check",
        "--trust",
        &trust,
        "--provider-arn",
        PROVIDER,
        "--service-account",
        "kube-system/cluster-autoscaler",
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out)["allowed"], true);
}

#[test]
fn trust_check_explains_wrong_namespace() {
    let trust = fixture("trust-exact.json");
    let out = irsa(&[
        "trust",
        "check",
        "--trust",
        &trust,
        "--provider-arn",
        PROVIDER,
        "--service-account",
        "default/cluster-autoscaler",
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["allowed"], false);
    let reason = v["reasons"][0].as_str().unwrap();
    assert!(reason.contains("requires `system:serviceaccount:kube-system:cluster-autoscaler`; the token's sub is `system:serviceaccount:default:cluster-autoscaler`"), "{reason}");
}

#[test]
fn trust_check_reads_url_encoded_documents_and_audiences() {
    let trust = fixture("trust-exact.urlencoded");
    let ok = irsa(&[
        "trust",
        "check",
        "--trust",
        &trust,
        "--provider-arn",
        PROVIDER,
        "--service-account",
        "kube-system/cluster-autoscaler",
    ]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("ALLOWED"));
    let wrong_aud = irsa(&[
        "trust",
        "check",
        "--trust",
        &trust,
        "--provider-arn",
        PROVIDER,
        "--service-account",
        "kube-system/cluster-autoscaler",
        "--audience",
        "vault",
    ]);
    assert_eq!(wrong_aud.status.code(), Some(1));
}

#[test]
fn trust_check_bad_input_is_exit_2() {
    let trust = fixture("trust-exact.json");
    for args in [
        vec![
            "trust",
            "check",
            "--trust",
            &trust,
            "--provider-arn",
            "arn:aws:iam::123456789012:role/x",
            "--service-account",
            "a/b",
        ],
        vec![
            "trust",
            "check",
            "--trust",
            &trust,
            "--provider-arn",
            PROVIDER,
            "--service-account",
            "no-slash",
        ],
        vec![
            "trust",
            "check",
            "--trust",
            "/nonexistent/trust.json",
            "--provider-arn",
            PROVIDER,
            "--service-account",
            "a/b",
        ],
        vec![
            "trust",
            "check",
            "--provider-arn",
            PROVIDER,
            "--service-account",
            "a/b",
        ],
    ] {
        let out = irsa(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).is_empty());
    }
}

#[test]
fn policy_eval_decisions_and_exit_codes() {
    let policy = fixture("permissions.json");
    let allow = irsa(&[
        "policy",
        "eval",
        "--policy",
        &policy,
        "--action",
        "s3:GetObject",
        "--resource",
        "arn:aws:s3:::models/llama/weights",
        "--output",
        "json",
    ]);
    assert_eq!(allow.status.code(), Some(0));
    let v = json(&allow);
    assert_eq!(v["decision"], "allow");
    assert_eq!(v["statements"][0]["sid"], "Read");

    let deny = irsa(&[
        "policy",
        "eval",
        "--policy",
        &policy,
        "--action",
        "s3:GetObject",
        "--resource",
        "arn:aws:s3:::models/secret/key",
        "--output",
        "json",
    ]);
    assert_eq!(deny.status.code(), Some(1));
    assert_eq!(json(&deny)["decision"], "explicit-deny");
    assert_eq!(json(&deny)["statements"][0]["sid"], "NoSecrets");

    let implicit = irsa(&[
        "policy",
        "eval",
        "--policy",
        &policy,
        "--action",
        "ec2:StopInstances",
        "--resource",
        "arn:aws:ec2:us-east-1:123456789012:instance/i-1",
        "--output",
        "json",
    ]);
    assert_eq!(json(&implicit)["decision"], "implicit-deny");
    assert_eq!(json(&implicit)["statements"], serde_json::json!([]));

    let tagged = irsa(&[
        "policy",
        "eval",
        "--policy",
        &policy,
        "--action",
        "ec2:StopInstances",
        "--resource",
        "arn:aws:ec2:us-east-1:123456789012:instance/i-1",
        "--context",
        "aws:ResourceTag/team=data",
    ]);
    assert_eq!(
        tagged.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&tagged.stdout)
    );
}

#[test]
fn policy_eval_multivalued_context() {
    let dir = tempdir();
    let path = dir.join("tags.json");
    std::fs::write(&path, r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["team","env"]}}}]}"#).unwrap();
    let p = path.display().to_string();
    let ok = irsa(&[
        "policy",
        "eval",
        "--policy",
        &p,
        "--action",
        "ec2:CreateTags",
        "--resource",
        "*",
        "--context",
        "aws:TagKeys=team",
        "--context",
        "aws:TagKeys=env",
    ]);
    assert_eq!(ok.status.code(), Some(0));
    let extra = irsa(&[
        "policy",
        "eval",
        "--policy",
        &p,
        "--action",
        "ec2:CreateTags",
        "--resource",
        "*",
        "--context",
        "aws:TagKeys=team",
        "--context",
        "aws:TagKeys=owner",
    ]);
    assert_eq!(extra.status.code(), Some(1));
}

#[test]
fn policy_eval_invalid_document_names_the_place() {
    let out = irsa(&[
        "policy",
        "eval",
        "--policy",
        &fixture("broken.json"),
        "--action",
        "s3:GetObject",
        "--resource",
        "*",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(
            "broken.json: Statement[0].Condition.StringEqual: unknown condition operator"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn policy_lint_findings_and_exit_code() {
    let out = irsa(&[
        "policy",
        "lint",
        &fixture("trust-audience-only.json"),
        &fixture("trust-star-in-equals.json"),
        &fixture("admin.json"),
        &fixture("trust-exact.json"),
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let findings = json(&out);
    let rules: Vec<(&str, &str)> = findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().rsplit('/').next().unwrap(),
                f["rule"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rules,
        vec![
            ("trust-audience-only.json", "IRSA001"),
            ("trust-star-in-equals.json", "IRSA003"),
            ("admin.json", "IAM001")
        ]
    );
    assert_eq!(findings[0]["severity"], "high");
    assert!(
        findings[0]["location"]
            .as_str()
            .unwrap()
            .starts_with("Statement[0]")
    );

    let clean = irsa(&[
        "policy",
        "lint",
        &fixture("trust-exact.json"),
        &fixture("permissions.json"),
    ]);
    assert_eq!(
        clean.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&clean.stdout)
    );
}

#[test]
fn presets_list_and_show() {
    let list = irsa(&["presets", "--output", "json"]);
    assert_eq!(list.status.code(), Some(0));
    let names: Vec<String> = json(&list)
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    for name in ["cluster-autoscaler", "efs-csi", "ebs-csi"] {
        assert!(names.contains(&name.to_string()), "{names:?}");
    }

    let ca = irsa(&[
        "presets",
        "show",
        "cluster-autoscaler",
        "--cluster",
        "demo",
        "--region",
        "us-east-1",
        "--account",
        "123456789012",
    ]);
    assert_eq!(ca.status.code(), Some(0), "{}", stderr(&ca));
    let doc = json(&ca);
    let text = doc.to_string();
    assert!(text.contains("k8s.io/cluster-autoscaler/demo"), "{text}");
    assert!(iam_policy_parses(&text));

    let no_cluster = irsa(&["presets", "show", "cluster-autoscaler"]);
    assert_eq!(no_cluster.status.code(), Some(2));
    assert!(stderr(&no_cluster).contains("cluster"));

    let ebs = irsa(&["presets", "show", "ebs-csi", "--region", "cn-north-1"]);
    assert_eq!(
        String::from_utf8_lossy(&ebs.stdout).trim(),
        "arn:aws-cn:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
    );

    let unknown = irsa(&["presets", "show", "karpenterr"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("unknown preset `karpenterr`"));
}

#[test]
fn presets_list_every_workload_with_its_source() {
    let list = irsa(&["presets", "--output", "json"]);
    assert_eq!(list.status.code(), Some(0));
    let presets = json(&list);
    let presets = presets.as_array().unwrap();
    assert_eq!(presets.len(), 16);
    for p in presets {
        assert!(
            p["source"]["url"].as_str().unwrap().starts_with("https://"),
            "{p}"
        );
        assert_eq!(p["source"]["checked"].as_str().unwrap().len(), 10, "{p}");
    }
    let lb = presets
        .iter()
        .find(|p| p["name"] == "aws-load-balancer-controller")
        .unwrap();
    assert_eq!(lb["eksctl_well_known"], "awsLoadBalancerController");
    assert_eq!(lb["service_account"], "aws-load-balancer-controller");

    let table = irsa(&["presets"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("SOURCE"), "{text}");
    assert!(
        text.contains(
            "https://docs.aws.amazon.com/eks/latest/userguide/cni-iam-role.html (2026-12-01)"
        ),
        "{text}"
    );
}

#[test]
fn presets_show_explains_a_missing_scope_and_prints_the_source() {
    let missing = irsa(&["presets", "show", "velero"]);
    assert_eq!(missing.status.code(), Some(2));
    let err = stderr(&missing);
    assert!(err.contains("preset `velero` needs bucket"), "{err}");
    assert!(err.contains("# option bucket:"), "{err}");
    assert!(err.contains("--option bucket=demo-backups"), "{err}");
    assert!(missing.stdout.is_empty());

    let velero = irsa(&[
        "presets",
        "show",
        "velero",
        "--option",
        "bucket=demo-backups",
    ]);
    assert_eq!(velero.status.code(), Some(0), "{}", stderr(&velero));
    let text = json(&velero).to_string();
    assert!(text.contains("arn:aws:s3:::demo-backups/*"), "{text}");
    assert!(iam_policy_parses(&text));
    assert!(
        stderr(&velero).contains("# source: https://github.com/vmware-tanzu/velero-plugin-for-aws"),
        "{}",
        stderr(&velero)
    );

    let karpenter = irsa(&[
        "presets",
        "show",
        "karpenter",
        "--cluster",
        "demo",
        "--output",
        "json",
    ]);
    assert_eq!(karpenter.status.code(), Some(2));
    assert!(
        stderr(&karpenter).contains("region"),
        "{}",
        stderr(&karpenter)
    );
    let karpenter = irsa(&[
        "presets",
        "show",
        "karpenter",
        "--cluster",
        "demo",
        "--region",
        "us-east-1",
        "--account",
        "123456789012",
        "--output",
        "json",
    ]);
    assert_eq!(karpenter.status.code(), Some(0), "{}", stderr(&karpenter));
    let out = json(&karpenter);
    assert_eq!(out["preset"]["name"], "karpenter");
    assert!(
        out["documents"][0]["document"]
            .to_string()
            .contains("kubernetes.io/cluster/demo")
    );
}

#[test]
fn render_binds_the_workload_presets() {
    let out = tempdir();
    let run = irsa(&[
        "render",
        "-f",
        &core_fixture("workloads.irsa.yaml"),
        "--issuer",
        ISSUER,
        "--out",
        &out.display().to_string(),
        "--output",
        "json",
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let files: Vec<String> = json(&run)["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    for expected in [
        "kube-system.aws-load-balancer-controller/helm-values.yaml",
        "kube-system.karpenter/helm-values.yaml",
        "velero.velero/helm-values.yaml",
    ] {
        assert!(
            files.contains(&expected.to_string()),
            "{expected}: {files:?}"
        );
    }
    assert!(
        files.iter().any(|f| f.starts_with("ci.image-builder/")),
        "{files:?}"
    );
}

#[test]
fn render_reads_every_eksctl_well_known_policy() {
    let dir = tempdir();
    let config = dir.join("cluster.yaml");
    std::fs::write(
        &config,
        "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata: {name: demo, region: us-east-1}\n\
         iam:\n  withOIDC: true\n  serviceAccounts:\n\
         \x20   - metadata: {name: aws-load-balancer-controller, namespace: kube-system}\n\
         \x20     wellKnownPolicies: {awsLoadBalancerController: true}\n\
         \x20   - metadata: {name: builder, namespace: ci}\n\
         \x20     wellKnownPolicies: {imageBuilder: true}\n",
    )
    .unwrap();
    let run = irsa(&[
        "render",
        "-f",
        &config.display().to_string(),
        "--account",
        "123456789012",
        "--issuer",
        ISSUER,
        "--out",
        &dir.join("out").display().to_string(),
        "--output",
        "json",
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
}

#[test]
fn policy_rules_lists_every_rule() {
    let out = irsa(&["policy", "rules", "--output", "json"]);
    let ids: Vec<String> = json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        ids.contains(&"IRSA001".to_string()) && ids.contains(&"SIZE001".to_string()),
        "{ids:?}"
    );
}

fn iam_policy_parses(text: &str) -> bool {
    let v: Value = serde_json::from_str(text).unwrap();
    v["Statement"].as_array().is_some_and(|s| !s.is_empty())
}

const ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

#[test]
fn render_default_bundle_writes_checkable_files() {
    let out = tempdir();
    let o = out.display().to_string();
    let run = irsa(&[
        "render",
        "--cluster",
        "demo",
        "--region",
        "us-east-1",
        "--account",
        "123456789012",
        "--issuer",
        ISSUER,
        "--out",
        &o,
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let trust_path = out.join("kube-system.cluster-autoscaler/trust-policy.json");
    // The rendered trust policy allows exactly its service account, per our own trust check.
    let allowed = irsa(&[
        "trust",
        "check",
        "--trust",
        &trust_path.display().to_string(),
        "--provider-arn",
        PROVIDER,
        "--service-account",
        "kube-system/cluster-autoscaler",
    ]);
    assert_eq!(
        allowed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&allowed.stdout)
    );
    let other = irsa(&[
        "trust",
        "check",
        "--trust",
        &trust_path.display().to_string(),
        "--provider-arn",
        PROVIDER,
        "--service-account",
        "kube-system/ebs-csi-controller-sa",
    ]);
    assert_eq!(other.status.code(), Some(1));
    // Every rendered document lints clean at high severity.
    let policy = out
        .join("kube-system.cluster-autoscaler/permission-policy-cluster-autoscaler.json")
        .display()
        .to_string();
    let lint = irsa(&["policy", "lint", &trust_path.display().to_string(), &policy]);
    assert_eq!(
        lint.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&lint.stdout)
    );
    let sa =
        std::fs::read_to_string(out.join("kube-system.cluster-autoscaler/service-account.yaml"))
            .unwrap();
    assert!(sa.contains("eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/irsa-demo-kube-system-cluster-autoscaler"), "{sa}");
    let values =
        std::fs::read_to_string(out.join("kube-system.cluster-autoscaler/helm-values.yaml"))
            .unwrap();
    assert!(
        values.contains("clusterName: demo") && values.contains("awsRegion: us-east-1"),
        "{values}"
    );
    assert!(
        !out.join("kube-system.ebs-csi-controller-sa/service-account.yaml")
            .exists(),
        "the EBS add-on creates its own service account"
    );
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["bindings"].as_array().unwrap().len(), 3);
}

#[test]
fn render_reports_every_spec_error_with_position() {
    let out = tempdir().display().to_string();
    let run = irsa(&[
        "render",
        "-f",
        &core_fixture("errors.irsa.yaml"),
        "--issuer",
        ISSUER,
        "--out",
        &out,
    ]);
    assert_eq!(run.status.code(), Some(2));
    let err = stderr(&run);
    assert!(
        err.contains(
            "errors.irsa.yaml:9:5: bindings[0].rol: unknown field `rol`; did you mean `role`?"
        ),
        "{err}"
    );
    assert!(
        err.contains("errors.irsa.yaml:17:13: bindings[2].preset: unknown preset `kube-proxy`"),
        "{err}"
    );
    assert!(
        std::fs::read_dir(&out).unwrap().next().is_none(),
        "nothing is written when the spec is invalid"
    );
}

#[test]
fn render_reads_eksctl_cluster_config() {
    let out = tempdir();
    let run = irsa(&[
        "render",
        "-f",
        &core_fixture("eksctl.yaml"),
        "--account",
        "123456789012",
        "--issuer",
        ISSUER,
        "--out",
        &out.display().to_string(),
        "--output",
        "json",
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let files: Vec<String> = json(&run)["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    assert!(
        files.contains(&"kube-system.cluster-autoscaler/helm-values.yaml".to_string()),
        "{files:?}"
    );
}

#[test]
fn render_needs_cluster_and_region_without_a_file() {
    let run = irsa(&[
        "render",
        "--account",
        "123456789012",
        "--issuer",
        ISSUER,
        "--out",
        &tempdir().display().to_string(),
    ]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("--cluster and --region"));
    let bad_region = irsa(&[
        "render",
        "--cluster",
        "demo",
        "--region",
        "useast1",
        "--account",
        "123456789012",
        "--issuer",
        ISSUER,
        "--out",
        "/tmp/x",
    ]);
    assert_eq!(bad_region.status.code(), Some(2));
    assert!(stderr(&bad_region).contains("--region"));
}

#[test]
fn completions_for_each_shell_and_a_man_page() {
    for (shell, marker) in [
        ("bash", "complete -F _irsa"),
        ("zsh", "#compdef irsa"),
        ("fish", "complete -c irsa"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = irsa(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(
            script.contains("verify") && script.contains("profile"),
            "{shell}"
        );
    }
    let bad = irsa(&["completions", "tcsh"]);
    assert_eq!(bad.status.code(), Some(2));
    let man = irsa(&["man"]);
    assert_eq!(man.status.code(), Some(0), "{}", stderr(&man));
    let page = String::from_utf8_lossy(&man.stdout);
    assert!(page.contains(".TH irsa 1"), "{page}");
    assert!(
        page.contains("\\-\\-profile") && page.contains("\\-\\-color"),
        "{page}"
    );
}

#[test]
fn region_is_global_before_or_after_the_command() {
    let dir = std::env::temp_dir().join(format!("irsa-cli-region-{}", std::process::id()));
    let out_dir = dir.display().to_string();
    let issuer = "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
    let common = [
        "--cluster",
        "demo",
        "--account",
        "123456789012",
        "--issuer",
        issuer,
        "--out",
        &out_dir,
        "--output",
        "json",
    ];
    let after = irsa(&[&["render", "--region", "eu-west-1"][..], &common].concat());
    assert_eq!(after.status.code(), Some(0), "{}", stderr(&after));
    let before = irsa(&[&["--region", "eu-west-1", "render"][..], &common].concat());
    assert_eq!(before.status.code(), Some(0), "{}", stderr(&before));
    assert_eq!(after.stdout, before.stdout);
    let values =
        std::fs::read_to_string(dir.join("kube-system.cluster-autoscaler/helm-values.yaml"))
            .unwrap();
    assert!(values.contains("eu-west-1"), "{values}");
    let _ = std::fs::remove_dir_all(&dir);
}
