//! The issuer thumbprint against a local TLS server presenting a leaf and its CA (test
//! certificates in testkit/keys): the thumbprint is the SHA-1 of the last certificate, and a
//! chain the client does not trust yields no thumbprint.

use std::sync::Arc;
use std::time::Duration;

use irsa_kube::issuer_tls::issuer_thumbprint_with_roots;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};

const CA: &str = include_str!("../../testkit/keys/issuer-tls-ca.pem");
const LEAF: &str = include_str!("../../testkit/keys/issuer-tls-leaf.pem");
const LEAF_KEY: &str = include_str!("../../testkit/keys/issuer-tls-leaf-key.pem");
/// `openssl x509 -in issuer-tls-ca.pem -noout -fingerprint -sha1`.
const CA_SHA1: &str = "2946e38322ea2a843b82f70e90910271cf0cee57";

fn cert(pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
}

/// Serves TLS handshakes on 127.0.0.1 with the chain [leaf, CA]; returns the port.
async fn serve() -> u16 {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert(LEAF), cert(CA)],
            PrivateKeyDer::from_pem_slice(LEAF_KEY.as_bytes()).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = acceptor.accept(tcp).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn thumbprint_is_the_sha1_of_the_top_certificate_of_a_trusted_chain() {
    let port = serve().await;
    let mut roots = RootCertStore::empty();
    roots.add(cert(CA)).unwrap();
    let url = format!("https://127.0.0.1:{port}/id/EXAMPLE");
    let thumbprint = issuer_thumbprint_with_roots(&url, roots, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(thumbprint, CA_SHA1);
}

#[tokio::test]
async fn an_untrusted_chain_gives_no_thumbprint() {
    let port = serve().await;
    let url = format!("https://127.0.0.1:{port}/id/EXAMPLE");
    let err = issuer_thumbprint_with_roots(&url, RootCertStore::empty(), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(err.contains("TLS handshake"), "{err}");
}

#[tokio::test]
async fn an_unreachable_issuer_is_an_error_not_a_hang() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("https://127.0.0.1:{port}/id/EXAMPLE");
    let err = issuer_thumbprint_with_roots(&url, RootCertStore::empty(), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(err.contains("cannot connect"), "{err}");
}
