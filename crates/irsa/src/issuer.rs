//! The cluster's OIDC issuer as a TLS server: the thumbprint of its certificate chain, for the
//! IAM OIDC provider irsa creates (`irsa apply`) and compares (`irsa doctor`). One handshake with
//! a short timeout; `IRSA_OFFLINE_ISSUER` (set by the sandbox, whose issuer URL names AWS but is
//! served by nothing reachable) skips it.

use std::time::Duration;

/// How long the handshake may take before the thumbprint is given up.
const TIMEOUT: Duration = Duration::from_secs(3);

/// The environment variable that keeps irsa from contacting the issuer.
pub const OFFLINE_ENV: &str = "IRSA_OFFLINE_ISSUER";

/// The SHA-1 thumbprint of `issuer_url`'s chain, or why there is none.
pub async fn thumbprint(issuer_url: &str) -> Result<String, String> {
    if issuer_url.is_empty() {
        return Err("the cluster has no issuer".to_string());
    }
    if std::env::var_os(OFFLINE_ENV).is_some_and(|v| !v.is_empty()) {
        return Err(format!("{OFFLINE_ENV} is set"));
    }
    irsa_kube::issuer_tls::issuer_thumbprint(issuer_url, TIMEOUT).await
}
