//! The EKS steps: add-ons (created and updated with their identity, then waited for until
//! ACTIVE, or until gone after a delete) and EKS Pod Identity associations (a duplicate create,
//! 409 ResourceInUseException, is converged: the association is read and, when it carries
//! irsa's tag, updated to the step's values; otherwise the step fails as a conflict).

use std::time::{Duration, Instant};

use aws_sdk_eks::types::{AddonPodIdentityAssociations, AddonStatus, ResolveConflicts};
use irsa_core::snapshot::Tags;
use irsa_core::steps::{AddonIdentity, AddonSettings, Step};

use super::{Progress, gone_is_fine, retry_consistency};
use crate::clients::Clients;
use crate::error::{AwsError, ErrorKind};

/// Executes `step` when it is an EKS step (`None` otherwise).
pub(super) async fn execute(
    clients: &Clients,
    step: &Step,
    progress: Progress<'_>,
) -> Option<Result<(), AwsError>> {
    Some(match step {
        Step::CreateAddon {
            cluster,
            name,
            identity,
            tags,
            settings,
        } => {
            let addon = AddonCall {
                cluster,
                name,
                identity,
                settings,
            };
            create_addon(clients, &addon, tags, progress).await
        }
        Step::UpdateAddon {
            cluster,
            name,
            identity,
            settings,
        } => {
            let addon = AddonCall {
                cluster,
                name,
                identity,
                settings,
            };
            update_addon(clients, &addon, progress).await
        }
        Step::WaitForAddon { cluster, name } => wait_active(clients, cluster, name, progress).await,
        Step::DeleteAddon { cluster, name } => delete_addon(clients, cluster, name, progress).await,
        Step::CreatePodIdentityAssociation { .. } => {
            super::pod_identity::create(clients, step, progress).await
        }
        Step::UpdatePodIdentityAssociation {
            cluster,
            association_id,
            role_arn,
            target_role_arn,
            disable_session_tags,
            policy,
        } => {
            let wanted = super::pod_identity::Wanted {
                role_arn,
                target_role_arn: target_role_arn.as_deref(),
                disable_session_tags: *disable_session_tags,
                policy: policy.as_deref(),
            };
            super::pod_identity::update(clients, cluster, association_id, &wanted, progress).await
        }
        Step::TagPodIdentityAssociation {
            association_arn,
            tags,
        } => super::pod_identity::tag(clients, association_arn, tags).await,
        Step::DeletePodIdentityAssociation {
            cluster,
            association_id,
        } => super::pod_identity::delete(clients, cluster, association_id).await,
        _ => return None,
    })
}

/// EKS tags as the SDK takes them (`None` for none).
pub(super) fn eks_tags(tags: &Tags) -> Option<std::collections::HashMap<String, String>> {
    (!tags.is_empty()).then(|| tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// The add-on's `podIdentityAssociations` for `identity` (`None`: leave them as they are).
fn addon_associations(
    identity: &AddonIdentity,
) -> Result<Option<Vec<AddonPodIdentityAssociations>>, AwsError> {
    let AddonIdentity::PodIdentity { associations } = identity else {
        return Ok(None);
    };
    associations
        .iter()
        .map(|a| {
            AddonPodIdentityAssociations::builder()
                .service_account(&a.service_account)
                .role_arn(&a.role_arn)
                .build()
                .map_err(|e| {
                    AwsError::new(
                        ErrorKind::Other,
                        "eks:CreateAddon",
                        a.service_account.as_str(),
                        e.to_string(),
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The add-on's `serviceAccountRoleArn` for `identity`.
fn addon_role(identity: &AddonIdentity) -> Option<String> {
    match identity {
        AddonIdentity::ServiceAccountRole { role_arn } => Some(role_arn.clone()),
        AddonIdentity::None | AddonIdentity::PodIdentity { .. } => None,
    }
}

/// What a CreateAddon or UpdateAddon step names: the add-on, its identity and its settings.
struct AddonCall<'a> {
    cluster: &'a str,
    name: &'a str,
    identity: &'a AddonIdentity,
    settings: &'a AddonSettings,
}

/// `resolveConflicts` as the SDK takes it (`None`: EKS's default).
fn resolve_conflicts(settings: &AddonSettings) -> Option<ResolveConflicts> {
    settings
        .resolve_conflicts
        .as_deref()
        .map(ResolveConflicts::from)
}

async fn create_addon(
    clients: &Clients,
    addon: &AddonCall<'_>,
    tags: &Tags,
    progress: Progress<'_>,
) -> Result<(), AwsError> {
    let AddonCall {
        cluster,
        name,
        identity,
        settings,
    } = *addon;
    let resource = format!("{cluster}/{name}");
    let tags = eks_tags(tags);
    let associations = addon_associations(identity)?;
    let result = retry_consistency(clients, progress, is_role_not_ready, || async {
        clients
            .eks
            .create_addon()
            .cluster_name(cluster)
            .addon_name(name)
            .set_service_account_role_arn(addon_role(identity))
            .set_pod_identity_associations(associations.clone())
            .set_tags(tags.clone())
            .set_addon_version(settings.version.clone())
            .set_configuration_values(settings.configuration_values.clone())
            .set_resolve_conflicts(resolve_conflicts(settings))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("eks:CreateAddon", resource.as_str(), e))
    })
    .await;
    match result {
        Err(e) if e.code.as_deref() == Some("ResourceInUseException") => {
            return Err(e.with_kind(ErrorKind::AlreadyExists));
        }
        other => other?,
    };
    wait_active(clients, cluster, name, progress).await
}

async fn update_addon(
    clients: &Clients,
    addon: &AddonCall<'_>,
    progress: Progress<'_>,
) -> Result<(), AwsError> {
    let AddonCall {
        cluster,
        name,
        identity,
        settings,
    } = *addon;
    let resource = format!("{cluster}/{name}");
    let associations = addon_associations(identity)?;
    // Keep what others changed on the add-on unless the spec says otherwise.
    let resolve = resolve_conflicts(settings).unwrap_or(ResolveConflicts::Preserve);
    retry_consistency(clients, progress, is_role_not_ready, || async {
        clients
            .eks
            .update_addon()
            .cluster_name(cluster)
            .addon_name(name)
            .set_service_account_role_arn(addon_role(identity))
            .set_pod_identity_associations(associations.clone())
            .set_addon_version(settings.version.clone())
            .set_configuration_values(settings.configuration_values.clone())
            .resolve_conflicts(resolve.clone())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("eks:UpdateAddon", resource.as_str(), e))
    })
    .await?;
    wait_active(clients, cluster, name, progress).await
}

async fn delete_addon(
    clients: &Clients,
    cluster: &str,
    name: &str,
    progress: Progress<'_>,
) -> Result<(), AwsError> {
    let result = clients
        .eks
        .delete_addon()
        .cluster_name(cluster)
        .addon_name(name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("eks:DeleteAddon", format!("{cluster}/{name}"), e));
    gone_is_fine(result)?;
    wait_gone(clients, cluster, name, progress).await
}

/// EKS refuses a role it cannot see or assume yet.
pub(super) fn is_role_not_ready(e: &AwsError) -> bool {
    e.code.as_deref() == Some("InvalidParameterException")
        && e.message.to_ascii_lowercase().contains("role")
}

/// What one DescribeAddon poll found.
enum Poll {
    Done,
    /// Still waiting, in this status.
    Waiting(String),
}

/// Polls DescribeAddon with backoff (200 ms, ×1.5, at most 5 s) until `check` says done, fails,
/// or the add-on timeout passes (`goal` names what was awaited in the timeout error).
async fn poll_addon(
    clients: &Clients,
    cluster: &str,
    name: &str,
    goal: &str,
    progress: Progress<'_>,
    check: impl Fn(
        Result<aws_sdk_eks::operation::describe_addon::DescribeAddonOutput, AwsError>,
        f64,
    ) -> Result<Poll, AwsError>,
) -> Result<(), AwsError> {
    const OP: &str = "eks:DescribeAddon";
    let resource = format!("{cluster}/{name}");
    let started = Instant::now();
    let deadline = started + clients.options().addon_timeout;
    let mut delay = Duration::from_millis(200);
    loop {
        tokio::time::sleep(delay.min(deadline.saturating_duration_since(Instant::now()))).await;
        let out = clients
            .eks
            .describe_addon()
            .cluster_name(cluster)
            .addon_name(name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OP, resource.as_str(), e));
        let elapsed = started.elapsed().as_secs_f64();
        let status = match check(out, elapsed)? {
            Poll::Done => return Ok(()),
            Poll::Waiting(status) => status,
        };
        progress(&format!("add-on {name}: {status} ({elapsed:.1}s)"));
        if Instant::now() >= deadline {
            return Err(AwsError::new(
                ErrorKind::Timeout,
                OP,
                resource,
                format!(
                    "not {goal} after {:?} (last status {status})",
                    clients.options().addon_timeout
                ),
            ));
        }
        delay = (delay.mul_f64(1.5)).min(Duration::from_secs(5));
    }
}

/// Waits until the add-on is gone (ResourceNotFoundException), so that a destroy is complete when
/// it returns and a following apply sees no half-deleted add-on.
async fn wait_gone(
    clients: &Clients,
    cluster: &str,
    name: &str,
    progress: Progress<'_>,
) -> Result<(), AwsError> {
    poll_addon(
        clients,
        cluster,
        name,
        "deleted",
        progress,
        |out, elapsed| match out {
            Err(e) if e.is_not_found() => {
                progress(&format!("add-on {name}: deleted after {elapsed:.1}s"));
                Ok(Poll::Done)
            }
            Err(e) => Err(e),
            Ok(out) => Ok(Poll::Waiting(
                out.addon()
                    .and_then(|a| a.status())
                    .map_or("UNKNOWN", |s| s.as_str())
                    .to_string(),
            )),
        },
    )
    .await
}

/// Waits until the add-on is ACTIVE; CREATE_FAILED, UPDATE_FAILED and DEGRADED end the wait with
/// the add-on's health issues.
async fn wait_active(
    clients: &Clients,
    cluster: &str,
    name: &str,
    progress: Progress<'_>,
) -> Result<(), AwsError> {
    const OP: &str = "eks:DescribeAddon";
    let resource = format!("{cluster}/{name}");
    poll_addon(
        clients,
        cluster,
        name,
        "ACTIVE",
        progress,
        |out, elapsed| {
            let out = out?;
            let addon = out.addon().ok_or_else(|| {
                AwsError::new(
                    ErrorKind::InvalidResponse,
                    OP,
                    resource.as_str(),
                    "no addon in the answer",
                )
            })?;
            let status = addon
                .status()
                .cloned()
                .unwrap_or(AddonStatus::from("UNKNOWN"));
            match &status {
                AddonStatus::Active => {
                    progress(&format!("add-on {name}: ACTIVE after {elapsed:.1}s"));
                    Ok(Poll::Done)
                }
                AddonStatus::CreateFailed | AddonStatus::UpdateFailed | AddonStatus::Degraded => {
                    let issues: Vec<String> = addon
                        .health()
                        .map(|h| h.issues())
                        .unwrap_or_default()
                        .iter()
                        .map(|i| {
                            let code = i.code().map(|c| c.as_str()).unwrap_or("Unknown");
                            let ids = if i.resource_ids().is_empty() {
                                String::new()
                            } else {
                                format!(" ({})", i.resource_ids().join(", "))
                            };
                            format!("{code}: {}{ids}", i.message().unwrap_or_default())
                        })
                        .collect();
                    let issues = if issues.is_empty() {
                        "no health issues reported".to_string()
                    } else {
                        issues.join("; ")
                    };
                    Err(AwsError {
                        kind: ErrorKind::AddonFailed,
                        operation: OP,
                        resource: resource.clone(),
                        code: Some(status.as_str().to_string()),
                        message: issues,
                    })
                }
                other => Ok(Poll::Waiting(other.as_str().to_string())),
            }
        },
    )
    .await
}
