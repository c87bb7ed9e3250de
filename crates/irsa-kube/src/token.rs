//! Short-lived service-account tokens from the TokenRequest API (`POST
//! /api/v1/namespaces/{ns}/serviceaccounts/{name}/token`, an `authentication.k8s.io/v1`
//! `TokenRequest`), the tokens the kubelet projects into pods for IRSA: signed by the cluster's
//! service-account issuer, for one audience (`sts.amazonaws.com` unless the service account's
//! `eks.amazonaws.com/audience` annotation says otherwise). The token is a bearer credential: it
//! is never part of an error, and [`ServiceAccountToken`]'s `Debug` redacts it. The answer is
//! read as text and parsed here, not by kube's typed request, which logs an unparsable body.

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use kube::api::PostParams;

use crate::{KubeClient, KubeError};

/// The shortest lifetime the API server accepts for a requested token.
pub const MIN_EXPIRATION_SECONDS: i64 = 600;

/// A token minted for a service account.
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceAccountToken {
    /// The signed JWT. A credential: do not print or store it.
    pub token: String,
    /// When it expires (RFC 3339, from the TokenRequest's `status.expirationTimestamp`).
    pub expires_at: String,
}

impl std::fmt::Debug for ServiceAccountToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountToken")
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Requests a token for `namespace`/`service_account` with the one audience `audience`, valid
/// for `expiration_seconds` (raised to [`MIN_EXPIRATION_SECONDS`], the API's minimum; the server
/// may also shorten or lengthen it, `expires_at` says what it chose). A missing service account
/// is the API's 404 (`KubeError::code() == Some(404)`).
pub async fn request_token(
    client: &KubeClient,
    namespace: &str,
    service_account: &str,
    audience: &str,
    expiration_seconds: i64,
) -> Result<ServiceAccountToken, KubeError> {
    const OPERATION: &str = "request a token for";
    let object = format!("service account {namespace}/{service_account}");
    let request = TokenRequest {
        spec: TokenRequestSpec {
            audiences: vec![audience.to_string()],
            expiration_seconds: Some(expiration_seconds.max(MIN_EXPIRATION_SECONDS)),
            bound_object_ref: None,
        },
        ..Default::default()
    };
    let invalid = |message: String| KubeError::InvalidResponse {
        operation: OPERATION,
        object: object.clone(),
        message,
    };
    let body = serde_json::to_vec(&request)
        .map_err(|e| invalid(format!("cannot encode the TokenRequest: {e}")))?;
    let http_request =
        kube::core::Request::new(format!("/api/v1/namespaces/{namespace}/serviceaccounts"))
            .create_subresource("token", service_account, &PostParams::default(), body)
            .map_err(|e| invalid(format!("cannot build the request: {e}")))?;
    let text = client
        .kube()
        .request_text(http_request)
        .await
        .map_err(|e| KubeError::api(OPERATION, object.clone(), e))?;
    // serde's messages can quote the offending value: report only where parsing failed.
    let answer: TokenRequest = serde_json::from_str(&text).map_err(|e| {
        invalid(format!(
            "not a TokenRequest ({:?} error at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        ))
    })?;
    let status = answer
        .status
        .ok_or_else(|| invalid("the TokenRequest has no status".into()))?;
    if status.token.is_empty() {
        return Err(invalid("the TokenRequest's status has no token".into()));
    }
    Ok(ServiceAccountToken {
        token: status.token,
        expires_at: status.expiration_timestamp.0.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_token() {
        let token = ServiceAccountToken {
            token: "eyJhbGciOiJSUzI1NiJ9.secret.sig".into(),
            expires_at: "2030-01-01T00:00:00Z".into(),
        };
        let shown = format!("{token:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("2030-01-01T00:00:00Z"), "{shown}");
    }
}
