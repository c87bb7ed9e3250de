//! The AWS wire formats the fakes speak, shared so that each fake holds only its service's
//! behaviour: [`rest_json`] (restJson1: EKS, EKS Auth — JSON bodies, errors as a status code, an
//! `x-amzn-ErrorType` header and a `message`) and [`query`] (the query protocol of STS and IAM —
//! form-encoded requests, XML answers and errors), plus the identifiers and timestamps every
//! fake mints.

pub mod query;
pub mod rest_json;

use std::time::{SystemTime, UNIX_EPOCH};

/// A fresh UUID-shaped identifier (unique within the process), for request ids, event ids and
/// resource ids.
pub fn new_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (t >> 32) as u32,
        (t >> 16) as u16,
        n & 0xfff,
        (t >> 4) & 0xfff,
        (t ^ n.rotate_left(29)) & 0xffff_ffff_ffff
    )
}

/// Now as epoch seconds with milliseconds, as restJson1 writes a `timestamp` member.
pub fn epoch_now() -> f64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (now.as_millis() as f64) / 1000.0
}

/// `(partition, account)` of an ARN, when it is one.
pub fn arn_partition_account(arn: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    (parts.len() == 6 && parts[0] == "arn").then(|| (parts[1], parts[4]))
}

/// Whether `arn` names an IAM role (`arn:<partition>:iam::<account>:role/<path/name>`).
pub fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "iam"
        && !parts[4].is_empty()
        && parts[5].len() > "role/".len()
        && parts[5].starts_with("role/")
}

/// The role's name: the last segment of its ARN's resource (`role/path/name` → `name`).
pub fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns() {
        assert!(is_role_arn("arn:aws:iam::123456789012:role/app"));
        assert!(is_role_arn("arn:aws-cn:iam::123456789012:role/path/app"));
        assert!(!is_role_arn("arn:aws:iam::123456789012:user/app"));
        assert!(!is_role_arn("arn:aws:iam::123456789012:role/"));
        assert!(!is_role_arn("app"));
        assert_eq!(role_name("arn:aws:iam::1:role/path/app"), "app");
        assert_eq!(
            arn_partition_account("arn:aws:iam::123456789012:role/app"),
            Some(("aws", "123456789012"))
        );
        assert_ne!(new_id(), new_id());
    }
}
