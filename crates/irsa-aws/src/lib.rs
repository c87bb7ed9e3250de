//! irsa's AWS adapter: loads the standard AWS configuration (credential chain, profiles,
//! endpoint overrides) and talks to IAM, STS, EKS, Auto Scaling and CloudTrail. It only does I/O:
//! [`observe`] fills an
//! `irsa_core` [`Snapshot`](irsa_core::snapshot::Snapshot), [`execute`] carries out one planned
//! [`Step`](irsa_core::steps::Step); every decision stays in the pure core.
//!
//! - [`clients`]: the SDK clients built from one `SdkConfig`, with retry settings and the
//!   call-counting interceptor;
//! - [`stats`]: counts of API calls (all, and mutating) for `irsa apply --stats`;
//! - [`observe`]: the concurrent read of everything a plan needs;
//! - [`pod_identity`]: the cluster's EKS Pod Identity associations (list, then describe);
//! - [`role_trusts`]: every role's trust policy (ListRoles), for `irsa destroy`;
//! - [`doctor_reads`]: inline policy documents and the autoscaler's Auto Scaling groups, for
//!   `irsa doctor`;
//! - [`account`]: the account-wide read `irsa audit` needs (GetAccountAuthorizationDetails,
//!   OIDC providers, clusters, CloudTrail);
//! - [`execute`]: the IAM and EKS steps, with add-on waits and IAM eventual-consistency retries;
//! - [`web_identity`]: `sts:AssumeRoleWithWebIdentity` with a service-account token, retried
//!   through IAM's eventual consistency; credentials redacted in `Debug`;
//! - [`pod_identity_proof`]: `eks-auth:AssumeRoleForPodIdentity` with a Pod Identity token, as
//!   the agent calls it;
//! - [`as_role`]: calls made with those temporary credentials (`GetCallerIdentity`, a few
//!   read-only permission checks);
//! - [`cloudtrail_events`]: `AssumeRoleWithWebIdentity` events from CloudTrail's event history
//!   and the roles' RoleLastUsed, for `irsa usage`;
//! - [`simulate`]: `iam:SimulatePrincipalPolicy` of a plan's calls for the caller, before the
//!   first change;
//! - [`error`]: errors with the operation, the resource and AWS's error code and message.

pub mod account;
pub mod as_role;
mod authorization_details;
pub mod clients;
pub mod cloudtrail_events;
pub mod doctor_reads;
pub mod error;
pub mod execute;
pub mod observe;
pub mod pod_identity;
pub mod pod_identity_proof;
pub mod role_trusts;
pub mod roles_read;
pub mod simulate;
pub mod stats;
mod trails;
pub mod web_identity;

pub use account::{AccountObservation, AccountRequest, observe_account};
pub use as_role::{CallerIdentity, caller_identity_with, try_read_action};
pub use clients::{Clients, DEFAULT_MAX_CONCURRENCY, Options};
pub use cloudtrail_events::{UsageObservation, UsageRequest, observe_usage};
pub use error::{AwsError, ErrorKind};
pub use execute::execute;
pub use observe::{ObserveRequest, caller_identity, observe, observe_policies, observe_roles};
pub use pod_identity_proof::{PodIdentityGrant, assume_role_for_pod_identity};
pub use role_trusts::list_role_trusts;
pub use roles_read::{ReadVia, RolesRead, observe_roles_bulk};
pub use stats::CallStats;
pub use web_identity::{TemporaryCredentials, assume_role_with_web_identity};

/// Loads the shared AWS configuration from the standard chain (environment, profiles, SSO,
/// instance metadata), honouring `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` overrides
/// (the SDK clients read the service-specific ones from this config when they are built).
pub async fn load_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

/// [`load_config`] with the region set explicitly (the spec's region wins over the profile's).
pub async fn load_config_for_region(region: &str) -> aws_config::SdkConfig {
    load_config_for(region, None).await
}

/// [`load_config_for_region`] with a named profile (`--profile`, as the aws CLI's), which wins
/// over `AWS_PROFILE`.
pub async fn load_config_for(region: &str, profile: Option<&str>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()));
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    loader.load().await
}
