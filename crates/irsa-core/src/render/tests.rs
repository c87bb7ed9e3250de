use std::collections::HashMap;
use std::path::Path;

use serde_json::{Value, json};

use super::*;
use crate::desired::{ResolveInput, default_spec, resolve};

const ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
const HOST: &str = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
const ACCOUNT: &str = "111122223333";

fn target() -> RenderTarget {
    RenderTarget {
        account: ACCOUNT.into(),
        issuer_url: Some(ISSUER.into()),
    }
}

fn default_files() -> HashMap<String, String> {
    let state = resolve(
        &default_spec("demo", "us-east-1", None),
        &ResolveInput::default(),
        &|_: &Path| unreachable!("the default bundle has no policy files"),
    )
    .unwrap();
    let files = render(&state, &target()).unwrap();
    files
        .into_iter()
        .map(|f| (f.path.to_string_lossy().into_owned(), f.contents))
        .collect()
}

fn yaml(text: &str) -> Value {
    serde_saphyr::from_str::<Value>(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn jsonv(text: &str) -> Value {
    assert!(text.ends_with("}\n"), "pretty JSON with a trailing newline");
    serde_json::from_str(text).unwrap()
}

#[test]
fn default_bundle_file_list() {
    let files = default_files();
    let mut names: Vec<&str> = files.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "kube-system.cluster-autoscaler/helm-values.yaml",
            "kube-system.cluster-autoscaler/permission-policy-cluster-autoscaler.json",
            "kube-system.cluster-autoscaler/service-account.yaml",
            "kube-system.cluster-autoscaler/trust-policy.json",
            "kube-system.ebs-csi-controller-sa/eks-addon.json",
            "kube-system.ebs-csi-controller-sa/managed-policies.txt",
            "kube-system.ebs-csi-controller-sa/trust-policy.json",
            "kube-system.efs-csi-controller-sa/eks-addon.json",
            "kube-system.efs-csi-controller-sa/managed-policies.txt",
            "kube-system.efs-csi-controller-sa/trust-policy.json",
            "summary.json",
        ]
    );
}

#[test]
fn trust_policies_name_exactly_one_service_account() {
    let files = default_files();
    for (dir, sa) in [
        ("kube-system.cluster-autoscaler", "cluster-autoscaler"),
        ("kube-system.efs-csi-controller-sa", "efs-csi-controller-sa"),
        ("kube-system.ebs-csi-controller-sa", "ebs-csi-controller-sa"),
    ] {
        let trust = jsonv(&files[&format!("{dir}/trust-policy.json")]);
        let st = &trust["Statement"][0];
        assert_eq!(
            st["Principal"]["Federated"],
            format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{HOST}")
        );
        assert_eq!(st["Action"], "sts:AssumeRoleWithWebIdentity");
        assert_eq!(
            st["Condition"],
            json!({"StringEquals": {
                format!("{HOST}:sub"): format!("system:serviceaccount:kube-system:{sa}"),
                format!("{HOST}:aud"): "sts.amazonaws.com",
            }})
        );
    }
}

#[test]
fn service_account_manifest_and_helm_values() {
    let files = default_files();
    let arn = format!("arn:aws:iam::{ACCOUNT}:role/irsa-demo-kube-system-cluster-autoscaler");
    let sa = yaml(&files["kube-system.cluster-autoscaler/service-account.yaml"]);
    assert_eq!(
        sa,
        json!({
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {
                "name": "cluster-autoscaler",
                "namespace": "kube-system",
                "labels": {"app.kubernetes.io/managed-by": "irsa"},
                "annotations": {"eks.amazonaws.com/role-arn": arn},
            }
        })
    );
    let values = yaml(&files["kube-system.cluster-autoscaler/helm-values.yaml"]);
    assert_eq!(
        values,
        json!({
            "autoDiscovery": {"clusterName": "demo"},
            "awsRegion": "us-east-1",
            "rbac": {"serviceAccount": {
                "create": false,
                "name": "cluster-autoscaler",
                "annotations": {"eks.amazonaws.com/role-arn": arn},
            }},
        })
    );
    let policy =
        jsonv(&files["kube-system.cluster-autoscaler/permission-policy-cluster-autoscaler.json"]);
    assert!(
        policy
            .to_string()
            .contains("k8s.io/cluster-autoscaler/demo")
    );
    assert_eq!(
        files["kube-system.ebs-csi-controller-sa/managed-policies.txt"],
        "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy\n"
    );
    assert_eq!(
        jsonv(&files["kube-system.ebs-csi-controller-sa/eks-addon.json"]),
        json!({
            "clusterName": "demo",
            "addonName": "aws-ebs-csi-driver",
            "serviceAccountRoleArn": format!("arn:aws:iam::{ACCOUNT}:role/irsa-demo-kube-system-ebs-csi-controller-sa"),
        })
    );
}

#[test]
fn summary_lists_every_binding() {
    let files = default_files();
    let summary = jsonv(&files["summary.json"]);
    assert_eq!(summary["cluster"]["account"], ACCOUNT);
    assert_eq!(
        summary["oidcProviderArn"],
        format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{HOST}")
    );
    let bindings = summary["bindings"].as_array().unwrap();
    assert_eq!(bindings.len(), 3);
    assert_eq!(
        bindings[0]["roleName"],
        "irsa-demo-kube-system-cluster-autoscaler"
    );
    assert_eq!(
        bindings[2]["roleArn"],
        format!("arn:aws:iam::{ACCOUNT}:role/irsa-demo-kube-system-ebs-csi-controller-sa")
    );
    assert_eq!(
        bindings[2]["install"],
        json!({"eksAddon": "aws-ebs-csi-driver"})
    );
    for b in bindings {
        for f in b["files"].as_array().unwrap() {
            assert!(
                files.contains_key(f.as_str().unwrap()),
                "{f} listed but not rendered"
            );
        }
    }
    assert_eq!(
        bindings[1]["files"],
        json!([
            "kube-system.efs-csi-controller-sa/managed-policies.txt",
            "kube-system.efs-csi-controller-sa/trust-policy.json",
            "kube-system.efs-csi-controller-sa/eks-addon.json",
        ])
    );
}

#[test]
fn full_spec_renders_audience_paths_and_custom_helm_values() {
    let text = include_str!("../../tests/fixtures/irsa.yaml");
    let extra = include_str!("../../tests/fixtures/policies/extra.json");
    let spec = crate::spec::parse(Path::new("irsa.yaml"), text).unwrap();
    let state = resolve(&spec, &ResolveInput::default(), &|_: &Path| {
        Ok(extra.to_string())
    })
    .unwrap();
    let t = RenderTarget {
        account: "123456789012".into(),
        issuer_url: Some(ISSUER.into()),
    };
    let files: HashMap<String, String> = render(&state, &t)
        .unwrap()
        .into_iter()
        .map(|f| (f.path.to_string_lossy().into_owned(), f.contents))
        .collect();
    let arn = "arn:aws:iam::123456789012:role/apps/reporter";
    let sa = yaml(&files["apps.reporter/service-account.yaml"]);
    assert_eq!(
        sa["metadata"]["annotations"],
        json!({"eks.amazonaws.com/role-arn": arn, "eks.amazonaws.com/audience": "reporter.example.com"})
    );
    let values = yaml(&files["apps.reporter/helm-values.yaml"]);
    assert_eq!(
        values,
        json!({"app": {"serviceAccount": {
            "create": false,
            "name": "reporter",
            "annotations": {"eks.amazonaws.com/role-arn": arn, "eks.amazonaws.com/audience": "reporter.example.com"},
        }}})
    );
    let trust = jsonv(&files["apps.reporter/trust-policy.json"]);
    assert_eq!(
        trust["Statement"][0]["Condition"]["StringEquals"][format!("{HOST}:aud")],
        "reporter.example.com"
    );
    assert_eq!(
        jsonv(&files["apps.reporter/permission-policy-extra.json"])["Statement"][0]["Resource"],
        "arn:aws:s3:::reports/*"
    );
    assert!(files.contains_key("apps.reporter/permission-policy-inline.json"));
    // roleOnly: no manifest, but role files.
    assert!(!files.contains_key("batch.nightly-job/service-account.yaml"));
    assert!(files.contains_key("batch.nightly-job/trust-policy.json"));
    // CA role under the default path /irsa/.
    let ca = yaml(&files["kube-system.cluster-autoscaler/service-account.yaml"]);
    assert_eq!(
        ca["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        "arn:aws:iam::123456789012:role/irsa/irsa-demo-kube-system-cluster-autoscaler"
    );
}

#[test]
fn efs_with_helm_install() {
    let text = "cluster: {name: demo, region: us-east-1}\nbindings:\n  - preset: efs-csi\n    install: helm\n";
    let spec = crate::spec::parse(Path::new("e.yaml"), text).unwrap();
    let state = resolve(&spec, &ResolveInput::default(), &|_: &Path| unreachable!()).unwrap();
    let files = render(&state, &target()).unwrap();
    let values = files
        .iter()
        .find(|f| f.path == Path::new("kube-system.efs-csi-controller-sa/helm-values.yaml"))
        .unwrap();
    let v = yaml(&values.contents);
    assert_eq!(v["controller"]["serviceAccount"]["create"], false);
    assert_eq!(
        v["controller"]["serviceAccount"]["name"],
        "efs-csi-controller-sa"
    );
    assert!(
        files
            .iter()
            .any(|f| f.path == Path::new("kube-system.efs-csi-controller-sa/service-account.yaml"))
    );
}

#[test]
fn yaml_output_quotes_what_needs_quoting() {
    let text = "cluster: {name: demo, region: us-east-1}\nbindings:\n  - serviceAccount: \"on/yes\"\n    policies: {managed: [arn:aws:iam::aws:policy/ReadOnlyAccess]}\n";
    let spec = crate::spec::parse(Path::new("q.yaml"), text).unwrap();
    let state = resolve(&spec, &ResolveInput::default(), &|_: &Path| unreachable!()).unwrap();
    let files = render(&state, &target()).unwrap();
    let sa = files
        .iter()
        .find(|f| f.path.ends_with("service-account.yaml"))
        .unwrap();
    let v = yaml(&sa.contents);
    assert_eq!(v["metadata"]["name"], "yes");
    assert_eq!(v["metadata"]["namespace"], "on");
}

#[test]
fn render_errors() {
    let state = resolve(
        &default_spec("demo", "us-east-1", Some("123456789012")),
        &ResolveInput::default(),
        &|_: &Path| unreachable!(),
    )
    .unwrap();
    assert_eq!(
        render(&state, &target()).unwrap_err(),
        RenderError::AccountMismatch {
            spec: "123456789012".into(),
            target: ACCOUNT.into()
        }
    );
    let bad = RenderTarget {
        account: "123456789012".into(),
        issuer_url: Some("http://oidc.example/id/1".into()),
    };
    assert!(matches!(
        render(&state, &bad),
        Err(RenderError::Issuer(IssuerError::NotHttps(_)))
    ));
    let bad = RenderTarget {
        account: "12".into(),
        issuer_url: Some(ISSUER.into()),
    };
    assert!(matches!(render(&state, &bad), Err(RenderError::Account(_))));
}
