//! Decoding a service-account token and checking its signature against the issuer's JWKS, the
//! way STS will. The token itself never leaves this module's callers' memory: it is not printed,
//! logged or written anywhere.

use base64::Engine;
use irsa_core::verify::{Signature, TokenFacts};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    iss: String,
    #[serde(default)]
    sub: String,
    #[serde(default)]
    aud: Audience,
    #[serde(default)]
    exp: i64,
    nbf: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
    #[default]
    None,
}

/// The token's claims (read without trusting them) and the verdict on its signature.
pub fn facts(token: &str, jwks: Result<&serde_json::Value, String>) -> Result<TokenFacts, String> {
    let payload = token
        .split('.')
        .nth(1)
        .ok_or("the token is not a JWT (no payload)")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|e| format!("the token's payload is not base64url: {e}"))?;
    let claims: Claims = serde_json::from_slice(&bytes)
        .map_err(|e| format!("the token's claims are not JSON: {e}"))?;
    let audiences = match claims.aud {
        Audience::One(a) => vec![a],
        Audience::Many(v) => v,
        Audience::None => Vec::new(),
    };
    Ok(TokenFacts {
        issuer: claims.iss,
        subject: claims.sub,
        audiences,
        expires_at: claims.exp,
        not_before: claims.nbf,
        signature: signature(token, jwks),
    })
}

fn signature(token: &str, jwks: Result<&serde_json::Value, String>) -> Signature {
    let jwks = match jwks {
        Ok(v) => v,
        Err(e) => return Signature::Unavailable(e),
    };
    let set: JwkSet = match serde_json::from_value(jwks.clone()) {
        Ok(s) => s,
        Err(e) => return Signature::Unavailable(format!("the JWKS is malformed: {e}")),
    };
    let header = match jsonwebtoken::decode_header(token) {
        Ok(h) => h,
        Err(e) => return Signature::Invalid(format!("bad header: {e}")),
    };
    let Some(jwk) = header.kid.as_deref().and_then(|kid| set.find(kid)) else {
        return Signature::UnknownKey { kid: header.kid };
    };
    let key = match DecodingKey::from_jwk(jwk) {
        Ok(k) => k,
        Err(e) => return Signature::Invalid(format!("unusable key: {e}")),
    };
    // Expiry and audience are checked separately, with clearer messages.
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    match jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation) {
        Ok(_) => Signature::Verified {
            kid: header.kid.unwrap_or_default(),
        },
        Err(e) => Signature::Invalid(e.to_string()),
    }
}
