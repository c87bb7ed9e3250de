//! Policy documents: parse every legal shape of IAM's JSON policy grammar into typed statements.
//!
//! Accepts raw JSON or the URL-encoded form IAM returns from `GetRole`/`GetPolicyVersion`.
//! Single strings and arrays are both accepted wherever IAM accepts both; `Principal` may be
//! `"*"` or a map of `AWS`/`Federated`/`Service`/`CanonicalUser` to a string or an array.
//! Errors name the place (`Statement[1].Condition.StringLike: …`). Parsing never panics: JSON
//! nesting is bounded by serde_json's recursion limit and every shape is checked, not assumed.

use std::fmt;

use serde_json::{Map, Value};

use crate::condition::{Condition, Operator};
use crate::wildcard::{self, Elem};

/// The policy language version that enables policy variables.
pub const VERSION_2012: &str = "2012-10-17";

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDocument {
    pub version: Option<String>,
    pub id: Option<String>,
    pub statements: Vec<Statement>,
}

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// Position in the document's `Statement` array (0 for a single-object `Statement`).
    pub index: usize,
    pub sid: Option<String>,
    pub effect: Effect,
    pub principal: Option<PrincipalBlock>,
    pub action: ActionBlock,
    pub resource: Option<ResourceBlock>,
    /// Every condition of the `Condition` block, in document order; all must hold.
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// `Principal` or `NotPrincipal`.
#[derive(Debug, Clone, PartialEq)]
pub struct PrincipalBlock {
    pub negated: bool,
    pub principals: Principals,
}

impl PrincipalBlock {
    /// The element as written: `Principal` or `NotPrincipal`.
    pub fn element(&self) -> &'static str {
        if self.negated {
            "NotPrincipal"
        } else {
            "Principal"
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Principals {
    /// `"Principal": "*"`: everyone, including anonymous callers.
    Any,
    /// The typed map, in document order.
    Map(Vec<(PrincipalType, Vec<String>)>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalType {
    Aws,
    Federated,
    Service,
    CanonicalUser,
}

impl PrincipalType {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalType::Aws => "AWS",
            PrincipalType::Federated => "Federated",
            PrincipalType::Service => "Service",
            PrincipalType::CanonicalUser => "CanonicalUser",
        }
    }
}

/// `Action` or `NotAction`.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionBlock {
    pub negated: bool,
    pub patterns: Vec<String>,
    /// `patterns`, compiled once for matching.
    pub(crate) compiled: Vec<Vec<Elem>>,
}

impl ActionBlock {
    pub fn new(negated: bool, patterns: Vec<String>) -> ActionBlock {
        let compiled = patterns.iter().map(|p| wildcard::compile(p)).collect();
        ActionBlock {
            negated,
            patterns,
            compiled,
        }
    }

    /// Does this block cover `action` (case-insensitive, wildcards)?
    pub fn covers(&self, action: &str) -> bool {
        let any = self
            .compiled
            .iter()
            .any(|p| wildcard::matches_elems(p, action, true));
        any != self.negated
    }
}

/// `Resource` or `NotResource`. Values may hold policy variables.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceBlock {
    pub negated: bool,
    pub patterns: Vec<PolicyString>,
}

/// A string from a policy (resource or condition value) and whether it holds policy variables
/// that must be substituted at evaluation time (only in `Version: 2012-10-17` documents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyString {
    pub text: String,
    pub has_variables: bool,
    /// `text` compiled as a wildcard pattern (empty when it has variables: compiled per request).
    pub(crate) compiled: Vec<Elem>,
}

impl PolicyString {
    pub fn new(text: String, variables_enabled: bool) -> PolicyString {
        let has_variables = variables_enabled && text.contains("${");
        let compiled = if has_variables {
            Vec::new()
        } else {
            wildcard::compile(&text)
        };
        PolicyString {
            text,
            has_variables,
            compiled,
        }
    }
}

/// A document that could not be parsed, with the place in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// Where: `Statement[1].Condition.StringLike`, or `line 3 column 7` for JSON syntax.
    pub path: String,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

fn err(path: impl Into<String>, message: impl Into<String>) -> ParseError {
    ParseError {
        path: path.into(),
        message: message.into(),
    }
}

/// `text` without a leading UTF-8 byte-order mark (editors on Windows write one).
pub fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// Undoes IAM's URL encoding when `text` is not already raw JSON; a leading byte-order mark is
/// dropped first.
pub fn decode_document_text(text: &str) -> Result<std::borrow::Cow<'_, str>, ParseError> {
    let text = strip_bom(text);
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || !trimmed.contains('%') {
        return Ok(std::borrow::Cow::Borrowed(text));
    }
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map_err(|e| err("", format!("URL-encoded document is not valid UTF-8: {e}")))
}

impl PolicyDocument {
    /// Parses raw or URL-encoded JSON text.
    pub fn parse(text: &str) -> Result<PolicyDocument, ParseError> {
        let decoded = decode_document_text(text)?;
        let value: Value = serde_json::from_str(&decoded).map_err(|e| {
            err(
                format!("line {} column {}", e.line(), e.column()),
                format!("invalid JSON: {e}"),
            )
        })?;
        PolicyDocument::from_value(&value)
    }

    /// Parses an already-decoded JSON value.
    pub fn from_value(value: &Value) -> Result<PolicyDocument, ParseError> {
        let Value::Object(top) = value else {
            return Err(err(
                "",
                format!(
                    "a policy document must be a JSON object, found {}",
                    kind(value)
                ),
            ));
        };
        let mut version = None;
        let mut id = None;
        let mut statement_value = None;
        for (key, v) in top {
            match key.as_str() {
                "Version" => version = Some(string_at(v, "Version")?),
                "Id" => id = Some(string_at(v, "Id")?),
                "Statement" => statement_value = Some(v),
                other => {
                    return Err(err(
                        other,
                        "unknown top-level element (expected Version, Id, Statement)",
                    ));
                }
            }
        }
        if let Some(v) = &version
            && v != VERSION_2012
            && v != "2008-10-17"
        {
            return Err(err(
                "Version",
                format!("`{v}` is not a policy language version (use 2012-10-17)"),
            ));
        }
        let variables = version.as_deref() == Some(VERSION_2012);
        let statement_value = statement_value.ok_or_else(|| err("", "missing `Statement`"))?;
        let statements = match statement_value {
            Value::Object(obj) => {
                vec![parse_statement(obj, 0, "Statement".to_string(), variables)?]
            }
            Value::Array(items) => {
                if items.is_empty() {
                    return Err(err("Statement", "must not be empty"));
                }
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let path = format!("Statement[{i}]");
                    let Value::Object(obj) = item else {
                        return Err(err(
                            path,
                            format!("a statement must be an object, found {}", kind(item)),
                        ));
                    };
                    out.push(parse_statement(obj, i, path, variables)?);
                }
                out
            }
            other => {
                return Err(err(
                    "Statement",
                    format!("must be an object or an array, found {}", kind(other)),
                ));
            }
        };
        Ok(PolicyDocument {
            version,
            id,
            statements,
        })
    }

    /// Parses an identity-based document (an identity policy, a permissions boundary, a session
    /// policy or an SCP): one that names a principal is refused, as IAM refuses it.
    pub fn parse_identity_based(text: &str) -> Result<PolicyDocument, ParseError> {
        let document = PolicyDocument::parse(text)?;
        document.check_identity_based()?;
        Ok(document)
    }

    /// [`PolicyDocument::from_value`] for an identity-based document (see
    /// [`PolicyDocument::parse_identity_based`]).
    pub fn from_value_identity_based(value: &Value) -> Result<PolicyDocument, ParseError> {
        let document = PolicyDocument::from_value(value)?;
        document.check_identity_based()?;
        Ok(document)
    }

    /// Fails on the first statement carrying `Principal` or `NotPrincipal`: IAM refuses such an
    /// identity-based policy ("Has prohibited field Principal"), and evaluating it with the
    /// statement dropped would fail open (a `Deny` with a principal would deny nothing).
    ///
    /// Source: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html>
    /// ("You cannot use the Principal element in an identity-based policy").
    pub fn check_identity_based(&self) -> Result<(), ParseError> {
        match self.statements.iter().find(|s| s.principal.is_some()) {
            None => Ok(()),
            Some(statement) => {
                let element = statement
                    .principal
                    .as_ref()
                    .map_or("Principal", |p| p.element());
                Err(err(
                    format!("Statement[{}].{element}", statement.index),
                    format!(
                        "an identity-based policy cannot name a principal (IAM refuses it: \"Has prohibited field {element}\"); remove {element}, or evaluate the document as a resource-based policy"
                    ),
                ))
            }
        }
    }

    /// Whether policy variables are substituted in this document (Version 2012-10-17).
    pub fn variables_enabled(&self) -> bool {
        self.version.as_deref() == Some(VERSION_2012)
    }

    /// True when any statement names a principal: a trust or other resource-based policy.
    pub fn is_resource_based(&self) -> bool {
        self.statements.iter().any(|s| s.principal.is_some())
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn string_at(v: &Value, path: &str) -> Result<String, ParseError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        other => Err(err(
            path,
            format!("must be a string, found {}", kind(other)),
        )),
    }
}

/// A string or a non-empty array of strings.
fn strings_at(v: &Value, path: &str) -> Result<Vec<String>, ParseError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => {
            if items.is_empty() {
                return Err(err(path, "must not be an empty array"));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, item)| string_at(item, &format!("{path}[{i}]")))
                .collect()
        }
        other => Err(err(
            path,
            format!(
                "must be a string or an array of strings, found {}",
                kind(other)
            ),
        )),
    }
}

fn parse_statement(
    obj: &Map<String, Value>,
    index: usize,
    path: String,
    variables: bool,
) -> Result<Statement, ParseError> {
    let mut sid = None;
    let mut effect = None;
    let mut principal: Option<PrincipalBlock> = None;
    let mut action: Option<ActionBlock> = None;
    let mut resource: Option<ResourceBlock> = None;
    let mut conditions = Vec::new();
    for (key, v) in obj {
        let here = format!("{path}.{key}");
        match key.as_str() {
            "Sid" => sid = Some(string_at(v, &here)?),
            "Effect" => {
                effect = Some(match string_at(v, &here)?.as_str() {
                    "Allow" => Effect::Allow,
                    "Deny" => Effect::Deny,
                    other => {
                        return Err(err(
                            here,
                            format!("`{other}` is not an effect (use Allow or Deny)"),
                        ));
                    }
                })
            }
            "Principal" | "NotPrincipal" => {
                if principal.is_some() {
                    return Err(err(
                        here,
                        "a statement takes Principal or NotPrincipal, not both",
                    ));
                }
                principal = Some(PrincipalBlock {
                    negated: key == "NotPrincipal",
                    principals: parse_principals(v, &here)?,
                });
            }
            "Action" | "NotAction" => {
                if action.is_some() {
                    return Err(err(here, "a statement takes Action or NotAction, not both"));
                }
                let patterns = strings_at(v, &here)?;
                for (i, p) in patterns.iter().enumerate() {
                    if p != "*" && !p.contains(':') {
                        return Err(err(
                            format!("{here}[{i}]"),
                            format!("`{p}` is not an action (expected service:Action or *)"),
                        ));
                    }
                }
                action = Some(ActionBlock::new(key == "NotAction", patterns));
            }
            "Resource" | "NotResource" => {
                if resource.is_some() {
                    return Err(err(
                        here,
                        "a statement takes Resource or NotResource, not both",
                    ));
                }
                let patterns = strings_at(v, &here)?
                    .into_iter()
                    .map(|s| PolicyString::new(s, variables))
                    .collect();
                resource = Some(ResourceBlock {
                    negated: key == "NotResource",
                    patterns,
                });
            }
            "Condition" => conditions = parse_conditions(v, &here, variables)?,
            other => {
                return Err(err(
                    here,
                    format!(
                        "unknown statement element `{other}` (expected Sid, Effect, Principal, NotPrincipal, Action, NotAction, Resource, NotResource, Condition)"
                    ),
                ));
            }
        }
    }
    let effect = effect.ok_or_else(|| err(&path, "missing `Effect`"))?;
    let action = action.ok_or_else(|| err(&path, "missing `Action` or `NotAction`"))?;
    Ok(Statement {
        index,
        sid,
        effect,
        principal,
        action,
        resource,
        conditions,
    })
}

fn parse_principals(v: &Value, path: &str) -> Result<Principals, ParseError> {
    match v {
        Value::String(s) if s == "*" => Ok(Principals::Any),
        Value::String(s) => Err(err(
            path,
            format!(
                "`{s}`: a principal string must be \"*\"; use a map such as {{\"AWS\": \"{s}\"}}"
            ),
        )),
        Value::Object(map) => {
            if map.is_empty() {
                return Err(err(path, "must name at least one principal"));
            }
            let mut out = Vec::with_capacity(map.len());
            for (key, value) in map {
                let here = format!("{path}.{key}");
                let ty = match key.as_str() {
                    "AWS" => PrincipalType::Aws,
                    "Federated" => PrincipalType::Federated,
                    "Service" => PrincipalType::Service,
                    "CanonicalUser" => PrincipalType::CanonicalUser,
                    other => {
                        return Err(err(
                            here,
                            format!(
                                "unknown principal type `{other}` (expected AWS, Federated, Service, CanonicalUser)"
                            ),
                        ));
                    }
                };
                out.push((ty, strings_at(value, &here)?));
            }
            Ok(Principals::Map(out))
        }
        other => Err(err(
            path,
            format!(
                "must be \"*\" or a map of principal types, found {}",
                kind(other)
            ),
        )),
    }
}

fn parse_conditions(v: &Value, path: &str, variables: bool) -> Result<Vec<Condition>, ParseError> {
    let Value::Object(operators) = v else {
        return Err(err(
            path,
            format!(
                "must be an object of condition operators, found {}",
                kind(v)
            ),
        ));
    };
    let mut out = Vec::new();
    for (op_name, keys) in operators {
        let here = format!("{path}.{op_name}");
        let operator = Operator::parse(op_name).map_err(|m| err(&here, m))?;
        let Value::Object(keys) = keys else {
            return Err(err(
                here,
                format!("must be an object of condition keys, found {}", kind(keys)),
            ));
        };
        if keys.is_empty() {
            return Err(err(here, "must name at least one condition key"));
        }
        for (key, values) in keys {
            let key_path = format!("{here}.{key}");
            let values = condition_values(values, &key_path)?;
            out.push(Condition::new(
                operator,
                key.clone(),
                values
                    .into_iter()
                    .map(|s| PolicyString::new(s, variables))
                    .collect(),
            ));
        }
    }
    Ok(out)
}

/// Condition values: strings, numbers or booleans, alone or in a non-empty array.
fn condition_values(v: &Value, path: &str) -> Result<Vec<String>, ParseError> {
    fn scalar(v: &Value, path: &str) -> Result<String, ParseError> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(err(
                path,
                format!(
                    "a condition value must be a string, number or boolean, found {}",
                    kind(other)
                ),
            )),
        }
    }
    match v {
        Value::Array(items) => {
            if items.is_empty() {
                return Err(err(path, "must not be an empty array"));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, item)| scalar(item, &format!("{path}[{i}]")))
                .collect()
        }
        other => Ok(vec![scalar(other, path)?]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
    // (Statement is a statement or an array of statements; Action/Resource a string or array;
    // Principal "*" or a map to a string or array).
    #[test]
    fn parses_every_shape() {
        let doc = PolicyDocument::parse(
            r#"{"Version":"2012-10-17","Id":"x","Statement":{"Sid":"One","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}"#,
        )
        .unwrap();
        assert_eq!(doc.statements.len(), 1);
        assert_eq!(doc.statements[0].sid.as_deref(), Some("One"));
        assert_eq!(doc.id.as_deref(), Some("x"));

        let doc = PolicyDocument::parse(
            r#"{"Statement":[
                {"Effect":"Deny","NotAction":["iam:*","sts:*"],"NotResource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]},
                {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"},
                {"Effect":"Allow","NotPrincipal":{"AWS":["arn:aws:iam::123456789012:root"],"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"},
                {"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/x","CanonicalUser":"abc"},"Action":"sts:AssumeRoleWithWebIdentity",
                 "Condition":{"StringEquals":{"x:sub":"a","x:aud":["b","c"]},"NumericLessThan":{"k":5},"Bool":{"aws:SecureTransport":true}}}
            ]}"#,
        )
        .unwrap();
        assert!(doc.version.is_none());
        let s = &doc.statements;
        assert!(s[0].action.negated && s[0].resource.as_ref().unwrap().negated);
        assert_eq!(s[0].action.patterns, vec!["iam:*", "sts:*"]);
        assert_eq!(s[1].principal.as_ref().unwrap().principals, Principals::Any);
        let not = s[2].principal.as_ref().unwrap();
        assert!(not.negated);
        assert!(
            matches!(&not.principals, Principals::Map(m) if m.len() == 2 && m[1].0 == PrincipalType::Service)
        );
        assert_eq!(s[3].conditions.len(), 4);
        assert_eq!(
            s[3].conditions[1]
                .values
                .iter()
                .map(|v| v.text.as_str())
                .collect::<Vec<_>>(),
            vec!["b", "c"]
        );
        assert_eq!(s[3].conditions[2].values[0].text, "5");
        assert_eq!(s[3].conditions[3].values[0].text, "true");
        assert!(doc.is_resource_based());
    }

    // IAM's GetRole returns AssumeRolePolicyDocument URL-encoded (RFC 3986).
    // Source: https://docs.aws.amazon.com/IAM/latest/APIReference/API_Role.html
    #[test]
    fn accepts_url_encoded() {
        let raw = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        let encoded: String =
            percent_encoding::utf8_percent_encode(raw, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        assert_eq!(
            PolicyDocument::parse(&encoded).unwrap(),
            PolicyDocument::parse(raw).unwrap()
        );
    }

    #[test]
    fn errors_name_the_place() {
        let cases = [
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:*"},{"Effect":"Allow","Action":"s3:*","Condition":{"StringLik":{"a":"b"}}}]}"#,
                "Statement[1].Condition.StringLik",
            ),
            (
                r#"{"Statement":[{"Effect":"Permit","Action":"s3:*"}]}"#,
                "Statement[0].Effect",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":[]}]}"#,
                "Statement[0].Action",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":[1]}]}"#,
                "Statement[0].Resource[0]",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Principal":{"Users":"x"}}]}"#,
                "Statement[0].Principal.Users",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Condition":{"StringEquals":{"k":{"a":1}}}}]}"#,
                "Statement[0].Condition.StringEquals.k",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Action2":"x"}]}"#,
                "Statement[0].Action2",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"GetObject"}]}"#,
                "Statement[0].Action[0]",
            ),
            (r#"{"Version":"2020-01-01","Statement":[]}"#, "Version"),
            (r#"{"Statement":[]}"#, "Statement"),
            ("{\"Statement\": [\n  {,}]}", "line 2 column 4"),
        ];
        for (text, path) in cases {
            let e = PolicyDocument::parse(text).unwrap_err();
            assert_eq!(e.path, path, "{text}: {e}");
        }
    }

    // Editors on Windows start UTF-8 files with a byte-order mark; IAM's console accepts such a
    // paste, and so does the parser, raw or URL-encoded.
    #[test]
    fn accepts_a_leading_byte_order_mark() {
        let raw = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#;
        let expected = PolicyDocument::parse(raw).unwrap();
        assert_eq!(
            PolicyDocument::parse(&format!("\u{feff}{raw}")).unwrap(),
            expected
        );
        assert_eq!(
            PolicyDocument::parse(&format!("\u{feff}  \n{raw}")).unwrap(),
            expected
        );
        assert_eq!(strip_bom("\u{feff}x"), "x");
        assert_eq!(strip_bom("x\u{feff}"), "x\u{feff}");
    }

    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
    // ("You cannot use the Principal element in an identity-based policy"; IAM answers
    // "Has prohibited field Principal").
    #[test]
    fn identity_based_documents_refuse_principals_with_the_place() {
        let ok = r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        assert!(PolicyDocument::parse_identity_based(ok).is_ok());
        for (text, path) in [
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}"#,
                "Statement[1].Principal",
            ),
            (
                r#"{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"123456789012"},"Action":"s3:*","Resource":"*"}}"#,
                "Statement[0].NotPrincipal",
            ),
        ] {
            let e = PolicyDocument::parse_identity_based(text).unwrap_err();
            assert_eq!(e.path, path);
            assert!(e.message.contains("prohibited field"), "{e}");
            let value: Value = serde_json::from_str(text).unwrap();
            assert_eq!(
                PolicyDocument::from_value_identity_based(&value).unwrap_err(),
                e
            );
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        let deep = "[".repeat(100_000);
        for text in [
            "",
            "null",
            "[]",
            "\"x\"",
            "%",
            "%ZZ",
            "%7B",
            "{\"Statement\":null}",
            &deep,
            "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"a:b\",\"Condition\":{\"NumericEquals\":{\"k\":1e999}}}}",
        ] {
            let _ = PolicyDocument::parse(text);
        }
    }

    #[test]
    fn variables_only_in_2012_version() {
        let v2012 = PolicyDocument::parse(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}/*"}}"#).unwrap();
        assert!(v2012.statements[0].resource.as_ref().unwrap().patterns[0].has_variables);
        let v2008 = PolicyDocument::parse(r#"{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}/*"}}"#).unwrap();
        assert!(!v2008.statements[0].resource.as_ref().unwrap().patterns[0].has_variables);
    }
}
