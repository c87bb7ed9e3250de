//! Test servers for irsa, all on 127.0.0.1 (nothing reaches beyond loopback):
//! - [`moto`]: starts the moto server (IAM, STS, Auto Scaling, EKS clusters, CloudTrail trails, …)
//!   from a Python virtual environment of its own, installing moto into it on first use;
//! - [`fake_eks`]: a FAKE of the EKS API parts moto lacks (add-ons, Pod Identity associations,
//!   the add-on catalog) that forwards every other EKS request to moto;
//! - [`fake_eks_auth`]: a FAKE of the EKS Auth API (AssumeRoleForPodIdentity: the token checked
//!   against the cluster issuer, the association, the role's trust, then moto's STS AssumeRole
//!   with EKS Pod Identity's session tags), its calls recorded in the fake CloudTrail;
//! - [`enforce`]: IAM enforcement in the fakes for `irsa-sandbox --enforce-iam` (the caller's
//!   access key → its principal's policies, decided by the crate's own small evaluator);
//! - [`moto_iam`]: what the fakes ask moto's IAM and STS (GetRole, AssumeRole);
//! - [`fake_cloudtrail`]: a FAKE CloudTrail event history: STS in front of moto, recording every
//!   AssumeRoleWithWebIdentity (and, through its `EventLog` port, the fake EKS Auth's calls), and
//!   LookupEvents over the recorded events (moto lacks it);
//! - [`fake_kube`]: a FAKE Kubernetes API server (namespaces, service accounts, pods,
//!   deployments) following the real API's JSON, status codes and resourceVersion semantics,
//!   with EKS's pod mutation for IRSA and Pod Identity, runnable aws-cli test pods, and the
//!   discovery, watch, tables and strategic merge patch the real kubectl needs;
//! - [`latency`]: a proxy that adds a fixed delay in front of any of them, for benchmarks that
//!   need a networked peer's shape; [`forward`] is the request forwarding they share, and
//!   [`aws_wire`] the AWS wire formats (restJson1, the query protocol) they speak;
//! - [`server`]: how they run (a router on a free loopback port, on a thread of its own);
//! - [`sandbox`] puts them together, with [`seed`] (the cluster's tagged node group in moto) and
//!   [`addon_objects`] (what the EKS add-ons install in the cluster).
//!
//! Fakes are named as fakes: they implement only what irsa uses, faithfully.
pub mod addon_objects;
pub mod aws_wire;
/// Also for the binary's end-to-end tests, which set up clusters as other tools leave them.
pub mod boto3;
pub mod counting;
pub mod enforce;
pub mod fake_cloudtrail;
pub mod fake_eks;
pub mod fake_eks_auth;
pub mod fake_kube;
pub mod forward;
pub mod latency;
pub mod moto;
pub mod moto_iam;
pub mod sandbox;
pub mod seed;
pub mod server;
