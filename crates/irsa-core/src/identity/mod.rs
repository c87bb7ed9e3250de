//! How a binding's pods get their role: the identity mechanisms, behind one seam.
//!
//! A binding's [`Mechanism`] decides four things, and only this module and its two
//! submodules know how: the role's trust policy ([`Mechanism::trust_policy`]), the
//! Kubernetes/EKS link that hands the role to the pods (an annotation on the service account
//! for [`irsa`], an EKS Pod Identity association for [`pod_identity`]), the metadata the service
//! account carries ([`Mechanism::service_account_annotations`]), and how the binding is named
//! to people ([`Kind`]). A third mechanism is one more variant and one more module, not edits
//! across plan, render, verify and doctor.

pub mod irsa;
pub mod pod_identity;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use irsa::Irsa;
pub use pod_identity::PodIdentity;

/// The mechanism a binding's pods use to get AWS credentials, with its options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "identity", rename_all = "kebab-case")]
pub enum Mechanism {
    /// IAM Roles for Service Accounts: web identity through the cluster's OIDC provider.
    Irsa(Irsa),
    /// EKS Pod Identity: an association, the agent, and the `pods.eks.amazonaws.com` service.
    PodIdentity(PodIdentity),
}

impl Default for Mechanism {
    fn default() -> Self {
        Mechanism::Irsa(Irsa::default())
    }
}

/// The name of a mechanism, without its options (`identity:` in a spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Irsa,
    PodIdentity,
}

impl Kind {
    /// Every kind, in the order help texts list them.
    pub const ALL: [Kind; 2] = [Kind::Irsa, Kind::PodIdentity];

    /// `irsa` or `pod-identity`, as written in specs, flags and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Irsa => "irsa",
            Kind::PodIdentity => "pod-identity",
        }
    }

    /// Reads `irsa` or `pod-identity`.
    pub fn parse(text: &str) -> Result<Kind, String> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or_else(|| format!("unknown identity `{text}`; use `irsa` or `pod-identity`"))
    }

    /// How people call it in prose.
    pub fn title(self) -> &'static str {
        match self {
            Kind::Irsa => "IRSA",
            Kind::PodIdentity => "EKS Pod Identity",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a trust policy is written for: the role's account and the cluster.
#[derive(Debug, Clone, Copy)]
pub struct TrustTarget<'a> {
    pub partition: &'a str,
    pub account: &'a str,
    pub region: &'a str,
    pub cluster_name: &'a str,
    /// The cluster's OIDC issuer; IRSA needs it, Pod Identity does not.
    pub issuer_url: Option<&'a str>,
}

impl<'a> TrustTarget<'a> {
    /// `arn:<partition>:eks:<region>:<account>:cluster/<name>`.
    pub fn cluster_arn(&self) -> String {
        cluster_arn(self.partition, self.region, self.account, self.cluster_name)
    }

    /// The cluster's OIDC issuer, which every IRSA trust names.
    pub fn issuer(&self) -> Result<&'a str, TrustError> {
        self.issuer_url
            .ok_or_else(|| TrustError::NoIssuer(self.cluster_name.to_string()))
    }
}

/// `arn:<partition>:eks:<region>:<account>:cluster/<name>`.
pub fn cluster_arn(partition: &str, region: &str, account: &str, cluster: &str) -> String {
    format!("arn:{partition}:eks:{region}:{account}:cluster/{cluster}")
}

/// Why a trust policy could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    #[error(transparent)]
    Issuer(#[from] crate::desired::IssuerError),
    #[error(
        "the cluster has no OIDC issuer, which IRSA needs; use `identity: pod-identity` or check `aws eks describe-cluster --name {0} --query cluster.identity`"
    )]
    NoIssuer(String),
}

impl Mechanism {
    /// Which mechanism this is.
    pub fn kind(&self) -> Kind {
        match self {
            Mechanism::Irsa(_) => Kind::Irsa,
            Mechanism::PodIdentity(_) => Kind::PodIdentity,
        }
    }

    /// The IRSA options, when this is IRSA.
    pub fn as_irsa(&self) -> Option<&Irsa> {
        match self {
            Mechanism::Irsa(irsa) => Some(irsa),
            Mechanism::PodIdentity(_) => None,
        }
    }

    /// The Pod Identity options, when this is Pod Identity.
    pub fn as_pod_identity(&self) -> Option<&PodIdentity> {
        match self {
            Mechanism::PodIdentity(pod_identity) => Some(pod_identity),
            Mechanism::Irsa(_) => None,
        }
    }

    /// The trust policy of the binding's role: exactly this service account of this cluster.
    pub fn trust_policy(
        &self,
        target: &TrustTarget,
        namespace: &str,
        service_account: &str,
    ) -> Result<Value, TrustError> {
        match self {
            Mechanism::Irsa(irsa) => irsa.trust_policy(target, namespace, service_account),
            Mechanism::PodIdentity(pod_identity) => {
                Ok(pod_identity.trust_policy(target, namespace, service_account))
            }
        }
    }

    /// The trust policy of a role shared by every service account whose token subject matches
    /// `subject_pattern` (IRSA only: EKS Pod Identity scopes by session tags, see
    /// [`pod_identity`]); `None` for Pod Identity.
    pub fn pattern_trust_policy(
        &self,
        target: &TrustTarget,
        subject_pattern: &str,
    ) -> Option<Result<Value, TrustError>> {
        match self {
            Mechanism::Irsa(irsa) => Some(irsa.pattern_trust_policy(target, subject_pattern)),
            Mechanism::PodIdentity(_) => None,
        }
    }

    /// Whether an existing trust policy admits this service account with this mechanism, as
    /// the policy engine evaluates it (IRSA: its token through the cluster's OIDC provider; Pod
    /// Identity: EKS's `sts:AssumeRole` with the session tags of this cluster and account).
    pub fn trust_admits(
        &self,
        trust: &Value,
        target: &TrustTarget,
        namespace: &str,
        service_account: &str,
    ) -> Result<bool, TrustError> {
        match self {
            Mechanism::Irsa(irsa) => irsa.trust_admits(trust, target, namespace, service_account),
            Mechanism::PodIdentity(options) => {
                let cluster_arn = target.cluster_arn();
                let requester = pod_identity::Requester {
                    cluster_arn: &cluster_arn,
                    cluster_name: target.cluster_name,
                    namespace,
                    service_account,
                };
                Ok(pod_identity::trust_check(trust, options, &requester).allowed)
            }
        }
    }

    /// One line for the plan: whom the trust admits.
    pub fn trust_summary(&self, namespace: &str, service_account: &str) -> String {
        match self {
            Mechanism::Irsa(irsa) => irsa.trust_summary(namespace, service_account),
            Mechanism::PodIdentity(pod_identity) => {
                pod_identity.trust_summary(namespace, service_account)
            }
        }
    }

    /// Annotations the service account needs for this mechanism (IRSA: the role ARN and a
    /// non-default audience; Pod Identity: none, the association carries the role).
    pub fn service_account_annotations(&self, role_arn: &str) -> BTreeMap<String, String> {
        match self {
            Mechanism::Irsa(irsa) => irsa.service_account_annotations(role_arn),
            Mechanism::PodIdentity(_) => BTreeMap::new(),
        }
    }

    /// The token audience the pods' projected token is minted for.
    pub fn audience(&self) -> &str {
        match self {
            Mechanism::Irsa(irsa) => &irsa.audience,
            Mechanism::PodIdentity(_) => pod_identity::AUDIENCE,
        }
    }
}

#[cfg(test)]
mod tests;
