//! Verification of one EKS Pod Identity binding, as pure checks over observed facts: the chain
//! EKS walks when the agent asks for a pod's credentials. The association exists for the service
//! account (and no add-on owns it in a way that hides it), its role exists, the role's trust
//! admits `pods.eks.amazonaws.com` for this cluster, namespace and service account with the
//! actions EKS calls. The live calls that follow (TokenRequest with the Pod Identity audience,
//! EKS Auth `AssumeRoleForPodIdentity`, `GetCallerIdentity` with the returned credentials) are the
//! binary's; [`expected_role_arn`] says which role those credentials must be for.

use crate::identity::pod_identity::{self, PodIdentity, Requester};
use crate::identity::{Kind, cluster_arn};
use crate::snapshot::{PodIdentityAssociation, ServiceAccount, Snapshot};
use crate::verify::{Check, annotated_role, role_name_of};

/// The mechanisms a live service account is linked through, and which one its workloads use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveLink<'a> {
    pub annotation: Option<&'a str>,
    pub association: Option<&'a PodIdentityAssociation>,
}

impl<'a> LiveLink<'a> {
    pub fn of(sa: &'a ServiceAccount, snapshot: &'a Snapshot) -> LiveLink<'a> {
        LiveLink {
            annotation: annotated_role(sa),
            association: snapshot.association(&sa.namespace, &sa.name),
        }
    }

    /// The mechanism its pods use: IRSA when annotated (the SDKs' default chain finds web
    /// identity before container credentials), else Pod Identity when associated.
    pub fn effective(&self) -> Option<Kind> {
        match (self.annotation, self.association) {
            (Some(_), _) => Some(Kind::Irsa),
            (None, Some(_)) => Some(Kind::PodIdentity),
            (None, None) => None,
        }
    }

    /// Both mechanisms at once: a note for verify and list (doctor explains it).
    pub fn both(&self) -> bool {
        self.annotation.is_some() && self.association.is_some()
    }
}

/// The options an association carries, as the trust check needs them.
pub fn options_of(association: &PodIdentityAssociation) -> PodIdentity {
    PodIdentity {
        target_role_arn: association.target_role_arn.clone(),
        disable_session_tags: association.disable_session_tags,
        session_policy: association.policy.clone(),
    }
}

/// The role whose session the credentials must be: the target role when there is one.
pub fn expected_role_arn(association: &PodIdentityAssociation) -> &str {
    association
        .target_role_arn
        .as_deref()
        .unwrap_or(&association.role_arn)
}

/// Whether `assumed` (an `assumed-role` ARN from STS or EKS Auth) is a session of `role_arn`.
pub fn is_session_of(assumed: &str, role_arn: &str) -> bool {
    let Some(name) = role_name_of(role_arn) else {
        return false;
    };
    let Ok(arn) = iam_policy::arn::Arn::parse(role_arn) else {
        return false;
    };
    let prefix = format!(
        "arn:{}:sts::{}:assumed-role/{name}/",
        arn.partition, arn.account
    );
    assumed.starts_with(&prefix) && assumed.len() > prefix.len()
}

/// The cluster's ARN as observed, else as EKS builds it.
pub fn cluster_arn_of(snapshot: &Snapshot, cluster: &str) -> String {
    snapshot
        .cluster
        .as_ref()
        .map(|c| c.arn.clone())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| {
            cluster_arn(
                &snapshot.partition,
                &snapshot.region,
                &snapshot.account,
                cluster,
            )
        })
}

/// May EKS Pod Identity assume `role` for the association's service account of `cluster`?
pub fn trust_verdict(
    role: &crate::snapshot::Role,
    association: &PodIdentityAssociation,
    snapshot: &Snapshot,
    cluster: &str,
) -> iam_policy::trust::TrustCheck {
    let arn = cluster_arn_of(snapshot, cluster);
    let requester = Requester {
        cluster_arn: &arn,
        cluster_name: cluster,
        namespace: &association.namespace,
        service_account: &association.service_account,
    };
    pod_identity::trust_check(&role.trust_policy, &options_of(association), &requester)
}

/// The links before the live call, for `association` of `sa`. Stops at the first link that makes
/// the later ones meaningless (no role).
pub fn check_chain(
    association: &PodIdentityAssociation,
    snapshot: &Snapshot,
    cluster: &str,
) -> Vec<Check> {
    let mut checks = vec![Check::pass(
        "association",
        format!(
            "{} → {}{}",
            association.association_id,
            association.role_arn,
            association
                .target_role_arn
                .as_ref()
                .map(|t| format!(", then target role {t}"))
                .unwrap_or_default()
        ),
    )];
    let role = role_name_of(&association.role_arn).and_then(|n| snapshot.role(&n));
    let Some(role) = role else {
        checks.push(Check::fail(
            "role",
            format!(
                "{} does not exist: EKS cannot assume it; create it (irsa apply) or point the association at an existing role",
                association.role_arn
            ),
        ));
        return checks;
    };
    checks.push(Check::pass("role", format!("{} exists", role.arn)));
    let verdict = trust_verdict(role, association, snapshot, cluster);
    checks.push(if verdict.allowed {
        Check::pass(
            "trust",
            format!(
                "the trust policy lets {} assume it for {}/{}",
                pod_identity::SERVICE_PRINCIPAL,
                association.namespace,
                association.service_account
            ),
        )
    } else {
        Check::fail(
            "trust",
            format!(
                "the trust policy does not let {} assume it for {}/{}: {}",
                pod_identity::SERVICE_PRINCIPAL,
                association.namespace,
                association.service_account,
                verdict.reasons.join("; ")
            ),
        )
    });
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{Mechanism, TrustTarget};
    use crate::snapshot::{Cluster, Role};

    const ROLE: &str = "arn:aws:iam::123456789012:role/irsa-demo-apps-web";

    fn world(namespace: &str) -> (PodIdentityAssociation, Snapshot) {
        let trust = Mechanism::PodIdentity(PodIdentity::default())
            .trust_policy(
                &TrustTarget {
                    partition: "aws",
                    account: "123456789012",
                    region: "us-east-1",
                    cluster_name: "demo",
                    issuer_url: None,
                },
                namespace,
                "web",
            )
            .unwrap();
        let association = PodIdentityAssociation {
            association_id: "a-1".into(),
            namespace: "apps".into(),
            service_account: "web".into(),
            role_arn: ROLE.into(),
            ..Default::default()
        };
        let snapshot = Snapshot {
            account: "123456789012".into(),
            partition: "aws".into(),
            region: "us-east-1".into(),
            cluster: Some(Cluster {
                name: "demo".into(),
                arn: "arn:aws:eks:us-east-1:123456789012:cluster/demo".into(),
                ..Default::default()
            }),
            roles: vec![Role {
                name: "irsa-demo-apps-web".into(),
                arn: ROLE.into(),
                trust_policy: trust,
                ..Default::default()
            }],
            pod_identity_associations: vec![association.clone()],
            ..Default::default()
        };
        (association, snapshot)
    }

    #[test]
    fn a_healthy_association_passes_every_link() {
        let (association, snapshot) = world("apps");
        let checks = check_chain(&association, &snapshot, "demo");
        assert!(checks.iter().all(|c| c.ok), "{checks:#?}");
    }

    #[test]
    fn a_trust_for_another_namespace_fails_with_the_reason() {
        let (association, snapshot) = world("shop");
        let checks = check_chain(&association, &snapshot, "demo");
        let trust = checks.iter().find(|c| c.name == "trust").unwrap();
        assert!(!trust.ok);
        assert!(
            trust.detail.contains("kubernetes-namespace"),
            "{}",
            trust.detail
        );
    }

    #[test]
    fn a_missing_role_stops_the_chain() {
        let (association, mut snapshot) = world("apps");
        snapshot.roles.clear();
        let checks = check_chain(&association, &snapshot, "demo");
        assert_eq!(checks.last().unwrap().name, "role");
        assert!(!checks.last().unwrap().ok);
    }

    #[test]
    fn sessions_and_precedence() {
        assert!(is_session_of(
            "arn:aws:sts::123456789012:assumed-role/irsa-demo-apps-web/eks-demo-web-1",
            ROLE
        ));
        assert!(!is_session_of(
            "arn:aws:sts::123456789012:assumed-role/other/eks",
            ROLE
        ));
        let (association, snapshot) = world("apps");
        let mut sa = ServiceAccount {
            namespace: "apps".into(),
            name: "web".into(),
            ..Default::default()
        };
        assert_eq!(
            LiveLink::of(&sa, &snapshot).effective(),
            Some(Kind::PodIdentity)
        );
        sa.annotations.insert(
            crate::identity::irsa::ROLE_ARN_ANNOTATION.into(),
            ROLE.into(),
        );
        let link = LiveLink::of(&sa, &snapshot);
        assert_eq!(link.effective(), Some(Kind::Irsa));
        assert!(link.both());
        assert_eq!(expected_role_arn(&association), ROLE);
    }
}
