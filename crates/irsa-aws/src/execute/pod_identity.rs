//! The EKS Pod Identity association steps. A create that answers 409 ResourceInUseException
//! (an association for that service account exists: made by a run killed before it could see
//! the answer, or by someone since the plan was made) is converged rather than left stuck: the
//! association is found (ListPodIdentityAssociations by namespace and service account), read,
//! and, when it carries irsa's `irsa.dev/managed-by` tag, updated to the step's values; one of
//! another owner fails the step as [`ErrorKind::AlreadyExists`], so the next plan shows it as a
//! conflict. On update, "no target role" and "no session policy" are sent as empty strings, which
//! EKS takes as a removal.

use irsa_core::desired::is_owned;
use irsa_core::snapshot::Tags;
use irsa_core::steps::Step;

use super::eks::{eks_tags, is_role_not_ready};
use super::{Progress, gone_is_fine, retry_consistency};
use crate::clients::Clients;
use crate::error::{AwsError, ErrorKind};
use crate::pod_identity::{AssociationScope, read_associations};

/// What an association should hold.
pub(super) struct Wanted<'a> {
    pub role_arn: &'a str,
    pub target_role_arn: Option<&'a str>,
    pub disable_session_tags: bool,
    pub policy: Option<&'a str>,
}

/// CreatePodIdentityAssociation, converging a duplicate (see the module doc).
pub(super) async fn create(
    clients: &Clients,
    step: &Step,
    progress: Progress<'_>,
) -> Result<(), AwsError> {
    let Step::CreatePodIdentityAssociation {
        cluster,
        namespace,
        service_account,
        role_arn,
        target_role_arn,
        disable_session_tags,
        policy,
        tags,
    } = step
    else {
        unreachable!("only called for CreatePodIdentityAssociation");
    };
    let resource = format!("{cluster}/{namespace}/{service_account}");
    let result = retry_consistency(clients, progress, is_role_not_ready, || async {
        clients
            .eks
            .create_pod_identity_association()
            .cluster_name(cluster)
            .namespace(namespace)
            .service_account(service_account)
            .role_arn(role_arn)
            .set_target_role_arn(target_role_arn.clone())
            .disable_session_tags(*disable_session_tags)
            .set_policy(policy.clone())
            .set_tags(eks_tags(tags))
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk("eks:CreatePodIdentityAssociation", resource.as_str(), e)
            })
    })
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.code.as_deref() == Some("ResourceInUseException") => {
            progress(&format!(
                "association for {namespace}/{service_account} exists already: converging it"
            ));
            let wanted = Wanted {
                role_arn,
                target_role_arn: target_role_arn.as_deref(),
                disable_session_tags: *disable_session_tags,
                policy: policy.as_deref(),
            };
            converge(
                clients,
                cluster,
                namespace,
                service_account,
                &wanted,
                tags,
                progress,
            )
            .await
            .map_err(|converge_error| match converge_error.kind {
                ErrorKind::AlreadyExists => e.with_kind(ErrorKind::AlreadyExists),
                _ => converge_error,
            })
        }
        Err(e) => Err(e),
    }
}

/// Reads the existing association of `namespace/service_account` and updates it when irsa owns
/// it; fails with [`ErrorKind::AlreadyExists`] when someone else does.
async fn converge(
    clients: &Clients,
    cluster: &str,
    namespace: &str,
    service_account: &str,
    wanted: &Wanted<'_>,
    tags: &Tags,
    progress: Progress<'_>,
) -> Result<(), AwsError> {
    let resource = format!("{cluster}/{namespace}/{service_account}");
    let scope =
        AssociationScope::Subjects([(namespace.to_string(), service_account.to_string())].into());
    let Some(existing) = read_associations(clients, cluster, &scope).await?.pop() else {
        return Err(AwsError::new(
            ErrorKind::InvalidResponse,
            "eks:ListPodIdentityAssociations",
            resource,
            "EKS answered that the association exists but lists none: run again",
        ));
    };
    if !is_owned(&existing.tags) || existing.owner_arn.is_some() {
        return Err(AwsError::new(
            ErrorKind::AlreadyExists,
            "eks:CreatePodIdentityAssociation",
            resource,
            format!(
                "association {} exists and is not irsa's",
                existing.association_id
            ),
        ));
    }
    update(clients, cluster, &existing.association_id, wanted, progress).await?;
    tag(clients, &existing.association_arn, tags).await
}

/// UpdatePodIdentityAssociation to `wanted`.
pub(super) async fn update(
    clients: &Clients,
    cluster: &str,
    association_id: &str,
    wanted: &Wanted<'_>,
    progress: Progress<'_>,
) -> Result<(), AwsError> {
    let resource = format!("{cluster}/{association_id}");
    retry_consistency(clients, progress, is_role_not_ready, || async {
        clients
            .eks
            .update_pod_identity_association()
            .cluster_name(cluster)
            .association_id(association_id)
            .role_arn(wanted.role_arn)
            .target_role_arn(wanted.target_role_arn.unwrap_or_default())
            .disable_session_tags(wanted.disable_session_tags)
            .policy(wanted.policy.unwrap_or_default())
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk("eks:UpdatePodIdentityAssociation", resource.as_str(), e)
            })
    })
    .await
    .map(|_| ())
}

/// TagResource on an association.
pub(super) async fn tag(
    clients: &Clients,
    association_arn: &str,
    tags: &Tags,
) -> Result<(), AwsError> {
    clients
        .eks
        .tag_resource()
        .resource_arn(association_arn)
        .set_tags(eks_tags(tags))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("eks:TagResource", association_arn, e))
        .map(|_| ())
}

/// DeletePodIdentityAssociation; one already gone is fine.
pub(super) async fn delete(
    clients: &Clients,
    cluster: &str,
    association_id: &str,
) -> Result<(), AwsError> {
    let result = clients
        .eks
        .delete_pod_identity_association()
        .cluster_name(cluster)
        .association_id(association_id)
        .send()
        .await
        .map_err(|e| {
            AwsError::from_sdk(
                "eks:DeletePodIdentityAssociation",
                format!("{cluster}/{association_id}"),
                e,
            )
        });
    gone_is_fine(result)
}
