//! The observed state of an account and a cluster, as plain data.
//!
//! Adapters (`irsa-aws`, `irsa-kube`) fill a [`Snapshot`]; the pure decisions (plan, doctor,
//! audit) read it. It serializes to JSON so that a run can be saved and replayed offline
//! (`--snapshot`). Documents are kept decoded (IAM returns them URL-encoded) as JSON values.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Tags as key → value.
pub type Tags = BTreeMap<String, String>;

/// Everything irsa observed for one cluster in one account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Account id (from STS GetCallerIdentity).
    pub account: String,
    /// `aws`, `aws-cn`, `aws-us-gov`, … (from the caller's ARN).
    pub partition: String,
    pub region: String,
    /// The EKS cluster, when it was found.
    pub cluster: Option<Cluster>,
    /// Every IAM OIDC provider of the account.
    pub oidc_providers: Vec<OidcProvider>,
    /// The roles irsa looked at (by name).
    pub roles: Vec<Role>,
    /// The customer-managed policies irsa looked at (by ARN).
    pub policies: Vec<ManagedPolicy>,
    /// EKS add-ons of the cluster.
    pub addons: Vec<Addon>,
    /// EKS Pod Identity associations of the cluster that irsa looked at (described).
    #[serde(default)]
    pub pod_identity_associations: Vec<PodIdentityAssociation>,
    /// Kubernetes namespaces that exist.
    pub namespaces: Vec<String>,
    /// Kubernetes service accounts irsa looked at.
    pub service_accounts: Vec<ServiceAccount>,
    /// Local files irsa writes (Helm values), path → contents, as they are on disk.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Every role of the account with its trust policy (IAM ListRoles), read by `destroy` to
    /// know which roles still trust the cluster's OIDC provider; `None` when not read.
    #[serde(default)]
    pub role_trusts: Option<Vec<RoleTrust>>,
}

/// A role as ListRoles shows it: enough to know whom it trusts (no tags, no attachments).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoleTrust {
    pub name: String,
    pub arn: String,
    /// The trust policy, decoded.
    pub trust_policy: serde_json::Value,
}

impl RoleTrust {
    /// Whether an Allow statement of the trust policy names `provider_arn` as the Federated
    /// principal for `sts:AssumeRoleWithWebIdentity` (an unreadable policy trusts nobody).
    pub fn trusts_provider(&self, provider_arn: &str) -> bool {
        iam_policy::document::PolicyDocument::from_value(&self.trust_policy).is_ok_and(|doc| {
            doc.statements.iter().any(|statement| {
                iam_policy::trust::web_identity_provider_arns(statement).contains(&provider_arn)
            })
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cluster {
    pub name: String,
    pub arn: String,
    /// `https://oidc.eks.<region>.amazonaws.com/id/<ID>`; `None` when the cluster has no issuer.
    pub issuer_url: Option<String>,
    pub status: String,
    pub version: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcProvider {
    pub arn: String,
    /// Issuer host and path, without scheme (as IAM stores it).
    pub url: String,
    pub client_ids: Vec<String>,
    pub thumbprints: Vec<String>,
    pub tags: Tags,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Role {
    pub name: String,
    pub arn: String,
    pub path: String,
    /// The trust policy, decoded.
    pub trust_policy: serde_json::Value,
    pub permissions_boundary: Option<String>,
    pub tags: Tags,
    pub attached_policy_arns: Vec<String>,
    pub inline_policy_names: Vec<String>,
    /// RoleLastUsed.LastUsedDate, RFC 3339, when known.
    pub last_used: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ManagedPolicy {
    pub name: String,
    pub arn: String,
    pub path: String,
    pub default_version_id: String,
    /// The default version's document, decoded.
    pub document: serde_json::Value,
    /// Every version, oldest first.
    pub versions: Vec<PolicyVersion>,
    pub tags: Tags,
    /// How many roles, users and groups it is attached to (GetPolicy's AttachmentCount).
    #[serde(default)]
    pub attachment_count: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVersion {
    pub id: String,
    pub is_default: bool,
    /// RFC 3339.
    pub created: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Addon {
    pub name: String,
    /// CREATING, ACTIVE, UPDATING, DEGRADED, CREATE_FAILED, …
    pub status: String,
    pub service_account_role_arn: Option<String>,
    pub version: Option<String>,
    pub tags: Tags,
    /// The add-on's ARN (owner of the associations it made).
    #[serde(default)]
    pub arn: String,
    /// Its `configurationValues` (JSON or YAML text as set), when it has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_values: Option<String>,
}

/// An EKS Pod Identity association, as DescribePodIdentityAssociation shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodIdentityAssociation {
    pub association_id: String,
    pub association_arn: String,
    pub namespace: String,
    pub service_account: String,
    pub role_arn: String,
    #[serde(default)]
    pub target_role_arn: Option<String>,
    #[serde(default)]
    pub disable_session_tags: bool,
    /// The session policy, as the JSON text EKS keeps.
    #[serde(default)]
    pub policy: Option<String>,
    #[serde(default)]
    pub tags: Tags,
    /// The EKS add-on that made it (then only the add-on may change it).
    #[serde(default)]
    pub owner_arn: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceAccount {
    pub namespace: String,
    pub name: String,
    pub labels: Tags,
    pub annotations: Tags,
}

impl Snapshot {
    pub fn role(&self, name: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.name == name)
    }

    pub fn policy(&self, arn: &str) -> Option<&ManagedPolicy> {
        self.policies.iter().find(|p| p.arn == arn)
    }

    pub fn addon(&self, name: &str) -> Option<&Addon> {
        self.addons.iter().find(|a| a.name == name)
    }

    /// The association of `namespace/name` (EKS allows one per service account).
    pub fn association(&self, namespace: &str, name: &str) -> Option<&PodIdentityAssociation> {
        self.pod_identity_associations
            .iter()
            .find(|a| a.namespace == namespace && a.service_account == name)
    }

    /// The associations an add-on owns.
    pub fn addon_associations(&self, addon: &Addon) -> Vec<&PodIdentityAssociation> {
        self.pod_identity_associations
            .iter()
            .filter(|a| !addon.arn.is_empty() && a.owner_arn.as_deref() == Some(&addon.arn))
            .collect()
    }

    pub fn service_account(&self, namespace: &str, name: &str) -> Option<&ServiceAccount> {
        self.service_accounts
            .iter()
            .find(|s| s.namespace == namespace && s.name == name)
    }

    /// The IAM OIDC provider registered for `issuer_url` (scheme and trailing slash ignored).
    pub fn provider_for_issuer(&self, issuer_url: &str) -> Option<&OidcProvider> {
        let wanted = issuer_host_path(issuer_url);
        self.oidc_providers
            .iter()
            .find(|p| issuer_host_path(&p.url) == wanted)
    }
}

/// `https://oidc.eks.us-east-1.amazonaws.com/id/X/` → `oidc.eks.us-east-1.amazonaws.com/id/X`.
pub fn issuer_host_path(url: &str) -> &str {
    url.strip_prefix("https://")
        .unwrap_or(url)
        .trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_provider_by_issuer_in_any_spelling() {
        let snapshot = Snapshot {
            oidc_providers: vec![OidcProvider {
                arn:
                    "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X"
                        .into(),
                url: "oidc.eks.us-east-1.amazonaws.com/id/X".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert!(
            snapshot
                .provider_for_issuer("https://oidc.eks.us-east-1.amazonaws.com/id/X")
                .is_some()
        );
        assert!(
            snapshot
                .provider_for_issuer("https://oidc.eks.us-east-1.amazonaws.com/id/X/")
                .is_some()
        );
        assert!(
            snapshot
                .provider_for_issuer("https://oidc.eks.us-east-1.amazonaws.com/id/Y")
                .is_none()
        );
    }

    #[test]
    fn round_trips_as_json() {
        let snapshot = Snapshot {
            account: "123456789012".into(),
            partition: "aws".into(),
            region: "us-east-1".into(),
            namespaces: vec!["kube-system".into()],
            ..Default::default()
        };
        let text = serde_json::to_string(&snapshot).unwrap();
        assert_eq!(serde_json::from_str::<Snapshot>(&text).unwrap(), snapshot);
    }
}
