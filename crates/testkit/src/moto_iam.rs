//! What the fakes ask moto's IAM and STS (query protocol, unsigned: moto routes on the
//! credential scope and checks no signature): a role's trust policy (GetRole), and AssumeRole
//! with session tags, a session policy and an external id, as EKS Pod Identity calls it. Also
//! the small check of a trust policy that EKS Pod Identity needs (not irsa's policy engine).

use std::collections::BTreeMap;

use axum::http::Request;
use bytes::Bytes;
use serde_json::Value;

use crate::aws_wire::query::{form_decode, form_encode, xml_text};
use crate::aws_wire::role_name;
use crate::forward::Forwarder;

/// The service principal of EKS Pod Identity.
pub const POD_IDENTITY_PRINCIPAL: &str = "pods.eks.amazonaws.com";

/// A SigV4-shaped Authorization header: moto takes the caller from its access key.
fn authorization(access_key: &str, service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential={access_key}/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"
    )
}

/// POSTs a query-protocol form; (status, XML body).
async fn call(
    moto: &Forwarder,
    caller: &str,
    service: &str,
    form: &[(&str, String)],
) -> Result<(u16, String), String> {
    let body: Vec<String> = form
        .iter()
        .map(|(k, v)| format!("{k}={}", form_encode(v)))
        .collect();
    let (parts, _) = Request::post("/")
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .header("authorization", authorization(caller, service))
        .body(())
        .map_err(|e| e.to_string())?
        .into_parts();
    let (response, bytes) = moto.send(parts, Bytes::from(body.join("&"))).await?;
    Ok((
        response.status.as_u16(),
        String::from_utf8_lossy(&bytes).into_owned(),
    ))
}

/// The role's trust policy, `None` when IAM has no such role.
pub async fn role_trust(moto: &Forwarder, role_arn: &str) -> Result<Option<Value>, String> {
    let (status, xml) = call(
        moto,
        "testing",
        "iam",
        &[
            ("Action", "GetRole".into()),
            ("Version", "2010-05-08".into()),
            ("RoleName", role_name(role_arn).into()),
        ],
    )
    .await?;
    if status == 404 || xml_text(&xml, "Code").as_deref() == Some("NoSuchEntity") {
        return Ok(None);
    }
    if !(200..300).contains(&status) {
        return Err(format!("moto answered GetRole with HTTP {status}: {xml}"));
    }
    let document = xml_text(&xml, "AssumeRolePolicyDocument").unwrap_or_default();
    // IAM answers the document URL-encoded.
    let decoded = form_decode(&document);
    serde_json::from_str(&decoded)
        .or_else(|_| serde_json::from_str(&document))
        .map(Some)
        .map_err(|e| format!("the trust policy of {role_arn} is not JSON: {e}"))
}

fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether some Allow statement names `Principal.Service` [`POD_IDENTITY_PRINCIPAL`] with
/// `sts:AssumeRole` and, when `tag_session`, `sts:TagSession` (actions compared without case,
/// `sts:*` and `*` included). Conditions are not evaluated.
pub fn trusts_pod_identity(trust: &Value, tag_session: bool) -> bool {
    let statements = match &trust["Statement"] {
        Value::Array(list) => list.iter().collect::<Vec<_>>(),
        single @ Value::Object(_) => vec![single],
        _ => Vec::new(),
    };
    statements.iter().any(|s| {
        let allows = |action: &str| {
            strings(&s["Action"]).iter().any(|a| {
                let a = a.to_ascii_lowercase();
                a == "*" || a == "sts:*" || a == action
            })
        };
        s["Effect"] == "Allow"
            && strings(&s["Principal"]["Service"]).contains(&POD_IDENTITY_PRINCIPAL)
            && allows("sts:assumerole")
            && (!tag_session || allows("sts:tagsession"))
    })
}

/// An AssumeRole as EKS Pod Identity sends it.
#[derive(Debug, Clone, Default)]
pub struct AssumeRole {
    pub role_arn: String,
    pub session_name: String,
    pub duration_seconds: u32,
    /// Session tags (all transitive), in order.
    pub tags: Vec<(String, String)>,
    pub policy: Option<String>,
    pub external_id: Option<String>,
    /// The caller's access key (for a chained AssumeRole), else moto's default identity.
    pub access_key_id: Option<String>,
}

/// What STS answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assumed {
    pub arn: String,
    pub assumed_role_id: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expiration: String,
}

/// Calls moto's STS AssumeRole; the error is STS's (code, message).
pub async fn assume_role(
    moto: &Forwarder,
    request: &AssumeRole,
) -> Result<Assumed, (String, String)> {
    let mut form: Vec<(String, String)> = vec![
        ("Action".into(), "AssumeRole".into()),
        ("Version".into(), "2011-06-15".into()),
        ("RoleArn".into(), request.role_arn.clone()),
        ("RoleSessionName".into(), request.session_name.clone()),
        (
            "DurationSeconds".into(),
            request.duration_seconds.to_string(),
        ),
    ];
    for (i, (key, value)) in request.tags.iter().enumerate() {
        form.push((format!("Tags.member.{}.Key", i + 1), key.clone()));
        form.push((format!("Tags.member.{}.Value", i + 1), value.clone()));
        form.push((format!("TransitiveTagKeys.member.{}", i + 1), key.clone()));
    }
    if let Some(policy) = &request.policy {
        form.push(("Policy".into(), policy.clone()));
    }
    if let Some(external_id) = &request.external_id {
        form.push(("ExternalId".into(), external_id.clone()));
    }
    let form: Vec<(&str, String)> = form.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let caller = request.access_key_id.as_deref().unwrap_or("testing");
    let (status, xml) = call(moto, caller, "sts", &form)
        .await
        .map_err(|e| ("ServiceUnavailable".to_string(), e))?;
    if !(200..300).contains(&status) {
        return Err((
            xml_text(&xml, "Code").unwrap_or_else(|| status.to_string()),
            xml_text(&xml, "Message").unwrap_or_default(),
        ));
    }
    let field = |tag: &str| xml_text(&xml, tag).unwrap_or_default();
    Ok(Assumed {
        arn: field("Arn"),
        assumed_role_id: field("AssumedRoleId"),
        access_key_id: field("AccessKeyId"),
        secret_access_key: field("SecretAccessKey"),
        session_token: field("SessionToken"),
        expiration: field("Expiration"),
    })
}

/// Session tags by key (for tests and events).
pub fn tag_map(tags: &[(String, String)]) -> BTreeMap<String, String> {
    tags.iter().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn trust_needs_the_service_principal_and_both_actions() {
        let good = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}]});
        assert!(trusts_pod_identity(&good, true));
        let no_tag = json!({"Statement": {"Effect": "Allow",
            "Principal": {"Service": ["pods.eks.amazonaws.com"]}, "Action": "sts:AssumeRole"}});
        assert!(!trusts_pod_identity(&no_tag, true));
        assert!(trusts_pod_identity(&no_tag, false));
        let irsa = json!({"Statement": [{"Effect": "Allow",
            "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/x"}, "Action": "sts:AssumeRoleWithWebIdentity"}]});
        assert!(!trusts_pod_identity(&irsa, false));
        let deny = json!({"Statement": [{"Effect": "Deny",
            "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": "sts:*"}]});
        assert!(!trusts_pod_identity(&deny, false));
        let star = json!({"Statement": [{"Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": "sts:*"}]});
        assert!(trusts_pod_identity(&star, true));
    }
}
