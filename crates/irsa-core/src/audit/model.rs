//! The serde model of IAM's `GetAccountAuthorizationDetails` answer, in the PascalCase shape
//! `aws iam get-account-authorization-details` writes (and the live adapter builds): roles with
//! their trust policy, inline and attached policies, tags, last use and permissions boundary, and
//! the managed policies with their versions. Policy documents are kept as raw JSON
//! ([`PolicyText`]) and parsed by the policy engine only when audited: the CLI writes them as JSON
//! objects, the raw API as URL-encoded strings, and both are accepted. Users and groups are not
//! modelled: serde skips their contents without building them.

use iam_policy::document::{ParseError, PolicyDocument};
use serde::Deserialize;
use serde_json::value::RawValue;

/// A whole dump (one page or all of them merged, as the aws CLI writes it).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountAuthorizationDetails {
    #[serde(default)]
    pub role_detail_list: Vec<RoleDetail>,
    #[serde(default)]
    pub policies: Vec<ManagedPolicyDetail>,
}

/// The snapshot file could not be read as a `GetAccountAuthorizationDetails` dump.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("not a get-account-authorization-details dump: {0}")]
    Json(#[from] serde_json::Error),
    #[error(
        "not a get-account-authorization-details dump: expected a JSON object with RoleDetailList or Policies (as `aws iam get-account-authorization-details` writes)"
    )]
    Shape,
}

impl AccountAuthorizationDetails {
    /// Parses the JSON the aws CLI writes (line and column in the error).
    pub fn from_json(text: &str) -> Result<AccountAuthorizationDetails, SnapshotError> {
        let looks_right = text.trim_start().starts_with('{')
            && (text.contains("\"RoleDetailList\"") || text.contains("\"Policies\""));
        if !looks_right {
            return Err(SnapshotError::Shape);
        }
        Ok(serde_json::from_str(text)?)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoleDetail {
    #[serde(default)]
    pub path: String,
    pub role_name: String,
    pub arn: String,
    #[serde(default)]
    pub create_date: Option<String>,
    #[serde(default)]
    pub assume_role_policy_document: Option<PolicyText>,
    #[serde(default)]
    pub role_policy_list: Vec<InlinePolicy>,
    #[serde(default)]
    pub attached_managed_policies: Vec<AttachedPolicy>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub role_last_used: Option<RoleLastUsed>,
    #[serde(default)]
    pub permissions_boundary: Option<PermissionsBoundary>,
}

impl RoleDetail {
    /// Service-linked roles (path `/aws-service-role/`) belong to AWS: their trust and policies
    /// cannot be edited, so they are not audited.
    pub fn is_service_linked(&self) -> bool {
        self.path.starts_with("/aws-service-role/")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InlinePolicy {
    pub policy_name: String,
    pub policy_document: PolicyText,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttachedPolicy {
    #[serde(default)]
    pub policy_name: String,
    pub policy_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoleLastUsed {
    #[serde(default)]
    pub last_used_date: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PermissionsBoundary {
    #[serde(default)]
    pub permissions_boundary_arn: Option<String>,
}

/// A managed policy. `Tags` is not part of IAM's answer (`None`); the live adapter fills it
/// with `ListPolicyTags` when required tags are checked.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManagedPolicyDetail {
    #[serde(default)]
    pub policy_name: String,
    pub arn: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub default_version_id: Option<String>,
    #[serde(default)]
    pub policy_version_list: Vec<PolicyVersionDetail>,
    #[serde(default)]
    pub tags: Option<Vec<Tag>>,
}

impl ManagedPolicyDetail {
    /// The default version's document: the one marked `IsDefaultVersion`, else the one whose id
    /// is `DefaultVersionId`.
    pub fn default_document(&self) -> Option<&PolicyText> {
        let by_flag = self
            .policy_version_list
            .iter()
            .find(|v| v.is_default_version);
        let by_id = || {
            self.policy_version_list
                .iter()
                .find(|v| Some(&v.version_id) == self.default_version_id.as_ref())
        };
        by_flag.or_else(by_id).and_then(|v| v.document.as_ref())
    }

    /// AWS managed policies live in the `aws` account: `arn:<partition>:iam::aws:policy/…`.
    pub fn is_aws_managed(&self) -> bool {
        is_aws_managed_arn(&self.arn)
    }
}

/// `arn:<partition>:iam::aws:policy/…`.
pub fn is_aws_managed_arn(arn: &str) -> bool {
    arn.split(':').nth(4) == Some("aws")
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyVersionDetail {
    #[serde(default)]
    pub document: Option<PolicyText>,
    #[serde(default)]
    pub version_id: String,
    #[serde(default)]
    pub is_default_version: bool,
}

/// A policy document as it appears in the dump: a JSON object (aws CLI) or a string holding
/// URL-encoded or raw JSON (the API). Kept unparsed until audited.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct PolicyText(Box<RawValue>);

impl PolicyText {
    /// From document text as IAM returns it (URL-encoded or raw JSON).
    pub fn from_api_text(text: &str) -> PolicyText {
        let quoted = serde_json::Value::String(text.to_string()).to_string();
        // A serialized JSON string is always valid JSON.
        PolicyText(RawValue::from_string(quoted).unwrap_or_else(|_| empty_object()))
    }

    /// The document's JSON text, URL-decoded when the dump holds it encoded (for its size).
    pub fn json_text(&self) -> String {
        let raw = self.0.get();
        if !raw.starts_with('"') {
            return raw.to_string();
        }
        let text: String = serde_json::from_str(raw).unwrap_or_default();
        iam_policy::document::decode_document_text(&text)
            .map(|t| t.into_owned())
            .unwrap_or(text)
    }

    /// Parses the document with the policy engine.
    pub fn parse(&self) -> Result<PolicyDocument, ParseError> {
        let raw = self.0.get();
        if raw.starts_with('"') {
            let text: String = serde_json::from_str(raw).map_err(|e| ParseError {
                path: String::new(),
                message: format!("invalid JSON string: {e}"),
            })?;
            PolicyDocument::parse(&text)
        } else {
            PolicyDocument::parse(raw)
        }
    }
}

fn empty_object() -> Box<RawValue> {
    RawValue::from_string("{}".to_string()).expect("`{}` is JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    const OBJECT_FORM: &str = r#"{"RoleDetailList":[{"Path":"/","RoleName":"r","Arn":"arn:aws:iam::123456789012:role/r",
        "AssumeRolePolicyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]},
        "RolePolicyList":[{"PolicyName":"p","PolicyDocument":"%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22*%22%7D%5D%7D"}],
        "AttachedManagedPolicies":[],"Tags":[{"Key":"team","Value":"a"}],"RoleLastUsed":{"LastUsedDate":"2026-01-01T00:00:00+00:00","Region":"us-east-1"},
        "InstanceProfileList":[{"Roles":[{"Anything":1}]}]}],
        "UserDetailList":[{"UserName":"u","UserPolicyList":[{"PolicyDocument":{"Statement":[]}}]}],"GroupDetailList":[],
        "Policies":[{"PolicyName":"m","Arn":"arn:aws:iam::123456789012:policy/m","DefaultVersionId":"v2",
          "PolicyVersionList":[{"Document":{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]},"VersionId":"v2","IsDefaultVersion":true},
                               {"Document":{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]},"VersionId":"v1","IsDefaultVersion":false}]}]}"#;

    #[test]
    fn reads_the_cli_shape_with_object_and_url_encoded_documents() {
        let details = AccountAuthorizationDetails::from_json(OBJECT_FORM).unwrap();
        let role = &details.role_detail_list[0];
        assert_eq!(role.role_name, "r");
        let trust = role
            .assume_role_policy_document
            .as_ref()
            .unwrap()
            .parse()
            .unwrap();
        assert!(trust.is_resource_based());
        let inline = role.role_policy_list[0].policy_document.parse().unwrap();
        assert_eq!(inline.statements[0].action.patterns, vec!["s3:GetObject"]);
        assert_eq!(
            role.role_last_used.as_ref().unwrap().region.as_deref(),
            Some("us-east-1")
        );
        let policy = &details.policies[0];
        let default = policy.default_document().unwrap().parse().unwrap();
        assert_eq!(default.statements[0].action.patterns, vec!["*"]);
        assert!(policy.tags.is_none());
    }

    #[test]
    fn api_text_round_trips_through_policy_text() {
        let text = PolicyText::from_api_text(
            "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Deny%22%2C%22Action%22%3A%22*%22%2C%22Resource%22%3A%22*%22%7D%5D%7D",
        );
        assert_eq!(text.parse().unwrap().statements.len(), 1);
    }

    #[test]
    fn bad_dump_is_an_error_with_position() {
        let err = AccountAuthorizationDetails::from_json(r#"{"RoleDetailList":[{"RoleName":1}]}"#)
            .unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
        assert!(matches!(
            AccountAuthorizationDetails::from_json("[]"),
            Err(SnapshotError::Shape)
        ));
        assert!(matches!(
            AccountAuthorizationDetails::from_json(r#"{"Users":[]}"#),
            Err(SnapshotError::Shape)
        ));
    }

    #[test]
    fn recognises_aws_managed_arns() {
        assert!(is_aws_managed_arn(
            "arn:aws:iam::aws:policy/AdministratorAccess"
        ));
        assert!(!is_aws_managed_arn("arn:aws:iam::123456789012:policy/x"));
    }
}
