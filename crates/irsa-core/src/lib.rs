//! irsa's pure core: everything irsa decides, as functions over plain data.
//!
//! - [`presets`]: the catalog of well-known IRSA workloads (Cluster Autoscaler, EBS/EFS CSI
//!   drivers, …) with their sourced IAM policies.
//! - [`spec`]: the spec as the user wrote it (irsa.yaml or an eksctl `ClusterConfig`), with
//!   file:line:col for every error.
//! - [`desired`]: the resolved desired state (presets expanded, names, ARNs and trust policies
//!   decided) that plan and render work from.
//! - [`identity`]: the identity mechanisms (IRSA, EKS Pod Identity) behind one seam: trust
//!   policies, service-account metadata, association options.
//! - [`list`]: `irsa list`'s rows, one per linked service account (IRSA, Pod Identity or both).
//! - [`render`]: the files `irsa render` writes for each binding.
//! - [`plan`], [`verify`], [`doctor`]: what apply changes, whether a binding works, and what is
//!   wrong with one and how to fix it, decided over an observed [`snapshot`].
//! - [`verify_pod_identity`]: the same for an EKS Pod Identity binding (association, role,
//!   trust for the service principal).
//! - [`usage`]: CloudTrail `AssumeRoleWithWebIdentity` events grouped per role and service
//!   account, for `irsa usage`.
//! - [`audit`]: account-wide findings over a `GetAccountAuthorizationDetails` dump.
//! - [`permissions`]: what each irsa command calls (AWS actions, Kubernetes RBAC), as a policy.
//!
//! Nothing here performs network or file I/O; callers hand in text and get data back.

pub mod audit;
pub mod desired;
pub mod doctor;
pub mod identity;
pub mod list;
pub mod migrate;
pub mod permissions;
pub mod plan;
pub mod presets;
pub mod render;
pub mod snapshot;
pub mod spec;
pub mod steps;
pub mod text;
pub mod usage;
pub mod verify;
pub mod verify_pod_identity;
