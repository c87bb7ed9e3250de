//! IRSA, IAM Roles for Service Accounts: the pod's projected token (audience
//! `sts.amazonaws.com` unless the service account says otherwise) is exchanged with
//! `sts:AssumeRoleWithWebIdentity` through the cluster's IAM OIDC provider. The role's trust names
//! that provider and this service account's `sub`; the service account carries
//! `eks.amazonaws.com/role-arn`, which EKS's webhook turns into `AWS_ROLE_ARN` and
//! `AWS_WEB_IDENTITY_TOKEN_FILE` at pod creation.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{TrustError, TrustTarget};
use crate::desired::issuer_host_path;

/// The token audience EKS's webhook uses unless told otherwise (the policy engine's constant, so
/// trust policies and trust checks cannot disagree).
pub use iam_policy::trust::DEFAULT_AUDIENCE;
/// The ServiceAccount annotation EKS's pod-identity webhook reads for IRSA.
pub const ROLE_ARN_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
/// The ServiceAccount annotation for a non-default token audience.
pub const AUDIENCE_ANNOTATION: &str = "eks.amazonaws.com/audience";

/// IRSA's options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Irsa {
    /// Token audience the trust policy requires and the OIDC provider lists as a client id.
    pub audience: String,
}

impl Default for Irsa {
    fn default() -> Self {
        Irsa {
            audience: DEFAULT_AUDIENCE.to_string(),
        }
    }
}

impl Irsa {
    /// Whether the audience is the webhook's default (no annotation needed).
    pub fn has_default_audience(&self) -> bool {
        self.audience == DEFAULT_AUDIENCE
    }

    pub(super) fn trust_policy(
        &self,
        target: &TrustTarget,
        namespace: &str,
        service_account: &str,
    ) -> Result<Value, TrustError> {
        let issuer = target.issuer()?;
        Ok(web_identity_trust_policy(
            target.partition,
            target.account,
            issuer,
            namespace,
            service_account,
            &self.audience,
        )?)
    }

    pub(super) fn pattern_trust_policy(
        &self,
        target: &TrustTarget,
        subject_pattern: &str,
    ) -> Result<Value, TrustError> {
        let issuer = target.issuer()?;
        Ok(pattern_web_identity_trust_policy(
            target.partition,
            target.account,
            issuer,
            subject_pattern,
            &self.audience,
        )?)
    }

    /// Whether `trust` lets this binding's token (`sub` of `namespace/service_account`, `aud` of
    /// this audience) through the cluster's OIDC provider, as the policy engine evaluates it.
    pub(super) fn trust_admits(
        &self,
        trust: &Value,
        target: &TrustTarget,
        namespace: &str,
        service_account: &str,
    ) -> Result<bool, TrustError> {
        let issuer = target.issuer()?;
        let provider = crate::desired::oidc_provider_arn(target.partition, target.account, issuer)?;
        let claims = iam_policy::trust::TokenClaims::for_service_account(
            namespace,
            service_account,
            &self.audience,
        );
        Ok(iam_policy::document::PolicyDocument::from_value(trust)
            .ok()
            .and_then(|doc| iam_policy::trust::check_web_identity(&doc, &provider, &claims).ok())
            .is_some_and(|check| check.allowed))
    }

    pub(super) fn trust_summary(&self, namespace: &str, service_account: &str) -> String {
        format!(
            "trusts {namespace}/{service_account} (aud {})",
            self.audience
        )
    }

    pub(super) fn service_account_annotations(&self, role_arn: &str) -> BTreeMap<String, String> {
        let mut annotations = BTreeMap::new();
        annotations.insert(ROLE_ARN_ANNOTATION.to_string(), role_arn.to_string());
        if !self.has_default_audience() {
            annotations.insert(AUDIENCE_ANNOTATION.to_string(), self.audience.clone());
        }
        annotations
    }
}

/// The web-identity trust policy of a role shared by every service account whose subject
/// matches `subject_pattern` (`system:serviceaccount:apps:worker-*`): `StringLike` on `sub`,
/// while `aud` stays under `StringEquals` (IAM User Guide, "Create a role for OpenID Connect
/// federation"; EKS User Guide, "Assign IAM roles to Kubernetes service accounts", which uses
/// `StringLike` for a wildcard subject).
pub fn pattern_web_identity_trust_policy(
    partition: &str,
    account: &str,
    issuer_url: &str,
    subject_pattern: &str,
    audience: &str,
) -> Result<Value, crate::desired::IssuerError> {
    let issuer = issuer_host_path(issuer_url)?;
    Ok(json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Federated": format!("arn:{partition}:iam::{account}:oidc-provider/{issuer}") },
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringLike": { format!("{issuer}:sub"): subject_pattern },
                "StringEquals": { format!("{issuer}:aud"): audience }
            }
        }]
    }))
}

/// The web-identity trust policy of a role: only `system:serviceaccount:<ns>:<name>` with
/// tokens for `audience`, from the cluster's OIDC provider, may assume it.
pub fn web_identity_trust_policy(
    partition: &str,
    account: &str,
    issuer_url: &str,
    namespace: &str,
    service_account: &str,
    audience: &str,
) -> Result<Value, crate::desired::IssuerError> {
    let issuer = issuer_host_path(issuer_url)?;
    let mut equals = serde_json::Map::new();
    equals.insert(
        format!("{issuer}:sub"),
        Value::String(iam_policy::trust::service_account_subject(
            namespace,
            service_account,
        )),
    );
    equals.insert(format!("{issuer}:aud"), Value::String(audience.to_string()));
    Ok(json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Federated": format!("arn:{partition}:iam::{account}:oidc-provider/{issuer}") },
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": { "StringEquals": equals }
        }]
    }))
}
