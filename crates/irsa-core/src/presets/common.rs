//! Helpers shared by the preset modules: option checking, ARNs in the right partition and the
//! policy-document skeleton. Nothing here is specific to one workload.

use serde_json::{Value, json};

use super::{PresetError, PresetOption, PresetParams};

/// IAM policy language version every rendered document uses.
pub(crate) const POLICY_VERSION: &str = "2012-10-17";

/// The partition from the params, `aws` when unset or blank.
pub(crate) fn partition(params: &PresetParams) -> &str {
    match params.partition.as_deref().map(str::trim) {
        Some(p) if !p.is_empty() => p,
        _ => "aws",
    }
}

/// ARN of an AWS managed policy, e.g. `managed_policy_arn("aws", "service-role/AmazonEFSCSIDriverPolicy")`.
pub(crate) fn managed_policy_arn(partition: &str, path_and_name: &str) -> String {
    format!("arn:{partition}:iam::aws:policy/{path_and_name}")
}

/// A policy document with the given statements, in the given order.
pub(crate) fn document(statements: Vec<Value>) -> Value {
    json!({ "Version": POLICY_VERSION, "Statement": statements })
}

/// Rejects option names the preset does not document, naming the valid ones.
pub(crate) fn reject_unknown_options(
    preset: &'static str,
    params: &PresetParams,
    valid: &[PresetOption],
) -> Result<(), PresetError> {
    for name in params.options.keys() {
        if !valid.iter().any(|o| o.name == name) {
            let message = if valid.is_empty() {
                "unknown option; this preset takes no options".to_string()
            } else {
                let names: Vec<&str> = valid.iter().map(|o| o.name).collect();
                format!("unknown option; valid options: {}", names.join(", "))
            };
            return Err(PresetError::BadOption {
                preset,
                option: name.clone(),
                message,
            });
        }
    }
    Ok(())
}

/// A single-valued option restricted to `allowed` values; `default` when absent.
pub(crate) fn choice_option(
    preset: &'static str,
    params: &PresetParams,
    name: &str,
    allowed: &[&'static str],
    default: &'static str,
) -> Result<&'static str, PresetError> {
    let Some(values) = params.options.get(name) else {
        return Ok(default);
    };
    let bad = |message: String| PresetError::BadOption {
        preset,
        option: name.to_string(),
        message,
    };
    let [value] = values.as_slice() else {
        return Err(bad(format!(
            "expects exactly one value (one of: {}), got {}",
            allowed.join(", "),
            values.len()
        )));
    };
    let value = value.trim();
    allowed
        .iter()
        .copied()
        .find(|a| *a == value)
        .ok_or_else(|| bad(format!("`{value}` is not one of: {}", allowed.join(", "))))
}

/// A list option's values, trimmed, in the order given, duplicates removed. Empty when absent.
/// Blank entries, or an option present with no values at all, are errors.
pub(crate) fn list_option(
    preset: &'static str,
    params: &PresetParams,
    name: &str,
) -> Result<Vec<String>, PresetError> {
    let Some(values) = params.options.get(name) else {
        return Ok(Vec::new());
    };
    let bad = |message: String| PresetError::BadOption {
        preset,
        option: name.to_string(),
        message,
    };
    if values.is_empty() {
        return Err(bad(
            "is set but lists no values; remove it or give at least one".to_string(),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for v in values {
        let v = v.trim();
        if v.is_empty() {
            return Err(bad("contains an empty value".to_string()));
        }
        if !out.iter().any(|seen| seen == v) {
            out.push(v.to_string());
        }
    }
    Ok(out)
}

/// Normalises a Route 53 hosted zone id (`Z0123…` or `/hostedzone/Z0123…`) to its bare id.
pub(crate) fn hosted_zone_id(
    preset: &'static str,
    option: &str,
    raw: &str,
) -> Result<String, PresetError> {
    let id = raw
        .strip_prefix("/hostedzone/")
        .or_else(|| raw.strip_prefix("hostedzone/"))
        .unwrap_or(raw);
    let ok = !id.is_empty()
        && id.len() <= 32
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if ok {
        Ok(id.to_string())
    } else {
        Err(PresetError::BadOption {
            preset,
            option: option.to_string(),
            message: format!(
                "`{raw}` is not a Route 53 hosted zone id (upper-case letters and digits, e.g. Z0123456789ABCDEFGHIJ)"
            ),
        })
    }
}

/// Route 53 hosted-zone ARNs for the given ids, or every hosted zone when `ids` is empty.
pub(crate) fn hosted_zone_arns(partition: &str, ids: &[String]) -> Vec<String> {
    if ids.is_empty() {
        vec![format!("arn:{partition}:route53:::hostedzone/*")]
    } else {
        ids.iter()
            .map(|id| format!("arn:{partition}:route53:::hostedzone/{id}"))
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Helpers for the presets' tests.

    use serde_json::Value;

    use super::super::PresetParams;

    pub(crate) fn params_with(cluster: Option<&str>, options: &[(&str, &[&str])]) -> PresetParams {
        PresetParams {
            cluster: cluster.map(str::to_string),
            options: options
                .iter()
                .map(|(k, vs)| (k.to_string(), vs.iter().map(|v| v.to_string()).collect()))
                .collect(),
            ..PresetParams::default()
        }
    }

    /// Serialises and parses a document back, checks the version, and returns its statements.
    pub(crate) fn statements(doc: &Value) -> Vec<Value> {
        let text = serde_json::to_string(doc).expect("document serialises");
        let parsed: Value = serde_json::from_str(&text).expect("document parses as JSON");
        assert_eq!(parsed["Version"], "2012-10-17");
        parsed["Statement"]
            .as_array()
            .expect("Statement is an array")
            .clone()
    }

    pub(crate) fn sids(doc: &Value) -> Vec<String> {
        statements(doc)
            .iter()
            .map(|s| {
                s["Sid"]
                    .as_str()
                    .expect("every statement has a Sid")
                    .to_string()
            })
            .collect()
    }

    /// The statement's actions as strings (single string or list).
    pub(crate) fn actions(statement: &Value) -> Vec<String> {
        match &statement["Action"] {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .map(|v| v.as_str().expect("action is a string").to_string())
                .collect(),
            other => panic!("unexpected Action {other}"),
        }
    }

    pub(crate) fn find<'a>(statements: &'a [Value], sid: &str) -> &'a Value {
        statements
            .iter()
            .find(|s| s["Sid"] == sid)
            .unwrap_or_else(|| panic!("no statement {sid}"))
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::params_with;
    use super::*;

    const OPTS: &[PresetOption] = &[PresetOption {
        name: "policy",
        help: "managed or custom",
    }];

    #[test]
    fn partition_defaults_to_aws() {
        assert_eq!(partition(&PresetParams::default()), "aws");
        let p = PresetParams {
            partition: Some("aws-cn".into()),
            ..PresetParams::default()
        };
        assert_eq!(partition(&p), "aws-cn");
    }

    #[test]
    fn unknown_option_lists_valid_ones() {
        let p = params_with(None, &[("polcy", &["v2"])]);
        let err = reject_unknown_options("x", &p, OPTS).unwrap_err();
        assert_eq!(
            err,
            PresetError::BadOption {
                preset: "x",
                option: "polcy".into(),
                message: "unknown option; valid options: policy".into()
            }
        );
        let err = reject_unknown_options("x", &p, &[]).unwrap_err();
        assert!(err.to_string().contains("takes no options"), "{err}");
    }

    #[test]
    fn choice_option_checks_count_and_value() {
        let ok = params_with(None, &[("policy", &[" custom "])]);
        assert_eq!(
            choice_option("x", &ok, "policy", &["managed", "custom"], "managed").unwrap(),
            "custom"
        );
        assert_eq!(
            choice_option(
                "x",
                &PresetParams::default(),
                "policy",
                &["managed", "custom"],
                "managed"
            )
            .unwrap(),
            "managed"
        );
        let two = params_with(None, &[("policy", &["managed", "custom"])]);
        assert!(choice_option("x", &two, "policy", &["managed", "custom"], "managed").is_err());
        let bad = params_with(None, &[("policy", &["v9"])]);
        let err =
            choice_option("x", &bad, "policy", &["managed", "custom"], "managed").unwrap_err();
        assert!(
            err.to_string()
                .contains("`v9` is not one of: managed, custom"),
            "{err}"
        );
    }

    #[test]
    fn list_option_dedups_and_rejects_blanks() {
        let p = params_with(None, &[("ids", &["A", " B", "A"])]);
        assert_eq!(
            list_option("x", &p, "ids").unwrap(),
            vec!["A".to_string(), "B".to_string()]
        );
        assert!(list_option("x", &params_with(None, &[("ids", &[""])]), "ids").is_err());
        assert!(list_option("x", &params_with(None, &[("ids", &[])]), "ids").is_err());
    }

    #[test]
    fn hosted_zone_ids_are_normalised_and_checked() {
        assert_eq!(
            hosted_zone_id("x", "ids", "/hostedzone/Z123ABC").unwrap(),
            "Z123ABC"
        );
        assert_eq!(hosted_zone_id("x", "ids", "Z123ABC").unwrap(), "Z123ABC");
        assert!(hosted_zone_id("x", "ids", "*").is_err());
        assert!(hosted_zone_id("x", "ids", "z123").is_err());
        assert_eq!(
            hosted_zone_arns("aws-cn", &["Z1".to_string()]),
            vec!["arn:aws-cn:route53:::hostedzone/Z1".to_string()]
        );
        assert_eq!(
            hosted_zone_arns("aws", &[]),
            vec!["arn:aws:route53:::hostedzone/*".to_string()]
        );
    }
}
