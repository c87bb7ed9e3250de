//! irsa's AWS adapter (being written): loads the standard AWS configuration (credential chain,
//! profiles, endpoint overrides) and talks to IAM, STS and EKS. It only does I/O: observing
//! into `irsa_core` snapshot data and executing planned actions; every decision stays pure.

/// Loads the shared AWS configuration from the standard chain (environment, profiles, SSO,
/// instance metadata), honouring `AWS_ENDPOINT_URL*` overrides.
pub async fn load_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await
}
