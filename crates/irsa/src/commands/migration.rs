//! Carrying out migrations between IRSA and EKS Pod Identity, for `irsa migrate` and for
//! `irsa apply` (an identity change in the spec): the phases the pure core
//! (`irsa_core::migrate`) ordered, one service account at a time (all of them side by side),
//! each phase's steps through the apply executor and the proofs between them with
//! `irsa verify`'s; a failed proof stops that service account, which keeps working on the
//! mechanism it had. Also the facts about pods the core cannot see (which service accounts
//! still have pods on the old mechanism, which run pods on Fargate), and how plans and results
//! are shown.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use irsa_core::identity::Kind;
use irsa_core::migrate::{Migration, MigrationPlan, Phase, PhaseName};
use irsa_core::plan::{Plan, PlannedStep};
use irsa_core::steps::Step;
use irsa_kube::workloads::Workload;
use serde::Serialize;

use super::provision::{KubeCounters, describe, execute};
use super::verify::{VerifyOptions, verify_all};
use crate::connection::Connection;
use crate::exit::{CliError, failed_while};
use crate::output::{Format, print_json};
use crate::style::counted;

/// How long apply waits for restarted pods to carry the new mechanism (migrate: `--pods-timeout`).
pub(crate) const DEFAULT_PODS_TIMEOUT: Duration = Duration::from_secs(120);

/// The result of one service account, as `--output json` prints it.
#[derive(Debug, Serialize)]
pub(crate) struct Outcome {
    namespace: String,
    name: String,
    role_arn: String,
    from: Kind,
    to: Kind,
    steps: Vec<StepOutcome>,
    pub(crate) done: bool,
}

/// One phase carried out (or, in a plan, to carry out).
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

    /// A service account with nothing left (or refused before anything ran).
    pub(crate) fn without_run(m: &Migration) -> Outcome {
        let mut outcome = Outcome::of(m);
        match &m.refusal {
            Some(why) => outcome.record(PhaseName::Trust, &Err(why.clone())),
            None => outcome.done = true,
        }
        outcome
    }

    /// The phases left, none run yet (a plan's JSON).
    fn planned(m: &Migration) -> Outcome {
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
}

/// Facts about the pods of the service accounts to migrate, which no snapshot holds.
#[derive(Debug, Default)]
pub(crate) struct PodFacts {
    /// Those with live pods not on the target mechanism yet (they need a restart).
    pub stale: BTreeSet<(String, String)>,
    /// Those with pods on Fargate.
    pub fargate: BTreeSet<(String, String)>,
}

/// Lists the pods of each `(namespace, name, target)` once: which need a restart to reach
/// `target`, and which run on Fargate.
pub(crate) async fn pod_facts(
    kube: &irsa_kube::KubeClient,
    subjects: &[(String, String, Kind)],
) -> Result<PodFacts, CliError> {
    let checks = subjects.iter().map(|(ns, name, to)| async move {
        let workloads = irsa_kube::workloads_using(kube, ns, name).await?;
        let stale = workloads.iter().any(|w| on_old_mechanism(w, *to));
        let fargate = workloads.iter().any(|w| w.fargate_pods > 0);
        Ok::<_, irsa_kube::KubeError>(((ns.clone(), name.clone()), stale, fargate))
    });
    let found = futures_util::future::try_join_all(checks)
        .await
        .map_err(failed_while("listing the pods of the service accounts"))?;
    let mut facts = PodFacts::default();
    for (pair, stale, fargate) in found {
        if stale {
            facts.stale.insert(pair.clone());
        }
        if fargate {
            facts.fargate.insert(pair);
        }
    }
    Ok(facts)
}

/// What a migration talks to.
pub(crate) struct Runner {
    pub conn: Connection,
    pub cluster: String,
    pub counters: KubeCounters,
    pub pods_timeout: Duration,
}

impl Runner {
    /// The agent first, then every service account side by side, phase by phase.
    pub(crate) async fn run(&self, plan: &MigrationPlan) -> Vec<Outcome> {
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
            steps: steps
                .iter()
                .enumerate()
                .map(|(id, step)| PlannedStep {
                    id,
                    step: step.clone(),
                    after: id.checked_sub(1).into_iter().collect(),
                })
                .collect(),
            ..Plan::default()
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
        for w in workloads.iter().filter(|w| on_old_mechanism(w, m.to)) {
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
                .filter(|w| on_old_mechanism(w, m.to))
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
                    "after {}s, pods of {} still carry the {} environment; restart them (`kubectl rollout restart`) and run again",
                    self.pods_timeout.as_secs(),
                    names.join(", "),
                    m.from.title()
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
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

/// Per service account, what is left, in order (the text lines; JSON: [`planned_json`]).
pub(crate) fn show_migrations(migrations: &[Migration]) {
    for m in migrations {
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

/// The plan of migrations as JSON values, one per service account (as `irsa migrate --plan
/// --output json` prints them).
pub(crate) fn planned_json(migrations: &[Migration]) -> Vec<serde_json::Value> {
    migrations
        .iter()
        .map(|m| serde_json::to_value(Outcome::planned(m)).unwrap_or_default())
        .collect()
}

/// A migration plan: the agent's steps, then every service account's phases.
pub(crate) fn show(plan: &MigrationPlan, format: Format) {
    if format == Format::Json {
        return print_json(&planned_json(&plan.migrations));
    }
    if let Some(why) = &plan.agent_refusal {
        println!("✗ agent: {why}");
    }
    for step in &plan.agent {
        println!("+ agent: {}", describe(step));
    }
    show_migrations(&plan.migrations);
}

/// One line per phase for a plan.
fn phase_summary(m: &Migration, phase: &Phase) -> String {
    match phase.name {
        PhaseName::Proof => format!("prove credentials through {}", m.to.title()),
        PhaseName::Restart => "rollout-restart the workloads still on the old mechanism".into(),
        PhaseName::PodsProof => {
            format!("prove the pods carry only the {} environment", m.to.title())
        }
        PhaseName::RemoveIrsaTrust => format!(
            "drop the OIDC (IRSA) statement from the trust of {} (the OIDC provider stays)",
            m.role_arn
        ),
        PhaseName::RemovePodIdentityTrust => format!(
            "drop the pods.eks.amazonaws.com (EKS Pod Identity) statement from the trust of {}",
            m.role_arn
        ),
        _ => phase
            .steps
            .iter()
            .map(describe)
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// What was carried out, per service account, and a count.
pub(crate) fn print_outcomes(outcomes: &[Outcome], format: Format) {
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
