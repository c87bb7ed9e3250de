//! Policy evaluation: `(principal, action, resource, context) → Allow | ExplicitDeny | ImplicitDeny`,
//! with the statements that decided it.
//!
//! Follows "Policy evaluation logic" in the IAM user guide for the policies given (identity-based
//! policies, or one resource-based policy such as a role's trust policy): a statement applies when
//! its principal (if any), action, resource (if any) and every condition match; an applying `Deny`
//! wins over everything; otherwise an applying `Allow` allows; otherwise the request is implicitly
//! denied. Evaluation allocates only for policy variables and for the list of deciding statements.
//! No statement is dropped because it cannot be checked: one naming a principal, evaluated for a
//! request without one, still denies (see [`statement_applies`]). The decision through every
//! layer (SCPs, RCPs, boundary, session and resource-based policies) is [`crate::authorization`].

use crate::arn::arn_matches_elems;
use crate::context::Context;
use crate::document::{
    Effect, PolicyDocument, PrincipalBlock, PrincipalType, Principals, ResourceBlock, Statement,
};
use crate::variables;

/// Who makes the request, for policies that name principals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal<'a> {
    pub kind: PrincipalType,
    /// An ARN (AWS, Federated provider), a service name, or a canonical user id.
    pub id: &'a str,
}

/// One request to evaluate.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub principal: Option<Principal<'a>>,
    pub action: &'a str,
    pub resource: Option<&'a str>,
    pub context: &'a Context,
}

/// The outcome of evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

impl Decision {
    /// `allow`, `explicit-deny`, `implicit-deny` (the JSON spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::ExplicitDeny => "explicit-deny",
            Decision::ImplicitDeny => "implicit-deny",
        }
    }
}

/// A statement, by position: policy index (in the slice given) and statement index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatementRef {
    pub policy: usize,
    pub statement: usize,
}

/// A decision and the statements that made it (the applying Deny statements, or the applying
/// Allow statements; empty for an implicit deny).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub decision: Decision,
    pub deciding: Vec<StatementRef>,
}

/// Why a statement does or does not apply to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    Yes,
    PrincipalMismatch,
    ActionMismatch,
    ResourceMismatch,
    /// The condition at this index of `Statement::conditions` does not hold.
    ConditionFailed(usize),
}

/// Checks one statement against a request.
///
/// Fails closed when the request names no principal but the statement does (an identity-based
/// document carrying `Principal`, which IAM refuses): a `Deny` still applies when the rest of it
/// matches, an `Allow` grants nothing. No statement is dropped because it cannot be checked.
pub fn statement_applies(
    statement: &Statement,
    request: &Request<'_>,
    variables_enabled: bool,
) -> Applies {
    match (&statement.principal, request.principal) {
        (Some(block), Some(principal)) if !principal_matches(block, principal) => {
            return Applies::PrincipalMismatch;
        }
        (Some(_), None) if statement.effect == Effect::Allow => return Applies::PrincipalMismatch,
        _ => {}
    }
    target_applies(statement, request, variables_enabled)
}

/// Checks a statement's action, resource and conditions against a request, leaving the
/// principal to the caller (the layered decision in [`crate::authorization`] matches principals
/// itself).
pub fn target_applies(
    statement: &Statement,
    request: &Request<'_>,
    variables_enabled: bool,
) -> Applies {
    if !statement.action.covers(request.action) {
        return Applies::ActionMismatch;
    }
    if let Some(block) = &statement.resource {
        let matched = match request.resource {
            Some(resource) => resource_matches(block, resource, request.context, variables_enabled),
            None => !block.negated && block.patterns.iter().any(|p| p.text == "*"),
        };
        if !matched {
            return Applies::ResourceMismatch;
        }
    }
    match statement
        .conditions
        .iter()
        .position(|c| !c.holds(request.context))
    {
        Some(i) => Applies::ConditionFailed(i),
        None => Applies::Yes,
    }
}

fn resource_matches(
    block: &ResourceBlock,
    resource: &str,
    ctx: &Context,
    variables_enabled: bool,
) -> bool {
    let any = block.patterns.iter().any(|p| {
        if p.has_variables && variables_enabled {
            variables::expand_pattern(&p.text, ctx)
                .is_some_and(|elems| arn_matches_elems(&elems, resource))
        } else {
            arn_matches_elems(&p.compiled, resource)
        }
    });
    any != block.negated
}

fn principal_matches(block: &PrincipalBlock, principal: Principal<'_>) -> bool {
    let listed = match &block.principals {
        Principals::Any => true,
        Principals::Map(entries) => entries
            .iter()
            .filter(|(kind, _)| *kind == principal.kind)
            .flat_map(|(_, ids)| ids.iter())
            .any(|id| principal_id_matches(principal.kind, id, principal.id)),
    };
    listed != block.negated
}

/// `"*"` matches any principal of the type; an account id in an `AWS` entry stands for the
/// account's root ARN (and so for every principal of the account when used in trust policies).
fn principal_id_matches(kind: PrincipalType, policy_id: &str, request_id: &str) -> bool {
    if policy_id == "*" || policy_id == request_id {
        return true;
    }
    if kind == PrincipalType::Aws {
        let account = if policy_id.len() == 12 && policy_id.bytes().all(|b| b.is_ascii_digit()) {
            Some(policy_id)
        } else {
            policy_id
                .strip_suffix(":root")
                .and_then(|a| a.rsplit(':').next())
        };
        if let Some(account) = account {
            return request_id.split(':').nth(4) == Some(account);
        }
    }
    false
}

/// Evaluates `request` against every statement of `policies`.
pub fn evaluate(policies: &[&PolicyDocument], request: &Request<'_>) -> Evaluation {
    let mut allows = Vec::new();
    let mut denies = Vec::new();
    for (p, policy) in policies.iter().enumerate() {
        let variables_enabled = policy.variables_enabled();
        for (s, statement) in policy.statements.iter().enumerate() {
            if statement_applies(statement, request, variables_enabled) == Applies::Yes {
                let at = StatementRef {
                    policy: p,
                    statement: s,
                };
                match statement.effect {
                    Effect::Allow => allows.push(at),
                    Effect::Deny => denies.push(at),
                }
            }
        }
    }
    if !denies.is_empty() {
        Evaluation {
            decision: Decision::ExplicitDeny,
            deciding: denies,
        }
    } else if !allows.is_empty() {
        Evaluation {
            decision: Decision::Allow,
            deciding: allows,
        }
    } else {
        Evaluation {
            decision: Decision::ImplicitDeny,
            deciding: Vec::new(),
        }
    }
}

/// Just the decision, without collecting the deciding statements (the hot path for bulk checks).
pub fn decide(policies: &[&PolicyDocument], request: &Request<'_>) -> Decision {
    let mut allowed = false;
    for policy in policies {
        let variables_enabled = policy.variables_enabled();
        for statement in &policy.statements {
            if statement_applies(statement, request, variables_enabled) == Applies::Yes {
                match statement.effect {
                    Effect::Deny => return Decision::ExplicitDeny,
                    Effect::Allow => allowed = true,
                }
            }
        }
    }
    if allowed {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}

/// A short label for a statement: `Statement[2] (Sid "ScaleOwnedGroups")`.
pub fn statement_label(statement: &Statement) -> String {
    match &statement.sid {
        Some(sid) if !sid.is_empty() => format!("Statement[{}] (Sid \"{sid}\")", statement.index),
        _ => format!("Statement[{}]", statement.index),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(json: &str) -> PolicyDocument {
        PolicyDocument::parse(json).unwrap()
    }

    fn request<'a>(action: &'a str, resource: &'a str, context: &'a Context) -> Request<'a> {
        Request {
            principal: None,
            action,
            resource: Some(resource),
            context,
        }
    }

    const EVAL_LOGIC: &str =
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html";

    // Explicit deny overrides any allow; no matching allow is an implicit deny.
    #[test]
    fn explicit_deny_wins_and_default_is_implicit_deny() {
        let allow = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"All","Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
        );
        let deny = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}]}"#,
        );
        let ctx = Context::new();
        let e = evaluate(
            &[&allow, &deny],
            &request("s3:DeleteBucket", "arn:aws:s3:::b", &ctx),
        );
        assert_eq!(e.decision, Decision::ExplicitDeny, "{EVAL_LOGIC}");
        assert_eq!(
            e.deciding,
            vec![StatementRef {
                policy: 1,
                statement: 0
            }]
        );
        let e = evaluate(
            &[&allow, &deny],
            &request("s3:GetObject", "arn:aws:s3:::b/k", &ctx),
        );
        assert_eq!(e.decision, Decision::Allow);
        assert_eq!(
            e.deciding,
            vec![StatementRef {
                policy: 0,
                statement: 0
            }]
        );
        assert_eq!(
            evaluate(&[&allow], &request("ec2:RunInstances", "*", &ctx)).decision,
            Decision::ImplicitDeny
        );
        assert_eq!(
            decide(
                &[&allow, &deny],
                &request("s3:DeleteBucket", "arn:aws:s3:::b", &ctx)
            ),
            Decision::ExplicitDeny
        );
    }

    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
    // NotAction with Allow allows everything except the listed actions; with Deny it denies
    // everything except them.
    #[test]
    fn not_action() {
        let p = doc(r#"{"Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}"#);
        let ctx = Context::new();
        assert_eq!(
            decide(&[&p], &request("s3:GetObject", "*", &ctx)),
            Decision::Allow
        );
        assert_eq!(
            decide(&[&p], &request("IAM:CreateUser", "*", &ctx)),
            Decision::ImplicitDeny
        );
        let d = doc(
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","NotAction":["iam:Get*"],"Resource":"*"}]}"#,
        );
        assert_eq!(
            decide(&[&d], &request("iam:GetRole", "*", &ctx)),
            Decision::Allow
        );
        assert_eq!(
            decide(&[&d], &request("iam:DeleteRole", "*", &ctx)),
            Decision::ExplicitDeny
        );
    }

    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html
    #[test]
    fn not_resource() {
        let p = doc(
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","NotResource":["arn:aws:s3:::secret","arn:aws:s3:::secret/*"]}]}"#,
        );
        let ctx = Context::new();
        assert_eq!(
            decide(
                &[&p],
                &request("s3:GetObject", "arn:aws:s3:::public/x", &ctx)
            ),
            Decision::Allow
        );
        assert_eq!(
            decide(
                &[&p],
                &request("s3:GetObject", "arn:aws:s3:::secret/x", &ctx)
            ),
            Decision::ImplicitDeny
        );
    }

    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_logic_multiple_context_keys_or_values.html
    // Several condition operators, and several keys, are AND-ed.
    #[test]
    fn conditions_are_anded() {
        let p = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"autoscaling:SetDesiredCapacity","Resource":"*",
            "Condition":{"StringEquals":{"aws:ResourceTag/k8s.io/cluster-autoscaler/demo":"owned","aws:ResourceTag/k8s.io/cluster-autoscaler/enabled":"true"}}}]}"#,
        );
        let both = Context::new()
            .with("aws:ResourceTag/k8s.io/cluster-autoscaler/demo", "owned")
            .with("aws:ResourceTag/k8s.io/cluster-autoscaler/enabled", "true");
        let one = Context::new().with("aws:ResourceTag/k8s.io/cluster-autoscaler/demo", "owned");
        let asg = "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:uuid:autoScalingGroupName/ng-1";
        assert_eq!(
            decide(
                &[&p],
                &request("autoscaling:SetDesiredCapacity", asg, &both)
            ),
            Decision::Allow
        );
        assert_eq!(
            decide(&[&p], &request("autoscaling:SetDesiredCapacity", asg, &one)),
            Decision::ImplicitDeny
        );
        let s = &p.statements[0];
        assert_eq!(
            statement_applies(
                s,
                &request("autoscaling:SetDesiredCapacity", asg, &one),
                true
            ),
            Applies::ConditionFailed(1)
        );
    }

    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
    #[test]
    fn variables_in_resources() {
        let p = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}]}"#,
        );
        let bob = Context::new().with("aws:username", "bob");
        assert_eq!(
            decide(
                &[&p],
                &request("s3:GetObject", "arn:aws:s3:::home/bob/x", &bob)
            ),
            Decision::Allow
        );
        assert_eq!(
            decide(
                &[&p],
                &request("s3:GetObject", "arn:aws:s3:::home/alice/x", &bob)
            ),
            Decision::ImplicitDeny
        );
        assert_eq!(
            decide(
                &[&p],
                &request("s3:GetObject", "arn:aws:s3:::home/bob/x", &Context::new())
            ),
            Decision::ImplicitDeny
        );
        // Without Version 2012-10-17 the variable is literal text.
        let old = doc(
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}]}"#,
        );
        assert_eq!(
            decide(
                &[&old],
                &request("s3:GetObject", "arn:aws:s3:::home/${aws:username}/x", &bob)
            ),
            Decision::Allow
        );
    }

    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
    // ("You cannot use the Principal element in an identity-based policy"). Evaluated anyway, the
    // Deny that names a principal is not dropped: `Deny s3:* Principal *` beside `Allow s3:*`
    // denies; an Allow naming a principal grants nothing.
    #[test]
    fn a_principal_in_an_identity_request_fails_closed() {
        let p = doc(
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}"#,
        );
        let ctx = Context::new();
        let e = evaluate(&[&p], &request("s3:GetObject", "arn:aws:s3:::b/k", &ctx));
        assert_eq!(e.decision, Decision::ExplicitDeny);
        assert_eq!(
            e.deciding,
            vec![StatementRef {
                policy: 0,
                statement: 1
            }]
        );
        let allow = doc(
            r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"s3:*","Resource":"*"}]}"#,
        );
        assert_eq!(
            decide(
                &[&allow],
                &request("s3:GetObject", "arn:aws:s3:::b/k", &ctx)
            ),
            Decision::ImplicitDeny
        );
    }

    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
    #[test]
    fn principals() {
        let p = doc(
            r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"}]}"#,
        );
        let ctx = Context::new();
        let same = Request {
            principal: Some(Principal {
                kind: PrincipalType::Aws,
                id: "arn:aws:iam::123456789012:role/x",
            }),
            action: "sts:AssumeRole",
            resource: None,
            context: &ctx,
        };
        let other = Request {
            principal: Some(Principal {
                kind: PrincipalType::Aws,
                id: "arn:aws:iam::999999999999:role/x",
            }),
            ..same
        };
        assert_eq!(decide(&[&p], &same), Decision::Allow);
        assert_eq!(decide(&[&p], &other), Decision::ImplicitDeny);
        let any =
            doc(r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}]}"#);
        assert_eq!(decide(&[&any], &other), Decision::Allow);
        let not = doc(
            r#"{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"*"},{"Effect":"Allow","Principal":"*","Action":"*"}]}"#,
        );
        assert_eq!(decide(&[&not], &same), Decision::Allow);
        assert_eq!(decide(&[&not], &other), Decision::ExplicitDeny);
        let service = Request {
            principal: Some(Principal {
                kind: PrincipalType::Service,
                id: "ec2.amazonaws.com",
            }),
            ..same
        };
        assert_eq!(decide(&[&p], &service), Decision::ImplicitDeny);
    }
}
