//! `irsa doctor`: gathers the facts of each selected service account's chain (the spec's
//! bindings, each through its `identity`; one service account; or every annotated one, every one
//! with an EKS Pod Identity association, plus the presets' well-known ones), lets
//! [`irsa_core::doctor::diagnose`] decide, prints the findings root cause first, and with `--fix`
//! performs the fixes that carry a step (asking first unless `--yes`), then diagnoses again and
//! reports what is left.
//!
//! Calls: the cluster's Pod Identity associations (ListPodIdentityAssociations pages, then
//! DescribePodIdentityAssociation for those in scope), the Kubernetes service accounts (one GET
//! each, or one LIST for `--all`), then one observe of AWS (STS, DescribeCluster, the OIDC
//! providers, DescribeAddon, with the agent add-on when associations exist or the spec asks for
//! Pod Identity) beside one read of the annotated, associated and target roles with their
//! attached, boundary and inline policies' documents ([`irsa_aws::observe_roles_bulk`]: per role
//! for a few, else one paged GetAccountAuthorizationDetails walk), then, concurrently: the
//! autoscaler's Auto Scaling groups (only when the autoscaler is among
//! the subjects), each subject's workloads (their pods' variables and Fargate placement), the
//! add-ons' controller Deployments, for Pod Identity the agent's DaemonSet and
//! DescribeAddonConfiguration of each installed add-on's version, and the issuer's TLS chain (one
//! handshake with the issuer host, for the provider thumbprint; skipped when `IRSA_OFFLINE_ISSUER`
//! is set, as the sandbox does).

use std::collections::BTreeMap;

use futures_util::future::try_join_all;
use irsa_aws::pod_identity::AssociationScope;
use irsa_core::doctor::{
    self, DoctorInput, Finding, FixAction, PodIdentityFacts, RULES, Subject, Thumbprint,
    WorkloadFacts,
};
use irsa_core::identity::Kind;
use irsa_core::identity::pod_identity::{AGENT_ADDON, AGENT_DAEMONSET};
use irsa_core::presets::requirements::AutoScalingGroup;
use irsa_core::snapshot::{PodIdentityAssociation, ServiceAccount, Snapshot};
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
    pod_identity: PodIdentityFacts,
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
        pod_identity: &facts.pod_identity,
        adopt,
    })
}

/// The subjects and their service accounts as they are in the cluster.
async fn select(
    conn: &Connection,
    args: &SubjectArgs,
    single: Option<&(String, String)>,
    state: Option<&irsa_core::desired::DesiredState>,
    associations: &[PodIdentityAssociation],
) -> Result<(Vec<Subject>, Vec<ServiceAccount>), CliError> {
    // `--all` lists the annotated service accounts (they need no second read) and adds those
    // with an association and the presets' well-known ones, kept only when they exist.
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
                subject.mechanism = Some(b.mechanism.clone());
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
            let associated = associations
                .iter()
                .map(|a| (a.namespace.as_str(), a.service_account.as_str()));
            let presets = irsa_core::presets::catalog()
                .iter()
                .map(|p| (p.namespace, p.service_account));
            for (namespace, name) in associated.chain(presets) {
                if !subjects
                    .iter()
                    .any(|s| s.namespace == namespace && s.name == name)
                {
                    subjects.push(doctor::subject_for(namespace, name));
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
    let associations = associations(conn, cluster, single, state.filter(|_| !args.all)).await?;
    let (mut subjects, service_accounts) = select(conn, args, single, state, &associations).await?;
    let mut role_names = connection::annotated_role_names(&service_accounts);
    if let Some(state) = state {
        role_names.extend(state.bindings.iter().map(|b| b.role.name.clone()));
        role_names.extend(
            state
                .bindings
                .iter()
                .filter_map(|b| b.mechanism.as_pod_identity())
                .filter_map(|p| p.target_role_arn.as_deref())
                .filter_map(irsa_core::verify::role_name_of),
        );
    }
    role_names.extend(
        associations
            .iter()
            .flat_map(|a| std::iter::once(&a.role_arn).chain(&a.target_role_arn))
            .filter_map(|arn| irsa_core::verify::role_name_of(arn)),
    );
    role_names.sort();
    role_names.dedup();
    let wants_agent = !associations.is_empty()
        || subjects.iter().any(|s| {
            s.mechanism
                .as_ref()
                .is_some_and(|m| m.kind() == Kind::PodIdentity)
        });
    let mut addon_names: Vec<String> = subjects.iter().filter_map(|s| s.addon.clone()).collect();
    if wants_agent {
        addon_names.push(AGENT_ADDON.to_string());
    }
    addon_names.sort();
    addon_names.dedup();
    // The roles with their attached, boundary and inline policies' documents, read once.
    let connection::Observed {
        mut snapshot,
        inline,
    } = connection::observe_cluster(conn, cluster, role_names, addon_names, true).await?;
    snapshot.service_accounts = service_accounts;
    snapshot.pod_identity_associations = associations;
    if let Some(state) = state {
        for subject in &mut subjects {
            subject.expected_role_arn = state
                .bindings
                .iter()
                .find(|b| b.namespace == subject.namespace && b.service_account == subject.name)
                .map(|b| b.role_arn(&snapshot.partition, &snapshot.account));
        }
    }

    let wants_groups = subjects
        .iter()
        .any(|s| s.preset.as_deref() == Some("cluster-autoscaler"));
    let issuer = snapshot
        .cluster
        .as_ref()
        .and_then(|c| c.issuer_url.clone())
        .unwrap_or_default();
    let pod_identity_subjects: Vec<&Subject> = subjects
        .iter()
        .filter(|s| doctor::mechanism_of(&snapshot, s) == Kind::PodIdentity)
        .collect();
    // The provider's thumbprint matters only to IRSA.
    let wants_thumbprint = pod_identity_subjects.len() < subjects.len();
    let (groups, workloads, controllers, thumbprint, pod_identity) = tokio::try_join!(
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
                            pods_without_pod_identity: w.pods_without_pod_identity,
                            fargate_pods: w.fargate_pods,
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
        async {
            Ok(if wants_thumbprint {
                thumbprint(&issuer).await
            } else {
                Thumbprint::NotChecked(NO_IRSA.to_string())
            })
        },
        pod_identity_facts(conn, &snapshot, &pod_identity_subjects),
    )?;
    Ok(Facts {
        snapshot,
        subjects,
        inline: inline.into_iter().collect(),
        workloads: workloads.into_iter().collect(),
        groups,
        controllers: controllers.into_iter().flatten().collect(),
        thumbprint,
        pod_identity,
    })
}

/// The cluster's Pod Identity associations in scope: the one asked for, the spec's service
/// accounts (`state`, unless `--all`), or all of them (the default selection diagnoses every
/// associated one).
async fn associations(
    conn: &Connection,
    cluster: &str,
    single: Option<&(String, String)>,
    state: Option<&irsa_core::desired::DesiredState>,
) -> Result<Vec<PodIdentityAssociation>, CliError> {
    let scope = match (state, single) {
        (_, Some(subject)) => AssociationScope::Subjects([subject.clone()].into()),
        (Some(state), None) => AssociationScope::Subjects(
            state
                .bindings
                .iter()
                .map(|b| (b.namespace.clone(), b.service_account.clone()))
                .collect(),
        ),
        (None, None) => AssociationScope::All,
    };
    irsa_aws::pod_identity::read_associations(&conn.aws, cluster, &scope)
        .await
        .map_err(failed_while("reading EKS Pod Identity associations"))
}

/// The agent's DaemonSet and the installed add-ons' Pod Identity support, read only for the
/// subjects that use Pod Identity.
async fn pod_identity_facts(
    conn: &Connection,
    snapshot: &Snapshot,
    subjects: &[&Subject],
) -> Result<PodIdentityFacts, CliError> {
    if subjects.is_empty() {
        return Ok(PodIdentityFacts::default());
    }
    let installed: Vec<(String, String)> = subjects
        .iter()
        .filter_map(|s| s.addon.as_deref())
        .filter_map(|name| snapshot.addon(name))
        .filter_map(|addon| Some((addon.name.clone(), addon.version.clone()?)))
        .collect();
    let (agent_daemon_set, support) = tokio::try_join!(
        async {
            irsa_kube::daemon_set_status(&conn.kube, "kube-system", AGENT_DAEMONSET)
                .await
                .map_err(failed_while("reading the Pod Identity agent's DaemonSet"))
        },
        try_join_all(installed.iter().map(|(name, version)| async move {
            irsa_aws::doctor_reads::addon_supports_pod_identity(&conn.aws, name, version)
                .await
                .map(|supported| (name.clone(), supported))
                .map_err(failed_while("reading add-on configurations"))
        })),
    )?;
    Ok(PodIdentityFacts {
        agent_daemon_set,
        addon_supports_pod_identity: support.into_iter().collect(),
    })
}

/// Why the thumbprint is not checked when only Pod Identity service accounts are selected (not
/// reported: nothing uses the provider).
const NO_IRSA: &str = "no IRSA service account selected";

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
                    .map_err(|e| crate::actionable::step_failure(&e))
            }
            FixAction::Step { step } => {
                irsa_aws::execute(&conn.aws, step, &|msg: &str| eprintln!("    {msg}"))
                    .await
                    .map_err(|e| crate::actionable::step_failure(&e))
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
                    ..irsa_kube::Workload::default()
                },
            )
            .await
            .map_err(|e| crate::actionable::step_failure(&e)),
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
                namespace,
                name,
                annotations,
                ..
            } => {
                let verb = if annotations.iter().all(|(_, v)| v.is_none()) {
                    "remove the role annotation of"
                } else {
                    "annotate"
                };
                format!("{verb} service account {namespace}/{name}")
            }
            Step::UpdateTrustPolicy { role_name, .. } => {
                format!("update the trust policy of role {role_name}")
            }
            Step::UpdateAddon { name, identity, .. } => {
                format!("set add-on {name}'s {}", identity.describe())
            }
            Step::CreateAddon { name, .. } => format!("install EKS add-on {name}"),
            Step::CreatePodIdentityAssociation {
                namespace,
                service_account,
                role_arn,
                ..
            } => format!(
                "create the Pod Identity association {namespace}/{service_account} → {role_arn}"
            ),
            Step::UpdatePodIdentityAssociation {
                association_id,
                role_arn,
                ..
            } => format!("point association {association_id} at {role_arn}"),
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
        Thumbprint::NotChecked(why) if why != NO_IRSA => {
            vec![format!("OIDC provider thumbprint: {why}")]
        }
        _ => Vec::new(),
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
    let mechanisms: BTreeMap<String, Kind> = facts
        .subjects
        .iter()
        .map(|s| (s.label(), doctor::mechanism_of(&facts.snapshot, s)))
        .collect();
    let with_mechanism = |label: &str| match mechanisms.get(label) {
        Some(kind) => format!("{label} ({})", kind.title()),
        None => label.to_string(),
    };
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
                .map(|s| format!("{}: ", with_mechanism(s)))
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
            subjects
                .iter()
                .map(|s| with_mechanism(s))
                .collect::<Vec<_>>()
                .join(", ")
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
