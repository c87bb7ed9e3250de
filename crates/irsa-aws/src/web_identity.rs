//! `sts:AssumeRoleWithWebIdentity`, the call an IRSA pod's SDK makes with its projected
//! service-account token: it exchanges the token for a role's temporary credentials. The call is
//! unsigned (the token is the proof), so the configured STS client works whatever its own
//! credentials, and it is counted like every call through [`Clients`]. Right after a role, its
//! trust policy or the OIDC provider was created, IAM may not show it to STS yet, so the call is
//! retried with backoff within [`Options::consistency_timeout`](crate::Options) when STS says the
//! role cannot be assumed (AccessDenied, which is also what a missing role gets) or that no
//! provider is found for the issuer; never when the token itself is refused (any other
//! InvalidIdentityToken, ExpiredTokenException, IDPRejectedClaim). The token and the returned
//! secrets never appear in errors, and [`TemporaryCredentials`]'s `Debug` redacts them.

use aws_smithy_types::date_time::Format;

use crate::clients::Clients;
use crate::error::{AwsError, ErrorKind};
use crate::execute::retry_consistency;

const OPERATION: &str = "sts:AssumeRoleWithWebIdentity";

/// A role's temporary credentials. `Debug` shows only the expiration and the ARN.
#[derive(Clone, PartialEq, Eq)]
pub struct TemporaryCredentials {
    pub access_key_id: String,
    /// A credential: do not print or store it.
    pub secret_access_key: String,
    /// A credential: do not print or store it.
    pub session_token: String,
    /// When they expire (RFC 3339).
    pub expiration: String,
    /// `arn:<partition>:sts::<account>:assumed-role/<role>/<session>`, as STS reported it.
    pub assumed_role_arn: Option<String>,
}

impl std::fmt::Debug for TemporaryCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemporaryCredentials")
            .field("access_key_id", &"<redacted>")
            .field("secret_access_key", &"<redacted>")
            .field("session_token", &"<redacted>")
            .field("expiration", &self.expiration)
            .field("assumed_role_arn", &self.assumed_role_arn)
            .finish()
    }
}

/// Whether STS's refusal may be IAM not showing a just-created role, trust policy or provider
/// to STS yet (see the module doc).
fn may_be_eventual_consistency(e: &AwsError) -> bool {
    let message = e.message.to_ascii_lowercase();
    match e.code.as_deref() {
        Some("AccessDenied") => true,
        Some("InvalidIdentityToken") => message.contains("no openidconnect provider found"),
        Some("ExpiredTokenException" | "IDPRejectedClaim" | "IDPCommunicationError") => false,
        Some(_) => [
            "cannot be assumed",
            "cannot be found",
            "not found",
            "does not exist",
        ]
        .iter()
        .any(|m| message.contains(m)),
        None => false,
    }
}

/// Assumes `role_arn` with the web identity `token` (a service-account JWT), for a session
/// named `session_name` (2–64 of `[\w+=,.@-]`), retrying as the module doc says. Errors have
/// the role ARN as resource and [`ErrorKind::AccessDenied`] or [`ErrorKind::InvalidToken`] for
/// STS's refusals.
pub async fn assume_role_with_web_identity(
    clients: &Clients,
    role_arn: &str,
    token: &str,
    session_name: &str,
) -> Result<TemporaryCredentials, AwsError> {
    let out = retry_consistency(clients, &|_| {}, may_be_eventual_consistency, || async {
        clients
            .sts
            .assume_role_with_web_identity()
            .role_arn(role_arn)
            .role_session_name(session_name)
            .web_identity_token(token)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OPERATION, role_arn, e))
    })
    .await?;
    let invalid =
        |message: &str| AwsError::new(ErrorKind::InvalidResponse, OPERATION, role_arn, message);
    let credentials = out
        .credentials()
        .ok_or_else(|| invalid("no Credentials in the answer"))?;
    Ok(TemporaryCredentials {
        access_key_id: credentials.access_key_id().to_string(),
        secret_access_key: credentials.secret_access_key().to_string(),
        session_token: credentials.session_token().to_string(),
        expiration: credentials
            .expiration()
            .fmt(Format::DateTime)
            .map_err(|_| invalid("an Expiration that is not a date"))?,
        assumed_role_arn: out.assumed_role_user().map(|u| u.arn().to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: &str, message: &str) -> AwsError {
        AwsError {
            kind: ErrorKind::Other,
            operation: OPERATION,
            resource: "arn:aws:iam::111122223333:role/r".into(),
            code: Some(code.into()),
            message: message.into(),
        }
    }

    #[test]
    fn retries_only_what_time_can_fix() {
        assert!(may_be_eventual_consistency(&err(
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity"
        )));
        assert!(may_be_eventual_consistency(&err(
            "InvalidIdentityToken",
            "No OpenIDConnect provider found in your account for https://oidc.example/id/X"
        )));
        assert!(!may_be_eventual_consistency(&err(
            "InvalidIdentityToken",
            "Incorrect token audience"
        )));
        assert!(!may_be_eventual_consistency(&err(
            "ExpiredTokenException",
            "Token expired: current date/time 1 must be before the expiration date/time 0"
        )));
        assert!(!may_be_eventual_consistency(&err(
            "IDPRejectedClaim",
            "role not found"
        )));
        assert!(may_be_eventual_consistency(&err(
            "NoSuchEntity",
            "The role with name r cannot be found."
        )));
    }

    #[test]
    fn debug_redacts_the_secrets() {
        let credentials = TemporaryCredentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: "very-secret-key".into(),
            session_token: "very-secret-session".into(),
            expiration: "2030-01-01T00:00:00Z".into(),
            assumed_role_arn: None,
        };
        let shown = format!("{credentials:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(!shown.contains("ASIAEXAMPLE"), "{shown}");
        assert!(shown.contains("2030-01-01T00:00:00Z"), "{shown}");
    }
}
