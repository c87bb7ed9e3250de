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

#[cfg(test)]
mod tests {
    use super::*;
    use testkit::fake_kube::TokenIssuer;
    use testkit::fake_kube::tokens::TokenSpec;

    fn mint(issuer: &TokenIssuer, rogue: bool, expires_in_seconds: i64) -> String {
        let spec = TokenSpec {
            namespace: "apps",
            service_account: "web",
            service_account_uid: "uid-1",
            audiences: vec!["sts.amazonaws.com".into()],
            expires_in_seconds,
            pod: None,
            rogue,
        };
        issuer.mint(&spec).0
    }

    #[test]
    fn verifies_signatures_against_the_jwks() {
        let issuer = TokenIssuer::new("https://oidc.eks.us-east-1.amazonaws.com/id/T");
        let jwks = issuer.jwks();
        let good = facts(&mint(&issuer, false, 600), Ok(&jwks)).unwrap();
        assert!(
            matches!(good.signature, Signature::Verified { .. }),
            "{good:?}"
        );
        assert_eq!(good.subject, "system:serviceaccount:apps:web");
        assert_eq!(good.audiences, vec!["sts.amazonaws.com"]);
        let rogue = facts(&mint(&issuer, true, 600), Ok(&jwks)).unwrap();
        assert!(
            matches!(rogue.signature, Signature::UnknownKey { .. }),
            "{rogue:?}"
        );
        let expired = facts(&mint(&issuer, false, -30), Ok(&jwks)).unwrap();
        assert!(
            expired.expires_at < now_secs(),
            "expired tokens still decode, and expiry is checked separately"
        );
        let unavailable = facts(&mint(&issuer, false, 600), Err("down".into())).unwrap();
        assert_eq!(unavailable.signature, Signature::Unavailable("down".into()));
        assert!(facts("not-a-jwt", Ok(&jwks)).is_err());
    }

    fn now_secs() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }
}
