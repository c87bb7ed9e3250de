//! Test servers for irsa, all on 127.0.0.1 (nothing reaches beyond loopback):
//! - [`moto`]: starts the moto server (IAM, STS, EKS clusters, …) from a Python virtual
//!   environment of its own, installing moto into it on first use;
//! - [`fake_eks`]: a FAKE of the EKS add-on API (moto lacks it) that forwards every other EKS
//!   request to moto;
//! - [`fake_kube`]: a FAKE Kubernetes API server (namespaces, service accounts, pods,
//!   deployments) following the real API's JSON, status codes and resourceVersion semantics.
//!
//! Fakes are named as fakes: they implement only what irsa uses, faithfully.
pub mod fake_cloudtrail;
pub mod fake_eks;
pub mod fake_kube;
pub mod moto;
pub mod query_protocol;
pub mod sandbox;
