//! Policy variables: `${aws:username}`, `${aws:PrincipalTag/team}`, defaults such as
//! `${aws:username, 'nobody'}`, and the escapes `${*}`, `${?}`, `${$}` for a literal `*`, `?`, `$`.
//!
//! Substitution happens once (a substituted value is never scanned again) and only in documents
//! of `Version: 2012-10-17`. A variable whose key is absent (or multivalued) and has no default
//! cannot be resolved: the value it is part of then matches nothing. Substituted values are
//! literal text: a `*` inside a tag value does not become a wildcard, so a principal cannot widen
//! its own access by tagging itself with `*`.

use crate::context::Context;
use crate::wildcard::{self, Elem};

/// A piece of a policy string after substitution.
enum Piece<'a> {
    /// Policy text: `*` and `?` in it are wildcards.
    Pattern(&'a str),
    /// Literal text: a substituted value, a default, or an escaped character.
    Literal(std::borrow::Cow<'a, str>),
}

/// Splits `text` into pieces, substituting variables from `ctx`. `None` when a variable has no
/// value and no default.
fn pieces<'a>(text: &'a str, ctx: &'a Context) -> Option<Vec<Piece<'a>>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let Some((inner, after)) = variable_body(&rest[start + 2..]) else {
            break; // unterminated: the rest is plain text
        };
        if start > 0 {
            out.push(Piece::Pattern(&rest[..start]));
        }
        out.push(Piece::Literal(resolve(inner, ctx)?));
        rest = after;
    }
    if !rest.is_empty() {
        out.push(Piece::Pattern(rest));
    }
    Some(out)
}

/// Finds the end of a variable body (the `}` not inside a quoted default); returns the body and
/// the text after the closing brace.
fn variable_body(s: &str) -> Option<(&str, &str)> {
    let mut in_quote = false;
    for (i, c) in s.char_indices() {
        match c {
            '\'' => in_quote = !in_quote,
            '}' if !in_quote => return Some((&s[..i], &s[i + 1..])),
            _ => {}
        }
    }
    None
}

fn resolve<'a>(inner: &'a str, ctx: &'a Context) -> Option<std::borrow::Cow<'a, str>> {
    use std::borrow::Cow;
    match inner.trim() {
        "*" => return Some(Cow::Borrowed("*")),
        "?" => return Some(Cow::Borrowed("?")),
        "$" => return Some(Cow::Borrowed("$")),
        _ => {}
    }
    let (key, default) = match inner.split_once(',') {
        Some((key, default)) => (key.trim(), Some(parse_default(default.trim())?)),
        None => (inner.trim(), None),
    };
    if key.is_empty() {
        return None;
    }
    match ctx.single(key) {
        Some(value) => Some(Cow::Borrowed(value)),
        None => default.map(Cow::Owned),
    }
}

/// `'text'` with `''` standing for one quote.
fn parse_default(quoted: &str) -> Option<String> {
    let body = quoted.strip_prefix('\'')?.strip_suffix('\'')?;
    let unescaped = body.replace("''", "'");
    Some(unescaped)
}

/// `text` with variables substituted, as plain text (for exact comparisons). `None` when a
/// variable cannot be resolved.
pub fn expand_text(text: &str, ctx: &Context) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    for piece in pieces(text, ctx)? {
        match piece {
            Piece::Pattern(s) => out.push_str(s),
            Piece::Literal(s) => out.push_str(&s),
        }
    }
    Some(out)
}

/// `text` with variables substituted, compiled as a wildcard pattern in which substituted values
/// are literal. `None` when a variable cannot be resolved.
pub fn expand_pattern(text: &str, ctx: &Context) -> Option<Vec<Elem>> {
    let mut out = Vec::with_capacity(text.len());
    for piece in pieces(text, ctx)? {
        match piece {
            Piece::Pattern(s) => out.extend(wildcard::compile(s)),
            Piece::Literal(s) => out.extend(wildcard::literal(&s)),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wildcard::matches_elems;

    fn ctx() -> Context {
        Context::new()
            .with("aws:username", "bob")
            .with("aws:PrincipalTag/team", "data")
            .with("aws:TagKeys", "a")
            .with("aws:TagKeys", "b")
    }

    // Source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
    // ("Using variables in policies", "Tags as policy variables").
    #[test]
    fn substitutes_keys_case_insensitively() {
        assert_eq!(
            expand_text("home/${aws:username}/", &ctx()).unwrap(),
            "home/bob/"
        );
        assert_eq!(
            expand_text("${aws:PrincipalTag/team}-${AWS:UserName}", &ctx()).unwrap(),
            "data-bob"
        );
    }

    // Same page, "Policy variables with no value": the value then matches nothing.
    #[test]
    fn unresolved_variable_matches_nothing() {
        assert_eq!(expand_text("x/${aws:userid}", &ctx()), None);
        // Multivalued keys cannot be used as variables (page: single- vs multivalued keys).
        assert_eq!(expand_text("${aws:TagKeys}", &ctx()), None);
    }

    // Same page, "Specifying default values".
    #[test]
    fn defaults() {
        assert_eq!(
            expand_text("${aws:userid, 'anonymous'}", &ctx()).unwrap(),
            "anonymous"
        );
        assert_eq!(expand_text("${aws:username, 'x'}", &ctx()).unwrap(), "bob");
        assert_eq!(
            expand_text("${aws:userid, 'it''s}'}", &ctx()).unwrap(),
            "it's}"
        );
        assert_eq!(expand_text("${aws:userid, unquoted}", &ctx()), None);
    }

    // Same page, "Special characters": ${*}, ${?} and ${$} stand for the literal characters.
    #[test]
    fn escapes_are_literal() {
        let pattern = expand_pattern("a${*}b*", &ctx()).unwrap();
        assert!(matches_elems(&pattern, "a*bzzz", false));
        assert!(!matches_elems(&pattern, "axbzzz", false));
        assert_eq!(expand_text("${$}{x}${?}", &ctx()).unwrap(), "${x}?");
    }

    #[test]
    fn substituted_values_are_literal() {
        let ctx = Context::new().with("aws:PrincipalTag/team", "*");
        let pattern = expand_pattern("arn:aws:s3:::b/${aws:PrincipalTag/team}/x", &ctx).unwrap();
        assert!(matches_elems(&pattern, "arn:aws:s3:::b/*/x", false));
        assert!(!matches_elems(&pattern, "arn:aws:s3:::b/other/x", false));
    }

    #[test]
    fn unterminated_variable_is_plain_text() {
        assert_eq!(expand_text("a${b", &ctx()).unwrap(), "a${b");
    }
}
