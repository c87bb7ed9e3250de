//! What `irsa usage` reads: the role assumptions of both identity mechanisms from CloudTrail's
//! event history (LookupEvents) in a time window, and what IAM knows of the roles (RoleLastUsed,
//! trust policy), fetched concurrently. I/O only: events are parsed and grouped by
//! `irsa_core::usage`.
//!
//! One lookup per event name, each paged with NextToken (50 events a page), whatever roles are
//! asked for: `AssumeRoleWithWebIdentity` (IRSA), `AssumeRole` (of which those made by
//! `pods.eks.amazonaws.com`, EKS Pod Identity, are kept; the others are counted as skipped) and
//! `AssumeRoleForPodIdentity` (the Pod Identity agent's calls to EKS Auth). LookupEvents takes one
//! attribute per request, so the alternative, one `ResourceName=<role ARN>` walk per role, costs a
//! walk per role and returns every other event on the role too (GetRole,
//! UpdateAssumeRolePolicy, …), and it needs the role ARNs before the lookup can start. The
//! event-name walks cost ⌈events ÷ 50⌉ calls each; roles are filtered locally. LookupEvents is
//! limited to about 2 requests per second per account and region: throttling
//! (`ThrottlingException`) is retried by the SDK's adaptive retry (its client-side rate limiter
//! slows down after a throttle), with the attempts of [`Options::max_attempts`](crate::Options).
//!
//! IAM, concurrently: GetRole per requested role (a role IAM does not know is simply absent), or,
//! with no role given, one paged GetAccountAuthorizationDetails walk (`Filter=Role`) for every
//! role's RoleLastUsed and trust policy.

use std::collections::BTreeMap;

use aws_sdk_cloudtrail::primitives::DateTime;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use aws_sdk_iam::types::EntityType;
use futures_util::future::try_join_all;
use irsa_core::usage::{
    ASSUME_ROLE, ASSUME_ROLE_FOR_POD_IDENTITY, EventError, RoleInfo, RoleLastUsed, UsageEvents,
    parse_eks_auth_event, parse_event, parse_pod_identity_event,
};

use crate::clients::Clients;
use crate::error::{AwsError, ErrorKind};
use crate::observe::{absent_if_not_found, rfc3339};

/// The CloudTrail event name of IRSA's role assumption.
pub const EVENT_NAME: &str = "AssumeRoleWithWebIdentity";

/// Every event name irsa looks up, one walk each.
pub const EVENT_NAMES: [&str; 3] = [EVENT_NAME, ASSUME_ROLE, ASSUME_ROLE_FOR_POD_IDENTITY];

/// What to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRequest {
    /// Role names; empty means every role.
    pub roles: Vec<String>,
    /// The window, seconds since the epoch.
    pub start: i64,
    pub end: i64,
}

/// What was read.
#[derive(Debug, Clone, Default)]
pub struct UsageObservation {
    pub events: UsageEvents,
    /// Events that could not be read, with the reason (kept out of the report, counted).
    pub unreadable: Vec<String>,
    /// AssumeRole events made by others than EKS Pod Identity (not role usage by pods).
    pub skipped: usize,
    pub roles: Vec<RoleInfo>,
    /// LookupEvents requests made (pages), per event name.
    pub lookup_calls: BTreeMap<&'static str, usize>,
}

impl UsageObservation {
    /// LookupEvents requests made, every walk together.
    pub fn total_lookup_calls(&self) -> usize {
        self.lookup_calls.values().sum()
    }
}

/// Reads the events and the roles concurrently.
pub async fn observe_usage(
    clients: &Clients,
    request: &UsageRequest,
) -> Result<UsageObservation, AwsError> {
    let roles = async {
        if request.roles.is_empty() {
            every_role(clients).await
        } else {
            let found =
                try_join_all(request.roles.iter().map(|name| get_role(clients, name))).await?;
            Ok(found.into_iter().flatten().collect())
        }
    };
    let walk = |name| lookup_events(clients, name, request.start, request.end);
    let (web, assume_role, eks_auth, roles) = tokio::try_join!(
        walk(EVENT_NAME),
        walk(ASSUME_ROLE),
        walk(ASSUME_ROLE_FOR_POD_IDENTITY),
        roles
    )?;
    let mut seen = UsageObservation {
        roles,
        ..UsageObservation::default()
    };
    for walk in [&web, &assume_role, &eks_auth] {
        seen.lookup_calls.insert(walk.name, walk.calls);
        seen.unreadable.extend(walk.missing.iter().cloned());
    }
    let unreadable = &mut seen.unreadable;
    let events = &mut seen.events;
    events.web_identity = parsed(&web, parse_event, unreadable);
    events.eks_auth = parsed(&eks_auth, parse_eks_auth_event, unreadable);
    for event in parsed(&assume_role, parse_pod_identity_event, unreadable) {
        match event {
            Some(event) => events.pod_identity.push(event),
            None => seen.skipped += 1,
        }
    }
    Ok(seen)
}

/// The walk's documents read by `parse`; the reasons of those it could not read go to
/// `unreadable`.
fn parsed<T>(
    walk: &Lookup,
    parse: impl Fn(&str) -> Result<T, EventError>,
    unreadable: &mut Vec<String>,
) -> Vec<T> {
    walk.documents
        .iter()
        .filter_map(|d| parse(d).map_err(|e| unreadable.push(e.to_string())).ok())
        .collect()
}

/// One walk's result: the events' `CloudTrailEvent` documents, newest first.
#[derive(Debug)]
struct Lookup {
    name: &'static str,
    documents: Vec<String>,
    /// Events without a CloudTrailEvent document.
    missing: Vec<String>,
    calls: usize,
}

/// Every event named `name` in the window (one paged walk).
async fn lookup_events(
    clients: &Clients,
    name: &'static str,
    start: i64,
    end: i64,
) -> Result<Lookup, AwsError> {
    const OP: &str = "cloudtrail:LookupEvents";
    let attribute = LookupAttribute::builder()
        .attribute_key(LookupAttributeKey::EventName)
        .attribute_value(name)
        .build()
        .map_err(|e| AwsError::new(ErrorKind::Other, OP, name, e.to_string()))?;
    let mut lookup = Lookup {
        name,
        documents: Vec::new(),
        missing: Vec::new(),
        calls: 0,
    };
    let mut next_token = None;
    loop {
        let out = clients
            .cloudtrail
            .lookup_events()
            .lookup_attributes(attribute.clone())
            .start_time(DateTime::from_secs(start))
            .end_time(DateTime::from_secs(end))
            .max_results(50)
            .set_next_token(next_token.take())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OP, name, e))?;
        lookup.calls += 1;
        for event in out.events() {
            match event.cloud_trail_event() {
                Some(document) => lookup.documents.push(document.to_string()),
                None => lookup.missing.push(format!(
                    "event {} has no CloudTrailEvent",
                    event.event_id().unwrap_or("(without id)")
                )),
            }
        }
        match out.next_token() {
            Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
            _ => break,
        }
    }
    Ok(lookup)
}

fn last_used(used: Option<&aws_sdk_iam::types::RoleLastUsed>) -> Option<RoleLastUsed> {
    let used = used?;
    let date = used.last_used_date().and_then(rfc3339);
    let region = used.region().map(str::to_string);
    (date.is_some() || region.is_some()).then_some(RoleLastUsed { date, region })
}

async fn get_role(clients: &Clients, name: &str) -> Result<Option<RoleInfo>, AwsError> {
    const OP: &str = "iam:GetRole";
    let out = clients
        .iam
        .get_role()
        .role_name(name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(OP, name, e));
    let Some(out) = absent_if_not_found(out)? else {
        return Ok(None);
    };
    let role = out.role().ok_or_else(|| {
        AwsError::new(
            ErrorKind::InvalidResponse,
            OP,
            name,
            "no Role in the answer",
        )
    })?;
    Ok(Some(RoleInfo {
        name: role.role_name().to_string(),
        arn: role.arn().to_string(),
        trust_policy: role.assume_role_policy_document().map(str::to_string),
        last_used: last_used(role.role_last_used()),
    }))
}

async fn every_role(clients: &Clients) -> Result<Vec<RoleInfo>, AwsError> {
    let mut roles = Vec::new();
    crate::authorization_details::walk(clients, &[EntityType::Role], |page| {
        roles.extend(page.role_detail_list().iter().filter_map(|role| {
            Some(RoleInfo {
                name: role.role_name()?.to_string(),
                arn: role.arn()?.to_string(),
                trust_policy: role.assume_role_policy_document().map(str::to_string),
                last_used: last_used(role.role_last_used()),
            })
        }));
    })
    .await?;
    Ok(roles)
}
