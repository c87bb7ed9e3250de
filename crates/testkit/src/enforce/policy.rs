//! The testkit's own small IAM policy evaluator (not irsa's `iam-policy` crate: the fakes must not
//! share the engine they test), after the evaluation logic of the IAM User Guide ("Policy
//! evaluation logic": an explicit Deny wins, otherwise an Allow is needed, otherwise the request
//! is implicitly denied). It reads identity-based policy documents (`Statement` as one object or
//! a list) and honours:
//! - `Effect` Allow / Deny;
//! - `Action` / `NotAction`, matched without case, with the wildcards `*` and `?`;
//! - `Resource` / `NotResource`, matched with case, with `*` and `?` (an absent element matches
//!   nothing, as IAM requires one in identity-based policies);
//! - `Condition` with the string operators `StringEquals`, `StringNotEquals`, `StringLike`,
//!   `StringNotLike` (and their `IgnoreCase` forms for the Equals pair), each optionally under
//!   `ForAllValues:` or `ForAnyValue:`, over the request's context keys (key names without case).
//!   A missing key fails a plain or `ForAnyValue` test and passes a `ForAllValues` one, as IAM
//!   documents; and `Null` (`"true"`: the key is absent, `"false"`: present). Every other
//!   operator (`Arn*`, `Bool`, `Numeric*`, `Date*`, `IpAddress`,
//!   `…IfExists`) makes its statement not apply: fail closed, so a policy relying on one is
//!   denied here rather than allowed by mistake.

use std::collections::BTreeMap;

use serde_json::Value;

/// What is asked: `service:Action` on one resource ARN (or `*`), with the request's condition
/// context (e.g. `aws:RequestTag/owner` → `["irsa"]`, `aws:TagKeys` → the keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub action: String,
    pub resource: String,
    pub context: BTreeMap<String, Vec<String>>,
}

impl Request {
    pub fn new(action: &str, resource: &str) -> Request {
        Request {
            action: action.to_string(),
            resource: resource.to_string(),
            context: BTreeMap::new(),
        }
    }

    /// Adds the context keys of a request that creates or adds tags: `aws:RequestTag/KEY` for
    /// each tag and `aws:TagKeys` for all keys.
    pub fn with_request_tags<'a>(
        mut self,
        tags: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Request {
        let mut keys = Vec::new();
        for (key, value) in tags {
            self.context
                .insert(format!("aws:RequestTag/{key}"), vec![value.to_string()]);
            keys.push(key.to_string());
        }
        if !keys.is_empty() {
            self.context.insert("aws:TagKeys".into(), keys);
        }
        self
    }
}

/// The outcome of evaluating a request against a principal's policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// No statement allows it.
    ImplicitDeny,
    /// A Deny statement applies.
    ExplicitDeny,
}

/// Evaluates `request` against every policy document in `policies`.
pub fn decide(policies: &[Value], request: &Request) -> Decision {
    let mut allowed = false;
    for statement in policies.iter().flat_map(statements) {
        if !applies(statement, request) {
            continue;
        }
        match statement["Effect"].as_str() {
            Some("Deny") => return Decision::ExplicitDeny,
            Some("Allow") => allowed = true,
            _ => {}
        }
    }
    if allowed {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}

fn statements(policy: &Value) -> Vec<&Value> {
    match &policy["Statement"] {
        Value::Array(list) => list.iter().collect(),
        single @ Value::Object(_) => vec![single],
        _ => Vec::new(),
    }
}

/// Whether the statement covers the request's action, resource and condition context.
fn applies(statement: &Value, request: &Request) -> bool {
    let action = element_matches(statement, "Action", "NotAction", |pattern| {
        wildcard_match(
            &pattern.to_ascii_lowercase(),
            &request.action.to_ascii_lowercase(),
        )
    });
    let resource = element_matches(statement, "Resource", "NotResource", |pattern| {
        wildcard_match(pattern, &request.resource)
    });
    action && resource && conditions_hold(&statement["Condition"], &request.context)
}

/// `element` matches when one of its values does; `not_element` when none does; neither present
/// matches nothing.
fn element_matches(
    statement: &Value,
    element: &str,
    not_element: &str,
    matches: impl Fn(&str) -> bool,
) -> bool {
    if let Some(values) = statement.get(element) {
        strings(values).into_iter().any(matches)
    } else if let Some(values) = statement.get(not_element) {
        !strings(values).into_iter().any(matches)
    } else {
        false
    }
}

fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// IAM's wildcards: `*` any run of characters (also none), `?` any one character.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            backtrack = Some((pi, ti));
            pi += 1;
        } else if let Some((star, matched)) = backtrack {
            pi = star + 1;
            ti = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Every operator block of the Condition element holds (an absent element holds).
fn conditions_hold(condition: &Value, context: &BTreeMap<String, Vec<String>>) -> bool {
    let Some(blocks) = condition.as_object() else {
        return condition.is_null();
    };
    blocks.iter().all(|(operator, keys)| {
        let Some(keys) = keys.as_object() else {
            return false;
        };
        keys.iter().all(|(key, expected)| {
            operator_holds(operator, context_values(context, key), &strings(expected))
        })
    })
}

fn context_values<'a>(
    context: &'a BTreeMap<String, Vec<String>>,
    key: &str,
) -> Option<&'a [String]> {
    context
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(key))
        .map(|(_, values)| values.as_slice())
}

/// One operator over one key's values; unknown operators do not hold (see the module doc).
fn operator_holds(operator: &str, actual: Option<&[String]>, expected: &[&str]) -> bool {
    if operator == "Null" {
        let absent = actual.is_none_or(<[String]>::is_empty);
        return expected
            .iter()
            .all(|e| e.eq_ignore_ascii_case(if absent { "true" } else { "false" }));
    }
    let (set, base) = match operator.split_once(':') {
        Some((set @ ("ForAllValues" | "ForAnyValue"), base)) => (Some(set), base),
        Some(_) => return false,
        None => (None, operator),
    };
    let Some(test) = string_test(base) else {
        return false;
    };
    let one = |value: &String| test(value, expected);
    match (set, actual) {
        (Some("ForAllValues"), None) => true,
        (Some("ForAllValues"), Some(values)) => values.iter().all(one),
        (_, None) => false,
        (_, Some(values)) => values.iter().any(one),
    }
}

type StringTest = fn(&str, &[&str]) -> bool;

/// The string operators honoured: whether one value passes against the expected list.
fn string_test(operator: &str) -> Option<StringTest> {
    Some(match operator {
        "StringEquals" => |v, e| e.contains(&v),
        "StringNotEquals" => |v, e| !e.contains(&v),
        "StringEqualsIgnoreCase" => |v, e| e.iter().any(|x| x.eq_ignore_ascii_case(v)),
        "StringNotEqualsIgnoreCase" => |v, e| !e.iter().any(|x| x.eq_ignore_ascii_case(v)),
        "StringLike" => |v, e| e.iter().any(|x| wildcard_match(x, v)),
        "StringNotLike" => |v, e| !e.iter().any(|x| wildcard_match(x, v)),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn allow(action: Value, resource: Value) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})
    }

    #[test]
    fn wildcards_follow_iam() {
        // IAM User Guide, "IAM JSON policy elements: Resource": `*` any characters, `?` one.
        assert!(wildcard_match(
            "arn:aws:iam::*:role/irsa-demo-*",
            "arn:aws:iam::1:role/irsa-demo-x"
        ));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a?c", "abc"));
        assert!(!wildcard_match("a?c", "ac"));
        assert!(!wildcard_match(
            "arn:aws:iam::1:role/irsa-*",
            "arn:aws:iam::1:role/other"
        ));
        assert!(wildcard_match("*-*-x", "a-b-c-x"));
    }

    #[test]
    fn actions_match_without_case_resources_with_case() {
        let policy = allow(json!("EKS:create*"), json!("arn:aws:eks:*:*:cluster/demo"));
        let request = Request::new("eks:CreateAddon", "arn:aws:eks:us-east-1:1:cluster/demo");
        assert_eq!(
            decide(std::slice::from_ref(&policy), &request),
            Decision::Allow
        );
        let other = Request::new("eks:CreateAddon", "arn:aws:eks:us-east-1:1:cluster/Demo");
        assert_eq!(decide(&[policy], &other), Decision::ImplicitDeny);
    }

    #[test]
    fn an_explicit_deny_wins_over_any_allow() {
        let policies = [
            allow(json!("eks:*"), json!("*")),
            json!({"Statement": {"Effect": "Deny", "Action": "eks:DeleteAddon", "Resource": "*"}}),
        ];
        assert_eq!(
            decide(&policies, &Request::new("eks:DeleteAddon", "x")),
            Decision::ExplicitDeny
        );
        assert_eq!(
            decide(&policies, &Request::new("eks:DescribeAddon", "x")),
            Decision::Allow
        );
        assert_eq!(
            decide(&[], &Request::new("eks:DescribeAddon", "x")),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn not_action_and_not_resource_invert() {
        let policy = json!({"Statement": [{"Effect": "Allow", "NotAction": "eks:Delete*", "NotResource": "arn:aws:eks:*:*:cluster/prod"}]});
        let on = |action: &str, resource: &str| {
            decide(
                std::slice::from_ref(&policy),
                &Request::new(action, resource),
            )
        };
        assert_eq!(
            on("eks:ListAddons", "arn:aws:eks:r:1:cluster/demo"),
            Decision::Allow
        );
        assert_eq!(
            on("eks:DeleteAddon", "arn:aws:eks:r:1:cluster/demo"),
            Decision::ImplicitDeny
        );
        assert_eq!(
            on("eks:ListAddons", "arn:aws:eks:r:1:cluster/prod"),
            Decision::ImplicitDeny
        );
        // A statement without Resource or NotResource covers nothing.
        let no_resource = json!({"Statement": {"Effect": "Allow", "Action": "*"}});
        assert_eq!(
            decide(&[no_resource], &Request::new("eks:ListAddons", "x")),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn string_conditions_over_request_tags() {
        // IAM User Guide, "Controlling access during AWS requests": aws:RequestTag and aws:TagKeys;
        // "Single-valued vs. multivalued context keys": ForAllValues passes without the key.
        let policy = json!({"Statement": [{"Effect": "Allow", "Action": "eks:CreatePodIdentityAssociation", "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestTag/irsa.dev/managed-by": "irsa"},
                          "ForAllValues:StringLike": {"aws:TagKeys": ["irsa.dev/*"]}}}]});
        let create = |tags: &[(&str, &str)]| {
            decide(
                std::slice::from_ref(&policy),
                &Request::new("eks:CreatePodIdentityAssociation", "c")
                    .with_request_tags(tags.iter().copied()),
            )
        };
        assert_eq!(create(&[("irsa.dev/managed-by", "irsa")]), Decision::Allow);
        assert_eq!(
            create(&[("irsa.dev/managed-by", "other")]),
            Decision::ImplicitDeny
        );
        assert_eq!(
            create(&[("irsa.dev/managed-by", "irsa"), ("team", "x")]),
            Decision::ImplicitDeny
        );
        assert_eq!(
            create(&[]),
            Decision::ImplicitDeny,
            "the plain StringEquals needs its key"
        );
    }

    #[test]
    fn null_tests_whether_the_key_is_there() {
        // IAM User Guide, "Condition operator to check existence of condition keys".
        let policy = json!({"Statement": [{"Effect": "Allow", "Action": "eks:CreateAddon", "Resource": "*",
            "Condition": {"Null": {"aws:TagKeys": "false"}}}]});
        let create = Request::new("eks:CreateAddon", "c");
        assert_eq!(
            decide(std::slice::from_ref(&policy), &create),
            Decision::ImplicitDeny
        );
        let tagged = create.with_request_tags([("irsa.dev/cluster", "demo")]);
        assert_eq!(decide(&[policy], &tagged), Decision::Allow);
    }

    #[test]
    fn unknown_operators_fail_closed() {
        let policy = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]});
        assert_eq!(
            decide(&[policy], &Request::new("eks:ListAddons", "x")),
            Decision::ImplicitDeny
        );
    }
}
