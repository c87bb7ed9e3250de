//! End-to-end: an eksctl ClusterConfig with an existing role (`attachRoleARN`), a Pod Identity
//! association on an existing role (`roleARN`) and an add-on with `configurationValues`,
//! `version` and `resolveConflicts`, rendered, planned and applied in the sandbox (moto, the
//! fake EKS API, the fake cluster, read back with the SDK and the real kubectl); `--adopt` adds
//! only the missing trust statement, and destroy leaves both existing roles as they were.

use std::process::Command;

use irsa_core::steps::Step;
use serde_json::{Value, json};

mod common;

use common::{Env, start, text};

const UPLOADER: &str = "arn:aws:iam::123456789012:role/team/media-uploader";
const READER: &str = "arn:aws:iam::123456789012:role/team/media-reader";
const EBS_VALUES: &str = r#"{"controller":{"replicaCount":1}}"#;

fn config() -> String {
    format!(
        "apiVersion: eksctl.io/v1alpha5
kind: ClusterConfig
metadata:
  name: demo
  region: us-east-1
managedNodeGroups:
  - name: ng-1
    instanceType: m5.large
iam:
  withOIDC: true
  serviceAccounts:
    - metadata:
        name: uploader
        namespace: media
        labels: {{team: media}}
      attachRoleARN: {UPLOADER}
  podIdentityAssociations:
    - namespace: media
      serviceAccountName: reader
      createServiceAccount: true
      roleARN: {READER}
addons:
  - name: coredns
  - name: aws-ebs-csi-driver
    version: v1.37.0-eksbuild.1
    resolveConflicts: overwrite
    configurationValues: |-
      controller:
        replicaCount: 1
"
    )
}

fn write_config(env: &Env) -> String {
    let path = env.dir.join("cluster.yaml");
    std::fs::write(&path, config()).unwrap();
    path.display().to_string()
}

fn ec2_trust() -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]})
}

/// The two roles a team made before irsa: the uploader's trusts EC2 only, the reader's trusts
/// EKS Pod Identity as the EKS user guide writes it.
fn plant_team_roles(env: &Env) {
    let pods = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}]});
    for (name, trust) in [("media-uploader", ec2_trust()), ("media-reader", pods)] {
        env.step(Step::CreateRole {
            name: name.into(),
            path: "/team/".into(),
            trust_policy: trust,
            permissions_boundary: None,
            tags: Default::default(),
        });
        env.step(Step::AttachRolePolicy {
            role_name: name.into(),
            policy_arn: "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess".into(),
        });
    }
}

/// The role's trust policy and attached policies, as IAM (moto) has them.
fn role_state(env: &Env, name: &str) -> (Value, Vec<String>) {
    let clients = env.clients_at(&env.sandbox.moto.endpoint());
    env.runtime.block_on(async {
        let role = clients.iam.get_role().role_name(name).send().await.unwrap();
        let document = role.role().unwrap().assume_role_policy_document().unwrap();
        let decoded = iam_policy::document::decode_document_text(document)
            .unwrap()
            .to_string();
        let attached = clients
            .iam
            .list_attached_role_policies()
            .role_name(name)
            .send()
            .await
            .unwrap();
        let arns = attached
            .attached_policies()
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_string))
            .collect();
        (serde_json::from_str(&decoded).unwrap(), arns)
    })
}

fn plan_json(env: &Env, spec: &str, extra: &[&str]) -> (Option<i32>, Value) {
    let mut args = vec!["plan", "-f", spec, "--output", "json"];
    args.extend_from_slice(extra);
    let out = env.irsa(&args);
    let plan = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("plan JSON ({e}): {}", text(&out)));
    (out.status.code(), plan)
}

fn item<'p>(plan: &'p Value, kind: &str, name: &str) -> &'p Value {
    plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == kind && i["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}: {plan:#}"))
}

/// The service account as the real kubectl reads it from the fake cluster (`IRSA_TEST_KUBECTL`,
/// which `scripts/test` sets to Debian's, else the one on PATH).
fn kubectl_service_account(env: &Env, namespace: &str, name: &str) -> Value {
    let kubectl = std::env::var_os("IRSA_TEST_KUBECTL").unwrap_or_else(|| "kubectl".into());
    let out = Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(env.dir.join("kubeconfig"))
        .args(["get", "serviceaccount", name, "-n", namespace, "-o", "json"])
        .output()
        .expect("kubectl runs");
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn eksctl_config_renders_with_addon_settings_and_existing_roles() {
    let env = start();
    let spec = write_config(&env);
    let out_dir = env.dir.join("rendered");
    let run = env.irsa(&[
        "render",
        "-f",
        &spec,
        "--account",
        "123456789012",
        "--issuer",
        &env.sandbox.issuer,
        "--out",
        &out_dir.display().to_string(),
        "--output",
        "json",
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let summary_file = out_dir.join(irsa_core::render::SUMMARY_FILE);
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(summary_file).unwrap()).unwrap();
    let bindings = summary["bindings"].as_array().unwrap();
    let uploader = bindings
        .iter()
        .find(|b| b["serviceAccount"] == "uploader")
        .unwrap();
    assert_eq!(uploader["roleArn"], UPLOADER);
    assert_eq!(uploader["roleManaged"], false);
    let addon_file = out_dir.join("kube-system.ebs-csi-controller-sa/eks-addon.json");
    let addon: Value =
        serde_json::from_str(&std::fs::read_to_string(&addon_file).unwrap()).unwrap();
    assert_eq!(addon["configurationValues"], EBS_VALUES);
    assert_eq!(addon["addonVersion"], "v1.37.0-eksbuild.1");
    assert_eq!(addon["resolveConflicts"], "OVERWRITE");
    // coredns needs no AWS permissions: no binding for it.
    assert_eq!(bindings.len(), 3, "{summary:#}");
}

#[test]
fn eksctl_config_plans_a_trust_conflict_then_applies_with_adopt_and_destroys_nothing_foreign() {
    let env = start();
    let spec = write_config(&env);
    plant_team_roles(&env);

    // The uploader's trust does not admit media/uploader: a conflict with the statement to add.
    let (code, plan) = plan_json(&env, &spec, &[]);
    assert_eq!(code, Some(1), "conflicts: {plan:#}");
    let conflict = item(&plan, "role", UPLOADER);
    assert_eq!(conflict["mark"], "conflict");
    let details: Vec<&str> = conflict["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert!(
        details[0].contains("does not admit media/uploader"),
        "{details:?}"
    );
    let statement: Value = serde_json::from_str(&details[1..].join("\n")).unwrap();
    let issuer = env
        .sandbox
        .issuer
        .trim_start_matches("https://")
        .to_string();
    assert_eq!(
        statement["Condition"]["StringEquals"][format!("{issuer}:sub")],
        "system:serviceaccount:media:uploader"
    );
    // The reader's trust admits Pod Identity already.
    assert_eq!(item(&plan, "role", READER)["mark"], "unchanged");

    let apply = env.irsa(&["apply", "-f", &spec, "--adopt", "--yes"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));

    // --adopt added exactly that statement; the role keeps its own statement and policy.
    let (trust, attached) = role_state(&env, "media-uploader");
    assert_eq!(trust["Statement"][0], ec2_trust()["Statement"][0]);
    assert_eq!(trust["Statement"][1], statement);
    assert_eq!(trust["Statement"].as_array().unwrap().len(), 2);
    assert_eq!(attached, ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]);

    let sa = kubectl_service_account(&env, "media", "uploader");
    assert_eq!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        UPLOADER
    );
    assert_eq!(sa["metadata"]["labels"]["team"], "media");
    kubectl_service_account(&env, "media", "reader");
    let associations = env.sandbox.associations().of_cluster("demo");
    let reader = associations
        .iter()
        .find(|a| a.service_account == "reader")
        .unwrap_or_else(|| panic!("{associations:#?}"));
    assert_eq!(reader.role_arn, READER);

    // The add-on got its settings and the role eksctl would give it by default.
    let clients = env.clients_at(&env.sandbox.moto.endpoint());
    let addon = env.runtime.block_on(async {
        clients
            .eks
            .describe_addon()
            .cluster_name("demo")
            .addon_name("aws-ebs-csi-driver")
            .send()
            .await
            .unwrap()
    });
    let addon = addon.addon().unwrap();
    assert_eq!(addon.configuration_values(), Some(EBS_VALUES));
    assert_eq!(addon.addon_version(), Some("v1.37.0-eksbuild.1"));
    assert_eq!(
        addon.service_account_role_arn(),
        Some("arn:aws:iam::123456789012:role/irsa-demo-kube-system-ebs-csi-controller-sa")
    );

    // Converged: the second plan changes nothing.
    let (code, again) = plan_json(&env, &spec, &[]);
    assert_eq!(code, Some(0), "{again:#}");

    // Someone changes the add-on's configuration: the plan puts the spec's back.
    env.step(Step::UpdateAddon {
        cluster: "demo".into(),
        name: "aws-ebs-csi-driver".into(),
        identity: irsa_core::steps::AddonIdentity::ServiceAccountRole {
            role_arn: addon.service_account_role_arn().unwrap().to_string(),
        },
        settings: irsa_core::steps::AddonSettings {
            configuration_values: Some(r#"{"controller":{"replicaCount":3}}"#.into()),
            ..Default::default()
        },
    });
    let (code, drift) = plan_json(&env, &spec, &[]);
    assert_eq!(code, Some(3), "{drift:#}");
    let details = item(&drift, "eks-addon", "aws-ebs-csi-driver")["details"].to_string();
    assert!(details.contains("configuration values"), "{details}");
    let repair = env.irsa(&["apply", "-f", &spec, "--yes"]);
    assert_eq!(repair.status.code(), Some(0), "{}", text(&repair));
    let (code, again) = plan_json(&env, &spec, &[]);
    assert_eq!(code, Some(0), "{again:#}");

    let destroy = env.irsa(&["destroy", "-f", &spec, "--yes"]);
    assert_eq!(destroy.status.code(), Some(0), "{}", text(&destroy));
    for name in ["media-uploader", "media-reader"] {
        let (trust, attached) = role_state(&env, name);
        assert!(!trust["Statement"].as_array().unwrap().is_empty(), "{name}");
        assert_eq!(
            attached,
            ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"],
            "{name}"
        );
    }
    let (trust, _) = role_state(&env, "media-uploader");
    assert_eq!(
        trust["Statement"].as_array().unwrap().len(),
        2,
        "destroy leaves the trust as it is"
    );
}

#[test]
fn with_oidc_alone_applies_the_provider_and_nothing_else() {
    let env = start();
    let path = env.dir.join("oidc.yaml");
    std::fs::write(
        &path,
        "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata: {name: demo, region: us-east-1}\niam: {withOIDC: true}\nnodeGroups: [{name: ng-1}]\n",
    )
    .unwrap();
    let spec = path.display().to_string();
    let (code, plan) = plan_json(&env, &spec, &[]);
    assert_eq!(code, Some(3), "{plan:#}");
    let kinds: Vec<&str> = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["oidc-provider"]);
    let apply = env.irsa(&["apply", "-f", &spec, "--yes"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    let clients = env.clients_at(&env.sandbox.moto.endpoint());
    let providers = env.runtime.block_on(async {
        clients
            .iam
            .list_open_id_connect_providers()
            .send()
            .await
            .unwrap()
    });
    assert_eq!(providers.open_id_connect_provider_list().len(), 1);
    let (code, again) = plan_json(&env, &spec, &[]);
    assert_eq!(code, Some(0), "{again:#}");
}
