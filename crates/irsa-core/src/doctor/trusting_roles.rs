//! Which role a service account was meant to use, when nothing says it any more: the service
//! account lost its `eks.amazonaws.com/role-arn` annotation (DOC021) or names a role that does
//! not exist (DOC030), and no spec names its role. The account's roles (one paged ListRoles walk,
//! [`Snapshot::role_trusts`]) are searched for those whose trust, evaluated by the policy engine
//! as STS evaluates `AssumeRoleWithWebIdentity`, admits this service account's token from the
//! cluster's OIDC provider, and that name it: a trust that also admits a service account of
//! another name and namespace (only an `aud` condition, `system:serviceaccount:*`) admits
//! everyone and says nothing about whom it was made for. Exactly one such role → the finding's
//! fix names it and `--fix` annotates the service account with it; several → they are listed
//! and nothing is done (choosing is the user's); none → the finding says so.

use iam_policy::document::PolicyDocument;
use iam_policy::trust::{self, TokenClaims};

use super::rules::{ROLE_MISSING, SA_NO_ANNOTATION};
use super::{DoctorInput, Finding, Subject};
use crate::identity::irsa::ROLE_ARN_ANNOTATION;
use crate::snapshot::{RoleTrust, Snapshot};
use crate::steps::Step;

/// A service account of no real workload: a trust that admits it too admits anyone.
const STRANGER: (&str, &str) = ("irsa-doctor-probe-namespace", "irsa-doctor-probe");

/// Whether doctor needs the account's roles and their trusts: some subject without a spec has
/// lost its annotation or names a role that was not found.
pub fn needs_role_trusts(snapshot: &Snapshot, subjects: &[Subject]) -> bool {
    subjects
        .iter()
        .filter(|s| s.expected_role_arn.is_none() && s.addon.is_none())
        .filter_map(|s| snapshot.service_account(&s.namespace, &s.name))
        .any(|sa| match crate::verify::annotated_role(sa) {
            None => true,
            Some(arn) => {
                crate::verify::role_name_of(arn).is_some_and(|name| snapshot.role(&name).is_none())
            }
        })
}

/// The roles whose trust admits `namespace/name`'s tokens for `audience` through
/// `provider_arn`, and not a stranger's (see the module doc).
pub fn roles_trusting<'r>(
    roles: &'r [RoleTrust],
    provider_arn: &str,
    namespace: &str,
    name: &str,
    audience: &str,
) -> Vec<&'r RoleTrust> {
    let claims = TokenClaims::for_service_account(namespace, name, audience);
    let stranger = TokenClaims::for_service_account(STRANGER.0, STRANGER.1, audience);
    let admits = |doc: &PolicyDocument, claims: &TokenClaims| {
        trust::check_web_identity(doc, provider_arn, claims).is_ok_and(|c| c.allowed)
    };
    roles
        .iter()
        .filter(|role| {
            PolicyDocument::from_value(&role.trust_policy)
                .is_ok_and(|doc| admits(&doc, &claims) && !admits(&doc, &stranger))
        })
        .collect()
}

/// Rewrites the fix of each lost-annotation or missing-role finding of a subject without a
/// spec, from the roles that trust it (when the account's roles were read).
pub(super) fn suggest(input: &DoctorInput<'_>, findings: &mut [Finding]) {
    let snapshot = input.snapshot;
    let (Some(roles), Some(provider_arn)) = (&snapshot.role_trusts, provider_arn(snapshot)) else {
        return;
    };
    for finding in findings
        .iter_mut()
        .filter(|f| f.rule == SA_NO_ANNOTATION.id || f.rule == ROLE_MISSING.id)
    {
        let Some(subject) = input
            .subjects
            .iter()
            .find(|s| Some(s.label()) == finding.subject)
            .filter(|s| s.expected_role_arn.is_none() && s.addon.is_none())
        else {
            continue;
        };
        let audience = snapshot
            .service_account(&subject.namespace, &subject.name)
            .map_or(
                crate::identity::irsa::DEFAULT_AUDIENCE,
                crate::verify::audience_of,
            );
        let found = roles_trusting(
            roles,
            &provider_arn,
            &subject.namespace,
            &subject.name,
            audience,
        );
        rewrite(finding, subject, &found, roles.len());
    }
}

fn rewrite(finding: &mut Finding, subject: &Subject, found: &[&RoleTrust], searched: usize) {
    let label = subject.label();
    match found {
        [] => {
            finding.evidence.push(format!(
                "no role of the account ({searched} searched) has a trust that names {label}"
            ));
        }
        [role] => {
            finding.evidence.push(format!(
                "the only role whose trust names {label}: {}",
                role.arn
            ));
            finding.fix.summary = format!(
                "annotate it with {}, the one role that trusts it (then restart its pods)",
                role.name
            );
            finding.fix.command = Some(format!(
                "kubectl annotate serviceaccount {} -n {} --overwrite {ROLE_ARN_ANNOTATION}={}",
                subject.name, subject.namespace, role.arn
            ));
            finding.fix.action = Some(super::FixAction::Step {
                step: Step::ApplyServiceAccount {
                    namespace: subject.namespace.clone(),
                    name: subject.name.clone(),
                    create: false,
                    labels: Vec::new(),
                    annotations: vec![(ROLE_ARN_ANNOTATION.to_string(), Some(role.arn.clone()))],
                },
            });
        }
        several => {
            for role in several {
                finding
                    .evidence
                    .push(format!("a role whose trust names {label}: {}", role.arn));
            }
            finding.fix.summary = format!(
                "{} roles trust {label}; annotate it with the one its workload should use (irsa does not choose)",
                several.len()
            );
            finding.fix.command = Some(format!(
                "kubectl annotate serviceaccount {} -n {} --overwrite {ROLE_ARN_ANNOTATION}=<one of the ARNs above>",
                subject.name, subject.namespace
            ));
            finding.fix.action = None;
        }
    }
}

/// The cluster's IAM OIDC provider ARN, from its issuer.
fn provider_arn(snapshot: &Snapshot) -> Option<String> {
    let issuer = snapshot.cluster.as_ref()?.issuer_url.as_deref()?;
    crate::desired::oidc_provider_arn(&snapshot.partition, &snapshot.account, issuer).ok()
}
