//! The usage report: AssumeRoleWithWebIdentity events grouped per role, then per service
//! account (the token's subject; `system:serviceaccount:NS:NAME` is split into namespace and
//! name, other subjects are kept as they are), with successes, failures by error code, first and
//! last seen and the newest failure's message; beside IAM's RoleLastUsed for the role. With
//! roles requested, exactly those are reported (one with no events shows as unused, one IAM does
//! not know as missing); without, every role that had events, plus every role whose trust policy
//! admits web identities through an IAM OIDC provider (so unused IRSA roles stand out).

use std::collections::BTreeMap;

use iam_policy::document::{Effect, PolicyDocument, PrincipalType, Principals};
use serde::Serialize;

use super::event::WebIdentityEvent;
use super::{format_time, role_name_of_arn};

/// What IAM knows of a role.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoleInfo {
    pub name: String,
    pub arn: String,
    /// The trust policy as IAM returns it (URL-encoded or raw).
    pub trust_policy: Option<String>,
    pub last_used: Option<RoleLastUsed>,
}

/// IAM's RoleLastUsed (tracked for the trailing 400 days; absent when never used).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleLastUsed {
    /// RFC 3339.
    pub date: Option<String>,
    pub region: Option<String>,
}

/// Who presented the token.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subject {
    ServiceAccount {
        namespace: String,
        name: String,
    },
    Other(String),
    /// The event names no subject (an unreadable token).
    Unknown,
}

impl Subject {
    pub fn from_sub(sub: Option<&str>) -> Subject {
        let Some(sub) = sub else {
            return Subject::Unknown;
        };
        match sub
            .strip_prefix("system:serviceaccount:")
            .and_then(|rest| rest.split_once(':'))
        {
            Some((namespace, name))
                if !namespace.is_empty() && !name.is_empty() && !name.contains(':') =>
            {
                Subject::ServiceAccount {
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                }
            }
            _ => Subject::Other(sub.to_string()),
        }
    }
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::ServiceAccount { namespace, name } => write!(f, "{namespace}/{name}"),
            Subject::Other(sub) => f.write_str(sub),
            Subject::Unknown => f.write_str("(unknown subject)"),
        }
    }
}

/// One subject's calls for one role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubjectUsage {
    /// `NS/NAME` for a service account, else the token's `sub` as it is.
    pub subject: String,
    pub namespace: Option<String>,
    pub service_account: Option<String>,
    pub successes: u64,
    /// Error code → count.
    pub failures: BTreeMap<String, u64>,
    pub first_seen: String,
    pub last_seen: String,
    /// `Code: message` of the newest failure.
    pub last_error: Option<String>,
}

/// One role's usage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleUsage {
    pub role: String,
    pub role_arn: Option<String>,
    /// Whether IAM knows the role (events may name a role deleted since).
    pub exists: bool,
    pub role_last_used: Option<RoleLastUsed>,
    pub successes: u64,
    pub failures: BTreeMap<String, u64>,
    pub service_accounts: Vec<SubjectUsage>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageReport {
    pub since: String,
    pub until: String,
    /// AssumeRoleWithWebIdentity events read, and how many of them were about the roles reported.
    pub events: usize,
    pub events_reported: usize,
    pub roles: Vec<RoleUsage>,
}

/// Whether a trust policy allows `sts:AssumeRoleWithWebIdentity` to an IAM OIDC provider.
pub fn trusts_web_identity(trust_policy: &str) -> bool {
    let Ok(doc) = PolicyDocument::parse(trust_policy) else {
        return false;
    };
    doc.statements.iter().any(|s| {
        s.effect == Effect::Allow
            && s.action.covers("sts:AssumeRoleWithWebIdentity")
            && s.principal.as_ref().is_some_and(|p| {
                !p.negated
                    && matches!(&p.principals, Principals::Map(map) if map.iter().any(|(kind, values)| {
                        *kind == PrincipalType::Federated && values.iter().any(|v| v.contains(":oidc-provider/"))
                    }))
            })
    })
}

#[derive(Default)]
struct Tally {
    successes: u64,
    failures: BTreeMap<String, u64>,
    first: i64,
    last: i64,
    last_error: Option<(i64, String)>,
}

impl Tally {
    fn add(&mut self, event: &WebIdentityEvent) {
        if self.successes == 0 && self.failures.is_empty() {
            self.first = event.time;
            self.last = event.time;
        }
        self.first = self.first.min(event.time);
        self.last = self.last.max(event.time);
        match &event.error_code {
            None => self.successes += 1,
            Some(code) => {
                *self.failures.entry(code.clone()).or_default() += 1;
                if self
                    .last_error
                    .as_ref()
                    .is_none_or(|(t, _)| event.time >= *t)
                {
                    let text = match &event.error_message {
                        Some(message) => format!("{code}: {message}"),
                        None => code.clone(),
                    };
                    self.last_error = Some((event.time, text));
                }
            }
        }
    }
}

/// Groups `events` (read in the window `since..until`, epoch seconds) per role and subject.
/// `roles` is what IAM knows; `requested` the role names asked for (empty: see the module doc).
pub fn build_report(
    events: &[WebIdentityEvent],
    roles: &[RoleInfo],
    requested: &[String],
    since: i64,
    until: i64,
) -> UsageReport {
    let known: BTreeMap<&str, &RoleInfo> = roles.iter().map(|r| (r.name.as_str(), r)).collect();
    let mut names: Vec<String> = if requested.is_empty() {
        let mut names: Vec<String> = events
            .iter()
            .filter_map(|e| role_name_of_arn(&e.role_arn).map(str::to_string))
            .collect();
        names.extend(
            roles
                .iter()
                .filter(|r| r.trust_policy.as_deref().is_some_and(trusts_web_identity))
                .map(|r| r.name.clone()),
        );
        names
    } else {
        requested.to_vec()
    };
    names.sort();
    names.dedup();

    let mut per_role: BTreeMap<&str, BTreeMap<Subject, Tally>> = BTreeMap::new();
    let mut role_arns: BTreeMap<&str, &str> = BTreeMap::new();
    let mut reported = 0;
    for event in events {
        let Some(name) = role_name_of_arn(&event.role_arn) else {
            continue;
        };
        if names.binary_search_by(|n| n.as_str().cmp(name)).is_err() {
            continue;
        }
        reported += 1;
        role_arns.entry(name).or_insert(&event.role_arn);
        per_role
            .entry(name)
            .or_default()
            .entry(Subject::from_sub(event.subject.as_deref()))
            .or_default()
            .add(event);
    }

    let roles = names
        .iter()
        .map(|name| {
            let info = known.get(name.as_str());
            let subjects = per_role.remove(name.as_str()).unwrap_or_default();
            let mut usage = RoleUsage {
                role: name.clone(),
                role_arn: info
                    .map(|r| r.arn.clone())
                    .or_else(|| role_arns.get(name.as_str()).map(|a| a.to_string())),
                exists: info.is_some(),
                role_last_used: info.and_then(|r| r.last_used.clone()),
                successes: 0,
                failures: BTreeMap::new(),
                service_accounts: Vec::new(),
            };
            for (subject, tally) in subjects {
                usage.successes += tally.successes;
                for (code, n) in &tally.failures {
                    *usage.failures.entry(code.clone()).or_default() += n;
                }
                let (namespace, service_account) = match &subject {
                    Subject::ServiceAccount { namespace, name } => {
                        (Some(namespace.clone()), Some(name.clone()))
                    }
                    _ => (None, None),
                };
                usage.service_accounts.push(SubjectUsage {
                    subject: subject.to_string(),
                    namespace,
                    service_account,
                    successes: tally.successes,
                    failures: tally.failures,
                    first_seen: format_time(tally.first),
                    last_seen: format_time(tally.last),
                    last_error: tally.last_error.map(|(_, e)| e),
                });
            }
            usage
        })
        .collect();
    UsageReport {
        since: format_time(since),
        until: format_time(until),
        events: events.len(),
        events_reported: reported,
        roles,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::parse_event;

    const ACCOUNT_ROLE: &str = "arn:aws:iam::111122223333:role/";

    fn event(role: &str, sub: Option<&str>, time: i64, error: Option<&str>) -> WebIdentityEvent {
        WebIdentityEvent {
            event_id: None,
            time,
            role_arn: format!("{ACCOUNT_ROLE}{role}"),
            subject: sub.map(str::to_string),
            audience: Some("sts.amazonaws.com".into()),
            provider: None,
            session: None,
            region: None,
            error_code: error.map(str::to_string),
            error_message: error.map(|_| "refused".to_string()),
        }
    }

    fn info(name: &str, trust: Option<&str>) -> RoleInfo {
        RoleInfo {
            name: name.into(),
            arn: format!("{ACCOUNT_ROLE}{name}"),
            trust_policy: trust.map(str::to_string),
            last_used: Some(RoleLastUsed {
                date: Some("2026-01-01T10:00:00Z".into()),
                region: Some("us-east-1".into()),
            }),
        }
    }

    const IRSA_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.eks.us-east-1.amazonaws.com/id/X:sub":"system:serviceaccount:a:b"}}}]}"#;
    const EC2_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

    #[test]
    fn subjects() {
        assert_eq!(
            Subject::from_sub(Some("system:serviceaccount:kube-system:cluster-autoscaler")),
            Subject::ServiceAccount {
                namespace: "kube-system".into(),
                name: "cluster-autoscaler".into()
            }
        );
        assert_eq!(
            Subject::from_sub(Some("repo:org/app:ref:refs/heads/main")),
            Subject::Other("repo:org/app:ref:refs/heads/main".into())
        );
        assert_eq!(
            Subject::from_sub(Some("system:serviceaccount:ns")),
            Subject::Other("system:serviceaccount:ns".into())
        );
        assert_eq!(Subject::from_sub(None).to_string(), "(unknown subject)");
    }

    #[test]
    fn trust_detection() {
        assert!(trusts_web_identity(IRSA_TRUST));
        assert!(trusts_web_identity(
            &IRSA_TRUST
                .replace('"', "%22")
                .replace('{', "%7B")
                .replace('}', "%7D")
        ));
        assert!(!trusts_web_identity(EC2_TRUST));
        assert!(!trusts_web_identity("not json"));
    }

    #[test]
    fn groups_per_role_and_service_account() {
        let ca = Some("system:serviceaccount:kube-system:cluster-autoscaler");
        let vault = Some("system:serviceaccount:default:vault");
        let events = vec![
            event("ca", ca, 100, None),
            event("ca", ca, 300, None),
            event("ca", vault, 200, Some("InvalidIdentityToken")),
            event("ca", vault, 250, Some("InvalidIdentityToken")),
            event("ca", vault, 260, Some("AccessDenied")),
            event(
                "ca",
                Some("repo:org/app:ref:refs/heads/main"),
                50,
                Some("AccessDenied"),
            ),
            event("gone", ca, 10, None),
        ];
        let roles = [
            info("ca", Some(IRSA_TRUST)),
            info("unused", Some(IRSA_TRUST)),
            info("ec2", Some(EC2_TRUST)),
        ];
        let report = build_report(&events, &roles, &[], 0, 400);
        let names: Vec<&str> = report.roles.iter().map(|r| r.role.as_str()).collect();
        assert_eq!(
            names,
            vec!["ca", "gone", "unused"],
            "the EC2 role is not an IRSA role"
        );
        assert_eq!((report.events, report.events_reported), (7, 7));
        let ca_role = &report.roles[0];
        assert!(ca_role.exists);
        assert_eq!(ca_role.successes, 2);
        assert_eq!(
            ca_role.failures,
            BTreeMap::from([
                ("AccessDenied".into(), 2),
                ("InvalidIdentityToken".into(), 2)
            ])
        );
        assert_eq!(
            ca_role.role_last_used.as_ref().unwrap().region.as_deref(),
            Some("us-east-1")
        );
        let subjects: Vec<&str> = ca_role
            .service_accounts
            .iter()
            .map(|s| s.subject.as_str())
            .collect();
        assert_eq!(
            subjects,
            vec![
                "default/vault",
                "kube-system/cluster-autoscaler",
                "repo:org/app:ref:refs/heads/main"
            ]
        );
        let v = &ca_role.service_accounts[0];
        assert_eq!(
            (v.namespace.as_deref(), v.service_account.as_deref()),
            (Some("default"), Some("vault"))
        );
        assert_eq!(v.successes, 0);
        assert_eq!(
            v.failures,
            BTreeMap::from([
                ("AccessDenied".into(), 1),
                ("InvalidIdentityToken".into(), 2)
            ])
        );
        assert_eq!(
            (v.first_seen.as_str(), v.last_seen.as_str()),
            ("1970-01-01T00:03:20Z", "1970-01-01T00:04:20Z")
        );
        assert_eq!(v.last_error.as_deref(), Some("AccessDenied: refused"));
        let autoscaler = &ca_role.service_accounts[1];
        assert_eq!(
            (
                autoscaler.successes,
                autoscaler.failures.len(),
                autoscaler.last_error.as_ref()
            ),
            (2, 0, None)
        );
        let gone = &report.roles[1];
        assert!(!gone.exists);
        assert_eq!(
            gone.role_arn.as_deref(),
            Some("arn:aws:iam::111122223333:role/gone")
        );
        let unused = &report.roles[2];
        assert!(unused.exists && unused.service_accounts.is_empty() && unused.successes == 0);
    }

    #[test]
    fn requested_roles_only() {
        let events = vec![
            event("ca", Some("system:serviceaccount:a:b"), 1, None),
            event("other", None, 2, None),
        ];
        let report = build_report(
            &events,
            &[info("ca", None)],
            &["ca".into(), "missing".into()],
            0,
            10,
        );
        assert_eq!(report.events_reported, 1);
        assert_eq!(report.roles.len(), 2);
        assert_eq!(report.roles[0].successes, 1);
        assert!(!report.roles[1].exists && report.roles[1].role_arn.is_none());
    }

    #[test]
    fn fixtures_make_a_report() {
        let events: Vec<WebIdentityEvent> = [
            include_str!("../../tests/fixtures/usage/success.json"),
            include_str!("../../tests/fixtures/usage/failure.json"),
        ]
        .iter()
        .map(|j| parse_event(j).unwrap())
        .collect();
        let report = build_report(&events, &[], &[], 0, 2_000_000_000);
        let role = &report.roles[0];
        assert_eq!(role.role, "irsa-demo-kube-system-cluster-autoscaler");
        assert_eq!(role.service_accounts.len(), 2);
        assert_eq!(
            role.service_accounts[0].last_error.as_deref(),
            Some("InvalidIdentityToken: Incorrect token audience")
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["roles"][0]["service_accounts"][1]["successes"], 1);
        assert_eq!(json["roles"][0]["failures"]["InvalidIdentityToken"], 1);
    }
}
