//! The IAM steps: OIDC providers, customer-managed policies and their versions, roles, their
//! trust, boundary, tags and attachments.

use aws_sdk_iam::types::Tag;
use futures_util::future::try_join_all;
use irsa_core::snapshot::Tags;
use irsa_core::steps::Step;

use super::{Progress, gone_is_fine, retry_consistency};
use crate::clients::Clients;
use crate::error::{AwsError, ErrorKind};

/// Executes `step` when it is an IAM step (`None` otherwise).
pub(super) async fn execute(
    clients: &Clients,
    step: &Step,
    progress: Progress<'_>,
) -> Option<Result<(), AwsError>> {
    let iam = &clients.iam;
    let result: Result<bool, AwsError> = async {
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
                        AwsError::from_sdk(
                            "iam:DeleteOpenIDConnectProvider",
                            provider_arn.as_str(),
                            e,
                        )
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
                                AwsError::from_sdk(
                                    "iam:UpdateAssumeRolePolicy",
                                    role_name.as_str(),
                                    e,
                                )
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
                            AwsError::from_sdk(
                                "iam:PutRolePermissionsBoundary",
                                role_name.as_str(),
                                e,
                            )
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
                        AwsError::from_sdk(
                            "iam:DeleteRolePermissionsBoundary",
                            role_name.as_str(),
                            e,
                        )
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
                        .map_err(|e| {
                            AwsError::from_sdk("iam:AttachRolePolicy", resource.as_str(), e)
                        })
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
            _ => return Ok(false),
        }
        Ok(true)
    }
    .await;
    match result {
        Ok(false) => None,
        Ok(true) => Some(Ok(())),
        Err(e) => Some(Err(e)),
    }
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

fn is_no_such_entity(e: &AwsError) -> bool {
    e.code.as_deref() == Some("NoSuchEntity")
}

/// IAM refuses a trust policy naming an OIDC provider it does not see yet.
fn is_invalid_principal(e: &AwsError) -> bool {
    e.code.as_deref() == Some("MalformedPolicyDocument")
        && e.message.to_ascii_lowercase().contains("principal")
}
