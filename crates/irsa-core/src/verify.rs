//! Verification of one IRSA binding, as pure checks over observed facts: the chain STS walks
//! when a pod's SDK calls `AssumeRoleWithWebIdentity`, link by link, each with a verdict and a
//! detail a person can act on. The adapters gather the facts (the service account, a token
//! minted by the TokenRequest API and decoded, the issuer's JWKS verdict, the IAM snapshot);
//! this module decides. The live STS calls that follow are the binary's.
//!
//! Order of the links: annotation → role exists → token issuer is the cluster's → an IAM OIDC
//! provider exists for it → audience accepted by the provider and the annotation → signature
//! verifies against the issuer's keys → token not expired → the role's trust policy allows the
//! token (with the policy engine's reason when not).

use iam_policy::arn::Arn;
use iam_policy::document::PolicyDocument;
use iam_policy::trust::{self, TokenClaims};
use serde::Serialize;

use crate::desired::DEFAULT_AUDIENCE;
use crate::render::{AUDIENCE_ANNOTATION, ROLE_ARN_ANNOTATION};
use crate::snapshot::{OidcProvider, Role, ServiceAccount, Snapshot, issuer_host_path};

/// One link of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

impl Check {
    pub fn pass(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            name,
            ok: true,
            detail: detail.into(),
        }
    }

    pub fn fail(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            name,
            ok: false,
            detail: detail.into(),
        }
    }
}

/// What the token's signature check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    /// Verified with the issuer key `kid`.
    Verified { kid: String },
    /// No key with this `kid` in the issuer's JWKS.
    UnknownKey { kid: Option<String> },
    /// A key matched but the signature (or the token's format) is wrong.
    Invalid(String),
    /// The JWKS could not be fetched.
    Unavailable(String),
}

/// The decoded (not yet trusted) token and its signature verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFacts {
    pub issuer: String,
    pub subject: String,
    pub audiences: Vec<String>,
    /// Seconds since the epoch.
    pub expires_at: i64,
    pub not_before: Option<i64>,
    pub signature: Signature,
}

/// The role a service account is annotated with, and the audience its pods' tokens carry.
pub fn annotated_role(sa: &ServiceAccount) -> Option<&str> {
    sa.annotations.get(ROLE_ARN_ANNOTATION).map(String::as_str)
}

pub fn audience_of(sa: &ServiceAccount) -> &str {
    sa.annotations
        .get(AUDIENCE_ANNOTATION)
        .map(String::as_str)
        .unwrap_or(DEFAULT_AUDIENCE)
}

/// The role name of a role ARN (`arn:aws:iam::1:role/path/name` → `name`).
pub fn role_name_of(role_arn: &str) -> Option<String> {
    let arn = Arn::parse(role_arn).ok()?;
    let path_and_name = arn.resource.strip_prefix("role/")?;
    path_and_name
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .map(str::to_string)
}

/// The ARN STS reports for a session of `role_arn` (the role's path is not part of it).
pub fn assumed_role_arn(role_arn: &str, session: &str) -> Option<String> {
    let arn = Arn::parse(role_arn).ok()?;
    Some(format!(
        "arn:{}:sts::{}:assumed-role/{}/{session}",
        arn.partition,
        arn.account,
        role_name_of(role_arn)?
    ))
}

/// What is wrong with a service account's role annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnnotationProblem {
    Missing,
    NotAnArn(String),
    NotARole(String),
    OtherAccount {
        role_arn: String,
        role_account: String,
        account: String,
    },
    OtherPartition {
        role_arn: String,
        role_partition: String,
        partition: String,
    },
}

impl std::fmt::Display for AnnotationProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnnotationProblem::Missing => write!(
                f,
                "no {ROLE_ARN_ANNOTATION} annotation: its pods get no AWS credentials"
            ),
            AnnotationProblem::NotAnArn(arn) => {
                write!(f, "{ROLE_ARN_ANNOTATION} `{arn}` is not an ARN")
            }
            AnnotationProblem::NotARole(arn) => write!(
                f,
                "{ROLE_ARN_ANNOTATION} `{arn}` is not an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)"
            ),
            AnnotationProblem::OtherAccount {
                role_arn,
                role_account,
                account,
            } => write!(
                f,
                "`{role_arn}` is in account {role_account}, but the cluster's account is {account}"
            ),
            AnnotationProblem::OtherPartition {
                role_arn,
                role_partition,
                partition,
            } => write!(
                f,
                "`{role_arn}` is in partition {role_partition}, but the cluster's is {partition}"
            ),
        }
    }
}

/// The role ARN `sa` is annotated with, when it is usable: present, an IAM role ARN, in the
/// snapshot's account and partition.
pub fn annotated_role_arn(
    sa: &ServiceAccount,
    snapshot: &Snapshot,
) -> Result<String, AnnotationProblem> {
    let role_arn = annotated_role(sa).ok_or(AnnotationProblem::Missing)?;
    let arn =
        Arn::parse(role_arn).map_err(|_| AnnotationProblem::NotAnArn(role_arn.to_string()))?;
    if arn.service != "iam"
        || !arn.resource.starts_with("role/")
        || role_name_of(role_arn).is_none()
    {
        return Err(AnnotationProblem::NotARole(role_arn.to_string()));
    }
    if !snapshot.account.is_empty() && arn.account != snapshot.account {
        return Err(AnnotationProblem::OtherAccount {
            role_arn: role_arn.to_string(),
            role_account: arn.account.to_string(),
            account: snapshot.account.clone(),
        });
    }
    if !snapshot.partition.is_empty() && arn.partition != snapshot.partition {
        return Err(AnnotationProblem::OtherPartition {
            role_arn: role_arn.to_string(),
            role_partition: arn.partition.to_string(),
            partition: snapshot.partition.clone(),
        });
    }
    Ok(role_arn.to_string())
}

/// Checks the annotation of `sa`: present, a role ARN, in this account and partition. Returns
/// the role ARN when usable.
pub fn check_annotation(
    sa: &ServiceAccount,
    snapshot: &Snapshot,
    checks: &mut Vec<Check>,
) -> Option<String> {
    match annotated_role_arn(sa, snapshot) {
        Ok(role_arn) => {
            checks.push(Check::pass(
                "annotation",
                format!("{ROLE_ARN_ANNOTATION}: {role_arn}"),
            ));
            Some(role_arn)
        }
        Err(AnnotationProblem::Missing) => {
            checks.push(Check::fail("annotation", format!("{}/{} has no {ROLE_ARN_ANNOTATION} annotation: its pods get no AWS credentials; run `irsa apply` or annotate it", sa.namespace, sa.name)));
            None
        }
        Err(problem) => {
            checks.push(Check::fail("annotation", problem.to_string()));
            None
        }
    }
}

/// Every link from the role to the trust decision, for a token minted for `sa`. Stops at the
/// first link that makes the later ones meaningless (no role, no provider).
pub fn check_chain(
    sa: &ServiceAccount,
    role_arn: &str,
    token: &TokenFacts,
    snapshot: &Snapshot,
    now: i64,
) -> Vec<Check> {
    let role_name = role_name_of(role_arn).unwrap_or_default();
    let Some(role) = snapshot.role(&role_name) else {
        return vec![missing_role_check(&role_name, snapshot)];
    };
    let mut checks = vec![role_check(role), issuer_check(token, snapshot)];
    let Some(provider) = snapshot.provider_for_issuer(&token.issuer) else {
        checks.push(missing_provider_check(token, snapshot));
        return checks;
    };
    checks.push(Check::pass("oidc-provider", provider.arn.clone()));
    checks.push(audience_check(audience_of(sa), token, provider));
    checks.push(signature_check(&token.signature));
    checks.push(expiry_check(token, now));
    checks.push(trust_check(role, provider, token));
    checks
}

/// The role link when the annotated role does not exist.
fn missing_role_check(role_name: &str, snapshot: &Snapshot) -> Check {
    Check::fail(
        "role",
        format!(
            "role `{role_name}` does not exist in account {}; run `irsa apply`",
            snapshot.account
        ),
    )
}

/// The role link when it exists: its ARN and how many policies it has attached.
fn role_check(role: &Role) -> Check {
    Check::pass(
        "role",
        format!(
            "{} exists, {} attached",
            role.arn,
            crate::text::count(role.attached_policy_arns.len(), "policy", "policies")
        ),
    )
}

/// Whether the token was minted by this cluster's issuer.
fn issuer_check(token: &TokenFacts, snapshot: &Snapshot) -> Check {
    let cluster_issuer = snapshot
        .cluster
        .as_ref()
        .and_then(|c| c.issuer_url.as_deref());
    match cluster_issuer {
        Some(issuer) if issuer_host_path(issuer) == issuer_host_path(&token.issuer) => Check::pass(
            "issuer",
            format!("token issuer {} is the cluster's", token.issuer),
        ),
        Some(issuer) => Check::fail(
            "issuer",
            format!(
                "token issuer {} is not the cluster's issuer {issuer}",
                token.issuer
            ),
        ),
        None => Check::fail(
            "issuer",
            "the cluster has no OIDC issuer: it cannot use IRSA; check `aws eks describe-cluster` (every EKS cluster has one) or use EKS Pod Identity",
        ),
    }
}

/// The provider link when the account has no IAM OIDC provider for the token's issuer.
fn missing_provider_check(token: &TokenFacts, snapshot: &Snapshot) -> Check {
    Check::fail(
        "oidc-provider",
        format!(
            "no IAM OIDC provider for {} in account {}: STS rejects every token of this cluster; run `irsa apply` (or `eksctl utils associate-iam-oidc-provider`)",
            issuer_host_path(&token.issuer),
            snapshot.account
        ),
    )
}

/// Whether the token carries the service account's audience and the provider accepts it.
fn audience_check(audience: &str, token: &TokenFacts, provider: &OidcProvider) -> Check {
    if !token.audiences.iter().any(|a| a == audience) {
        Check::fail(
            "audience",
            format!(
                "the token's audience {:?} does not include `{audience}` (from the service account)",
                token.audiences
            ),
        )
    } else if !provider.client_ids.iter().any(|c| c == audience) {
        Check::fail(
            "audience",
            format!(
                "the OIDC provider's client ids {:?} do not include `{audience}`: STS rejects the token; add it (irsa apply does)",
                provider.client_ids
            ),
        )
    } else {
        Check::pass(
            "audience",
            format!("`{audience}` is accepted by the provider"),
        )
    }
}

/// Whether the token's signature verifies with the issuer's published keys.
fn signature_check(signature: &Signature) -> Check {
    match signature {
        Signature::Verified { kid } => {
            Check::pass("signature", format!("verified with the issuer's key {kid}"))
        }
        Signature::UnknownKey { kid } => Check::fail(
            "signature",
            format!(
                "signed with key {} which is not in the issuer's JWKS: STS will reject it",
                kid.as_deref().unwrap_or("(no kid)")
            ),
        ),
        Signature::Invalid(why) => Check::fail("signature", format!("does not verify: {why}")),
        Signature::Unavailable(why) => Check::fail(
            "signature",
            format!("cannot check: the issuer's JWKS is unavailable ({why})"),
        ),
    }
}

/// Whether the token is valid at `now` (allowing STS's minute of clock skew for `nbf`).
fn expiry_check(token: &TokenFacts, now: i64) -> Check {
    if token.expires_at <= now {
        Check::fail(
            "expiry",
            format!("the token expired {} s ago", now - token.expires_at),
        )
    } else if token.not_before.is_some_and(|nbf| nbf > now + 60) {
        Check::fail("expiry", "the token is not valid yet (clock skew?)")
    } else {
        Check::pass(
            "expiry",
            format!("valid for {} s more", token.expires_at - now),
        )
    }
}

/// The engine's decision on the role's trust policy for the token's claims through `provider`.
fn trust_check(role: &Role, provider: &OidcProvider, token: &TokenFacts) -> Check {
    let claims = TokenClaims {
        sub: token.subject.clone(),
        aud: token.audiences.clone(),
    };
    let decision = PolicyDocument::from_value(&role.trust_policy)
        .map_err(|e| format!("the trust policy is invalid: {e}"))
        .and_then(|doc| {
            trust::check_web_identity(&doc, &provider.arn, &claims).map_err(|e| e.to_string())
        });
    match decision {
        Ok(t) if t.allowed => Check::pass("trust", t.reasons.join("; ")),
        Ok(t) => Check::fail("trust", t.reasons.join("; ")),
        Err(e) => Check::fail("trust", e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{Cluster, OidcProvider, Role};
    use serde_json::json;

    const ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/ABC";
    const PROVIDER: &str =
        "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC";
    const ROLE: &str = "arn:aws:iam::123456789012:role/irsa/app-role";
    const NOW: i64 = 1_800_000_000;

    fn snapshot() -> Snapshot {
        let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": PROVIDER}, "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {"oidc.eks.us-east-1.amazonaws.com/id/ABC:sub": "system:serviceaccount:apps:app", "oidc.eks.us-east-1.amazonaws.com/id/ABC:aud": "sts.amazonaws.com"}}}]});
        Snapshot {
            account: "123456789012".into(),
            partition: "aws".into(),
            cluster: Some(Cluster {
                name: "demo".into(),
                issuer_url: Some(ISSUER.into()),
                ..Default::default()
            }),
            oidc_providers: vec![OidcProvider {
                arn: PROVIDER.into(),
                url: "oidc.eks.us-east-1.amazonaws.com/id/ABC".into(),
                client_ids: vec!["sts.amazonaws.com".into()],
                ..Default::default()
            }],
            roles: vec![Role {
                name: "app-role".into(),
                arn: ROLE.into(),
                path: "/irsa/".into(),
                trust_policy: trust,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn sa(ns: &str, annotations: &[(&str, &str)]) -> ServiceAccount {
        ServiceAccount {
            namespace: ns.into(),
            name: "app".into(),
            annotations: annotations
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    fn token(ns: &str) -> TokenFacts {
        TokenFacts {
            issuer: ISSUER.into(),
            subject: format!("system:serviceaccount:{ns}:app"),
            audiences: vec!["sts.amazonaws.com".into()],
            expires_at: NOW + 600,
            not_before: Some(NOW - 1),
            signature: Signature::Verified { kid: "k1".into() },
        }
    }

    fn failed(checks: &[Check]) -> Vec<&'static str> {
        checks.iter().filter(|c| !c.ok).map(|c| c.name).collect()
    }

    #[test]
    fn healthy_binding_passes_every_link() {
        let checks = check_chain(
            &sa("apps", &[(ROLE_ARN_ANNOTATION, ROLE)]),
            ROLE,
            &token("apps"),
            &snapshot(),
            NOW,
        );
        assert!(checks.iter().all(|c| c.ok), "{checks:#?}");
        assert_eq!(
            checks.iter().map(|c| c.name).collect::<Vec<_>>(),
            vec![
                "role",
                "issuer",
                "oidc-provider",
                "audience",
                "signature",
                "expiry",
                "trust"
            ]
        );
        assert_eq!(
            assumed_role_arn(ROLE, "irsa-verify").unwrap(),
            "arn:aws:sts::123456789012:assumed-role/app-role/irsa-verify"
        );
    }

    #[test]
    fn trust_naming_another_namespace_fails_with_the_reason() {
        let checks = check_chain(
            &sa("default", &[(ROLE_ARN_ANNOTATION, ROLE)]),
            ROLE,
            &token("default"),
            &snapshot(),
            NOW,
        );
        assert_eq!(failed(&checks), vec!["trust"]);
        let trust = checks.iter().find(|c| c.name == "trust").unwrap();
        assert!(trust.detail.contains("requires `system:serviceaccount:apps:app`; the token's sub is `system:serviceaccount:default:app`"), "{}", trust.detail);
    }

    #[test]
    fn missing_or_bad_annotation() {
        let mut checks = Vec::new();
        assert_eq!(
            check_annotation(&sa("apps", &[]), &snapshot(), &mut checks),
            None
        );
        assert!(
            checks[0]
                .detail
                .contains("has no eks.amazonaws.com/role-arn annotation")
        );
        let mut checks = Vec::new();
        assert_eq!(
            check_annotation(
                &sa(
                    "apps",
                    &[(ROLE_ARN_ANNOTATION, "arn:aws:iam::999999999999:role/x")]
                ),
                &snapshot(),
                &mut checks
            ),
            None
        );
        assert!(checks[0].detail.contains("account 999999999999"));
        let mut checks = Vec::new();
        assert_eq!(
            check_annotation(
                &sa("apps", &[(ROLE_ARN_ANNOTATION, "app-role")]),
                &snapshot(),
                &mut checks
            ),
            None
        );
        let mut checks = Vec::new();
        assert_eq!(
            check_annotation(
                &sa("apps", &[(ROLE_ARN_ANNOTATION, ROLE)]),
                &snapshot(),
                &mut checks
            )
            .as_deref(),
            Some(ROLE)
        );
    }

    #[test]
    fn wrong_audience_provider_missing_bad_signature_expired() {
        let mut t = token("apps");
        t.audiences = vec!["vault".into()];
        assert_eq!(
            failed(&check_chain(
                &sa("apps", &[(ROLE_ARN_ANNOTATION, ROLE)]),
                ROLE,
                &t,
                &snapshot(),
                NOW
            )),
            vec!["audience", "trust"]
        );

        let custom = sa(
            "apps",
            &[(ROLE_ARN_ANNOTATION, ROLE), (AUDIENCE_ANNOTATION, "vault")],
        );
        let checks = check_chain(&custom, ROLE, &t, &snapshot(), NOW);
        assert!(
            checks
                .iter()
                .find(|c| c.name == "audience")
                .unwrap()
                .detail
                .contains("client ids")
        );

        let mut no_provider = snapshot();
        no_provider.oidc_providers.clear();
        let checks = check_chain(
            &sa("apps", &[(ROLE_ARN_ANNOTATION, ROLE)]),
            ROLE,
            &token("apps"),
            &no_provider,
            NOW,
        );
        assert_eq!(failed(&checks), vec!["oidc-provider"]);

        let mut rogue = token("apps");
        rogue.signature = Signature::UnknownKey {
            kid: Some("evil".into()),
        };
        assert_eq!(
            failed(&check_chain(
                &sa("apps", &[(ROLE_ARN_ANNOTATION, ROLE)]),
                ROLE,
                &rogue,
                &snapshot(),
                NOW
            )),
            vec!["signature"]
        );

        let mut expired = token("apps");
        expired.expires_at = NOW - 5;
        let checks = check_chain(
            &sa("apps", &[(ROLE_ARN_ANNOTATION, ROLE)]),
            ROLE,
            &expired,
            &snapshot(),
            NOW,
        );
        assert_eq!(failed(&checks), vec!["expiry"]);
        assert!(
            checks
                .iter()
                .any(|c| c.detail == "the token expired 5 s ago")
        );
    }

    #[test]
    fn missing_role() {
        let other = "arn:aws:iam::123456789012:role/nope";
        let checks = check_chain(
            &sa("apps", &[(ROLE_ARN_ANNOTATION, other)]),
            other,
            &token("apps"),
            &snapshot(),
            NOW,
        );
        assert_eq!(failed(&checks), vec!["role"]);
        assert_eq!(checks.len(), 1);
    }
}
