//! `irsa plan`, `irsa apply` and `irsa destroy`: observe AWS and the cluster, decide with the pure
//! plan, show it, and (for apply and destroy) carry it out through the adapters.
//!
//! Order of work: the spec is read and validated first (bad input never reaches an API); then
//! one observation (AWS and Kubernetes concurrently), the pure plan, the confirmation, and the
//! steps, run as a dependency graph with bounded concurrency.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use irsa_core::desired::DesiredState;
use irsa_core::identity::Kind;
use irsa_core::identity::pod_identity::AGENT_ADDON;
use irsa_core::plan::{self, Mark, Plan, PlanOptions};
use irsa_core::render::ROLE_ARN_ANNOTATION;
use irsa_core::snapshot::Snapshot;
use irsa_core::steps::Step;
use serde_json::json;

use crate::actionable;
use crate::cli::{ApplyArgs, DestroyArgs, ProvisionArgs};
use crate::connection;
use crate::desired_input;
use crate::executor;
use crate::exit::{CliError, Code, failed_while};
use crate::output::{Format, confirm, print_json};
use crate::progress;
use crate::style::{self, counted};

/// Everything a provisioning command talks to.
struct Session {
    state: DesiredState,
    aws: irsa_aws::Clients,
    kube: irsa_kube::KubeClient,
    /// Kubernetes requests made (all, and mutating), for `--stats`.
    kube_calls: Arc<AtomicU64>,
    kube_mutating: Arc<AtomicU64>,
    /// Sequential rounds of calls spent observing.
    observe_rounds: usize,
    /// Where Helm values files go.
    values_dir: std::path::PathBuf,
}

/// Validates the spec, then connects to AWS and the cluster (no API call yet).
async fn connect(args: &ProvisionArgs) -> Result<Session, CliError> {
    let state = desired_input::for_target(
        &args.target,
        args.account.as_deref(),
        args.output == Format::Text,
    )?;
    let conn = connection::clients(
        &state.cluster.region,
        args.target.kubeconfig.as_deref(),
        args.target.context.as_deref(),
    )
    .await?;
    let (aws, kube) = (conn.aws, conn.kube);
    Ok(Session {
        state,
        aws,
        kube,
        kube_calls: Arc::default(),
        kube_mutating: Arc::default(),
        observe_rounds: 0,
        values_dir: args.values_dir.clone(),
    })
}

impl Session {
    /// Whether any binding uses `kind`.
    fn uses(&self, kind: Kind) -> bool {
        self.state
            .bindings
            .iter()
            .any(|b| b.mechanism.kind() == kind)
    }

    /// The associations a plan needs: those of the bindings' service accounts (an IRSA binding
    /// too: an association there means its live mechanism is Pod Identity).
    fn association_scope(&self) -> irsa_aws::pod_identity::AssociationScope {
        irsa_aws::pod_identity::AssociationScope::Subjects(
            self.state
                .bindings
                .iter()
                .map(|b| (b.namespace.clone(), b.service_account.clone()))
                .collect(),
        )
    }

    /// One observation of everything the plan needs, AWS and Kubernetes side by side.
    async fn observe(&mut self) -> Result<Snapshot, CliError> {
        let scope = self.association_scope();
        self.observe_with_addons(Vec::new(), scope).await
    }

    /// [`Session::observe`], reading also the EKS add-ons `extra_addons`.
    async fn observe_with_addons(
        &mut self,
        extra_addons: Vec<String>,
        associations: irsa_aws::pod_identity::AssociationScope,
    ) -> Result<Snapshot, CliError> {
        let failed = |e: &irsa_aws::AwsError| failed_while("observing AWS")(e.clone());
        // The spec's customer-managed policies, as (path, name): their ARNs hold the account.
        // When the spec does not name it, observe builds them from STS's answer, so that only
        // these reads wait for it.
        let own_policies: Vec<(String, String)> = self
            .state
            .bindings
            .iter()
            .flat_map(|b| {
                b.policies
                    .iter()
                    .map(|p| (b.role.path.clone(), p.name.clone()))
            })
            .collect();
        let (policy_arns, own_policies) = match &self.state.cluster.account {
            Some(account) => {
                let partition = &self.state.cluster.partition;
                let arns = own_policies
                    .iter()
                    .map(|(path, name)| {
                        irsa_core::desired::policy_arn(partition, account, path, name)
                    })
                    .collect();
                (arns, Vec::new())
            }
            None => (Vec::new(), own_policies),
        };
        let policies_wait_for_sts = !own_policies.is_empty();
        let request = irsa_aws::ObserveRequest {
            cluster: self.state.cluster.name.clone(),
            role_names: self
                .state
                .bindings
                .iter()
                .map(|b| b.role.name.clone())
                .collect(),
            policy_arns,
            own_policies,
            addon_names: self
                .state
                .bindings
                .iter()
                .filter_map(|b| match &b.install {
                    Some(irsa_core::desired::Install::EksAddon { name }) => Some(name.clone()),
                    _ => None,
                })
                .chain(extra_addons)
                .chain(
                    self.uses(Kind::PodIdentity)
                        .then(|| AGENT_ADDON.to_string()),
                )
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect(),
            associations,
        };
        let mut namespaces: Vec<String> = self
            .state
            .bindings
            .iter()
            .map(|b| b.namespace.clone())
            .collect();
        namespaces.sort();
        namespaces.dedup();
        let service_accounts: Vec<(String, String)> = self
            .state
            .bindings
            .iter()
            .filter(|b| b.create_service_account)
            .map(|b| (b.namespace.clone(), b.service_account.clone()))
            .collect();
        let kube_request = irsa_kube::KubeObserveRequest {
            namespaces: namespaces.clone(),
            service_accounts: service_accounts.clone(),
        };
        let (aws, kube) = tokio::join!(
            irsa_aws::observe(&self.aws, &request),
            irsa_kube::observe(&self.kube, &kube_request)
        );
        self.kube_calls.fetch_add(
            (namespaces.len() + service_accounts.len()) as u64,
            Ordering::Relaxed,
        );
        let mut snapshot = aws.map_err(|e| failed(&e))?;
        // Two rounds; an existing policy known by name only is read one round later.
        self.observe_rounds += if policies_wait_for_sts && !snapshot.policies.is_empty() {
            3
        } else {
            2
        };
        let (existing_namespaces, existing_accounts) =
            kube.map_err(|e| CliError::failed(format!("observing Kubernetes: {e}")))?;
        snapshot.namespaces = existing_namespaces;
        snapshot.service_accounts = existing_accounts;
        snapshot.files = read_values_files(&self.values_dir);
        Ok(snapshot)
    }

    /// What destroy reads: the plan's observation with every preset's EKS add-on, beside it every
    /// role's trust policy (ListRoles), then the roles that trust the cluster's OIDC provider but
    /// are not in the spec (irsa's among them are bindings since removed from the spec) with the
    /// customer-managed policies attached to them and the service accounts their tags name.
    async fn observe_for_destroy(&mut self) -> Result<Snapshot, CliError> {
        let failed = |e: &irsa_aws::AwsError| failed_while("observing AWS")(e.clone());
        let addons = irsa_core::presets::catalog()
            .iter()
            .filter_map(|p| match p.install {
                irsa_core::presets::Install::EksAddon { name } => Some(name.to_string()),
                _ => None,
            })
            .chain([AGENT_ADDON.to_string()])
            .collect();
        let aws = self.aws.clone();
        let (snapshot, trusts) = tokio::join!(
            // Every association: the agent stays while any remains, whoever made it.
            self.observe_with_addons(addons, irsa_aws::pod_identity::AssociationScope::All),
            irsa_aws::list_role_trusts(&aws)
        );
        let mut snapshot = snapshot?;
        let trusts = trusts.map_err(|e| failed(&e))?;
        self.observe_rounds += 1;
        let provider_arn = snapshot
            .cluster
            .as_ref()
            .and_then(|c| c.issuer_url.as_deref())
            .and_then(|issuer| {
                irsa_core::desired::oidc_provider_arn(
                    &snapshot.partition,
                    &snapshot.account,
                    issuer,
                )
                .ok()
            });
        let spec_roles: std::collections::BTreeSet<&str> = self
            .state
            .bindings
            .iter()
            .map(|b| b.role.name.as_str())
            .collect();
        let others: Vec<String> = trusts
            .iter()
            .filter(|t| !spec_roles.contains(t.name.as_str()))
            .filter(|t| {
                provider_arn
                    .as_deref()
                    .is_some_and(|p| t.trusts_provider(p))
            })
            .map(|t| t.name.clone())
            .collect();
        if !others.is_empty() {
            let roles = irsa_aws::observe_roles(&self.aws, &others)
                .await
                .map_err(|e| failed(&e))?;
            let cluster = &self.state.cluster.name;
            let ours: Vec<_> = roles
                .iter()
                .filter(|r| {
                    irsa_core::desired::is_owned(&r.tags)
                        && r.tags.get(irsa_core::desired::TAG_CLUSTER) == Some(cluster)
                })
                .collect();
            let customer_policies = format!(
                "arn:{}:iam::{}:policy/",
                snapshot.partition, snapshot.account
            );
            let mut policy_arns: Vec<String> = ours
                .iter()
                .flat_map(|r| r.attached_policy_arns.iter())
                .filter(|arn| arn.starts_with(&customer_policies) && snapshot.policy(arn).is_none())
                .cloned()
                .collect();
            policy_arns.sort();
            policy_arns.dedup();
            let service_accounts = ours
                .iter()
                .filter_map(|r| r.tags.get(irsa_core::desired::TAG_SERVICE_ACCOUNT))
                .filter_map(|sa| sa.split_once('/'))
                .map(|(ns, name)| (ns.to_string(), name.to_string()))
                .collect();
            let kube_request = irsa_kube::KubeObserveRequest {
                namespaces: Vec::new(),
                service_accounts,
            };
            let (policies, kube) = tokio::join!(
                irsa_aws::observe_policies(&self.aws, &policy_arns),
                irsa_kube::observe(&self.kube, &kube_request)
            );
            snapshot.policies.extend(policies.map_err(|e| failed(&e))?);
            let (_, accounts) =
                kube.map_err(|e| CliError::failed(format!("observing Kubernetes: {e}")))?;
            snapshot.service_accounts.extend(accounts);
            snapshot.roles.extend(roles);
            self.observe_rounds += 2;
        }
        snapshot.role_trusts = Some(trusts);
        Ok(snapshot)
    }

    /// The plan's options; when the OIDC provider has to be created, the thumbprint of the
    /// issuer's chain goes with it (if the issuer can be reached; AWS does not need it for EKS
    /// issuers, but other tools compare it).
    async fn plan_options(&self, args: &ProvisionArgs, snapshot: &Snapshot) -> PlanOptions {
        let issuer = snapshot
            .cluster
            .as_ref()
            .and_then(|c| c.issuer_url.as_deref())
            .unwrap_or_default();
        let thumbprints = if !issuer.is_empty() && snapshot.provider_for_issuer(issuer).is_none() {
            crate::issuer::thumbprint(issuer)
                .await
                .into_iter()
                .collect()
        } else {
            Vec::new()
        };
        PlanOptions {
            adopt: args.adopt,
            thumbprints,
            values_dir: Some(args.values_dir.display().to_string()),
        }
    }

    /// Runs the plan's steps; returns an error naming every failed step.
    async fn execute(&self, plan: &Plan, concurrency: usize) -> Result<(), CliError> {
        let counters = KubeCounters {
            calls: Arc::clone(&self.kube_calls),
            mutating: Arc::clone(&self.kube_mutating),
        };
        execute(&self.aws, &self.kube, &counters, plan, concurrency).await
    }

    fn stats_line(&self, plan: &Plan, started: Instant) -> String {
        let aws = self.aws.stats();
        json!({
            "api_calls": aws.api_calls + self.kube_calls.load(Ordering::Relaxed),
            "mutating_calls": aws.mutating_calls + self.kube_mutating.load(Ordering::Relaxed),
            "critical_path": self.observe_rounds + plan.critical_path(),
            "seconds": (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        })
        .to_string()
    }
}

/// Kubernetes requests made (all, and mutating), for `--stats`.
#[derive(Clone, Default)]
pub(crate) struct KubeCounters {
    pub calls: Arc<AtomicU64>,
    pub mutating: Arc<AtomicU64>,
}

/// Runs the plan's steps with the executor, showing progress; returns an error naming every
/// failed step.
pub(crate) async fn execute(
    aws: &irsa_aws::Clients,
    kube: &irsa_kube::KubeClient,
    counters: &KubeCounters,
    plan: &Plan,
    concurrency: usize,
) -> Result<(), CliError> {
    let aws = Arc::new(aws.clone());
    let kube = Arc::new(kube.clone());
    let kube_calls = Arc::clone(&counters.calls);
    let kube_mutating = Arc::clone(&counters.mutating);
    let reporter = Arc::new(progress::Reporter::new());
    let report = executor::run(&plan.steps, concurrency, move |step| {
        let reporter = Arc::clone(&reporter);
        let aws = Arc::clone(&aws);
        let kube = Arc::clone(&kube);
        let kube_calls = Arc::clone(&kube_calls);
        let kube_mutating = Arc::clone(&kube_mutating);
        async move {
            let started = Instant::now();
            let label = describe(&step);
            let news = reporter.step(&label);
            let result = match &step {
                Step::CreateNamespace { .. }
                | Step::ApplyServiceAccount { .. }
                | Step::DeleteServiceAccount { .. } => {
                    kube_calls.fetch_add(1, Ordering::Relaxed);
                    kube_mutating.fetch_add(1, Ordering::Relaxed);
                    irsa_kube::execute(&kube, &step)
                        .await
                        .map_err(|e| actionable::step_failure(&e))
                }
                Step::WriteFile { path, contents } => write_file(path, contents),
                _ => irsa_aws::execute(&aws, &step, &|msg: &str| news.status(msg))
                    .await
                    .map_err(|e| actionable::step_failure(&e)),
            };
            news.finish(&match &result {
                Ok(()) => format!("  ✓ {label} ({:.2}s)", started.elapsed().as_secs_f64()),
                Err(e) => format!("  ✗ {label}: {e}"),
            });
            result
        }
    })
    .await;
    if report.ok() {
        return Ok(());
    }
    let denial = report
        .failed
        .iter()
        .find(|(_, e)| actionable::is_denial_answer(e));
    let mut message = match denial {
        Some((_, answer)) => format!("{answer}\n{} failed", counted(report.failed.len(), "step")),
        None => format!("{} failed", counted(report.failed.len(), "step")),
    };
    for (_, e) in &report.failed {
        message.push_str(&format!("\n  {e}"));
    }
    if !report.skipped.is_empty() {
        message.push_str(&format!("\n{} not started; run apply again once the cause is fixed: it re-observes and completes the rest", counted(report.skipped.len(), "step")));
    }
    match denial {
        Some(_) => Err(CliError::denied(message)),
        None => Err(CliError::failed(message)),
    }
}

/// The Helm values files irsa wrote before (`<dir>/<binding>/helm-values.yaml`), keyed the way the
/// plan names them.
fn read_values_files(dir: &std::path::Path) -> std::collections::BTreeMap<String, String> {
    let mut files = std::collections::BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path().join(irsa_core::render::HELM_VALUES_FILE);
        if let Ok(contents) = std::fs::read_to_string(&path) {
            files.insert(path.display().to_string(), contents);
        }
    }
    files
}

fn write_file(path: &str, contents: &str) -> Result<(), String> {
    let path = std::path::Path::new(path);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    std::fs::write(path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// A short description of a step for progress lines.
pub(crate) fn describe(step: &Step) -> String {
    match step {
        Step::CreateOidcProvider { url, .. } => format!("create OIDC provider {url}"),
        Step::AddOidcClientId { client_id, .. } => {
            format!("add client id {client_id} to the OIDC provider")
        }
        Step::DeleteOidcProvider { provider_arn } => format!("delete OIDC provider {provider_arn}"),
        Step::CreatePolicy { name, .. } => format!("create policy {name}"),
        Step::CreatePolicyVersion { policy_arn, .. } => {
            format!("new default version of {policy_arn}")
        }
        Step::TagPolicy { policy_arn, .. } => format!("tag {policy_arn}"),
        Step::DeletePolicy { policy_arn, .. } => format!("delete policy {policy_arn}"),
        Step::CreateRole { name, .. } => format!("create role {name}"),
        Step::UpdateTrustPolicy { role_name, .. } => {
            format!("repair the trust policy of {role_name}")
        }
        Step::PutPermissionsBoundary { role_name, .. } => {
            format!("set the permissions boundary of {role_name}")
        }
        Step::DeletePermissionsBoundary { role_name } => {
            format!("remove the permissions boundary of {role_name}")
        }
        Step::TagRole { role_name, .. } => format!("tag role {role_name}"),
        Step::AttachRolePolicy {
            role_name,
            policy_arn,
        } => format!("attach {policy_arn} to {role_name}"),
        Step::DetachRolePolicy {
            role_name,
            policy_arn,
        } => format!("detach {policy_arn} from {role_name}"),
        Step::DeleteRolePolicy {
            role_name,
            policy_name,
        } => format!("delete inline policy {policy_name} of {role_name}"),
        Step::DeleteRole { role_name } => format!("delete role {role_name}"),
        Step::CreateNamespace { name } => format!("create namespace {name}"),
        Step::ApplyServiceAccount {
            namespace,
            name,
            create: true,
            ..
        } => format!("create service account {namespace}/{name}"),
        Step::ApplyServiceAccount {
            namespace,
            name,
            labels,
            annotations,
            ..
        } if labels.is_empty() && annotations.iter().all(|(_, v)| v.is_none()) => format!(
            "remove {} from service account {namespace}/{name}",
            annotations
                .iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Step::ApplyServiceAccount {
            namespace, name, ..
        } => format!("annotate service account {namespace}/{name}"),
        Step::DeleteServiceAccount { namespace, name } => {
            format!("delete service account {namespace}/{name}")
        }
        Step::CreateAddon { name, .. } => format!("install EKS add-on {name}"),
        Step::UpdateAddon { name, identity, .. } => {
            format!("update EKS add-on {name} ({})", identity.describe())
        }
        Step::DeleteAddon { name, .. } => format!("delete EKS add-on {name}"),
        Step::WaitForAddon { name, .. } => format!("wait for EKS add-on {name}"),
        Step::CreatePodIdentityAssociation {
            namespace,
            service_account,
            ..
        } => format!("associate {namespace}/{service_account} with its role (Pod Identity)"),
        Step::UpdatePodIdentityAssociation { association_id, .. } => {
            format!("update Pod Identity association {association_id}")
        }
        Step::TagPodIdentityAssociation {
            association_arn, ..
        } => format!("tag {association_arn}"),
        Step::DeletePodIdentityAssociation { association_id, .. } => {
            format!("delete Pod Identity association {association_id}")
        }
        Step::WriteFile { path, .. } => format!("write {path}"),
    }
}

/// Prints the plan for people or as JSON.
fn show(plan: &Plan, state: &DesiredState, snapshot: &Snapshot, format: Format) {
    let count = |m: Mark| plan.items.iter().filter(|i| i.mark == m).count();
    let summary = json!({
        "create": count(Mark::Create), "update": count(Mark::Update), "delete": count(Mark::Delete),
        "unchanged": count(Mark::Unchanged), "conflict": count(Mark::Conflict),
    });
    if format == Format::Json {
        print_json(&json!({
            "cluster": state.cluster.name, "account": snapshot.account, "region": snapshot.region,
            "items": plan.items, "steps": plan.steps, "summary": summary, "critical_path": plan.critical_path(),
        }));
        return;
    }
    println!(
        "Cluster {} (account {}, {}):",
        state.cluster.name, snapshot.account, snapshot.region
    );
    for item in &plan.items {
        println!(
            "  {} {:<16} {}",
            style::mark(item.mark),
            item.kind,
            item.name
        );
        for line in &item.details {
            println!("        {line}");
        }
    }
    println!(
        "\n{} to create, {} to update, {} to delete, {} unchanged, {}.",
        count(Mark::Create),
        count(Mark::Update),
        count(Mark::Delete),
        count(Mark::Unchanged),
        counted(count(Mark::Conflict), "conflict")
    );
}

fn plan_error(e: plan::PlanError) -> CliError {
    match &e {
        plan::PlanError::AccountMismatch { spec, .. } => CliError::failed(format!(
            "{e}\n  use credentials for account {spec} (--profile NAME or AWS_PROFILE), or correct --account / cluster.account"
        )),
        _ => CliError::failed(e.to_string()),
    }
}

pub fn plan(args: ProvisionArgs) -> Result<Code, CliError> {
    connection::runtime()?.block_on(async {
        let mut session = connect(&args).await?;
        let snapshot = session.observe().await?;
        let plan = plan::plan(
            &session.state,
            &snapshot,
            &session.plan_options(&args, &snapshot).await,
        )
        .map_err(plan_error)?;
        show(&plan, &session.state, &snapshot, args.output);
        Ok(if plan.has_conflicts() {
            Code::Negative
        } else if plan.has_changes() {
            Code::Pending
        } else {
            Code::Ok
        })
    })
}

pub fn apply(args: ApplyArgs) -> Result<Code, CliError> {
    let started = Instant::now();
    connection::runtime()?.block_on(async {
        let mut session = connect(&args.common).await?;
        session.aws = session.aws.with_max_concurrency(args.concurrency);
        let snapshot = session.observe().await?;
        let plan = plan::plan(&session.state, &snapshot, &session.plan_options(&args.common, &snapshot).await).map_err(plan_error)?;
        show(&plan, &session.state, &snapshot, args.common.output);
        if plan.has_conflicts() {
            return Err(CliError::failed("refusing to apply: the plan has conflicts (objects irsa does not own); resolve them or rerun with --adopt"));
        }
        let result = if plan.has_changes() {
            crate::preflight::check(&session.aws, &session.state, &snapshot.account, &plan).await?;
            confirm(&format!("Apply {}?", counted(plan.steps.len(), "step")), args.yes)?;
            let result = session.execute(&plan, args.concurrency).await;
            if result.is_ok() {
                report_restarts(&session, &plan, args.restart).await?;
            }
            result
        } else {
            eprintln!("Nothing to change.");
            Ok(())
        };
        let verified = match (&result, args.verify) {
            (Ok(()), true) => verify_applied(&session).await?,
            _ => true,
        };
        if args.stats {
            println!("{}", session.stats_line(&plan, started));
        }
        result.map(|()| if verified { Code::Ok } else { Code::Negative })
    })
}

/// `apply --verify`: the token proof for every service account irsa manages in the spec (the
/// ones EKS add-ons create are left to `irsa verify`).
async fn verify_applied(session: &Session) -> Result<bool, CliError> {
    let conn = connection::Connection {
        aws: session.aws.clone(),
        kube: session.kube.clone(),
        region: session.state.cluster.region.clone(),
    };
    let targets: Vec<(String, String)> = session
        .state
        .bindings
        .iter()
        .filter(|b| b.create_service_account)
        .map(|b| (b.namespace.clone(), b.service_account.clone()))
        .collect();
    let options = super::verify::VerifyOptions {
        pod: false,
        image: String::new(),
        action: None,
        prefer: None,
    };
    let verdicts =
        super::verify::verify_all(&conn, &session.state.cluster.name, &targets, &[], &options)
            .await?;
    super::verify::print_verdicts(&verdicts, Format::Text);
    Ok(verdicts.iter().all(|v| v.ok))
}

/// After an annotation or an EKS Pod Identity association changed, the pods started before it
/// run without the role (both are injected only at pod creation): list their workloads, and
/// restart them with `--restart`.
async fn report_restarts(session: &Session, plan: &Plan, restart: bool) -> Result<(), CliError> {
    for s in &plan.steps {
        let Some((namespace, name, kind)) = relinked_service_account(&s.step) else {
            continue;
        };
        let workloads = irsa_kube::workloads_using(&session.kube, namespace, name)
            .await
            .map_err(|e| CliError::failed(format!("listing pods of {namespace}/{name}: {e}")))?;
        for w in &workloads {
            let stale = match kind {
                Kind::Irsa => w.pods_without_credentials,
                Kind::PodIdentity => w.pods_without_pod_identity,
            };
            if stale == 0 {
                continue;
            }
            if restart && w.kind == "Deployment" {
                irsa_kube::restart_deployment(&session.kube, &w.namespace, &w.name)
                    .await
                    .map_err(|e| {
                        CliError::failed(format!("restarting {}/{}: {e}", w.namespace, w.name))
                    })?;
                eprintln!("  ✓ restarted deployment {}/{}", w.namespace, w.name);
            } else {
                eprintln!(
                    "  ! {} {}/{}: {} started before the {} run without the role; restart them (irsa apply --restart, or kubectl rollout restart)",
                    w.kind.to_lowercase(),
                    w.namespace,
                    w.name,
                    counted(stale, "pod"),
                    match kind {
                        Kind::Irsa => "annotation",
                        Kind::PodIdentity => "EKS Pod Identity association",
                    }
                );
            }
        }
    }
    Ok(())
}

/// The service account whose pods a step gives a new role at their next creation, and how.
fn relinked_service_account(step: &Step) -> Option<(&str, &str, Kind)> {
    match step {
        Step::ApplyServiceAccount {
            namespace,
            name,
            annotations,
            ..
        } if annotations.iter().any(|(k, _)| k == ROLE_ARN_ANNOTATION) => {
            Some((namespace, name, Kind::Irsa))
        }
        Step::CreatePodIdentityAssociation {
            namespace,
            service_account,
            ..
        } => Some((namespace, service_account, Kind::PodIdentity)),
        _ => None,
    }
}

pub fn destroy(args: DestroyArgs) -> Result<Code, CliError> {
    connection::runtime()?.block_on(async {
        let mut session = connect(&args.common).await?;
        let snapshot = session.observe_for_destroy().await?;
        let plan = plan::destroy(&session.state, &snapshot);
        show(&plan, &session.state, &snapshot, args.common.output);
        if !plan.has_changes() {
            eprintln!("Nothing of irsa's to remove.");
            return Ok(Code::Ok);
        }
        crate::preflight::check(&session.aws, &session.state, &snapshot.account, &plan).await?;
        confirm(
            &format!(
                "Delete {}?",
                counted(
                    plan.items.iter().filter(|i| i.mark == Mark::Delete).count(),
                    "object"
                )
            ),
            args.yes,
        )?;
        session
            .execute(&plan, irsa_aws::DEFAULT_MAX_CONCURRENCY)
            .await
            .map(|()| Code::Ok)
    })
}
