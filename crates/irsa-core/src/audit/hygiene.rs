//! Account hygiene: roles unused for longer than the threshold (RoleLastUsed, or the creation
//! date of a role never used), roles and customer-managed policies without the required tag
//! keys, and whether a CloudTrail trail records the audited region. IAM tracks role use for the
//! trailing 400 days only, which the findings say.

use iam_policy::condition::parse_date;

use super::context::{AuditContext, CloudTrailStatus};
use super::finding::Finding;
use super::model::{ManagedPolicyDetail, RoleDetail, Tag};
use super::rules;

const DAY_MS: i64 = 86_400_000;

/// AUD009: the role was last used (or, never used, created) more than `unused_days` ago.
pub(crate) fn check_unused(role: &RoleDetail, ctx: &AuditContext, findings: &mut Vec<Finding>) {
    let Some(now) = ctx.now_ms else {
        return;
    };
    let threshold = i64::from(ctx.unused_days) * DAY_MS;
    let last_used = role
        .role_last_used
        .as_ref()
        .and_then(|u| u.last_used_date.as_deref());
    let (since, what) = match last_used {
        Some(date) => (date, "last used"),
        None => match role.create_date.as_deref() {
            Some(date) => (
                date,
                "never used (in IAM's 400-day window) since its creation",
            ),
            None => return,
        },
    };
    let Some(at) = parse_date(since) else {
        return;
    };
    let age = now.saturating_sub(at);
    if age > threshold {
        findings.push(Finding::new(
            rules::ROLE_UNUSED,
            &role.arn,
            format!(
                "{what} {} days ago, more than the threshold of {} days",
                age / DAY_MS,
                ctx.unused_days
            ),
            match last_used {
                Some(date) => format!("RoleLastUsed.LastUsedDate {date}"),
                None => format!("no RoleLastUsed; CreateDate {since}"),
            },
        ));
    }
}

fn missing_keys<'a>(tags: &[Tag], required: &'a [String]) -> Vec<&'a str> {
    required
        .iter()
        .filter(|key| !tags.iter().any(|t| t.key == **key))
        .map(String::as_str)
        .collect()
}

/// AUD010 on a role.
pub(crate) fn check_role_tags(role: &RoleDetail, ctx: &AuditContext, findings: &mut Vec<Finding>) {
    let missing = missing_keys(&role.tags, &ctx.required_tags);
    if !missing.is_empty() {
        findings.push(tag_finding(&role.arn, "role", &missing, &role.tags));
    }
}

/// AUD010 on customer-managed policies; returns how many carry no tag information.
pub(crate) fn check_policy_tags(
    policies: &[ManagedPolicyDetail],
    ctx: &AuditContext,
    findings: &mut Vec<Finding>,
) -> usize {
    if ctx.required_tags.is_empty() {
        return 0;
    }
    let mut untold = 0;
    for policy in policies.iter().filter(|p| !p.is_aws_managed()) {
        let Some(tags) = &policy.tags else {
            untold += 1;
            continue;
        };
        let missing = missing_keys(tags, &ctx.required_tags);
        if !missing.is_empty() {
            findings.push(tag_finding(&policy.arn, "policy", &missing, tags));
        }
    }
    untold
}

fn tag_finding(arn: &str, kind: &str, missing: &[&str], tags: &[Tag]) -> Finding {
    let present: Vec<&str> = tags.iter().map(|t| t.key.as_str()).collect();
    Finding::new(
        rules::MISSING_REQUIRED_TAG,
        arn,
        format!(
            "the {kind} lacks the required tag(s) {}",
            missing.join(", ")
        ),
        format!(
            "tags: {}",
            if present.is_empty() {
                "none".to_string()
            } else {
                present.join(", ")
            }
        ),
    )
}

/// AUD011: no trail logging events of the region.
pub(crate) fn check_cloudtrail(
    status: &CloudTrailStatus,
    account_root: &str,
    findings: &mut Vec<Finding>,
) {
    if status.logging_trail().is_some() {
        return;
    }
    let seen: Vec<String> = status
        .trails
        .iter()
        .map(|t| {
            format!(
                "{} (home {}, {}, {})",
                t.name,
                t.home_region,
                if t.multi_region {
                    "multi-region"
                } else {
                    "single-region"
                },
                if t.logging { "logging" } else { "not logging" }
            )
        })
        .collect();
    let resource = match status
        .trails
        .iter()
        .find(|t| t.home_region == status.region)
    {
        Some(trail) => trail.arn.clone(),
        None => account_root.to_string(),
    };
    findings.push(Finding::new(
        rules::CLOUDTRAIL_NOT_LOGGING,
        resource,
        format!(
            "no CloudTrail trail is logging events of {}: role use is not recorded",
            status.region
        ),
        format!(
            "trails: {}",
            if seen.is_empty() {
                "none".to_string()
            } else {
                seen.join("; ")
            }
        ),
    ));
}
