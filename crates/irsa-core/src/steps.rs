//! The steps a plan is made of: each one API call (or one Kubernetes request) that an adapter
//! executes without further decisions.
//!
//! Steps carry everything the call needs (names, documents already rendered, tags) so adapters
//! stay dumb and the plan is fully visible before anything runs. ARNs that a step creates are
//! known in advance (`arn:<partition>:iam::<account>:role<path><name>`), so later steps can name
//! them without waiting for a response.

use serde::{Deserialize, Serialize};

use crate::snapshot::Tags;

/// One call to make.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
pub enum Step {
    /// iam:CreateOpenIDConnectProvider.
    CreateOidcProvider {
        url: String,
        client_ids: Vec<String>,
        thumbprints: Vec<String>,
        tags: Tags,
    },
    /// iam:AddClientIDToOpenIDConnectProvider.
    AddOidcClientId {
        provider_arn: String,
        client_id: String,
    },
    /// iam:DeleteOpenIDConnectProvider (destroy, only for providers irsa created).
    DeleteOidcProvider { provider_arn: String },
    /// iam:CreatePolicy.
    CreatePolicy {
        name: String,
        path: String,
        document: serde_json::Value,
        tags: Tags,
    },
    /// iam:DeletePolicyVersion then iam:CreatePolicyVersion (set as default). `prune` names the
    /// oldest non-default version to delete first when the policy already has five.
    CreatePolicyVersion {
        policy_arn: String,
        document: serde_json::Value,
        prune: Option<String>,
    },
    /// iam:TagPolicy.
    TagPolicy { policy_arn: String, tags: Tags },
    /// iam:DeletePolicyVersion for each non-default version, then iam:DeletePolicy.
    DeletePolicy {
        policy_arn: String,
        non_default_versions: Vec<String>,
    },
    /// iam:CreateRole.
    CreateRole {
        name: String,
        path: String,
        trust_policy: serde_json::Value,
        permissions_boundary: Option<String>,
        tags: Tags,
    },
    /// iam:UpdateAssumeRolePolicy.
    UpdateTrustPolicy {
        role_name: String,
        trust_policy: serde_json::Value,
    },
    /// iam:PutRolePermissionsBoundary.
    PutPermissionsBoundary {
        role_name: String,
        boundary_arn: String,
    },
    /// iam:DeleteRolePermissionsBoundary.
    DeletePermissionsBoundary { role_name: String },
    /// iam:TagRole.
    TagRole { role_name: String, tags: Tags },
    /// iam:AttachRolePolicy.
    AttachRolePolicy {
        role_name: String,
        policy_arn: String,
    },
    /// iam:DetachRolePolicy.
    DetachRolePolicy {
        role_name: String,
        policy_arn: String,
    },
    /// iam:DeleteRolePolicy: an inline policy of a role irsa deletes (IAM refuses to delete a
    /// role that still has one).
    DeleteRolePolicy {
        role_name: String,
        policy_name: String,
    },
    /// iam:DeleteRole (its policies are detached by earlier steps).
    DeleteRole { role_name: String },
    /// Kubernetes: create the namespace.
    CreateNamespace { name: String },
    /// Kubernetes: create the service account, or merge-patch its labels and annotations
    /// (others are kept). `None` values remove a key.
    ApplyServiceAccount {
        namespace: String,
        name: String,
        create: bool,
        labels: Vec<(String, Option<String>)>,
        annotations: Vec<(String, Option<String>)>,
    },
    /// Kubernetes: delete a service account irsa created.
    DeleteServiceAccount { namespace: String, name: String },
    /// eks:CreateAddon with its identity and settings, then wait for ACTIVE.
    CreateAddon {
        cluster: String,
        name: String,
        identity: AddonIdentity,
        tags: Tags,
        #[serde(default, skip_serializing_if = "AddonSettings::is_empty")]
        settings: AddonSettings,
    },
    /// eks:UpdateAddon with its identity and settings, then wait for ACTIVE.
    UpdateAddon {
        cluster: String,
        name: String,
        identity: AddonIdentity,
        #[serde(default, skip_serializing_if = "AddonSettings::is_empty")]
        settings: AddonSettings,
    },
    /// eks:DescribeAddon until ACTIVE: an add-on an earlier (interrupted) run created.
    WaitForAddon { cluster: String, name: String },
    /// eks:CreatePodIdentityAssociation. A 409 (one exists already, e.g. made by a run that
    /// was killed before it could record it) is converged: the adapter reads it and, when it
    /// carries irsa's tags, updates it to this step's values.
    CreatePodIdentityAssociation {
        cluster: String,
        namespace: String,
        service_account: String,
        role_arn: String,
        target_role_arn: Option<String>,
        disable_session_tags: bool,
        policy: Option<String>,
        tags: Tags,
    },
    /// eks:UpdatePodIdentityAssociation (role, target role, session tags, session policy).
    UpdatePodIdentityAssociation {
        cluster: String,
        association_id: String,
        role_arn: String,
        target_role_arn: Option<String>,
        disable_session_tags: bool,
        policy: Option<String>,
    },
    /// eks:TagResource on an association (adopting it, or repairing irsa's tags).
    TagPodIdentityAssociation { association_arn: String, tags: Tags },
    /// eks:DeletePodIdentityAssociation.
    DeletePodIdentityAssociation {
        cluster: String,
        association_id: String,
    },
    /// eks:DeleteAddon (destroy, only for add-ons irsa created).
    DeleteAddon { cluster: String, name: String },
    /// Write a Helm values file (local, not an API call).
    WriteFile { path: String, contents: String },
}

/// How an EKS add-on gets its role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "identity", rename_all = "kebab-case")]
pub enum AddonIdentity {
    /// No role (the Pod Identity agent itself).
    None,
    /// IRSA: `serviceAccountRoleArn`.
    ServiceAccountRole { role_arn: String },
    /// EKS Pod Identity: `podIdentityAssociations` (a list replaces the add-on's own).
    PodIdentity { associations: Vec<AddonAssociation> },
}

/// What an add-on is created or updated with besides its identity, as the user wrote it (eksctl
/// `addons[].version`, `configurationValues`, `resolveConflicts`); unset fields are left to EKS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddonSettings {
    /// `addonVersion` (eksctl's `latest` is no version: EKS picks the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `configurationValues`, as JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_values: Option<String>,
    /// `resolveConflicts`: `NONE`, `OVERWRITE` or `PRESERVE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolve_conflicts: Option<String>,
}

impl AddonSettings {
    /// EKS's `resolveConflicts` values.
    pub const RESOLVE_CONFLICTS: [&'static str; 3] = ["NONE", "OVERWRITE", "PRESERVE"];

    /// Whether nothing is set (EKS defaults everywhere).
    pub fn is_empty(&self) -> bool {
        *self == AddonSettings::default()
    }

    /// One line for the plan (`version v1.2.3, configuration values, resolve conflicts OVERWRITE`).
    pub fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(v) = &self.version {
            parts.push(format!("version {v}"));
        }
        if let Some(c) = &self.configuration_values {
            parts.push(format!("configuration values {c}"));
        }
        if let Some(r) = &self.resolve_conflicts {
            parts.push(format!("resolve conflicts {r}"));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// One entry of an add-on's `podIdentityAssociations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddonAssociation {
    pub service_account: String,
    pub role_arn: String,
}

impl AddonIdentity {
    /// One line for the plan.
    pub fn describe(&self) -> String {
        match self {
            AddonIdentity::None => "no role".to_string(),
            AddonIdentity::ServiceAccountRole { role_arn } if role_arn.is_empty() => {
                "serviceAccountRoleArn removed".to_string()
            }
            AddonIdentity::ServiceAccountRole { role_arn } => {
                format!("serviceAccountRoleArn: {role_arn}")
            }
            AddonIdentity::PodIdentity { associations } if associations.is_empty() => {
                "podIdentityAssociations: none".to_string()
            }
            AddonIdentity::PodIdentity { associations } => format!(
                "podIdentityAssociations: {}",
                associations
                    .iter()
                    .map(|a| format!("{} → {}", a.service_account, a.role_arn))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

impl Step {
    /// Whether the step changes something remote (every step but [`Step::WriteFile`]).
    pub fn is_remote(&self) -> bool {
        !matches!(self, Step::WriteFile { .. })
    }

    /// The number of API calls the step makes (not counting waits for add-ons to become ACTIVE).
    pub fn api_calls(&self) -> usize {
        match self {
            Step::WriteFile { .. } => 0,
            Step::CreatePolicyVersion { prune, .. } => 1 + usize::from(prune.is_some()),
            Step::DeletePolicy {
                non_default_versions,
                ..
            } => 1 + non_default_versions.len(),
            _ => 1,
        }
    }
}
