//! Role usage from CloudTrail, for `irsa usage`: the guide's "monitor IAM role usage via
//! CloudTrail" as pure functions, for both identity mechanisms. [`event`] reads one
//! `AssumeRoleWithWebIdentity` event (the `CloudTrailEvent` JSON string LookupEvents returns)
//! into a typed [`WebIdentityEvent`]; [`pod_identity`] reads EKS Pod Identity's two records (the
//! agent's `AssumeRoleForPodIdentity`, and STS `AssumeRole` by `pods.eks.amazonaws.com` with the
//! session tags); [`report`] groups them per role, mechanism and service account, with successes,
//! failures by error code and first/last seen, beside IAM's RoleLastUsed; [`since`] parses the
//! `--since` window within CloudTrail's 90 days of event history.

pub mod event;
pub mod pod_identity;
pub mod report;
pub mod since;

pub use event::{EventError, WebIdentityEvent, parse_event};
pub use pod_identity::{
    ASSUME_ROLE, ASSUME_ROLE_FOR_POD_IDENTITY, EksAuthEvent, PodIdentityEvent,
    parse_eks_auth_event, parse_pod_identity_event,
};
pub use report::{
    ClusterCalls, RoleInfo, RoleLastUsed, RoleUsage, Subject, SubjectUsage, UsageEvents,
    UsageReport, build_report,
};
pub use since::{MAX_SINCE_SECONDS, SinceError, parse_since};

/// The role name of a role ARN (`arn:aws:iam::1:role/path/name` → `name`), if it is one.
pub fn role_name_of_arn(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[2] != "iam" {
        return None;
    }
    let path = parts[5].strip_prefix("role/")?;
    path.rsplit('/').next().filter(|n| !n.is_empty())
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_time(epoch_seconds: i64) -> String {
    chrono::DateTime::from_timestamp(epoch_seconds, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| epoch_seconds.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_and_times() {
        assert_eq!(
            role_name_of_arn("arn:aws:iam::123456789012:role/app"),
            Some("app")
        );
        assert_eq!(
            role_name_of_arn("arn:aws:iam::123456789012:role/team/a/app"),
            Some("app")
        );
        assert_eq!(role_name_of_arn("arn:aws:iam::123456789012:user/app"), None);
        assert_eq!(role_name_of_arn("app"), None);
        assert_eq!(format_time(1_767_225_600), "2026-01-01T00:00:00Z");
    }
}
