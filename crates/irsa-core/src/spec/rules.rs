//! Naming and value rules from IAM, EKS and Kubernetes, as plain checks that return a message
//! saying what is wrong and what to do. Used on the values a spec file spells out and on the
//! values irsa derives or takes from flags.

use iam_policy::arn::Arn;

/// Characters IAM allows in role (and policy) names.
fn iam_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)
}

/// IAM role name: 1–64 characters of `[A-Za-z0-9+=,.@_-]`.
pub fn role_name(name: &str) -> Result<(), String> {
    iam_name(name, 64, "role names")
}

/// IAM customer-managed policy name: 1–128 characters of `[A-Za-z0-9+=,.@_-]`.
pub fn policy_name(name: &str) -> Result<(), String> {
    iam_name(name, 128, "policy names")
}

fn iam_name(name: &str, max: usize, what: &str) -> Result<(), String> {
    let len = name.chars().count();
    if len == 0 {
        return Err(format!("empty; IAM {what} are 1 to {max} characters"));
    }
    if len > max {
        return Err(format!(
            "\"{name}\" is {len} characters; IAM {what} are at most {max}: shorten it"
        ));
    }
    if let Some(c) = name.chars().find(|c| !iam_name_char(*c)) {
        return Err(format!(
            "\"{name}\" contains {c:?}; IAM {what} may only use letters, digits and + = , . @ _ -"
        ));
    }
    Ok(())
}

/// IAM path: `/` or `/a/b/`, at most 512 characters of 0x21–0x7E.
pub fn role_path(path: &str) -> Result<(), String> {
    if path.len() > 512 {
        return Err(format!(
            "is {} characters; IAM paths are at most 512",
            path.len()
        ));
    }
    if !path.starts_with('/') || !path.ends_with('/') {
        return Err(format!(
            "\"{path}\" must start and end with `/` (for example `/` or `/irsa/`)"
        ));
    }
    if let Some(c) = path.chars().find(|c| !('\u{21}'..='\u{7e}').contains(c)) {
        return Err(format!(
            "\"{path}\" contains {c:?}; IAM paths may only use printable ASCII without spaces"
        ));
    }
    Ok(())
}

fn dns_label_ok(label: &str) -> bool {
    let b = label.as_bytes();
    !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Kubernetes namespace: a DNS-1123 label (at most 63 lowercase letters, digits and `-`, starting
/// and ending with a letter or digit).
pub fn namespace(ns: &str) -> Result<(), String> {
    if ns.len() > 63 {
        return Err(format!(
            "namespace \"{ns}\" is {} characters; Kubernetes namespaces are at most 63",
            ns.len()
        ));
    }
    if !dns_label_ok(ns) {
        return Err(format!(
            "namespace \"{ns}\" is not a DNS-1123 label: use lowercase letters, digits and `-`, starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

/// Kubernetes service-account name: a DNS-1123 subdomain (at most 253 characters, dot-separated
/// DNS-1123 labels).
pub fn service_account_name(name: &str) -> Result<(), String> {
    if name.len() > 253 {
        return Err(format!(
            "service account name \"{name}\" is {} characters; Kubernetes names are at most 253",
            name.len()
        ));
    }
    if !name.split('.').all(dns_label_ok) {
        return Err(format!(
            "service account name \"{name}\" is not a DNS-1123 subdomain: use lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

/// AWS account id: exactly 12 digits.
pub fn account(id: &str) -> Result<(), String> {
    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!(
            "\"{id}\" is not an AWS account id: it must be exactly 12 digits (quote it in YAML to keep leading zeros)"
        ))
    }
}

/// AWS region code such as `us-east-1`, `cn-north-1` or `us-gov-west-1`.
pub fn region(region: &str) -> Result<(), String> {
    let parts: Vec<&str> = region.split('-').collect();
    let ok = parts.len() >= 3
        && parts.len() <= 4
        && parts[0].len() == 2
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "\"{region}\" is not an AWS region code: write it like `us-east-1`, `cn-north-1` or `us-gov-west-1`"
        ))
    }
}

/// EKS cluster name: 1–100 characters, `^[0-9A-Za-z][A-Za-z0-9_-]*$`.
pub fn cluster_name(name: &str) -> Result<(), String> {
    let mut bytes = name.bytes();
    let first_ok = matches!(bytes.next(), Some(b) if b.is_ascii_alphanumeric());
    if name.len() > 100 {
        return Err(format!(
            "cluster name \"{name}\" is {} characters; EKS cluster names are at most 100",
            name.len()
        ));
    }
    if !first_ok || !bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(format!(
            "\"{name}\" is not an EKS cluster name: use letters, digits, `-` and `_`, starting with a letter or digit"
        ));
    }
    Ok(())
}

fn tag_char(c: char) -> bool {
    c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c)
}

/// IAM tag key: 1–128 characters, no `aws:` prefix.
pub fn tag_key(key: &str) -> Result<(), String> {
    let len = key.chars().count();
    if len == 0 || len > 128 {
        return Err(format!(
            "tag key \"{key}\" is {len} characters; IAM tag keys are 1 to 128"
        ));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(format!(
            "tag key \"{key}\" starts with `aws:`, which AWS reserves: choose another key"
        ));
    }
    if let Some(c) = key.chars().find(|c| !tag_char(*c)) {
        return Err(format!(
            "tag key \"{key}\" contains {c:?}; IAM tags allow letters, digits, spaces and _ . : / = + - @"
        ));
    }
    Ok(())
}

/// IAM tag value: at most 256 characters.
pub fn tag_value(key: &str, value: &str) -> Result<(), String> {
    let len = value.chars().count();
    if len > 256 {
        return Err(format!(
            "value of tag \"{key}\" is {len} characters; IAM tag values are at most 256"
        ));
    }
    if let Some(c) = value.chars().find(|c| !tag_char(*c)) {
        return Err(format!(
            "value of tag \"{key}\" contains {c:?}; IAM tags allow letters, digits, spaces and _ . : / = + - @"
        ));
    }
    Ok(())
}

/// Most tags IAM allows on one role or policy.
pub const MAX_TAGS: usize = 50;

/// An IAM policy ARN (`arn:<partition>:iam::<account|aws>:policy/<path><name>`), as used for
/// managed policies and permissions boundaries.
pub fn policy_arn(arn: &str) -> Result<Arn, String> {
    let parsed = Arn::parse(arn).map_err(|e| {
        format!("{e}; write an IAM policy ARN like arn:aws:iam::aws:policy/ReadOnlyAccess")
    })?;
    if parsed.service != "iam" || !parsed.resource.starts_with("policy/") {
        return Err(format!(
            "\"{arn}\" is not an IAM policy ARN: expected arn:<partition>:iam::<account or aws>:policy/<name>"
        ));
    }
    if parsed.resource.len() <= "policy/".len() || parsed.resource.ends_with('/') {
        return Err(format!("\"{arn}\" names no policy after `policy/`"));
    }
    Ok(parsed)
}

/// An IAM role ARN with a 12-digit account (`arn:<partition>:iam::<account>:role/<path><name>`).
pub fn role_arn(arn: &str) -> Result<Arn, String> {
    let parsed = Arn::parse(arn).map_err(|e| {
        format!("{e}; write an IAM role ARN like arn:aws:iam::111122223333:role/name")
    })?;
    if parsed.service != "iam" || !parsed.resource.starts_with("role/") {
        return Err(format!(
            "\"{arn}\" is not an IAM role ARN: expected arn:<partition>:iam::<account>:role/<name>"
        ));
    }
    account(&parsed.account).map_err(|m| format!("\"{arn}\": {m}"))?;
    let name = parsed.resource.rsplit('/').next().unwrap_or_default();
    role_name(name).map_err(|m| format!("\"{arn}\": {m}"))?;
    Ok(parsed)
}

/// A wildcard token subject for `StringLike`: `system:serviceaccount:<namespace>:<name>` where
/// either part may hold `*` or `?`, and at least one does (otherwise it is one service account:
/// write it as `serviceAccount`).
pub fn subject_pattern(subject: &str) -> Result<(), String> {
    let Some(rest) = subject.strip_prefix("system:serviceaccount:") else {
        return Err(format!(
            "\"{subject}\" is not a service-account subject: write system:serviceaccount:NAMESPACE:NAME-PATTERN, e.g. system:serviceaccount:apps:worker-*"
        ));
    };
    let Some((namespace, name)) = rest.split_once(':') else {
        return Err(format!(
            "\"{subject}\" has no service-account name after the namespace: write system:serviceaccount:NAMESPACE:NAME-PATTERN"
        ));
    };
    let wild = |s: &str| s.contains(['*', '?']);
    if namespace.is_empty() || name.is_empty() || name.contains(':') {
        return Err(format!(
            "\"{subject}\" must have one namespace and one name pattern, both non-empty"
        ));
    }
    if !wild(namespace) && !wild(name) {
        return Err(format!(
            "\"{subject}\" has no wildcard (* or ?): it names one service account, so bind it with `serviceAccount` instead"
        ));
    }
    if namespace == "*" && name == "*" {
        return Err(format!(
            "\"{subject}\" matches every service account of the cluster: narrow the namespace or the name"
        ));
    }
    Ok(())
}

/// IAM's limit on an inline session policy, in characters.
pub const MAX_SESSION_POLICY_CHARS: usize = 2048;

/// An audience for the projected token.
pub fn audience(aud: &str) -> Result<(), String> {
    if aud.is_empty() || aud.chars().any(char::is_whitespace) {
        return Err(format!(
            "audience \"{aud}\" must be non-empty and without spaces (the default is sts.amazonaws.com)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names() {
        assert!(role_name("irsa-demo-kube-system-cluster-autoscaler").is_ok());
        assert!(role_name("a+=,.@_-Z9").is_ok());
        assert!(role_name(&"a".repeat(64)).is_ok());
        let e = role_name(&"a".repeat(70)).unwrap_err();
        assert!(
            e.contains("is 70 characters; IAM role names are at most 64"),
            "{e}"
        );
        assert!(role_name("").is_err());
        assert!(role_name("a/b").unwrap_err().contains("'/'"));
    }

    #[test]
    fn paths() {
        assert!(role_path("/").is_ok());
        assert!(role_path("/irsa/team-a/").is_ok());
        assert!(role_path("irsa/").is_err());
        assert!(role_path("/irsa").is_err());
        assert!(role_path("/a b/").is_err());
        assert!(role_path(&format!("/{}/", "a".repeat(511))).is_err());
    }

    #[test]
    fn kubernetes_names() {
        assert!(namespace("kube-system").is_ok());
        assert!(namespace("Kube").is_err());
        assert!(namespace("-a").is_err());
        assert!(namespace("a.b").is_err());
        assert!(namespace(&"a".repeat(64)).is_err());
        assert!(service_account_name("efs-csi-controller-sa").is_ok());
        assert!(service_account_name("a.b-c").is_ok());
        assert!(service_account_name("a..b").is_err());
        assert!(service_account_name("A").is_err());
        assert!(service_account_name(&"a".repeat(254)).is_err());
    }

    #[test]
    fn accounts_regions_clusters() {
        assert!(account("012345678901").is_ok());
        assert!(account("12345678901").is_err());
        assert!(account("12345678901a").is_err());
        for r in ["us-east-1", "cn-north-1", "us-gov-west-1", "ap-southeast-4"] {
            assert!(region(r).is_ok(), "{r}");
        }
        for r in ["useast1", "us-east", "US-EAST-1", "us-east-1a", "u-east-1"] {
            assert!(region(r).is_err(), "{r}");
        }
        assert!(cluster_name("demo_1-a").is_ok());
        assert!(cluster_name("-demo").is_err());
        assert!(cluster_name("de mo").is_err());
        assert!(cluster_name(&"a".repeat(101)).is_err());
    }

    #[test]
    fn subject_patterns() {
        assert!(subject_pattern("system:serviceaccount:apps:worker-*").is_ok());
        assert!(subject_pattern("system:serviceaccount:team-?:reader").is_ok());
        assert!(subject_pattern("system:serviceaccount:*:reader").is_ok());
        for bad in [
            "apps:worker-*",
            "system:serviceaccount:apps",
            "system:serviceaccount:apps:worker",
            "system:serviceaccount::worker-*",
            "system:serviceaccount:*:*",
        ] {
            assert!(subject_pattern(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags_and_arns() {
        assert!(tag_key("team").is_ok());
        assert!(tag_key("aws:foo").unwrap_err().contains("reserves"));
        assert!(tag_key("AWS:foo").is_err());
        assert!(tag_key(&"k".repeat(129)).is_err());
        assert!(tag_value("k", &"v".repeat(256)).is_ok());
        assert!(tag_value("k", &"v".repeat(257)).is_err());
        assert!(
            policy_arn("arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy").is_ok()
        );
        assert!(policy_arn("arn:aws:iam::123456789012:policy/boundary").is_ok());
        assert!(policy_arn("arn:aws:iam::123456789012:role/x").is_err());
        assert!(policy_arn("arn:aws:s3:::bucket").is_err());
        assert!(policy_arn("AmazonEBSCSIDriverPolicy").is_err());
    }
}
