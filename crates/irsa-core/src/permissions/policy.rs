//! The ready-to-attach IAM policy document for a set of needs: one statement per resource kind
//! and condition, actions sorted, calls that need no permission left out. A document over IAM's
//! managed-policy size quota (6,144 characters, white space not counted) is split into several,
//! each under it.

use serde_json::{Value, json};

use super::{Need, On, Scope, When};

/// IAM's quota on a managed policy document, in characters without white space.
pub const MANAGED_POLICY_MAX_CHARS: usize = 6_144;

/// The statements for `needs` in `scope` (kinds the spec has no resource of are left out):
/// one per resource kind for unconditioned actions, and one per condition for the rest. Merging
/// the resource kinds of a condition grants nothing more: an action is authorized only against
/// its own resource type (iam:TagRole never against a policy ARN), and it keeps the size under
/// the quota, the tag-key list being long.
pub fn statements(needs: &[Need], scope: &Scope) -> Vec<Value> {
    let mut groups: Vec<(Group, Vec<&'static str>, Vec<String>)> = Vec::new();
    for need in needs.iter().filter(|n| !n.no_permission) {
        let resources = scope.resources(need.on);
        if resources.is_empty() {
            continue;
        }
        let key = match need.when {
            When::Always => Group::On(need.on),
            when => Group::When(when),
        };
        match groups.iter_mut().find(|(k, _, _)| *k == key) {
            Some((_, actions, all)) => {
                actions.push(need.action);
                all.extend(resources);
            }
            None => groups.push((key, vec![need.action], resources)),
        }
    }
    groups
        .into_iter()
        .map(|(key, mut actions, mut resources)| {
            actions.sort_unstable();
            actions.dedup();
            resources.sort();
            resources.dedup();
            let mut statement = json!({
                "Sid": key.sid(),
                "Effect": "Allow",
                "Action": actions,
                "Resource": resources,
            });
            if let Group::When(when) = key
                && let Some(condition) = scope.condition(when)
            {
                statement["Condition"] = condition;
            }
            statement
        })
        .collect()
}

/// What a statement gathers: the unconditioned actions on one kind of resource, or every
/// action under one condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    On(On),
    When(When),
}

impl Group {
    /// A statement id (letters and digits only, as IAM requires): `SpecRoles`, `IrsaTags`.
    fn sid(self) -> String {
        let name = match self {
            Group::On(on) => json!(on),
            Group::When(when) => json!(when),
        };
        name.as_str()
            .unwrap_or_default()
            .split('-')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect::<String>())
                    .unwrap_or_default()
            })
            .collect()
    }
}

/// One or more policy documents holding `statements`, each under the managed-policy quota.
pub fn documents(statements: Vec<Value>) -> Vec<Value> {
    let mut documents: Vec<Vec<Value>> = vec![Vec::new()];
    for statement in statements {
        let current = documents.last_mut().expect("never empty");
        current.push(statement);
        if current.len() > 1 && size(&document(current.clone())) > MANAGED_POLICY_MAX_CHARS {
            let moved = current.pop().expect("just pushed");
            documents.push(vec![moved]);
        }
    }
    documents.into_iter().map(document).collect()
}

/// `{"Version": "2012-10-17", "Statement": […]}`.
fn document(statements: Vec<Value>) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// A document's size as IAM counts it: its JSON without white space.
pub fn size(document: &Value) -> usize {
    document
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .count()
}
