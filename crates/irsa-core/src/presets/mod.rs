//! The presets catalog: well-known IRSA workloads with the IAM permissions they need.
//!
//! Each preset says which service account it is for by default, where its policy comes from
//! (upstream source and the date it was checked), how its workload is installed, and renders its
//! policies for a given cluster. Rendering is pure and fails, rather than silently dropping a
//! statement, when a required parameter (for example the cluster name) is missing.

use std::collections::BTreeMap;

mod amazon_managed_prometheus;
mod aws_load_balancer_controller;
mod aws_node_termination_handler;
mod cert_manager;
mod cloudwatch_observability;
mod cluster_autoscaler;
mod common;
pub mod dependencies;
mod ebs_csi;
mod efs_csi;
mod external_dns;
mod external_secrets;
mod fsx_lustre_csi;
mod image_builder;
mod karpenter;
mod mountpoint_s3_csi;
pub mod requirements;
mod velero;
mod vpc_cni;

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
    /// Helm values path of the chart's service-account block (e.g. `rbac.serviceAccount`), under
    /// which irsa writes `create: false` and `name`. Set for EKS add-on presets too when the
    /// workload can alternatively be installed with a Helm chart.
    pub helm_service_account_path: Option<&'static str>,
    /// Extra guidance for `irsa presets show` (install alternatives, caveats).
    pub notes: &'static [&'static str],
    /// The eksctl `iam.serviceAccounts[].wellKnownPolicies` key that means this preset
    /// (`autoScaler`, `awsLoadBalancerController`, …), if eksctl has one.
    pub eksctl_well_known: Option<&'static str>,
    /// Options that make the preset render for a sample cluster (a bucket, a queue ARN), for
    /// `irsa presets show` hints and catalog-wide tests; empty when it renders without options.
    pub example_options: &'static [(&'static str, &'static [&'static str])],
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
    Helm {
        repo: &'static str,
        chart: &'static str,
    },
    /// An EKS add-on that creates its own service account; irsa creates the role only and passes
    /// it as `serviceAccountRoleArn`.
    EksAddon { name: &'static str },
    /// No chart or add-on of its own (a CI job, an image build): irsa creates and annotates the
    /// service account; the user runs the workload as it.
    Manual,
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
    Missing {
        preset: &'static str,
        what: &'static str,
        why: &'static str,
    },
    #[error("preset `{preset}` option `{option}`: {message}")]
    BadOption {
        preset: &'static str,
        option: String,
        message: String,
    },
}

/// Every preset, in the order `irsa presets` lists them.
pub fn catalog() -> &'static [Preset] {
    &CATALOG
}

static CATALOG: [Preset; 16] = [
    cluster_autoscaler::PRESET,
    efs_csi::PRESET,
    ebs_csi::PRESET,
    external_dns::PRESET,
    cert_manager::PRESET,
    aws_load_balancer_controller::PRESET,
    karpenter::PRESET,
    external_secrets::PRESET,
    velero::PRESET,
    vpc_cni::PRESET,
    mountpoint_s3_csi::PRESET,
    fsx_lustre_csi::PRESET,
    amazon_managed_prometheus::PRESET,
    cloudwatch_observability::PRESET,
    aws_node_termination_handler::PRESET,
    image_builder::PRESET,
];

/// The preset named `name`, if any.
pub fn find(name: &str) -> Option<&'static Preset> {
    catalog().iter().find(|p| p.name == name)
}

/// The preset eksctl's `wellKnownPolicies.<key>` means, if any.
pub fn for_eksctl_well_known(key: &str) -> Option<&'static Preset> {
    catalog().iter().find(|p| p.eksctl_well_known == Some(key))
}

/// The preset of an EKS add-on, by add-on name (`aws-ebs-csi-driver` → `ebs-csi`).
pub fn for_addon(addon: &str) -> Option<&'static Preset> {
    catalog()
        .iter()
        .find(|p| matches!(p.install, Install::EksAddon { name } if name == addon))
}

impl Preset {
    /// The preset's example options as an option map (see [`Preset::example_options`]).
    pub fn example_option_map(&self) -> BTreeMap<String, Vec<String>> {
        self.example_options
            .iter()
            .map(|(name, values)| {
                (
                    name.to_string(),
                    values.iter().map(|v| v.to_string()).collect(),
                )
            })
            .collect()
    }
}

/// The presets of the default bundle (used when no spec file is given).
pub const DEFAULT_BUNDLE: &[&str] = &["cluster-autoscaler", "efs-csi", "ebs-csi"];

#[cfg(test)]
mod tests {
    use super::common::test_support::{params_with, statements};
    use super::*;

    #[test]
    fn names_are_unique_and_findable() {
        let names: Vec<&str> = catalog().iter().map(|p| p.name).collect();
        assert_eq!(
            names,
            [
                "cluster-autoscaler",
                "efs-csi",
                "ebs-csi",
                "external-dns",
                "cert-manager",
                "aws-load-balancer-controller",
                "karpenter",
                "external-secrets",
                "velero",
                "vpc-cni",
                "mountpoint-s3-csi",
                "fsx-lustre-csi",
                "amazon-managed-prometheus",
                "cloudwatch-observability",
                "aws-node-termination-handler",
                "image-builder",
            ]
        );
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "duplicate preset names");
        for name in &names {
            assert_eq!(find(name).map(|p| p.name), Some(*name));
        }
        assert!(find("karpenter-v0").is_none());
    }

    #[test]
    fn default_bundle_names_exist() {
        assert_eq!(DEFAULT_BUNDLE, ["cluster-autoscaler", "efs-csi", "ebs-csi"]);
        for name in DEFAULT_BUNDLE {
            assert!(
                find(name).is_some(),
                "{name} is in DEFAULT_BUNDLE but not in the catalog"
            );
        }
    }

    #[test]
    fn every_entry_has_source_date_and_identity() {
        for p in catalog() {
            assert!(
                p.source.url.starts_with("https://"),
                "{}: {}",
                p.name,
                p.source.url
            );
            assert!(
                ["2026-11-29", "2026-12-01"].contains(&p.source.checked),
                "{}: {}",
                p.name,
                p.source.checked
            );
            let d = p.source.checked.as_bytes();
            assert!(
                d.len() == 10 && d[4] == b'-' && d[7] == b'-',
                "{}: date not YYYY-MM-DD",
                p.name
            );
            assert!(
                !p.summary.is_empty() && !p.namespace.is_empty() && !p.service_account.is_empty()
            );
            for o in p.options {
                assert!(
                    !o.name.is_empty() && !o.help.is_empty(),
                    "{}: undocumented option",
                    p.name
                );
            }
            if let Install::Helm { repo, chart } = p.install {
                assert!(
                    (repo.starts_with("https://") || repo.starts_with("oci://"))
                        && !chart.is_empty(),
                    "{}",
                    p.name
                );
                assert!(
                    p.helm_service_account_path.is_some(),
                    "{}: Helm preset without SA values path",
                    p.name
                );
            }
        }
    }

    /// Sample parameters under which every preset renders: a cluster, region and account, and the
    /// preset's example options.
    fn sample_params(p: &Preset) -> PresetParams {
        PresetParams {
            region: Some("us-east-1".into()),
            account: Some("123456789012".into()),
            options: p.example_option_map(),
            ..params_with(Some("demo"), &[])
        }
    }

    #[test]
    fn every_preset_renders_valid_documents() {
        for p in catalog() {
            let policies =
                (p.render)(&sample_params(p)).unwrap_or_else(|e| panic!("{}: {e}", p.name));
            assert!(
                !policies.managed_arns.is_empty() || !policies.documents.is_empty(),
                "{} renders no permissions",
                p.name
            );
            for arn in &policies.managed_arns {
                assert!(
                    arn.starts_with("arn:aws:iam::aws:policy/"),
                    "{}: {arn}",
                    p.name
                );
            }
            for (suffix, doc) in &policies.documents {
                assert!(suffix.starts_with(p.name), "{}: suffix {suffix}", p.name);
                let stmts = statements(doc);
                assert!(!stmts.is_empty());
                for s in &stmts {
                    assert_eq!(s["Effect"], "Allow", "{}: {s}", p.name);
                    assert!(
                        s["Sid"]
                            .as_str()
                            .is_some_and(|sid| sid.chars().all(|c| c.is_ascii_alphanumeric()))
                    );
                    assert!(
                        !s["Action"].is_null() && !s["Resource"].is_null(),
                        "{}: {s}",
                        p.name
                    );
                }
            }
        }
    }

    #[test]
    fn rendering_is_deterministic() {
        for p in catalog() {
            let params = sample_params(p);
            assert_eq!(
                (p.render)(&params).unwrap(),
                (p.render)(&params).unwrap(),
                "{}",
                p.name
            );
        }
    }

    #[test]
    fn presets_that_need_a_parameter_fail_without_it_and_never_render_on_every_resource() {
        for p in catalog().iter().filter(|p| !p.example_options.is_empty()) {
            let mut params = sample_params(p);
            params.options.clear();
            let err = (p.render)(&params).unwrap_err();
            assert!(
                matches!(err, PresetError::Missing { preset, .. } if preset == p.name),
                "{}: {err:?}",
                p.name
            );
        }
    }

    #[test]
    fn every_eksctl_well_known_policy_maps_onto_one_preset() {
        let keys = [
            ("imageBuilder", "image-builder"),
            ("autoScaler", "cluster-autoscaler"),
            ("awsLoadBalancerController", "aws-load-balancer-controller"),
            ("externalDNS", "external-dns"),
            ("certManager", "cert-manager"),
            ("ebsCSIController", "ebs-csi"),
            ("efsCSIController", "efs-csi"),
        ];
        for (key, preset) in keys {
            assert_eq!(
                for_eksctl_well_known(key).map(|p| p.name),
                Some(preset),
                "{key}"
            );
        }
        let mapped = catalog()
            .iter()
            .filter(|p| p.eksctl_well_known.is_some())
            .count();
        assert_eq!(mapped, keys.len());
        assert!(for_eksctl_well_known("appMesh").is_none());
    }

    #[test]
    fn every_preset_rejects_an_unknown_option() {
        let params = params_with(Some("demo"), &[("noSuchOption", &["x"])]);
        for p in catalog() {
            let err = (p.render)(&params).unwrap_err();
            assert!(
                matches!(&err, PresetError::BadOption { preset, option, .. }
                    if *preset == p.name && option == "noSuchOption"),
                "{}: {err:?}",
                p.name
            );
        }
    }
}
