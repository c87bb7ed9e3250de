//! The reads behind the layers beyond a role's own policies
//! ([`irsa_core::resource_layers`]), done once per command and shared by doctor and verify: the
//! key policy of each KMS key (kms:GetKeyPolicy, policy name `default`, in the key's region), the
//! bucket policy of each S3 bucket (s3:GetBucketPolicy; `NoSuchBucketPolicy` means the bucket has
//! none) with the account's own buckets (s3:ListBuckets, to tell a bucket in another account:
//! bucket ARNs carry no account), and the SCPs over the account (organizations:DescribeOrganization,
//! then ListParents from the account up to the root, ListPoliciesForTarget with the
//! `SERVICE_CONTROL_POLICY` filter at each level and DescribePolicy for each policy's content).
//! An account in no organization (AWSOrganizationsNotInUseException) has no SCP layer. Every read
//! that fails otherwise (AccessDenied, a service that cannot be reached) is kept as "not checked"
//! with the error: these reads never fail a command.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_organizations::types::{ParentType, PolicyType};
use futures_util::future::join_all;
use irsa_core::resource_layers::{Observed, ResourceFacts, ResourceLayers, ScpLevel, Scps};

use crate::clients::Clients;
use crate::error::{AwsError, all_items};

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct ResourceLayersRequest {
    /// KMS key ARNs and bucket ARNs (`arn:<partition>:s3:::<bucket>`).
    pub resources: Vec<String>,
    /// Read the SCPs over `account`.
    pub scps: bool,
    /// The account of the caller (whose SCPs apply).
    pub account: String,
}

/// Reads every layer `request` names, concurrently.
pub async fn read_resource_layers(
    clients: &Clients,
    request: &ResourceLayersRequest,
) -> ResourceLayers {
    let (keys, buckets): (Vec<&String>, Vec<&String>) = request
        .resources
        .iter()
        .partition(|arn| arn.split(':').nth(2) == Some("kms"));
    let (key_facts, bucket_facts, scps) = tokio::join!(
        join_all(keys.iter().map(|arn| async move {
            let facts = ResourceFacts {
                policy: observed(key_policy(clients, arn).await.map(Some)),
                own_account: None,
            };
            (arn.to_string(), facts)
        })),
        bucket_layers(clients, &buckets),
        async {
            if request.scps {
                Some(scps(clients, &request.account).await)
            } else {
                None
            }
        },
    );
    ResourceLayers {
        resources: key_facts.into_iter().chain(bucket_facts).collect(),
        scps,
    }
}

fn observed<T>(read: Result<T, AwsError>) -> Observed<T> {
    match read {
        Ok(value) => Observed::Read(value),
        Err(e) => Observed::NotChecked(e.to_string()),
    }
}

/// The `default` key policy of `arn`, read in the key's region.
pub async fn key_policy(clients: &Clients, arn: &str) -> Result<serde_json::Value, AwsError> {
    let region = arn.split(':').nth(3).unwrap_or_default();
    let out = clients
        .kms_for_region(region)
        .get_key_policy()
        .key_id(arn)
        .policy_name("default")
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("kms:GetKeyPolicy", arn, e))?;
    parse_policy("kms:GetKeyPolicy", arn, out.policy())
}

fn parse_policy(
    operation: &'static str,
    resource: &str,
    text: Option<&str>,
) -> Result<serde_json::Value, AwsError> {
    let text = text.unwrap_or_default();
    serde_json::from_str(text).map_err(|e| {
        AwsError::new(
            crate::ErrorKind::InvalidResponse,
            operation,
            resource,
            format!("the policy is not JSON: {e}"),
        )
    })
}

/// Each bucket's policy and whether the account owns it.
async fn bucket_layers(clients: &Clients, arns: &[&String]) -> Vec<(String, ResourceFacts)> {
    if arns.is_empty() {
        return Vec::new();
    }
    let (owned, policies) = tokio::join!(
        own_buckets(clients),
        join_all(arns.iter().map(|arn| async move {
            let bucket = arn.rsplit(':').next().unwrap_or_default();
            (arn, bucket, bucket_policy(clients, bucket).await)
        })),
    );
    policies
        .into_iter()
        .map(|(arn, bucket, policy)| {
            let facts = ResourceFacts {
                policy: observed(policy),
                own_account: owned.as_ref().ok().map(|own| own.contains(bucket)),
            };
            (arn.to_string(), facts)
        })
        .collect()
}

/// The bucket policy of `bucket`; `None` when it has none.
pub async fn bucket_policy(
    clients: &Clients,
    bucket: &str,
) -> Result<Option<serde_json::Value>, AwsError> {
    match clients.s3.get_bucket_policy().bucket(bucket).send().await {
        Ok(out) => parse_policy("s3:GetBucketPolicy", bucket, out.policy()).map(Some),
        Err(e) => {
            let e = AwsError::from_sdk("s3:GetBucketPolicy", bucket, e);
            if e.code.as_deref() == Some("NoSuchBucketPolicy") {
                Ok(None)
            } else {
                Err(e)
            }
        }
    }
}

/// The names of the buckets the account owns (ListBuckets, paged).
async fn own_buckets(clients: &Clients) -> Result<BTreeSet<String>, AwsError> {
    let buckets = all_items(
        clients.s3.list_buckets().into_paginator().items().send(),
        "s3:ListBuckets",
        "",
    )
    .await?;
    Ok(buckets
        .iter()
        .filter_map(|b| b.name().map(str::to_string))
        .collect())
}

/// The SCP layer over `account`.
pub async fn scps(clients: &Clients, account: &str) -> Scps {
    let organization = match clients.organizations.describe_organization().send().await {
        Ok(out) => out,
        Err(e) => {
            let e = AwsError::from_sdk("organizations:DescribeOrganization", account, e);
            if e.code.as_deref() == Some("AWSOrganizationsNotInUseException") {
                return Scps::NoOrganization;
            }
            return Scps::NotChecked(e.to_string());
        }
    };
    let management = organization
        .organization()
        .and_then(|o| o.master_account_id());
    if management == Some(account) {
        return Scps::ManagementAccount;
    }
    match scp_levels(clients, account).await {
        Ok(levels) => Scps::Levels(levels),
        Err(e) => Scps::NotChecked(e.to_string()),
    }
}

/// Organizations nest OUs at most five deep under the root: a longer walk is a loop.
const MAX_DEPTH: usize = 7;

/// The SCPs attached to each level from the organization root down to `account`.
pub async fn scp_levels(clients: &Clients, account: &str) -> Result<Vec<ScpLevel>, AwsError> {
    let mut targets = vec![account.to_string()];
    loop {
        let child = targets.last().cloned().unwrap_or_default();
        // Organizations' paginators have pages, not items.
        let pages = all_items(
            clients
                .organizations
                .list_parents()
                .child_id(&child)
                .into_paginator()
                .send(),
            "organizations:ListParents",
            &child,
        )
        .await?;
        let Some(parent) = pages.iter().flat_map(|p| p.parents()).next() else {
            break;
        };
        targets.push(parent.id().unwrap_or_default().to_string());
        if parent.r#type() == Some(&ParentType::Root) || targets.len() > MAX_DEPTH {
            break;
        }
    }
    targets.reverse();
    let mut contents: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    let mut levels = Vec::new();
    for target in targets {
        let pages = all_items(
            clients
                .organizations
                .list_policies_for_target()
                .target_id(&target)
                .filter(PolicyType::ServiceControlPolicy)
                .into_paginator()
                .send(),
            "organizations:ListPoliciesForTarget",
            &target,
        )
        .await?;
        let mut policies = Vec::new();
        for summary in pages.iter().flat_map(|p| p.policies()) {
            let id = summary.id().unwrap_or_default().to_string();
            if !contents.contains_key(&id) {
                contents.insert(id.clone(), policy_content(clients, &id).await?);
            }
            let name = summary.name().unwrap_or(&id).to_string();
            policies.push((name, contents[&id].clone()));
        }
        levels.push(ScpLevel { target, policies });
    }
    Ok(levels)
}

async fn policy_content(clients: &Clients, id: &str) -> Result<serde_json::Value, AwsError> {
    let out = clients
        .organizations
        .describe_policy()
        .policy_id(id)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("organizations:DescribePolicy", id, e))?;
    let content = out.policy().and_then(|p| p.content());
    parse_policy("organizations:DescribePolicy", id, content)
}
