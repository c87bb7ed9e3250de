//! Trust checks for EKS Pod Identity, beside the IRSA ones: a role is a Pod Identity role when an
//! Allow statement names `Principal.Service` `pods.eks.amazonaws.com` for `sts:AssumeRole`.
//! EKS assumes such a role for any association that names it, so the trust must say which
//! associations: the session tags EKS sets (`aws:RequestTag/eks-cluster-arn` or
//! `…/eks-cluster-name` together with `…/kubernetes-namespace` or
//! `…/kubernetes-service-account`), or `aws:SourceArn` / `aws:SourceAccount` (Amazon EKS User
//! Guide, "Create IAM role with trust policy required by EKS Pod Identity", pod-id-role.html, and
//! "Cross-service confused deputy prevention in Amazon EKS").
//!
//! Whether the trust admits *any* association is a decision, so the policy engine makes it
//! (`iam_policy::service_trust`, over the request context EKS sends,
//! `identity::pod_identity::Requester`): the trust is evaluated for two probe requests by
//! `pods.eks.amazonaws.com`, one with the session tags naming a cluster, namespace and service
//! account nobody would name, one with no tags at all (an association with session tags
//! disabled). Either allowed: AUD016 at medium. Both refused
//! but an admitting statement conditions only on part of the scope (a cluster without a
//! namespace or service account, or the reverse): AUD016 at low.

use iam_policy::document::{Effect, PolicyDocument, PrincipalType, Principals, Statement};
use iam_policy::eval;
use iam_policy::service_trust::check_service_trust;

use crate::identity::cluster_arn;
use crate::identity::pod_identity::{Requester, SERVICE_PRINCIPAL};

use super::super::finding::Finding;
use super::super::model::RoleDetail;
use super::super::rules::{self, Severity};

/// The action EKS Pod Identity assumes the role with.
const ASSUME_ROLE: &str = "sts:AssumeRole";
/// The names the probe requests carry: no real cluster, namespace or service account.
const PROBE: &str = "irsa-audit-probe-0000";

/// Whether `statement` is an Allow naming the Pod Identity service for `sts:AssumeRole`
/// (conditions aside).
fn admits_service(statement: &Statement) -> bool {
    let Some(block) = &statement.principal else {
        return false;
    };
    let Principals::Map(entries) = &block.principals else {
        return false;
    };
    statement.effect == Effect::Allow
        && !block.negated
        && statement.action.covers(ASSUME_ROLE)
        && entries
            .iter()
            .filter(|(kind, _)| *kind == PrincipalType::Service)
            .flat_map(|(_, ids)| ids.iter())
            .any(|id| id == SERVICE_PRINCIPAL)
}

/// Whether the trust names `pods.eks.amazonaws.com` for `sts:AssumeRole` in an Allow statement.
pub fn admits_pod_identity(document: &PolicyDocument) -> bool {
    document.statements.iter().any(admits_service)
}

/// Whether EKS Pod Identity may assume the role for a probe association: one whose session
/// tags (`tagged`) name no real cluster, namespace or service account, or one without tags.
/// The shared Pod Identity request context and the engine's service-trust decision make it.
fn probe_allowed(document: &PolicyDocument, partition: &str, account: &str, tagged: bool) -> bool {
    let arn = cluster_arn(partition, "us-east-1", account, PROBE);
    let probe = Requester {
        cluster_arn: &arn,
        cluster_name: PROBE,
        namespace: PROBE,
        service_account: PROBE,
    };
    check_service_trust(
        document,
        SERVICE_PRINCIPAL,
        &[ASSUME_ROLE],
        &probe.context(tagged),
    )
    .allowed
}

/// What part of the scope a statement's conditions name (positive conditions only: a negated
/// or `…IfExists` one lets requests without the key through).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Scope {
    cluster: bool,
    workload: bool,
    source: bool,
}

impl Scope {
    fn of(statement: &Statement) -> Scope {
        let mut scope = Scope::default();
        for c in statement
            .conditions
            .iter()
            .filter(|c| !c.operator.kind.is_negated() && !c.operator.if_exists)
            .filter(|c| c.values.iter().all(|v| v.text.chars().any(|ch| ch != '*')))
        {
            let key = c.key.to_ascii_lowercase();
            match key.strip_prefix("aws:requesttag/") {
                Some("eks-cluster-arn" | "eks-cluster-name") => scope.cluster = true,
                Some("kubernetes-namespace" | "kubernetes-service-account") => {
                    scope.workload = true
                }
                _ if key == "aws:sourcearn" || key == "aws:sourceaccount" => scope.source = true,
                _ => {}
            }
        }
        scope
    }

    fn complete(self) -> bool {
        self.source || (self.cluster && self.workload)
    }

    fn missing(self) -> &'static str {
        if self.cluster {
            "no namespace or service account: every service account of those clusters may use the role"
        } else {
            "no cluster: the same namespace and service account names in any cluster of the account may use the role"
        }
    }
}

/// AUD016 for one role whose trust admits Pod Identity; `partition` and `account` are the role's.
pub(crate) fn check_scope(
    role: &RoleDetail,
    document: &PolicyDocument,
    partition: &str,
    account: &str,
    findings: &mut Vec<Finding>,
) {
    let admitting: Vec<&Statement> = document
        .statements
        .iter()
        .filter(|s| admits_service(s))
        .collect();
    let labels = |statements: &[&Statement]| {
        statements
            .iter()
            .map(|s| eval::statement_label(s))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let tagged = probe_allowed(document, partition, account, true);
    let untagged = probe_allowed(document, partition, account, false);
    if tagged || untagged {
        let how = if tagged {
            "no condition names a cluster, namespace or service account"
        } else {
            "its conditions pass when EKS sends no session tags (an association with disableSessionTags)"
        };
        findings.push(Finding::new(
            rules::POD_IDENTITY_TRUST_UNSCOPED,
            &role.arn,
            format!("trusted by {SERVICE_PRINCIPAL}, and {how}: any Pod Identity association in the account may use this role"),
            format!("trust policy {}", labels(&admitting)),
        ));
        return;
    }
    let partial: Vec<(&Statement, Scope)> = admitting
        .iter()
        .map(|s| (*s, Scope::of(s)))
        .filter(|(_, scope)| !scope.complete())
        .collect();
    if let Some((_, scope)) = partial.first() {
        let statements: Vec<&Statement> = partial.iter().map(|(s, _)| *s).collect();
        findings.push(
            Finding::new(
                rules::POD_IDENTITY_TRUST_UNSCOPED,
                &role.arn,
                format!(
                    "trusted by {SERVICE_PRINCIPAL} with conditions that name {}",
                    scope.missing()
                ),
                format!("trust policy {}", labels(&statements)),
            )
            .with_severity(Severity::Low),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(statement: &str) -> PolicyDocument {
        PolicyDocument::parse(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#
        ))
        .unwrap()
    }

    fn findings(statement: &str) -> Vec<Finding> {
        let role = RoleDetail {
            role_name: "r".into(),
            arn: "arn:aws:iam::111122223333:role/r".into(),
            ..RoleDetail::default()
        };
        let mut out = Vec::new();
        check_scope(&role, &doc(statement), "aws", "111122223333", &mut out);
        out
    }

    const PODS: &str = r#""Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]"#;

    #[test]
    fn which_trusts_admit_pod_identity() {
        assert!(admits_pod_identity(&doc(&format!("{{{PODS}}}"))));
        assert!(!admits_pod_identity(&doc(
            r#"{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}"#
        )));
        assert!(!admits_pod_identity(&doc(
            r#"{"Effect":"Deny","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":"sts:AssumeRole"}"#
        )));
        // TagSession alone is not enough to assume the role.
        assert!(!admits_pod_identity(&doc(
            r#"{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":"sts:TagSession"}"#
        )));
    }

    // pod-id-role.html: the trust without Condition is what the guide starts from; its example
    // scopes it with aws:RequestTag/kubernetes-namespace and …/kubernetes-service-account.
    #[test]
    fn the_guide_trust_without_conditions_is_unscoped() {
        let f = findings(&format!("{{{PODS}}}"));
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].rule, f[0].severity), ("AUD016", Severity::Medium));
        assert!(f[0].message.contains("any Pod Identity association"));
    }

    #[test]
    fn cluster_with_namespace_and_service_account_is_scoped() {
        let scoped = format!(
            r#"{{{PODS},"Condition":{{"StringEquals":{{"aws:RequestTag/eks-cluster-arn":"arn:aws:eks:us-east-1:111122223333:cluster/prod","aws:RequestTag/kubernetes-namespace":"kube-system","aws:RequestTag/kubernetes-service-account":"ebs-csi-controller-sa"}}}}}}"#
        );
        assert_eq!(findings(&scoped), vec![]);
    }

    // Cross-service confused deputy prevention in Amazon EKS: aws:SourceArn / aws:SourceAccount.
    #[test]
    fn source_conditions_are_scoping() {
        let source = format!(
            r#"{{{PODS},"Condition":{{"StringEquals":{{"aws:SourceAccount":"111122223333"}}}}}}"#
        );
        assert_eq!(findings(&source), vec![]);
    }

    #[test]
    fn wildcards_and_if_exists_do_not_scope() {
        let star = format!(
            r#"{{{PODS},"Condition":{{"StringLike":{{"aws:RequestTag/kubernetes-namespace":"*"}}}}}}"#
        );
        assert_eq!(findings(&star)[0].severity, Severity::Medium);
        let if_exists = format!(
            r#"{{{PODS},"Condition":{{"StringEqualsIfExists":{{"aws:RequestTag/eks-cluster-name":"prod","aws:RequestTag/kubernetes-namespace":"a"}}}}}}"#
        );
        let f = findings(&if_exists);
        assert_eq!(f[0].severity, Severity::Medium);
        assert!(f[0].message.contains("no session tags"), "{}", f[0].message);
    }

    #[test]
    fn a_cluster_alone_is_partly_scoped() {
        let cluster_only = format!(
            r#"{{{PODS},"Condition":{{"StringEquals":{{"aws:RequestTag/eks-cluster-name":"prod"}}}}}}"#
        );
        let f = findings(&cluster_only);
        assert_eq!((f.len(), f[0].severity), (1, Severity::Low));
        assert!(
            f[0].message
                .contains("every service account of those clusters")
        );
        let namespace_only = format!(
            r#"{{{PODS},"Condition":{{"StringEquals":{{"aws:RequestTag/kubernetes-namespace":"a"}}}}}}"#
        );
        assert!(findings(&namespace_only)[0].message.contains("any cluster"));
    }

    #[test]
    fn a_deny_can_do_the_scoping() {
        let deny = format!(
            r#"{{{PODS}}},{{"Effect":"Deny","Principal":{{"Service":"pods.eks.amazonaws.com"}},"Action":"sts:AssumeRole","Condition":{{"StringNotEquals":{{"aws:RequestTag/kubernetes-namespace":"a"}}}}}}"#
        );
        // The engine decides: the probe is denied, yet the Allow names no scope of its own.
        let f = findings(&deny);
        assert_eq!(f[0].severity, Severity::Low);
    }
}
