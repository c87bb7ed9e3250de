//! The thumbprint of an OIDC issuer's TLS chain, as IAM OIDC providers record it: the hex SHA-1
//! of the last certificate the issuer's server presents (the top intermediate or root CA; AWS's
//! "Obtain the thumbprint for an OpenID Connect identity provider" procedure takes the last
//! certificate `openssl s_client -showcerts` prints). The chain is verified against the system's
//! trust roots first, so a thumbprint is never taken from a server that could not prove it is the
//! issuer. AWS no longer relies on thumbprints for EKS issuers (it trusts its own CA library), but
//! tools still compare them; doctor reports a mismatch as low severity.

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::digest;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

/// The thumbprint of `issuer_url`'s chain, verified with the system's trust roots.
pub async fn issuer_thumbprint(issuer_url: &str, timeout: Duration) -> Result<String, String> {
    let loaded = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(loaded.certs);
    if added == 0 {
        return Err("no trusted root certificates on this machine".to_string());
    }
    issuer_thumbprint_with_roots(issuer_url, roots, timeout).await
}

/// [`issuer_thumbprint`] with the given trust roots.
pub async fn issuer_thumbprint_with_roots(
    issuer_url: &str,
    roots: RootCertStore,
    timeout: Duration,
) -> Result<String, String> {
    let (host, port) = host_and_port(issuer_url)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = ServerName::try_from(host.clone())
        .map_err(|e| format!("`{host}` is not a host name: {e}"))?;
    let handshake = async {
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
        let tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS handshake with {host}: {e}"))?;
        let top = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.last())
            .ok_or_else(|| format!("{host} presented no certificate"))?;
        Ok(hex(digest::digest(
            &digest::SHA1_FOR_LEGACY_USE_ONLY,
            top.as_ref(),
        )
        .as_ref()))
    };
    tokio::time::timeout(timeout, handshake)
        .await
        .map_err(|_| format!("no TLS answer from {host}:{port} within {timeout:?}"))?
}

/// `https://host[:port]/path` → (host, port).
fn host_and_port(url: &str) -> Result<(String, u16), String> {
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| format!("issuer `{url}` is not an https URL"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    match authority.rsplit_once(':') {
        Some((host, port)) => port
            .parse()
            .map(|port| (host.to_string(), port))
            .map_err(|_| format!("issuer `{url}` has a bad port")),
        None if !authority.is_empty() => Ok((authority.to_string(), 443)),
        None => Err(format!("issuer `{url}` has no host")),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_of_issuer_urls() {
        assert_eq!(
            host_and_port("https://oidc.eks.us-east-1.amazonaws.com/id/ABC").unwrap(),
            ("oidc.eks.us-east-1.amazonaws.com".to_string(), 443)
        );
        assert_eq!(
            host_and_port("https://127.0.0.1:8443/id/X").unwrap(),
            ("127.0.0.1".to_string(), 8443)
        );
        assert!(host_and_port("http://example.com").is_err());
        assert!(host_and_port("https://").is_err());
    }
}
