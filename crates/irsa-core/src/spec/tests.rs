use std::path::Path;

use super::*;

const GOOD: &str = include_str!("../../tests/fixtures/irsa.yaml");
const EKSCTL: &str = include_str!("../../tests/fixtures/eksctl.yaml");
const ERRORS: &str = include_str!("../../tests/fixtures/errors.irsa.yaml");
const EKSCTL_ERRORS: &str = include_str!("../../tests/fixtures/eksctl-errors.yaml");

fn errors_of(name: &str, text: &str) -> Vec<String> {
    parse(Path::new(name), text)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn pos(line: u32, col: u32) -> Pos {
    Pos { line, col }
}

fn value<T: Clone>(at: &Option<At<T>>) -> T {
    at.as_ref().expect("value present").value.clone()
}

#[test]
fn reads_a_full_irsa_yaml_with_positions() {
    let spec = parse(Path::new("fixtures/irsa.yaml"), GOOD).unwrap();
    assert_eq!(spec.format, SpecFormat::Irsa);
    assert_eq!(spec.source, "fixtures/irsa.yaml");
    assert_eq!(spec.base_dir, Path::new("fixtures"));
    assert_eq!(value(&spec.cluster.name), "demo");
    assert_eq!(spec.cluster.name.as_ref().unwrap().pos, pos(3, 17));
    assert_eq!(spec.cluster.name.as_ref().unwrap().path, "cluster.name");
    assert_eq!(value(&spec.cluster.region), "us-east-1");
    assert_eq!(value(&spec.cluster.account), "123456789012");
    assert_eq!(value(&spec.defaults.role_path), "/irsa/");
    assert_eq!(
        value(&spec.defaults.permissions_boundary),
        "arn:aws:iam::123456789012:policy/irsa-boundary"
    );
    let tags: Vec<(&str, &str)> = spec
        .defaults
        .tags
        .iter()
        .map(|t| (t.key.value.as_str(), t.value.value.as_str()))
        .collect();
    assert_eq!(tags, [("team", "platform"), ("env", "prod")]);
    assert_eq!(spec.bindings.len(), 4);

    let ca = &spec.bindings[0];
    assert_eq!(value(&ca.preset), "cluster-autoscaler");
    assert_eq!(ca.pos, pos(9, 5));
    assert!(ca.namespace.is_none() && ca.name.is_none() && ca.install.is_none());

    let ebs = &spec.bindings[1];
    assert_eq!(value(&ebs.preset), "ebs-csi");
    let opts: Vec<(String, Vec<String>)> = ebs.options.iter().map(|o| o.value.clone()).collect();
    assert_eq!(
        opts,
        [
            ("policy".to_string(), vec!["v2".to_string()]),
            (
                "kmsKeyArns".to_string(),
                vec![
                    "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
                        .to_string()
                ]
            ),
        ]
    );
    assert_eq!(ebs.options[1].pos, pos(11, 27));
    assert_eq!(ebs.options[1].path, "bindings[1].options.kmsKeyArns");

    let rep = &spec.bindings[2];
    assert_eq!(value(&rep.namespace), "apps");
    assert_eq!(value(&rep.name), "reporter");
    assert_eq!(rep.name.as_ref().unwrap().pos, pos(12, 21));
    assert_eq!(value(&rep.role.name), "reporter");
    assert_eq!(value(&rep.role.path), "/apps/");
    assert_eq!(rep.role.tags.len(), 2);
    assert_eq!(
        rep.managed_policies[0].value,
        "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    );
    assert_eq!(rep.inline_policies.len(), 1);
    let doc = &rep.inline_policies[0].value;
    assert_eq!(doc["Version"], "2012-10-17");
    assert_eq!(doc["Statement"][0]["Action"][0], "sqs:SendMessage");
    assert_eq!(
        doc["Statement"][0]["Resource"],
        "arn:aws:sqs:us-east-1:123456789012:reports"
    );
    assert_eq!(rep.inline_policies[0].pos, pos(20, 9));
    assert_eq!(rep.policy_files[0].value, "policies/extra.json");
    assert_eq!(value(&rep.audience), "reporter.example.com");
    assert_eq!(
        value(&rep.install),
        InstallSpec::Helm {
            repo: Some("https://charts.example.com".to_string()),
            chart: Some("reporter".to_string()),
            service_account_values: Some("app.serviceAccount".to_string()),
        }
    );

    let job = &spec.bindings[3];
    assert_eq!(value(&job.namespace), "batch");
    assert_eq!(value(&job.name), "nightly-job");
    assert!(value(&job.role_only));
    assert_eq!(
        job.managed_policies[0].value,
        "arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess"
    );
}

#[test]
fn reads_an_eksctl_cluster_config() {
    let spec = parse(Path::new("eksctl.yaml"), EKSCTL).unwrap();
    assert_eq!(spec.format, SpecFormat::Eksctl);
    assert_eq!(value(&spec.cluster.name), "prod-eu");
    assert_eq!(value(&spec.cluster.region), "eu-west-1");
    assert!(spec.cluster.account.is_none());
    assert!(value(&spec.cluster.with_oidc));
    assert_eq!(spec.defaults.tags[0].key.value, "cost-center");
    assert_eq!(spec.defaults.tags[0].value.value, "1234");
    // Four service accounts, and the vpc-cni add-on, which eksctl gives a role by default.
    assert_eq!(spec.bindings.len(), 5);
    let cni = &spec.bindings[4];
    assert_eq!(value(&cni.preset), "vpc-cni");
    assert_eq!(cni.path, "addons[0]");

    let ca = &spec.bindings[0];
    assert_eq!(ca.path, "iam.serviceAccounts[0]");
    assert_eq!(value(&ca.preset), "cluster-autoscaler");
    assert_eq!(ca.preset.as_ref().unwrap().pos, pos(20, 9));
    assert_eq!(value(&ca.name), "cluster-autoscaler");
    assert_eq!(value(&ca.namespace), "kube-system");
    assert_eq!(value(&ca.role.name), "eksctl-cluster-autoscaler-role");
    assert!(value(&ca.role_only));
    assert_eq!(ca.labels[0].key.value, "aws-usage");
    assert_eq!(ca.labels[0].value.value, "cluster-ops");

    assert_eq!(value(&spec.bindings[1].preset), "ebs-csi");
    assert!(spec.bindings[1].role_only.is_none());

    let s3 = &spec.bindings[2];
    assert!(s3.preset.is_none());
    assert_eq!(
        s3.managed_policies[0].value,
        "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    );
    assert_eq!(
        value(&s3.role.permissions_boundary),
        "arn:aws:iam::111122223333:policy/boundary"
    );
    assert_eq!(s3.role.tags[0].key.value, "Owner");
    assert_eq!(s3.role.tags[0].value.value, "John Doe");

    let cache = &spec.bindings[3];
    let doc = &cache.inline_policies[0].value;
    assert_eq!(doc["Statement"][0]["Action"][1], "dynamodb:BatchGetItem");
    assert_eq!(
        cache.inline_policies[0].path,
        "iam.serviceAccounts[3].attachPolicy"
    );
}

#[test]
fn reports_every_error_with_file_line_and_column() {
    assert_eq!(
        errors_of("errors.irsa.yaml", ERRORS),
        [
            "errors.irsa.yaml:3:11: cluster.region: \"us-east1\" is not an AWS region code: write it like `us-east-1`, `cn-north-1` or `us-gov-west-1`",
            "errors.irsa.yaml:4:12: cluster.account: \"12345\" is not an AWS account id: it must be exactly 12 digits (quote it in YAML to keep leading zeros)",
            "errors.irsa.yaml:6:10: defaults.tags.aws:owner: tag key \"aws:owner\" starts with `aws:`, which AWS reserves: choose another key",
            "errors.irsa.yaml:9:5: bindings[0].rol: unknown field `rol`; did you mean `role`? expected one of: serviceAccount, serviceAccountPattern, preset, options, role, policies, roleOnly, audience, identity, targetRoleArn, disableSessionTags, sessionPolicy, install",
            "errors.irsa.yaml:10:21: bindings[1].serviceAccount: namespace \"Apps\" is not a DNS-1123 label: use lowercase letters, digits and `-`, starting and ending with a letter or digit",
            "errors.irsa.yaml:12:13: bindings[1].role.name: \"a-role-name-that-is-far-too-long-for-iam-because-it-has-seventy-chars0\" is 70 characters; IAM role names are at most 64: shorten it (or leave `role.name` out to use irsa's generated name)",
            "errors.irsa.yaml:13:13: bindings[1].role.path: \"irsa/\" must start and end with `/` (for example `/` or `/irsa/`)",
            "errors.irsa.yaml:14:28: bindings[1].role.permissionsBoundary: \"arn:aws:iam::123456789012:role/not-a-policy\" is not an IAM policy ARN: expected arn:<partition>:iam::<account or aws>:policy/<name>",
            "errors.irsa.yaml:16:17: bindings[1].policies.managed[0]: `AmazonS3ReadOnlyAccess` is not an ARN: it must start with `arn:`; write an IAM policy ARN like arn:aws:iam::aws:policy/ReadOnlyAccess",
            "errors.irsa.yaml:17:13: bindings[2].preset: unknown preset `kube-proxy`; valid presets: cluster-autoscaler, efs-csi, ebs-csi, external-dns, cert-manager, aws-load-balancer-controller, karpenter, external-secrets, velero, vpc-cni, mountpoint-s3-csi, fsx-lustre-csi, amazon-managed-prometheus, cloudwatch-observability, aws-node-termination-handler, image-builder (see `irsa presets`)",
            "errors.irsa.yaml:19:15: bindings[3].roleOnly: expected true or false, found a string",
        ]
    );
}

#[test]
fn eksctl_errors_are_located_and_other_sections_ignored() {
    assert_eq!(
        errors_of("eksctl-errors.yaml", EKSCTL_ERRORS),
        [
            "eksctl-errors.yaml:16:7: iam.serviceAccounts[1].roleNmae: unknown field `roleNmae`; did you mean `roleName`? expected one of: metadata, attachPolicyARNs, wellKnownPolicies, attachPolicy, attachRoleARN, permissionsBoundary, roleName, roleOnly, tags, status, subjectPattern",
        ]
    );
}

#[test]
fn syntax_errors_and_empty_files() {
    assert_eq!(
        errors_of("x.yaml", "cluster: {name: demo\nbindings: []\n"),
        [
            "x.yaml:2:9: invalid YAML: while parsing a flow mapping, did not find expected ',' or '}'"
        ]
    );
    let e = errors_of(
        "x.yaml",
        "cluster: {name: a}\ncluster: {name: b}\nbindings: []\n",
    );
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("x.yaml:2:1: invalid YAML: duplicate mapping key"),
        "{e:?}"
    );
    assert_eq!(
        errors_of("x.yaml", ""),
        [
            "x.yaml:1:1: the file is empty: write a `cluster:` and `bindings:` (see `irsa render --help`), or leave out -f to use the default bundle"
        ]
    );
}

#[test]
fn structure_errors() {
    let text = "apiVersion: irsa/v2\ncluster: {name: demo, region: us-east-1}\nextra: 1\nbindings:\n  - serviceAccount: reporter\n    policies: {managed: [], inline: [1]}\n  - role: {name: x}\n";
    assert_eq!(
        errors_of("s.yaml", text),
        [
            "s.yaml:1:13: apiVersion: unsupported apiVersion `irsa/v2`; irsa reads `irsa/v1` or an eksctl ClusterConfig (`eksctl.io/v1alpha5`)",
            "s.yaml:3:1: extra: unknown field `extra`; expected one of: apiVersion, kind, cluster, defaults, bindings",
            "s.yaml:5:21: bindings[0].serviceAccount: \"reporter\" has no namespace; write NAMESPACE/NAME, e.g. kube-system/reporter",
            "s.yaml:6:38: bindings[0].policies.inline[0]: expected a policy document (a mapping with Version and Statement), found a number",
            "s.yaml:7:5: bindings[1]: a binding needs a `serviceAccount: NAMESPACE/NAME` or a `preset` (which brings its default service account)",
        ]
    );
}

#[test]
fn inline_policy_documents_are_validated() {
    let text = "cluster: {name: demo, region: us-east-1}\nbindings:\n  - serviceAccount: a/b\n    policies:\n      inline: {Version: \"2012-10-17\", Statement: [{Effect: Maybe, Action: s3:GetObject, Resource: \"*\"}]}\n";
    let e = errors_of("p.yaml", text);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("p.yaml:5:15: bindings[0].policies.inline: invalid policy document: "),
        "{e:?}"
    );
    assert!(e[0].contains("Effect"), "{e:?}");
    // A JSON string is accepted too.
    let text = "cluster: {name: demo, region: us-east-1}\nbindings:\n  - serviceAccount: a/b\n    policies:\n      inline: '{\"Version\": \"2012-10-17\", \"Statement\": {\"Effect\": \"Allow\", \"Action\": \"s3:GetObject\", \"Resource\": \"*\"}}'\n";
    let spec = parse(Path::new("p.yaml"), text).unwrap();
    assert_eq!(
        spec.bindings[0].inline_policies[0].value["Statement"]["Action"],
        "s3:GetObject"
    );
}

#[test]
fn unquoted_account_keeps_leading_zero() {
    let text = "cluster: {name: demo, region: us-east-1, account: 012345678901}\nbindings:\n  - preset: efs-csi\n";
    let spec = parse(Path::new("a.yaml"), text).unwrap();
    assert_eq!(value(&spec.cluster.account), "012345678901");
}

#[test]
fn install_forms() {
    let text = "cluster: {name: demo, region: us-east-1}\nbindings:\n  - preset: efs-csi\n    install: helm\n  - preset: ebs-csi\n    install: {addon: aws-ebs-csi-driver}\n  - preset: cert-manager\n    install: {addon: x, helm: {}}\n";
    assert_eq!(
        errors_of("i.yaml", text),
        ["i.yaml:8:14: bindings[2].install: choose one of `addon` and `helm`, not both"]
    );
    let spec = parse(Path::new("i.yaml"), &text.replace("addon: x, ", "")).unwrap();
    assert_eq!(
        value(&spec.bindings[0].install),
        InstallSpec::Helm {
            repo: None,
            chart: None,
            service_account_values: None
        }
    );
    assert_eq!(
        value(&spec.bindings[1].install),
        InstallSpec::Addon {
            settings: Default::default(),
            name: Some("aws-ebs-csi-driver".to_string())
        }
    );
}

#[test]
fn existing_role_and_service_account_pattern_in_irsa_yaml() {
    let text = "cluster: {name: demo, region: us-east-1}\nbindings:\n  - serviceAccount: media/uploader\n    role: {arn: \"arn:aws:iam::111122223333:role/team/uploader\"}\n  - serviceAccountPattern: jobs/batch-*\n    policies: {managed: [arn:aws:iam::aws:policy/ReadOnlyAccess]}\n";
    let spec = parse(Path::new("r.yaml"), text).unwrap();
    let up = &spec.bindings[0];
    assert_eq!(
        value(&up.role.arn),
        "arn:aws:iam::111122223333:role/team/uploader"
    );
    assert_eq!(up.role.arn.as_ref().unwrap().pos, pos(4, 17));
    assert_eq!(
        value(&spec.bindings[1].subject_pattern),
        "system:serviceaccount:jobs:batch-*"
    );
}

#[test]
fn an_existing_role_takes_no_policies_and_a_pattern_needs_a_namespace() {
    let text = "cluster: {name: demo, region: us-east-1}\nbindings:\n  - serviceAccount: media/uploader\n    role: {arn: \"arn:aws:iam::111122223333:role/uploader\", name: other}\n    policies: {managed: [arn:aws:iam::aws:policy/ReadOnlyAccess]}\n  - serviceAccountPattern: batch-*\n    policies: {managed: [arn:aws:iam::aws:policy/ReadOnlyAccess]}\n";
    assert_eq!(
        errors_of("r.yaml", text),
        [
            "r.yaml:4:66: bindings[0].role.name: the binding uses the existing role arn:aws:iam::111122223333:role/uploader (line 4), which irsa does not change: remove this, or remove the role ARN to let irsa create and own the role",
            "r.yaml:5:26: bindings[0].policies.managed[0]: the binding uses the existing role arn:aws:iam::111122223333:role/uploader (line 4), which irsa does not change: remove this, or remove the role ARN to let irsa create and own the role",
            "r.yaml:6:28: bindings[1].serviceAccountPattern: \"batch-*\" has no namespace; write NAMESPACE/NAME-PATTERN, e.g. apps/worker-*",
        ]
    );
}
