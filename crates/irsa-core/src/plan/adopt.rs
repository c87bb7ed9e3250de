//! Adopting a role irsa did not create: irsa writes the role's trust as exactly its own, so a
//! statement of the live trust for another party (another cluster's OIDC provider, a service,
//! an account) would be taken away, cutting that party off. That is a conflict naming the
//! statement, never a silent replacement. A statement about the same provider with broader
//! conditions (a subject pattern, no `sub` at all) is narrowed to this service account, as
//! `--adopt` means, and shown as the trust's diff; a trust that says what irsa's says in other
//! words (a `Sid`, lists for single values, another key order: see [`iam_policy::equivalence`])
//! is not a change at all.

use serde_json::Value;

use super::items::{Item, Mark};
use crate::snapshot::Role;

/// The conflict of adopting `existing` with the trust `wanted`, when adopting would take away
/// a statement of its trust.
pub(super) fn trust_conflict(existing: &Role, wanted: &Value, subject: &str) -> Option<Item> {
    let dropped = iam_policy::equivalence::other_principals_not_in(&existing.trust_policy, wanted);
    if dropped.is_empty() {
        return None;
    }
    let statements = iam_policy::equivalence::statements(&existing.trust_policy);
    let mut item = Item::new(Mark::Conflict, "role", &existing.arn).detail(format!(
        "its trust admits others than {subject}; adopting would replace it and take away:"
    ));
    for i in dropped {
        item = item.detail(format!(
            "  Statement[{i}]: {}",
            describe_statement(&statements[i])
        ));
    }
    Some(
        item.detail(
            "keep the role out of the spec, or remove those statements from its trust first"
                .to_string(),
        ),
    )
}

/// One line for a trust statement: its effect, principal, actions and condition keys.
pub fn describe_statement(statement: &Value) -> String {
    let text = |key: &str| {
        statement
            .get(key)
            .map(|v| serde_json::to_string(v).unwrap_or_default())
            .unwrap_or_else(|| "(none)".to_string())
    };
    format!(
        "{} {} → {} if {}",
        statement
            .get("Effect")
            .and_then(Value::as_str)
            .unwrap_or("?"),
        text("Principal"),
        text("Action"),
        text("Condition")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn role(trust: Value) -> Role {
        Role {
            name: "app".into(),
            arn: "arn:aws:iam::123456789012:role/app".into(),
            path: "/".into(),
            trust_policy: trust,
            ..Default::default()
        }
    }

    fn statement(provider: &str, sub: &str) -> Value {
        json!({"Effect": "Allow", "Principal": {"Federated": provider},
               "Action": "sts:AssumeRoleWithWebIdentity",
               "Condition": {"StringEquals": {"p:sub": sub}}})
    }

    #[test]
    fn a_second_cluster_statement_is_named() {
        let wanted = json!({"Version": "2012-10-17", "Statement": [statement("a", "s")]});
        let live = json!({"Version": "2012-10-17", "Statement": [statement("a", "s"), statement("b", "s")]});
        let item = trust_conflict(&role(live), &wanted, "ns/app").expect("a conflict");
        assert_eq!(item.mark, Mark::Conflict);
        assert!(
            item.details
                .iter()
                .any(|d| d.contains("Statement[1]") && d.contains("\"b\"")),
            "{:?}",
            item.details
        );
        assert!(!item.details.iter().any(|d| d.contains("Statement[0]")));
    }

    #[test]
    fn a_broader_statement_about_the_same_provider_is_narrowed_not_a_conflict() {
        let wanted = json!({"Version": "2012-10-17", "Statement": [statement("a", "s")]});
        let live = json!({"Version": "2012-10-17", "Statement": [statement("a", "*")]});
        assert!(trust_conflict(&role(live), &wanted, "ns/app").is_none());
    }

    #[test]
    fn the_same_trust_in_other_words_or_none_is_no_conflict() {
        let wanted = json!({"Version": "2012-10-17", "Statement": [statement("a", "s")]});
        let mut worded = statement("a", "s");
        worded["Sid"] = json!("Eksctl");
        worded["Action"] = json!(["sts:AssumeRoleWithWebIdentity"]);
        let live = json!({"Version": "2012-10-17", "Statement": [worded]});
        assert!(trust_conflict(&role(live), &wanted, "ns/app").is_none());
        assert!(trust_conflict(&role(Value::Null), &wanted, "ns/app").is_none());
    }
}
