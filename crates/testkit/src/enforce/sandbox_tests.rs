//! `--enforce-iam` end to end with boto3 (a real AWS client): moto's own services, and each fake
//! (EKS add-ons and Pod Identity, EKS Auth, CloudTrail LookupEvents), each allowed and denied in
//! its service's wire format, on one sandbox.

use serde_json::{Value, json};

use crate::boto3;
use crate::sandbox::{ENFORCED_USER, SANDBOX_ACCOUNT, Sandbox, SandboxOptions};

const CLUSTER: &str = "arn:aws:eks:us-east-1:123456789012:cluster/demo";

/// Roles by name and path, EKS by cluster ARN, a Pod Identity association only with irsa's tag.
fn policy() -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["iam:GetRole", "iam:CreateRole"],
         "Resource": format!("arn:aws:iam::{SANDBOX_ACCOUNT}:role/irsa-demo-*")},
        {"Effect": "Allow", "Action": ["eks:DescribeCluster", "eks:ListAddons", "eks:ListPodIdentityAssociations"],
         "Resource": CLUSTER},
        {"Effect": "Allow", "Action": "eks:CreatePodIdentityAssociation", "Resource": CLUSTER,
         "Condition": {"StringEquals": {"aws:RequestTag/irsa.dev/managed-by": "irsa"}}},
        {"Effect": "Allow", "Action": "eks-auth:AssumeRoleForPodIdentity", "Resource": CLUSTER},
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": format!("arn:aws:iam::{SANDBOX_ACCOUNT}:role/irsa-demo-*"),
         "Condition": {"StringEquals": {"iam:PassedToService": "pods.eks.amazonaws.com"}}},
        {"Effect": "Allow", "Action": "cloudtrail:LookupEvents", "Resource": "*"}
    ]})
}

fn start(dir: &std::path::Path, runtime: &tokio::runtime::Runtime) -> Sandbox {
    runtime
        .block_on(Sandbox::start(SandboxOptions {
            cluster: "demo".into(),
            region: "us-east-1".into(),
            kubeconfig: dir.join("kubeconfig"),
            enforce_iam: Some(policy()),
        }))
        .unwrap()
}

/// Each call of `script`'s `calls` as `{name: answer or err(e)}`.
const CALLS: &str = r#"
out = {}
for name, call in calls:
    try:
        call()
        out[name] = "ok"
    except botocore.exceptions.ClientError as e:
        out[name] = err(e)
print(json.dumps(out))
"#;

fn denied(status: u16, code: &str, action: &str, resource: &str) -> Value {
    json!({"error": code, "status": status, "message": format!(
        "User: arn:aws:iam::{SANDBOX_ACCOUNT}:user/{ENFORCED_USER} is not authorized to perform: {action} on resource: {resource} because no identity-based policy allows the {action} action")})
}

#[test]
fn every_service_checks_the_enforced_users_policy() {
    let dir = std::env::temp_dir().join(format!("irsa-enforce-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut sandbox = start(&dir, &runtime);
    let caller = sandbox.caller.clone().expect("the enforced user");
    assert!(caller.access_key_id.starts_with("AKIA"), "{caller:?}");
    let env = sandbox.env();
    assert!(env.contains(&("AWS_ACCESS_KEY_ID".into(), caller.access_key_id.clone())));
    let script = format!(
        r#"
trust = json.dumps({{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Principal": {{"Service": "pods.eks.amazonaws.com"}}, "Action": ["sts:AssumeRole", "sts:TagSession"]}}]}})
iam, eks = boto3.client("iam"), boto3.client("eks")
role = "arn:aws:iam::123456789012:role/irsa-demo-app"
calls = [
    ("whoami", lambda: out.update(arn=boto3.client("sts").get_caller_identity()["Arn"])),
    ("create_role", lambda: iam.create_role(RoleName="irsa-demo-app", AssumeRolePolicyDocument=trust)),
    ("create_other_role", lambda: iam.create_role(RoleName="other-app", Path="/team/", AssumeRolePolicyDocument=trust)),
    ("get_role", lambda: iam.get_role(RoleName="irsa-demo-app")),
    ("delete_role", lambda: iam.delete_role(RoleName="irsa-demo-app")),
    ("list_users", lambda: iam.list_users()),
    ("describe_cluster", lambda: eks.describe_cluster(name="demo")),
    ("list_nodegroups", lambda: eks.list_nodegroups(clusterName="demo")),
    ("list_addons", lambda: eks.list_addons(clusterName="demo")),
    ("create_addon", lambda: eks.create_addon(clusterName="demo", addonName="vpc-cni")),
    ("describe_addon_versions", lambda: eks.describe_addon_versions(addonName="vpc-cni")),
    ("associate_tagged", lambda: out.update(association=eks.create_pod_identity_association(clusterName="demo", namespace="default", serviceAccount="app", roleArn=role, tags={{"irsa.dev/managed-by": "irsa"}})["association"]["associationId"])),
    ("associate_untagged", lambda: eks.create_pod_identity_association(clusterName="demo", namespace="default", serviceAccount="other", roleArn=role)),
    ("associate_unpassable", lambda: eks.create_pod_identity_association(clusterName="demo", namespace="default", serviceAccount="third", roleArn="arn:aws:iam::123456789012:role/other-team", tags={{"irsa.dev/managed-by": "irsa"}})),
    ("list_associations", lambda: eks.list_pod_identity_associations(clusterName="demo")),
    ("describe_association", lambda: eks.describe_pod_identity_association(clusterName="demo", associationId=out["association"])),
    ("assume_for_pod", lambda: boto3.client("eks-auth").assume_role_for_pod_identity(clusterName="demo", token="not-a-jwt")),
    ("lookup_events", lambda: boto3.client("cloudtrail").lookup_events()),
    ("describe_trails", lambda: boto3.client("cloudtrail").describe_trails()),
]
{CALLS}"#
    );
    let answers = boto3::run(&script, &env);
    let association = answers["association"]
        .as_str()
        .expect("created")
        .to_string();
    let association_arn = format!(
        "arn:aws:eks:us-east-1:{SANDBOX_ACCOUNT}:podidentityassociation/demo/{association}"
    );
    // moto: the caller is the user; an existing role's ARN is checked against the Resource, a
    // missing action is moto's own 403 AccessDenied (query protocol).
    assert_eq!(
        answers["arn"],
        format!("arn:aws:iam::{SANDBOX_ACCOUNT}:user/{ENFORCED_USER}")
    );
    for allowed in [
        "create_role",
        "get_role",
        "describe_cluster",
        "list_addons",
        "associate_tagged",
        "list_associations",
        "lookup_events",
    ] {
        assert_eq!(answers[allowed], "ok", "{allowed}: {answers}");
    }
    // moto's refusal in IAM's own shape (the launcher's change 7), naming the resource where moto
    // knows it.
    let moto_denied = |action: &str, resource: Option<&str>| {
        let on = resource
            .map(|r| format!(" on resource: {r}"))
            .unwrap_or_default();
        json!({"error": "AccessDenied", "status": 403, "message": format!(
            "User: arn:aws:iam::{SANDBOX_ACCOUNT}:user/{ENFORCED_USER} is not authorized to perform: {action}{on} because no identity-based policy allows the {action} action")})
    };
    let role = format!("arn:aws:iam::{SANDBOX_ACCOUNT}:role/irsa-demo-app");
    assert_eq!(
        answers["delete_role"],
        moto_denied("iam:DeleteRole", Some(&role)),
        "{answers}"
    );
    assert_eq!(
        answers["list_users"],
        moto_denied("iam:ListUsers", None),
        "{answers}"
    );
    // A cluster read moto serves, checked by the fake EKS before it forwards it.
    assert_eq!(
        answers["list_nodegroups"],
        denied(403, "AccessDeniedException", "eks:ListNodegroups", CLUSTER)
    );
    // The fake EKS: restJson1 403 AccessDeniedException with AWS's message.
    assert_eq!(
        answers["create_addon"],
        denied(403, "AccessDeniedException", "eks:CreateAddon", CLUSTER)
    );
    assert_eq!(
        answers["describe_addon_versions"],
        denied(
            403,
            "AccessDeniedException",
            "eks:DescribeAddonVersions",
            "*"
        )
    );
    assert_eq!(
        answers["associate_untagged"],
        denied(
            403,
            "AccessDeniedException",
            "eks:CreatePodIdentityAssociation",
            CLUSTER
        ),
        "the condition on aws:RequestTag is honoured"
    );
    assert_eq!(
        answers["associate_unpassable"],
        denied(
            403,
            "AccessDeniedException",
            "iam:PassRole",
            "arn:aws:iam::123456789012:role/other-team"
        ),
        "the role passed to EKS Pod Identity needs iam:PassRole"
    );
    assert_eq!(
        answers["describe_association"],
        denied(
            403,
            "AccessDeniedException",
            "eks:DescribePodIdentityAssociation",
            &association_arn
        )
    );
    // EKS Auth: allowed past the check, to the token's own refusal.
    assert_eq!(
        answers["assume_for_pod"]["error"], "InvalidTokenException",
        "{answers}"
    );

    // A principal only the fakes know, with no policy: EKS Auth's 400 and CloudTrail's 400.
    let enforcer = sandbox.enforcer.clone().unwrap();
    enforcer.add_principal(
        "AKIANOTHING",
        "arn:aws:iam::123456789012:user/nothing",
        vec![],
    );
    let mut nothing = env.clone();
    nothing.push(("AWS_ACCESS_KEY_ID".into(), "AKIANOTHING".into()));
    let mut stranger = env.clone();
    stranger.push(("AWS_ACCESS_KEY_ID".into(), "AKIASTRANGER".into()));
    let script = format!(
        r#"
calls = [
    ("assume_for_pod", lambda: boto3.client("eks-auth").assume_role_for_pod_identity(clusterName="demo", token="not-a-jwt")),
    ("lookup_events", lambda: boto3.client("cloudtrail").lookup_events()),
    ("list_addons", lambda: boto3.client("eks").list_addons(clusterName="demo")),
]
{CALLS}"#
    );
    let answers = boto3::run(&script, &nothing);
    let nobody = |status: u16, action: &str, resource: &str| {
        json!({"error": "AccessDeniedException", "status": status, "message": format!(
            "User: arn:aws:iam::123456789012:user/nothing is not authorized to perform: {action} on resource: {resource} because no identity-based policy allows the {action} action")})
    };
    assert_eq!(
        answers["assume_for_pod"],
        nobody(400, "eks-auth:AssumeRoleForPodIdentity", CLUSTER)
    );
    assert_eq!(
        answers["lookup_events"],
        nobody(400, "cloudtrail:LookupEvents", "*")
    );
    assert_eq!(
        answers["list_addons"],
        nobody(403, "eks:ListAddons", CLUSTER)
    );
    // A key nobody has: UnrecognizedClientException.
    let answers = boto3::run(&script, &stranger);
    assert_eq!(
        answers["list_addons"]["error"], "UnrecognizedClientException",
        "{answers}"
    );
    assert_eq!(answers["list_addons"]["status"], 403, "{answers}");

    // A policy split in two documents (as `irsa permissions` prints one over IAM's quota): both
    // attached, in moto and in the fakes.
    let split = json!([
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "eks:ListAddons", "Resource": CLUSTER}]},
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}]}
    ]);
    runtime
        .block_on(sandbox.set_enforced_policy(&split))
        .unwrap();
    let script = format!(
        r#"
calls = [
    ("list_addons", lambda: boto3.client("eks").list_addons(clusterName="demo")),
    ("list_roles", lambda: boto3.client("iam").list_roles()),
    ("get_role", lambda: boto3.client("iam").get_role(RoleName="irsa-demo-app")),
]
{CALLS}"#
    );
    let answers = boto3::run(&script, &env);
    assert_eq!(answers["list_addons"], "ok", "{answers}");
    assert_eq!(answers["list_roles"], "ok", "{answers}");
    assert_eq!(
        answers["get_role"],
        moto_denied("iam:GetRole", Some(&role)),
        "{answers}"
    );
    drop(sandbox);
    let _ = std::fs::remove_dir_all(&dir);
}
