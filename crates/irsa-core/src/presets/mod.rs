//! The presets catalog: well-known IRSA workloads with the IAM permissions they need.
//!
//! Each preset says which service account it is for by default, where its policy comes from
//! (upstream source and the date it was checked), how its workload is installed, and renders its
//! policies for a given cluster. Rendering is pure and fails, rather than silently dropping a
//! statement, when a required parameter (for example the cluster name) is missing.

use std::collections::BTreeMap;

/// A well-known workload and the permissions it needs.
#[derive(Debug)]
pub struct Preset {
    /// Catalog name, e.g. `cluster-autoscaler`.
    pub name: &'static str,
    /// One line for `irsa presets`.
    pub summary: &'static str,
    /// Default Kubernetes namespace of the service account.
    pub namespace: &'static str,
    /// Default service-account name.
    pub service_account: &'static str,
    /// Where the policy comes from.
    pub source: Source,
    /// How the workload is installed.
    pub install: Install,
    /// Options this preset accepts (name → meaning), for `irsa presets show` and validation.
    pub options: &'static [PresetOption],
    /// Renders the policies for the given parameters.
    pub render: fn(&PresetParams) -> Result<PresetPolicies, PresetError>,
}

/// Upstream source of a preset's policy.
#[derive(Debug, Clone, Copy)]
pub struct Source {
    /// Upstream document or file the policy follows.
    pub url: &'static str,
    /// Date (YYYY-MM-DD) the policy was last checked against the source.
    pub checked: &'static str,
}

/// How a preset's workload gets installed, which decides whether irsa creates the service account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Install {
    /// A Helm chart; irsa creates and annotates the service account and writes Helm values that
    /// point the chart at it (`create: false`, `name`).
    Helm { repo: &'static str, chart: &'static str },
    /// An EKS add-on that creates its own service account; irsa creates the role only and passes
    /// it as `serviceAccountRoleArn`.
    EksAddon { name: &'static str },
}

/// A documented option of a preset.
#[derive(Debug, Clone, Copy)]
pub struct PresetOption {
    pub name: &'static str,
    pub help: &'static str,
}

/// Inputs to rendering a preset's policies.
#[derive(Debug, Clone, Default)]
pub struct PresetParams {
    /// EKS cluster name; some presets cannot render without it.
    pub cluster: Option<String>,
    pub region: Option<String>,
    pub account: Option<String>,
    /// `aws`, `aws-cn` or `aws-us-gov`; `aws` when unset.
    pub partition: Option<String>,
    /// Preset options as written (`policy: v2`, `kmsKeyArns: [...]`), values as strings; lists
    /// are repeated keys joined by the caller into `values`.
    pub options: BTreeMap<String, Vec<String>>,
}

/// The policies a preset renders to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PresetPolicies {
    /// AWS managed (or otherwise existing) policy ARNs to attach.
    pub managed_arns: Vec<String>,
    /// Customer-managed policy documents to create and attach: (name suffix, document).
    pub documents: Vec<(String, serde_json::Value)>,
}

/// Why a preset could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresetError {
    #[error("preset `{preset}` needs {what}: {why}")]
    Missing { preset: &'static str, what: &'static str, why: &'static str },
    #[error("preset `{preset}` option `{option}`: {message}")]
    BadOption { preset: &'static str, option: String, message: String },
}

/// Every preset, in the order `irsa presets` lists them.
pub fn catalog() -> &'static [Preset] {
    &[]
}

/// The preset named `name`, if any.
pub fn find(name: &str) -> Option<&'static Preset> {
    catalog().iter().find(|p| p.name == name)
}

/// The presets of the default bundle (used when no spec file is given).
pub const DEFAULT_BUNDLE: &[&str] = &["cluster-autoscaler", "efs-csi", "ebs-csi"];
