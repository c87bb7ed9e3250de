//! May an AWS service principal assume a role? The trust check for roles that a service assumes
//! on someone's behalf, such as EKS Pod Identity (`pods.eks.amazonaws.com` calls `sts:AssumeRole`
//! and, to pass its session tags, `sts:TagSession`): each action is evaluated against the trust
//! policy as a request by the service principal with the given context (the session tags as
//! `aws:RequestTag/…` and `aws:TagKeys`), and every action must be allowed. The reasons say, per
//! action, which statement allowed or denied it, or why no Allow applied (another principal,
//! another action, or which condition failed). Source: IAM User Guide, "Policy evaluation logic"
//! and "Passing session tags in AWS STS" (a role session with tags needs `sts:TagSession`).

use crate::context::Context;
use crate::document::{Effect, PolicyDocument, PrincipalType};
use crate::eval::{self, Applies, Decision, Principal, Request};
use crate::trust::TrustCheck;

/// May `service` perform every one of `actions` on the role whose trust policy is `trust`?
pub fn check_service_trust(
    trust: &PolicyDocument,
    service: &str,
    actions: &[&str],
    ctx: &Context,
) -> TrustCheck {
    let mut reasons = Vec::new();
    let mut decision = Decision::Allow;
    for action in actions {
        let request = Request {
            principal: Some(Principal {
                kind: PrincipalType::Service,
                id: service,
            }),
            action,
            resource: None,
            context: ctx,
        };
        let evaluation = eval::evaluate(&[trust], &request);
        if evaluation.decision != Decision::Allow && decision != Decision::ExplicitDeny {
            decision = evaluation.decision;
        }
        explain(trust, &request, &evaluation, &mut reasons);
    }
    TrustCheck {
        allowed: decision == Decision::Allow,
        decision,
        reasons,
    }
}

fn explain(
    trust: &PolicyDocument,
    request: &Request<'_>,
    evaluation: &eval::Evaluation,
    reasons: &mut Vec<String>,
) {
    let action = request.action;
    match evaluation.decision {
        Decision::Allow | Decision::ExplicitDeny => {
            let verb = if evaluation.decision == Decision::Allow {
                "allows"
            } else {
                "denies"
            };
            for at in &evaluation.deciding {
                let label = eval::statement_label(&trust.statements[at.statement]);
                reasons.push(format!("{label} {verb} {action}"));
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
                let why =
                    match eval::statement_applies(statement, request, trust.variables_enabled()) {
                        Applies::PrincipalMismatch => {
                            format!("does not name the service {}", principal_id(request))
                        }
                        Applies::ActionMismatch => format!(
                            "allows {}, not {action}",
                            statement.action.patterns.join(", ")
                        ),
                        Applies::ResourceMismatch => {
                            "has a Resource element that does not match the role".to_string()
                        }
                        Applies::ConditionFailed(i) => format!(
                            "its condition {} does not hold for {action}",
                            condition_label(&statement.conditions[i], request.context)
                        ),
                        Applies::Yes => continue,
                    };
                reasons.push(format!("{label}: {why}"));
            }
        }
    }
}

fn principal_id<'a>(request: &Request<'a>) -> &'a str {
    request.principal.map_or("", |p| p.id)
}

/// `StringEquals aws:RequestTag/kubernetes-namespace = [apps] (the request has kube-system)`.
fn condition_label(condition: &crate::condition::Condition, ctx: &Context) -> String {
    let actual = ctx
        .get(&condition.key)
        .map_or_else(|| "no value".to_string(), |v| v.join(", "));
    let wanted: Vec<&str> = condition.values.iter().map(|v| v.text.as_str()).collect();
    format!(
        "{} {} = [{}] (the request has {actual})",
        condition.operator.name(),
        condition.key,
        wanted.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVICE: &str = "pods.eks.amazonaws.com";
    const ACTIONS: [&str; 2] = ["sts:AssumeRole", "sts:TagSession"];

    fn doc(text: &str) -> PolicyDocument {
        PolicyDocument::parse(text).unwrap()
    }

    fn ctx(namespace: &str) -> Context {
        Context::new()
            .with("aws:RequestTag/kubernetes-namespace", namespace)
            .with("aws:RequestTag/kubernetes-service-account", "app")
    }

    #[test]
    fn both_actions_must_be_allowed() {
        // EKS User Guide, pod-id-role.html: the trust needs sts:AssumeRole and sts:TagSession.
        let only_assume = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        );
        let check = check_service_trust(&only_assume, SERVICE, &ACTIONS, &ctx("apps"));
        assert!(!check.allowed);
        assert!(
            check
                .reasons
                .iter()
                .any(|r| r.contains("not sts:TagSession")),
            "{:?}",
            check.reasons
        );
        assert!(check_service_trust(&only_assume, SERVICE, &ACTIONS[..1], &ctx("apps")).allowed);
    }

    #[test]
    fn conditions_on_session_tags_are_explained() {
        let scoped = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"StringEquals":{"aws:RequestTag/kubernetes-namespace":"apps"}}}]}"#,
        );
        assert!(check_service_trust(&scoped, SERVICE, &ACTIONS, &ctx("apps")).allowed);
        let check = check_service_trust(&scoped, SERVICE, &ACTIONS, &ctx("kube-system"));
        assert!(!check.allowed);
        assert!(
            check.reasons[0].contains("aws:RequestTag/kubernetes-namespace")
                && check.reasons[0].contains("kube-system"),
            "{:?}",
            check.reasons
        );
    }

    #[test]
    fn another_principal_or_an_explicit_deny() {
        let web = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::1:oidc-provider/x"},"Action":"sts:AssumeRoleWithWebIdentity"}]}"#,
        );
        let check = check_service_trust(&web, SERVICE, &ACTIONS, &ctx("apps"));
        assert!(
            check.reasons[0].contains("does not name the service"),
            "{:?}",
            check.reasons
        );
        let denied = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]},{"Effect":"Deny","Principal":"*","Action":"sts:TagSession"}]}"#,
        );
        let check = check_service_trust(&denied, SERVICE, &ACTIONS, &ctx("apps"));
        assert_eq!(check.decision, Decision::ExplicitDeny);
    }
}
