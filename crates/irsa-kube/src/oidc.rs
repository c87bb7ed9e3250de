//! The cluster's service-account issuer as the API server publishes it: the OIDC discovery
//! document (`GET /.well-known/openid-configuration`: `issuer`, `jwks_uri`, …) and the JSON Web
//! Key Set that verifies the tokens it signs (`GET /openid/v1/jwks`). Both are read through the
//! API server with the client's credentials (RBAC: the `system:service-account-issuer-discovery`
//! ClusterRole), which works where the public issuer URL is unreachable; they are the same
//! documents STS fetches from the issuer URL. Returned as JSON for the core to interpret.

use serde_json::Value;

use crate::{KubeClient, KubeError};

/// The API server's path of the OIDC discovery document.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
/// The API server's path of the issuer's JWKS.
pub const JWKS_PATH: &str = "/openid/v1/jwks";

/// The issuer's OIDC discovery document.
pub async fn fetch_oidc_discovery(client: &KubeClient) -> Result<Value, KubeError> {
    get_json(client, DISCOVERY_PATH, "OIDC discovery document").await
}

/// The issuer's JSON Web Key Set (`{"keys": [...]}`, public keys only).
pub async fn fetch_jwks(client: &KubeClient) -> Result<Value, KubeError> {
    let jwks = get_json(client, JWKS_PATH, "service-account issuer JWKS").await?;
    if !jwks.get("keys").is_some_and(Value::is_array) {
        return Err(KubeError::InvalidResponse {
            operation: "get",
            object: format!("service-account issuer JWKS {JWKS_PATH}"),
            message: "no \"keys\" array".into(),
        });
    }
    Ok(jwks)
}

async fn get_json(client: &KubeClient, path: &str, what: &str) -> Result<Value, KubeError> {
    let object = format!("{what} {path}");
    let invalid = |message: String| KubeError::InvalidResponse {
        operation: "get",
        object: object.clone(),
        message,
    };
    let request = http::Request::get(path)
        .header(
            http::header::ACCEPT,
            "application/json, application/jwk-set+json",
        )
        .body(Vec::new())
        .map_err(|e| invalid(format!("cannot build the request: {e}")))?;
    let text = client
        .kube()
        .request_text(request)
        .await
        .map_err(|e| KubeError::api("get", object.clone(), e))?;
    let value: Value =
        serde_json::from_str(&text).map_err(|e| invalid(format!("not JSON: {e}")))?;
    if !value.is_object() {
        return Err(invalid("not a JSON object".into()));
    }
    Ok(value)
}
