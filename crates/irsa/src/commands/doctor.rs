//! `irsa doctor`: gathers the facts of the IRSA chain for the selected service accounts (the
//! spec's bindings, one service account, or every annotated one plus the presets' well-known
//! ones), lets [`irsa_core::doctor::diagnose`] decide, prints the findings root cause first, and
//! with `--fix` performs the fixes that carry a step (asking first unless `--yes`), then diagnoses
//! again and reports what is left.
//!
//! Calls: the Kubernetes service accounts (one GET each, or one LIST for `--all`), then one
//! observe of AWS (two rounds: STS, DescribeCluster, the OIDC providers, GetRole and its lists,
//! DescribeAddon), then, concurrently: the attached and boundary policies' documents, the inline
//! policies' documents, the autoscaler's Auto Scaling groups (only when the autoscaler is among
//! the subjects), each subject's workloads, the add-ons' controller Deployments and the issuer's
//! TLS chain (one handshake with the issuer host, for the provider thumbprint; skipped when
//! `IRSA_OFFLINE_ISSUER` is set, as the sandbox does).

use std::collections::BTreeMap;

use futures_util::future::try_join_all;
use irsa_core::doctor::{
    self, DoctorInput, Finding, FixAction, RULES, Subject, Thumbprint, WorkloadFacts,
};
use irsa_core::presets::requirements::AutoScalingGroup;
use irsa_core::snapshot::{ServiceAccount, Snapshot};
use serde::Serialize;

use crate::cli::{DoctorArgs, SubjectArgs};
use crate::connection::{self, Connection};
use crate::exit::{CliError, Code, failed_while};
use crate::output::{Format, confirm, print_json};
use crate::style::{count, counted};

pub fn run(args: DoctorArgs) -> Result<Code, CliError> {
    if args.rules {
        return rules(args.output);
    }
    let single = args.subjects.single().map_err(CliError::input)?;
    connection::runtime()?.block_on(async {
        let (conn, cluster) =
            connection::connect(&args.subjects.cluster, args.output == Format::Text).await?;
        let state = connection::spec_state(&args.subjects.cluster)?;
        let facts = gather(
            &conn,
            &cluster,
            &args.subjects,
            single.as_ref(),
            state.as_ref(),
        )
        .await?;
        let findings = diagnose(&facts, &cluster, args.adopt);
        let fixes = fix_actions(&findings);
        if !args.fix || fixes.is_empty() {
            report(&facts, &findings, &[], args.output, args.fix);
            return Ok(code(&findings));
        }
        if args.output == Format::Text {
            report(&facts, &findings, &[], Format::Text, true);
        }
        confirm(
            &format!("Perform {}?", count(fixes.len(), "fix", "fixes")),
            args.yes,
        )?;
        let fixed = perform(&conn, &fixes).await?;
        eprintln!("Diagnosing again…");
        let facts = gather(
            &conn,
            &cluster,
            &args.subjects,
            single.as_ref(),
            state.as_ref(),
        )
        .await?;
        let findings = diagnose(&facts, &cluster, args.adopt);
        report(&facts, &findings, &fixed, args.output, false);
        Ok(code(&findings))
    })
}

fn code(findings: &[Finding]) -> Code {
    if findings.iter().any(Finding::is_failure) {
        Code::Negative
    } else {
        Code::Ok
    }
}

/// Everything observed, owned, for [`DoctorInput`].
struct Facts {
    snapshot: Snapshot,
    subjects: Vec<Subject>,
    inline: BTreeMap<String, Vec<(String, serde_json::Value)>>,
    workloads: BTreeMap<(String, String), Vec<WorkloadFacts>>,
    groups: Option<Vec<AutoScalingGroup>>,
    controllers: BTreeMap<(String, String), String>,
    thumbprint: Thumbprint,
}

fn diagnose(facts: &Facts, cluster: &str, adopt: bool) -> Vec<Finding> {
    doctor::diagnose(&DoctorInput {
        snapshot: &facts.snapshot,
        cluster,
        subjects: &facts.subjects,
        inline_policies: &facts.inline,
        workloads: &facts.workloads,
        auto_scaling_groups: facts.groups.as_deref(),
        controllers: &facts.controllers,
        thumbprint: &facts.thumbprint,
        adopt,
    })
}

/// The subjects and their service accounts as they are in the cluster.
async fn select(
    conn: &Connection,
    args: &SubjectArgs,
    single: Option<&(String, String)>,
    state: Option<&irsa_core::desired::DesiredState>,
) -> Result<(Vec<Subject>, Vec<ServiceAccount>), CliError> {
    // `--all` lists the annotated service accounts (they need no second read) and adds the
    // presets' well-known ones, kept only when they exist.
    let mut listed: Option<Vec<ServiceAccount>> = None;
    let mut subjects: Vec<Subject> = match (state, single) {
        (Some(state), _) if !args.all => state
            .bindings
            .iter()
            .filter(|b| {
                single.is_none_or(|(ns, name)| b.namespace == *ns && b.service_account == *name)
            })
            .map(|b| {
                let mut subject = doctor::subject_for(&b.namespace, &b.service_account);
                subject.preset = b.preset.map(str::to_string).or(subject.preset);
                subject.addon = match &b.install {
                    Some(irsa_core::desired::Install::EksAddon { name }) => Some(name.clone()),
                    _ => None,
                };
                subject
            })
            .collect(),
        (_, Some((namespace, name))) => vec![doctor::subject_for(namespace, name)],
        _ => {
            let annotated = irsa_kube::list_role_service_accounts(&conn.kube, None)
                .await
                .map_err(failed_while("listing service accounts"))?;
            let mut subjects: Vec<Subject> = annotated
                .iter()
                .map(|sa| doctor::subject_for(&sa.namespace, &sa.name))
                .collect();
            for preset in irsa_core::presets::catalog() {
                if !subjects
                    .iter()
                    .any(|s| s.namespace == preset.namespace && s.name == preset.service_account)
                {
                    subjects.push(doctor::subject_for(
                        preset.namespace,
                        preset.service_account,
                    ));
                }
            }
            listed = Some(annotated);
            subjects
        }
    };
    if subjects.is_empty() {
        return Err(CliError::input(
            "no service account selected: the spec has no binding for --namespace/--service-account",
        ));
    }
    let known = listed.as_deref().unwrap_or_default();
    let is_known = |s: &Subject| {
        known
            .iter()
            .any(|sa| sa.namespace == s.namespace && sa.name == s.name)
    };
    let request = irsa_kube::KubeObserveRequest {
        namespaces: Vec::new(),
        service_accounts: subjects
            .iter()
            .filter(|s| !is_known(s))
            .map(|s| (s.namespace.clone(), s.name.clone()))
            .collect(),
    };
    let (_, read) = irsa_kube::observe(&conn.kube, &request)
        .await
        .map_err(failed_while("reading service accounts"))?;
    let found: Vec<ServiceAccount> = known.iter().cloned().chain(read).collect();
    if listed.is_some() {
        subjects.retain(|s| {
            found
                .iter()
                .any(|sa| sa.namespace == s.namespace && sa.name == s.name)
        });
    }
    Ok((subjects, found))
}

async fn gather(
    conn: &Connection,
    cluster: &str,
    args: &SubjectArgs,
    single: Option<&(String, String)>,
    state: Option<&irsa_core::desired::DesiredState>,
) -> Result<Facts, CliError> {
    let (mut subjects, service_accounts) = select(conn, args, single, state).await?;
    let mut role_names = connection::annotated_role_names(&service_accounts);
    if let Some(state) = state {
        role_names.extend(state.bindings.iter().map(|b| b.role.name.clone()));
    }
    role_names.sort();
    role_names.dedup();
    let mut addon_names: Vec<String> = subjects.iter().filter_map(|s| s.addon.clone()).collect();
    addon_names.sort();
    addon_names.dedup();
    let mut snapshot = connection::observe_cluster(conn, cluster, role_names, addon_names).await?;
    snapshot.service_accounts = service_accounts;
    if let Some(state) = state {
        for subject in &mut subjects {
            subject.expected_role_arn = state
                .bindings
                .iter()
                .find(|b| b.namespace == subject.namespace && b.service_account == subject.name)
                .map(|b| b.role_arn(&snapshot.partition, &snapshot.account));
        }
    }

    let mut policy_arns: Vec<String> = snapshot
        .roles
        .iter()
        .flat_map(|r| {
            r.attached_policy_arns
                .iter()
                .chain(r.permissions_boundary.iter())
                .cloned()
        })
        .collect();
    policy_arns.sort();
    policy_arns.dedup();
    let wants_groups = subjects
        .iter()
        .any(|s| s.preset.as_deref() == Some("cluster-autoscaler"));
    let issuer = snapshot
        .cluster
        .as_ref()
        .and_then(|c| c.issuer_url.clone())
        .unwrap_or_default();
    let (policies, inline, groups, workloads, controllers, thumbprint) = tokio::try_join!(
        async {
            irsa_aws::observe_policies(&conn.aws, &policy_arns)
                .await
                .map_err(failed_while("reading the roles' policies"))
        },
        try_join_all(snapshot.roles.iter().map(|role| async move {
            irsa_aws::doctor_reads::inline_policies(
                &conn.aws,
                &role.name,
                &role.inline_policy_names,
            )
            .await
            .map(|docs| (role.name.clone(), docs))
            .map_err(failed_while("reading inline policies"))
        })),
        async {
            if !wants_groups {
                return Ok(None);
            }
            irsa_aws::doctor_reads::autoscaler_groups(&conn.aws, cluster)
                .await
                .map(Some)
                .map_err(failed_while("reading Auto Scaling groups"))
        },
        try_join_all(subjects.iter().map(|s| async move {
            irsa_kube::workloads_using(&conn.kube, &s.namespace, &s.name)
                .await
                .map(|list| {
                    let facts = list
                        .into_iter()
                        .map(|w| WorkloadFacts {
                            kind: w.kind,
                            name: w.name,
                            pods: w.pods,
                            pods_without_credentials: w.pods_without_credentials,
                        })
                        .collect::<Vec<_>>();
                    ((s.namespace.clone(), s.name.clone()), facts)
                })
                .map_err(failed_while("listing pods"))
        })),
        try_join_all(subjects.iter().filter_map(|s| s.controller.clone()).map(
            |(namespace, name)| async move {
                irsa_kube::deployment_service_account(&conn.kube, &namespace, &name)
                    .await
                    .map(|sa| sa.map(|sa| ((namespace, name), sa)))
                    .map_err(failed_while("reading controller deployments"))
            }
        )),
        async { Ok(thumbprint(&issuer).await) },
    )?;
    snapshot.policies = policies;
    Ok(Facts {
        snapshot,
        subjects,
        inline: inline.into_iter().collect(),
        workloads: workloads.into_iter().collect(),
        groups,
        controllers: controllers.into_iter().flatten().collect(),
        thumbprint,
    })
}

async fn thumbprint(issuer: &str) -> Thumbprint {
    match crate::issuer::thumbprint(issuer).await {
        Ok(sha1) => Thumbprint::Expected(sha1),
        Err(why) => Thumbprint::NotChecked(why),
    }
}

/// The distinct fixes with an action, in finding order.
fn fix_actions(findings: &[Finding]) -> Vec<FixAction> {
    let mut out: Vec<FixAction> = Vec::new();
    for action in findings.iter().filter_map(|f| f.fix.action.clone()) {
        if !out.contains(&action) {
            out.push(action);
        }
    }
    out
}

/// Performs the fixes in order (root cause first); stops at the first failure. Returns what was
/// done.
async fn perform(conn: &Connection, fixes: &[FixAction]) -> Result<Vec<String>, CliError> {
    let mut done = Vec::new();
    for fix in fixes {
        let label = fix_label(fix);
        let result = match fix {
            FixAction::Step { step }
                if matches!(step, irsa_core::steps::Step::ApplyServiceAccount { .. }) =>
            {
                irsa_kube::execute(&conn.kube, step)
                    .await
                    .map_err(|e| e.to_string())
            }
            FixAction::Step { step } => {
                irsa_aws::execute(&conn.aws, step, &|msg: &str| eprintln!("    {msg}"))
                    .await
                    .map_err(|e| e.to_string())
            }
            FixAction::Restart {
                namespace,
                workload_kind,
                workload,
            } => irsa_kube::restart_workload(
                &conn.kube,
                &irsa_kube::Workload {
                    kind: workload_kind.clone(),
                    namespace: namespace.clone(),
                    name: workload.clone(),
                    pods: 0,
                    pods_without_credentials: 0,
                },
            )
            .await
            .map_err(|e| e.to_string()),
        };
        match result {
            Ok(()) => {
                eprintln!("  ✓ {label}");
                done.push(label);
            }
            Err(e) => {
                eprintln!("  ✗ {label}: {e}");
                return Err(CliError::failed(format!("fix failed: {label}: {e}")));
            }
        }
    }
    Ok(done)
}

fn fix_label(fix: &FixAction) -> String {
    use irsa_core::steps::Step;
    match fix {
        FixAction::Step { step } => match step {
            Step::CreateOidcProvider { url, .. } => {
                format!("create the IAM OIDC provider for {url}")
            }
            Step::AddOidcClientId { client_id, .. } => {
                format!("add client id {client_id} to the OIDC provider")
            }
            Step::ApplyServiceAccount {
                namespace, name, ..
            } => format!("annotate service account {namespace}/{name}"),
            Step::UpdateTrustPolicy { role_name, .. } => {
                format!("update the trust policy of role {role_name}")
            }
            Step::UpdateAddon { name, role_arn, .. } => {
                format!("set add-on {name}'s role to {role_arn}")
            }
            other => format!("{other:?}"),
        },
        FixAction::Restart {
            namespace,
            workload_kind,
            workload,
        } => format!(
            "restart {}/{workload} in {namespace}",
            workload_kind.to_lowercase()
        ),
    }
}

#[derive(Serialize)]
struct Report<'a> {
    healthy: bool,
    cluster: Option<&'a str>,
    service_accounts: Vec<String>,
    findings: &'a [Finding],
    /// The fixes `--fix` performed before these findings were made.
    fixed: &'a [String],
    not_checked: Vec<String>,
}

fn report(facts: &Facts, findings: &[Finding], fixed: &[String], format: Format, fixing: bool) {
    let not_checked: Vec<String> = match &facts.thumbprint {
        Thumbprint::NotChecked(why) => vec![format!("OIDC provider thumbprint: {why}")],
        Thumbprint::Expected(_) => Vec::new(),
    };
    let subjects: Vec<String> = facts.subjects.iter().map(Subject::label).collect();
    if format == Format::Json {
        print_json(&Report {
            healthy: !findings.iter().any(Finding::is_failure),
            cluster: facts.snapshot.cluster.as_ref().map(|c| c.name.as_str()),
            service_accounts: subjects,
            findings,
            fixed,
            not_checked,
        });
        return;
    }
    for finding in findings {
        println!(
            "{} {} {:<8} {:<15} {}{}",
            if finding.is_failure() { "✗" } else { "!" },
            finding.rule,
            finding.severity.as_str(),
            finding.link.as_str(),
            finding
                .subject
                .as_deref()
                .map(|s| format!("{s}: "))
                .unwrap_or_default(),
            finding.message
        );
        for line in &finding.evidence {
            println!("      evidence: {line}");
        }
        if !finding.fix.summary.is_empty() {
            println!("      fix: {}", finding.fix.summary);
        }
        if let Some(command) = &finding.fix.command {
            println!("        $ {command}");
        }
        if finding.fix.action.is_some() && !fixing {
            println!("        (irsa doctor --fix does this)");
        }
    }
    let failures = findings.iter().filter(|f| f.is_failure()).count();
    match findings.iter().find(|f| f.is_failure()) {
        None => println!(
            "Healthy: {} checked ({}), every link of the chain holds.",
            counted(subjects.len(), "service account"),
            subjects.join(", ")
        ),
        Some(first) => println!(
            "{} for {}; root cause: {} ({}).",
            counted(failures, "problem"),
            counted(subjects.len(), "service account"),
            first.rule,
            first.link.as_str()
        ),
    }
    for line in &not_checked {
        println!("Not checked: {line}");
    }
}

fn rules(format: Format) -> Result<Code, CliError> {
    match format {
        Format::Json => print_json(&RULES),
        Format::Text => {
            for rule in RULES {
                println!(
                    "{:<7} {:<9} {:<16} {:<30} {}",
                    rule.id,
                    rule.severity.as_str(),
                    rule.link.as_str(),
                    rule.name,
                    rule.summary
                );
            }
        }
    }
    Ok(Code::Ok)
}
