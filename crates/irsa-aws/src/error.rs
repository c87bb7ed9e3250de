//! Errors of the AWS adapter. Each names the operation (`iam:CreateRole`), the resource it was
//! about (a role name, a policy ARN, `cluster/addon`), AWS's error code and message when AWS
//! answered, and otherwise the whole chain of causes (connection refused, timeout, …). The
//! [`ErrorKind`] lets callers react without parsing text: [`ErrorKind::AlreadyExists`] on a
//! create means "re-observe", [`ErrorKind::NotFound`] means the resource is absent.

use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// What went wrong, for callers that react to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// NoSuchEntity / ResourceNotFoundException.
    NotFound,
    /// EntityAlreadyExists, or an add-on that already exists: re-observe and re-plan.
    AlreadyExists,
    /// The resource is busy or still referenced (DeleteConflict, ResourceInUseException, …).
    Conflict,
    /// Throttled after all retries.
    Throttled,
    /// Not authorized (AccessDenied, AccessDeniedException, UnauthorizedOperation): for
    /// AssumeRoleWithWebIdentity also what a role that does not exist (yet) gets.
    AccessDenied,
    /// STS refused a web identity token (InvalidIdentityToken, ExpiredTokenException,
    /// IDPRejectedClaim): wrong issuer, audience or signature, unknown provider, expired.
    InvalidToken,
    /// An add-on ended in CREATE_FAILED, UPDATE_FAILED or DEGRADED.
    AddonFailed,
    /// An add-on did not become ACTIVE in time.
    Timeout,
    /// A Kubernetes or file step was handed to the AWS adapter.
    NotAnAwsStep,
    /// AWS answered with something the adapter cannot use (a missing field, a bad document).
    InvalidResponse,
    /// No credentials could be loaded from any source of the provider chain.
    NoCredentials,
    /// AWS refused the caller's credentials: expired or unknown (ExpiredToken,
    /// InvalidClientTokenId, SignatureDoesNotMatch, UnrecognizedClientException), or their
    /// provider failed (an expired SSO session).
    InvalidCredentials,
    /// The endpoint could not be reached: connection refused, DNS, TLS, timeout.
    Unreachable,
    /// Any other error from AWS or the transport.
    Other,
}

/// An AWS call that failed, with context.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation} {resource}: {}{message}", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default())]
pub struct AwsError {
    pub kind: ErrorKind,
    /// `service:Operation`, e.g. `iam:CreateRole`.
    pub operation: &'static str,
    /// What the call was about: a role name, a policy ARN, `cluster/addon`, …
    pub resource: String,
    /// AWS's error code, when AWS answered (`NoSuchEntity`, `EntityAlreadyExists`, …).
    pub code: Option<String>,
    /// AWS's message, or the chain of causes.
    pub message: String,
}

impl AwsError {
    pub fn new(
        kind: ErrorKind,
        operation: &'static str,
        resource: impl Into<String>,
        message: impl Into<String>,
    ) -> AwsError {
        AwsError {
            kind,
            operation,
            resource: resource.into(),
            code: None,
            message: message.into(),
        }
    }

    /// From an SDK error: code and message from the service's answer, else the cause chain.
    pub fn from_sdk<E>(operation: &'static str, resource: impl Into<String>, err: E) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let code = err.code().map(str::to_string);
        let message = match (err.code(), err.message()) {
            (Some(_), Some(message)) => message.to_string(),
            (Some(_), None) => String::new(),
            _ => DisplayErrorContext(&err).to_string(),
        };
        let kind = match code.as_deref() {
            Some("NoSuchEntity" | "NoSuchEntityException" | "ResourceNotFoundException") => {
                ErrorKind::NotFound
            }
            Some("EntityAlreadyExists" | "EntityAlreadyExistsException") => {
                ErrorKind::AlreadyExists
            }
            Some(
                "DeleteConflict"
                | "DeleteConflictException"
                | "ResourceInUseException"
                | "ConcurrentModification"
                | "ConcurrentModificationException",
            ) => ErrorKind::Conflict,
            Some(
                "Throttling"
                | "ThrottlingException"
                | "TooManyRequestsException"
                | "RequestLimitExceeded",
            ) => ErrorKind::Throttled,
            Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation") => {
                ErrorKind::AccessDenied
            }
            Some("InvalidIdentityToken" | "ExpiredTokenException" | "IDPRejectedClaim") => {
                ErrorKind::InvalidToken
            }
            Some(
                "ExpiredToken"
                | "InvalidClientTokenId"
                | "SignatureDoesNotMatch"
                | "UnrecognizedClientException"
                | "InvalidSignatureException",
            ) => ErrorKind::InvalidCredentials,
            Some(_) => ErrorKind::Other,
            None => transport_kind(&err),
        };
        AwsError {
            kind,
            operation,
            resource: resource.into(),
            code,
            message,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }

    /// Who was refused which action on what, for an AccessDenied: read from AWS's message
    /// (`User: ARN is not authorized to perform: ACTION on resource: RESOURCE[ because …]`,
    /// IAM's and EKS's wording), else this call's operation and resource.
    pub fn denied(&self) -> Option<Denied> {
        if self.kind != ErrorKind::AccessDenied || self.operation.starts_with("sts:AssumeRole") {
            return None;
        }
        let between = |start: &str, end: &str| -> Option<String> {
            let rest = &self.message[self.message.find(start)? + start.len()..];
            let stop = rest.find(end).unwrap_or(rest.len());
            Some(rest[..stop].trim().to_string()).filter(|s| !s.is_empty())
        };
        Some(Denied {
            caller: between("User: ", " is not authorized"),
            action: between("to perform: ", " on resource")
                .unwrap_or_else(|| self.operation.to_string()),
            resource: between("on resource: ", " because").unwrap_or_else(|| self.resource.clone()),
        })
    }

    pub(crate) fn with_kind(mut self, kind: ErrorKind) -> AwsError {
        self.kind = kind;
        self
    }
}

/// An AccessDenied, as AWS states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// The caller's ARN (`arn:aws:sts::…:assumed-role/ci/…`), when AWS names it.
    pub caller: Option<String>,
    /// `iam:CreateRole`.
    pub action: String,
    /// The resource's ARN (or the name irsa asked about).
    pub resource: String,
}

/// Why a call that got no answer from AWS failed: no credentials, failed credentials, or an
/// endpoint that could not be reached, read from the error's chain of causes.
fn transport_kind(err: &(dyn std::error::Error + 'static)) -> ErrorKind {
    use aws_credential_types::provider::error::CredentialsError;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    let causes = || std::iter::successors(Some(err), |e| e.source());
    // A credentials failure reaches the caller wrapped in a connector error: look for it first.
    if let Some(credentials) = causes().find_map(|e| e.downcast_ref::<CredentialsError>()) {
        return match credentials {
            CredentialsError::CredentialsNotLoaded(_) => ErrorKind::NoCredentials,
            _ => ErrorKind::InvalidCredentials,
        };
    }
    if causes().any(|e| e.downcast_ref::<ConnectorError>().is_some()) {
        return ErrorKind::Unreachable;
    }
    ErrorKind::Other
}

/// Every item of a paginated list call (its `.into_paginator().items().send()`), or the first
/// error with the operation and resource named.
pub(crate) async fn all_items<T, E>(
    items: aws_smithy_async::future::pagination_stream::PaginationStream<Result<T, E>>,
    operation: &'static str,
    resource: &str,
) -> Result<Vec<T>, AwsError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    items
        .collect::<Result<Vec<T>, E>>()
        .await
        .map_err(|e| AwsError::from_sdk(operation, resource, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn denied(operation: &'static str, resource: &str, message: &str) -> Option<Denied> {
        AwsError {
            kind: ErrorKind::AccessDenied,
            operation,
            resource: resource.into(),
            code: Some("AccessDenied".into()),
            message: message.into(),
        }
        .denied()
    }

    /// IAM's wording (IAM user guide, "Troubleshoot access denied error messages"), with and
    /// without the reason clause.
    #[test]
    fn an_access_denied_names_the_caller_action_and_resource() {
        let message = "User: arn:aws:sts::123456789012:assumed-role/ci/run-7 is not authorized to perform: iam:CreateRole on resource: arn:aws:iam::123456789012:role/irsa-demo-x because no identity-based policy allows the iam:CreateRole action";
        assert_eq!(
            denied("iam:CreateRole", "irsa-demo-x", message),
            Some(Denied {
                caller: Some("arn:aws:sts::123456789012:assumed-role/ci/run-7".into()),
                action: "iam:CreateRole".into(),
                resource: "arn:aws:iam::123456789012:role/irsa-demo-x".into(),
            })
        );
        let bare = denied(
            "eks:CreateAddon",
            "demo/aws-ebs-csi-driver",
            "Access denied",
        )
        .unwrap();
        assert_eq!(bare.caller, None);
        assert_eq!(bare.action, "eks:CreateAddon");
        assert_eq!(bare.resource, "demo/aws-ebs-csi-driver");
    }

    #[test]
    fn a_refused_web_identity_is_not_the_callers_permission() {
        assert_eq!(
            denied("sts:AssumeRoleWithWebIdentity", "role", "Not authorized"),
            None
        );
    }
}
