//! `irsa audit`: account-wide findings, from the live account or from a saved
//! `aws iam get-account-authorization-details` dump. Every flag is checked before the first API
//! call; the live read is `irsa_aws::observe_account` (one GetAccountAuthorizationDetails walk and
//! a few calls per cluster and trail, plus the EKS Pod Identity associations of each
//! `--cluster NAME`, never a call per role), the decisions are
//! `irsa_core::audit::audit`, and the output is a table, JSON (`{"summary", "findings"}`) or
//! SARIF 2.1.0. Exit 0 when no finding reaches `--fail-on` (default high), 1 when one does, 2 on
//! bad input.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use comfy_table::{ContentArrangement, Table, presets::NOTHING};
use irsa_core::audit::{
    AccountAuthorizationDetails, AuditContext, Finding, KnownCluster, Severity, Summary, audit,
    reaches, sarif,
};
use irsa_core::spec::rules as names;
use serde_json::json;

use crate::cli::{AuditArgs, AuditFormat};
use crate::connection;
use crate::exit::{CliError, Code, read_input_file};
use crate::output::print_json;
use crate::style::{count, counted};

/// The flags, checked.
struct Checked {
    fail_on: Severity,
    /// `--cluster NAME=ISSUER_URL` (snapshot mode).
    known_clusters: Vec<KnownCluster>,
    /// `--cluster NAME` (live mode).
    cluster_names: Vec<String>,
    region: Option<String>,
}

fn check(args: &AuditArgs) -> Result<Checked, CliError> {
    let fail_on = Severity::parse(&args.fail_on).ok_or_else(|| {
        CliError::input(format!(
            "--fail-on `{}`: expected info, low, medium, high or critical",
            args.fail_on
        ))
    })?;
    for key in &args.require_tags {
        names::tag_key(key).map_err(|e| CliError::input(format!("--require-tag: {e}")))?;
    }
    let region = args.region.clone().or_else(connection::env_region);
    if let Some(region) = &region {
        names::region(region).map_err(|e| CliError::input(format!("--region: {e}")))?;
    }
    let mut known_clusters = Vec::new();
    let mut cluster_names = Vec::new();
    for item in &args.clusters {
        match (item.split_once('='), args.snapshot.is_some()) {
            (Some((name, url)), true) => {
                names::cluster_name(name)
                    .map_err(|e| CliError::input(format!("--cluster: {e}")))?;
                if !url.starts_with("https://") || url.len() <= "https://".len() {
                    return Err(CliError::input(format!(
                        "--cluster `{item}`: the issuer must be an https:// URL (`aws eks describe-cluster --name {name} --query cluster.identity.oidc.issuer`)"
                    )));
                }
                known_clusters.push(KnownCluster::new(name, url));
            }
            (None, true) => {
                return Err(CliError::input(format!(
                    "--cluster `{item}`: with --snapshot give NAME=ISSUER_URL (a snapshot holds no cluster issuers)"
                )));
            }
            (Some(_), false) => {
                return Err(CliError::input(format!(
                    "--cluster `{item}`: NAME=ISSUER_URL is for --snapshot; the live audit reads the issuer with eks:DescribeCluster, give NAME"
                )));
            }
            (None, false) => {
                names::cluster_name(item)
                    .map_err(|e| CliError::input(format!("--cluster: {e}")))?;
                cluster_names.push(item.clone());
            }
        }
    }
    if args.snapshot.is_none() && region.is_none() {
        return Err(CliError::input(
            "no region: give --region or set AWS_REGION (the live audit reads EKS and CloudTrail of one region)",
        ));
    }
    Ok(Checked {
        fail_on,
        known_clusters,
        cluster_names,
        region,
    })
}

fn now_ms() -> Option<i64> {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
    i64::try_from(since.as_millis()).ok()
}

pub fn run(args: AuditArgs) -> Result<Code, CliError> {
    let checked = check(&args)?;
    let base = AuditContext {
        region: checked.region.clone(),
        now_ms: now_ms(),
        unused_days: args.unused_days,
        required_tags: args.require_tags.clone(),
        ..AuditContext::default()
    };
    let (details, ctx) = match &args.snapshot {
        Some(path) => {
            let details = load_snapshot(path)?;
            let clusters = (!checked.known_clusters.is_empty()).then_some(checked.known_clusters);
            (details, AuditContext { clusters, ..base })
        }
        None => live(&checked, base)?,
    };
    let findings = audit(&details, &ctx);
    let summary = Summary::new(&details, &findings);
    match args.output {
        AuditFormat::Json => print_json(&json!({ "summary": summary, "findings": findings })),
        AuditFormat::Sarif => {
            let artifact = args.snapshot.as_deref().map(|p| p.display().to_string());
            print_json(&sarif::to_sarif(
                &findings,
                env!("CARGO_PKG_VERSION"),
                artifact.as_deref(),
            ));
        }
        AuditFormat::Table => print_table(&findings, &summary, checked.fail_on),
    }
    Ok(if reaches(&findings, checked.fail_on) {
        Code::Negative
    } else {
        Code::Ok
    })
}

fn load_snapshot(path: &Path) -> Result<AccountAuthorizationDetails, CliError> {
    let text = read_input_file(path)?;
    AccountAuthorizationDetails::from_json(&text)
        .map_err(|e| CliError::input(format!("{}: {e}", path.display())))
}

fn live(
    checked: &Checked,
    base: AuditContext,
) -> Result<(AccountAuthorizationDetails, AuditContext), CliError> {
    // `check` made sure of the region.
    let region = checked.region.clone().unwrap_or_default();
    let request = irsa_aws::AccountRequest {
        clusters: (!checked.cluster_names.is_empty()).then(|| checked.cluster_names.clone()),
        policy_tags: !base.required_tags.is_empty(),
    };
    let observed = connection::runtime()?.block_on(async {
        let clients = connection::aws_clients(&region).await?;
        irsa_aws::observe_account(&clients, &request)
            .await
            .map_err(|e| CliError::failed(format!("cannot read the account: {e}")))
    })?;
    let ctx = AuditContext {
        clusters: Some(observed.clusters),
        oidc_provider_arns: Some(observed.oidc_provider_arns),
        cloudtrail: Some(observed.cloudtrail),
        pod_identity_associations: observed.pod_identity_associations,
        ..base
    };
    Ok((observed.details, ctx))
}

fn print_table(findings: &[Finding], summary: &Summary, fail_on: Severity) {
    if !findings.is_empty() {
        let mut table = Table::new();
        table
            .load_style(NOTHING)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(["SEVERITY", "RULE", "RESOURCE", "FINDING"]);
        for f in findings {
            table.add_row([
                f.severity.as_str().to_uppercase(),
                f.rule.to_string(),
                f.resource.clone(),
                format!("{}\nevidence: {}", f.message, f.evidence),
            ]);
        }
        println!("{table}");
    }
    println!(
        "{}, {}: {} ({} critical, {} high, {} medium, {} low, {} info); failing at {}: {}",
        counted(summary.roles, "role"),
        count(summary.policies, "managed policy", "managed policies"),
        counted(summary.findings, "finding"),
        summary.critical,
        summary.high,
        summary.medium,
        summary.low,
        summary.info,
        fail_on.as_str(),
        if reaches(findings, fail_on) {
            "yes"
        } else {
            "no"
        }
    );
}
