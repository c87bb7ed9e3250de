//! Trust-policy checks of one role: the policy engine's lint of the trust document (subjects,
//! audiences, literal `*` under StringEquals, everyone-principals, providers of other accounts),
//! mapped to audit rules; then what only an account-wide view can tell: whether the trusted OIDC
//! provider still exists and belongs to a known cluster (AUD005), and whether the role is shared
//! by several service accounts or clusters (AUD006). A role is an IRSA role when it trusts, for
//! `sts:AssumeRoleWithWebIdentity`, an EKS issuer or a known cluster's issuer. The EKS Pod
//! Identity checks ([`pod_identity`]: a trust to `pods.eks.amazonaws.com` without scoping
//! conditions, AUD016) run beside them, and a role trusted by both mechanisms is AUD017.

mod pod_identity;

use std::collections::BTreeSet;

use iam_policy::document::{PolicyDocument, Statement};
use iam_policy::lint::{self, LintOptions, PolicyKind};
use iam_policy::trust::{issuer_from_provider_arn, web_identity_provider_arns};
use iam_policy::wildcard::has_wildcard;

use super::context::{AuditContext, eks_issuer_region};
use super::finding::Finding;
use super::model::RoleDetail;
use super::rules::{self, Rule, Severity};

pub use pod_identity::admits_pod_identity;

/// What the trust check learnt about a role, besides its findings.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct TrustFacts {
    pub irsa: bool,
    pub pod_identity: bool,
}

/// Checks the trust policy of `role`, pushing findings.
pub(crate) fn check_trust(
    role: &RoleDetail,
    ctx: &AuditContext,
    known: &KnownIssuers,
    findings: &mut Vec<Finding>,
) -> TrustFacts {
    let Some(text) = &role.assume_role_policy_document else {
        return TrustFacts::default();
    };
    let document = match text.parse() {
        Ok(d) => d,
        Err(e) => {
            findings.push(Finding::new(
                rules::INVALID_DOCUMENT,
                &role.arn,
                format!("the trust policy cannot be parsed: {e}"),
                "trust policy",
            ));
            return TrustFacts::default();
        }
    };
    // White space is not counted against the quota (lint's count).
    let chars = lint::chars_without_whitespace(&text.json_text());
    if chars > lint::TRUST_POLICY_MAX_CHARS {
        findings.push(Finding::new(
            rules::TRUST_POLICY_SIZE,
            &role.arn,
            format!(
                "the trust policy is {chars} characters (white space not counted), over IAM's default quota of {}",
                lint::TRUST_POLICY_MAX_CHARS
            ),
            "trust policy",
        ));
    }
    let providers = trusted_providers(&document);
    let irsa = providers.iter().any(|p| known.is_cluster_issuer(&p.issuer));
    let options = LintOptions {
        account: account_of(&role.arn).map(str::to_string),
        kind: Some(PolicyKind::Trust),
    };
    for f in lint::lint_document(&document, &options) {
        if let Some(rule) = Rule::from_lint(f.rule, irsa) {
            findings.push(
                Finding::new(
                    rule,
                    &role.arn,
                    f.message,
                    format!("trust policy {}", f.location),
                )
                .with_severity(f.severity),
            );
        }
    }
    if irsa {
        check_providers(role, &providers, ctx, known, findings);
        check_sharing(role, &document, &providers, findings);
    }
    let pod_identity = admits_pod_identity(&document);
    if pod_identity {
        let (partition, account) = partition_account_of(&role.arn);
        pod_identity::check_scope(role, &document, partition, account, findings);
    }
    if irsa && pod_identity {
        check_both_mechanisms(role, &providers, findings);
    }
    TrustFacts { irsa, pod_identity }
}

/// AUD017: the role trusts a cluster's OIDC provider and the Pod Identity service.
fn check_both_mechanisms(
    role: &RoleDetail,
    providers: &[TrustedProvider],
    findings: &mut Vec<Finding>,
) {
    let issuers: Vec<&str> = providers.iter().map(|p| p.issuer.as_str()).collect();
    findings.push(Finding::new(
        rules::BOTH_IDENTITY_MECHANISMS,
        &role.arn,
        format!(
            "trusted by IRSA (web identity from {}) and by EKS Pod Identity ({})",
            issuers.join(", "),
            crate::identity::pod_identity::SERVICE_PRINCIPAL
        ),
        "trust policy Principal.Federated and Principal.Service",
    ));
}

/// The partition and account of an ARN (`aws` and empty when it is not one).
fn partition_account_of(arn: &str) -> (&str, &str) {
    let mut parts = arn.split(':');
    let partition = parts.nth(1).unwrap_or("aws");
    (partition, account_of(arn).unwrap_or_default())
}

/// The account id of an ARN (`arn:aws:iam::123456789012:role/x` → `123456789012`).
pub(crate) fn account_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// A trusted OIDC provider and its issuer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TrustedProvider {
    pub arn: String,
    pub issuer: String,
}

fn trusted_providers(document: &PolicyDocument) -> Vec<TrustedProvider> {
    let set: BTreeSet<TrustedProvider> = document
        .statements
        .iter()
        .flat_map(web_identity_provider_arns)
        .filter_map(|arn| {
            issuer_from_provider_arn(arn)
                .ok()
                .map(|issuer| TrustedProvider {
                    arn: arn.to_string(),
                    issuer,
                })
        })
        .collect();
    set.into_iter().collect()
}

/// The issuers and providers the context knows, indexed once for all roles.
pub(crate) struct KnownIssuers {
    /// Lower-cased issuer → cluster name.
    clusters: Option<Vec<(String, String)>>,
    providers: Option<BTreeSet<String>>,
    regions: BTreeSet<String>,
}

impl KnownIssuers {
    pub fn new(ctx: &AuditContext) -> KnownIssuers {
        KnownIssuers {
            clusters: ctx.clusters.as_ref().map(|cs| {
                cs.iter()
                    .map(|c| (c.issuer.to_ascii_lowercase(), c.name.clone()))
                    .collect()
            }),
            // Compared case-insensitively: a spelling difference in the issuer must not read as
            // a deleted provider.
            providers: ctx
                .oidc_provider_arns
                .as_ref()
                .map(|ps| ps.iter().map(|p| p.to_ascii_lowercase()).collect()),
            regions: ctx
                .cluster_regions()
                .into_iter()
                .map(str::to_string)
                .collect(),
        }
    }

    fn cluster_of(&self, issuer: &str) -> Option<&str> {
        let lower = issuer.to_ascii_lowercase();
        self.clusters
            .iter()
            .flatten()
            .find(|(i, _)| *i == lower)
            .map(|(_, name)| name.as_str())
    }

    /// An EKS issuer, or the issuer of a known (possibly self-managed) cluster.
    fn is_cluster_issuer(&self, issuer: &str) -> bool {
        eks_issuer_region(issuer).is_some() || self.cluster_of(issuer).is_some()
    }

    pub fn providers_known(&self) -> bool {
        self.providers.is_some()
    }

    pub fn clusters_known(&self) -> bool {
        self.clusters.is_some()
    }
}

fn check_providers(
    role: &RoleDetail,
    providers: &[TrustedProvider],
    ctx: &AuditContext,
    known: &KnownIssuers,
    findings: &mut Vec<Finding>,
) {
    for provider in providers {
        if let Some(existing) = &known.providers
            && !existing.contains(&provider.arn.to_ascii_lowercase())
        {
            findings.push(Finding::new(
                rules::UNKNOWN_OIDC_PROVIDER,
                &role.arn,
                format!("trusts the OIDC provider `{}`, which does not exist in the account: the role cannot be assumed, and re-creating a provider for `{}` would revive the trust", provider.arn, provider.issuer),
                format!("trust policy Principal.Federated {}", provider.arn),
            ));
            continue;
        }
        let Some(clusters) = &ctx.clusters else {
            continue;
        };
        let judged =
            eks_issuer_region(&provider.issuer).is_none_or(|region| known.regions.contains(region));
        if judged && known.cluster_of(&provider.issuer).is_none() {
            let names: Vec<&str> = clusters.iter().map(|c| c.name.as_str()).collect();
            let unchecked = if known.providers_known() {
                ""
            } else {
                " (the account's OIDC providers were not listed, so whether the provider still exists was not checked)"
            };
            findings.push(
                Finding::new(
                    rules::UNKNOWN_OIDC_PROVIDER,
                    &role.arn,
                    format!(
                        "trusts `{}`, the issuer of no known cluster (known: {}){unchecked}",
                        provider.issuer,
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        }
                    ),
                    format!("trust policy Principal.Federated {}", provider.arn),
                )
                .with_severity(Severity::Medium),
            );
        }
    }
}

/// Exact `sub` values of `issuer` in a statement (wildcard patterns are AUD002's business).
fn exact_subjects<'a>(statement: &'a Statement, issuer: &str) -> impl Iterator<Item = &'a str> {
    let key = format!("{issuer}:sub");
    statement
        .conditions
        .iter()
        .filter(move |c| {
            c.key.eq_ignore_ascii_case(&key)
                && !c.operator.kind.is_negated()
                && !c.operator.if_exists
        })
        .flat_map(|c| {
            let literal = !c.operator.kind.uses_wildcards();
            c.values
                .iter()
                .filter(move |v| literal || !has_wildcard(&v.text))
                .map(|v| v.text.as_str())
        })
}

fn check_sharing(
    role: &RoleDetail,
    document: &PolicyDocument,
    providers: &[TrustedProvider],
    findings: &mut Vec<Finding>,
) {
    let mut subjects: BTreeSet<(String, &str)> = BTreeSet::new();
    for statement in &document.statements {
        for arn in web_identity_provider_arns(statement) {
            let Ok(issuer) = issuer_from_provider_arn(arn) else {
                continue;
            };
            for sub in exact_subjects(statement, &issuer) {
                subjects.insert((issuer.clone(), sub));
            }
        }
    }
    let accounts: BTreeSet<&str> = subjects.iter().map(|(_, s)| *s).collect();
    if providers.len() < 2 && accounts.len() < 2 {
        return;
    }
    const SHOWN: usize = 10;
    let listed: Vec<String> = subjects
        .iter()
        .take(SHOWN)
        .map(|(issuer, sub)| format!("{issuer} {sub}"))
        .collect();
    let more = subjects.len().saturating_sub(SHOWN);
    findings.push(Finding::new(
        rules::SHARED_ROLE,
        &role.arn,
        format!(
            "trusted by {} across {} cluster issuer(s)",
            match accounts.len() {
                0 => "every service account".to_string(),
                1 => "1 service account".to_string(),
                n => format!("{n} service accounts"),
            },
            providers.len()
        ),
        format!(
            "trust policy subjects: {}{}",
            if listed.is_empty() {
                "(none named)".to_string()
            } else {
                listed.join(", ")
            },
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ),
    ));
}
