//! `irsa migrate --to pod-identity|irsa`: moves live service accounts (annotated ones, and the
//! EKS add-ons with a `serviceAccountRoleArn` or `podIdentityAssociations`) from one mechanism
//! to the other. The pure core (`irsa_core::migrate`) orders the phases from one observation;
//! this module runs them one service account at a time (all of them side by side), each phase's
//! steps through the apply executor, and the proofs between them with `irsa verify`'s: a failed
//! proof stops that service account, which keeps working on the mechanism it had.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use irsa_core::identity::Kind;
use irsa_core::migrate::{self, Migration, MigrationPlan, Phase, PhaseName};
use irsa_core::plan::{Plan, PlannedStep};
use irsa_core::snapshot::Snapshot;
use irsa_core::steps::Step;
use irsa_kube::workloads::Workload;
use serde::Serialize;
use serde_json::json;

use super::provision::{KubeCounters, describe, execute};
use super::verify::{VerifyOptions, verify_all};
use crate::cli::MigrateArgs;
use crate::connection::{self, Connection};
use crate::exit::{CliError, Code, failed_while};
use crate::output::{Format, confirm, print_json};
use crate::style::counted;

/// The result of one service account, as `--output json` prints it.
#[derive(Debug, Serialize)]
struct Outcome {
    namespace: String,
    name: String,
    role_arn: String,
    from: Kind,
    to: Kind,
    steps: Vec<StepOutcome>,
    done: bool,
}

/// One phase carried out (or, with `--plan`, to carry out).
#[derive(Debug, Serialize)]
struct StepOutcome {
    name: &'static str,
    ok: bool,
    detail: String,
}

impl Outcome {
    fn of(m: &Migration) -> Outcome {
        Outcome {
            namespace: m.namespace.clone(),
            name: m.name.clone(),
            role_arn: m.role_arn.clone(),
            from: m.from,
            to: m.to,
            steps: Vec::new(),
            done: false,
        }
    }

    fn record(&mut self, name: PhaseName, result: &Result<String, String>) {
        let (ok, detail) = match result {
            Ok(detail) => (true, detail.clone()),
            Err(why) => (false, why.clone()),
        };
        self.steps.push(StepOutcome {
            name: name.as_str(),
            ok,
            detail,
        });
    }
}

pub fn run(args: MigrateArgs) -> Result<Code, CliError> {
    let started = Instant::now();
    connection::runtime()?.block_on(async {
        // Without --namespace/--service-account, every linked service account (as --all): the
        // plan is shown, and nothing changes without --yes or a confirmation.
        let single = args.subjects.single().map_err(CliError::input)?;
        let human = args.output == Format::Text;
        let (conn, cluster) = connection::connect(&args.subjects.cluster, human).await?;
        let runner = Runner {
            conn,
            cluster,
            to: args.to.kind(),
            counters: KubeCounters::default(),
            pods_timeout: Duration::from_secs(args.pods_timeout),
        };
        let snapshot = runner.observe(single.as_ref()).await?;
        let options = migrate::Options {
            to: Some(runner.to),
            remove_irsa_trust: args.remove_irsa_trust,
            stale_pods: runner.stale_pods(&snapshot, single.as_ref()).await?,
            only: single,
        };
        let plan =
            migrate::plan(&snapshot, &options).map_err(|e| CliError::input(e.to_string()))?;
        if args.plan || !plan.has_changes() || !args.yes {
            show(&plan, args.output);
        }
        if args.plan {
            return Ok(if plan.has_changes() {
                Code::Pending
            } else {
                Code::Ok
            });
        }
        let outcomes = if plan.has_changes() {
            confirm(
                &format!(
                    "Migrate {}?",
                    counted(plan.migrations.len(), "service account")
                ),
                args.yes,
            )?;
            runner.run(&plan).await
        } else {
            if human {
                eprintln!("Nothing to change.");
            }
            plan.migrations.iter().map(done_outcome).collect()
        };
        if plan.has_changes() {
            print_outcomes(&outcomes, args.output);
        }
        if args.stats {
            println!("{}", runner.stats_line(started));
        }
        Ok(if outcomes.iter().all(|o| o.done) {
            Code::Ok
        } else {
            Code::Negative
        })
    })
}

/// A service account with nothing left (or refused before anything ran).
fn done_outcome(m: &Migration) -> Outcome {
    let mut outcome = Outcome::of(m);
    match &m.refusal {
        Some(why) => outcome.record(PhaseName::Trust, &Err(why.clone())),
        None => outcome.done = true,
    }
    outcome
}

/// What a migration talks to, and which way it goes.
struct Runner {
    conn: Connection,
    cluster: String,
    to: Kind,
    counters: KubeCounters,
    pods_timeout: Duration,
}

impl Runner {
    /// One observation: the annotated service accounts, the associations, the service accounts
    /// only associated, their roles, the add-ons presets know and the agent.
    async fn observe(&self, single: Option<&(String, String)>) -> Result<Snapshot, CliError> {
        let kube = &self.conn.kube;
        let scope = match single {
            Some(pair) => irsa_aws::pod_identity::AssociationScope::Subjects(
                std::iter::once(pair.clone()).collect(),
            ),
            None => irsa_aws::pod_identity::AssociationScope::All,
        };
        let (annotated, associations) = tokio::join!(
            irsa_kube::list_role_service_accounts(kube, single.map(|(ns, _)| ns.as_str())),
            irsa_aws::pod_identity::read_associations(&self.conn.aws, &self.cluster, &scope)
        );
        let mut service_accounts = annotated.map_err(failed_while("listing service accounts"))?;
        let associations =
            associations.map_err(failed_while("reading EKS Pod Identity associations"))?;
        let only_associated: Vec<(String, String)> = associations
            .iter()
            .map(|a| (a.namespace.clone(), a.service_account.clone()))
            .filter(|(ns, name)| {
                !service_accounts
                    .iter()
                    .any(|sa| sa.namespace == *ns && sa.name == *name)
            })
            .collect();
        if !only_associated.is_empty() {
            let request = irsa_kube::KubeObserveRequest {
                namespaces: Vec::new(),
                service_accounts: only_associated,
            };
            let (_, found) = irsa_kube::observe(kube, &request)
                .await
                .map_err(failed_while("reading service accounts"))?;
            service_accounts.extend(found);
        }
        let mut role_names = connection::annotated_role_names(&service_accounts);
        role_names.extend(
            associations
                .iter()
                .filter_map(|a| irsa_core::verify::role_name_of(&a.role_arn)),
        );
        role_names.sort();
        role_names.dedup();
        let addons = migrate::addon_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        let mut snapshot =
            connection::observe_cluster(&self.conn, &self.cluster, role_names, addons, false)
                .await?
                .snapshot;
        snapshot.service_accounts = service_accounts;
        snapshot.pod_identity_associations = associations;
        Ok(snapshot)
    }

    /// The linked service accounts whose live pods do not use the target mechanism yet.
    async fn stale_pods(
        &self,
        snapshot: &Snapshot,
        single: Option<&(String, String)>,
    ) -> Result<BTreeSet<(String, String)>, CliError> {
        let subjects: Vec<(String, String)> = snapshot
            .service_accounts
            .iter()
            .map(|sa| (sa.namespace.clone(), sa.name.clone()))
            .filter(|pair| single.is_none_or(|s| s == pair))
            .collect();
        let checks = subjects.iter().map(|(ns, name)| async move {
            let workloads = irsa_kube::workloads_using(&self.conn.kube, ns, name).await?;
            Ok::<_, irsa_kube::KubeError>(
                workloads
                    .iter()
                    .any(|w| on_old_mechanism(w, self.to))
                    .then(|| (ns.clone(), name.clone())),
            )
        });
        let stale = futures_util::future::try_join_all(checks)
            .await
            .map_err(failed_while("listing the pods of the service accounts"))?;
        Ok(stale.into_iter().flatten().collect())
    }

    /// The agent first, then every service account side by side, phase by phase.
    async fn run(&self, plan: &MigrationPlan) -> Vec<Outcome> {
        let agent = self.agent(plan).await;
        let runs = plan.migrations.iter().map(|m| self.migrate(m, &agent));
        futures_util::future::join_all(runs).await
    }

    /// The agent phase: `Ok(None)` when not needed, `Ok(Some(detail))` when done now.
    async fn agent(&self, plan: &MigrationPlan) -> Result<Option<String>, String> {
        if let Some(why) = &plan.agent_refusal {
            return Err(why.clone());
        }
        if plan.agent.is_empty() {
            return Ok(None);
        }
        self.execute(&plan.agent).await.map(Some)
    }

    async fn migrate(&self, m: &Migration, agent: &Result<Option<String>, String>) -> Outcome {
        let mut outcome = Outcome::of(m);
        if let Some(why) = &m.refusal {
            outcome.record(PhaseName::Trust, &Err(why.clone()));
            return outcome;
        }
        if m.to == Kind::PodIdentity && !m.phases.is_empty() {
            match agent {
                Ok(None) => {}
                Ok(Some(detail)) => outcome.record(PhaseName::Agent, &Ok(detail.clone())),
                Err(why) => {
                    outcome.record(PhaseName::Agent, &Err(why.clone()));
                    return outcome;
                }
            }
        }
        for phase in &m.phases {
            let result = self.phase(m, phase).await;
            outcome.record(phase.name, &result);
            if result.is_err() {
                return outcome;
            }
        }
        outcome.done = true;
        outcome
    }

    async fn phase(&self, m: &Migration, phase: &Phase) -> Result<String, String> {
        match phase.name {
            PhaseName::Proof => self.prove(m).await,
            PhaseName::Restart => self.restart(m).await,
            PhaseName::PodsProof => self.prove_pods(m).await,
            _ => self.execute(&phase.steps).await,
        }
    }

    /// Runs `steps` in order with the apply executor; the detail names them.
    async fn execute(&self, steps: &[Step]) -> Result<String, String> {
        let plan = Plan {
            items: Vec::new(),
            steps: steps
                .iter()
                .enumerate()
                .map(|(id, step)| PlannedStep {
                    id,
                    step: step.clone(),
                    after: id.checked_sub(1).into_iter().collect(),
                })
                .collect(),
        };
        execute(&self.conn.aws, &self.conn.kube, &self.counters, &plan, 1)
            .await
            .map_err(|e| e.to_string())?;
        Ok(steps.iter().map(describe).collect::<Vec<_>>().join("; "))
    }

    /// The token proof through the target mechanism (the same as `irsa verify`'s).
    async fn prove(&self, m: &Migration) -> Result<String, String> {
        let options = VerifyOptions {
            pod: false,
            image: String::new(),
            action: None,
            prefer: Some(m.to),
        };
        let target = [(m.namespace.clone(), m.name.clone())];
        let verdicts = verify_all(&self.conn, &self.cluster, &target, &[], &options)
            .await
            .map_err(|e| e.to_string())?;
        let verdict = verdicts.first().ok_or_else(|| "no verdict".to_string())?;
        if verdict.ok && verdict.identity == Some(m.to) {
            return Ok(format!(
                "credentials through {} for {}",
                m.to.title(),
                verdict.assumed_arn.as_deref().unwrap_or(&m.role_arn)
            ));
        }
        let failed: Vec<String> = verdict
            .steps
            .iter()
            .filter(|c| !c.ok)
            .map(|c| format!("{}: {}", c.name, c.detail))
            .collect();
        Err(format!(
            "the {} proof failed ({}); {}/{} stays on {}; see `irsa doctor --namespace {} --service-account {}`",
            m.to.title(),
            failed.join("; "),
            m.namespace,
            m.name,
            m.from.title(),
            m.namespace,
            m.name
        ))
    }

    /// Rollout-restarts the workloads whose pods still carry the old mechanism.
    async fn restart(&self, m: &Migration) -> Result<String, String> {
        let workloads = irsa_kube::workloads_using(&self.conn.kube, &m.namespace, &m.name)
            .await
            .map_err(|e| format!("listing the pods of {}/{}: {e}", m.namespace, m.name))?;
        let mut restarted = Vec::new();
        for w in workloads.iter().filter(|w| on_old_mechanism(w, self.to)) {
            self.counters.calls.fetch_add(1, Ordering::Relaxed);
            self.counters.mutating.fetch_add(1, Ordering::Relaxed);
            irsa_kube::workloads::restart_workload(&self.conn.kube, w)
                .await
                .map_err(|e| e.to_string())?;
            restarted.push(format!("{} {}", w.kind.to_lowercase(), w.name));
        }
        Ok(if restarted.is_empty() {
            "no workload to restart".to_string()
        } else {
            format!("restarted {}", restarted.join(", "))
        })
    }

    /// Waits until every live pod of the service account carries the target mechanism's
    /// environment and none the other's.
    async fn prove_pods(&self, m: &Migration) -> Result<String, String> {
        let deadline = Instant::now() + self.pods_timeout;
        loop {
            let workloads = irsa_kube::workloads_using(&self.conn.kube, &m.namespace, &m.name)
                .await
                .map_err(|e| format!("listing the pods of {}/{}: {e}", m.namespace, m.name))?;
            let old: Vec<&Workload> = workloads
                .iter()
                .filter(|w| on_old_mechanism(w, self.to))
                .collect();
            let pods: usize = workloads.iter().map(|w| w.pods).sum();
            if old.is_empty() {
                return Ok(format!(
                    "{}, all with the {} environment only",
                    counted(pods, "pod"),
                    m.to.title()
                ));
            }
            if Instant::now() >= deadline {
                let names: Vec<String> = old
                    .iter()
                    .map(|w| format!("{} {}", w.kind.to_lowercase(), w.name))
                    .collect();
                return Err(format!(
                    "after {}s, pods of {} still carry the {} environment; restart them (`kubectl rollout restart`) and run migrate again",
                    self.pods_timeout.as_secs(),
                    names.join(", "),
                    m.from.title()
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn stats_line(&self, started: Instant) -> String {
        let aws = self.conn.aws.stats();
        json!({
            "api_calls": aws.api_calls + self.counters.calls.load(Ordering::Relaxed),
            "mutating_calls": aws.mutating_calls + self.counters.mutating.load(Ordering::Relaxed),
            "seconds": (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        })
        .to_string()
    }
}

/// Whether some pod of `w` still runs on the mechanism being left: to Pod Identity, a pod
/// without its environment or with the web-identity one; to IRSA, a pod without the
/// annotation's role.
fn on_old_mechanism(w: &Workload, to: Kind) -> bool {
    match to {
        Kind::PodIdentity => w.pods_without_pod_identity > 0 || w.pods_without_credentials > 0,
        Kind::Irsa => w.pods_without_credentials > 0,
    }
}

/// The plan: per service account, what is left, in order.
fn show(plan: &MigrationPlan, format: Format) {
    if format == Format::Json {
        let planned: Vec<Outcome> = plan.migrations.iter().map(planned_outcome).collect();
        return print_json(&planned);
    }
    if let Some(why) = &plan.agent_refusal {
        println!("✗ agent: {why}");
    }
    for step in &plan.agent {
        println!("+ agent: {}", describe(step));
    }
    for m in &plan.migrations {
        println!(
            "{}/{} ({}): {} → {}",
            m.namespace,
            m.name,
            m.role_arn,
            m.from.title(),
            m.to.title()
        );
        if let Some(why) = &m.refusal {
            println!("    ✗ {why}");
        } else if m.phases.is_empty() {
            println!("    ✓ done");
        }
        for phase in &m.phases {
            println!(
                "    {:<18} {}",
                phase.name.as_str(),
                phase_summary(m, phase)
            );
        }
    }
}

/// One line per phase for the plan.
fn phase_summary(m: &Migration, phase: &Phase) -> String {
    match phase.name {
        PhaseName::Proof => format!("prove credentials through {}", m.to.title()),
        PhaseName::Restart => "rollout-restart the workloads still on the old mechanism".into(),
        PhaseName::PodsProof => {
            format!("prove the pods carry only the {} environment", m.to.title())
        }
        _ => phase
            .steps
            .iter()
            .map(describe)
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// `--plan --output json`: the phases left, none run yet.
fn planned_outcome(m: &Migration) -> Outcome {
    let mut outcome = Outcome::of(m);
    outcome.done = m.is_done();
    if let Some(why) = &m.refusal {
        outcome.record(PhaseName::Trust, &Err(why.clone()));
    }
    for phase in &m.phases {
        outcome.record(
            phase.name,
            &Ok(format!("planned: {}", phase_summary(m, phase))),
        );
    }
    outcome
}

fn print_outcomes(outcomes: &[Outcome], format: Format) {
    if format == Format::Json {
        return print_json(&outcomes);
    }
    for o in outcomes {
        println!(
            "{} {}/{} → {}",
            if o.done { "✓" } else { "✗" },
            o.namespace,
            o.name,
            o.to.title()
        );
        for s in &o.steps {
            println!(
                "    {} {:<18} {}",
                if s.ok { "ok  " } else { "FAIL" },
                s.name,
                s.detail
            );
        }
    }
    let stopped = outcomes.iter().filter(|o| !o.done).count();
    println!(
        "{} migrated, {stopped} stopped.",
        counted(outcomes.len() - stopped, "service account")
    );
}
