//! Checking a plan's calls before the first change: what to ask `iam:SimulatePrincipalPolicy`
//! (one simulation per resource, with the plan's actions on it and the request context their
//! conditions read: the tag keys irsa sets, the service a role is passed to, the tags of what
//! destroy deletes), for which principal (the caller's user or role; a role session is
//! simulated as its role), and what the answers mean.

use std::collections::BTreeMap;

use super::Scope;
use super::scope::PASSED_TO;
use super::steps::Call;
use crate::desired::{TAG_CLUSTER, TAG_MANAGED_BY};

/// One simulation: actions on one resource, with context entries (key, values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simulation {
    pub resource: String,
    pub actions: Vec<&'static str>,
    pub context: Vec<(String, Vec<String>)>,
}

/// Whom to simulate, from the caller's ARN (STS GetCallerIdentity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An IAM user (or role) ARN, usable as `PolicySourceArn` as it is.
    Arn(String),
    /// A role session (`assumed-role/NAME/SESSION`): the role's ARN holds a path, so it is read
    /// first (iam:GetRole NAME).
    RoleNamed(String),
    /// Not simulatable: the root user, a federated user (the reason).
    Unsupported(String),
}

/// The principal to simulate for `caller_arn`.
pub fn principal(caller_arn: &str) -> Principal {
    let mut parts = caller_arn.splitn(6, ':');
    let (partition, service, account, resource) = match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some("arn"), Some(p), Some(s), Some(_), Some(a), Some(r)) => (p, s, a, r),
        _ => return Principal::Unsupported(format!("`{caller_arn}` is not an ARN")),
    };
    match (service, resource.split('/').collect::<Vec<_>>().as_slice()) {
        (_, ["root"]) => Principal::Unsupported(
            "the caller is the account's root user, whom IAM policies do not limit".into(),
        ),
        ("iam", ["user", ..] | ["role", ..]) => Principal::Arn(caller_arn.to_string()),
        ("sts", ["assumed-role", role, ..]) => Principal::RoleNamed(role.to_string()),
        ("sts", ["user", ..]) => {
            Principal::Arn(format!("arn:{partition}:iam::{account}:{resource}"))
        }
        _ => Principal::Unsupported(format!(
            "the caller `{caller_arn}` is neither a user nor a role session"
        )),
    }
}

/// The simulations for `calls`: one per resource, its actions in order, with the context
/// their conditions read (see [`super::When`]).
pub fn simulations(calls: &[Call], scope: &Scope) -> Vec<Simulation> {
    let mut by_resource: BTreeMap<&str, Vec<&'static str>> = BTreeMap::new();
    for call in calls {
        let actions = by_resource.entry(&call.resource).or_default();
        if !actions.contains(&call.action) {
            actions.push(call.action);
        }
    }
    by_resource
        .into_iter()
        .map(|(resource, actions)| Simulation {
            resource: resource.to_string(),
            context: context(&actions, scope),
            actions,
        })
        .collect()
}

/// The request context of `actions`: what IAM would see in the real calls.
fn context(actions: &[&str], scope: &Scope) -> Vec<(String, Vec<String>)> {
    let mut context = Vec::new();
    let named = |verb: &str| {
        actions
            .iter()
            .any(|a| a.split(':').nth(1).is_some_and(|n| n.starts_with(verb)))
    };
    if named("Create") || named("Tag") {
        context.push(("aws:TagKeys".to_string(), scope.tag_keys.clone()));
    }
    if actions.contains(&"iam:PassRole") {
        context.push((
            "iam:PassedToService".to_string(),
            vec![PASSED_TO[0].to_string()],
        ));
    }
    if named("Delete") || named("Detach") {
        context.push((
            format!("aws:ResourceTag/{TAG_MANAGED_BY}"),
            vec!["irsa".to_string()],
        ));
        context.push((
            format!("aws:ResourceTag/{TAG_CLUSTER}"),
            vec![scope.cluster.clone()],
        ));
    }
    context
}

/// What a simulation answered for one action on one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub action: String,
    pub resource: String,
    /// `allowed`, `explicitDeny` or `implicitDeny`, as IAM says it.
    pub decision: String,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        self.decision == "allowed"
    }
}
