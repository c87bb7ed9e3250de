//! The AWS actions each plan [`Step`] calls, with the resource each is called on: what
//! `irsa_aws::execute` sends for the step, and what apply and destroy simulate
//! (`iam:SimulatePrincipalPolicy`) before their first change. Kubernetes and file steps call no
//! AWS action. Creating with tags is also a tag action (IAM and EKS authorize tag-on-create with
//! the resource's Tag action), so a create with tags names both.

use crate::steps::{AddonIdentity, Step};

use super::Scope;

/// One action on one resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Call {
    pub action: &'static str,
    pub resource: String,
}

/// The calls `step` makes, resources named within `scope`.
pub fn calls(step: &Step, scope: &Scope) -> Vec<Call> {
    let role = |name: &str| role_arn(scope, name);
    let cluster_arn = |cluster: &str| {
        format!(
            "arn:{}:eks:{}:{}:cluster/{cluster}",
            scope.partition, scope.region, scope.account
        )
    };
    let addon_arn = |cluster: &str, name: &str| {
        format!(
            "arn:{}:eks:{}:{}:addon/{cluster}/{name}/*",
            scope.partition, scope.region, scope.account
        )
    };
    let association_arn = |cluster: &str, id: &str| {
        format!(
            "arn:{}:eks:{}:{}:podidentityassociation/{cluster}/{id}",
            scope.partition, scope.region, scope.account
        )
    };
    let provider_arn = |url: &str| {
        format!(
            "arn:{}:iam::{}:oidc-provider/{}",
            scope.partition,
            scope.account,
            url.trim_start_matches("https://").trim_end_matches('/')
        )
    };
    let policy_arn = |name: &str, path: &str| {
        format!(
            "arn:{}:iam::{}:policy{path}{name}",
            scope.partition, scope.account
        )
    };
    let on = |action: &'static str, resource: String| Call { action, resource };
    let tagged = |create: &'static str, tag: &'static str, resource: String, tags: bool| {
        let mut calls = vec![on(create, resource.clone())];
        if tags {
            calls.push(on(tag, resource));
        }
        calls
    };
    match step {
        Step::CreateOidcProvider { url, tags, .. } => tagged(
            "iam:CreateOpenIDConnectProvider",
            "iam:TagOpenIDConnectProvider",
            provider_arn(url),
            !tags.is_empty(),
        ),
        Step::AddOidcClientId { provider_arn, .. } => vec![on(
            "iam:AddClientIDToOpenIDConnectProvider",
            provider_arn.clone(),
        )],
        Step::DeleteOidcProvider { provider_arn } => {
            vec![on("iam:DeleteOpenIDConnectProvider", provider_arn.clone())]
        }
        Step::CreatePolicy {
            name, path, tags, ..
        } => tagged(
            "iam:CreatePolicy",
            "iam:TagPolicy",
            policy_arn(name, path),
            !tags.is_empty(),
        ),
        Step::CreatePolicyVersion {
            policy_arn, prune, ..
        } => {
            let mut calls = Vec::new();
            if prune.is_some() {
                calls.push(on("iam:DeletePolicyVersion", policy_arn.clone()));
            }
            calls.push(on("iam:CreatePolicyVersion", policy_arn.clone()));
            calls
        }
        Step::TagPolicy { policy_arn, .. } => vec![on("iam:TagPolicy", policy_arn.clone())],
        Step::DeletePolicy {
            policy_arn,
            non_default_versions,
        } => {
            let mut calls = Vec::new();
            if !non_default_versions.is_empty() {
                calls.push(on("iam:DeletePolicyVersion", policy_arn.clone()));
            }
            calls.push(on("iam:DeletePolicy", policy_arn.clone()));
            calls
        }
        Step::CreateRole {
            name, path, tags, ..
        } => tagged(
            "iam:CreateRole",
            "iam:TagRole",
            crate::desired::role_arn(&scope.partition, &scope.account, path, name),
            !tags.is_empty(),
        ),
        Step::UpdateTrustPolicy { role_name, .. } => {
            vec![on("iam:UpdateAssumeRolePolicy", role(role_name))]
        }
        Step::PutPermissionsBoundary { role_name, .. } => {
            vec![on("iam:PutRolePermissionsBoundary", role(role_name))]
        }
        Step::DeletePermissionsBoundary { role_name } => {
            vec![on("iam:DeleteRolePermissionsBoundary", role(role_name))]
        }
        Step::TagRole { role_name, .. } => vec![on("iam:TagRole", role(role_name))],
        Step::AttachRolePolicy { role_name, .. } => {
            vec![on("iam:AttachRolePolicy", role(role_name))]
        }
        Step::DetachRolePolicy { role_name, .. } => {
            vec![on("iam:DetachRolePolicy", role(role_name))]
        }
        Step::DeleteRolePolicy { role_name, .. } => {
            vec![on("iam:DeleteRolePolicy", role(role_name))]
        }
        Step::DeleteRole { role_name } => vec![on("iam:DeleteRole", role(role_name))],
        Step::CreateAddon {
            cluster,
            identity,
            tags,
            ..
        } => {
            let mut calls = tagged(
                "eks:CreateAddon",
                "eks:TagResource",
                cluster_arn(cluster),
                !tags.is_empty(),
            );
            calls.extend(passed_roles(identity));
            calls
        }
        Step::UpdateAddon {
            cluster,
            name,
            identity,
        } => {
            let mut calls = vec![on("eks:UpdateAddon", addon_arn(cluster, name))];
            calls.extend(passed_roles(identity));
            calls
        }
        Step::WaitForAddon { cluster, name } => {
            vec![on("eks:DescribeAddon", addon_arn(cluster, name))]
        }
        Step::DeleteAddon { cluster, name } => {
            vec![on("eks:DeleteAddon", addon_arn(cluster, name))]
        }
        Step::CreatePodIdentityAssociation {
            cluster,
            role_arn,
            tags,
            ..
        } => {
            let mut calls = tagged(
                "eks:CreatePodIdentityAssociation",
                "eks:TagResource",
                cluster_arn(cluster),
                !tags.is_empty(),
            );
            calls.push(on("iam:PassRole", role_arn.clone()));
            calls
        }
        Step::UpdatePodIdentityAssociation {
            cluster,
            association_id,
            role_arn,
            ..
        } => vec![
            on(
                "eks:UpdatePodIdentityAssociation",
                association_arn(cluster, association_id),
            ),
            on("iam:PassRole", role_arn.clone()),
        ],
        Step::TagPodIdentityAssociation {
            association_arn, ..
        } => vec![on("eks:TagResource", association_arn.clone())],
        Step::DeletePodIdentityAssociation {
            cluster,
            association_id,
        } => vec![on(
            "eks:DeletePodIdentityAssociation",
            association_arn(cluster, association_id),
        )],
        Step::CreateNamespace { .. }
        | Step::ApplyServiceAccount { .. }
        | Step::DeleteServiceAccount { .. }
        | Step::WriteFile { .. } => Vec::new(),
    }
}

/// `iam:PassRole` for each role an add-on is given.
fn passed_roles(identity: &AddonIdentity) -> Vec<Call> {
    let roles: Vec<&String> = match identity {
        AddonIdentity::None => Vec::new(),
        AddonIdentity::ServiceAccountRole { role_arn } if role_arn.is_empty() => Vec::new(),
        AddonIdentity::ServiceAccountRole { role_arn } => vec![role_arn],
        AddonIdentity::PodIdentity { associations } => {
            associations.iter().map(|a| &a.role_arn).collect()
        }
    };
    roles
        .into_iter()
        .map(|r| Call {
            action: "iam:PassRole",
            resource: r.clone(),
        })
        .collect()
}

/// The ARN of role `name`: the spec's (with its path) when it is one, else at the root path.
fn role_arn(scope: &Scope, name: &str) -> String {
    scope
        .roles
        .iter()
        .find(|arn| arn.rsplit('/').next() == Some(name))
        .cloned()
        .unwrap_or_else(|| crate::desired::role_arn(&scope.partition, &scope.account, "/", name))
}

/// The calls of every step, each once, in order.
pub fn plan_calls<'a>(steps: impl IntoIterator<Item = &'a Step>, scope: &Scope) -> Vec<Call> {
    let mut seen = std::collections::BTreeSet::new();
    steps
        .into_iter()
        .flat_map(|s| calls(s, scope))
        .filter(|c| seen.insert(c.clone()))
        .collect()
}
