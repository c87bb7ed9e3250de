//! The layers of a request beyond the caller's own policies, as irsa observed them: the
//! resource-based policies of the resources a workload depends on (KMS key policies, S3 bucket
//! policies) and the organization's service control policies (SCPs) over the account, one level
//! per target from the root down to the account. Doctor and verify read them once and decide
//! every request through [`iam_policy::authorization`] with them; what could not be read is
//! "not checked", with the reason, never a failure.
//!
//! A resource policy that was not read stands aside: it is replaced by a statement admitting the
//! caller's account, so the caller's own policies decide (within one account such a statement
//! delegates to them; across accounts both sides must allow and this side does), and the layer is
//! reported as not checked.
//!
//! An account in no organization has no SCP layer, and SCPs do not apply to the organization's
//! management account
//! (<https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html>,
//! "Tasks and entities not restricted by SCPs").

use std::collections::BTreeMap;

use iam_policy::authorization::{Authorization, Authorizer, AuthzRequest, Caller, Policies};
use iam_policy::context::Context;
use iam_policy::document::{ParseError, PolicyDocument};
use serde_json::json;

/// A read that may not have been possible.
#[derive(Debug, Clone, PartialEq)]
pub enum Observed<T> {
    Read(T),
    /// Why it was not read: "AccessDeniedException: …".
    NotChecked(String),
}

/// What was read of one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceFacts {
    /// Its resource-based policy; `Read(None)` when it has none (S3's NoSuchBucketPolicy).
    pub policy: Observed<Option<serde_json::Value>>,
    /// Whether the caller's account owns it, when the resource's ARN does not say (S3 buckets:
    /// listed by ListBuckets); `None` when not known.
    pub own_account: Option<bool>,
}

/// The policies of one SCP level.
#[derive(Debug, Clone, PartialEq)]
pub struct ScpLevel {
    /// The root, OU or account id the policies are attached to.
    pub target: String,
    /// `(policy name, document)`.
    pub policies: Vec<(String, serde_json::Value)>,
}

/// The SCP layer of the account.
#[derive(Debug, Clone, PartialEq)]
pub enum Scps {
    /// Root first, the account last.
    Levels(Vec<ScpLevel>),
    /// The account is the organization's management account: no SCP applies to it.
    ManagementAccount,
    /// The account is in no organization (DescribeOrganization answers
    /// AWSOrganizationsNotInUseException): there is no SCP layer.
    NoOrganization,
    /// Not read, and why (the account is in no organization, or reading is not allowed).
    NotChecked(String),
}

/// Everything read beyond the caller's own policies.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceLayers {
    /// Resource ARN (a KMS key ARN, a bucket ARN `arn:<partition>:s3:::<bucket>`) → what was read.
    pub resources: BTreeMap<String, ResourceFacts>,
    /// `None` when not read (nothing asked for it).
    pub scps: Option<Scps>,
}

/// An SCP level, parsed: its target and documents.
pub type ParsedLevel = (String, Vec<PolicyDocument>);

/// What the layers add to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestLayers {
    /// The resource-based policy to decide with (a stand-in when it was not read).
    pub resource_policy: Option<PolicyDocument>,
    /// The value of `aws:ResourceAccount`, when the ARN does not carry it and it is known.
    pub resource_account: Option<String>,
    /// Why the resource-based policy was not read.
    pub not_checked: Option<String>,
}

/// The ARN of the resource that holds `resource`'s resource-based policy: a bucket for its
/// objects (`arn:aws:s3:::b/key` → `arn:aws:s3:::b`), else `resource` itself.
pub fn policy_holder(resource: &str) -> &str {
    match resource.split_once(":s3:::") {
        Some((_, rest)) => match rest.find('/') {
            Some(slash) => &resource[..resource.len() - rest.len() + slash],
            None => resource,
        },
        None => resource,
    }
}

impl ResourceLayers {
    /// The resource-based side of a request on `resource` by a caller of `caller_account`.
    pub fn for_request(
        &self,
        resource: &str,
        partition: &str,
        caller_account: &str,
    ) -> Result<RequestLayers, ParseError> {
        let Some(facts) = self.resources.get(policy_holder(resource)) else {
            return Ok(RequestLayers {
                resource_policy: None,
                resource_account: None,
                not_checked: None,
            });
        };
        let resource_account =
            (facts.own_account == Some(true)).then(|| caller_account.to_string());
        let (resource_policy, not_checked) = match &facts.policy {
            Observed::Read(None) => (None, None),
            Observed::Read(Some(document)) => (Some(PolicyDocument::from_value(document)?), None),
            Observed::NotChecked(why) => (
                Some(stand_in(partition, caller_account)?),
                Some(why.clone()),
            ),
        };
        Ok(RequestLayers {
            resource_policy,
            resource_account,
            not_checked,
        })
    }

    /// The SCP levels that apply (none for the management account or when not read), root
    /// first, each as `(target, documents)`; a document that does not parse is an error naming
    /// its policy.
    pub fn scp_levels(&self) -> Result<Vec<ParsedLevel>, (String, ParseError)> {
        let Some(Scps::Levels(levels)) = &self.scps else {
            return Ok(Vec::new());
        };
        levels
            .iter()
            .map(|level| {
                let documents = level
                    .policies
                    .iter()
                    .map(|(name, document)| {
                        PolicyDocument::from_value_identity_based(document)
                            .map_err(|e| (format!("SCP {name} on {}", level.target), e))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((level.target.clone(), documents))
            })
            .collect()
    }

    /// Why the SCP layer was not checked, when it was asked for and not read.
    pub fn scps_not_checked(&self) -> Option<&str> {
        match &self.scps {
            Some(Scps::NotChecked(why)) => Some(why),
            _ => None,
        }
    }
}

/// One request by `caller` decided through its own layers (`policies`: identity-based, boundary,
/// session) and `layers` (the SCP levels, the resource's policy), with the request context
/// completed (the caller's keys, `aws:ResourceAccount` when known, `aws:SecureTransport`: the
/// SDKs use TLS). Returns the authorization and what was not checked, or why it cannot be
/// decided.
pub fn authorize(
    layers: &ResourceLayers,
    mut policies: Policies,
    caller: &Caller,
    partition: &str,
    action: &str,
    resource: &str,
) -> Result<(Authorization, Vec<String>), String> {
    let account = caller.account.as_deref().unwrap_or_default();
    let request_layers = layers
        .for_request(resource, partition, account)
        .map_err(|e| {
            format!(
                "the resource-based policy of {}: {e}",
                policy_holder(resource)
            )
        })?;
    policies.resource = request_layers.resource_policy;
    policies.scp_levels = layers
        .scp_levels()
        .map_err(|(what, e)| format!("{what}: {e}"))?
        .into_iter()
        .map(|(_, documents)| documents)
        .collect();
    let mut notes: Vec<String> = request_layers
        .not_checked
        .map(|why| {
            format!(
                "the resource-based policy of {} not checked: {why}",
                policy_holder(resource)
            )
        })
        .into_iter()
        .collect();
    if let Some(why) = layers.scps_not_checked() {
        notes.push(format!("SCP layer not checked: {why}"));
    }
    let mut context = Context::new().with("aws:SecureTransport", "true");
    if let Some(account) = request_layers.resource_account {
        context.insert("aws:ResourceAccount", account);
    }
    caller.fill_context(&mut context);
    let authorizer = Authorizer::new(policies).map_err(|e| e.to_string())?;
    let authorization = authorizer
        .authorize(&AuthzRequest {
            caller: Some(caller),
            action,
            resource,
            context: &context,
        })
        .map_err(|e| e.to_string())?;
    Ok((authorization, notes))
}

/// The statement that stands for a resource policy not read: it admits the caller's account.
fn stand_in(partition: &str, account: &str) -> Result<PolicyDocument, ParseError> {
    PolicyDocument::from_value(&json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "NotCheckedDelegatesToTheCallersPolicies",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:{partition}:iam::{account}:root")},
            "Action": "*",
            "Resource": "*",
        }],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_hold_their_buckets_policy() {
        assert_eq!(policy_holder("arn:aws:s3:::b/k/x"), "arn:aws:s3:::b");
        assert_eq!(policy_holder("arn:aws:s3:::b"), "arn:aws:s3:::b");
        let key = "arn:aws:kms:us-east-1:123456789012:key/k";
        assert_eq!(policy_holder(key), key);
    }

    #[test]
    fn an_unread_policy_stands_aside_and_says_why() {
        let mut layers = ResourceLayers::default();
        layers.resources.insert(
            "arn:aws:s3:::b".into(),
            ResourceFacts {
                policy: Observed::NotChecked("AccessDenied".into()),
                own_account: Some(true),
            },
        );
        let out = layers
            .for_request("arn:aws:s3:::b/k", "aws", "123456789012")
            .unwrap();
        assert_eq!(out.not_checked.as_deref(), Some("AccessDenied"));
        assert_eq!(out.resource_account.as_deref(), Some("123456789012"));
        let statement = &out.resource_policy.unwrap().statements[0];
        assert!(statement.principal.is_some());
    }

    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html:
    // an explicit Deny in the bucket policy decides, whatever the role's policies allow.
    #[test]
    fn authorize_decides_through_the_bucket_policy_and_the_scps() {
        use iam_policy::authorization::LayerKind;
        use iam_policy::eval::Decision;
        let mut layers = ResourceLayers::default();
        layers.resources.insert(
            "arn:aws:s3:::b".into(),
            ResourceFacts {
                policy: Observed::Read(Some(json!({"Statement": [{"Effect": "Deny",
                    "Principal": "*", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::b/*"}]}))),
                own_account: Some(true),
            },
        );
        layers.scps = Some(Scps::NotChecked("AccessDenied".into()));
        let identity = PolicyDocument::from_value(
            &json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
        )
        .unwrap();
        let policies = Policies {
            identity: vec![identity],
            ..Policies::default()
        };
        let caller = Caller::parse("arn:aws:sts::123456789012:assumed-role/r/s").unwrap();
        let decide = |action: &str, resource: &str| {
            authorize(&layers, policies.clone(), &caller, "aws", action, resource).unwrap()
        };
        let (denied, notes) = decide("s3:DeleteObject", "arn:aws:s3:::b/k");
        assert_eq!(denied.decision, Decision::ExplicitDeny);
        assert_eq!(denied.deciding_layer().kind, LayerKind::Resource);
        assert_eq!(notes, ["SCP layer not checked: AccessDenied"]);
        let (allowed, _) = decide("s3:GetObject", "arn:aws:s3:::b/k");
        assert_eq!(allowed.decision, Decision::Allow);
    }

    #[test]
    fn management_account_has_no_scp_level() {
        let layers = ResourceLayers {
            scps: Some(Scps::ManagementAccount),
            ..ResourceLayers::default()
        };
        assert!(layers.scp_levels().unwrap().is_empty());
        assert_eq!(layers.scps_not_checked(), None);
    }
}
