//! The resource-based step of the decision: what a resource-based `Allow` is worth, which depends
//! on whether the caller and the resource are in one account, on how the policy names the caller,
//! and on the service (KMS key policies must allow explicitly).
//!
//! - Same account: an `Allow` naming the caller itself (a role session ARN, a user ARN, `*`) allows
//!   by itself, whatever the identity-based policies, the boundary or the session policy say
//!   (short of an explicit deny). One naming the role ARN of a role session allows only within the
//!   session's permissions boundary and session policy. One naming only the account delegates to
//!   the account's identity-based policies, which must allow.
//!   Source: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html>
//!   ("Resource-based policies") and
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html>.
//! - Across accounts both sides must allow: the resource-based policy (naming the caller or its
//!   account) and the caller's identity-based policies within its boundary and session policy.
//!   Source: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html>.
//! - A KMS key's key policy must allow: without a key policy statement naming the caller or its
//!   account, identity-based policies grant nothing on the key.
//!   Source: <https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html>.

use super::caller::{Caller, Grant, is_account_id};
use crate::context::Context;

/// The account that owns `resource`: the account field of its ARN, else the request's
/// `aws:ResourceAccount` (S3 bucket ARNs carry no account).
pub fn resource_account<'a>(resource: &'a str, context: &'a Context) -> Option<&'a str> {
    resource
        .split(':')
        .nth(4)
        .filter(|account| is_account_id(account))
        .or_else(|| context.single("aws:ResourceAccount"))
}

/// Whether the request stays within one account. An unknown resource account counts as the
/// caller's own when no resource-based policy is given (the request is decided by the
/// identity-based side alone), and as another account when one is: both sides must then allow,
/// the stricter reading.
pub(crate) fn same_account(
    caller: Option<&Caller>,
    resource_account: Option<&str>,
    has_resource_policy: bool,
) -> bool {
    let Some(caller_account) = caller.and_then(|c| c.account.as_deref()) else {
        // No caller, or a service principal: there is no second account to compare.
        return true;
    };
    match resource_account {
        Some(account) => account == caller_account,
        None => !has_resource_policy,
    }
}

/// Whether `resource` is a KMS key or alias, whose key policy must allow explicitly.
pub(crate) fn is_kms(resource: &str) -> bool {
    resource.split(':').nth(2) == Some("kms")
}

/// What a resource-based grant does within one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SameAccount {
    /// Allows by itself.
    Allows,
    /// Allows within the permissions boundary and session policy.
    AllowsWithinCaps,
    /// Adds nothing: the identity-based side decides.
    Delegates,
}

pub(crate) fn same_account_effect(grant: Option<Grant>) -> SameAccount {
    match grant {
        Some(Grant::Direct) => SameAccount::Allows,
        Some(Grant::Role) => SameAccount::AllowsWithinCaps,
        Some(Grant::Account) | None => SameAccount::Delegates,
    }
}
