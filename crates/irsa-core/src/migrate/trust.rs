//! The trust edits a migration makes: one added statement for the target mechanism (the role's
//! other statements stay, whoever owns it, as doctor `--fix --adopt` does), refused with the
//! numbers when the result would exceed IAM's trust policy quota; and, only when asked, the
//! removal of the web-identity statements for this cluster's OIDC provider, or of the statements
//! for the EKS Pod Identity service principal.

use iam_policy::document::PolicyDocument;
use iam_policy::lint::{TRUST_POLICY_MAX_CHARS, chars_without_whitespace};
use serde_json::Value;

/// `trust` with `statement` appended (a single statement object becomes a list).
pub fn with_statement(trust: &Value, statement: Value) -> Value {
    let mut merged = trust.clone();
    match merged.get_mut("Statement") {
        Some(Value::Array(list)) => list.push(statement),
        Some(single) => *single = Value::Array(vec![single.clone(), statement]),
        None => merged["Statement"] = Value::Array(vec![statement]),
    }
    merged
}

/// Whether `trust` holds `statement` as it is.
pub fn has_statement(trust: &Value, statement: &Value) -> bool {
    match trust.get("Statement") {
        Some(Value::Array(list)) => list.contains(statement),
        Some(single) => single == statement,
        None => false,
    }
}

/// Why a trust cannot grow: its size after the addition, against the quota.
pub fn size_refusal(role_name: &str, trust: &Value) -> Option<String> {
    let chars = chars_without_whitespace(&trust.to_string());
    (chars > TRUST_POLICY_MAX_CHARS).then(|| {
        format!(
            "the trust policy of `{role_name}` would be {chars} characters (white space not counted) with the added statement, over IAM's quota of {TRUST_POLICY_MAX_CHARS}; remove unused statements from it (or ask AWS for a higher quota), then run migrate again"
        )
    })
}

/// `trust` without the statements that trust `provider_arn` for web identity; `None` when it
/// has none.
pub fn without_provider(trust: &Value, provider_arn: &str) -> Option<Value> {
    without(trust, |s| trusts_provider(s, provider_arn))
}

/// `trust` without the statements whose only principal is the service `service` (the Pod
/// Identity statement names `pods.eks.amazonaws.com` alone); `None` when it has none. A
/// statement naming other principals too stays whole: it is not only the mechanism's.
pub fn without_service(trust: &Value, service: &str) -> Option<Value> {
    without(trust, |s| only_service(s, service))
}

/// `trust` without the statements `drop` picks; `None` when it picks none.
fn without(trust: &Value, drop: impl Fn(&Value) -> bool) -> Option<Value> {
    let statements = match trust.get("Statement")? {
        Value::Array(list) => list.clone(),
        single => vec![single.clone()],
    };
    let (dropped, kept): (Vec<Value>, Vec<Value>) = statements.into_iter().partition(drop);
    if dropped.is_empty() {
        return None;
    }
    let mut rest = trust.clone();
    rest["Statement"] = Value::Array(kept);
    Some(rest)
}

/// Whether one statement's `Principal` is `{"Service": service}` (a string or a list of one).
fn only_service(statement: &Value, service: &str) -> bool {
    let Some(Value::Object(principal)) = statement.get("Principal") else {
        return false;
    };
    let named = match principal.get("Service") {
        Some(Value::String(s)) => s == service,
        Some(Value::Array(list)) => list.len() == 1 && list[0] == service,
        _ => false,
    };
    named && principal.len() == 1
}

/// Whether one statement names `provider_arn` as its Federated principal for web identity.
fn trusts_provider(statement: &Value, provider_arn: &str) -> bool {
    let doc = serde_json::json!({ "Version": "2012-10-17", "Statement": [statement] });
    PolicyDocument::from_value(&doc).is_ok_and(|doc| {
        doc.statements
            .iter()
            .any(|s| iam_policy::trust::web_identity_provider_arns(s).contains(&provider_arn))
    })
}
