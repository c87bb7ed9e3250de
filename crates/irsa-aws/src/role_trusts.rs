//! Every role of the account with its trust policy, from one paged IAM ListRoles walk (1,000
//! roles a page; ListRoles carries the trust policy but no tags). `irsa destroy` reads it to
//! know which roles still trust the cluster's OIDC provider before deleting the provider, and
//! to find the roles irsa made for the cluster that the spec no longer names.

use irsa_core::snapshot::RoleTrust;

use crate::clients::Clients;
use crate::error::{AwsError, all_items};
use crate::observe::decode_document;

/// One [`RoleTrust`] per role of the account, in ListRoles order.
pub async fn list_role_trusts(clients: &Clients) -> Result<Vec<RoleTrust>, AwsError> {
    const OP: &str = "iam:ListRoles";
    let roles: Vec<_> = all_items(
        clients
            .iam
            .list_roles()
            .max_items(1000)
            .into_paginator()
            .items()
            .send(),
        OP,
        "roles",
    )
    .await?;
    roles
        .iter()
        .map(|role| {
            Ok(RoleTrust {
                name: role.role_name().to_string(),
                arn: role.arn().to_string(),
                trust_policy: decode_document(
                    OP,
                    role.role_name(),
                    role.assume_role_policy_document().unwrap_or("{}"),
                )?,
            })
        })
        .collect()
}
