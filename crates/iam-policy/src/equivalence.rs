//! Whether two policy documents say the same thing although written differently: a canonical
//! form that drops what IAM gives no meaning to and sorts what it reads as a set, so that a role
//! made by eksctl, Terraform or the console compares equal to the document irsa would write.
//!
//! What the IAM JSON policy reference makes irrelevant, and the canonical form therefore erases:
//! `Sid` and the document `Id` (identifiers only); a single string versus a one-element array
//! (`"Action": "s3:GetObject"` is `["s3:GetObject"]`), the order and repetition of list entries
//! and of statements; the case of action names ("not case sensitive") and of condition key names
//! ("condition key names are not case-sensitive"); a condition value written as a JSON boolean or
//! number versus its string (`true` is `"true"`). Everything else (values of resources,
//! principals and conditions, operator names, `Effect`, `Version`) is kept as written, so two
//! documents that differ there are never called equivalent.

use serde_json::{Map, Value};

/// Whether `a` and `b` have the same canonical form (see the module doc).
pub fn equivalent(a: &Value, b: &Value) -> bool {
    canonical(a) == canonical(b)
}

/// The statements of `existing` (0-based, in its order) that say something no statement of
/// `wanted` says: what replacing `existing` by `wanted` would take away.
pub fn statements_not_in(existing: &Value, wanted: &Value) -> Vec<usize> {
    let wanted = canonical(wanted);
    let kept: &[Value] = wanted
        .get("Statement")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    statements(existing)
        .iter()
        .enumerate()
        .filter(|(_, s)| !kept.contains(&statement(s)))
        .map(|(i, _)| i)
        .collect()
}

/// Of [`statements_not_in`], those whose principal is none of `wanted`'s: statements for another
/// party altogether (another cluster's OIDC provider, a service, an account), not a broader or
/// narrower say about the same one.
pub fn other_principals_not_in(existing: &Value, wanted: &Value) -> Vec<usize> {
    let principals: Vec<Value> = statements(wanted)
        .iter()
        .map(|s| principal_of(&statement(s)))
        .collect();
    let existing_statements = statements(existing);
    statements_not_in(existing, wanted)
        .into_iter()
        .filter(|&i| !principals.contains(&principal_of(&statement(&existing_statements[i]))))
        .collect()
}

fn principal_of(canonical_statement: &Value) -> Value {
    canonical_statement
        .get("Principal")
        .cloned()
        .unwrap_or(Value::Null)
}

/// The statements of a document as written (one object or a list; none when absent).
pub fn statements(document: &Value) -> Vec<Value> {
    document.get("Statement").map(as_list).unwrap_or_default()
}

/// The canonical form of a policy document: `Statement` always a sorted, de-duplicated array
/// of canonical statements; `Id` dropped. A value that is not a document object is returned as
/// it is (it then only equals itself).
pub fn canonical(document: &Value) -> Value {
    let Value::Object(fields) = document else {
        return document.clone();
    };
    let mut out = Map::new();
    for (key, value) in fields {
        match key.as_str() {
            "Id" => {}
            "Statement" => {
                let mut statements: Vec<Value> = as_list(value).iter().map(statement).collect();
                sort_dedup(&mut statements);
                out.insert(key.clone(), Value::Array(statements));
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(out)
}

/// One statement in canonical form.
fn statement(value: &Value) -> Value {
    let Value::Object(fields) = value else {
        return value.clone();
    };
    let mut out = Map::new();
    for (key, value) in fields {
        let canonical = match key.as_str() {
            "Sid" => continue,
            "Action" | "NotAction" => string_set(value, true),
            "Resource" | "NotResource" => string_set(value, false),
            "Principal" | "NotPrincipal" => principal(value),
            "Condition" => condition(value),
            _ => value.clone(),
        };
        out.insert(key.clone(), canonical);
    }
    Value::Object(out)
}

/// `"*"` stays; `{"AWS": "arn"}` becomes `{"AWS": ["arn"]}` with every list sorted.
fn principal(value: &Value) -> Value {
    match value {
        Value::Object(kinds) => Value::Object(
            kinds
                .iter()
                .map(|(kind, ids)| (kind.clone(), string_set(ids, false)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Operator → (lower-cased key → sorted values).
fn condition(value: &Value) -> Value {
    let Value::Object(operators) = value else {
        return value.clone();
    };
    let canonical = operators
        .iter()
        .map(|(operator, keys)| {
            let keys = match keys {
                Value::Object(keys) => Value::Object(
                    keys.iter()
                        .map(|(key, values)| (key.to_ascii_lowercase(), string_set(values, false)))
                        .collect(),
                ),
                other => other.clone(),
            };
            (operator.clone(), keys)
        })
        .collect();
    Value::Object(canonical)
}

/// A string or a list of strings (booleans and numbers as their text) as a sorted,
/// de-duplicated array; `lowercase` for case-insensitive values such as action names.
fn string_set(value: &Value, lowercase: bool) -> Value {
    let mut items: Vec<Value> = as_list(value)
        .iter()
        .map(|item| match item {
            Value::String(s) if lowercase => Value::String(s.to_ascii_lowercase()),
            Value::Bool(b) => Value::String(b.to_string()),
            Value::Number(n) => Value::String(n.to_string()),
            other => other.clone(),
        })
        .collect();
    sort_dedup(&mut items);
    Value::Array(items)
}

fn as_list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

/// Sorted by their JSON text (serde_json keeps object keys ordered), duplicates removed.
fn sort_dedup(items: &mut Vec<Value>) {
    items.sort_by_cached_key(Value::to_string);
    items.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PROVIDER: &str =
        "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC";

    /// The trust irsa writes for kube-system/app.
    fn irsa_trust() -> Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": PROVIDER},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {
                    "oidc.eks.us-east-1.amazonaws.com/id/ABC:sub": "system:serviceaccount:kube-system:app",
                    "oidc.eks.us-east-1.amazonaws.com/id/ABC:aud": "sts.amazonaws.com"
                }}
            }]
        })
    }

    /// eksctl's iamserviceaccount trust (its CloudFormation template writes the action as a
    /// list and the keys aud first), as `aws iam get-role` shows it.
    #[test]
    fn eksctl_trust_equals_irsa_trust() {
        let eksctl = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": [PROVIDER]},
                "Action": ["sts:AssumeRoleWithWebIdentity"],
                "Condition": {"StringEquals": {
                    "oidc.eks.us-east-1.amazonaws.com/id/ABC:aud": "sts.amazonaws.com",
                    "oidc.eks.us-east-1.amazonaws.com/id/ABC:sub": "system:serviceaccount:kube-system:app"
                }}
            }]
        });
        assert!(equivalent(&eksctl, &irsa_trust()));
    }

    /// The Terraform module (iam-role-for-service-accounts-eks) writes a `Sid` per statement
    /// and condition values as lists (its `for` over `namespace_service_accounts`).
    #[test]
    fn terraform_trust_with_sid_and_lists_equals_irsa_trust() {
        let terraform = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "",
                "Effect": "Allow",
                "Principal": {"Federated": PROVIDER},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {
                    "oidc.eks.us-east-1.amazonaws.com/id/ABC:sub": ["system:serviceaccount:kube-system:app"],
                    "oidc.eks.us-east-1.amazonaws.com/id/ABC:aud": ["sts.amazonaws.com"]
                }}
            }]
        });
        assert!(equivalent(&terraform, &irsa_trust()));
    }

    /// IAM reads action names and condition key names without regard to case (IAM JSON policy
    /// reference: Action element, Condition element).
    #[test]
    fn case_of_actions_and_condition_keys_does_not_matter() {
        let mut shouted = irsa_trust();
        shouted["Statement"][0]["Action"] = json!("STS:AssumeRoleWithWebIdentity");
        let condition = shouted["Statement"][0]["Condition"]["StringEquals"]
            .as_object_mut()
            .unwrap();
        let sub = condition
            .remove("oidc.eks.us-east-1.amazonaws.com/id/ABC:sub")
            .unwrap();
        condition.insert("OIDC.EKS.US-EAST-1.AMAZONAWS.COM/ID/ABC:SUB".into(), sub);
        assert!(equivalent(&shouted, &irsa_trust()));
    }

    #[test]
    fn a_different_subject_operator_or_extra_statement_is_not_equivalent() {
        let mut other_subject = irsa_trust();
        other_subject["Statement"][0]["Condition"]["StringEquals"]["oidc.eks.us-east-1.amazonaws.com/id/ABC:sub"] =
            json!("system:serviceaccount:kube-system:other");
        assert!(!equivalent(&other_subject, &irsa_trust()));

        let mut like = irsa_trust();
        let equals = like["Statement"][0]["Condition"]["StringEquals"].take();
        like["Statement"][0]["Condition"] = json!({"StringLike": equals});
        assert!(!equivalent(&like, &irsa_trust()));

        let mut two = irsa_trust();
        let first = two["Statement"][0].clone();
        let mut second = first.clone();
        second["Principal"]["Federated"] = json!(PROVIDER.replace("ABC", "DEF"));
        two["Statement"] = json!([first, second]);
        assert!(!equivalent(&two, &irsa_trust()));
    }

    #[test]
    fn statement_order_duplicates_and_booleans_as_text_do_not_matter() {
        let a = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:*", "Resource": "*",
             "Condition": {"Bool": {"aws:SecureTransport": false}}}
        ]});
        let b = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": "s3:*", "Resource": ["*"],
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetObject", "s3:GetObject"], "Resource": "*"},
            {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetObject"], "Resource": "*"}
        ]});
        assert!(equivalent(&a, &b));
        let mut c = b.clone();
        c["Version"] = json!("2008-10-17");
        assert!(
            !equivalent(&a, &c),
            "the version changes how variables read"
        );
    }

    #[test]
    fn statements_not_in_names_what_a_replacement_takes_away() {
        let mut two = irsa_trust();
        let first = two["Statement"][0].clone();
        let mut second = first.clone();
        second["Principal"]["Federated"] = json!(PROVIDER.replace("ABC", "DEF"));
        two["Statement"] = json!([second, first]);
        assert_eq!(statements_not_in(&two, &irsa_trust()), vec![0]);
        assert!(statements_not_in(&irsa_trust(), &two).is_empty());
        assert!(statements_not_in(&json!(null), &irsa_trust()).is_empty());
    }

    #[test]
    fn other_principals_are_told_apart_from_broader_conditions() {
        let mut broad = irsa_trust();
        broad["Statement"][0]
            .as_object_mut()
            .unwrap()
            .remove("Condition");
        let mut other = irsa_trust()["Statement"][0].clone();
        other["Principal"] = json!({"Federated": [PROVIDER.replace("ABC", "DEF")]});
        broad["Statement"].as_array_mut().unwrap().push(other);
        assert_eq!(statements_not_in(&broad, &irsa_trust()), vec![0, 1]);
        assert_eq!(other_principals_not_in(&broad, &irsa_trust()), vec![1]);
    }

    #[test]
    fn resource_case_is_kept() {
        let a = json!({"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::Bucket/*"}});
        let b = json!({"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"}});
        assert!(!equivalent(&a, &b));
        assert!(!equivalent(&json!(null), &a));
    }
}
