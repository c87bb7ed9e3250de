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

/// EKS cluster names: 1–100 characters, letters, digits, `-` and `_`, starting with a letter or digit.
pub(crate) fn valid_cluster_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphanumeric())
        && name.len() <= 100
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The cluster name, required by presets whose statements are scoped to the cluster; `why`
/// says what it is needed for.
pub(crate) fn required_cluster<'a>(
    preset: &'static str,
    params: &'a PresetParams,
    why: &'static str,
) -> Result<&'a str, PresetError> {
    let cluster = params.cluster.as_deref().map(str::trim).unwrap_or_default();
    if cluster.is_empty() {
        return Err(PresetError::Missing {
            preset,
            what: "the cluster name",
            why,
        });
    }
    if !valid_cluster_name(cluster) {
        return Err(PresetError::Missing {
            preset,
            what: "a valid EKS cluster name",
            why: "cluster names are 1-100 letters, digits, '-' or '_', starting with a letter or digit",
        });
    }
    Ok(cluster)
}

/// The region and account, required by presets whose ARNs name them (pass `--region` and
/// `--account`, or `cluster.region` / `cluster.account` in the spec).
pub(crate) fn required_region_and_account<'a>(
    preset: &'static str,
    params: &'a PresetParams,
    why: &'static str,
) -> Result<(&'a str, &'a str), PresetError> {
    let region = params.region.as_deref().map(str::trim).unwrap_or_default();
    let region_ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !region_ok {
        return Err(PresetError::Missing {
            preset,
            what: "the cluster's region (e.g. us-east-1)",
            why,
        });
    }
    let account = params.account.as_deref().map(str::trim).unwrap_or_default();
    if !(account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())) {
        return Err(PresetError::Missing {
            preset,
            what: "the 12-digit AWS account id",
            why,
        });
    }
    Ok((region, account))
}

/// A list option that must be given: its values, or `Missing` naming the option and why the
/// preset cannot fall back to every resource.
pub(crate) fn required_list_option(
    preset: &'static str,
    params: &PresetParams,
    name: &'static str,
    why: &'static str,
) -> Result<Vec<String>, PresetError> {
    let values = list_option(preset, params, name)?;
    if values.is_empty() {
        return Err(PresetError::Missing {
            preset,
            what: name,
            why,
        });
    }
    Ok(values)
}

/// A boolean option (`true` or `false`); `default` when absent.
pub(crate) fn bool_option(
    preset: &'static str,
    params: &PresetParams,
    name: &str,
    default: bool,
) -> Result<bool, PresetError> {
    let fallback = if default { "true" } else { "false" };
    Ok(choice_option(preset, params, name, &["true", "false"], fallback)? == "true")
}

/// What an ARN option must name: a service and a resource type (`secret:`, `parameter/`, …).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ArnKind {
    pub service: &'static str,
    /// The start of the resource part, e.g. `secret:` or `workspace/`.
    pub resource_prefix: &'static str,
    /// A well-formed example, for the error message.
    pub example: &'static str,
    /// Whether `*` and `?` may appear in the resource name (a set of secrets, say); `false` for
    /// options that name exactly one resource, such as a queue.
    pub wildcards: bool,
}

/// Checks one ARN option value against `kind` and the cluster's partition. Wildcards are allowed
/// in the resource name where `kind` says so (the user chose that scope), but the resource type,
/// service, partition and account must be concrete.
pub(crate) fn resource_arn(
    preset: &'static str,
    option: &str,
    partition: &str,
    raw: &str,
    kind: &ArnKind,
) -> Result<String, PresetError> {
    let bad = |why: String| PresetError::BadOption {
        preset,
        option: option.to_string(),
        message: format!("`{raw}` {why}"),
    };
    let shape = || format!("is not a {} ARN (e.g. {})", kind.service, kind.example);
    let arn = iam_policy::arn::Arn::parse(raw).map_err(|_| bad(shape()))?;
    let name = arn.resource.strip_prefix(kind.resource_prefix);
    if arn.service != kind.service || arn.account.is_empty() || name.is_none_or(str::is_empty) {
        return Err(bad(shape()));
    }
    if !kind.wildcards && arn.resource.contains(['*', '?']) {
        return Err(bad(format!(
            "has a wildcard; name exactly one {} resource (e.g. {})",
            kind.service, kind.example
        )));
    }
    if arn.partition != partition {
        return Err(bad(format!(
            "is in partition `{}`, but the cluster is in `{partition}`",
            arn.partition
        )));
    }
    Ok(raw.to_string())
}

/// A list option of ARNs of one kind, each checked with [`resource_arn`].
pub(crate) fn resource_arns(
    preset: &'static str,
    params: &PresetParams,
    option: &str,
    kind: &ArnKind,
) -> Result<Vec<String>, PresetError> {
    let partition = partition(params);
    list_option(preset, params, option)?
        .iter()
        .map(|raw| resource_arn(preset, option, partition, raw, kind))
        .collect()
}

/// A single-valued ARN option; `None` when absent.
pub(crate) fn single_resource_arn(
    preset: &'static str,
    params: &PresetParams,
    option: &str,
    kind: &ArnKind,
) -> Result<Option<String>, PresetError> {
    let mut arns = resource_arns(preset, params, option, kind)?;
    if arns.len() > 1 {
        return Err(PresetError::BadOption {
            preset,
            option: option.to_string(),
            message: format!("expects one ARN, got {}", arns.len()),
        });
    }
    Ok(arns.pop())
}

/// SQS queue ARNs, for the presets that read a queue.
pub(crate) const SQS_QUEUE: ArnKind = ArnKind {
    service: "sqs",
    resource_prefix: "",
    example: "arn:aws:sqs:us-east-1:123456789012:my-queue",
    wildcards: false,
};

/// Checks S3 bucket names (3-63 lower-case letters, digits, `.` and `-`, starting and ending
/// with a letter or digit): a wildcard or an ARN here would widen the policy past one bucket.
pub(crate) fn bucket_names(
    preset: &'static str,
    option: &str,
    names: Vec<String>,
) -> Result<Vec<String>, PresetError> {
    for name in &names {
        let edge_ok =
            |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let ok = (3..=63).contains(&name.len())
            && edge_ok(name.bytes().next())
            && edge_ok(name.bytes().last())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !ok {
            return Err(PresetError::BadOption {
                preset,
                option: option.to_string(),
                message: format!(
                    "`{name}` is not an S3 bucket name (3-63 lower-case letters, digits, '.' or '-'; \
                     a name, not an ARN or a wildcard)"
                ),
            });
        }
    }
    Ok(names)
}

/// `arn:<partition>:s3:::<bucket>`: the bucket itself (what `s3:ListBucket` is allowed on).
pub(crate) fn bucket_arn(partition: &str, bucket: &str) -> String {
    format!("arn:{partition}:s3:::{bucket}")
}

/// The ARN pattern of a bucket's objects, optionally under a key prefix.
pub(crate) fn objects_arn(partition: &str, bucket: &str, prefix: Option<&str>) -> String {
    match prefix {
        Some(prefix) => format!("arn:{partition}:s3:::{bucket}/{prefix}/*"),
        None => format!("arn:{partition}:s3:::{bucket}/*"),
    }
}

/// The policies of a preset that attaches AWS managed policies only.
pub(crate) fn managed_only(partition: &str, paths_and_names: &[&str]) -> super::PresetPolicies {
    super::PresetPolicies {
        managed_arns: paths_and_names
            .iter()
            .map(|p| managed_policy_arn(partition, p))
            .collect(),
        documents: Vec::new(),
    }
}

/// The policies of a preset that creates one customer-managed document named after it.
pub(crate) fn one_document(preset: &str, statements: Vec<Value>) -> super::PresetPolicies {
    super::PresetPolicies {
        managed_arns: Vec::new(),
        documents: vec![(preset.to_string(), document(statements))],
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
    fn resource_arns_check_service_type_account_partition_and_wildcards() {
        const SECRET: ArnKind = ArnKind {
            service: "secretsmanager",
            resource_prefix: "secret:",
            example: "arn:aws:secretsmanager:us-east-1:123456789012:secret:x",
            wildcards: true,
        };
        let ok = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/*";
        assert_eq!(resource_arn("x", "o", "aws", ok, &SECRET).unwrap(), ok);
        for bad in [
            "*",
            "secret:prod",
            "arn:aws:ssm:us-east-1:123456789012:parameter/p",
            "arn:aws:secretsmanager:us-east-1::secret:p",
            "arn:aws:secretsmanager:us-east-1:*:secret:p",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:",
            "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:p",
        ] {
            assert!(
                resource_arn("x", "o", "aws", bad, &SECRET).is_err(),
                "{bad}"
            );
        }
        let queue = "arn:aws:sqs:us-east-1:123456789012:q-*";
        let err = resource_arn("x", "queueArn", "aws", queue, &SQS_QUEUE).unwrap_err();
        assert!(err.to_string().contains("wildcard"), "{err}");
    }

    #[test]
    fn bucket_names_are_plain_names() {
        assert!(bucket_names("x", "b", vec!["my-bucket.v2".into()]).is_ok());
        for bad in ["*", "ab", "-lead", "Upper", "arn:aws:s3:::b", "b/prefix"] {
            assert!(bucket_names("x", "b", vec![bad.into()]).is_err(), "{bad}");
        }
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
