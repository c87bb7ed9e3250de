//! Forwarding one HTTP request unchanged to another local server (moto, or one of the fakes), for
//! the fakes that implement part of an API and hand the rest on, and for the latency proxy. The
//! path and query, method, headers (Host too: it is part of what a SigV4 signature covers, which
//! moto checks under `--enforce-iam`) and body are kept; the answer comes back as it is. Plain
//! HTTP on loopback only.

use axum::body::Body;
use axum::extract::Request;
use axum::http::Uri;
use axum::response::Response;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Forwards requests to `base` (`http://127.0.0.1:PORT`).
#[derive(Debug, Clone)]
pub struct Forwarder {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Forwarder {
    pub fn new(base: &str) -> Forwarder {
        Forwarder {
            base: base.trim_end_matches('/').to_string(),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// Where requests go.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends `request` on to the same path and query under the base; the error says why the
    /// target could not be reached (the caller turns it into its API's error shape).
    pub async fn forward(&self, request: Request) -> Result<Response, String> {
        let (parts, body) = request.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| format!("cannot read the request body: {e}"))?
            .to_bytes();
        let (parts, body) = self.send(parts, body).await?;
        Ok(Response::from_parts(parts, Body::from(body)))
    }

    /// Sends a request given as parts and body (only the path and query of its URI are used)
    /// and reads the whole answer, for fakes that look at what the target answered.
    pub async fn send(
        &self,
        mut parts: axum::http::request::Parts,
        body: Bytes,
    ) -> Result<(axum::http::response::Parts, Bytes), String> {
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let uri: Uri = format!("{}{path}", self.base)
            .parse()
            .map_err(|e| format!("bad forward URI: {e}"))?;
        parts.uri = uri;
        // The caller's Host stays (hyper sets it from the URI only when absent): moto routes on
        // the credential scope, not the host, and checks signatures when it enforces IAM.
        let response = self
            .client
            .request(hyper::Request::from_parts(parts, Full::new(body)))
            .await
            .map_err(|e| format!("could not reach {}: {e}", self.base))?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| format!("cannot read the answer of {}: {e}", self.base))?
            .to_bytes();
        Ok((parts, body))
    }
}
