//! `irsa migrate --to pod-identity|irsa`: moves live service accounts (annotated ones, and the
//! EKS add-ons with a `serviceAccountRoleArn` or `podIdentityAssociations`) from one mechanism
//! to the other. This module observes (the linked service accounts, their roles, add-ons and
//! pods) and asks; the pure core (`irsa_core::migrate`) orders the phases from that one
//! observation, and [`super::migration`] runs them with the proofs between them, as `irsa
//! apply` does for an identity change in a spec: a failed proof stops that service account,
//! which keeps working on the mechanism it had.

use std::time::{Duration, Instant};

use irsa_core::identity::Kind;
use irsa_core::migrate;
use irsa_core::snapshot::Snapshot;
use serde_json::json;

use super::migration::{Outcome, PodFacts, Runner, pod_facts, print_outcomes, show};
use super::provision::KubeCounters;
use crate::cli::MigrateArgs;
use crate::connection;
use crate::exit::{CliError, Code, failed_while};
use crate::output::{Format, confirm};
use crate::style::counted;

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
            counters: KubeCounters::default(),
            pods_timeout: Duration::from_secs(args.pods_timeout),
        };
        let to = args.to.kind();
        let snapshot = observe(&runner, single.as_ref()).await?;
        let facts = linked_pod_facts(&runner, &snapshot, single.as_ref(), to).await?;
        let options = migrate::Options {
            to: Some(to),
            remove_irsa_trust: args.remove_irsa_trust,
            remove_pod_identity_trust: args.remove_pod_identity_trust,
            stale_pods: facts.stale,
            fargate: facts.fargate,
            only: single,
            ..migrate::Options::default()
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
            plan.migrations.iter().map(Outcome::without_run).collect()
        };
        if plan.has_changes() {
            print_outcomes(&outcomes, args.output);
        }
        if args.stats {
            println!("{}", stats_line(&runner, started));
        }
        Ok(if outcomes.iter().all(|o| o.done) {
            Code::Ok
        } else {
            Code::Negative
        })
    })
}

/// One observation: the annotated service accounts, the associations, the service accounts
/// only associated, their roles, the add-ons presets know and the agent.
async fn observe(runner: &Runner, single: Option<&(String, String)>) -> Result<Snapshot, CliError> {
    let kube = &runner.conn.kube;
    let scope = match single {
        Some(pair) => irsa_aws::pod_identity::AssociationScope::Subjects(
            std::iter::once(pair.clone()).collect(),
        ),
        None => irsa_aws::pod_identity::AssociationScope::All,
    };
    let (annotated, associations) = tokio::join!(
        irsa_kube::list_role_service_accounts(kube, single.map(|(ns, _)| ns.as_str())),
        irsa_aws::pod_identity::read_associations(&runner.conn.aws, &runner.cluster, &scope)
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
    let role_names = connection::linked_role_names(&service_accounts, &associations);
    let addons = migrate::addon_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let mut snapshot =
        connection::observe_cluster(&runner.conn, &runner.cluster, role_names, addons, false)
            .await?
            .snapshot;
    snapshot.service_accounts = service_accounts;
    snapshot.pod_identity_associations = associations;
    Ok(snapshot)
}

/// The pods of the linked service accounts: which do not use `to` yet, which run on Fargate.
async fn linked_pod_facts(
    runner: &Runner,
    snapshot: &Snapshot,
    single: Option<&(String, String)>,
    to: Kind,
) -> Result<PodFacts, CliError> {
    let subjects: Vec<(String, String, Kind)> = snapshot
        .service_accounts
        .iter()
        .map(|sa| (sa.namespace.clone(), sa.name.clone()))
        .filter(|pair| single.is_none_or(|s| s == pair))
        .map(|(ns, name)| (ns, name, to))
        .collect();
    pod_facts(&runner.conn.kube, &subjects).await
}

fn stats_line(runner: &Runner, started: Instant) -> String {
    let aws = runner.conn.aws.stats();
    let counters = &runner.counters;
    json!({
        "api_calls": aws.api_calls + counters.calls.load(std::sync::atomic::Ordering::Relaxed),
        "mutating_calls": aws.mutating_calls + counters.mutating.load(std::sync::atomic::Ordering::Relaxed),
        "seconds": (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
    })
    .to_string()
}
