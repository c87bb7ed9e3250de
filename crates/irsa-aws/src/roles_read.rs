//! Reading the roles a command names, and their policies, once: the one place that chooses how
//! ([`observe_roles_bulk`]). Up to [`WALK_THRESHOLD`] roles are read one by one, as
//! [`crate::observe`] reads them (GetRole, then ListAttachedRolePolicies and ListRolePolicies; with
//! documents, GetPolicy, GetPolicyVersion and ListPolicyVersions per attached or boundary policy
//! and GetRolePolicy per inline policy). Past it, one paged `GetAccountAuthorizationDetails` walk
//! ([`crate::authorization_details::walk`], Filter `Role`, `LocalManagedPolicy` and
//! `AWSManagedPolicy`, 1,000 items a page) returns every role of the account with its trust
//! policy, tags, boundary, inline policies' documents and attached policies, and the managed
//! policies with every version's document: a few calls whatever the number of roles. A boundary
//! the walk did not return (an AWS managed policy attached to nothing) is read one by one. When
//! the walk is refused (AccessDenied: many callers may read roles but not the whole account),
//! the roles are read one by one and [`RolesRead::via`] says so, for the command to tell the user.
//! Plan and apply's observation reads its roles the same way ([`observe_with_roles_bulk`]).
//!
//! The threshold: one role costs 3 calls (5 with one attached policy's documents and 6 with an
//! inline one), the walk one call a page; the walk returns the whole account, so for a handful
//! of roles in a large account it reads far more than needed. At 20 roles the per-role reads are
//! 60 to 120 calls, several seconds against IAM's read throttle, while a walk of an account with
//! a few thousand roles is a few pages (see docs/benchmarks.md).

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_iam::types::EntityType;
use futures_util::future::try_join_all;
use irsa_core::snapshot::{ManagedPolicy, PolicyVersion, Role, Snapshot};
use tokio::sync::Semaphore;

use crate::clients::Clients;
use crate::error::{AwsError, ErrorKind};
use crate::observe::{
    ObserveRequest, decode_document, limited, observe_policy, observe_role, oldest_first, rfc3339,
    tags,
};

/// Past this many roles, the account walk reads them.
pub const WALK_THRESHOLD: usize = 20;

/// Inline policies of each role: role name → (policy name, document).
pub type InlinePolicies = BTreeMap<String, Vec<(String, serde_json::Value)>>;

/// How the roles were read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadVia {
    /// One by one (few roles).
    PerRole,
    /// One paged GetAccountAuthorizationDetails walk.
    AccountWalk,
    /// One by one because the walk was refused (its error message).
    PerRoleWalkDenied(String),
}

/// The roles that exist among those named, and, when documents were asked for, their attached
/// and boundary policies and inline policies' documents.
#[derive(Debug, Clone)]
pub struct RolesRead {
    pub roles: Vec<Role>,
    pub policies: Vec<ManagedPolicy>,
    pub inline: InlinePolicies,
    pub via: ReadVia,
}

/// Reads the roles `names` (duplicates read once; absent ones left out); with `documents`, also
/// their policies' documents. See the module doc for the calls.
pub async fn observe_roles_bulk(
    clients: &Clients,
    names: &[String],
    documents: bool,
) -> Result<RolesRead, AwsError> {
    let names = distinct(names);
    if names.len() <= WALK_THRESHOLD {
        return per_role(clients, &names, documents, ReadVia::PerRole).await;
    }
    match account_walk(clients, &names).await {
        Ok(read) => complete_boundaries(clients, read, documents).await,
        Err(e) if e.kind == ErrorKind::AccessDenied => {
            per_role(
                clients,
                &names,
                documents,
                ReadVia::PerRoleWalkDenied(e.to_string()),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

/// [`crate::observe`] (plan and apply's observation) with the named roles read as
/// [`observe_roles_bulk`] reads them: up to [`WALK_THRESHOLD`] within the observation, one by one
/// (its calls and rounds unchanged); past it, beside the rest of the observation, by the account
/// walk (falling back to one by one when it is refused). The snapshot, and how its roles were read.
pub async fn observe_with_roles_bulk(
    clients: &Clients,
    request: &ObserveRequest,
) -> Result<(Snapshot, ReadVia), AwsError> {
    let names = distinct(&request.role_names);
    if names.len() <= WALK_THRESHOLD {
        return Ok((crate::observe(clients, request).await?, ReadVia::PerRole));
    }
    let rest = ObserveRequest {
        role_names: Vec::new(),
        ..request.clone()
    };
    let (mut snapshot, roles) = tokio::try_join!(
        crate::observe(clients, &rest),
        observe_roles_bulk(clients, &names, false)
    )?;
    snapshot.roles = roles.roles;
    Ok((snapshot, roles.via))
}

/// `names` sorted, once each.
fn distinct(names: &[String]) -> Vec<String> {
    names
        .iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The per-role reads.
async fn per_role(
    clients: &Clients,
    names: &[String],
    documents: bool,
    via: ReadVia,
) -> Result<RolesRead, AwsError> {
    let limit = Semaphore::new(clients.options().max_concurrency.max(1));
    let limit = &limit;
    let roles: Vec<Role> =
        try_join_all(names.iter().map(|name| observe_role(clients, limit, name)))
            .await?
            .into_iter()
            .flatten()
            .collect();
    if !documents {
        return Ok(RolesRead {
            roles,
            policies: Vec::new(),
            inline: InlinePolicies::new(),
            via,
        });
    }
    let arns = policy_arns(&roles);
    let (policies, inline) = tokio::try_join!(
        try_join_all(arns.iter().map(|arn| observe_policy(clients, limit, arn))),
        try_join_all(roles.iter().map(|role| async move {
            let docs = limited(
                limit,
                crate::doctor_reads::inline_policies(
                    clients,
                    &role.name,
                    &role.inline_policy_names,
                ),
            )
            .await?;
            Ok::<_, AwsError>((role.name.clone(), docs))
        })),
    )?;
    Ok(RolesRead {
        roles,
        policies: policies.into_iter().flatten().collect(),
        inline: inline.into_iter().collect(),
        via,
    })
}

/// The attached and boundary policy ARNs of `roles`, sorted, once each.
fn policy_arns(roles: &[Role]) -> Vec<String> {
    roles
        .iter()
        .flat_map(|r| r.attached_policy_arns.iter().chain(&r.permissions_boundary))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The walk, keeping the named roles and the policies they use.
async fn account_walk(clients: &Clients, names: &[String]) -> Result<RolesRead, AwsError> {
    let wanted: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    let filters = [
        EntityType::Role,
        EntityType::LocalManagedPolicy,
        EntityType::AwsManagedPolicy,
    ];
    let mut raw_roles = Vec::new();
    let mut raw_policies = Vec::new();
    crate::authorization_details::walk(clients, &filters, |page| {
        raw_roles.extend(
            page.role_detail_list()
                .iter()
                .filter(|r| r.role_name().is_some_and(|n| wanted.contains(n)))
                .cloned(),
        );
        raw_policies.extend(page.policies().iter().cloned());
    })
    .await?;
    let mut inline = InlinePolicies::new();
    let mut roles = Vec::new();
    for detail in &raw_roles {
        let (role, documents) = role_of(detail)?;
        inline.insert(role.name.clone(), documents);
        roles.push(role);
    }
    let used: BTreeSet<String> = policy_arns(&roles).into_iter().collect();
    let policies = raw_policies
        .iter()
        .filter(|p| p.arn().is_some_and(|a| used.contains(a)))
        .map(policy_of)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RolesRead {
        roles,
        policies,
        inline,
        via: ReadVia::AccountWalk,
    })
}

/// Reads one by one the policies the roles use that the walk did not return (a boundary that is
/// an AWS managed policy attached to nothing); with documents only.
async fn complete_boundaries(
    clients: &Clients,
    mut read: RolesRead,
    documents: bool,
) -> Result<RolesRead, AwsError> {
    if !documents {
        return Ok(read);
    }
    let missing: Vec<String> = policy_arns(&read.roles)
        .into_iter()
        .filter(|arn| !read.policies.iter().any(|p| &p.arn == arn))
        .collect();
    let limit = Semaphore::new(clients.options().max_concurrency.max(1));
    let found = try_join_all(
        missing
            .iter()
            .map(|arn| observe_policy(clients, &limit, arn)),
    )
    .await?;
    read.policies.extend(found.into_iter().flatten());
    Ok(read)
}

const WALK: &str = "iam:GetAccountAuthorizationDetails";

/// A role of the walk in the snapshot's model, with its inline policies' documents.
fn role_of(
    r: &aws_sdk_iam::types::RoleDetail,
) -> Result<(Role, Vec<(String, serde_json::Value)>), AwsError> {
    let name = r.role_name().unwrap_or_default().to_string();
    let trust_policy =
        decode_document(WALK, &name, r.assume_role_policy_document().unwrap_or("{}"))?;
    let inline = r
        .role_policy_list()
        .iter()
        .filter_map(|p| Some((p.policy_name()?, p.policy_document()?)))
        .map(|(policy, text)| Ok((policy.to_string(), decode_document(WALK, &name, text)?)))
        .collect::<Result<Vec<_>, AwsError>>()?;
    let role = Role {
        arn: r.arn().unwrap_or_default().to_string(),
        path: r.path().unwrap_or("/").to_string(),
        trust_policy,
        permissions_boundary: r
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn())
            .map(str::to_string),
        tags: tags(r.tags()),
        attached_policy_arns: r
            .attached_managed_policies()
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_string))
            .collect(),
        inline_policy_names: inline.iter().map(|(n, _)| n.clone()).collect(),
        last_used: r
            .role_last_used()
            .and_then(|u| u.last_used_date())
            .and_then(rfc3339),
        name,
    };
    Ok((role, inline))
}

/// A managed policy of the walk in the snapshot's model: the default version's document and
/// every version (the walk carries no policy tags).
fn policy_of(p: &aws_sdk_iam::types::ManagedPolicyDetail) -> Result<ManagedPolicy, AwsError> {
    let arn = p.arn().unwrap_or_default().to_string();
    let default_version_id = p.default_version_id().unwrap_or_default().to_string();
    let default = p
        .policy_version_list()
        .iter()
        .find(|v| v.is_default_version() || v.version_id() == Some(default_version_id.as_str()))
        .and_then(|v| v.document())
        .ok_or_else(|| {
            crate::observe::invalid(WALK, &arn, "no document for the default version")
        })?;
    let mut versions: Vec<PolicyVersion> = p
        .policy_version_list()
        .iter()
        .map(|v| PolicyVersion {
            id: v.version_id().unwrap_or_default().to_string(),
            is_default: v.is_default_version(),
            created: v.create_date().and_then(rfc3339).unwrap_or_default(),
        })
        .collect();
    oldest_first(&mut versions);
    Ok(ManagedPolicy {
        // The name is the ARN's last segment (moto leaves PolicyName empty in this answer).
        name: p
            .policy_name()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| arn.rsplit('/').next().unwrap_or_default())
            .to_string(),
        path: p.path().unwrap_or("/").to_string(),
        document: decode_document(WALK, &arn, default)?,
        default_version_id,
        versions,
        tags: Default::default(),
        attachment_count: p.attachment_count().and_then(|n| u32::try_from(n).ok()),
        arn,
    })
}
