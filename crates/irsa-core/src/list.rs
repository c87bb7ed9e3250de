//! `irsa list`: one row per service account that a role is linked to, through IRSA (the
//! `eks.amazonaws.com/role-arn` annotation), EKS Pod Identity (an association) or both, with
//! whether the role exists and whether its trust admits this service account (evaluated by the
//! policy engine, with the reasons when not). The effective link decides the row's role: with
//! both, the annotation's (the SDKs find web identity before container credentials). Pods are the
//! binary's to count.

use std::collections::BTreeSet;

use iam_policy::document::PolicyDocument;
use iam_policy::trust::{self, TokenClaims};
use serde::Serialize;

use crate::snapshot::{PodIdentityAssociation, Role, ServiceAccount, Snapshot};
use crate::verify::{annotated_role, audience_of, role_name_of};
use crate::verify_pod_identity::trust_verdict;

/// How a row's service account is linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Linked {
    Irsa,
    PodIdentity,
    /// An annotation and an association: workloads use IRSA, EKS add-ons the association.
    Both,
}

/// One service account and its role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub namespace: String,
    pub name: String,
    pub identity: Linked,
    pub role_arn: String,
    /// The association, when there is one.
    pub association_id: Option<String>,
    pub role_exists: bool,
    pub trust_allows: bool,
    pub trust_reasons: Vec<String>,
    pub policies: Vec<String>,
}

/// The rows for the annotated service accounts `annotated` and the snapshot's associations,
/// sorted by namespace and name.
pub fn rows(annotated: &[ServiceAccount], snapshot: &Snapshot, cluster: &str) -> Vec<Row> {
    let mut subjects: BTreeSet<(&str, &str)> = annotated
        .iter()
        .map(|sa| (sa.namespace.as_str(), sa.name.as_str()))
        .collect();
    subjects.extend(
        snapshot
            .pod_identity_associations
            .iter()
            .map(|a| (a.namespace.as_str(), a.service_account.as_str())),
    );
    subjects
        .into_iter()
        .map(|(namespace, name)| {
            let sa = annotated
                .iter()
                .find(|sa| sa.namespace == namespace && sa.name == name);
            let association = snapshot.association(namespace, name);
            row(namespace, name, sa, association, snapshot, cluster)
        })
        .collect()
}

fn row(
    namespace: &str,
    name: &str,
    sa: Option<&ServiceAccount>,
    association: Option<&PodIdentityAssociation>,
    snapshot: &Snapshot,
    cluster: &str,
) -> Row {
    let annotation = sa.and_then(annotated_role);
    let (identity, role_arn) = match (annotation, association) {
        (Some(arn), Some(_)) => (Linked::Both, arn.to_string()),
        (Some(arn), None) => (Linked::Irsa, arn.to_string()),
        (None, Some(a)) => (Linked::PodIdentity, a.role_arn.clone()),
        (None, None) => (Linked::Irsa, String::new()),
    };
    let role = role_name_of(&role_arn).and_then(|n| snapshot.role(&n));
    let (trust_allows, trust_reasons) = match (role, identity, sa, association) {
        (None, ..) => (false, vec!["the role does not exist".to_string()]),
        (Some(role), Linked::PodIdentity, _, Some(a)) => {
            pod_identity_trust(role, a, snapshot, cluster)
        }
        (Some(role), _, Some(sa), _) => irsa_trust(role, sa, snapshot),
        (Some(_), ..) => (
            false,
            vec!["nothing links this service account".to_string()],
        ),
    };
    Row {
        namespace: namespace.to_string(),
        name: name.to_string(),
        identity,
        role_exists: role.is_some(),
        policies: role
            .map(|r| r.attached_policy_arns.clone())
            .unwrap_or_default(),
        role_arn,
        association_id: association.map(|a| a.association_id.clone()),
        trust_allows,
        trust_reasons,
    }
}

/// May the service account's web-identity token assume the role?
fn irsa_trust(role: &Role, sa: &ServiceAccount, snapshot: &Snapshot) -> (bool, Vec<String>) {
    let Some(provider) = snapshot
        .cluster
        .as_ref()
        .and_then(|c| c.issuer_url.as_deref())
        .and_then(|i| snapshot.provider_for_issuer(i))
    else {
        return (
            false,
            vec!["the cluster's issuer has no IAM OIDC provider".to_string()],
        );
    };
    let doc = match PolicyDocument::from_value(&role.trust_policy) {
        Ok(doc) => doc,
        Err(e) => return (false, vec![format!("invalid trust policy: {e}")]),
    };
    let claims = TokenClaims::for_service_account(&sa.namespace, &sa.name, audience_of(sa));
    match trust::check_web_identity(&doc, &provider.arn, &claims) {
        Ok(t) => (t.allowed, t.reasons),
        Err(e) => (false, vec![e.to_string()]),
    }
}

/// May EKS Pod Identity assume the role for the association's service account?
fn pod_identity_trust(
    role: &Role,
    association: &PodIdentityAssociation,
    snapshot: &Snapshot,
    cluster: &str,
) -> (bool, Vec<String>) {
    let check = trust_verdict(role, association, snapshot, cluster);
    (check.allowed, check.reasons)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{Mechanism, PodIdentity, TrustTarget};
    use crate::snapshot::{Cluster, OidcProvider};

    const ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/ABC";

    fn role(name: &str, mechanism: &Mechanism, namespace: &str, sa: &str) -> Role {
        let target = TrustTarget {
            partition: "aws",
            account: "123456789012",
            region: "us-east-1",
            cluster_name: "demo",
            issuer_url: Some(ISSUER),
        };
        Role {
            name: name.into(),
            arn: format!("arn:aws:iam::123456789012:role/{name}"),
            trust_policy: mechanism.trust_policy(&target, namespace, sa).unwrap(),
            ..Default::default()
        }
    }

    fn snapshot() -> Snapshot {
        Snapshot {
            account: "123456789012".into(),
            partition: "aws".into(),
            region: "us-east-1".into(),
            cluster: Some(Cluster {
                name: "demo".into(),
                arn: "arn:aws:eks:us-east-1:123456789012:cluster/demo".into(),
                issuer_url: Some(ISSUER.into()),
                ..Default::default()
            }),
            oidc_providers: vec![OidcProvider {
                arn: "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC".into(),
                url: "oidc.eks.us-east-1.amazonaws.com/id/ABC".into(),
                ..Default::default()
            }],
            roles: vec![
                role("web", &Mechanism::default(), "apps", "web"),
                role("jobs", &Mechanism::PodIdentity(PodIdentity::default()), "apps", "jobs"),
            ],
            pod_identity_associations: vec![PodIdentityAssociation {
                association_id: "a-1".into(),
                namespace: "apps".into(),
                service_account: "jobs".into(),
                role_arn: "arn:aws:iam::123456789012:role/jobs".into(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn annotated(name: &str, role: &str) -> ServiceAccount {
        ServiceAccount {
            namespace: "apps".into(),
            name: name.into(),
            annotations: [(
                crate::identity::irsa::ROLE_ARN_ANNOTATION.to_string(),
                format!("arn:aws:iam::123456789012:role/{role}"),
            )]
            .into(),
            ..Default::default()
        }
    }

    #[test]
    fn one_row_per_service_account_with_its_mechanism() {
        let rows = rows(&[annotated("web", "web")], &snapshot(), "demo");
        let found: Vec<(&str, Linked, bool)> = rows
            .iter()
            .map(|r| (r.name.as_str(), r.identity, r.trust_allows))
            .collect();
        assert_eq!(
            found,
            [
                ("jobs", Linked::PodIdentity, true),
                ("web", Linked::Irsa, true)
            ]
        );
    }

    #[test]
    fn both_mechanisms_show_the_annotations_role() {
        let rows = rows(&[annotated("jobs", "web")], &snapshot(), "demo");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].identity, Linked::Both);
        assert!(rows[0].role_arn.ends_with("role/web"));
        // The IRSA role trusts apps/web, not apps/jobs.
        assert!(!rows[0].trust_allows);
    }

    #[test]
    fn a_missing_role_is_named() {
        let mut s = snapshot();
        s.roles.clear();
        let rows = rows(&[], &s, "demo");
        assert!(!rows[0].role_exists);
        assert_eq!(rows[0].trust_reasons, ["the role does not exist"]);
    }
}
