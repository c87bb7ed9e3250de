//! Amazon Resource Names: parsing, formatting and IAM's ARN wildcard matching.
//!
//! An ARN is `arn:partition:service:region:account-id:resource`; the resource part may itself
//! contain colons. Matching (the `Resource` element, `ArnLike`/`ArnEquals`) compares the six
//! colon-separated segments one by one, each with `*`/`?` wildcards; a `*` that ends the last
//! segment of the pattern also matches across the remaining colons (documented on the IAM
//! `Resource` element page). Values that are not ARNs fall back to plain wildcard matching.

use std::fmt;

use crate::wildcard::{self, Elem};

/// A parsed ARN.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Arn {
    pub partition: String,
    pub service: String,
    pub region: String,
    pub account: String,
    pub resource: String,
}

/// Why a string is not an ARN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArnError {
    #[error("`{0}` is not an ARN: it must start with `arn:`")]
    Prefix(String),
    #[error("`{0}` is not an ARN: expected arn:partition:service:region:account:resource")]
    Segments(String),
    #[error("`{arn}` has an empty {segment}")]
    Empty { arn: String, segment: &'static str },
    #[error("`{arn}` has an invalid account id `{account}` (expected 12 digits, `aws` or empty)")]
    Account { arn: String, account: String },
}

impl Arn {
    /// Parses `s`, checking the segments every ARN has (partition, service, resource) and that
    /// the account, when present, is 12 digits or `aws` (AWS managed policies).
    pub fn parse(s: &str) -> Result<Arn, ArnError> {
        let Some(rest) = s.strip_prefix("arn:") else {
            return Err(ArnError::Prefix(s.to_string()));
        };
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        let [partition, service, region, account, resource] = parts[..] else {
            return Err(ArnError::Segments(s.to_string()));
        };
        for (value, segment) in [
            (partition, "partition"),
            (service, "service"),
            (resource, "resource"),
        ] {
            if value.is_empty() {
                return Err(ArnError::Empty {
                    arn: s.to_string(),
                    segment,
                });
            }
        }
        let account_ok = account.is_empty()
            || account == "aws"
            || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()));
        if !account_ok {
            return Err(ArnError::Account {
                arn: s.to_string(),
                account: account.to_string(),
            });
        }
        Ok(Arn {
            partition: partition.to_string(),
            service: service.to_string(),
            region: region.to_string(),
            account: account.to_string(),
            resource: resource.to_string(),
        })
    }

    /// The resource type and name for `type/name` resources (`role/path/name` → (`role`, `path/name`)).
    pub fn resource_type_and_name(&self) -> Option<(&str, &str)> {
        self.resource.split_once('/')
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

/// The partition that owns a region (`cn-north-1` → `aws-cn`).
pub fn partition_for_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else {
        "aws"
    }
}

/// IAM's ARN wildcard match, segment by segment (see the module doc).
pub fn arn_matches(pattern: &str, value: &str) -> bool {
    arn_matches_elems(&wildcard::compile(pattern), value)
}

/// [`arn_matches`] for a compiled pattern (policy variables already substituted).
pub fn arn_matches_elems(pattern: &[Elem], value: &str) -> bool {
    if pattern == [Elem::Star] {
        return true;
    }
    let arn_prefix = [
        Elem::Byte(b'a'),
        Elem::Byte(b'r'),
        Elem::Byte(b'n'),
        Elem::Byte(b':'),
    ];
    if !pattern.starts_with(&arn_prefix) || !value.starts_with("arn:") {
        return wildcard::matches_elems(pattern, value, false);
    }
    let colon = Elem::Byte(b':');
    let mut pattern_segments: [&[Elem]; 6] = [&[]; 6];
    let mut count = 0;
    for segment in pattern.splitn(6, |e| *e == colon) {
        pattern_segments[count] = segment;
        count += 1;
    }
    let mut value_offset = 0usize;
    let mut value_segments = value.splitn(6, ':');
    for (i, p) in pattern_segments[..count].iter().enumerate() {
        let Some(v) = value_segments.next() else {
            return false;
        };
        if i + 1 == count && p.last() == Some(&Elem::Star) {
            // A trailing `*` expands across the remaining colons.
            return wildcard::matches_elems(p, &value[value_offset..], false);
        }
        if !wildcard::matches_elems(p, v, false) {
            return false;
        }
        value_offset += v.len() + 1;
    }
    value_segments.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
    #[test]
    fn parses_and_formats() {
        let arn = Arn::parse("arn:aws:iam::123456789012:role/path/to/name").unwrap();
        assert_eq!(arn.partition, "aws");
        assert_eq!(arn.service, "iam");
        assert_eq!(arn.region, "");
        assert_eq!(arn.account, "123456789012");
        assert_eq!(arn.resource_type_and_name(), Some(("role", "path/to/name")));
        assert_eq!(
            arn.to_string(),
            "arn:aws:iam::123456789012:role/path/to/name"
        );
        let managed =
            Arn::parse("arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy").unwrap();
        assert_eq!(managed.account, "aws");
        let with_colons =
            Arn::parse("arn:aws:logs:us-east-1:123456789012:log-group:g:log-stream:s").unwrap();
        assert_eq!(with_colons.resource, "log-group:g:log-stream:s");
    }

    #[test]
    fn rejects_malformed() {
        assert!(matches!(
            Arn::parse("aws:iam::1:role/x"),
            Err(ArnError::Prefix(_))
        ));
        assert!(matches!(
            Arn::parse("arn:aws:iam"),
            Err(ArnError::Segments(_))
        ));
        assert!(matches!(
            Arn::parse("arn::iam::123456789012:role/x"),
            Err(ArnError::Empty {
                segment: "partition",
                ..
            })
        ));
        assert!(matches!(
            Arn::parse("arn:aws:iam::123456789012:"),
            Err(ArnError::Empty {
                segment: "resource",
                ..
            })
        ));
        assert!(matches!(
            Arn::parse("arn:aws:iam::12345:role/x"),
            Err(ArnError::Account { .. })
        ));
    }

    #[test]
    fn partitions() {
        assert_eq!(partition_for_region("us-east-1"), "aws");
        assert_eq!(partition_for_region("cn-northwest-1"), "aws-cn");
        assert_eq!(partition_for_region("us-gov-west-1"), "aws-us-gov");
    }

    // Source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    // ("If the * wildcard is the last character of a resource ARN segment, it can expand to match
    // beyond the colon boundaries.")
    #[test]
    fn segment_matching() {
        assert!(arn_matches(
            "arn:aws:iam::*:role/x",
            "arn:aws:iam::123456789012:role/x"
        ));
        assert!(arn_matches("arn:aws:s3:*", "arn:aws:s3:::bucket/key"));
        assert!(arn_matches(
            "arn:aws:logs:*:*:log-group:*",
            "arn:aws:logs:us-east-1:123456789012:log-group:g:log-stream:s"
        ));
        assert!(!arn_matches(
            "arn:aws:iam::*:role/x",
            "arn:aws:iam::123456789012:role/y"
        ));
        assert!(!arn_matches(
            "arn:aws:iam::123456789012:role/x",
            "arn:aws:iam::123456789012:role/x/extra"
        ));
        assert!(!arn_matches(
            "arn:aws:ec2",
            "arn:aws:ec2:us-east-1:1:instance/i"
        ));
        assert!(arn_matches(
            "*",
            "arn:aws:ec2:us-east-1:123456789012:instance/i-1"
        ));
        // A `*` in a middle segment stays inside that segment.
        assert!(!arn_matches("arn:aws:iam::1*:x", "arn:aws:iam::1:2:x"));
    }
}
