//! The audit rules: a stable id (`AUD…`, never reused), a default severity, a title and a help
//! text for each, in [`RULES`]. Severities are ordered `info < low < medium < high < critical`
//! and parse from `--fail-on`. Several rules reuse the policy engine's lint
//! (`iam_policy::lint`), whose finding ids they map from ([`Rule::from_lint`]).

use serde::Serialize;

/// How bad a finding is: the policy engine's lint severities (`info < low < medium < high <
/// critical`), so lint findings carry over unchanged.
pub use iam_policy::lint::Severity;

/// One audit rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub id: &'static str,
    pub name: &'static str,
    /// The usual severity; some findings are raised or lowered with the evidence.
    pub severity: Severity,
    pub title: &'static str,
    pub help: &'static str,
}

pub const CHECK_NOT_RUN: Rule = Rule {
    id: "AUD000",
    name: "check-not-run",
    severity: Severity::Info,
    title: "a check could not run with the data available",
    help: "The audit lacked the data for a check (a snapshot holds no OIDC provider list, no CloudTrail status and no policy tags). Run against the live account, or give clusters as --cluster NAME=ISSUER_URL.",
};
pub const TRUST_NO_SUBJECT: Rule = Rule {
    id: "AUD001",
    name: "irsa-trust-no-subject",
    severity: Severity::High,
    title: "IRSA role without a `sub` condition",
    help: "A web-identity trust with only an `aud` condition (or none) lets every service account of the cluster assume the role. Add StringEquals `<issuer>:sub` = `system:serviceaccount:<namespace>:<name>`.",
};
pub const TRUST_WILDCARD_SUBJECT: Rule = Rule {
    id: "AUD002",
    name: "irsa-trust-wildcard-subject",
    severity: Severity::Medium,
    title: "IRSA role whose `sub` condition uses wildcards",
    help: "StringLike subjects such as `system:serviceaccount:kube-system:*` let several service accounts assume the role (high when the namespace or the whole subject is a wildcard). Name each service account with StringEquals.",
};
pub const TRUST_STRING_EQUALS_WILDCARD: Rule = Rule {
    id: "AUD003",
    name: "irsa-trust-string-equals-wildcard",
    severity: Severity::High,
    title: "`*` or `?` under StringEquals in a trust policy",
    help: "StringEquals compares literally: `*` matches only a literal asterisk, so the intended service accounts cannot assume the role. Use StringLike for patterns, or better, the exact subject with StringEquals.",
};
pub const TRUST_NO_AUDIENCE: Rule = Rule {
    id: "AUD004",
    name: "irsa-trust-no-audience",
    severity: Severity::Medium,
    title: "IRSA role without an `aud` condition",
    help: "Without `<issuer>:aud` = `sts.amazonaws.com` tokens minted for any audience are accepted. Add the audience condition.",
};
pub const UNKNOWN_OIDC_PROVIDER: Rule = Rule {
    id: "AUD005",
    name: "irsa-unknown-oidc-provider",
    severity: Severity::High,
    title: "trust to an OIDC provider that no longer exists or belongs to no known cluster",
    help: "The role trusts an IAM OIDC provider that was deleted (high: the role cannot be assumed, and a provider re-created for that issuer revives the trust) or whose issuer is no known cluster's (medium: a stale role of a deleted cluster). Delete the role or point its trust at the live cluster's provider.",
};
pub const SHARED_ROLE: Rule = Rule {
    id: "AUD006",
    name: "irsa-shared-role",
    severity: Severity::Medium,
    title: "one role trusted by several service accounts or clusters",
    help: "A role shared by several service accounts or clusters gives each the union of the permissions and blurs the CloudTrail trail. Use one role per service account and cluster.",
};
pub const ACTION_WILDCARD: Rule = Rule {
    id: "AUD007",
    name: "action-wildcard",
    severity: Severity::High,
    title: "role allowed Action `*`",
    help: "A policy of the role allows every action of every service. List the actions the workload needs.",
};
pub const WRITE_ON_ANY_RESOURCE: Rule = Rule {
    id: "AUD008",
    name: "write-on-any-resource",
    severity: Severity::Medium,
    title: "role allowed write actions on Resource `*` without conditions",
    help: "Write actions on every resource with no condition: scope Resource to ARNs or add tag conditions.",
};
pub const ROLE_UNUSED: Rule = Rule {
    id: "AUD009",
    name: "role-unused",
    severity: Severity::Low,
    title: "role not used for longer than the threshold",
    help: "RoleLastUsed is older than --unused-days (or the role was never used and is older than that). IAM tracks last use for the trailing 400 days. Delete roles nobody uses.",
};
pub const MISSING_REQUIRED_TAG: Rule = Rule {
    id: "AUD010",
    name: "missing-required-tag",
    severity: Severity::Low,
    title: "role or customer-managed policy without a required tag",
    help: "A tag key given with --require-tag is missing. Tag the resource (owner, cost centre, cluster) so it can be attributed and cleaned up.",
};
pub const CLOUDTRAIL_NOT_LOGGING: Rule = Rule {
    id: "AUD011",
    name: "cloudtrail-not-logging",
    severity: Severity::Medium,
    title: "no CloudTrail trail logging in the region",
    help: "No trail that covers the region is logging, so role use (AssumeRoleWithWebIdentity) is not recorded. Create a multi-region trail or start logging (cloudtrail:StartLogging).",
};
pub const INVALID_DOCUMENT: Rule = Rule {
    id: "AUD012",
    name: "invalid-policy-document",
    severity: Severity::Medium,
    title: "a policy document in the dump could not be parsed",
    help: "The document is not valid IAM policy JSON, so it was not audited. Check the dump (truncated or edited by hand?).",
};
pub const TRUST_PRINCIPAL_EVERYONE: Rule = Rule {
    id: "AUD013",
    name: "trust-principal-everyone",
    severity: Severity::Critical,
    title: "trust policy allows Principal `*`",
    help: "Anyone, in any account, may assume the role (high when conditions restrict it). Name the principals.",
};
pub const TRUST_FEDERATED_OTHER_ACCOUNT: Rule = Rule {
    id: "AUD014",
    name: "trust-federated-other-account",
    severity: Severity::High,
    title: "trust to an identity provider of another account",
    help: "The federated principal is registered in another account than the role's. Trust your own account's OIDC provider.",
};

pub const TRUST_POLICY_SIZE: Rule = Rule {
    id: "AUD015",
    name: "trust-policy-size",
    severity: Severity::High,
    title: "trust policy over IAM's default quota of 2,048 characters",
    help: "IAM refuses a longer trust policy unless the account's quota was raised, so the next edit (one more service account or cluster) fails. Use one role per service account or cluster.",
};
pub const POD_IDENTITY_TRUST_UNSCOPED: Rule = Rule {
    id: "AUD016",
    name: "pod-identity-trust-unscoped",
    severity: Severity::Medium,
    title: "role trusted by pods.eks.amazonaws.com without scoping conditions",
    help: "EKS Pod Identity assumes the role for any association that names it, so any association in the account may use it (low when the conditions name clusters but no namespace or service account, or the reverse). Add StringEquals `aws:RequestTag/eks-cluster-arn`, `aws:RequestTag/kubernetes-namespace` and `aws:RequestTag/kubernetes-service-account` (or `aws:SourceArn`/`aws:SourceAccount`).",
};
pub const BOTH_IDENTITY_MECHANISMS: Rule = Rule {
    id: "AUD017",
    name: "trust-both-identity-mechanisms",
    severity: Severity::Info,
    title: "role trusted by both IRSA (web identity) and EKS Pod Identity",
    help: "The role trusts an EKS cluster's OIDC provider and pods.eks.amazonaws.com, as during a migration. A service account with both an IRSA annotation and an association uses IRSA in workloads (the SDKs find web identity first) and the association in EKS add-ons. Remove the statement of the mechanism no longer used once the migration is done.",
};
pub const ASSOCIATION_ROLE_MISSING: Rule = Rule {
    id: "AUD018",
    name: "pod-identity-association-role-missing",
    severity: Severity::High,
    title: "EKS Pod Identity association naming a role that no longer exists",
    help: "The association's role (or target role) is not in the account, so the pods of its service account get no credentials, and a role re-created under that name would be handed to them. Delete the association (`aws eks delete-pod-identity-association`) or point it at a live role.",
};

/// Every rule, in id order.
pub const RULES: &[Rule] = &[
    CHECK_NOT_RUN,
    TRUST_NO_SUBJECT,
    TRUST_WILDCARD_SUBJECT,
    TRUST_STRING_EQUALS_WILDCARD,
    TRUST_NO_AUDIENCE,
    UNKNOWN_OIDC_PROVIDER,
    SHARED_ROLE,
    ACTION_WILDCARD,
    WRITE_ON_ANY_RESOURCE,
    ROLE_UNUSED,
    MISSING_REQUIRED_TAG,
    CLOUDTRAIL_NOT_LOGGING,
    INVALID_DOCUMENT,
    TRUST_PRINCIPAL_EVERYONE,
    TRUST_FEDERATED_OTHER_ACCOUNT,
    TRUST_POLICY_SIZE,
    POD_IDENTITY_TRUST_UNSCOPED,
    BOTH_IDENTITY_MECHANISMS,
    ASSOCIATION_ROLE_MISSING,
];

impl Rule {
    /// The audit rule for a policy-engine lint finding, when the audit reports it. `irsa_role`
    /// says whether the trust is to an EKS cluster's issuer: the IRSA trust rules apply only then
    /// (a GitHub Actions role is not a service account's).
    pub fn from_lint(lint_id: &str, irsa_role: bool) -> Option<Rule> {
        use iam_policy::lint;
        let rule = match lint_id {
            id if id == lint::INVALID_DOCUMENT.id => INVALID_DOCUMENT,
            id if id == lint::PRINCIPAL_EVERYONE.id => TRUST_PRINCIPAL_EVERYONE,
            id if id == lint::FEDERATED_OTHER_ACCOUNT.id => TRUST_FEDERATED_OTHER_ACCOUNT,
            id if id == lint::ACTION_WILDCARD.id => ACTION_WILDCARD,
            id if id == lint::WRITE_ON_ANY_RESOURCE.id => WRITE_ON_ANY_RESOURCE,
            id if irsa_role && id == lint::TRUST_NO_SUBJECT.id => TRUST_NO_SUBJECT,
            id if irsa_role && id == lint::TRUST_WILDCARD_SUBJECT.id => TRUST_WILDCARD_SUBJECT,
            id if irsa_role && id == lint::STRING_EQUALS_WILDCARD.id => {
                TRUST_STRING_EQUALS_WILDCARD
            }
            id if irsa_role && id == lint::TRUST_NO_AUDIENCE.id => TRUST_NO_AUDIENCE,
            _ => return None,
        };
        Some(rule)
    }

    pub fn by_id(id: &str) -> Option<&'static Rule> {
        RULES.iter().find(|r| r.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_are_ordered_and_parse() {
        assert!(Severity::Info < Severity::Low && Severity::High < Severity::Critical);
        assert_eq!(Severity::parse("HIGH"), Some(Severity::High));
        assert_eq!(Severity::parse("info"), Some(Severity::Info));
        assert_eq!(Severity::parse("severe"), None);
    }

    #[test]
    fn ids_are_unique_sorted_and_prefixed() {
        let ids: Vec<_> = RULES.iter().map(|r| r.id).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(ids, sorted);
        assert!(ids.iter().all(|id| id.starts_with("AUD") && id.len() == 6));
    }

    #[test]
    fn irsa_trust_rules_only_for_irsa_roles() {
        assert_eq!(Rule::from_lint("IRSA001", true), Some(TRUST_NO_SUBJECT));
        assert_eq!(Rule::from_lint("IRSA001", false), None);
        assert_eq!(
            Rule::from_lint("IRSA005", false),
            Some(TRUST_PRINCIPAL_EVERYONE)
        );
        assert_eq!(Rule::from_lint("IAM005", true), None);
    }
}
