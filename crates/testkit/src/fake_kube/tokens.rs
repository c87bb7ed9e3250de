//! The fake's service-account token issuer, as the API server's (`--service-account-issuer`,
//! `--service-account-signing-key-file`): RS256 JWTs with the claims of a real service-account
//! token, the TokenRequest subresource
//! (`POST /api/v1/namespaces/{ns}/serviceaccounts/{name}/token`, `authentication.k8s.io/v1`), and
//! ServiceAccountIssuerDiscovery (`/.well-known/openid-configuration`, `/openid/v1/jwks`).
//!
//! Two test-only keys are embedded (`crates/testkit/keys`): the issuer key, which signs and is
//! published in the JWKS, and a rogue key, which signs tokens that verification must reject.
//! A key's `kid` is its RFC 7638 thumbprint (SHA-256), so it is stable across runs.
//!
//! [`TokenVerifier`] is the issuer's verification as a port, for fakes that check tokens the
//! way a relying party does (the fake EKS Auth): RS256 with a `kid` the JWKS publishes, `iss`,
//! `aud`, `exp` and `nbf`.

use std::sync::atomic::{AtomicU64, Ordering};

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::resources::{PODS, SERVICE_ACCOUNTS};
use super::status::ApiError;
use super::store::{Store, fnv1a};

const ISSUER_KEY_PEM: &str = include_str!("../../keys/issuer-key.pem");
const ROGUE_KEY_PEM: &str = include_str!("../../keys/rogue-key.pem");

/// The issuer of [`super::FakeKube::start`] (an EKS-shaped URL).
pub const DEFAULT_ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/FAKE";

/// TokenRequest's default `expirationSeconds` (the API server's defaulting).
pub const DEFAULT_TOKEN_EXPIRATION_SECONDS: i64 = 3600;
/// The shortest token the API server issues (`may not specify a duration less than 10 minutes`).
pub const MIN_TOKEN_EXPIRATION_SECONDS: i64 = 600;
/// The longest (`may not specify a duration larger than 2^32 seconds`).
pub const MAX_TOKEN_EXPIRATION_SECONDS: i64 = 1 << 32;

/// `kubernetes.io.serviceaccount` / `kubernetes.io.pod` of a token: a bound object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoundObject {
    pub name: String,
    pub uid: String,
}

/// The private `kubernetes.io` claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubernetesClaims {
    pub namespace: String,
    /// Set when the token is bound to a pod (projected volumes, `boundObjectRef` of kind Pod).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<BoundObject>,
    pub serviceaccount: BoundObject,
}

/// The claims of a service-account token, in the order the API server writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceAccountClaims {
    pub aud: Vec<String>,
    pub exp: i64,
    pub iat: i64,
    pub iss: String,
    pub jti: String,
    #[serde(rename = "kubernetes.io")]
    pub kubernetes: KubernetesClaims,
    pub nbf: i64,
    /// `system:serviceaccount:<namespace>:<name>`.
    pub sub: String,
}

struct SigningKey {
    key: EncodingKey,
    kid: String,
    /// base64url (no padding) modulus and exponent.
    n: String,
    e: String,
}

impl SigningKey {
    fn load(pem: &str) -> SigningKey {
        let key = EncodingKey::from_rsa_pem(pem.as_bytes())
            .expect("the embedded test key is an RSA private key in PEM");
        let jwk = Jwk::from_encoding_key(&key, Algorithm::RS256)
            .expect("the public half of the embedded test key");
        let kid = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .expect("a thumbprint of an RSA JWK");
        let AlgorithmParameters::RSA(rsa) = &jwk.algorithm else {
            unreachable!("an RSA key gives an RSA JWK")
        };
        SigningKey {
            n: rsa.n.clone(),
            e: rsa.e.clone(),
            key,
            kid,
        }
    }
}

/// Signs service-account tokens for one issuer URL.
pub struct TokenIssuer {
    issuer: String,
    signing: SigningKey,
    rogue: SigningKey,
    jtis: AtomicU64,
}

/// What a token is for.
#[derive(Debug, Clone)]
pub struct TokenSpec<'a> {
    pub namespace: &'a str,
    pub service_account: &'a str,
    pub service_account_uid: &'a str,
    pub audiences: Vec<String>,
    /// Seconds from now to `exp`; may be negative (an already expired token).
    pub expires_in_seconds: i64,
    pub pod: Option<BoundObject>,
    /// Sign with the rogue key (not in the JWKS).
    pub rogue: bool,
}

impl TokenIssuer {
    pub fn new(issuer: impl Into<String>) -> TokenIssuer {
        TokenIssuer {
            issuer: issuer.into(),
            signing: SigningKey::load(ISSUER_KEY_PEM),
            rogue: SigningKey::load(ROGUE_KEY_PEM),
            jtis: AtomicU64::new(0),
        }
    }

    /// The `iss` of every token.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The `kid` of the published key.
    pub fn kid(&self) -> &str {
        &self.signing.kid
    }

    /// The `kid` rogue tokens carry (published nowhere).
    pub fn rogue_kid(&self) -> &str {
        &self.rogue.kid
    }

    fn next_jti(&self) -> String {
        let n = self.jtis.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let h = fnv1a(format!("{nanos}/{n}/{}", self.issuer).as_bytes());
        let l = fnv1a(format!("{n}+{nanos}").as_bytes());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            h >> 32,
            (h >> 16) & 0xffff,
            h & 0xfff,
            0x8000 | (l >> 48) & 0x3fff,
            l & 0xffff_ffff_ffff
        )
    }

    /// The claims of a token minted now.
    pub fn claims(&self, spec: &TokenSpec<'_>) -> ServiceAccountClaims {
        let now = jiff::Timestamp::now().as_second();
        let exp = now + spec.expires_in_seconds;
        // An expired token was issued (an hour) before it expired.
        let iat = if spec.expires_in_seconds > 0 {
            now
        } else {
            exp - DEFAULT_TOKEN_EXPIRATION_SECONDS
        };
        ServiceAccountClaims {
            aud: spec.audiences.clone(),
            exp,
            iat,
            iss: self.issuer.clone(),
            jti: self.next_jti(),
            kubernetes: KubernetesClaims {
                namespace: spec.namespace.to_string(),
                pod: spec.pod.clone(),
                serviceaccount: BoundObject {
                    name: spec.service_account.to_string(),
                    uid: spec.service_account_uid.to_string(),
                },
            },
            nbf: iat,
            sub: format!(
                "system:serviceaccount:{}:{}",
                spec.namespace, spec.service_account
            ),
        }
    }

    /// Signs `claims` (header `{"alg":"RS256","kid":…}`, as the API server writes it).
    pub fn sign(&self, claims: &ServiceAccountClaims, rogue: bool) -> String {
        let key = if rogue { &self.rogue } else { &self.signing };
        let mut header = Header::new(Algorithm::RS256);
        header.typ = None;
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.key).expect("RS256 signing with a valid key")
    }

    /// A signed token and its claims.
    pub fn mint(&self, spec: &TokenSpec<'_>) -> (String, ServiceAccountClaims) {
        let claims = self.claims(spec);
        (self.sign(&claims, spec.rogue), claims)
    }

    /// The JWKS (`/openid/v1/jwks`): the issuer key only.
    pub fn jwks(&self) -> Value {
        json!({"keys": [{
            "use": "sig",
            "kty": "RSA",
            "kid": self.signing.kid,
            "alg": "RS256",
            "n": self.signing.n,
            "e": self.signing.e,
        }]})
    }

    /// The OIDC discovery document, as EKS serves it for the cluster issuer (`jwks_uri` is
    /// `<issuer>/keys`).
    pub fn openid_configuration(&self) -> Value {
        json!({
            "issuer": self.issuer,
            "jwks_uri": format!("{}/keys", self.issuer.trim_end_matches('/')),
            "authorization_endpoint": "urn:kubernetes:programmatic_authorization",
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "claims_supported": ["sub", "iss"],
            "id_token_signing_alg_values_supported": ["RS256"],
        })
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Past its `exp`.
    #[error("the token is expired")]
    Expired,
    /// Not a JWT, a signature the JWKS does not verify, another issuer or audience, not yet valid.
    #[error("the token is invalid: {0}")]
    Invalid(String),
}

/// Verifies service-account tokens as a relying party does, against the issuer's JWKS.
pub trait TokenVerifier: Send + Sync {
    /// The token's claims when it is signed by a published key of this issuer, has `audience`
    /// among its audiences and is within its validity.
    fn verify(&self, token: &str, audience: &str) -> Result<ServiceAccountClaims, TokenError>;
}

impl TokenVerifier for TokenIssuer {
    fn verify(&self, token: &str, audience: &str) -> Result<ServiceAccountClaims, TokenError> {
        let invalid = |why: &str| TokenError::Invalid(why.to_string());
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("not a JWT"))?;
        if header.alg != Algorithm::RS256 || header.kid.as_deref() != Some(self.kid()) {
            return Err(invalid("no published key verifies the signature"));
        }
        let key = DecodingKey::from_rsa_components(&self.signing.n, &self.signing.e)
            .map_err(|e| TokenError::Invalid(e.to_string()))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[self.issuer()]);
        validation.set_audience(&[audience]);
        validation.validate_nbf = true;
        validation.leeway = 0;
        jsonwebtoken::decode::<ServiceAccountClaims>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                jsonwebtoken::errors::ErrorKind::InvalidIssuer => {
                    invalid("the issuer is not the cluster's")
                }
                jsonwebtoken::errors::ErrorKind::InvalidAudience => {
                    TokenError::Invalid(format!("the audience is not {audience}"))
                }
                _ => invalid("the signature does not verify"),
            })
    }
}

/// A stable uid for a service account the store does not have (tokens minted by tests for
/// service accounts that were never created).
pub fn stand_in_uid(namespace: &str, name: &str) -> String {
    let h = fnv1a(format!("{namespace}/{name}").as_bytes());
    let l = fnv1a(format!("{name}/{namespace}").as_bytes());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        h >> 32,
        (h >> 16) & 0xffff,
        h & 0xfff,
        0x8000 | (l >> 48) & 0x3fff,
        l & 0xffff_ffff_ffff
    )
}

fn token_request_invalid(name: &str, why: String) -> ApiError {
    ApiError {
        code: 422,
        reason: "Invalid",
        message: format!("TokenRequest.authentication.k8s.io \"{name}\" is invalid: {why}"),
        details: Some((
            name.to_string(),
            "authentication.k8s.io".to_string(),
            "TokenRequest".to_string(),
        )),
    }
}

/// `POST …/serviceaccounts/{name}/token`: validates the TokenRequest as the API server does and
/// answers it with `status.token` and `status.expirationTimestamp`.
pub fn token_request(
    store: &Store,
    issuer: &TokenIssuer,
    namespace: &str,
    name: &str,
    request: &Value,
) -> Result<Value, ApiError> {
    if !request.is_object() {
        return Err(ApiError::bad_request(
            "the body of a TokenRequest must be a JSON object",
        ));
    }
    let spec = &request["spec"];
    let audiences: Vec<String> = match &spec["audiences"] {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .iter()
            .map(|a| {
                a.as_str().map(str::to_string).ok_or_else(|| {
                    ApiError::bad_request("spec.audiences must be a list of strings")
                })
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(ApiError::bad_request(
                "spec.audiences must be a list of strings",
            ));
        }
    };
    // The API server's defaulting: no audiences means the API server's own (the issuer).
    let audiences = if audiences.is_empty() {
        vec![issuer.issuer().to_string()]
    } else {
        audiences
    };
    let expiration = match &spec["expirationSeconds"] {
        Value::Null => DEFAULT_TOKEN_EXPIRATION_SECONDS,
        v => v
            .as_i64()
            .ok_or_else(|| ApiError::bad_request("spec.expirationSeconds must be an integer"))?,
    };
    if expiration < MIN_TOKEN_EXPIRATION_SECONDS {
        return Err(token_request_invalid(
            "",
            format!(
                "spec.expirationSeconds: Invalid value: {expiration}: may not specify a duration less than 10 minutes"
            ),
        ));
    }
    if expiration > MAX_TOKEN_EXPIRATION_SECONDS {
        return Err(token_request_invalid(
            "",
            format!(
                "spec.expirationSeconds: Invalid value: {expiration}: may not specify a duration larger than 2^32 seconds"
            ),
        ));
    }
    let sa = store.get(&SERVICE_ACCOUNTS, Some(namespace), name)?;
    let sa_uid = sa["metadata"]["uid"].as_str().unwrap_or_default();
    let bound = &spec["boundObjectRef"];
    let pod = match bound["kind"].as_str() {
        None => None,
        Some("Pod") => {
            let pod_name = bound["name"].as_str().unwrap_or_default();
            let pod = store.get(&PODS, Some(namespace), pod_name)?;
            let pod_uid = pod["metadata"]["uid"].as_str().unwrap_or_default();
            if let Some(uid) = bound["uid"].as_str()
                && !uid.is_empty()
                && uid != pod_uid
            {
                return Err(ApiError::conflict(&PODS, pod_name));
            }
            let pod_sa = pod["spec"]["serviceAccountName"]
                .as_str()
                .unwrap_or("default");
            if pod_sa != name {
                return Err(ApiError::bad_request(format!(
                    "cannot bind token for serviceaccount \"{name}\" to pod running with different serviceaccount name."
                )));
            }
            Some(BoundObject {
                name: pod_name.to_string(),
                uid: pod_uid.to_string(),
            })
        }
        Some(kind) => {
            return Err(ApiError::bad_request(format!(
                "cannot bind token for serviceaccount \"{name}\" to object of type {kind}"
            )));
        }
    };
    let (token, claims) = issuer.mint(&TokenSpec {
        namespace,
        service_account: name,
        service_account_uid: sa_uid,
        audiences: audiences.clone(),
        expires_in_seconds: expiration,
        pod,
        rogue: false,
    });
    let expiration_timestamp = jiff::Timestamp::from_second(claims.exp)
        .map(|t| t.to_string())
        .unwrap_or_default();
    Ok(json!({
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": null},
        "spec": {
            "audiences": audiences,
            "expirationSeconds": expiration,
            "boundObjectRef": if bound.is_object() { bound.clone() } else { Value::Null },
        },
        "status": {"token": token, "expirationTimestamp": expiration_timestamp},
    }))
}
