//! `eks-auth:AssumeRoleForPodIdentity`, the call the EKS Pod Identity agent makes on a node with
//! a pod's projected token (audience `pods.eks.amazonaws.com`): EKS Auth checks the token,
//! finds the service account's association and returns the role's temporary credentials (the
//! target role's when the association names one). The call is signed with the caller's own
//! credentials, as the agent signs with the node role's. Right after an association or its role
//! was created EKS may not see them yet, so AccessDenied and ResourceNotFound are retried with
//! backoff within [`Options::consistency_timeout`](crate::Options); an invalid or expired token
//! never is. The token and the returned secrets never appear in errors or `Debug` output.

use aws_smithy_types::date_time::Format;

use crate::clients::Clients;
use crate::error::{AwsError, ErrorKind};
use crate::execute::retry_consistency;
use crate::web_identity::TemporaryCredentials;

const OPERATION: &str = "eks-auth:AssumeRoleForPodIdentity";

/// What EKS Auth answered besides the credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodIdentityGrant {
    /// The credentials (redacted in `Debug`); `assumed_role_arn` is EKS Auth's `assumedRoleUser`.
    pub credentials: TemporaryCredentials,
    /// The association EKS used.
    pub association_id: Option<String>,
    /// `namespace/serviceAccount` of the token, as EKS Auth read it.
    pub subject: Option<(String, String)>,
    /// The token's audience as EKS Auth read it.
    pub audience: Option<String>,
}

fn may_be_eventual_consistency(e: &AwsError) -> bool {
    matches!(
        e.code.as_deref(),
        Some("AccessDeniedException" | "ResourceNotFoundException")
    )
}

/// Exchanges a Pod Identity `token` of `cluster` for credentials, as the agent does.
pub async fn assume_role_for_pod_identity(
    clients: &Clients,
    cluster: &str,
    token: &str,
) -> Result<PodIdentityGrant, AwsError> {
    let out = retry_consistency(clients, &|_| {}, may_be_eventual_consistency, || async {
        clients
            .eks_auth
            .assume_role_for_pod_identity()
            .cluster_name(cluster)
            .token(token)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OPERATION, cluster, e))
    })
    .await?;
    let invalid =
        |message: &str| AwsError::new(ErrorKind::InvalidResponse, OPERATION, cluster, message);
    let credentials = out
        .credentials()
        .ok_or_else(|| invalid("no credentials in the answer"))?;
    Ok(PodIdentityGrant {
        credentials: TemporaryCredentials {
            access_key_id: credentials.access_key_id().to_string(),
            secret_access_key: credentials.secret_access_key().to_string(),
            session_token: credentials.session_token().to_string(),
            expiration: credentials
                .expiration()
                .fmt(Format::DateTime)
                .map_err(|_| invalid("an expiration that is not a date"))?,
            assumed_role_arn: out.assumed_role_user().map(|u| u.arn().to_string()),
        },
        association_id: out
            .pod_identity_association()
            .map(|a| a.association_id().to_string()),
        subject: out
            .subject()
            .map(|s| (s.namespace().to_string(), s.service_account().to_string())),
        audience: Some(out.audience().to_string()).filter(|a| !a.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: &str) -> AwsError {
        AwsError {
            kind: ErrorKind::Other,
            operation: OPERATION,
            resource: "demo".into(),
            code: Some(code.into()),
            message: String::new(),
        }
    }

    #[test]
    fn retries_only_what_time_can_fix() {
        assert!(may_be_eventual_consistency(&err("AccessDeniedException")));
        assert!(may_be_eventual_consistency(&err(
            "ResourceNotFoundException"
        )));
        assert!(!may_be_eventual_consistency(&err("InvalidTokenException")));
        assert!(!may_be_eventual_consistency(&err("ExpiredTokenException")));
    }
}
