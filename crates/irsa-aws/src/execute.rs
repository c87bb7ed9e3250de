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

use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_eks::types::{AddonStatus, ResolveConflicts};
use aws_sdk_iam::types::Tag;
use futures_util::future::try_join_all;
use irsa_core::snapshot::Tags;
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
    let iam = &clients.iam;
    match step {
        Step::CreateOidcProvider {
            url,
            client_ids,
            thumbprints,
            tags,
        } => {
            let url = if url.starts_with("https://") {
                url.clone()
            } else {
                format!("https://{url}")
            };
            let call = iam
                .create_open_id_connect_provider()
                .url(&url)
                .set_client_id_list(Some(client_ids.clone()))
                .set_thumbprint_list(Some(thumbprints.clone()))
                .set_tags(iam_tags(tags, "iam:CreateOpenIDConnectProvider", &url)?);
            call.send().await.map_err(|e| {
                AwsError::from_sdk("iam:CreateOpenIDConnectProvider", url.as_str(), e)
            })?;
        }
        Step::AddOidcClientId {
            provider_arn,
            client_id,
        } => {
            retry_consistency(clients, progress, is_no_such_entity, || async {
                iam.add_client_id_to_open_id_connect_provider()
                    .open_id_connect_provider_arn(provider_arn)
                    .client_id(client_id)
                    .send()
                    .await
                    .map_err(|e| {
                        AwsError::from_sdk(
                            "iam:AddClientIDToOpenIDConnectProvider",
                            provider_arn.as_str(),
                            e,
                        )
                    })
            })
            .await?;
        }
        Step::DeleteOidcProvider { provider_arn } => {
            let result = iam
                .delete_open_id_connect_provider()
                .open_id_connect_provider_arn(provider_arn)
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk("iam:DeleteOpenIDConnectProvider", provider_arn.as_str(), e)
                });
            gone_is_fine(result)?;
        }
        Step::CreatePolicy {
            name,
            path,
            document,
            tags,
        } => {
            let call = iam
                .create_policy()
                .policy_name(name)
                .path(path)
                .policy_document(document.to_string())
                .set_tags(iam_tags(tags, "iam:CreatePolicy", name)?);
            call.send()
                .await
                .map_err(|e| AwsError::from_sdk("iam:CreatePolicy", name.as_str(), e))?;
        }
        Step::CreatePolicyVersion {
            policy_arn,
            document,
            prune,
        } => {
            if let Some(version) = prune {
                delete_policy_version(clients, policy_arn, version).await?;
            }
            retry_consistency(clients, progress, is_no_such_entity, || async {
                iam.create_policy_version()
                    .policy_arn(policy_arn)
                    .policy_document(document.to_string())
                    .set_as_default(true)
                    .send()
                    .await
                    .map_err(|e| {
                        AwsError::from_sdk("iam:CreatePolicyVersion", policy_arn.as_str(), e)
                    })
            })
            .await?;
        }
        Step::TagPolicy { policy_arn, tags } => {
            let tags = iam_tags(tags, "iam:TagPolicy", policy_arn)?;
            retry_consistency(clients, progress, is_no_such_entity, || async {
                iam.tag_policy()
                    .policy_arn(policy_arn)
                    .set_tags(tags.clone())
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("iam:TagPolicy", policy_arn.as_str(), e))
            })
            .await?;
        }
        Step::DeletePolicy {
            policy_arn,
            non_default_versions,
        } => {
            try_join_all(
                non_default_versions
                    .iter()
                    .map(|version| delete_policy_version(clients, policy_arn, version)),
            )
            .await?;
            let result = iam
                .delete_policy()
                .policy_arn(policy_arn)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("iam:DeletePolicy", policy_arn.as_str(), e));
            gone_is_fine(result)?;
        }
        Step::CreateRole {
            name,
            path,
            trust_policy,
            permissions_boundary,
            tags,
        } => {
            let tags = iam_tags(tags, "iam:CreateRole", name)?;
            retry_consistency(clients, progress, is_invalid_principal, || async {
                iam.create_role()
                    .role_name(name)
                    .path(path)
                    .assume_role_policy_document(trust_policy.to_string())
                    .set_permissions_boundary(permissions_boundary.clone())
                    .set_tags(tags.clone())
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("iam:CreateRole", name.as_str(), e))
            })
            .await?;
        }
        Step::UpdateTrustPolicy {
            role_name,
            trust_policy,
        } => {
            retry_consistency(
                clients,
                progress,
                |e| is_no_such_entity(e) || is_invalid_principal(e),
                || async {
                    iam.update_assume_role_policy()
                        .role_name(role_name)
                        .policy_document(trust_policy.to_string())
                        .send()
                        .await
                        .map_err(|e| {
                            AwsError::from_sdk("iam:UpdateAssumeRolePolicy", role_name.as_str(), e)
                        })
                },
            )
            .await?;
        }
        Step::PutPermissionsBoundary {
            role_name,
            boundary_arn,
        } => {
            retry_consistency(clients, progress, is_no_such_entity, || async {
                iam.put_role_permissions_boundary()
                    .role_name(role_name)
                    .permissions_boundary(boundary_arn)
                    .send()
                    .await
                    .map_err(|e| {
                        AwsError::from_sdk("iam:PutRolePermissionsBoundary", role_name.as_str(), e)
                    })
            })
            .await?;
        }
        Step::DeletePermissionsBoundary { role_name } => {
            let result = iam
                .delete_role_permissions_boundary()
                .role_name(role_name)
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk("iam:DeleteRolePermissionsBoundary", role_name.as_str(), e)
                });
            gone_is_fine(result)?;
        }
        Step::TagRole { role_name, tags } => {
            let tags = iam_tags(tags, "iam:TagRole", role_name)?;
            retry_consistency(clients, progress, is_no_such_entity, || async {
                iam.tag_role()
                    .role_name(role_name)
                    .set_tags(tags.clone())
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("iam:TagRole", role_name.as_str(), e))
            })
            .await?;
        }
        Step::AttachRolePolicy {
            role_name,
            policy_arn,
        } => {
            let resource = format!("{role_name} {policy_arn}");
            retry_consistency(clients, progress, is_no_such_entity, || async {
                iam.attach_role_policy()
                    .role_name(role_name)
                    .policy_arn(policy_arn)
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("iam:AttachRolePolicy", resource.as_str(), e))
            })
            .await?;
        }
        Step::DetachRolePolicy {
            role_name,
            policy_arn,
        } => {
            let result = iam
                .detach_role_policy()
                .role_name(role_name)
                .policy_arn(policy_arn)
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk(
                        "iam:DetachRolePolicy",
                        format!("{role_name} {policy_arn}"),
                        e,
                    )
                });
            gone_is_fine(result)?;
        }
        Step::DeleteRolePolicy {
            role_name,
            policy_name,
        } => {
            let result = iam
                .delete_role_policy()
                .role_name(role_name)
                .policy_name(policy_name)
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk(
                        "iam:DeleteRolePolicy",
                        format!("{role_name} {policy_name}"),
                        e,
                    )
                });
            gone_is_fine(result)?;
        }
        Step::DeleteRole { role_name } => {
            let result = iam
                .delete_role()
                .role_name(role_name)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("iam:DeleteRole", role_name.as_str(), e));
            gone_is_fine(result)?;
        }
        Step::CreateAddon {
            cluster,
            name,
            role_arn,
            tags,
        } => {
            let resource = format!("{cluster}/{name}");
            let tags = (!tags.is_empty())
                .then(|| tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
            let result = retry_consistency(clients, progress, is_role_not_ready, || async {
                clients
                    .eks
                    .create_addon()
                    .cluster_name(cluster)
                    .addon_name(name)
                    .service_account_role_arn(role_arn)
                    .set_tags(tags.clone())
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
            wait_active(clients, cluster, name, progress).await?;
        }
        Step::UpdateAddon {
            cluster,
            name,
            role_arn,
        } => {
            let resource = format!("{cluster}/{name}");
            retry_consistency(clients, progress, is_role_not_ready, || async {
                clients
                    .eks
                    .update_addon()
                    .cluster_name(cluster)
                    .addon_name(name)
                    .service_account_role_arn(role_arn)
                    .resolve_conflicts(ResolveConflicts::Preserve)
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("eks:UpdateAddon", resource.as_str(), e))
            })
            .await?;
            wait_active(clients, cluster, name, progress).await?;
        }
        Step::DeleteAddon { cluster, name } => {
            let result = clients
                .eks
                .delete_addon()
                .cluster_name(cluster)
                .addon_name(name)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("eks:DeleteAddon", format!("{cluster}/{name}"), e));
            gone_is_fine(result)?;
            wait_gone(clients, cluster, name, progress).await?;
        }
        Step::CreateNamespace { .. }
        | Step::ApplyServiceAccount { .. }
        | Step::DeleteServiceAccount { .. }
        | Step::WriteFile { .. } => {
            return Err(AwsError::new(
                ErrorKind::NotAnAwsStep,
                "execute",
                step_name(step),
                "not an AWS step",
            ));
        }
    }
    Ok(())
}

fn step_name(step: &Step) -> String {
    serde_json::to_value(step)
        .ok()
        .and_then(|v| v["step"].as_str().map(str::to_string))
        .unwrap_or_default()
}

fn iam_tags(
    tags: &Tags,
    operation: &'static str,
    resource: &str,
) -> Result<Option<Vec<Tag>>, AwsError> {
    if tags.is_empty() {
        return Ok(None);
    }
    tags.iter()
        .map(|(k, v)| {
            Tag::builder().key(k).value(v).build().map_err(|e| {
                AwsError::new(
                    ErrorKind::Other,
                    operation,
                    resource,
                    format!("bad tag {k}={v}: {e}"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

async fn delete_policy_version(
    clients: &Clients,
    policy_arn: &str,
    version: &str,
) -> Result<(), AwsError> {
    let result = clients
        .iam
        .delete_policy_version()
        .policy_arn(policy_arn)
        .version_id(version)
        .send()
        .await
        .map_err(|e| {
            AwsError::from_sdk(
                "iam:DeletePolicyVersion",
                format!("{policy_arn} {version}"),
                e,
            )
        });
    gone_is_fine(result)
}

/// Deletes and detaches succeed when the thing is already gone.
fn gone_is_fine<T>(result: Result<T, AwsError>) -> Result<(), AwsError> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e),
    }
}

fn is_no_such_entity(e: &AwsError) -> bool {
    e.code.as_deref() == Some("NoSuchEntity")
}

/// IAM refuses a trust policy naming an OIDC provider it does not see yet.
fn is_invalid_principal(e: &AwsError) -> bool {
    e.code.as_deref() == Some("MalformedPolicyDocument")
        && e.message.to_ascii_lowercase().contains("principal")
}

/// EKS refuses a role it cannot see or assume yet.
fn is_role_not_ready(e: &AwsError) -> bool {
    e.code.as_deref() == Some("InvalidParameterException")
        && e.message.to_ascii_lowercase().contains("role")
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

/// Polls DescribeAddon until the add-on is ACTIVE (see the module doc).
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
