//! `irsa audit`, the pure part: account-wide findings over one `GetAccountAuthorizationDetails`
//! dump ([`model`]) and what else is known about the account ([`context`]). [`audit`] checks
//! every role (service-linked roles excepted: AWS owns them) for unsafe IRSA and EKS Pod Identity
//! trust ([`trust`]), over-broad permissions ([`permissions`]) and hygiene ([`hygiene`]), the
//! named clusters' Pod Identity associations for roles that no longer exist ([`associations`]),
//! and reports, as AUD000, each check it could not run for want of data. Findings carry stable rule ids ([`rules`]) and
//! come back in a deterministic order; [`sarif`] renders them for code-scanning tools.

mod associations;
pub mod context;
pub mod finding;
mod hygiene;
pub mod model;
mod permissions;
pub mod rules;
pub mod sarif;
mod trust;

use std::collections::BTreeSet;

use serde::Serialize;

pub use context::{AuditContext, CloudTrailStatus, KnownCluster, TrailState};
pub use finding::{Finding, reaches, sort_findings};
pub use model::AccountAuthorizationDetails;
pub use rules::{RULES, Rule, Severity};
pub use trust::admits_pod_identity;

/// Audits the dump; findings most severe first.
pub fn audit(details: &AccountAuthorizationDetails, ctx: &AuditContext) -> Vec<Finding> {
    let mut findings = Vec::new();
    let known = trust::KnownIssuers::new(ctx);
    let managed = permissions::ManagedPolicies::new(&details.policies, &mut findings);
    let mut irsa_roles = 0usize;
    let mut pod_identity_roles = 0usize;
    let mut undocumented: BTreeSet<&str> = BTreeSet::new();
    for role in details
        .role_detail_list
        .iter()
        .filter(|r| !r.is_service_linked())
    {
        let facts = trust::check_trust(role, ctx, &known, &mut findings);
        irsa_roles += usize::from(facts.irsa);
        pod_identity_roles += usize::from(facts.pod_identity);
        undocumented.extend(permissions::check_permissions(
            role,
            &managed,
            &mut findings,
        ));
        hygiene::check_unused(role, ctx, &mut findings);
        hygiene::check_role_tags(role, ctx, &mut findings);
    }
    let untagged_policies = hygiene::check_policy_tags(&details.policies, ctx, &mut findings);
    let root = account_root(details);
    match &ctx.cloudtrail {
        Some(status) => hygiene::check_cloudtrail(status, &root, &mut findings),
        None => findings.push(not_run(
            &root,
            "the CloudTrail check did not run: trail status is not in a snapshot; run `irsa audit` against the live account",
            "CloudTrail",
        )),
    }
    if irsa_roles > 0 && !known.providers_known() && !known.clusters_known() {
        findings.push(not_run(
            &root,
            format!("the OIDC provider check did not run for {}: a snapshot lists no OIDC providers; give the clusters as --cluster NAME=ISSUER_URL, or audit the live account", crate::text::counted(irsa_roles, "IRSA role")),
            "AUD005",
        ));
    }
    match &ctx.pod_identity_associations {
        Some(associations) => {
            associations::check_associations(details, associations, &mut findings)
        }
        None if pod_identity_roles > 0 => findings.push(not_run(
            &root,
            format!("the association check did not run ({pod_identity_roles} role(s) trust EKS Pod Identity): associations are read only for the clusters named with --cluster NAME in a live audit"),
            "AUD018",
        )),
        None => {}
    }
    if ctx.now_ms.is_none() {
        findings.push(not_run(
            &root,
            "the unused-role check did not run: no current time given",
            "AUD009",
        ));
    }
    if untagged_policies > 0 {
        findings.push(not_run(
            &root,
            format!("the tag check did not run for {}: GetAccountAuthorizationDetails does not return policy tags (the live audit reads them with ListPolicyTags)", crate::text::count(untagged_policies, "customer-managed policy", "customer-managed policies")),
            "AUD010",
        ));
    }
    if !undocumented.is_empty() {
        let shown: Vec<&str> = undocumented.iter().take(5).copied().collect();
        findings.push(not_run(
            &root,
            format!(
                "{} without a document in the dump, not checked for Action `*` or writes on `*`",
                crate::text::count(
                    undocumented.len(),
                    "attached managed policy",
                    "attached managed policies"
                )
            ),
            format!("e.g. {}", shown.join(", ")),
        ));
    }
    sort_findings(&mut findings);
    findings
}

fn not_run(root: &str, message: impl Into<String>, evidence: impl Into<String>) -> Finding {
    Finding::new(rules::CHECK_NOT_RUN, root, message, evidence)
}

/// `arn:<partition>:iam::<account>:root` of the first role, or `account` for an empty dump.
fn account_root(details: &AccountAuthorizationDetails) -> String {
    details
        .role_detail_list
        .iter()
        .find_map(|r| {
            let mut parts = r.arn.split(':');
            let partition = parts.nth(1)?;
            let account = parts.nth(2)?;
            Some(format!("arn:{partition}:iam::{account}:root"))
        })
        .unwrap_or_else(|| "account".to_string())
}

/// Counts for the report's summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub roles: usize,
    pub policies: usize,
    pub findings: usize,
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub info: usize,
}

impl Summary {
    pub fn new(details: &AccountAuthorizationDetails, findings: &[Finding]) -> Summary {
        let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
        Summary {
            roles: details.role_detail_list.len(),
            policies: details.policies.len(),
            findings: findings.len(),
            critical: count(Severity::Critical),
            high: count(Severity::High),
            medium: count(Severity::Medium),
            low: count(Severity::Low),
            info: count(Severity::Info),
        }
    }
}
