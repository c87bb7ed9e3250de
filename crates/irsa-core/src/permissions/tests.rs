//! The catalog against the steps it describes and the Service Authorization Reference (SAR,
//! docs.aws.amazon.com/service-authorization/latest/reference/: `list_awsidentityandaccessmanagementiam`,
//! `list_amazonelastickubernetesservice`, `list_amazoneksauth`), and the policy and ClusterRole
//! it renders.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::*;
use crate::desired::{self, ResolveInput};
use crate::steps::{AddonAssociation, AddonIdentity, Step};

const ACCOUNT: &str = "123456789012";

fn scope() -> Scope {
    let spec = desired::default_spec("demo", "us-east-1", Some(ACCOUNT));
    let state = desired::resolve(&spec, &ResolveInput::default(), &|_| unreachable!())
        .expect("the default bundle resolves");
    Scope::of(&state, ACCOUNT)
}

/// One step of each kind apply can plan.
fn apply_steps() -> Vec<Step> {
    let tags = desired::ownership_tags("demo");
    let role = "irsa-demo-kube-system-cluster-autoscaler".to_string();
    let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/{role}");
    let policy_arn = format!("arn:aws:iam::{ACCOUNT}:policy/{role}-cluster-autoscaler");
    vec![
        Step::CreateOidcProvider {
            url: "https://oidc.eks.us-east-1.amazonaws.com/id/ABC".into(),
            client_ids: vec!["sts.amazonaws.com".into()],
            thumbprints: vec![],
            tags: tags.clone(),
        },
        Step::AddOidcClientId {
            provider_arn: format!(
                "arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
            ),
            client_id: "sts.amazonaws.com".into(),
        },
        Step::CreatePolicy {
            name: format!("{role}-cluster-autoscaler"),
            path: "/".into(),
            document: json!({}),
            tags: tags.clone(),
        },
        Step::CreatePolicyVersion {
            policy_arn: policy_arn.clone(),
            document: json!({}),
            prune: Some("v1".into()),
        },
        Step::TagPolicy {
            policy_arn: policy_arn.clone(),
            tags: tags.clone(),
        },
        Step::CreateRole {
            name: role.clone(),
            path: "/".into(),
            trust_policy: json!({}),
            permissions_boundary: None,
            tags: tags.clone(),
        },
        Step::UpdateTrustPolicy {
            role_name: role.clone(),
            trust_policy: json!({}),
        },
        Step::PutPermissionsBoundary {
            role_name: role.clone(),
            boundary_arn: policy_arn.clone(),
        },
        Step::DeletePermissionsBoundary {
            role_name: role.clone(),
        },
        Step::TagRole {
            role_name: role.clone(),
            tags: tags.clone(),
        },
        Step::AttachRolePolicy {
            role_name: role.clone(),
            policy_arn: policy_arn.clone(),
        },
        Step::DetachRolePolicy {
            role_name: role.clone(),
            policy_arn,
        },
        Step::CreateAddon {
            cluster: "demo".into(),
            name: "aws-ebs-csi-driver".into(),
            identity: AddonIdentity::ServiceAccountRole {
                role_arn: role_arn.clone(),
            },
            tags: tags.clone(),
        },
        Step::UpdateAddon {
            cluster: "demo".into(),
            name: "aws-ebs-csi-driver".into(),
            identity: AddonIdentity::PodIdentity {
                associations: vec![AddonAssociation {
                    service_account: "ebs-csi-controller-sa".into(),
                    role_arn: role_arn.clone(),
                }],
            },
        },
        Step::WaitForAddon {
            cluster: "demo".into(),
            name: "eks-pod-identity-agent".into(),
        },
        Step::CreatePodIdentityAssociation {
            cluster: "demo".into(),
            namespace: "kube-system".into(),
            service_account: "cluster-autoscaler".into(),
            role_arn: role_arn.clone(),
            target_role_arn: None,
            disable_session_tags: false,
            policy: None,
            tags: tags.clone(),
        },
        Step::UpdatePodIdentityAssociation {
            cluster: "demo".into(),
            association_id: "a-1".into(),
            role_arn,
            target_role_arn: None,
            disable_session_tags: false,
            policy: None,
        },
        Step::TagPodIdentityAssociation {
            association_arn: format!(
                "arn:aws:eks:us-east-1:{ACCOUNT}:podidentityassociation/demo/a-1"
            ),
            tags,
        },
        Step::CreateNamespace {
            name: "apps".into(),
        },
    ]
}

/// One step of each kind destroy can plan.
fn destroy_steps() -> Vec<Step> {
    let role = "irsa-demo-apps-old".to_string();
    let policy_arn = format!("arn:aws:iam::{ACCOUNT}:policy/irsa-demo-apps-old-s3");
    vec![
        Step::DetachRolePolicy {
            role_name: role.clone(),
            policy_arn: policy_arn.clone(),
        },
        Step::DeleteRolePolicy {
            role_name: role.clone(),
            policy_name: "inline".into(),
        },
        Step::DeletePermissionsBoundary {
            role_name: role.clone(),
        },
        Step::DeleteRole { role_name: role },
        Step::DeletePolicy {
            policy_arn,
            non_default_versions: vec!["v1".into()],
        },
        Step::DeleteOidcProvider {
            provider_arn: format!(
                "arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
            ),
        },
        Step::DeleteAddon {
            cluster: "demo".into(),
            name: "aws-ebs-csi-driver".into(),
        },
        Step::DeletePodIdentityAssociation {
            cluster: "demo".into(),
            association_id: "a-1".into(),
        },
        Step::DeleteServiceAccount {
            namespace: "apps".into(),
            name: "old".into(),
        },
    ]
}

fn actions(command: Command) -> BTreeSet<&'static str> {
    needs(command).iter().map(|n| n.action).collect()
}

#[test]
fn every_action_of_apply_and_destroy_steps_is_in_their_catalog() {
    let scope = scope();
    for (command, steps) in [
        (Command::Apply, apply_steps()),
        (Command::Destroy, destroy_steps()),
    ] {
        let listed = actions(command);
        for step in &steps {
            for call in steps::calls(step, &scope) {
                assert!(
                    listed.contains(call.action),
                    "{} of {step:?} is not in `irsa permissions {}`",
                    call.action,
                    command.name()
                );
            }
        }
    }
}

#[test]
fn step_calls_name_the_resource_they_act_on() {
    let scope = scope();
    let create_role = &apply_steps()[5];
    assert_eq!(
        steps::calls(create_role, &scope),
        vec![
            steps::Call {
                action: "iam:CreateRole",
                resource: format!(
                    "arn:aws:iam::{ACCOUNT}:role/irsa-demo-kube-system-cluster-autoscaler"
                ),
            },
            // Tag-on-create is authorized as the Tag action too (IAM user guide, "Permissions
            // required for tagging IAM resources").
            steps::Call {
                action: "iam:TagRole",
                resource: format!(
                    "arn:aws:iam::{ACCOUNT}:role/irsa-demo-kube-system-cluster-autoscaler"
                ),
            },
        ]
    );
    // An add-on given a role passes it: SAR, eks:CreateAddon's dependent action iam:PassRole.
    let create_addon = steps::calls(&apply_steps()[12], &scope);
    assert!(create_addon.iter().any(|c| {
        c.action == "iam:PassRole"
            && c.resource
                .ends_with(":role/irsa-demo-kube-system-cluster-autoscaler")
    }));
    assert!(steps::calls(&destroy_steps()[8], &scope).is_empty());
}

#[test]
fn the_commands_the_issue_names_read_only_are_read_only() {
    for command in [
        Command::Plan,
        Command::List,
        Command::Verify,
        Command::Doctor,
        Command::Audit,
        Command::Usage,
    ] {
        assert!(command.is_read_only(), "{}", command.name());
    }
    for command in [
        Command::Apply,
        Command::Destroy,
        Command::Migrate,
        Command::DoctorFix,
    ] {
        assert!(!command.is_read_only(), "{}", command.name());
    }
    for command in Command::ALL {
        assert_eq!(Command::parse(command.name()), Some(command));
    }
}

/// The statement of `policy` that allows `action`.
fn statement_of<'a>(policy: &'a [Value], action: &str) -> &'a Value {
    policy
        .iter()
        .find(|s| s["Action"].as_array().unwrap().iter().any(|a| a == action))
        .unwrap_or_else(|| panic!("no statement allows {action}"))
}

#[test]
fn the_policy_scopes_what_iam_can_scope() {
    let scope = scope();
    let policy = policy::statements(&needs_of(&Command::ALL), &scope);
    // SAR (IAM): iam:PassRole on role*, condition key iam:PassedToService.
    let pass = statement_of(&policy, "iam:PassRole");
    assert_eq!(
        pass["Condition"]["StringEquals"]["iam:PassedToService"],
        json!(scope::PASSED_TO)
    );
    // SAR (IAM): iam:CreateRole, iam:TagRole take aws:TagKeys; (EKS) eks:TagResource too.
    for tagging in [
        "iam:CreateRole",
        "iam:TagRole",
        "eks:TagResource",
        "iam:CreatePolicy",
    ] {
        let statement = statement_of(&policy, tagging);
        let keys = &statement["Condition"]["ForAllValues:StringEquals"]["aws:TagKeys"];
        assert!(
            keys.as_array()
                .unwrap()
                .contains(&json!(desired::TAG_MANAGED_BY)),
            "{statement}"
        );
        assert_eq!(statement["Condition"]["Null"]["aws:TagKeys"], "false");
    }
    // The spec's roles by name and path, not role/*, for apply's writes.
    let update_trust = statement_of(&policy, "iam:UpdateAssumeRolePolicy");
    let resources = update_trust["Resource"].to_string();
    assert!(resources.contains("role/irsa-demo-kube-system-efs-csi-controller-sa"));
    // SAR (EKS): DescribeCluster on cluster*; the cluster's ARN, not *.
    let describe = statement_of(&policy, "eks:DescribeCluster");
    assert!(
        describe["Resource"]
            .as_array()
            .unwrap()
            .contains(&json!(format!(
                "arn:aws:eks:us-east-1:{ACCOUNT}:cluster/demo"
            )))
    );
    // SAR: List actions and GetAccountAuthorizationDetails support no resource type.
    let list = statement_of(&policy, "iam:ListOpenIDConnectProviders");
    assert_eq!(list["Resource"], json!(["*"]));
    // destroy's deletes only on what irsa tagged for the cluster (role resource type: aws:ResourceTag).
    let delete = statement_of(&policy, "iam:DeleteRole");
    assert_eq!(
        delete["Condition"]["StringEquals"]["aws:ResourceTag/irsa.dev/cluster"],
        "demo"
    );
    // GetCallerIdentity needs no permission (STS API reference), so it is not in the policy.
    assert!(!json!(policy).to_string().contains("sts:GetCallerIdentity"));
}

#[test]
fn every_command_fits_one_managed_policy_and_a_large_one_is_split() {
    let scope = scope();
    let all = policy::documents(policy::statements(&needs_of(&Command::ALL), &scope));
    assert_eq!(all.len(), 1);
    assert!(policy::size(&all[0]) <= policy::MANAGED_POLICY_MAX_CHARS);
    let many: Vec<Value> = (0..200)
        .map(|i| json!({"Sid": format!("S{i}"), "Effect": "Allow", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::bucket-{i}/*")}))
        .collect();
    let split = policy::documents(many);
    assert!(split.len() > 1);
    assert!(
        split
            .iter()
            .all(|d| policy::size(d) <= policy::MANAGED_POLICY_MAX_CHARS)
    );
    let statements: usize = split
        .iter()
        .map(|d| d["Statement"].as_array().unwrap().len())
        .sum();
    assert_eq!(statements, 200);
}

#[test]
fn the_cluster_role_merges_verbs_per_resource() {
    let role = rbac::cluster_role(&[Command::Plan, Command::Destroy], "irsa-caller");
    assert_eq!(role["kind"], "ClusterRole");
    assert_eq!(
        role["rules"],
        json!([
            {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["delete", "get"]},
        ])
    );
    assert!(rbac::rules(Command::Audit).is_empty());
}

#[test]
fn the_simulated_principal_is_the_callers_user_or_role() {
    use simulation::{Principal, principal};
    assert_eq!(
        principal("arn:aws:iam::123456789012:user/ci/deployer"),
        Principal::Arn("arn:aws:iam::123456789012:user/ci/deployer".into())
    );
    // A role session is simulated as its role (SimulatePrincipalPolicy takes a user, group or
    // role ARN, IAM API reference), whose path only GetRole knows.
    assert_eq!(
        principal("arn:aws:sts::123456789012:assumed-role/platform/alice"),
        Principal::RoleNamed("platform".into())
    );
    assert!(matches!(
        principal("arn:aws:iam::123456789012:root"),
        Principal::Unsupported(_)
    ));
    assert!(matches!(principal("not an arn"), Principal::Unsupported(_)));
}

#[test]
fn a_simulation_per_resource_carries_the_context_its_conditions_read() {
    let scope = scope();
    let calls = steps::plan_calls(apply_steps().iter(), &scope);
    let simulations = simulation::simulations(&calls, &scope);
    let role = simulations
        .iter()
        .find(|s| {
            s.resource
                .ends_with(":role/irsa-demo-kube-system-cluster-autoscaler")
        })
        .unwrap();
    assert!(role.actions.contains(&"iam:CreateRole") && role.actions.contains(&"iam:PassRole"));
    let context: Vec<&str> = role.context.iter().map(|(k, _)| k.as_str()).collect();
    assert!(context.contains(&"aws:TagKeys") && context.contains(&"iam:PassedToService"));
    let deletes = steps::plan_calls(destroy_steps().iter(), &scope);
    let delete_role = simulation::simulations(&deletes, &scope)
        .into_iter()
        .find(|s| s.actions.contains(&"iam:DeleteRole"))
        .unwrap();
    assert!(delete_role.context.contains(&(
        "aws:ResourceTag/irsa.dev/cluster".to_string(),
        vec!["demo".to_string()]
    )));
    // Each resource once.
    let resources: BTreeSet<&str> = simulations.iter().map(|s| s.resource.as_str()).collect();
    assert_eq!(resources.len(), simulations.len());
}
