//! irsa's Kubernetes adapter: I/O only, no policy logic.
//!
//! - [`client`]: a [`KubeClient`] from a kubeconfig (standard `KUBECONFIG` / in-cluster
//!   inference) or a URL.
//! - [`eks_context`]: which EKS cluster a kubeconfig context names (its ARN, or its
//!   `aws eks get-token` / `aws-iam-authenticator` credentials), for commands without `--cluster`.
//! - [`observe()`]: which namespaces and service accounts exist, for the snapshot.
//! - [`execute()`]: the Kubernetes steps of a plan (create namespace, create or merge-patch a
//!   service account, delete a service account), idempotently.
//! - [`workloads`]: the workloads whose pods use a service account, and whether those pods carry
//!   the credentials the pod-identity webhook injects (they are only injected at pod creation),
//!   plus the rollout restart that fixes it.
//! - [`service_accounts`]: every service account with an `eks.amazonaws.com/role-arn`
//!   annotation (`irsa list`).
//! - [`pods`]: the live pods of a service account, container by container, with the injected
//!   variables and the workload owning each pod.
//! - [`token`]: short-lived service-account tokens from the TokenRequest API (redacted in
//!   `Debug`, never in errors).
//! - [`oidc`]: the issuer's discovery document and JWKS, read through the API server.
//! - [`issuer_tls`]: the SHA-1 thumbprint of the issuer's TLS chain (for the OIDC provider).
//! - [`proof_pod`]: the guide's `aws sts get-caller-identity` test pod: run, wait, log, delete.
//!
//! TLS: kube is built with rustls on aws-lc-rs, the provider the AWS SDK uses, so only one
//! rustls crypto provider is compiled into irsa and rustls picks it without configuration.

pub mod client;
pub mod eks_context;
pub mod error;
pub mod execute;
pub mod issuer_tls;
pub mod observe;
pub mod oidc;
pub mod pods;
pub mod proof_pod;
pub mod service_accounts;
pub mod token;
pub mod workloads;

pub use client::KubeClient;
pub use eks_context::{EksContext, FoundIn, NotEks, eks_context};
pub use error::KubeError;
pub use execute::execute;
pub use observe::{KubeObserveRequest, observe};
pub use oidc::{fetch_jwks, fetch_oidc_discovery};
pub use pods::{ContainerCredentials, PodCredentials, pods_of};
pub use proof_pod::{PodPhase, delete_pod, pod_log, run_pod, wait_pod_finished};
pub use service_accounts::list_role_service_accounts;
pub use token::{ServiceAccountToken, request_token};
pub use workloads::{
    Workload, daemon_set_status, deployment_service_account, restart_deployment, restart_workload,
    workloads_using,
};
