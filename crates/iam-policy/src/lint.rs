//! Lint: findings with stable rule ids and severities for trust and permission policies.
//!
//! Rules look for what makes IRSA unsafe or silently broken: trust policies any service account
//! of the cluster can use, subjects that never match, everyone-principals, providers of other
//! accounts, over-broad permissions, and documents over IAM's size quotas. Each finding has a rule
//! id (never reused), a severity, a message that says what to do, and the place in the document.
//! [`RULES`] lists every rule; `irsa policy lint` prints them.

use serde::Serialize;

use crate::arn::Arn;
use crate::condition::{Condition, OperatorKind, SetOperator};
use crate::document::{Effect, PolicyDocument, PrincipalType, Principals, Statement};
use crate::wildcard;

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`. The lint itself
/// reports from `Low` up; `Info` is for reports built on it (audit notes on checks that could not
/// run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Case-insensitive: `info`, `low`, `medium`, `high`, `critical`.
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// A lint rule.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rule {
    pub id: &'static str,
    pub name: &'static str,
    /// The usual severity (some findings of a rule are raised or lowered with the evidence).
    pub severity: Severity,
    pub summary: &'static str,
}

pub const INVALID_DOCUMENT: Rule = Rule {
    id: "IRSA000",
    name: "invalid-document",
    severity: Severity::Critical,
    summary: "the document is not a valid IAM policy",
};
pub const TRUST_NO_SUBJECT: Rule = Rule {
    id: "IRSA001",
    name: "trust-no-subject",
    severity: Severity::High,
    summary: "web-identity trust without a `sub` condition: any service account of the cluster can assume the role",
};
pub const TRUST_WILDCARD_SUBJECT: Rule = Rule {
    id: "IRSA002",
    name: "trust-wildcard-subject",
    severity: Severity::Medium,
    summary: "web-identity trust whose `sub` condition uses wildcards: several service accounts can assume the role",
};
pub const STRING_EQUALS_WILDCARD: Rule = Rule {
    id: "IRSA003",
    name: "string-equals-wildcard",
    severity: Severity::High,
    summary: "`*` or `?` under StringEquals is a literal character: the condition never matches as intended",
};
pub const TRUST_NO_AUDIENCE: Rule = Rule {
    id: "IRSA004",
    name: "trust-no-audience",
    severity: Severity::Medium,
    summary: "web-identity trust without an `aud` condition: tokens minted for any audience are accepted",
};
pub const PRINCIPAL_EVERYONE: Rule = Rule {
    id: "IRSA005",
    name: "principal-everyone",
    severity: Severity::Critical,
    summary: "Allow to Principal `*`: anyone, in any account, can use it",
};
pub const FEDERATED_OTHER_ACCOUNT: Rule = Rule {
    id: "IRSA006",
    name: "federated-other-account",
    severity: Severity::High,
    summary: "trust to an identity provider registered in another account",
};
pub const ACTION_WILDCARD: Rule = Rule {
    id: "IAM001",
    name: "action-wildcard",
    severity: Severity::High,
    summary: "Allow with Action `*`: every action of every service",
};
pub const WRITE_ON_ANY_RESOURCE: Rule = Rule {
    id: "IAM002",
    name: "write-on-any-resource",
    severity: Severity::Medium,
    summary: "write actions allowed on Resource `*` without conditions",
};
pub const ALLOW_NOT_ACTION: Rule = Rule {
    id: "IAM003",
    name: "allow-not-action",
    severity: Severity::Medium,
    summary: "Allow with NotAction grants every action not listed, including future ones",
};
pub const ALLOW_FOR_ALL_VALUES: Rule = Rule {
    id: "IAM004",
    name: "allow-for-all-values",
    severity: Severity::Medium,
    summary: "ForAllValues in an Allow statement also holds when the key is missing from the request",
};
pub const NO_VERSION: Rule = Rule {
    id: "IAM005",
    name: "no-version-2012",
    severity: Severity::Low,
    summary: "no `Version: 2012-10-17`: policy variables are not substituted",
};
pub const TRUST_POLICY_SIZE: Rule = Rule {
    id: "SIZE001",
    name: "trust-policy-size",
    severity: Severity::High,
    summary: "trust policy longer than IAM's default quota of 2,048 characters",
};
pub const MANAGED_POLICY_SIZE: Rule = Rule {
    id: "SIZE002",
    name: "managed-policy-size",
    severity: Severity::High,
    summary: "managed policy longer than IAM's 6,144 characters (white space not counted)",
};

/// Every rule, in id order.
pub const RULES: &[Rule] = &[
    INVALID_DOCUMENT,
    TRUST_NO_SUBJECT,
    TRUST_WILDCARD_SUBJECT,
    STRING_EQUALS_WILDCARD,
    TRUST_NO_AUDIENCE,
    PRINCIPAL_EVERYONE,
    FEDERATED_OTHER_ACCOUNT,
    ACTION_WILDCARD,
    WRITE_ON_ANY_RESOURCE,
    ALLOW_NOT_ACTION,
    ALLOW_FOR_ALL_VALUES,
    NO_VERSION,
    TRUST_POLICY_SIZE,
    MANAGED_POLICY_SIZE,
];

/// IAM's default quota for a role trust policy, in characters.
pub const TRUST_POLICY_MAX_CHARS: usize = 2048;
/// IAM's quota for a managed policy, in characters without white space.
pub const MANAGED_POLICY_MAX_CHARS: usize = 6144;

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub message: String,
    /// Where in the document: `Statement[0].Condition.StringLike`, or empty for the whole document.
    pub location: String,
}

impl Finding {
    fn new(
        rule: Rule,
        severity: Severity,
        location: impl Into<String>,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            rule: rule.id,
            name: rule.name,
            severity,
            message: message.into(),
            location: location.into(),
        }
    }
}

/// What a document is, which decides the size quota and the trust rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    Trust,
    Permissions,
}

/// Lint settings.
#[derive(Debug, Clone, Default)]
pub struct LintOptions {
    /// The account the policy lives in; enables `federated-other-account`.
    pub account: Option<String>,
    /// Force the kind instead of guessing it (a document with principals is a trust policy).
    pub kind: Option<PolicyKind>,
}

/// Lints document text (raw or URL-encoded): parse errors and size quotas included.
pub fn lint_text(text: &str, options: &LintOptions) -> Vec<Finding> {
    let document = match PolicyDocument::parse(text) {
        Ok(d) => d,
        Err(e) => {
            return vec![Finding::new(
                INVALID_DOCUMENT,
                Severity::Critical,
                e.path.clone(),
                e.message,
            )];
        }
    };
    let mut findings = lint_document(&document, options);
    let decoded = crate::document::decode_document_text(text)
        .map(|t| t.into_owned())
        .unwrap_or_default();
    let chars = chars_without_whitespace(&decoded);
    match kind_of(&document, options) {
        PolicyKind::Trust if chars > TRUST_POLICY_MAX_CHARS => findings.push(Finding::new(
            TRUST_POLICY_SIZE,
            Severity::High,
            "",
            format!("{chars} characters (white space not counted) is over the default quota of {TRUST_POLICY_MAX_CHARS}; split the trust across roles or request a quota increase"),
        )),
        PolicyKind::Permissions if chars > MANAGED_POLICY_MAX_CHARS => findings.push(Finding::new(
            MANAGED_POLICY_SIZE,
            Severity::High,
            "",
            format!("{chars} characters (white space not counted) is over the quota of {MANAGED_POLICY_MAX_CHARS}; split it into several managed policies"),
        )),
        _ => {}
    }
    findings
}

/// Characters of `text`, not counting white space outside JSON strings.
pub fn chars_without_whitespace(text: &str) -> usize {
    let mut in_string = false;
    let mut escaped = false;
    let mut count = 0;
    for c in text.chars() {
        if in_string {
            count += 1;
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if !c.is_whitespace() {
            count += 1;
            if c == '"' {
                in_string = true;
            }
        }
    }
    count
}

fn kind_of(document: &PolicyDocument, options: &LintOptions) -> PolicyKind {
    options.kind.unwrap_or(if document.is_resource_based() {
        PolicyKind::Trust
    } else {
        PolicyKind::Permissions
    })
}

/// Lints a parsed document.
pub fn lint_document(document: &PolicyDocument, options: &LintOptions) -> Vec<Finding> {
    let mut findings = Vec::new();
    if kind_of(document, options) == PolicyKind::Permissions
        && let Err(e) = document.check_identity_based()
    {
        findings.push(Finding::new(
            INVALID_DOCUMENT,
            Severity::Critical,
            e.path.clone(),
            e.message,
        ));
    }
    if document.version.as_deref() != Some(crate::document::VERSION_2012) {
        findings.push(Finding::new(
            NO_VERSION,
            Severity::Low,
            "Version",
            "add \"Version\": \"2012-10-17\" (without it `${…}` is literal text)",
        ));
    }
    for statement in &document.statements {
        let at = format!("Statement[{}]", statement.index);
        lint_conditions(statement, &at, &mut findings);
        if statement.effect != Effect::Allow {
            continue;
        }
        lint_principals(statement, &at, options, &mut findings);
        lint_web_identity(statement, &at, &mut findings);
        lint_permissions(statement, &at, &mut findings);
    }
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.location.cmp(&b.location))
    });
    findings
}

fn lint_conditions(statement: &Statement, at: &str, findings: &mut Vec<Finding>) {
    for c in &statement.conditions {
        let place = format!("{at}.Condition.{}.{}", c.operator.name(), c.key);
        let exact_positive = matches!(
            c.operator.kind,
            OperatorKind::StringEquals | OperatorKind::StringEqualsIgnoreCase
        );
        if exact_positive && c.values.iter().any(|v| wildcard::has_wildcard(&v.text)) {
            findings.push(Finding::new(
                STRING_EQUALS_WILDCARD,
                Severity::High,
                place.clone(),
                format!("{} compares literally, so `{}` matches only that exact text; use StringLike for wildcards", c.operator.name(), c.values.iter().find(|v| wildcard::has_wildcard(&v.text)).map(|v| v.text.as_str()).unwrap_or_default()),
            ));
        }
        if statement.effect == Effect::Allow
            && c.operator.set == Some(SetOperator::ForAllValues)
            && !c.operator.if_exists
            && !requires_key(statement, &c.key)
        {
            findings.push(Finding::new(
                ALLOW_FOR_ALL_VALUES,
                Severity::Medium,
                place,
                format!(
                    "`{}` also holds when `{}` is absent; add a Null condition `\"{}\": \"false\"`",
                    c.operator.name(),
                    c.key,
                    c.key
                ),
            ));
        }
    }
}

/// Whether the statement also requires `key` to be present (`"Null": {key: "false"}`).
fn requires_key(statement: &Statement, key: &str) -> bool {
    statement.conditions.iter().any(|c| {
        c.operator.kind == OperatorKind::Null
            && c.key.eq_ignore_ascii_case(key)
            && c.values.iter().all(|v| v.text == "false")
    })
}

fn lint_principals(
    statement: &Statement,
    at: &str,
    options: &LintOptions,
    findings: &mut Vec<Finding>,
) {
    let Some(block) = &statement.principal else {
        return;
    };
    if block.negated {
        return;
    }
    let place = format!("{at}.Principal");
    let everyone = match &block.principals {
        Principals::Any => true,
        Principals::Map(entries) => entries
            .iter()
            .any(|(kind, ids)| *kind == PrincipalType::Aws && ids.iter().any(|id| id == "*")),
    };
    if everyone {
        let (severity, note) = if statement.conditions.is_empty() {
            (Severity::Critical, "with no conditions: anyone can use it")
        } else {
            (
                Severity::High,
                "restricted only by its conditions; name the principals instead",
            )
        };
        findings.push(Finding::new(
            PRINCIPAL_EVERYONE,
            severity,
            place.clone(),
            format!("Principal `*` {note}"),
        ));
    }
    if let (Some(account), Principals::Map(entries)) = (&options.account, &block.principals) {
        for (kind, ids) in entries {
            if *kind != PrincipalType::Federated {
                continue;
            }
            for id in ids {
                if let Ok(arn) = Arn::parse(id)
                    && !arn.account.is_empty()
                    && arn.account != *account
                {
                    findings.push(Finding::new(
                        FEDERATED_OTHER_ACCOUNT,
                        Severity::High,
                        format!("{place}.Federated"),
                        format!(
                            "`{id}` is registered in account {}, not {account}",
                            arn.account
                        ),
                    ));
                }
            }
        }
    }
}

/// The OIDC issuers a statement trusts for web identity (Federated `…:oidc-provider/…`).
fn oidc_issuers(statement: &Statement) -> Vec<String> {
    crate::trust::web_identity_provider_arns(statement)
        .into_iter()
        .filter_map(|id| crate::trust::issuer_from_provider_arn(id).ok())
        .collect()
}

fn claim_conditions<'a>(statement: &'a Statement, issuer: &str, claim: &str) -> Vec<&'a Condition> {
    let key = format!("{issuer}:{claim}");
    statement
        .conditions
        .iter()
        .filter(|c| {
            c.key.eq_ignore_ascii_case(&key)
                && !c.operator.kind.is_negated()
                && !c.operator.if_exists
        })
        .collect()
}

fn lint_web_identity(statement: &Statement, at: &str, findings: &mut Vec<Finding>) {
    for issuer in oidc_issuers(statement) {
        let subjects = claim_conditions(statement, &issuer, "sub");
        if subjects.is_empty() {
            findings.push(Finding::new(
                TRUST_NO_SUBJECT,
                Severity::High,
                format!("{at}.Condition"),
                format!("no condition on `{issuer}:sub`: every service account of the cluster can assume this role; add StringEquals `{issuer}:sub` = `system:serviceaccount:<namespace>:<name>`"),
            ));
        }
        for c in subjects.iter().filter(|c| c.operator.kind.uses_wildcards()) {
            for v in c.values.iter().filter(|v| wildcard::has_wildcard(&v.text)) {
                let broad = v.text == "*"
                    || v.text.starts_with("system:serviceaccount:*")
                    || !v.text.starts_with("system:serviceaccount:");
                let severity = if broad {
                    Severity::High
                } else {
                    Severity::Medium
                };
                findings.push(Finding::new(
                    TRUST_WILDCARD_SUBJECT,
                    severity,
                    format!("{at}.Condition.{}.{}", c.operator.name(), c.key),
                    format!("subject pattern `{}` lets several service accounts assume the role; name each one with StringEquals (one role per service account)", v.text),
                ));
            }
        }
        if claim_conditions(statement, &issuer, "aud").is_empty() {
            findings.push(Finding::new(
                TRUST_NO_AUDIENCE,
                Severity::Medium,
                format!("{at}.Condition"),
                format!("no condition on `{issuer}:aud`; add StringEquals `{issuer}:aud` = `sts.amazonaws.com`"),
            ));
        }
    }
}

/// Action-name prefixes that only read (a heuristic: IAM's access levels are per action and not
/// part of the policy language).
const READ_PREFIXES: &[&str] = &[
    "Describe", "List", "Get", "Head", "BatchGet", "Search", "Lookup", "Select", "Scan", "Query",
    "View", "Check", "Validate", "Estimate", "Preview",
];

fn is_write_action(action: &str) -> bool {
    let Some((_, name)) = action.split_once(':') else {
        return action == "*";
    };
    !READ_PREFIXES.iter().any(|prefix| {
        name.len() >= prefix.len()
            && name[..prefix.len()].eq_ignore_ascii_case(prefix)
            && !wildcard::has_wildcard(&name[..prefix.len()])
    })
}

fn lint_permissions(statement: &Statement, at: &str, findings: &mut Vec<Finding>) {
    let action = &statement.action;
    if action.negated {
        findings.push(Finding::new(ALLOW_NOT_ACTION, Severity::Medium, format!("{at}.NotAction"), "Allow with NotAction grants every other action, including ones AWS adds later; list the actions instead"));
        return;
    }
    if action.patterns.iter().any(|p| p == "*" || p == "*:*") {
        findings.push(Finding::new(
            ACTION_WILDCARD,
            Severity::High,
            format!("{at}.Action"),
            "Action `*` allows every action of every service; list the actions the workload needs",
        ));
        return;
    }
    let any_resource = statement
        .resource
        .as_ref()
        .is_some_and(|r| !r.negated && r.patterns.iter().any(|p| p.text == "*"));
    if any_resource && statement.conditions.is_empty() {
        let writes: Vec<&str> = action
            .patterns
            .iter()
            .map(String::as_str)
            .filter(|a| is_write_action(a))
            .collect();
        if !writes.is_empty() {
            findings.push(Finding::new(
                WRITE_ON_ANY_RESOURCE,
                Severity::Medium,
                format!("{at}.Resource"),
                format!("{} allowed on every resource with no conditions; scope Resource to ARNs or add tag conditions", writes.join(", ")),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROVIDER: &str =
        "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC";
    const ISSUER: &str = "oidc.eks.us-east-1.amazonaws.com/id/ABC";

    fn trust(condition: &str) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{PROVIDER}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{condition}}}]}}"#
        )
    }

    fn rules(text: &str, options: &LintOptions) -> Vec<&'static str> {
        let mut ids: Vec<_> = lint_text(text, options)
            .into_iter()
            .map(|f| f.rule)
            .collect();
        ids.sort();
        ids
    }

    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
    // ("You cannot use the Principal element in an identity-based policy"): linted as a
    // permissions policy, a document naming a principal is critical and invalid, with the place.
    #[test]
    fn a_principal_in_a_permissions_policy_is_critical() {
        let text = "\u{feff}{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::b/*\"},{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}";
        let permissions = LintOptions {
            kind: Some(PolicyKind::Permissions),
            ..LintOptions::default()
        };
        let findings = lint_text(text, &permissions);
        let invalid = findings.iter().find(|f| f.rule == "IRSA000").unwrap();
        assert_eq!(invalid.severity, Severity::Critical);
        assert_eq!(invalid.location, "Statement[1].Principal");
        // Read as a resource-based (trust) policy the same document is not invalid.
        let trust = LintOptions {
            kind: Some(PolicyKind::Trust),
            ..LintOptions::default()
        };
        assert!(!rules(text, &trust).contains(&"IRSA000"));
    }

    #[test]
    fn clean_irsa_trust_has_no_findings() {
        let text = trust(&format!(
            r#"{{"StringEquals":{{"{ISSUER}:sub":"system:serviceaccount:kube-system:cluster-autoscaler","{ISSUER}:aud":"sts.amazonaws.com"}}}}"#
        ));
        assert_eq!(
            lint_text(
                &text,
                &LintOptions {
                    account: Some("123456789012".into()),
                    kind: None
                }
            ),
            vec![]
        );
    }

    #[test]
    fn audience_only_trust() {
        let text = trust(&format!(
            r#"{{"StringEquals":{{"{ISSUER}:aud":"sts.amazonaws.com"}}}}"#
        ));
        let findings = lint_text(&text, &LintOptions::default());
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].rule, "IRSA001");
        assert_eq!(findings[0].severity, Severity::High);
        assert!(findings[0].message.contains("every service account"));
    }

    #[test]
    fn wildcard_subjects_and_literal_star() {
        let like = trust(&format!(
            r#"{{"StringLike":{{"{ISSUER}:sub":"system:serviceaccount:kube-system:*"}},"StringEquals":{{"{ISSUER}:aud":"sts.amazonaws.com"}}}}"#
        ));
        let f = lint_text(&like, &LintOptions::default());
        assert_eq!((f[0].rule, f[0].severity), ("IRSA002", Severity::Medium));
        let everything = trust(&format!(r#"{{"StringLike":{{"{ISSUER}:sub":"*"}}}}"#));
        assert_eq!(
            rules(&everything, &LintOptions::default()),
            vec!["IRSA002", "IRSA004"]
        );
        let literal = trust(&format!(
            r#"{{"StringEquals":{{"{ISSUER}:sub":"system:serviceaccount:kube-system:*","{ISSUER}:aud":"sts.amazonaws.com"}}}}"#
        ));
        assert_eq!(rules(&literal, &LintOptions::default()), vec!["IRSA003"]);
    }

    #[test]
    fn everyone_and_other_account() {
        let text = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}]}"#;
        let f = lint_text(text, &LintOptions::default());
        assert_eq!((f[0].rule, f[0].severity), ("IRSA005", Severity::Critical));
        let other = trust(&format!(
            r#"{{"StringEquals":{{"{ISSUER}:sub":"system:serviceaccount:a:b","{ISSUER}:aud":"sts.amazonaws.com"}}}}"#
        ));
        assert_eq!(
            rules(
                &other,
                &LintOptions {
                    account: Some("999999999999".into()),
                    kind: None
                }
            ),
            vec!["IRSA006"]
        );
    }

    #[test]
    fn permission_rules() {
        let star = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        assert_eq!(rules(star, &LintOptions::default()), vec!["IAM001"]);
        let writes = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:DescribeInstances","ec2:TerminateInstances","s3:*"],"Resource":"*"}]}"#;
        let f = lint_text(writes, &LintOptions::default());
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, "IAM002");
        assert!(
            f[0].message
                .starts_with("ec2:TerminateInstances, s3:* allowed"),
            "{}",
            f[0].message
        );
        let reads = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:Describe*","autoscaling:DescribeAutoScalingGroups"],"Resource":"*"}]}"#;
        assert_eq!(rules(reads, &LintOptions::default()), Vec::<&str>::new());
        let scoped = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"autoscaling:SetDesiredCapacity","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/k":"v"}}}]}"#;
        assert_eq!(rules(scoped, &LintOptions::default()), Vec::<&str>::new());
        let not_action = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}"#;
        assert_eq!(rules(not_action, &LintOptions::default()), vec!["IAM003"]);
        let for_all = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"arn:aws:ec2:*:*:volume/*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]}}}]}"#;
        assert_eq!(rules(for_all, &LintOptions::default()), vec!["IAM004"]);
        // The remedy the finding names: a Null condition that requires the key.
        let with_null = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"arn:aws:ec2:*:*:volume/*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]},"Null":{"aws:TagKeys":"false"}}}]}"#;
        assert!(rules(with_null, &LintOptions::default()).is_empty());
        let no_version = r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
        assert_eq!(rules(no_version, &LintOptions::default()), vec!["IAM005"]);
    }

    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
    // (role trust policy length 2,048 characters by default; managed policy 6,144 characters,
    // white space not counted).
    #[test]
    fn size_quotas() {
        let subjects: Vec<String> = (0..60)
            .map(|i| format!("\"system:serviceaccount:ns:sa-{i}\""))
            .collect();
        let big_trust = trust(&format!(
            r#"{{"StringEquals":{{"{ISSUER}:sub":[{}],"{ISSUER}:aud":"sts.amazonaws.com"}}}}"#,
            subjects.join(",")
        ));
        assert!(rules(&big_trust, &LintOptions::default()).contains(&"SIZE001"));
        let actions: Vec<String> = (0..400)
            .map(|i| format!("\"ec2:DescribeThing{i}\""))
            .collect();
        let big = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":[{}],"Resource":"*"}}]}}"#,
            actions.join(",\n    ")
        );
        assert_eq!(rules(&big, &LintOptions::default()), vec!["SIZE002"]);
        assert_eq!(chars_without_whitespace("{ \"a b\" : 1 }"), 9);
    }

    #[test]
    fn invalid_document_is_a_finding() {
        let f = lint_text(
            "{\"Statement\":[{\"Effect\":\"Allow\"}]}",
            &LintOptions::default(),
        );
        assert_eq!(
            (f[0].rule, f[0].location.as_str()),
            ("IRSA000", "Statement[0]")
        );
    }

    #[test]
    fn rule_ids_are_unique() {
        let mut ids: Vec<_> = RULES.iter().map(|r| r.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len());
    }
}
