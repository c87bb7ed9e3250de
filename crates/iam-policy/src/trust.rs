//! Trust evaluation for IRSA: may a Kubernetes service-account token assume a role through
//! `sts:AssumeRoleWithWebIdentity`, and if not, exactly why not?
//!
//! STS evaluates the role's trust policy with the federated principal set to the IAM OIDC
//! provider ARN and the token's claims as condition keys prefixed with the issuer's host and path:
//! `oidc.eks.<region>.amazonaws.com/id/<ID>:sub` and `…:aud` (see "Available keys for AWS web
//! identity federation" in the IAM user guide). This module builds that request, evaluates it
//! with [`crate::eval`], and turns every statement that did not apply into a sentence a person can
//! act on.

use crate::arn::Arn;
use crate::condition::{Condition, OperatorKind};
use crate::context::Context;
use crate::document::{Effect, PolicyDocument, PrincipalType, Principals};
use crate::eval::{self, Applies, Decision, Principal, Request};

/// The action a service-account token is used for.
pub const ASSUME_ROLE_WITH_WEB_IDENTITY: &str = "sts:AssumeRoleWithWebIdentity";
/// The audience EKS's pod-identity webhook requests by default.
pub const DEFAULT_AUDIENCE: &str = "sts.amazonaws.com";

/// The claims of a service-account token that matter to the trust policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    /// `system:serviceaccount:<namespace>:<name>`.
    pub sub: String,
    /// Audiences (`sts.amazonaws.com` for IRSA).
    pub aud: Vec<String>,
}

impl TokenClaims {
    /// The claims a token for `namespace/name` with `audience` carries.
    pub fn for_service_account(namespace: &str, name: &str, audience: &str) -> TokenClaims {
        TokenClaims {
            sub: service_account_subject(namespace, name),
            aud: vec![audience.to_string()],
        }
    }
}

/// `system:serviceaccount:<namespace>:<name>`.
pub fn service_account_subject(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// Why a trust check could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustInputError {
    #[error(
        "`{0}` is not an IAM OIDC provider ARN (expected arn:<partition>:iam::<account>:oidc-provider/<issuer host and path>)"
    )]
    ProviderArn(String),
}

/// The issuer host and path named by an OIDC provider ARN (`…:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X`
/// → `oidc.eks.us-east-1.amazonaws.com/id/X`).
pub fn issuer_from_provider_arn(provider_arn: &str) -> Result<String, TrustInputError> {
    let bad = || TrustInputError::ProviderArn(provider_arn.to_string());
    let arn = Arn::parse(provider_arn).map_err(|_| bad())?;
    if arn.service != "iam" {
        return Err(bad());
    }
    match arn.resource.strip_prefix("oidc-provider/") {
        Some(issuer) if !issuer.is_empty() => Ok(issuer.to_string()),
        _ => Err(bad()),
    }
}

/// The OIDC provider ARNs an Allow statement trusts for web identity: its `Federated` principals
/// that name an `oidc-provider/…`, when the statement's actions cover
/// `sts:AssumeRoleWithWebIdentity` (a `NotPrincipal` trusts nobody by name).
pub fn web_identity_provider_arns(statement: &crate::document::Statement) -> Vec<&str> {
    let Some(block) = &statement.principal else {
        return Vec::new();
    };
    let Principals::Map(entries) = &block.principals else {
        return Vec::new();
    };
    if statement.effect != Effect::Allow
        || block.negated
        || !statement.action.covers(ASSUME_ROLE_WITH_WEB_IDENTITY)
    {
        return Vec::new();
    }
    entries
        .iter()
        .filter(|(kind, _)| *kind == PrincipalType::Federated)
        .flat_map(|(_, ids)| ids.iter().map(String::as_str))
        .filter(|id| issuer_from_provider_arn(id).is_ok())
        .collect()
}

/// The request context STS builds for a web-identity token from `issuer`.
pub fn web_identity_context(issuer: &str, claims: &TokenClaims) -> Context {
    let mut ctx = Context::new().with(&format!("{issuer}:sub"), claims.sub.clone());
    ctx.set(&format!("{issuer}:aud"), claims.aud.clone());
    ctx
}

/// The verdict and the sentences that explain it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustCheck {
    pub allowed: bool,
    pub decision: Decision,
    pub reasons: Vec<String>,
}

/// May a token with `claims`, issued by the provider `provider_arn`, assume the role whose trust
/// policy is `trust`?
pub fn check_web_identity(
    trust: &PolicyDocument,
    provider_arn: &str,
    claims: &TokenClaims,
) -> Result<TrustCheck, TrustInputError> {
    let issuer = issuer_from_provider_arn(provider_arn)?;
    let ctx = web_identity_context(&issuer, claims);
    let request = web_identity_request(provider_arn, &ctx);
    let evaluation = eval::evaluate(&[trust], &request);
    let explain = Explainer {
        issuer: &issuer,
        provider_arn,
        ctx: &ctx,
    };
    let variables = trust.variables_enabled();
    let mut reasons = Vec::new();
    match evaluation.decision {
        Decision::ExplicitDeny | Decision::Allow => {
            let verb = if evaluation.decision == Decision::Allow {
                "allows"
            } else {
                "denies"
            };
            for at in &evaluation.deciding {
                let statement = &trust.statements[at.statement];
                reasons.push(format!(
                    "{} {verb} it{}",
                    eval::statement_label(statement),
                    explain.conditions_summary(&statement.conditions)
                ));
            }
        }
        Decision::ImplicitDeny => {
            let allows: Vec<_> = trust
                .statements
                .iter()
                .filter(|s| s.effect == Effect::Allow)
                .collect();
            if allows.is_empty() {
                reasons.push("the trust policy has no Allow statement".to_string());
            }
            for statement in allows {
                let label = eval::statement_label(statement);
                let why = match eval::statement_applies(statement, &request, variables) {
                    Applies::PrincipalMismatch => explain.principal_mismatch(statement),
                    Applies::ActionMismatch => format!(
                        "allows {}, not {ASSUME_ROLE_WITH_WEB_IDENTITY}",
                        statement.action.patterns.join(", ")
                    ),
                    Applies::ResourceMismatch => {
                        "has a Resource element that does not match the role".to_string()
                    }
                    Applies::ConditionFailed(i) => {
                        explain.failed_condition(&statement.conditions[i])
                    }
                    Applies::Yes => continue,
                };
                reasons.push(format!("{label}: {why}"));
            }
        }
    }
    Ok(TrustCheck {
        allowed: evaluation.decision == Decision::Allow,
        decision: evaluation.decision,
        reasons,
    })
}

/// The `AssumeRoleWithWebIdentity` request for `provider_arn` (the hot path of bulk checks).
pub fn web_identity_request<'a>(provider_arn: &'a str, ctx: &'a Context) -> Request<'a> {
    Request {
        principal: Some(Principal {
            kind: PrincipalType::Federated,
            id: provider_arn,
        }),
        action: ASSUME_ROLE_WITH_WEB_IDENTITY,
        resource: None,
        context: ctx,
    }
}

struct Explainer<'a> {
    issuer: &'a str,
    provider_arn: &'a str,
    ctx: &'a Context,
}

impl Explainer<'_> {
    /// `the token's sub` for claim keys of this issuer, else the key itself.
    fn subject_of(&self, key: &str) -> String {
        let prefix_len = self.issuer.len() + 1;
        let is_claim = key.len() > prefix_len
            && key[..self.issuer.len()].eq_ignore_ascii_case(self.issuer)
            && key.as_bytes()[self.issuer.len()] == b':';
        if is_claim {
            format!("the token's {}", &key[prefix_len..])
        } else {
            format!("the request's `{key}`")
        }
    }

    fn principal_mismatch(&self, statement: &crate::document::Statement) -> String {
        let Some(block) = &statement.principal else {
            return "names no principal".to_string();
        };
        let named = match &block.principals {
            Principals::Any => "everyone".to_string(),
            Principals::Map(entries) => entries
                .iter()
                .flat_map(|(kind, ids)| {
                    ids.iter()
                        .map(move |id| format!("{} `{id}`", kind.as_str()))
                })
                .collect::<Vec<_>>()
                .join(", "),
        };
        let verb = if block.negated { "excludes" } else { "trusts" };
        format!(
            "{verb} {named}, not the OIDC provider `{}`",
            self.provider_arn
        )
    }

    fn failed_condition(&self, condition: &Condition) -> String {
        let op = condition.operator.name();
        let wanted: Vec<String> = condition
            .values
            .iter()
            .map(|v| format!("`{}`", v.text))
            .collect();
        let wanted = if wanted.len() == 1 {
            wanted[0].clone()
        } else {
            format!("one of {}", wanted.join(", "))
        };
        let negated = condition.operator.kind.is_negated();
        let requirement = if negated {
            format!("anything but {wanted}")
        } else {
            wanted
        };
        let subject = self.subject_of(&condition.key);
        let actual = match self.ctx.get(&condition.key) {
            Some([one]) => format!("{subject} is `{one}`"),
            Some(many) => format!(
                "{subject} is {}",
                many.iter()
                    .map(|v| format!("`{v}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => format!("{subject} is not set"),
        };
        let mut sentence = format!(
            "condition {op} `{}` requires {requirement}; {actual}",
            condition.key
        );
        if condition.operator.kind == OperatorKind::StringEquals
            && condition
                .values
                .iter()
                .any(|v| crate::wildcard::has_wildcard(&v.text))
        {
            sentence.push_str(" (`*` and `?` are literal characters under StringEquals; use StringLike for wildcards)");
        }
        sentence
    }

    fn conditions_summary(&self, conditions: &[Condition]) -> String {
        if conditions.is_empty() {
            return " with no conditions".to_string();
        }
        let parts: Vec<String> = conditions
            .iter()
            .map(|c| {
                format!(
                    "{} `{}` = {}",
                    c.operator.name(),
                    c.key,
                    c.values
                        .iter()
                        .map(|v| format!("`{}`", v.text))
                        .collect::<Vec<_>>()
                        .join(" | ")
                )
            })
            .collect();
        format!(": {}", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROVIDER: &str =
        "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC";
    const ISSUER: &str = "oidc.eks.us-east-1.amazonaws.com/id/ABC";

    fn trust(conditions: &str) -> PolicyDocument {
        PolicyDocument::parse(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{PROVIDER}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{conditions}}}]}}"#
        ))
        .unwrap()
    }

    fn exact_trust() -> PolicyDocument {
        trust(&format!(
            r#"{{"StringEquals":{{"{ISSUER}:sub":"system:serviceaccount:kube-system:cluster-autoscaler","{ISSUER}:aud":"sts.amazonaws.com"}}}}"#
        ))
    }

    // https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html
    // (the trust policy EKS documents for IRSA: StringEquals on <issuer>:sub and <issuer>:aud).
    #[test]
    fn exact_trust_allows_only_its_service_account() {
        let t = exact_trust();
        let ok = check_web_identity(
            &t,
            PROVIDER,
            &TokenClaims::for_service_account(
                "kube-system",
                "cluster-autoscaler",
                DEFAULT_AUDIENCE,
            ),
        )
        .unwrap();
        assert!(ok.allowed);
        assert!(
            ok.reasons[0].starts_with("Statement[0] allows it: StringEquals"),
            "{:?}",
            ok.reasons
        );

        let wrong_ns = check_web_identity(
            &t,
            PROVIDER,
            &TokenClaims::for_service_account("default", "cluster-autoscaler", DEFAULT_AUDIENCE),
        )
        .unwrap();
        assert!(!wrong_ns.allowed);
        assert_eq!(
            wrong_ns.reasons,
            vec![format!(
                "Statement[0]: condition StringEquals `{ISSUER}:sub` requires `system:serviceaccount:kube-system:cluster-autoscaler`; the token's sub is `system:serviceaccount:default:cluster-autoscaler`"
            )]
        );

        let wrong_aud = check_web_identity(
            &t,
            PROVIDER,
            &TokenClaims::for_service_account("kube-system", "cluster-autoscaler", "vault"),
        )
        .unwrap();
        assert!(!wrong_aud.allowed);
        assert!(
            wrong_aud.reasons[0]
                .contains("requires `sts.amazonaws.com`; the token's aud is `vault`"),
            "{:?}",
            wrong_aud.reasons
        );
    }

    #[test]
    fn other_provider_is_named() {
        let other =
            "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/OTHER";
        let check = check_web_identity(
            &exact_trust(),
            other,
            &TokenClaims::for_service_account(
                "kube-system",
                "cluster-autoscaler",
                DEFAULT_AUDIENCE,
            ),
        )
        .unwrap();
        assert!(!check.allowed);
        assert_eq!(
            check.reasons,
            vec![format!(
                "Statement[0]: trusts Federated `{PROVIDER}`, not the OIDC provider `{other}`"
            )]
        );
    }

    // A common hand-written bug: `*` under StringEquals is a literal and never matches.
    #[test]
    fn star_in_string_equals_is_explained() {
        let t = trust(&format!(
            r#"{{"StringEquals":{{"{ISSUER}:sub":"system:serviceaccount:kube-system:*"}}}}"#
        ));
        let check = check_web_identity(
            &t,
            PROVIDER,
            &TokenClaims::for_service_account("kube-system", "x", DEFAULT_AUDIENCE),
        )
        .unwrap();
        assert!(!check.allowed);
        assert!(
            check.reasons[0].ends_with("use StringLike for wildcards)"),
            "{:?}",
            check.reasons
        );
        let like = trust(&format!(
            r#"{{"StringLike":{{"{ISSUER}:sub":"system:serviceaccount:kube-system:*"}}}}"#
        ));
        assert!(
            check_web_identity(
                &like,
                PROVIDER,
                &TokenClaims::for_service_account("kube-system", "x", DEFAULT_AUDIENCE)
            )
            .unwrap()
            .allowed
        );
    }

    #[test]
    fn wrong_action_and_explicit_deny() {
        let t = PolicyDocument::parse(&format!(r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{PROVIDER}"}},"Action":"sts:AssumeRole"}}]}}"#)).unwrap();
        let check = check_web_identity(
            &t,
            PROVIDER,
            &TokenClaims::for_service_account("a", "b", DEFAULT_AUDIENCE),
        )
        .unwrap();
        assert_eq!(
            check.reasons,
            vec![
                "Statement[0]: allows sts:AssumeRole, not sts:AssumeRoleWithWebIdentity"
                    .to_string()
            ]
        );
        let deny = PolicyDocument::parse(&format!(
            r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{PROVIDER}"}},"Action":"sts:AssumeRoleWithWebIdentity"}},
                {{"Sid":"NoDefault","Effect":"Deny","Principal":"*","Action":"*","Condition":{{"StringEquals":{{"{ISSUER}:sub":"system:serviceaccount:default:default"}}}}}}]}}"#
        ))
        .unwrap();
        let check = check_web_identity(
            &deny,
            PROVIDER,
            &TokenClaims::for_service_account("default", "default", DEFAULT_AUDIENCE),
        )
        .unwrap();
        assert_eq!(check.decision, Decision::ExplicitDeny);
        assert!(
            check.reasons[0].starts_with("Statement[1] (Sid \"NoDefault\") denies it"),
            "{:?}",
            check.reasons
        );
    }

    #[test]
    fn bad_provider_arn() {
        assert!(issuer_from_provider_arn("arn:aws:iam::123456789012:role/x").is_err());
        assert!(issuer_from_provider_arn("nope").is_err());
        assert_eq!(issuer_from_provider_arn(PROVIDER).unwrap(), ISSUER);
    }
}
