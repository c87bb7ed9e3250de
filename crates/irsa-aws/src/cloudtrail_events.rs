//! What `irsa usage` reads: `AssumeRoleWithWebIdentity` events from CloudTrail's event history
//! (LookupEvents) in a time window, and what IAM knows of the roles (RoleLastUsed, trust policy),
//! fetched concurrently. I/O only: events are parsed and grouped by `irsa_core::usage`.
//!
//! One lookup, by `EventName=AssumeRoleWithWebIdentity`, paged with NextToken (50 events a
//! page), whatever roles are asked for: LookupEvents takes one attribute per request, so the
//! alternative, one `ResourceName=<role ARN>` walk per role, costs a walk per role and returns
//! every other event on the role too (GetRole, UpdateAssumeRolePolicy, …), and it needs the
//! role ARNs before the lookup can start. The event-name walk costs ⌈events ÷ 50⌉ calls for all
//! web-identity events of the region; roles are filtered locally. LookupEvents is limited to
//! about 2 requests per second per account and region: throttling (`ThrottlingException`) is
//! retried by the SDK's adaptive retry (its client-side rate limiter slows down after a
//! throttle), with the attempts of [`Options::max_attempts`](crate::Options).
//!
//! IAM, concurrently: GetRole per requested role (a role IAM does not know is simply absent), or,
//! with no role given, one paged GetAccountAuthorizationDetails walk (`Filter=Role`) for every
//! role's RoleLastUsed and trust policy.

use aws_sdk_cloudtrail::primitives::DateTime;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use aws_sdk_iam::types::EntityType;
use futures_util::future::try_join_all;
use irsa_core::usage::{RoleInfo, RoleLastUsed, WebIdentityEvent, parse_event};

use crate::clients::Clients;
use crate::error::{AwsError, ErrorKind};
use crate::observe::{absent_if_not_found, rfc3339};

/// The CloudTrail event name irsa reads.
pub const EVENT_NAME: &str = "AssumeRoleWithWebIdentity";

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
    pub events: Vec<WebIdentityEvent>,
    /// Events that could not be read, with the reason (kept out of the report, counted).
    pub unreadable: Vec<String>,
    pub roles: Vec<RoleInfo>,
    /// LookupEvents requests made (pages).
    pub lookup_calls: usize,
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
    let ((events, unreadable, lookup_calls), roles) = tokio::try_join!(
        lookup_web_identity_events(clients, request.start, request.end),
        roles
    )?;
    Ok(UsageObservation {
        events,
        unreadable,
        roles,
        lookup_calls,
    })
}

/// Every AssumeRoleWithWebIdentity event in the window, newest first; the unreadable ones; the
/// number of LookupEvents calls.
pub async fn lookup_web_identity_events(
    clients: &Clients,
    start: i64,
    end: i64,
) -> Result<(Vec<WebIdentityEvent>, Vec<String>, usize), AwsError> {
    const OP: &str = "cloudtrail:LookupEvents";
    let attribute = LookupAttribute::builder()
        .attribute_key(LookupAttributeKey::EventName)
        .attribute_value(EVENT_NAME)
        .build()
        .map_err(|e| AwsError::new(ErrorKind::Other, OP, EVENT_NAME, e.to_string()))?;
    let (mut events, mut unreadable, mut calls) = (Vec::new(), Vec::new(), 0);
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
            .map_err(|e| AwsError::from_sdk(OP, EVENT_NAME, e))?;
        calls += 1;
        for event in out.events() {
            let Some(document) = event.cloud_trail_event() else {
                unreadable.push(format!(
                    "event {} has no CloudTrailEvent",
                    event.event_id().unwrap_or("(without id)")
                ));
                continue;
            };
            match parse_event(document) {
                Ok(parsed) => events.push(parsed),
                Err(e) => unreadable.push(e.to_string()),
            }
        }
        match out.next_token() {
            Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
            _ => break,
        }
    }
    Ok((events, unreadable, calls))
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
