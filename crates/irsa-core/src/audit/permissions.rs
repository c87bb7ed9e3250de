//! Permission checks of one role: every inline policy and the default version of every attached
//! managed policy go through the policy engine's lint, and its `Action *` and write-on-`*`
//! findings become AUD007 and AUD008 on the role (one level lower, and said so, when a
//! permissions boundary caps the role). Managed policies are parsed and linted once per audit
//! ([`ManagedPolicies`]), however many roles attach them; an invalid document is reported once,
//! on the policy.

use std::collections::HashMap;

use iam_policy::lint::{self, LintOptions, PolicyKind};

use super::finding::Finding;
use super::model::{ManagedPolicyDetail, PolicyText, RoleDetail, is_aws_managed_arn};
use super::rules::{self, Rule, Severity};

/// AWS managed policies known to allow `*` on `*`, for dumps that do not include AWS managed
/// policy documents (`--filter LocalManagedPolicy`).
const FULL_ACCESS_AWS_POLICIES: &[&str] = &["AdministratorAccess"];

/// The lint of each managed policy's default version, computed once.
pub(crate) struct ManagedPolicies<'a> {
    by_arn: HashMap<&'a str, Vec<lint::Finding>>,
}

impl<'a> ManagedPolicies<'a> {
    /// Lints every policy; invalid documents become findings on the policy.
    pub fn new(policies: &'a [ManagedPolicyDetail], findings: &mut Vec<Finding>) -> Self {
        let mut by_arn = HashMap::with_capacity(policies.len());
        for policy in policies {
            let Some(text) = policy.default_document() else {
                continue;
            };
            match lint_permissions(text) {
                Ok(lint) => {
                    by_arn.insert(policy.arn.as_str(), lint);
                }
                Err(message) => findings.push(Finding::new(
                    rules::INVALID_DOCUMENT,
                    &policy.arn,
                    format!("the default version cannot be parsed: {message}"),
                    format!(
                        "managed policy {} {}",
                        policy.policy_name,
                        policy.default_version_id.as_deref().unwrap_or("")
                    )
                    .trim_end()
                    .to_string(),
                )),
            }
        }
        ManagedPolicies { by_arn }
    }
}

fn lint_permissions(text: &PolicyText) -> Result<Vec<lint::Finding>, String> {
    let document = text.parse().map_err(|e| e.to_string())?;
    // A permissions policy naming a principal is refused by IAM; evaluated, its statement
    // would be dropped, so it is an invalid document (AUD012), not a clean one.
    document.check_identity_based().map_err(|e| e.to_string())?;
    let options = LintOptions {
        account: None,
        kind: Some(PolicyKind::Permissions),
    };
    Ok(lint::lint_document(&document, &options)
        .into_iter()
        .filter(|f| {
            matches!(
                Rule::from_lint(f.rule, false),
                Some(r) if r == rules::ACTION_WILDCARD || r == rules::WRITE_ON_ANY_RESOURCE
            )
        })
        .collect())
}

/// Checks the role's policies; returns the ARNs of attached policies the dump has no document for.
pub(crate) fn check_permissions<'r>(
    role: &'r RoleDetail,
    managed: &ManagedPolicies,
    findings: &mut Vec<Finding>,
) -> Vec<&'r str> {
    let boundary = role
        .permissions_boundary
        .as_ref()
        .and_then(|b| b.permissions_boundary_arn.as_deref());
    let report = |lint: &lint::Finding, source: &str, findings: &mut Vec<Finding>| {
        let Some(rule) = Rule::from_lint(lint.rule, false) else {
            return;
        };
        findings.push(role_finding(
            role,
            rule,
            lint.severity,
            format!("{source}: {}", lint.message),
            format!("{source} {}", lint.location),
            boundary,
        ));
    };
    for inline in &role.role_policy_list {
        let source = format!("inline policy {}", inline.policy_name);
        match lint_permissions(&inline.policy_document) {
            Ok(lints) => lints.iter().for_each(|l| report(l, &source, findings)),
            Err(message) => findings.push(Finding::new(
                rules::INVALID_DOCUMENT,
                &role.arn,
                format!("{source} cannot be parsed: {message}"),
                source.clone(),
            )),
        }
    }
    let mut missing = Vec::new();
    for attached in &role.attached_managed_policies {
        let arn = attached.policy_arn.as_str();
        let source = format!("attached policy {arn}");
        if let Some(lints) = managed.by_arn.get(arn) {
            lints.iter().for_each(|l| report(l, &source, findings));
        } else if is_aws_managed_arn(arn)
            && FULL_ACCESS_AWS_POLICIES
                .iter()
                .any(|name| arn.ends_with(&format!(":policy/{name}")))
        {
            findings.push(role_finding(
                role,
                rules::ACTION_WILDCARD,
                Severity::High,
                format!("{source}: the AWS managed policy allows every action on every resource"),
                source.clone(),
                boundary,
            ));
        } else {
            missing.push(arn);
        }
    }
    missing
}

fn role_finding(
    role: &RoleDetail,
    rule: Rule,
    severity: Severity,
    message: String,
    evidence: String,
    boundary: Option<&str>,
) -> Finding {
    match boundary {
        None => Finding::new(rule, &role.arn, message, evidence).with_severity(severity),
        Some(boundary) => Finding::new(
            rule,
            &role.arn,
            format!("{message} (capped by the permissions boundary {boundary})"),
            evidence,
        )
        .with_severity(one_lower(severity)),
    }
}

fn one_lower(severity: Severity) -> Severity {
    match severity {
        Severity::Critical => Severity::High,
        Severity::High => Severity::Medium,
        Severity::Medium => Severity::Low,
        Severity::Low | Severity::Info => Severity::Info,
    }
}
