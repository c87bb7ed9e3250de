//! The eksctl reader field by field, on fixtures written after the shapes of eksctl's user docs
//! (iamserviceaccounts, pod-identity-associations, addons, karpenter) and its v1alpha5 types.

use std::path::Path;

use crate::desired::{self, ResolveInput};
use crate::identity::Kind as Identity;
use crate::spec::{InstallSpec, Spec, parse};

const IAM: &str = include_str!("../../../tests/fixtures/eksctl-iam.yaml");

fn spec() -> Spec {
    parse(Path::new("eksctl-iam.yaml"), IAM).unwrap()
}

fn errors_of(text: &str) -> Vec<String> {
    parse(Path::new("c.yaml"), text)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn binding<'s>(spec: &'s Spec, path: &str) -> &'s crate::spec::BindingSpec {
    spec.bindings
        .iter()
        .find(|b| b.path == path)
        .unwrap_or_else(|| panic!("no binding at {path}"))
}

const HEAD: &str = "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata: {name: demo, region: us-east-1}\n";

#[test]
fn with_oidc_alone_is_a_spec_for_the_provider_only() {
    let text = format!(
        "{HEAD}iam:\n  withOIDC: true\n  serviceRoleARN: arn:aws:iam::111122223333:role/x\n"
    );
    let spec = parse(Path::new("c.yaml"), &text).unwrap();
    assert!(spec.bindings.is_empty());
    let state = desired::resolve(&spec, &ResolveInput::default(), &|_| unreachable!()).unwrap();
    assert!(state.with_oidc && state.bindings.is_empty());
    // Without withOIDC and without identities there is nothing to set up.
    let e = errors_of(&format!("{HEAD}vpc: {{cidr: 10.0.0.0/16}}\n"));
    assert_eq!(e.len(), 1);
    assert!(e[0].contains("sets up no workload identity"), "{e:?}");
}

#[test]
fn service_account_metadata_existing_role_and_subject_pattern() {
    let spec = spec();
    let up = binding(&spec, "iam.serviceAccounts[0]");
    assert_eq!(
        up.role.arn.as_ref().unwrap().value,
        "arn:aws:iam::111122223333:role/media-uploader"
    );
    assert_eq!(up.labels[0].key.value, "team");
    assert_eq!(up.annotations[0].value.value, "media-team");
    let batch = binding(&spec, "iam.serviceAccounts[1]");
    assert_eq!(
        batch.subject_pattern.as_ref().unwrap().value,
        "system:serviceaccount:jobs:batch-*"
    );
}

#[test]
fn pod_identity_associations_every_field() {
    let spec = spec();
    let s3 = binding(&spec, "iam.podIdentityAssociations[0]");
    assert_eq!(s3.identity.as_ref().unwrap().value, Identity::PodIdentity);
    assert_eq!(
        s3.role.arn.as_ref().unwrap().value,
        "arn:aws:iam::111122223333:role/s3-reader"
    );
    assert!(
        !s3.role_only.as_ref().unwrap().value,
        "createServiceAccount: true"
    );
    let dyn_ = binding(&spec, "iam.podIdentityAssociations[1]");
    assert_eq!(dyn_.role.name.as_ref().unwrap().value, "dynamo-writer-role");
    assert_eq!(
        dyn_.managed_policies[0].value,
        "arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess"
    );
    assert_eq!(
        dyn_.role.permissions_boundary.as_ref().unwrap().value,
        "arn:aws:iam::111122223333:policy/boundary"
    );
    assert_eq!(dyn_.role.tags[0].key.value, "app");
    assert_eq!(
        dyn_.pod_identity.target_role_arn.as_ref().unwrap().value,
        "arn:aws:iam::444455556666:role/dynamo-target"
    );
    assert!(
        dyn_.pod_identity
            .disable_session_tags
            .as_ref()
            .unwrap()
            .value
    );
    // eksctl's default: the association only, the workload makes its service account.
    assert!(dyn_.role_only.as_ref().unwrap().value);
    let dns = binding(&spec, "iam.podIdentityAssociations[2]");
    assert_eq!(dns.preset.as_ref().unwrap().value, "external-dns");
}

#[test]
fn addons_with_roles_settings_and_defaults() {
    let spec = spec();
    // vpc-cni gets its role by default (as eksctl does on a withOIDC cluster); coredns none.
    let cni = binding(&spec, "addons[0]");
    assert_eq!(cni.preset.as_ref().unwrap().value, "vpc-cni");
    assert!(
        spec.bindings
            .iter()
            .all(|b| !b.path.starts_with("addons[1]"))
    );
    let ebs = binding(&spec, "addons[2]");
    assert_eq!(
        ebs.role.arn.as_ref().unwrap().value,
        "arn:aws:iam::111122223333:role/ebs-csi"
    );
    assert_eq!(ebs.name.as_ref().unwrap().value, "ebs-csi-controller-sa");
    let Some(InstallSpec::Addon { name, settings }) = ebs.install.as_ref().map(|i| &i.value) else {
        panic!("ebs is an add-on")
    };
    assert_eq!(name.as_deref(), Some("aws-ebs-csi-driver"));
    assert_eq!(settings.version.as_deref(), Some("v1.40.0-eksbuild.1"));
    assert_eq!(settings.resolve_conflicts.as_deref(), Some("OVERWRITE"));
    // YAML configuration values become JSON, as eksctl sends them.
    assert_eq!(
        settings.configuration_values.as_deref(),
        Some(r#"{"controller":{"replicaCount":1}}"#)
    );
    let efs = binding(&spec, "addons[3]");
    assert_eq!(efs.preset.as_ref().unwrap().value, "efs-csi");
    assert_eq!(efs.identity.as_ref().unwrap().value, Identity::PodIdentity);
    let cw = binding(&spec, "addons[4].podIdentityAssociations[0]");
    assert_eq!(cw.identity.as_ref().unwrap().value, Identity::PodIdentity);
    assert_eq!(cw.name.as_ref().unwrap().value, "cloudwatch-agent");
    assert!(
        cw.role_only.is_none(),
        "the add-on creates its service account"
    );
    let Some(InstallSpec::Addon { settings, .. }) = cw.install.as_ref().map(|i| &i.value) else {
        panic!("cloudwatch is an add-on")
    };
    assert_eq!(
        settings.configuration_values.as_deref(),
        Some(r#"{"agent":{"mode":"cluster"}}"#)
    );
}

#[test]
fn several_well_known_policies_give_one_role_all_their_policies() {
    // As in eksctl's pod-identity example: one entry turning on two well-known policies.
    let text = format!(
        "{HEAD}iam:\n  podIdentityAssociations:\n    - namespace: dev\n      serviceAccountName: app\n      wellKnownPolicies: {{autoScaler: true, externalDNS: true}}\n"
    );
    let spec = parse(Path::new("c.yaml"), &text).unwrap();
    let b = &spec.bindings[0];
    assert_eq!(b.preset.as_ref().unwrap().value, "cluster-autoscaler");
    assert_eq!(b.extra_presets[0].value, "external-dns");
    let state = desired::resolve(&spec, &ResolveInput::default(), &|_| unreachable!()).unwrap();
    let documents: String = state.bindings[0]
        .policies
        .iter()
        .map(|p| p.document.to_string())
        .collect();
    assert!(
        documents.contains("autoscaling:SetDesiredCapacity"),
        "{documents}"
    );
    assert!(
        documents.contains("route53:ChangeResourceRecordSets"),
        "{documents}"
    );
    assert_eq!(state.bindings[0].service_account, "app");
}

#[test]
fn an_ipv6_cluster_gives_the_vpc_cni_its_ipv6_policy() {
    let text =
        format!("{HEAD}kubernetesNetworkConfig: {{ipFamily: IPv6}}\naddons:\n  - name: vpc-cni\n");
    let spec = parse(Path::new("c.yaml"), &text).unwrap();
    assert_eq!(
        spec.bindings[0].options[0].value,
        ("ipFamily".to_string(), vec!["ipv6".to_string()])
    );
    let state = desired::resolve(&spec, &ResolveInput::default(), &|_| unreachable!()).unwrap();
    let cni = &state.bindings[0];
    assert!(
        cni.managed_policy_arns.is_empty(),
        "{:?}",
        cni.managed_policy_arns
    );
    assert!(
        cni.policies[0]
            .document
            .to_string()
            .contains("ec2:AssignIpv6Addresses")
    );
}

#[test]
fn auto_apply_pod_identity_gives_default_addons_pod_identity() {
    let text = format!(
        "{HEAD}addonsConfig: {{autoApplyPodIdentityAssociations: true}}\naddons:\n  - name: aws-ebs-csi-driver\n  - name: kube-proxy\n"
    );
    let spec = parse(Path::new("c.yaml"), &text).unwrap();
    assert_eq!(spec.bindings.len(), 1);
    assert_eq!(spec.bindings[0].preset.as_ref().unwrap().value, "ebs-csi");
    assert_eq!(
        spec.bindings[0].identity.as_ref().unwrap().value,
        Identity::PodIdentity
    );
}

#[test]
fn karpenter_binding_with_interruption_queue() {
    let spec = spec();
    let k = binding(&spec, "karpenter");
    assert_eq!(k.preset.as_ref().unwrap().value, "karpenter");
    assert_eq!(k.namespace.as_ref().unwrap().value, "karpenter");
    assert!(!k.role_only.as_ref().unwrap().value);
    assert_eq!(
        k.options[0].value,
        (
            "interruptionQueueName".to_string(),
            vec!["shop".to_string()]
        )
    );
    let input = ResolveInput {
        account: Some("111122223333".to_string()),
        ..Default::default()
    };
    let state = desired::resolve(&spec, &input, &|_| unreachable!()).unwrap();
    let karpenter = state
        .bindings
        .iter()
        .find(|b| b.preset == Some("karpenter"))
        .unwrap();
    let doc = karpenter.policies[0].document.to_string();
    assert!(
        doc.contains("arn:aws:sqs:us-west-2:111122223333:shop"),
        "{doc}"
    );
}

#[test]
fn the_whole_fixture_resolves() {
    let input = ResolveInput {
        account: Some("111122223333".to_string()),
        ..Default::default()
    };
    let state = desired::resolve(&spec(), &input, &|_| unreachable!()).unwrap();
    let uploader = state
        .bindings
        .iter()
        .find(|b| b.service_account == "uploader")
        .unwrap();
    assert_eq!(
        uploader.role.external_arn.as_deref(),
        Some("arn:aws:iam::111122223333:role/media-uploader")
    );
    assert_eq!(uploader.role.name, "media-uploader");
    assert!(uploader.role.tags.is_empty() && uploader.policies.is_empty());
    assert!(uploader.create_service_account);
    let ebs = state
        .bindings
        .iter()
        .find(|b| b.service_account == "ebs-csi-controller-sa")
        .unwrap();
    assert!(
        ebs.managed_policy_arns.is_empty(),
        "an existing role gets no preset policies"
    );
    assert_eq!(
        ebs.addon_settings.resolve_conflicts.as_deref(),
        Some("OVERWRITE")
    );
    let batch = state
        .bindings
        .iter()
        .find(|b| b.service_account == "batch")
        .unwrap();
    assert_eq!(
        batch.subject_pattern.as_deref(),
        Some("system:serviceaccount:jobs:batch-*")
    );
}

#[test]
fn every_invalid_value_is_reported_and_only_those() {
    let text = format!(
        "{HEAD}iam:
  serviceAccounts:
    - metadata: {{name: a, namespace: apps}}
      attachRoleARN: arn:aws:iam::11111:role/a
    - metadata: {{name: b, namespace: apps}}
      attachRoleARN: arn:aws:iam::111122223333:role/b
      attachPolicyARNs: [arn:aws:iam::aws:policy/ReadOnlyAccess]
    - metadata: {{name: c, namespace: apps}}
      attachPolicyARNs: [arn:aws:iam::aws:policy/ReadOnlyAccess]
      subjectPattern: system:serviceaccount:apps:c
  podIdentityAssociations:
    - namespace: apps
      serviceAccountName: d
      roleARN: arn:aws:iam::account:role/d
addons:
  - name: aws-ebs-csi-driver
    resolveConflicts: sometimes
    configurationValues: '[1, 2]'
"
    );
    let e = errors_of(&text);
    let starts = [
        "c.yaml:7:22: iam.serviceAccounts[0].attachRoleARN: `arn:aws:iam::11111:role/a` has an invalid account id `11111`",
        "c.yaml:10:26: iam.serviceAccounts[1].attachPolicyARNs[0]: the binding uses the existing role arn:aws:iam::111122223333:role/b (line 9), which irsa does not change",
        "c.yaml:13:23: iam.serviceAccounts[2].subjectPattern: \"system:serviceaccount:apps:c\" has no wildcard",
        "c.yaml:17:16: iam.podIdentityAssociations[0].roleARN: `arn:aws:iam::account:role/d` has an invalid account id `account`",
        "c.yaml:20:23: addons[0].resolveConflicts: `sometimes` is not a resolveConflicts value: use none, overwrite or preserve",
        "c.yaml:21:26: addons[0].configurationValues: the add-on's configuration values must be a mapping",
    ];
    assert_eq!(e.len(), starts.len(), "{e:#?}");
    for (error, start) in e.iter().zip(starts) {
        assert!(
            error.starts_with(start),
            "{error}\n  should start with\n{start}"
        );
    }
}

#[test]
fn unknown_keys_in_iam_entries_are_errors() {
    let text = format!(
        "{HEAD}iam:\n  podIdentityAssociations:\n    - namespace: a\n      serviceAccountName: b\n      roleArn: arn:aws:iam::111122223333:role/x\n"
    );
    let e = errors_of(&text);
    assert!(
        e[0].contains("unknown field `roleArn`; did you mean `roleARN`?"),
        "{e:#?}"
    );
}

#[test]
fn an_addon_takes_irsa_fields_or_pod_identity_not_both() {
    let text = format!(
        "{HEAD}addons:\n  - name: aws-ebs-csi-driver\n    serviceAccountRoleARN: arn:aws:iam::111122223333:role/ebs\n    useDefaultPodIdentityAssociations: true\n  - name: metrics-server\n    useDefaultPodIdentityAssociations: true\n"
    );
    let e = errors_of(&text);
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(
        e[0].starts_with("c.yaml:5:11: addons[0]: the IRSA fields"),
        "{e:#?}"
    );
    assert!(
        e[1].starts_with(
            "c.yaml:8:11: addons[1].name: irsa has no preset for add-on metrics-server"
        ),
        "{e:#?}"
    );
}
