//! Executing one planned IAM or EKS [`Step`]: one API call each (two for a policy version with
//! pruning, one per version plus one for a policy deletion), no decisions beyond these rules:
//!
//! - Creates that find the resource already there (EntityAlreadyExists, an add-on's
//!   ResourceInUseException) fail with [`ErrorKind::AlreadyExists`] so the caller can re-observe
//!   and re-plan; deletes and detaches of something already gone (NoSuchEntity,
//!   ResourceNotFoundException) succeed, so an interrupted destroy can be run again.
//! - IAM is eventually consistent: a role, policy or OIDC provider created a moment ago may not be
//!   visible to the next call yet. Calls that name such a resource are retried with backoff,
//!   within [`Options::consistency_timeout`](crate::Options), when they fail that way:
//!   NoSuchEntity on attach/tag/update calls, MalformedPolicyDocument "invalid principal" on
//!   CreateRole/UpdateAssumeRolePolicy (the trust names a provider just created), and EKS's
//!   InvalidParameterException about the role on CreateAddon/UpdateAddon.
//! - Add-on creates and updates wait for ACTIVE, polling DescribeAddon with backoff (200 ms
//!   growing to 5 s) within [`Options::addon_timeout`](crate::Options); CREATE_FAILED,
//!   UPDATE_FAILED and DEGRADED end the wait with the add-on's health issues. `progress` hears
//!   each status seen while waiting, and each consistency retry.
//! - CreateAddon leaves `resolveConflicts` unset (NONE: never overwrite what someone else
//!   installed); UpdateAddon sends PRESERVE (only the role changes, the cluster's configuration
//!   stays as it is).

mod eks;
mod iam;
mod pod_identity;

use std::future::Future;
use std::time::{Duration, Instant};

use irsa_core::steps::Step;

use crate::clients::Clients;
use crate::error::{AwsError, ErrorKind};

/// Progress messages while a step waits.
pub type Progress<'a> = &'a (dyn Fn(&str) + Sync);

/// Executes one IAM or EKS step (see the module doc). Kubernetes and file steps are refused
/// with [`ErrorKind::NotAnAwsStep`].
pub async fn execute(
    clients: &Clients,
    step: &Step,
    progress: Progress<'_>,
) -> Result<(), AwsError> {
    if let Some(result) = iam::execute(clients, step, progress).await {
        return result;
    }
    if let Some(result) = eks::execute(clients, step, progress).await {
        return result;
    }
    Err(AwsError::new(
        ErrorKind::NotAnAwsStep,
        "execute",
        step_name(step),
        "not an AWS step",
    ))
}

fn step_name(step: &Step) -> String {
    serde_json::to_value(step)
        .ok()
        .and_then(|v| v["step"].as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Deletes and detaches succeed when the thing is already gone.
fn gone_is_fine<T>(result: Result<T, AwsError>) -> Result<(), AwsError> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Retries `call` while it fails with an error `retryable` accepts, with backoff, until
/// [`Options::consistency_timeout`](crate::Options) has passed.
pub(crate) async fn retry_consistency<T, F, Fut>(
    clients: &Clients,
    progress: Progress<'_>,
    retryable: impl Fn(&AwsError) -> bool,
    mut call: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    let deadline = Instant::now() + clients.options().consistency_timeout;
    let mut delay = Duration::from_millis(200);
    loop {
        match call().await {
            Err(e) if retryable(&e) && Instant::now() + delay <= deadline => {
                progress(&format!(
                    "{} {}: {}; not visible yet? retrying in {:.1}s",
                    e.operation,
                    e.resource,
                    e.code.as_deref().unwrap_or("error"),
                    delay.as_secs_f64()
                ));
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(3));
            }
            result => return result,
        }
    }
}
