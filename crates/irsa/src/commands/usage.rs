//! `irsa usage`: the guide's "monitor IAM role usage via CloudTrail". It reads the region's
//! `AssumeRoleWithWebIdentity` events from CloudTrail's event history (LookupEvents) in the
//! `--since` window and IAM's RoleLastUsed, then shows per role and per service account (the
//! token's subject) how many calls succeeded, how many failed by error code, and when they were
//! last seen. Input (`--role`, `--since`, `--region`) is checked before the first API call.

use std::time::{SystemTime, UNIX_EPOCH};

use comfy_table::{Table, presets::NOTHING};
use irsa_core::usage::{RoleUsage, UsageReport, build_report, parse_since, role_name_of_arn};
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
    lookup_calls: usize,
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
                lookup_calls: seen.lookup_calls,
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

fn print_table(report: &UsageReport, region: &str) {
    println!(
        "AssumeRoleWithWebIdentity in {region} from {} to {} (CloudTrail event history): {}.",
        report.since,
        report.until,
        counted(report.events, "event")
    );
    if report.roles.is_empty() {
        println!("No IRSA role and no web-identity call in this window.");
        return;
    }
    let mut table = Table::new();
    table.load_style(NOTHING).set_header([
        "ROLE",
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
                role.role.as_str(),
                "(no calls)",
                "0",
                "0",
                "-",
                last_used.as_str(),
            ]);
        }
        for sa in &role.service_accounts {
            table.add_row([
                role.role.clone(),
                sa.subject.clone(),
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
                println!("{} as {}: last failure {error}", role.role, sa.subject);
            }
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
