//! `irsa usage`: the guide's "monitor IAM role usage via CloudTrail", for IRSA and EKS Pod
//! Identity. It reads the region's `AssumeRoleWithWebIdentity`, `AssumeRole` (those by
//! `pods.eks.amazonaws.com`) and `AssumeRoleForPodIdentity` events from CloudTrail's event
//! history (LookupEvents, one walk per event name) in the `--since` window and IAM's
//! RoleLastUsed, then shows per role, mechanism and service account (the token's subject, or
//! the Pod Identity session tags) how many calls succeeded, how many failed by error code, and
//! when they were last seen, and the Pod Identity agent's calls per cluster. Input (`--role`,
//! `--since`, `--region`) is checked before the first API call.

use std::time::{SystemTime, UNIX_EPOCH};

use std::collections::BTreeMap;

use comfy_table::{Table, presets::NOTHING};
use irsa_core::identity::Kind;
use irsa_core::usage::{
    RoleUsage, SubjectUsage, UsageReport, build_report, parse_since, role_name_of_arn,
};
use serde::Serialize;

use crate::cli::UsageArgs;
use crate::connection;
use crate::exit::{CliError, Code};
use crate::output::{Format, print_json};
use crate::style::counted;

/// The validated arguments.
struct UsageQuery {
    roles: Vec<String>,
    start: i64,
    end: i64,
    region: String,
}

/// Now, in whole seconds rounded up: LookupEvents' `EndTime` (seconds) includes events "before or
/// at" it, and an event of this very second (recorded to the millisecond) must not be cut off.
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64 + i64::from(d.subsec_nanos() > 0))
        .unwrap_or_default()
}

/// A role given as a name or a role ARN → its name.
fn role_name(given: &str) -> Result<String, CliError> {
    if given.starts_with("arn:") {
        return role_name_of_arn(given)
            .map(str::to_string)
            .ok_or_else(|| CliError::input(format!("--role `{given}` is not an IAM role ARN")));
    }
    irsa_core::spec::rules::role_name(given)
        .map_err(|e| CliError::input(format!("--role `{given}`: {e}")))?;
    Ok(given.to_string())
}

fn validate(args: &UsageArgs) -> Result<UsageQuery, CliError> {
    let mut roles = args
        .roles
        .iter()
        .map(|r| role_name(r))
        .collect::<Result<Vec<_>, _>>()?;
    roles.sort();
    roles.dedup();
    let window = parse_since(&args.since).map_err(|e| CliError::input(format!("--since: {e}")))?;
    let region = args
        .region
        .clone()
        .or_else(connection::env_region)
        .ok_or_else(|| CliError::input("no region: give --region or set AWS_REGION"))?;
    irsa_core::spec::rules::region(&region)
        .map_err(|e| CliError::input(format!("--region: {e}")))?;
    let end = now();
    Ok(UsageQuery {
        roles,
        start: end - window as i64,
        end,
        region,
    })
}

/// `--output json`.
#[derive(Serialize)]
struct UsageJson<'a> {
    region: &'a str,
    #[serde(flatten)]
    report: &'a UsageReport,
    /// Events CloudTrail returned that could not be read (with the reason).
    unreadable_events: &'a [String],
    /// AssumeRole events made by others than EKS Pod Identity (not pods' role use).
    skipped_events: usize,
    /// LookupEvents requests, all walks together and per event name.
    lookup_calls: usize,
    lookup_calls_by_event: &'a BTreeMap<&'static str, usize>,
}

pub fn run(args: UsageArgs) -> Result<Code, CliError> {
    let query = validate(&args)?;
    connection::runtime()?.block_on(async {
        let clients = connection::aws_clients(&query.region).await?;
        let seen = irsa_aws::observe_usage(
            &clients,
            &irsa_aws::UsageRequest {
                roles: query.roles.clone(),
                start: query.start,
                end: query.end,
            },
        )
        .await
        .map_err(|e| CliError::failed(format!("reading role usage: {e}")))?;
        let report = build_report(
            &seen.events,
            &seen.roles,
            &query.roles,
            query.start,
            query.end,
        );
        match args.output {
            Format::Json => print_json(&UsageJson {
                region: &query.region,
                report: &report,
                unreadable_events: &seen.unreadable,
                skipped_events: seen.skipped,
                lookup_calls: seen.total_lookup_calls(),
                lookup_calls_by_event: &seen.lookup_calls,
            }),
            Format::Text => {
                print_table(&report, &query.region);
                for reason in &seen.unreadable {
                    eprintln!("irsa: skipped an event: {reason}");
                }
            }
        }
        Ok(Code::Ok)
    })
}

fn failures_text(failures: &std::collections::BTreeMap<String, u64>) -> String {
    if failures.is_empty() {
        return "0".into();
    }
    failures
        .iter()
        .map(|(code, n)| format!("{n} {code}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn last_used_text(role: &RoleUsage) -> String {
    if !role.exists {
        return "role not found".into();
    }
    match &role.role_last_used {
        Some(used) => format!(
            "{}{}",
            used.date.as_deref().unwrap_or("?"),
            used.region
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ),
        None => "never".into(),
    }
}

/// `irsa`, `pod-identity` or both, as the role's trust and calls say.
fn identities_text(kinds: &[Kind]) -> String {
    if kinds.is_empty() {
        return "-".into();
    }
    kinds
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The subject, with its cluster when the call names one (Pod Identity's session tags).
fn subject_text(sa: &SubjectUsage) -> String {
    match &sa.cluster {
        Some(cluster) => format!("{} ({cluster})", sa.subject),
        None => sa.subject.clone(),
    }
}

fn print_table(report: &UsageReport, region: &str) {
    println!(
        "AssumeRoleWithWebIdentity and EKS Pod Identity's AssumeRole in {region} from {} to {} (CloudTrail event history): {}.",
        report.since,
        report.until,
        counted(report.events, "event")
    );
    if report.roles.is_empty() {
        println!("No IRSA or Pod Identity role and no role assumption in this window.");
    } else {
        print_roles(report);
    }
    print_agent_calls(report);
}

fn print_roles(report: &UsageReport) {
    let mut table = Table::new();
    table.load_style(NOTHING).set_header([
        "ROLE",
        "IDENTITY",
        "SERVICE ACCOUNT",
        "OK",
        "FAILED",
        "LAST SEEN",
        "ROLE LAST USED",
    ]);
    for role in &report.roles {
        let last_used = last_used_text(role);
        if role.service_accounts.is_empty() {
            table.add_row([
                role.role.clone(),
                identities_text(&role.identities),
                "(no calls)".into(),
                "0".into(),
                "0".into(),
                "-".into(),
                last_used.clone(),
            ]);
        }
        for sa in &role.service_accounts {
            table.add_row([
                role.role.clone(),
                sa.identity.to_string(),
                subject_text(sa),
                sa.successes.to_string(),
                failures_text(&sa.failures),
                sa.last_seen.clone(),
                last_used.clone(),
            ]);
        }
    }
    println!("{table}");
    for role in &report.roles {
        for sa in &role.service_accounts {
            if let Some(error) = &sa.last_error {
                println!(
                    "{} as {}: last failure {error}",
                    role.role,
                    subject_text(sa)
                );
            }
        }
    }
}

/// The Pod Identity agent's AssumeRoleForPodIdentity calls per cluster (they name no role).
fn print_agent_calls(report: &UsageReport) {
    if report.pod_identity_requests.is_empty() {
        return;
    }
    println!("EKS Pod Identity agent (AssumeRoleForPodIdentity) per cluster:");
    let mut table = Table::new();
    table
        .load_style(NOTHING)
        .set_header(["CLUSTER", "OK", "FAILED", "LAST SEEN"]);
    for calls in &report.pod_identity_requests {
        table.add_row([
            calls.cluster.clone(),
            calls.successes.to_string(),
            failures_text(&calls.failures),
            calls.last_seen.clone(),
        ]);
    }
    println!("{table}");
    for calls in &report.pod_identity_requests {
        if let Some(error) = &calls.last_error {
            println!("cluster {}: last refusal {error}", calls.cluster);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_by_name_or_arn() {
        assert_eq!(role_name("app").unwrap(), "app");
        assert_eq!(
            role_name("arn:aws:iam::123456789012:role/team/app").unwrap(),
            "app"
        );
        assert_eq!(
            role_name("arn:aws:iam::123456789012:user/app")
                .unwrap_err()
                .code(),
            Code::BadInput
        );
        assert_eq!(role_name("bad name!").unwrap_err().code(), Code::BadInput);
        let mut failures = std::collections::BTreeMap::new();
        assert_eq!(failures_text(&failures), "0");
        failures.insert("AccessDenied".to_string(), 2);
        failures.insert("InvalidIdentityToken".to_string(), 1);
        assert_eq!(
            failures_text(&failures),
            "2 AccessDenied, 1 InvalidIdentityToken"
        );
    }
}
