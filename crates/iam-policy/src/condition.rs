//! Condition operators and their evaluation against a request context.
//!
//! Follows "IAM JSON policy elements: Condition operators" and "Single-valued vs. multivalued
//! context keys" in the IAM user guide:
//! - several operators, and several keys under one operator, are AND-ed; several values of one
//!   key are OR-ed;
//! - a negated operator (`StringNotEquals`, `StringNotLike`, `NumericNotEquals`, `DateNotEquals`,
//!   `NotIpAddress`, `ArnNotEquals`, `ArnNotLike`) holds when the context value matches *none* of
//!   the policy values, and holds when the key is absent;
//! - a positive operator is false when the key is absent, unless it ends in `IfExists`;
//! - `ForAllValues:` holds when every context value matches some policy value, and when the key is
//!   absent or empty; `ForAnyValue:` holds when at least one does, and is false when absent;
//! - `Null` tests presence: `true` means the key must be absent.
//!
//! A multivalued key used without a set operator is evaluated value by value: a positive
//! operator holds when any context value matches, a negated one when none does. (IAM says such
//! keys require a set operator; this is the reading that matches `ForAnyValue` for positive
//! operators, and lint flags the policy.)

use std::net::IpAddr;

use base64::Engine;

use crate::arn::arn_matches_elems;
use crate::context::Context;
use crate::document::PolicyString;
use crate::variables;
use crate::wildcard;

/// `ForAllValues:` or `ForAnyValue:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOperator {
    ForAllValues,
    ForAnyValue,
}

/// The base comparison of an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorKind {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

use OperatorKind as K;

const KINDS: &[(&str, OperatorKind)] = &[
    ("StringEquals", K::StringEquals),
    ("StringNotEquals", K::StringNotEquals),
    ("StringEqualsIgnoreCase", K::StringEqualsIgnoreCase),
    ("StringNotEqualsIgnoreCase", K::StringNotEqualsIgnoreCase),
    ("StringLike", K::StringLike),
    ("StringNotLike", K::StringNotLike),
    ("NumericEquals", K::NumericEquals),
    ("NumericNotEquals", K::NumericNotEquals),
    ("NumericLessThan", K::NumericLessThan),
    ("NumericLessThanEquals", K::NumericLessThanEquals),
    ("NumericGreaterThan", K::NumericGreaterThan),
    ("NumericGreaterThanEquals", K::NumericGreaterThanEquals),
    ("DateEquals", K::DateEquals),
    ("DateNotEquals", K::DateNotEquals),
    ("DateLessThan", K::DateLessThan),
    ("DateLessThanEquals", K::DateLessThanEquals),
    ("DateGreaterThan", K::DateGreaterThan),
    ("DateGreaterThanEquals", K::DateGreaterThanEquals),
    ("Bool", K::Bool),
    ("BinaryEquals", K::BinaryEquals),
    ("IpAddress", K::IpAddress),
    ("NotIpAddress", K::NotIpAddress),
    ("ArnEquals", K::ArnEquals),
    ("ArnLike", K::ArnLike),
    ("ArnNotEquals", K::ArnNotEquals),
    ("ArnNotLike", K::ArnNotLike),
    ("Null", K::Null),
];

impl OperatorKind {
    pub fn name(self) -> &'static str {
        KINDS
            .iter()
            .find(|(_, k)| *k == self)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }

    /// Negated operators hold when no policy value matches (and when the key is absent).
    pub fn is_negated(self) -> bool {
        matches!(
            self,
            K::StringNotEquals
                | K::StringNotEqualsIgnoreCase
                | K::StringNotLike
                | K::NumericNotEquals
                | K::DateNotEquals
                | K::NotIpAddress
                | K::ArnNotEquals
                | K::ArnNotLike
        )
    }

    /// Operators whose policy values are wildcard patterns.
    pub fn uses_wildcards(self) -> bool {
        matches!(
            self,
            K::StringLike
                | K::StringNotLike
                | K::ArnEquals
                | K::ArnLike
                | K::ArnNotEquals
                | K::ArnNotLike
        )
    }

    /// String equality operators, where `*` is a literal character.
    pub fn is_exact_string(self) -> bool {
        matches!(
            self,
            K::StringEquals
                | K::StringNotEquals
                | K::StringEqualsIgnoreCase
                | K::StringNotEqualsIgnoreCase
        )
    }
}

/// A full operator: optional set qualifier, base kind, optional `IfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operator {
    pub set: Option<SetOperator>,
    pub kind: OperatorKind,
    pub if_exists: bool,
}

impl Operator {
    /// Parses an operator name such as `ForAnyValue:StringLikeIfExists`.
    pub fn parse(name: &str) -> Result<Operator, String> {
        let (set, rest) = if let Some(rest) = name.strip_prefix("ForAllValues:") {
            (Some(SetOperator::ForAllValues), rest)
        } else if let Some(rest) = name.strip_prefix("ForAnyValue:") {
            (Some(SetOperator::ForAnyValue), rest)
        } else {
            (None, name)
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        let kind = KINDS
            .iter()
            .find(|(n, _)| *n == base)
            .map(|(_, k)| *k)
            .ok_or_else(|| format!("unknown condition operator `{name}`"))?;
        if kind == K::Null && (if_exists || set.is_some()) {
            return Err(format!(
                "`{name}`: Null takes neither IfExists nor a set operator"
            ));
        }
        Ok(Operator {
            set,
            kind,
            if_exists,
        })
    }

    /// The operator's name as written in policies.
    pub fn name(&self) -> String {
        let set = match self.set {
            Some(SetOperator::ForAllValues) => "ForAllValues:",
            Some(SetOperator::ForAnyValue) => "ForAnyValue:",
            None => "",
        };
        format!(
            "{set}{}{}",
            self.kind.name(),
            if self.if_exists { "IfExists" } else { "" }
        )
    }
}

/// One `operator: {key: values}` entry of a `Condition` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub operator: Operator,
    /// The key as written.
    pub key: String,
    pub values: Vec<PolicyString>,
}

impl Condition {
    pub fn new(operator: Operator, key: String, values: Vec<PolicyString>) -> Condition {
        Condition {
            operator,
            key,
            values,
        }
    }

    /// Does the condition hold for `ctx`?
    pub fn holds(&self, ctx: &Context) -> bool {
        let op = self.operator;
        let present = ctx.get(&self.key);
        if op.kind == K::Null {
            let absent = present.is_none();
            return self.values.iter().any(|v| {
                let v = v.text.as_str();
                (v.eq_ignore_ascii_case("true") && absent)
                    || (v.eq_ignore_ascii_case("false") && !absent)
            });
        }
        let Some(values) = present else {
            if op.if_exists {
                return true;
            }
            return match op.set {
                Some(SetOperator::ForAllValues) => true,
                Some(SetOperator::ForAnyValue) => false,
                None => op.kind.is_negated(),
            };
        };
        let one = |v: &String| self.holds_for_value(v, ctx);
        match op.set {
            Some(SetOperator::ForAllValues) => values.iter().all(one),
            Some(SetOperator::ForAnyValue) => values.iter().any(one),
            None if op.kind.is_negated() => values.iter().all(one),
            None => values.iter().any(one),
        }
    }

    /// The operator applied to one context value: for a positive operator, some policy value
    /// matches; for a negated one, none does.
    fn holds_for_value(&self, value: &str, ctx: &Context) -> bool {
        let any = self
            .values
            .iter()
            .any(|policy| base_match(self.operator.kind, policy, value, ctx));
        any != self.operator.kind.is_negated()
    }
}

/// The positive comparison behind `kind` (negation is applied by the caller).
fn base_match(kind: OperatorKind, policy: &PolicyString, value: &str, ctx: &Context) -> bool {
    if kind.uses_wildcards() {
        let expanded;
        let pattern = if policy.has_variables {
            match variables::expand_pattern(&policy.text, ctx) {
                Some(p) => {
                    expanded = p;
                    &expanded
                }
                None => return false,
            }
        } else {
            &policy.compiled
        };
        return match kind {
            K::StringLike | K::StringNotLike => wildcard::matches_elems(pattern, value, false),
            _ => arn_matches_elems(pattern, value),
        };
    }
    let expanded;
    let policy_text = if policy.has_variables {
        match variables::expand_text(&policy.text, ctx) {
            Some(t) => {
                expanded = t;
                expanded.as_str()
            }
            None => return false,
        }
    } else {
        policy.text.as_str()
    };
    match kind {
        K::StringEquals | K::StringNotEquals => policy_text == value,
        K::StringEqualsIgnoreCase | K::StringNotEqualsIgnoreCase => {
            eq_ignore_case(policy_text, value)
        }
        K::NumericEquals | K::NumericNotEquals => {
            compare_numbers(value, policy_text, |a, b| a == b)
        }
        K::NumericLessThan => compare_numbers(value, policy_text, |a, b| a < b),
        K::NumericLessThanEquals => compare_numbers(value, policy_text, |a, b| a <= b),
        K::NumericGreaterThan => compare_numbers(value, policy_text, |a, b| a > b),
        K::NumericGreaterThanEquals => compare_numbers(value, policy_text, |a, b| a >= b),
        K::DateEquals | K::DateNotEquals => compare_dates(value, policy_text, |a, b| a == b),
        K::DateLessThan => compare_dates(value, policy_text, |a, b| a < b),
        K::DateLessThanEquals => compare_dates(value, policy_text, |a, b| a <= b),
        K::DateGreaterThan => compare_dates(value, policy_text, |a, b| a > b),
        K::DateGreaterThanEquals => compare_dates(value, policy_text, |a, b| a >= b),
        K::Bool => policy_text.eq_ignore_ascii_case(value),
        K::BinaryEquals => binary_equals(policy_text, value),
        K::IpAddress | K::NotIpAddress => ip_in_range(value, policy_text),
        // Wildcard kinds are handled above; Null never reaches here.
        _ => false,
    }
}

fn eq_ignore_case(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
        || a.chars()
            .flat_map(char::to_lowercase)
            .eq(b.chars().flat_map(char::to_lowercase))
}

fn compare_numbers(value: &str, policy: &str, cmp: impl Fn(f64, f64) -> bool) -> bool {
    match (value.trim().parse::<f64>(), policy.trim().parse::<f64>()) {
        (Ok(a), Ok(b)) if a.is_finite() && b.is_finite() => cmp(a, b),
        _ => false,
    }
}

/// Parses the date forms IAM accepts: ISO 8601 (date, date and time, with or without offset,
/// fractional seconds) and epoch seconds. Returns milliseconds since the epoch.
pub fn parse_date(text: &str) -> Option<i64> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
        || (text.starts_with('-')
            && text.len() > 1
            && text[1..].bytes().all(|b| b.is_ascii_digit()))
    {
        return text.parse::<i64>().ok()?.checked_mul(1000);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(dt.timestamp_millis());
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.fZ",
        "%Y-%m-%dT%H:%MZ",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(text, format) {
            return Some(dt.and_utc().timestamp_millis());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|dt| dt.and_utc().timestamp_millis())
}

fn compare_dates(value: &str, policy: &str, cmp: impl Fn(i64, i64) -> bool) -> bool {
    match (parse_date(value), parse_date(policy)) {
        (Some(a), Some(b)) => cmp(a, b),
        _ => false,
    }
}

/// Policy values of `BinaryEquals` are base64; context values are given base64-encoded too.
fn binary_equals(policy: &str, value: &str) -> bool {
    let engine = base64::engine::general_purpose::STANDARD;
    match (engine.decode(policy.trim()), engine.decode(value.trim())) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Is `value` (an IP address) inside `range` (an address or CIDR block, IPv4 or IPv6)?
pub fn ip_in_range(value: &str, range: &str) -> bool {
    let Ok(addr) = value.trim().parse::<IpAddr>() else {
        return false;
    };
    let (net, prefix) = match range.trim().split_once('/') {
        Some((net, prefix)) => (net, prefix.parse::<u32>().ok()),
        None => (range.trim(), None),
    };
    let Ok(net) = net.parse::<IpAddr>() else {
        return false;
    };
    match (addr, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let prefix = prefix.unwrap_or(32);
            if prefix > 32 {
                return false;
            }
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - prefix)
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let prefix = prefix.unwrap_or(128);
            if prefix > 128 {
                return false;
            }
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - prefix)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(op: &str, key: &str, values: &[&str]) -> Condition {
        Condition::new(
            Operator::parse(op).unwrap(),
            key.to_string(),
            values
                .iter()
                .map(|v| PolicyString::new(v.to_string(), true))
                .collect(),
        )
    }

    fn ctx(pairs: &[(&str, &str)]) -> Context {
        pairs.iter().fold(Context::new(), |c, (k, v)| c.with(k, *v))
    }

    const OPERATORS_PAGE: &str = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html";

    #[test]
    fn parses_operator_names() {
        let op = Operator::parse("ForAnyValue:StringLikeIfExists").unwrap();
        assert_eq!(
            op,
            Operator {
                set: Some(SetOperator::ForAnyValue),
                kind: K::StringLike,
                if_exists: true
            }
        );
        assert_eq!(op.name(), "ForAnyValue:StringLikeIfExists");
        assert!(Operator::parse("StringLikeIgnoreCase").is_err());
        assert!(Operator::parse("NullIfExists").is_err());
        assert!(Operator::parse("stringequals").is_err());
        for (name, _) in KINDS {
            assert_eq!(
                Operator::parse(name).unwrap().name(),
                *name,
                "{OPERATORS_PAGE}"
            );
        }
    }

    // String condition operators: StringEquals exact and case-sensitive, no wildcards.
    #[test]
    fn string_operators() {
        let c = ctx(&[("aws:username", "Bob")]);
        assert!(cond("StringEquals", "aws:username", &["Bob"]).holds(&c));
        assert!(!cond("StringEquals", "aws:username", &["bob"]).holds(&c));
        assert!(
            !cond("StringEquals", "aws:username", &["*"]).holds(&c),
            "* is literal in StringEquals"
        );
        assert!(cond("StringEqualsIgnoreCase", "aws:username", &["bOB"]).holds(&c));
        assert!(cond("StringLike", "aws:username", &["B*"]).holds(&c));
        assert!(cond("StringLike", "aws:username", &["?ob"]).holds(&c));
        assert!(!cond("StringLike", "aws:username", &["b*"]).holds(&c));
        assert!(cond("StringNotLike", "aws:username", &["x*"]).holds(&c));
        assert!(cond("StringNotEqualsIgnoreCase", "aws:username", &["alice"]).holds(&c));
        assert!(!cond("StringNotEqualsIgnoreCase", "aws:username", &["BOB"]).holds(&c));
    }

    // Several values for one key are OR-ed; negated operators with several values hold when the
    // context value matches none of them ("…NotEquals … with multiple values").
    #[test]
    fn several_values_or_and_negated_nor() {
        let c = ctx(&[("aws:RequestedRegion", "eu-west-1")]);
        assert!(
            cond(
                "StringEquals",
                "aws:RequestedRegion",
                &["us-east-1", "eu-west-1"]
            )
            .holds(&c)
        );
        assert!(
            !cond(
                "StringNotEquals",
                "aws:RequestedRegion",
                &["us-east-1", "eu-west-1"]
            )
            .holds(&c)
        );
        assert!(
            cond(
                "StringNotEquals",
                "aws:RequestedRegion",
                &["us-east-1", "us-west-2"]
            )
            .holds(&c)
        );
    }

    // "If the key that you specify in a policy condition is not present in the request context,
    // the values do not match and the condition is false. If the policy condition requires that
    // the key is not matched, such as StringNotLike or ArnNotLike, and the right key is not
    // present, the condition is true."
    #[test]
    fn absent_keys() {
        let c = Context::new();
        assert!(!cond("StringEquals", "aws:username", &["x"]).holds(&c));
        assert!(cond("StringNotLike", "aws:username", &["x"]).holds(&c));
        assert!(cond("ArnNotLike", "aws:SourceArn", &["arn:aws:s3:::x"]).holds(&c));
        assert!(!cond("NumericLessThan", "n", &["1"]).holds(&c));
    }

    // "…IfExists condition operators": true when the key is absent, else the base operator.
    #[test]
    fn if_exists() {
        assert!(
            cond("StringEqualsIfExists", "ec2:InstanceType", &["t3.micro"]).holds(&Context::new())
        );
        assert!(
            cond("StringEqualsIfExists", "ec2:InstanceType", &["t3.micro"])
                .holds(&ctx(&[("ec2:InstanceType", "t3.micro")]))
        );
        assert!(
            !cond("StringEqualsIfExists", "ec2:InstanceType", &["t3.micro"])
                .holds(&ctx(&[("ec2:InstanceType", "m5.large")]))
        );
    }

    // "Condition operator to check existence of condition keys" (Null).
    #[test]
    fn null() {
        let c = ctx(&[("aws:TokenIssueTime", "2024-01-01T00:00:00Z")]);
        assert!(cond("Null", "aws:TokenIssueTime", &["false"]).holds(&c));
        assert!(!cond("Null", "aws:TokenIssueTime", &["true"]).holds(&c));
        assert!(cond("Null", "aws:MultiFactorAuthAge", &["true"]).holds(&c));
        assert!(!cond("Null", "aws:MultiFactorAuthAge", &["false"]).holds(&c));
    }

    // Numeric condition operators.
    #[test]
    fn numeric() {
        let c = ctx(&[("s3:max-keys", "10")]);
        assert!(cond("NumericLessThanEquals", "s3:max-keys", &["10"]).holds(&c));
        assert!(!cond("NumericLessThan", "s3:max-keys", &["10"]).holds(&c));
        assert!(cond("NumericGreaterThan", "s3:max-keys", &["9.5"]).holds(&c));
        assert!(cond("NumericGreaterThanEquals", "s3:max-keys", &["10.0"]).holds(&c));
        assert!(cond("NumericEquals", "s3:max-keys", &["10"]).holds(&c));
        assert!(cond("NumericNotEquals", "s3:max-keys", &["11"]).holds(&c));
        assert!(!cond("NumericEquals", "s3:max-keys", &["ten"]).holds(&c));
    }

    // Date condition operators: ISO 8601 dates and epoch (UNIX) times.
    #[test]
    fn dates() {
        let c = ctx(&[("aws:CurrentTime", "2026-06-01T12:00:00Z")]);
        assert!(
            cond(
                "DateGreaterThan",
                "aws:CurrentTime",
                &["2026-01-01T00:00:00Z"]
            )
            .holds(&c)
        );
        assert!(cond("DateLessThan", "aws:CurrentTime", &["2027-01-01"]).holds(&c));
        assert!(
            cond(
                "DateLessThanEquals",
                "aws:CurrentTime",
                &["2026-06-01T14:00:00+02:00"]
            )
            .holds(&c)
        );
        assert!(cond("DateEquals", "aws:CurrentTime", &["1780315200"]).holds(&c));
        assert!(cond("DateNotEquals", "aws:CurrentTime", &["2026-06-01"]).holds(&c));
        assert!(
            cond(
                "DateGreaterThanEquals",
                "aws:CurrentTime",
                &["2026-06-01T12:00:00.000Z"]
            )
            .holds(&c)
        );
        assert!(!cond("DateGreaterThan", "aws:CurrentTime", &["not a date"]).holds(&c));
    }

    // Boolean condition operators.
    #[test]
    fn bool_operator() {
        let c = ctx(&[("aws:SecureTransport", "true")]);
        assert!(cond("Bool", "aws:SecureTransport", &["true"]).holds(&c));
        assert!(cond("Bool", "aws:SecureTransport", &["TRUE"]).holds(&c));
        assert!(!cond("Bool", "aws:SecureTransport", &["false"]).holds(&c));
        assert!(cond("BoolIfExists", "aws:MultiFactorAuthPresent", &["false"]).holds(&c));
    }

    // Binary condition operators: base64-encoded values.
    #[test]
    fn binary() {
        let c = ctx(&[("key", "QmluYXJ5VmFsdWVJbkJhc2U2NA==")]);
        assert!(cond("BinaryEquals", "key", &["QmluYXJ5VmFsdWVJbkJhc2U2NA=="]).holds(&c));
        assert!(!cond("BinaryEquals", "key", &["AAAA"]).holds(&c));
    }

    // IP address condition operators (IPv4 and IPv6, CIDR).
    #[test]
    fn ip_addresses() {
        let c = ctx(&[("aws:SourceIp", "203.0.113.7")]);
        assert!(cond("IpAddress", "aws:SourceIp", &["203.0.113.0/24"]).holds(&c));
        assert!(!cond("IpAddress", "aws:SourceIp", &["198.51.100.0/24"]).holds(&c));
        assert!(
            cond(
                "NotIpAddress",
                "aws:SourceIp",
                &["198.51.100.0/24", "192.0.2.1"]
            )
            .holds(&c)
        );
        assert!(
            !cond(
                "NotIpAddress",
                "aws:SourceIp",
                &["198.51.100.0/24", "203.0.113.7"]
            )
            .holds(&c)
        );
        let v6 = ctx(&[("aws:SourceIp", "2001:db8:1234::1")]);
        assert!(cond("IpAddress", "aws:SourceIp", &["2001:DB8:1234::/48"]).holds(&v6));
        assert!(!cond("IpAddress", "aws:SourceIp", &["203.0.113.0/24"]).holds(&v6));
        assert!(ip_in_range("10.1.2.3", "0.0.0.0/0"));
        assert!(!ip_in_range("10.1.2.3", "10.0.0.0/33"));
    }

    // ARN condition operators: ArnEquals and ArnLike both match segment-wise with wildcards.
    #[test]
    fn arns() {
        let c = ctx(&[("aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:topic")]);
        assert!(
            cond(
                "ArnLike",
                "aws:SourceArn",
                &["arn:aws:sns:*:123456789012:*"]
            )
            .holds(&c)
        );
        assert!(
            cond(
                "ArnEquals",
                "aws:SourceArn",
                &["arn:aws:sns:us-east-1:123456789012:topic"]
            )
            .holds(&c)
        );
        assert!(
            cond(
                "ArnNotLike",
                "aws:SourceArn",
                &["arn:aws:sns:*:999999999999:*"]
            )
            .holds(&c)
        );
        assert!(!cond("ArnLike", "aws:SourceArn", &["arn:aws:sqs:*:*:*"]).holds(&c));
    }

    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
    // ForAllValues: every request value matches; true when the key is absent or empty.
    // ForAnyValue: at least one request value matches; false when absent.
    #[test]
    fn set_operators() {
        let tags = ctx(&[("aws:TagKeys", "Dept"), ("aws:TagKeys", "CostCenter")]);
        let all = cond(
            "ForAllValues:StringEquals",
            "aws:TagKeys",
            &["Dept", "CostCenter", "Owner"],
        );
        assert!(all.holds(&tags));
        assert!(
            all.holds(&Context::new()),
            "ForAllValues with absent key is true"
        );
        let mut empty = Context::new();
        empty.set("aws:TagKeys", vec![]);
        assert!(all.holds(&empty), "ForAllValues with empty set is true");
        assert!(!cond("ForAllValues:StringEquals", "aws:TagKeys", &["Dept"]).holds(&tags));
        let any = cond("ForAnyValue:StringEquals", "aws:TagKeys", &["Dept"]);
        assert!(any.holds(&tags));
        assert!(
            !any.holds(&Context::new()),
            "ForAnyValue with absent key is false"
        );
        assert!(!cond("ForAnyValue:StringEquals", "aws:TagKeys", &["Owner"]).holds(&tags));
        // Negated operators under a set operator apply per request value.
        assert!(cond("ForAnyValue:StringNotEquals", "aws:TagKeys", &["Dept"]).holds(&tags));
        assert!(!cond("ForAllValues:StringNotEquals", "aws:TagKeys", &["Dept"]).holds(&tags));
        assert!(cond("ForAllValues:StringNotLike", "aws:TagKeys", &["aws:*"]).holds(&tags));
        assert!(
            cond("ForAllValues:StringLikeIfExists", "aws:TagKeys", &["x*"]).holds(&Context::new())
        );
    }

    #[test]
    fn multivalued_key_without_set_operator() {
        let tags = ctx(&[("aws:TagKeys", "Dept"), ("aws:TagKeys", "CostCenter")]);
        assert!(cond("StringEquals", "aws:TagKeys", &["Dept"]).holds(&tags));
        assert!(!cond("StringNotEquals", "aws:TagKeys", &["Dept"]).holds(&tags));
        assert!(cond("StringNotEquals", "aws:TagKeys", &["Owner"]).holds(&tags));
    }

    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
    #[test]
    fn variables_in_condition_values() {
        let c = ctx(&[("aws:username", "bob"), ("s3:prefix", "home/bob/docs")]);
        assert!(cond("StringLike", "s3:prefix", &["home/${aws:username}/*"]).holds(&c));
        assert!(!cond("StringLike", "s3:prefix", &["home/${aws:userid}/*"]).holds(&c));
        assert!(cond("StringNotLike", "s3:prefix", &["home/${aws:userid}/*"]).holds(&c));
        assert!(cond("StringEquals", "s3:prefix", &["home/${aws:username}/docs"]).holds(&c));
    }

    // Condition key names are case-insensitive.
    #[test]
    fn keys_case_insensitive() {
        let c = ctx(&[("AWS:SourceIP", "10.0.0.1")]);
        assert!(cond("IpAddress", "aws:sourceip", &["10.0.0.0/8"]).holds(&c));
    }
}
