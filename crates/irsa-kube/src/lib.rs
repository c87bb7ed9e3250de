//! irsa's Kubernetes adapter: I/O only, no policy logic.
//!
//! - [`client`]: a [`KubeClient`] from a kubeconfig (standard `KUBECONFIG` / in-cluster
//!   inference) or a URL.
//! - [`observe()`]: which namespaces and service accounts exist, for the snapshot.
//! - [`execute()`]: the Kubernetes steps of a plan (create namespace, create or merge-patch a
//!   service account, delete a service account), idempotently.
//! - [`workloads`]: the workloads whose pods use a service account, and whether those pods carry
//!   the credentials the pod-identity webhook injects (they are only injected at pod creation),
//!   plus the rollout restart that fixes it.
//!
//! TLS: kube is built with rustls on aws-lc-rs, the provider the AWS SDK uses, so only one
//! rustls crypto provider is compiled into irsa and rustls picks it without configuration.

pub mod client;
pub mod error;
pub mod execute;
pub mod observe;
pub mod workloads;

pub use client::KubeClient;
pub use error::KubeError;
pub use execute::execute;
pub use observe::{KubeObserveRequest, observe};
pub use workloads::{Workload, restart_deployment, restart_workload, workloads_using};
