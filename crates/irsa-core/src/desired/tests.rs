use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::*;
use crate::spec;

const GOOD: &str = include_str!("../../tests/fixtures/irsa.yaml");
const EKSCTL: &str = include_str!("../../tests/fixtures/eksctl.yaml");
const EXTRA: &str = include_str!("../../tests/fixtures/policies/extra.json");

/// A loader over an in-memory file map (no file I/O in tests either).
fn loader(files: &[(&str, &str)]) -> impl Fn(&Path) -> std::io::Result<String> {
    let map: HashMap<PathBuf, String> = files
        .iter()
        .map(|(p, t)| (PathBuf::from(p), t.to_string()))
        .collect();
    move |p: &Path| {
        map.get(p).cloned().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory")
        })
    }
}

fn resolve_text(name: &str, text: &str, input: &ResolveInput) -> Result<DesiredState, Vec<String>> {
    let spec = spec::parse(Path::new(name), text)
        .map_err(|e| e.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    resolve(
        &spec,
        input,
        &loader(&[("fixtures/policies/extra.json", EXTRA)]),
    )
    .map_err(|e| e.iter().map(ToString::to_string).collect())
}

#[test]
fn resolves_the_full_spec() {
    let state = resolve_text("fixtures/irsa.yaml", GOOD, &ResolveInput::default()).unwrap();
    assert_eq!(
        state.cluster,
        Cluster {
            name: "demo".into(),
            region: "us-east-1".into(),
            account: Some("123456789012".into()),
            partition: "aws".into(),
        }
    );
    assert_eq!(state.bindings.len(), 4);

    let ca = &state.bindings[0];
    assert_eq!(
        (ca.namespace.as_str(), ca.service_account.as_str()),
        ("kube-system", "cluster-autoscaler")
    );
    assert_eq!(ca.preset, Some("cluster-autoscaler"));
    assert_eq!(ca.role.name, "irsa-demo-kube-system-cluster-autoscaler");
    assert_eq!(ca.role.path, "/irsa/");
    assert_eq!(
        ca.role.permissions_boundary.as_deref(),
        Some("arn:aws:iam::123456789012:policy/irsa-boundary")
    );
    let tags: Vec<(&str, &str)> = ca
        .role
        .tags
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        tags,
        [
            ("env", "prod"),
            ("irsa.dev/cluster", "demo"),
            ("irsa.dev/managed-by", "irsa"),
            ("irsa.dev/service-account", "kube-system/cluster-autoscaler"),
            ("team", "platform"),
        ]
    );
    assert!(ca.create_service_account);
    assert_eq!(ca.mechanism.audience(), "sts.amazonaws.com");
    assert_eq!(
        ca.install,
        Some(Install::Helm {
            repo: Some("https://kubernetes.github.io/autoscaler".into()),
            chart: Some("cluster-autoscaler".into()),
            service_account_values: "rbac.serviceAccount".into(),
        })
    );
    assert!(ca.managed_policy_arns.is_empty());
    assert_eq!(ca.policies.len(), 1);
    let p = &ca.policies[0];
    assert!(p.suffix.starts_with("cluster-autoscaler"), "{}", p.suffix);
    assert_eq!(
        p.name,
        format!("irsa-demo-kube-system-cluster-autoscaler-{}", p.suffix)
    );
    let text = p.document.to_string();
    assert!(text.contains("k8s.io/cluster-autoscaler/demo"), "{text}");
    assert!(text.contains("autoscaling:SetDesiredCapacity"), "{text}");

    let ebs = &state.bindings[1];
    assert_eq!(ebs.service_account, "ebs-csi-controller-sa");
    assert!(!ebs.create_service_account, "the EKS add-on creates the SA");
    assert_eq!(
        ebs.install,
        Some(Install::EksAddon {
            name: "aws-ebs-csi-driver".into()
        })
    );
    assert_eq!(ebs.managed_policy_arns.len(), 1);
    assert!(
        ebs.managed_policy_arns[0].ends_with("AmazonEBSCSIDriverPolicyV2"),
        "{:?}",
        ebs.managed_policy_arns
    );
    assert_eq!(ebs.policies.len(), 1, "KMS statements for the key");
    assert!(
        ebs.policies[0]
            .document
            .to_string()
            .contains("1234abcd-12ab-34cd-56ef-1234567890ab")
    );

    let rep = &state.bindings[2];
    assert_eq!(rep.role.name, "reporter");
    assert_eq!(rep.role.path, "/apps/");
    assert_eq!(
        rep.role.tags["env"], "staging",
        "binding tags win over defaults"
    );
    assert_eq!(rep.role.tags["team"], "platform");
    assert_eq!(rep.role.tags["owner"], "data");
    assert_eq!(
        rep.managed_policy_arns,
        ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]
    );
    let suffixes: Vec<&str> = rep.policies.iter().map(|p| p.suffix.as_str()).collect();
    assert_eq!(suffixes, ["inline", "extra"]);
    assert_eq!(rep.policies[1].name, "reporter-extra");
    assert_eq!(
        rep.policies[1].document["Statement"][0]["Action"],
        "s3:PutObject"
    );
    assert_eq!(rep.mechanism.audience(), "reporter.example.com");
    assert_eq!(
        rep.install,
        Some(Install::Helm {
            repo: Some("https://charts.example.com".into()),
            chart: Some("reporter".into()),
            service_account_values: "app.serviceAccount".into(),
        })
    );
    assert!(rep.create_service_account);

    let job = &state.bindings[3];
    assert!(!job.create_service_account, "roleOnly");
    assert_eq!(job.install, None);
    assert_eq!(job.role.name, "irsa-demo-batch-nightly-job");
}

#[test]
fn flags_override_and_are_checked() {
    let input = ResolveInput {
        cluster: Some("other".into()),
        region: Some("cn-north-1".into()),
        account: Some("210987654321".into()),
        partition: None,
    };
    let text = "cluster: {name: demo, region: us-east-1}\nbindings:\n  - preset: efs-csi\n";
    let state = resolve_text("o.yaml", text, &input).unwrap();
    assert_eq!(state.cluster.name, "other");
    assert_eq!(state.cluster.partition, "aws-cn");
    assert_eq!(state.cluster.account.as_deref(), Some("210987654321"));
    assert!(state.bindings[0].managed_policy_arns[0].starts_with("arn:aws-cn:iam::aws:policy/"));

    let bad = ResolveInput {
        cluster: Some("-bad".into()),
        account: Some("1".into()),
        ..Default::default()
    };
    let text = "cluster: {name: demo}\nbindings:\n  - preset: efs-csi\n";
    assert_eq!(
        resolve_text("o.yaml", text, &bad).unwrap_err(),
        [
            "--cluster: \"-bad\" is not an EKS cluster name: use letters, digits, `-` and `_`, starting with a letter or digit",
            "o.yaml:1:1: no region: set it in the spec or pass --region",
            "--account: \"1\" is not an AWS account id: it must be exactly 12 digits (quote it in YAML to keep leading zeros)",
        ]
    );
}

#[test]
fn duplicate_service_accounts_and_role_names() {
    let text = "\
cluster: {name: demo, region: us-east-1}
bindings:
  - preset: cluster-autoscaler
  - serviceAccount: kube-system/cluster-autoscaler
    policies: {managed: [arn:aws:iam::aws:policy/ReadOnlyAccess]}
  - serviceAccount: apps/a
    role: {name: shared}
    policies: {managed: [arn:aws:iam::aws:policy/ReadOnlyAccess]}
  - serviceAccount: apps/b
    role: {name: shared}
    policies: {managed: [arn:aws:iam::aws:policy/ReadOnlyAccess]}
";
    assert_eq!(
        resolve_text("d.yaml", text, &ResolveInput::default()).unwrap_err(),
        [
            "d.yaml:4:21: bindings[1].serviceAccount: service account kube-system/cluster-autoscaler is already bound by bindings[0] (line 3); one role per service account: merge the two bindings",
            "d.yaml:10:18: bindings[3].role.name: role name \"shared\" is already used by bindings[2] (line 6); give this binding its own `role.name`",
        ]
    );
}

#[test]
fn preset_option_errors_point_at_the_option() {
    let text = "cluster: {name: demo, region: us-east-1}\nbindings:\n  - preset: ebs-csi\n    options:\n      policy: v3\n  - preset: cluster-autoscaler\n    options: {color: blue}\n";
    let errors = resolve_text("o.yaml", text, &ResolveInput::default()).unwrap_err();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].starts_with(
            "o.yaml:5:7: bindings[0].options.policy: preset `ebs-csi` option `policy`: "
        ),
        "{errors:?}"
    );
    assert!(
        errors[0].ends_with("; see `irsa presets show ebs-csi`"),
        "{errors:?}"
    );
    assert!(errors[1].starts_with("o.yaml:7:15: bindings[1].options.color: preset `cluster-autoscaler` option `color`: unknown option"), "{errors:?}");
}

#[test]
fn policy_file_errors_are_located() {
    let text = "cluster: {name: demo, region: us-east-1}\nbindings:\n  - serviceAccount: apps/x\n    policies:\n      files: [missing.json, policies/extra.json]\n";
    let errors = resolve_text("fixtures/f.yaml", text, &ResolveInput::default()).unwrap_err();
    assert_eq!(
        errors,
        [
            "fixtures/f.yaml:5:15: bindings[0].policies.files[0]: cannot read policy file fixtures/missing.json: No such file or directory; the path is relative to the spec file"
        ]
    );
    let spec = spec::parse(Path::new("f.yaml"), &text.replace("missing.json, ", "")).unwrap();
    let errors = resolve(
        &spec,
        &ResolveInput::default(),
        &loader(&[("policies/extra.json", "{\"Statement\": 5}")]),
    )
    .unwrap_err();
    assert_eq!(errors.len(), 1);
    let e = errors[0].to_string();
    assert!(
        e.starts_with(
            "f.yaml:5:15: bindings[0].policies.files[0]: policy file policies/extra.json: "
        ),
        "{e}"
    );
}

#[test]
fn partition_of_arns_must_match_the_region() {
    let text = "cluster: {name: demo, region: cn-north-1}\nbindings:\n  - serviceAccount: apps/x\n    policies: {managed: [arn:aws:iam::aws:policy/ReadOnlyAccess]}\n";
    assert_eq!(
        resolve_text("p.yaml", text, &ResolveInput::default()).unwrap_err(),
        [
            "p.yaml:4:26: bindings[0].policies.managed[0]: \"arn:aws:iam::aws:policy/ReadOnlyAccess\" is in partition `aws` but the cluster's region cn-north-1 is in `aws-cn`: use arn:aws-cn:…"
        ]
    );
}

#[test]
fn eksctl_config_resolves() {
    let spec = spec::parse(Path::new("eksctl.yaml"), EKSCTL).unwrap();
    let state = resolve(&spec, &ResolveInput::default(), &loader(&[])).unwrap();
    assert_eq!(state.cluster.name, "prod-eu");
    assert_eq!(state.cluster.account, None);
    let ca = &state.bindings[0];
    assert_eq!(ca.role.name, "eksctl-cluster-autoscaler-role");
    assert!(!ca.create_service_account, "roleOnly: true");
    assert_eq!(ca.labels["aws-usage"], "cluster-ops");
    assert_eq!(ca.role.tags["cost-center"], "1234");
    // An iam.serviceAccounts entry installs nothing (as with eksctl): the role and the
    // service account, whose preset would otherwise install the EKS add-on.
    let ebs = &state.bindings[1];
    assert!(ebs.create_service_account);
    assert_eq!(ebs.install, None);
    assert_eq!(
        ebs.role.name,
        "irsa-prod-eu-kube-system-ebs-csi-controller-sa"
    );
    let s3 = &state.bindings[2];
    assert_eq!(s3.namespace, "backend-apps");
    assert_eq!(
        s3.role.permissions_boundary.as_deref(),
        Some("arn:aws:iam::111122223333:policy/boundary")
    );
    assert_eq!(s3.role.tags["Owner"], "John Doe");
    assert!(s3.create_service_account);
    let cache = &state.bindings[3];
    assert_eq!(
        cache.policies[0].name,
        "irsa-prod-eu-backend-apps-cache-access-inline"
    );
}

#[test]
fn default_bundle() {
    let spec = default_spec("demo", "us-east-1", Some("123456789012"));
    let state = resolve(&spec, &ResolveInput::default(), &loader(&[])).unwrap();
    let sas: Vec<(&str, &str, bool)> = state
        .bindings
        .iter()
        .map(|b| {
            (
                b.namespace.as_str(),
                b.service_account.as_str(),
                b.create_service_account,
            )
        })
        .collect();
    assert_eq!(
        sas,
        [
            ("kube-system", "cluster-autoscaler", true),
            ("kube-system", "efs-csi-controller-sa", false),
            ("kube-system", "ebs-csi-controller-sa", false),
        ]
    );
    assert_eq!(
        state.bindings[1].managed_policy_arns,
        ["arn:aws:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy"]
    );
    assert_eq!(
        state.bindings[2].managed_policy_arns,
        ["arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"]
    );
    // Bad flags reach the user against the flag, not the built-in bundle.
    let errors = resolve(
        &default_spec("demo", "nowhere", None),
        &ResolveInput::default(),
        &loader(&[]),
    )
    .unwrap_err();
    assert_eq!(
        errors[0].to_string(),
        "(default bundle): cluster.region: \"nowhere\" is not an AWS region code: write it like `us-east-1`, `cn-north-1` or `us-gov-west-1`"
    );
}

#[test]
fn role_names_are_truncated_with_a_stable_hash() {
    assert_eq!(fnv1a(""), 0x811c_9dc5);
    assert_eq!(fnv1a("a"), 0xe40c_292c);
    assert_eq!(fnv1a("foobar"), 0xbf9c_f968);
    let short = default_role_name("demo", "kube-system", "cluster-autoscaler");
    assert_eq!(short, "irsa-demo-kube-system-cluster-autoscaler");
    let long = default_role_name(
        "production-eu-west-1-main",
        "observability-platform",
        "opentelemetry-collector-a",
    );
    let full = "irsa-production-eu-west-1-main-observability-platform-opentelemetry-collector-a";
    assert_eq!(long.len(), 64);
    assert_eq!(long, format!("{}-{:08x}", &full[..55], fnv1a(full)));
    assert!(rules::role_name(&long).is_ok());
    assert_eq!(
        long,
        default_role_name(
            "production-eu-west-1-main",
            "observability-platform",
            "opentelemetry-collector-a"
        )
    );
    let other = default_role_name(
        "production-eu-west-1-main",
        "observability-platform",
        "opentelemetry-collector-b",
    );
    assert_eq!(other.len(), 64);
    assert_ne!(long, other, "same 55-character head, different hash");
    assert_eq!(long[..55], other[..55]);
}

#[test]
fn trust_policy_exact_shape() {
    let doc = trust_policy(
        "aws",
        "123456789012",
        "https://oidc.eks.us-east-1.amazonaws.com/id/ABC/",
        "kube-system",
        "cluster-autoscaler",
        "sts.amazonaws.com",
    )
    .unwrap();
    assert_eq!(
        doc,
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {
                    "oidc.eks.us-east-1.amazonaws.com/id/ABC:sub": "system:serviceaccount:kube-system:cluster-autoscaler",
                    "oidc.eks.us-east-1.amazonaws.com/id/ABC:aud": "sts.amazonaws.com"
                }}
            }]
        })
    );
    // The engine agrees it parses as a trust (resource-based) policy.
    let parsed = iam_policy::document::PolicyDocument::from_value(&doc).unwrap();
    assert!(parsed.is_resource_based());
}

#[test]
fn issuer_urls() {
    assert_eq!(
        issuer_host_path("https://oidc.eks.us-gov-west-1.amazonaws.com/id/XYZ").unwrap(),
        "oidc.eks.us-gov-west-1.amazonaws.com/id/XYZ"
    );
    assert!(matches!(
        issuer_host_path("http://oidc.eks/id/X"),
        Err(IssuerError::NotHttps(_))
    ));
    assert!(matches!(
        issuer_host_path("oidc.eks/id/X"),
        Err(IssuerError::NotHttps(_))
    ));
    assert!(matches!(
        issuer_host_path("https://"),
        Err(IssuerError::NoHost(_))
    ));
    assert!(matches!(
        issuer_host_path("https://x/id/1?a=b"),
        Err(IssuerError::Invalid(_))
    ));
    assert_eq!(
        oidc_provider_arn(
            "aws-cn",
            "123456789012",
            "https://oidc.eks.cn-north-1.amazonaws.com.cn/id/Q"
        )
        .unwrap(),
        "arn:aws-cn:iam::123456789012:oidc-provider/oidc.eks.cn-north-1.amazonaws.com.cn/id/Q"
    );
}

#[test]
fn role_arns() {
    assert_eq!(
        role_arn("aws", "123456789012", "/", "r"),
        "arn:aws:iam::123456789012:role/r"
    );
    assert_eq!(
        role_arn("aws", "123456789012", "/irsa/", "r"),
        "arn:aws:iam::123456789012:role/irsa/r"
    );
}

const PI_CLUSTER: &str = "cluster: {name: demo, region: us-east-1}\n";

#[test]
fn identity_comes_from_the_binding_then_the_defaults() {
    let text = format!(
        "{PI_CLUSTER}defaults: {{identity: pod-identity}}\nbindings:\n  - preset: cluster-autoscaler\n  - preset: ebs-csi\n    identity: irsa\n"
    );
    let state = resolve_text("i.yaml", &text, &ResolveInput::default()).unwrap();
    assert_eq!(state.bindings[0].mechanism.kind(), Kind::PodIdentity);
    assert_eq!(state.bindings[1].mechanism.kind(), Kind::Irsa);
    // Without either, IRSA: existing specs mean what they meant.
    let state = resolve_text(
        "i.yaml",
        &format!("{PI_CLUSTER}bindings:\n  - preset: cluster-autoscaler\n"),
        &ResolveInput::default(),
    )
    .unwrap();
    assert_eq!(state.bindings[0].mechanism.kind(), Kind::Irsa);
}

#[test]
fn a_session_policy_needs_session_tags_off() {
    // CreatePodIdentityAssociation: `policy` requires disableSessionTags=true (EKS API model).
    let text = format!(
        "{PI_CLUSTER}bindings:\n  - serviceAccount: apps/web\n    identity: pod-identity\n    policies: {{managed: [arn:aws:iam::aws:policy/ReadOnlyAccess]}}\n    sessionPolicy: {{Version: '2012-10-17', Statement: [{{Effect: Allow, Action: 's3:*', Resource: '*'}}]}}\n"
    );
    let errors = resolve_text("s.yaml", &text, &ResolveInput::default()).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("s.yaml:6:20: bindings[0].sessionPolicy:"),
        "{}",
        errors[0]
    );
    assert!(
        errors[0].contains("disableSessionTags: true"),
        "{}",
        errors[0]
    );
}

#[test]
fn each_mechanism_refuses_the_others_options() {
    let text = format!(
        "{PI_CLUSTER}bindings:\n  - preset: cluster-autoscaler\n    targetRoleArn: arn:aws:iam::210987654321:role/data\n  - preset: efs-csi\n    identity: pod-identity\n    audience: vault\n  - preset: ebs-csi\n    identity: pod-identity\n    disableSessionTags: true\n"
    );
    let errors = resolve_text("o.yaml", &text, &ResolveInput::default()).unwrap_err();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(
        errors[0].starts_with("o.yaml:4:20: bindings[0].targetRoleArn:")
            && errors[0].contains("identity: pod-identity"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].starts_with("o.yaml:7:15: bindings[1].audience:"),
        "{}",
        errors[1]
    );
    assert!(
        errors[2].contains(
            "EKS add-on aws-ebs-csi-driver takes Pod Identity associations with a role only"
        ),
        "{}",
        errors[2]
    );
}

#[test]
fn bad_identity_and_target_role_are_located() {
    let text = format!(
        "{PI_CLUSTER}bindings:\n  - preset: cluster-autoscaler\n    identity: podidentity\n  - serviceAccount: a/b\n    identity: pod-identity\n    targetRoleArn: arn:aws:iam::11111:role/x\n"
    );
    let errors = resolve_text("t.yaml", &text, &ResolveInput::default()).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("t.yaml:4:15: bindings[0].identity: unknown identity")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("t.yaml:7:20: bindings[1].targetRoleArn:")
                && e.contains("12 digits")),
        "{errors:?}"
    );
}

#[test]
fn a_pattern_is_irsa_only_and_an_existing_role_must_be_in_the_partition() {
    let text = "cluster: {name: demo, region: cn-north-1}\nbindings:\n  - serviceAccountPattern: jobs/batch-*\n    identity: pod-identity\n    policies: {managed: [\"arn:aws-cn:iam::aws:policy/ReadOnlyAccess\"]}\n  - serviceAccount: media/up\n    role: {arn: \"arn:aws:iam::111122223333:role/up\"}\n";
    let errors = resolve_text("p.yaml", text, &ResolveInput::default()).unwrap_err();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(errors[0].starts_with("p.yaml:3:28: bindings[0].serviceAccountPattern: a service-account pattern is an IRSA trust"), "{errors:#?}");
    assert!(errors[1].starts_with("p.yaml:7:17: bindings[1].role.arn: \"arn:aws:iam::111122223333:role/up\" is in partition `aws` but the cluster's region cn-north-1 is in `aws-cn`"), "{errors:#?}");
}
