//! A finding of the audit: the rule, its severity, the resource (an ARN), what is wrong, the
//! evidence (which policy and statement, which values) and how to fix it; and the deterministic
//! order findings are reported in (most severe first, then rule, resource, evidence).

use serde::Serialize;

use super::rules::{Rule, Severity};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    /// The ARN of the role, policy or trail (the account root for account-wide findings).
    pub resource: String,
    pub message: String,
    /// Where it was seen: `trust policy Statement[0].Condition`, `inline policy p Statement[1].Action`, …
    pub evidence: String,
    pub fix: String,
}

impl Finding {
    pub(crate) fn new(
        rule: Rule,
        resource: impl Into<String>,
        message: impl Into<String>,
        evidence: impl Into<String>,
    ) -> Finding {
        Finding {
            rule: rule.id,
            severity: rule.severity,
            resource: resource.into(),
            message: message.into(),
            evidence: evidence.into(),
            fix: rule.help.to_string(),
        }
    }

    pub(crate) fn with_severity(mut self, severity: Severity) -> Finding {
        self.severity = severity;
        self
    }
}

/// Most severe first, then by rule id, resource, evidence and message.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.rule.cmp(b.rule))
            .then_with(|| a.resource.cmp(&b.resource))
            .then_with(|| a.evidence.cmp(&b.evidence))
            .then_with(|| a.message.cmp(&b.message))
    });
}

/// Findings at or above `threshold`.
pub fn reaches(findings: &[Finding], threshold: Severity) -> bool {
    findings.iter().any(|f| f.severity >= threshold)
}
