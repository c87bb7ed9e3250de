//! End-to-end tests of `irsa import` against the local sandbox, on a cluster set up the way
//! others set clusters up, made with boto3 (a real AWS client) against moto and the fake EKS:
//! an eksctl iamserviceaccount role (CloudFormation-style name, trust StringEquals on sub and
//! aud, eksctl's tags), an eksctl add-on role for aws-ebs-csi-driver, a role made the way
//! terraform-aws-modules/iam//modules/iam-role-for-service-accounts-eks makes it (one trust
//! statement per cluster in `oidc_providers`, values as lists, a customer-managed policy
//! attached, a role path), and an EKS Pod Identity association. The round trip: the imported
//! file planned with `--adopt` asks only for ownership tags and labels; applied, nothing is left.
//! And `irsa doctor` on the eksctl service account once it lost its annotation: the one role whose
//! trust names it is the fix, which `--fix` applies without a spec.

use std::process::Output;

use serde_json::{Value, json};
use testkit::fake_kube::resources::SERVICE_ACCOUNTS;

mod common;

use common::{Env, start, text};

const EKSCTL_ROLE: &str = "eksctl-demo-addon-iamserviceaccount-kube-sys-Role1-ABC123";
const EKSCTL_EBS_ROLE: &str = "eksctl-demo-addon-aws-ebs-csi-driver-Role1-DEF456";
const TERRAFORM_ROLE: &str = "reports-irsa";
const POD_IDENTITY_ROLE: &str = "worker-pod-identity";

/// Runs a boto3 snippet against the sandbox with the cluster's issuer as `ISSUER` (host/path)
/// and its ARN as `CLUSTER_ARN`.
fn boto3(env: &Env, script: &str) -> Value {
    let issuer = env
        .sandbox
        .issuer
        .trim_start_matches("https://")
        .to_string();
    let mut vars = env.sandbox.env();
    vars.push(("ISSUER".into(), issuer));
    vars.push(("CLUSTER_ARN".into(), env.sandbox.cluster_arn()));
    let prelude = "import os\n\
        ISSUER = os.environ['ISSUER']\n\
        CLUSTER_ARN = os.environ['CLUSTER_ARN']\n\
        iam = boto3.client('iam')\n\
        eks = boto3.client('eks')\n\
        PROVIDER = 'arn:aws:iam::123456789012:oidc-provider/' + ISSUER\n";
    testkit::boto3::run(&format!("{prelude}{script}"), &vars)
}

/// `eksctl utils associate-iam-oidc-provider`, then what eksctl and Terraform leave behind.
fn set_up_by_others(env: &Env, terraform_clusters: &[&str]) {
    set_up(env, terraform_clusters, true);
}

/// As [`set_up_by_others`]; `annotate_reader: false` leaves kube-system/s3-reader without its
/// role annotation (as after a `kubectl apply` of a manifest without it).
fn set_up(env: &Env, terraform_clusters: &[&str], annotate_reader: bool) {
    let providers: Vec<String> = terraform_clusters.iter().map(|c| c.to_string()).collect();
    let script = format!(
        r#"
iam.create_open_id_connect_provider(Url='https://' + ISSUER, ClientIDList=['sts.amazonaws.com'], ThumbprintList=['9e99a48a9960b14926bb7f3b02e22da2b0ab7280'])

def eksctl_trust(sa):
    # eksctl's CloudFormation template: the action as a list, aud then sub under StringEquals.
    return json.dumps({{'Version': '2012-10-17', 'Statement': [{{
        'Effect': 'Allow', 'Principal': {{'Federated': PROVIDER}},
        'Action': ['sts:AssumeRoleWithWebIdentity'],
        'Condition': {{'StringEquals': {{ISSUER + ':aud': 'sts.amazonaws.com', ISSUER + ':sub': 'system:serviceaccount:' + sa}}}}}}]}})

eksctl_tags = [{{'Key': 'alpha.eksctl.io/cluster-name', 'Value': 'demo'}}, {{'Key': 'alpha.eksctl.io/eksctl-version', 'Value': '0.200.0'}}]
iam.create_role(RoleName='{EKSCTL_ROLE}', AssumeRolePolicyDocument=eksctl_trust('kube-system:s3-reader'), Tags=eksctl_tags)
iam.attach_role_policy(RoleName='{EKSCTL_ROLE}', PolicyArn='arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess')
ebs = iam.create_role(RoleName='{EKSCTL_EBS_ROLE}', AssumeRolePolicyDocument=eksctl_trust('kube-system:ebs-csi-controller-sa'), Tags=eksctl_tags)['Role']['Arn']
iam.attach_role_policy(RoleName='{EKSCTL_EBS_ROLE}', PolicyArn='arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy')
eks.create_addon(clusterName='demo', addonName='aws-ebs-csi-driver', serviceAccountRoleArn=ebs)

# terraform-aws-modules/iam//modules/iam-role-for-service-accounts-eks: one statement per
# entry of oidc_providers, assume_role_condition_test (StringEquals) on sub and aud.
statements = []
for c in {providers:?}:
    cluster_issuer = ISSUER if c == 'demo' else ISSUER.rsplit('/', 1)[0] + '/' + c
    statements.append({{'Sid': '', 'Effect': 'Allow', 'Action': 'sts:AssumeRoleWithWebIdentity',
        'Principal': {{'Federated': 'arn:aws:iam::123456789012:oidc-provider/' + cluster_issuer}},
        'Condition': {{'StringEquals': {{cluster_issuer + ':sub': ['system:serviceaccount:apps:reports'], cluster_issuer + ':aud': ['sts.amazonaws.com']}}}}}})
iam.create_role(RoleName='{TERRAFORM_ROLE}', Path='/teams/', AssumeRolePolicyDocument=json.dumps({{'Version': '2012-10-17', 'Statement': statements}}), Tags=[{{'Key': 'terraform', 'Value': 'true'}}])
policy = iam.create_policy(PolicyName='reports-s3-20261201', PolicyDocument=json.dumps({{'Version': '2012-10-17', 'Statement': [{{'Effect': 'Allow', 'Action': ['s3:GetObject'], 'Resource': 'arn:aws:s3:::reports/*'}}]}}))['Policy']['Arn']
iam.attach_role_policy(RoleName='{TERRAFORM_ROLE}', PolicyArn=policy)

# EKS Pod Identity, the role scoped as the EKS user guide shows (pod-id-abac).
eks.create_addon(clusterName='demo', addonName='eks-pod-identity-agent')
worker = iam.create_role(RoleName='{POD_IDENTITY_ROLE}', AssumeRolePolicyDocument=json.dumps({{'Version': '2012-10-17', 'Statement': [{{
    'Sid': 'AllowEksAuthToAssumeRoleForPodIdentity', 'Effect': 'Allow',
    'Principal': {{'Service': 'pods.eks.amazonaws.com'}}, 'Action': ['sts:TagSession', 'sts:AssumeRole'],
    'Condition': {{'StringEquals': {{'aws:RequestTag/eks-cluster-arn': CLUSTER_ARN,
        'aws:RequestTag/kubernetes-namespace': 'apps', 'aws:RequestTag/kubernetes-service-account': 'worker'}}}}}}]}}))['Role']['Arn']
iam.attach_role_policy(RoleName='{POD_IDENTITY_ROLE}', PolicyArn='arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess')
eks.create_pod_identity_association(clusterName='demo', namespace='apps', serviceAccount='worker', roleArn=worker)
print(json.dumps({{'ebs': ebs, 'worker': worker}}))
"#
    );
    boto3(env, &script);
    let kube = &env.sandbox.kube;
    kube.insert_namespace("apps");
    let account_role =
        |path: &str, name: &str| format!("arn:aws:iam::123456789012:role{path}{name}");
    for (namespace, name, role, managed_by) in [
        (
            "kube-system",
            "s3-reader",
            Some(account_role("/", EKSCTL_ROLE)).filter(|_| annotate_reader),
            "eksctl",
        ),
        (
            "apps",
            "reports",
            Some(account_role("/teams/", TERRAFORM_ROLE)),
            "Terraform",
        ),
        ("apps", "worker", None, "Terraform"),
    ] {
        let annotations = match role {
            Some(arn) => json!({"eks.amazonaws.com/role-arn": arn}),
            None => json!({}),
        };
        kube.create(
            &SERVICE_ACCOUNTS,
            Some(namespace),
            json!({"metadata": {"name": name, "namespace": namespace,
                    "labels": {"app.kubernetes.io/managed-by": managed_by},
                    "annotations": annotations}}),
        )
        .unwrap_or_else(|e| panic!("seeding {namespace}/{name}: {e}"));
    }
}

fn import(env: &Env, extra: &[&str]) -> Output {
    let mut args = vec!["import", "--cluster", "demo", "-o", "imported.yaml"];
    args.extend_from_slice(extra);
    env.irsa(&args)
}

fn plan_json(env: &Env, extra: &[&str]) -> (Output, Value) {
    let mut args = vec!["plan", "-f", "imported.yaml", "--output", "json"];
    args.extend_from_slice(extra);
    let out = env.irsa(&args);
    let plan = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("plan JSON ({e}): {}", text(&out)));
    (out, plan)
}

fn written(env: &Env) -> String {
    std::fs::read_to_string(env.dir.join("imported.yaml")).expect("imported.yaml written")
}

#[test]
fn eksctl_terraform_and_pod_identity_round_trip() {
    let env = start();
    set_up_by_others(&env, &["demo"]);

    let out = import(&env, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let file = written(&env);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("wrote imported.yaml: 4 bindings"),
        "{}\n{file}",
        text(&out)
    );
    assert!(file.starts_with("# Written by `irsa import` from EKS cluster demo (us-east-1, account 123456789012), observed 20"), "{file}");
    for expected in [
        &format!("name: \"{EKSCTL_ROLE}\"") as &str,
        "preset: ebs-csi",
        "install: {addon: \"aws-ebs-csi-driver\"}",
        "path: \"/teams/\"",
        "\"arn:aws:iam::123456789012:policy/reports-s3-20261201\"",
        "identity: pod-identity",
    ] {
        assert!(file.contains(expected), "{expected} missing:\n{file}");
    }
    assert!(!file.contains("cannot round-trip"), "{file}");

    // An existing file is kept unless --force.
    let again = import(&env, &[]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("--force"),
        "{}",
        text(&again)
    );

    // Planned with --adopt: only ownership tags and labels.
    let (out, plan) = plan_json(&env, &["--adopt"]);
    assert_eq!(out.status.code(), Some(3), "{}\n{file}", text(&out));
    let steps = plan["steps"].as_array().unwrap();
    for step in steps {
        match step["step"].as_str().unwrap() {
            "tag-role" | "tag-pod-identity-association" => {
                let tags = step["tags"].as_object().unwrap();
                assert!(tags.keys().all(|k| k.starts_with("irsa.dev/")), "{step:#}");
            }
            "apply-service-account" => {
                assert_eq!(step["create"], false, "{step:#}");
                assert_eq!(step["annotations"], json!([]), "{step:#}");
                assert_eq!(
                    step["labels"],
                    json!([["app.kubernetes.io/managed-by", "irsa"]]),
                    "{step:#}"
                );
            }
            other => panic!("only tags and labels expected, got {other}: {step:#}\n{file}"),
        }
    }
    let count = |kind: &str| steps.iter().filter(|s| s["step"] == kind).count();
    assert_eq!(count("tag-role"), 4, "{plan:#}");
    assert_eq!(count("apply-service-account"), 3, "{plan:#}");
    assert_eq!(count("tag-pod-identity-association"), 1, "{plan:#}");

    // Applied, nothing is left, --adopt or not.
    let apply = env.irsa(&["apply", "-f", "imported.yaml", "--adopt", "--yes"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    let (out, plan) = plan_json(&env, &[]);
    assert_eq!(out.status.code(), Some(0), "{}\n{plan:#}", text(&out));
    assert_eq!(plan["steps"], json!([]));

    // --namespace and --identity narrow the file; --force overwrites.
    let narrow = import(
        &env,
        &[
            "--force",
            "--namespace",
            "apps",
            "--identity",
            "pod-identity",
        ],
    );
    assert_eq!(narrow.status.code(), Some(0), "{}", text(&narrow));
    let file = written(&env);
    assert_eq!(file.matches("  - serviceAccount:").count(), 1, "{file}");
    assert!(file.contains("serviceAccount: \"apps/worker\""), "{file}");
}

/// The Terraform module given two clusters writes a statement for each; irsa.yaml is one
/// cluster's, so the file says it cannot round-trip and the plan's conflict names the other
/// cluster's statement instead of taking it away.
#[test]
fn a_trust_for_two_clusters_is_a_comment_and_a_conflict() {
    let env = start();
    set_up_by_others(&env, &["demo", "OTHERCLUSTER"]);
    let out = import(&env, &["--namespace", "apps", "--identity", "irsa"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let file = written(&env);
    assert!(
        file.contains("# cannot round-trip: the role's trust admits others than apps/reports"),
        "{file}"
    );
    assert!(
        file.contains("Statement[1]") && file.contains("id/OTHERCLUSTER"),
        "{file}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("1 with comments to read"),
        "{}",
        text(&out)
    );

    let (out, plan) = plan_json(&env, &["--adopt"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let conflict = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["mark"] == "conflict")
        .unwrap_or_else(|| panic!("a conflict: {plan:#}"));
    assert!(
        conflict["name"]
            .as_str()
            .unwrap()
            .ends_with("role/teams/reports-irsa"),
        "{conflict:#}"
    );
    let details = conflict["details"].to_string();
    assert!(
        details.contains("Statement[1]") && details.contains("id/OTHERCLUSTER"),
        "{conflict:#}"
    );
    let refused = env.irsa(&["apply", "-f", "imported.yaml", "--adopt", "--yes"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
}

#[test]
fn doctor_finds_the_role_of_a_service_account_that_lost_its_annotation() {
    let env = start();
    set_up(&env, &["demo"], false);
    let subject = [
        "doctor",
        "--cluster",
        "demo",
        "--namespace",
        "kube-system",
        "--service-account",
        "s3-reader",
    ];
    let out = env.irsa(&[&subject[..], &["--output", "json"]].concat());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let lost = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "DOC021")
        .unwrap_or_else(|| panic!("DOC021: {report:#}"));
    let arn = format!("arn:aws:iam::123456789012:role/{EKSCTL_ROLE}");
    assert_eq!(
        lost["fix"]["action"]["step"]["annotations"],
        json!([["eks.amazonaws.com/role-arn", arn]]),
        "{lost:#}"
    );
    assert!(
        lost["fix"]["summary"]
            .as_str()
            .unwrap()
            .contains(EKSCTL_ROLE),
        "{lost:#}"
    );

    let fixed = env.irsa(&[&subject[..], &["--fix", "--yes", "--output", "json"]].concat());
    let report: Value = serde_json::from_slice(&fixed.stdout)
        .unwrap_or_else(|e| panic!("doctor JSON ({e}): {}", text(&fixed)));
    assert_eq!(fixed.status.code(), Some(0), "{}\n{report:#}", text(&fixed));
    let sa = env
        .sandbox
        .kube
        .get(&SERVICE_ACCOUNTS, Some("kube-system"), "s3-reader")
        .unwrap();
    assert_eq!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        arn.as_str()
    );
}
