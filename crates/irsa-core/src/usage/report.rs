//! The usage report: role assumptions grouped per role, then per mechanism and service account,
//! with successes, failures by error code, first and last seen and the newest failure's message,
//! beside IAM's RoleLastUsed for the role. IRSA calls are `AssumeRoleWithWebIdentity` events whose
//! token subject `system:serviceaccount:NS:NAME` names the service account (other subjects are
//! kept as they are); EKS Pod Identity calls are STS `AssumeRole` events by
//! `pods.eks.amazonaws.com` whose session tags name it (per cluster; an untagged session, as for
//! a target role, takes the tags of a tagged one with the same session name). The agent's
//! `AssumeRoleForPodIdentity` calls name no role, so they are counted per cluster
//! ([`ClusterCalls`]). With roles requested, exactly those are reported (one with no events shows
//! as unused, one IAM does not know as missing); without, every role that had events, plus every
//! role whose trust policy admits web identities through an IAM OIDC provider or EKS Pod Identity
//! (so unused roles stand out).

use std::collections::{BTreeMap, BTreeSet};

use iam_policy::document::{Effect, PolicyDocument, PrincipalType, Principals};
use serde::Serialize;

use crate::identity::Kind;

use super::event::WebIdentityEvent;
use super::pod_identity::{EksAuthEvent, PodIdentityEvent};
use super::{format_time, role_name_of_arn};

/// Every event read, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageEvents {
    pub web_identity: Vec<WebIdentityEvent>,
    pub pod_identity: Vec<PodIdentityEvent>,
    pub eks_auth: Vec<EksAuthEvent>,
}

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
    /// A Pod Identity session without session tags (disabled on the association).
    Untagged,
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
            Subject::Untagged => f.write_str("(no session tags)"),
        }
    }
}

/// One subject's calls for one role, through one mechanism.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubjectUsage {
    /// `irsa` (AssumeRoleWithWebIdentity) or `pod-identity` (AssumeRole by EKS Pod Identity).
    pub identity: Kind,
    /// The cluster, for Pod Identity (its `eks-cluster-name` session tag).
    pub cluster: Option<String>,
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
    /// The mechanisms its trust admits or its calls used.
    pub identities: Vec<Kind>,
    pub successes: u64,
    pub failures: BTreeMap<String, u64>,
    pub service_accounts: Vec<SubjectUsage>,
}

/// The agent's AssumeRoleForPodIdentity calls of one cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterCalls {
    pub cluster: String,
    pub successes: u64,
    pub failures: BTreeMap<String, u64>,
    pub first_seen: String,
    pub last_seen: String,
    pub last_error: Option<String>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageReport {
    pub since: String,
    pub until: String,
    /// Role assumptions read (AssumeRoleWithWebIdentity, and AssumeRole by EKS Pod Identity),
    /// and how many of them were about the roles reported.
    pub events: usize,
    pub events_reported: usize,
    pub roles: Vec<RoleUsage>,
    /// AssumeRoleForPodIdentity per cluster.
    pub pod_identity_requests: Vec<ClusterCalls>,
}

/// Whether a trust policy admits EKS Pod Identity (`pods.eks.amazonaws.com`, sts:AssumeRole).
pub fn trusts_pod_identity(trust_policy: &str) -> bool {
    PolicyDocument::parse(trust_policy).is_ok_and(|doc| crate::audit::admits_pod_identity(&doc))
}

/// The mechanisms a trust policy admits.
fn trusted_kinds(trust_policy: &str) -> impl Iterator<Item = Kind> {
    [
        (Kind::Irsa, trusts_web_identity(trust_policy)),
        (Kind::PodIdentity, trusts_pod_identity(trust_policy)),
    ]
    .into_iter()
    .filter_map(|(kind, yes)| yes.then_some(kind))
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
    fn add(&mut self, time: i64, error_code: Option<&str>, error_message: Option<&str>) {
        if self.successes == 0 && self.failures.is_empty() {
            self.first = time;
            self.last = time;
        }
        self.first = self.first.min(time);
        self.last = self.last.max(time);
        match error_code {
            None => self.successes += 1,
            Some(code) => {
                *self.failures.entry(code.to_string()).or_default() += 1;
                if self.last_error.as_ref().is_none_or(|(t, _)| time >= *t) {
                    let text = match error_message {
                        Some(message) => format!("{code}: {message}"),
                        None => code.to_string(),
                    };
                    self.last_error = Some((time, text));
                }
            }
        }
    }
}

/// One role assumption, whichever mechanism made it.
struct Call<'a> {
    identity: Kind,
    time: i64,
    role_arn: &'a str,
    cluster: Option<&'a str>,
    subject: Subject,
    error_code: Option<&'a str>,
    error_message: Option<&'a str>,
}

/// Who a Pod Identity session was for: its tags, or those of a tagged session of the same name.
fn pod_identity_subject<'a>(
    event: &'a PodIdentityEvent,
    tagged: &BTreeMap<&str, &'a PodIdentityEvent>,
) -> (Option<&'a str>, Subject) {
    let source = match (&event.namespace, &event.service_account) {
        (Some(_), Some(_)) => Some(event),
        _ => event
            .session
            .as_deref()
            .and_then(|s| tagged.get(s).copied()),
    };
    match source {
        Some(e) => (
            e.cluster.as_deref(),
            Subject::ServiceAccount {
                namespace: e.namespace.clone().unwrap_or_default(),
                name: e.service_account.clone().unwrap_or_default(),
            },
        ),
        None => (event.cluster.as_deref(), Subject::Untagged),
    }
}

fn calls(events: &UsageEvents) -> Vec<Call<'_>> {
    let tagged: BTreeMap<&str, &PodIdentityEvent> = events
        .pod_identity
        .iter()
        .filter(|e| e.namespace.is_some() && e.service_account.is_some())
        .filter_map(|e| Some((e.session.as_deref()?, e)))
        .collect();
    let web = events.web_identity.iter().map(|e| Call {
        identity: Kind::Irsa,
        time: e.time,
        role_arn: &e.role_arn,
        cluster: None,
        subject: Subject::from_sub(e.subject.as_deref()),
        error_code: e.error_code.as_deref(),
        error_message: e.error_message.as_deref(),
    });
    let pod = events.pod_identity.iter().map(|e| {
        let (cluster, subject) = pod_identity_subject(e, &tagged);
        Call {
            identity: Kind::PodIdentity,
            time: e.time,
            role_arn: &e.role_arn,
            cluster,
            subject,
            error_code: e.error_code.as_deref(),
            error_message: e.error_message.as_deref(),
        }
    });
    web.chain(pod).collect()
}

/// AssumeRoleForPodIdentity per cluster.
fn cluster_calls(events: &[EksAuthEvent]) -> Vec<ClusterCalls> {
    let mut per: BTreeMap<&str, Tally> = BTreeMap::new();
    for e in events {
        per.entry(&e.cluster).or_default().add(
            e.time,
            e.error_code.as_deref(),
            e.error_message.as_deref(),
        );
    }
    per.into_iter()
        .map(|(cluster, t)| ClusterCalls {
            cluster: cluster.to_string(),
            successes: t.successes,
            failures: t.failures,
            first_seen: format_time(t.first),
            last_seen: format_time(t.last),
            last_error: t.last_error.map(|(_, e)| e),
        })
        .collect()
}

/// Groups `events` (read in the window `since..until`, epoch seconds) per role, mechanism and
/// subject. `roles` is what IAM knows; `requested` the role names asked for (empty: see the
/// module doc).
pub fn build_report(
    events: &UsageEvents,
    roles: &[RoleInfo],
    requested: &[String],
    since: i64,
    until: i64,
) -> UsageReport {
    let known: BTreeMap<&str, &RoleInfo> = roles.iter().map(|r| (r.name.as_str(), r)).collect();
    let calls = calls(events);
    let mut names: Vec<String> = if requested.is_empty() {
        let mut names: Vec<String> = calls
            .iter()
            .filter_map(|c| role_name_of_arn(c.role_arn).map(str::to_string))
            .collect();
        names.extend(
            roles
                .iter()
                .filter(|r| {
                    r.trust_policy
                        .as_deref()
                        .is_some_and(|t| trusted_kinds(t).next().is_some())
                })
                .map(|r| r.name.clone()),
        );
        names
    } else {
        requested.to_vec()
    };
    names.sort();
    names.dedup();

    type Key = (Kind, Option<String>, Subject);
    let mut per_role: BTreeMap<&str, BTreeMap<Key, Tally>> = BTreeMap::new();
    let mut role_arns: BTreeMap<&str, &str> = BTreeMap::new();
    let mut reported = 0;
    for call in &calls {
        let Some(name) = role_name_of_arn(call.role_arn) else {
            continue;
        };
        if names.binary_search_by(|n| n.as_str().cmp(name)).is_err() {
            continue;
        }
        reported += 1;
        role_arns.entry(name).or_insert(call.role_arn);
        let key = (
            call.identity,
            call.cluster.map(str::to_string),
            call.subject.clone(),
        );
        per_role
            .entry(name)
            .or_default()
            .entry(key)
            .or_default()
            .add(call.time, call.error_code, call.error_message);
    }

    let roles = names
        .iter()
        .map(|name| {
            let info = known.get(name.as_str());
            let subjects = per_role.remove(name.as_str()).unwrap_or_default();
            let mut identities: BTreeSet<Kind> = info
                .and_then(|r| r.trust_policy.as_deref())
                .map(|t| trusted_kinds(t).collect())
                .unwrap_or_default();
            identities.extend(subjects.keys().map(|(kind, _, _)| *kind));
            let mut usage = RoleUsage {
                role: name.clone(),
                role_arn: info
                    .map(|r| r.arn.clone())
                    .or_else(|| role_arns.get(name.as_str()).map(|a| a.to_string())),
                exists: info.is_some(),
                role_last_used: info.and_then(|r| r.last_used.clone()),
                identities: identities.into_iter().collect(),
                successes: 0,
                failures: BTreeMap::new(),
                service_accounts: Vec::new(),
            };
            for ((identity, cluster, subject), tally) in subjects {
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
                    identity,
                    cluster,
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
        events: calls.len(),
        events_reported: reported,
        roles,
        pod_identity_requests: cluster_calls(&events.eks_auth),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::parse_event;

    const ACCOUNT_ROLE: &str = "arn:aws:iam::111122223333:role/";

    fn web(web_identity: Vec<WebIdentityEvent>) -> UsageEvents {
        UsageEvents {
            web_identity,
            ..UsageEvents::default()
        }
    }

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
        let report = build_report(&web(events), &roles, &[], 0, 400);
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
            &web(events),
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
        let report = build_report(&web(events), &[], &[], 0, 2_000_000_000);
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

    fn pod(
        role: &str,
        session: &str,
        sa: Option<(&str, &str)>,
        time: i64,
        error: Option<&str>,
    ) -> PodIdentityEvent {
        PodIdentityEvent {
            event_id: None,
            time,
            role_arn: format!("{ACCOUNT_ROLE}{role}"),
            session: Some(session.into()),
            namespace: sa.map(|(ns, _)| ns.to_string()),
            service_account: sa.map(|(_, n)| n.to_string()),
            cluster: sa.map(|_| "prod".to_string()),
            pod: None,
            region: None,
            error_code: error.map(str::to_string),
            error_message: error.map(|_| "refused".to_string()),
        }
    }

    const POD_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}]}"#;

    #[test]
    fn pod_identity_rows_beside_web_identity_ones() {
        let ebs = Some(("kube-system", "ebs-csi-controller-sa"));
        let events = UsageEvents {
            web_identity: vec![event(
                "shared",
                Some("system:serviceaccount:kube-system:ebs-csi-controller-sa"),
                5,
                None,
            )],
            pod_identity: vec![
                pod("shared", "eks-prod-ebs-1", ebs, 10, None),
                pod("shared", "eks-prod-ebs-2", ebs, 20, Some("AccessDenied")),
                // A target role's session: no tags, the first session's name.
                pod("target", "eks-prod-ebs-1", None, 11, None),
                pod("untagged", "eks-prod-x-3", None, 12, None),
            ],
            eks_auth: vec![],
        };
        let roles = [
            info("shared", Some(IRSA_TRUST)),
            info("idle-pod", Some(POD_TRUST)),
        ];
        let report = build_report(&events, &roles, &[], 0, 100);
        let names: Vec<&str> = report.roles.iter().map(|r| r.role.as_str()).collect();
        assert_eq!(names, vec!["idle-pod", "shared", "target", "untagged"]);
        assert_eq!((report.events, report.events_reported), (5, 5));
        let idle = &report.roles[0];
        assert_eq!(idle.identities, vec![Kind::PodIdentity]);
        assert!(idle.service_accounts.is_empty());
        let shared = &report.roles[1];
        assert_eq!(shared.identities, vec![Kind::Irsa, Kind::PodIdentity]);
        let rows: Vec<(Kind, Option<&str>, &str, u64)> = shared
            .service_accounts
            .iter()
            .map(|s| {
                (
                    s.identity,
                    s.cluster.as_deref(),
                    s.subject.as_str(),
                    s.successes,
                )
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                (Kind::Irsa, None, "kube-system/ebs-csi-controller-sa", 1),
                (
                    Kind::PodIdentity,
                    Some("prod"),
                    "kube-system/ebs-csi-controller-sa",
                    1
                ),
            ]
        );
        assert_eq!(
            shared.service_accounts[1].last_error.as_deref(),
            Some("AccessDenied: refused")
        );
        let target = &report.roles[2].service_accounts[0];
        assert_eq!(
            (target.subject.as_str(), target.cluster.as_deref()),
            ("kube-system/ebs-csi-controller-sa", Some("prod"))
        );
        assert_eq!(
            report.roles[3].service_accounts[0].subject,
            "(no session tags)"
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["roles"][1]["service_accounts"][0]["identity"], "irsa");
        assert_eq!(
            json["roles"][1]["service_accounts"][1]["identity"],
            "pod-identity"
        );
        assert_eq!(json["roles"][0]["identities"][0], "pod-identity");
    }

    #[test]
    fn fixtures_of_both_records_make_a_report() {
        use crate::usage::{parse_eks_auth_event, parse_pod_identity_event};
        let events = UsageEvents {
            web_identity: vec![],
            pod_identity: [
                include_str!("../../tests/fixtures/usage/pod_identity_assume_role.json"),
                include_str!("../../tests/fixtures/usage/pod_identity_assume_role_denied.json"),
            ]
            .iter()
            .map(|j| parse_pod_identity_event(j).unwrap().unwrap())
            .collect(),
            eks_auth: [
                include_str!("../../tests/fixtures/usage/assume_role_for_pod_identity.json"),
                include_str!("../../tests/fixtures/usage/assume_role_for_pod_identity_denied.json"),
            ]
            .iter()
            .map(|j| parse_eks_auth_event(j).unwrap())
            .collect(),
        };
        let report = build_report(&events, &[], &[], 0, 2_000_000_000);
        let role = &report.roles[0];
        assert_eq!(role.role, "irsa-demo-kube-system-ebs-csi-controller-sa");
        assert_eq!(role.service_accounts.len(), 1);
        let sa = &role.service_accounts[0];
        assert_eq!(
            (sa.successes, sa.failures.get("AccessDenied")),
            (1, Some(&1))
        );
        assert_eq!(sa.identity, Kind::PodIdentity);
        let agent = &report.pod_identity_requests;
        assert_eq!(agent.len(), 1);
        assert_eq!((agent[0].cluster.as_str(), agent[0].successes), ("demo", 1));
        assert_eq!(
            agent[0].last_error.as_deref(),
            Some(
                "AccessDenied: Unauthorized Exception! EKS does not have permissions to assume the associated role."
            )
        );
        assert_eq!(agent[0].last_seen, "2026-01-01T10:10:00Z");
    }
}
