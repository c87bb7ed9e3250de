//! Runs a plan's steps as a dependency graph: every step starts as soon as the steps it waits
//! for have finished, up to a bound of concurrent calls. On the first failure no new step
//! starts; the ones already running finish, and the report says what ran, what failed and
//! what was skipped, so the next apply (which re-observes) completes the job.

use irsa_core::plan::PlannedStep;
use irsa_core::steps::Step;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use tokio::task::JoinSet;

/// What happened to each step.
#[derive(Debug, Default)]
pub struct Report {
    pub done: Vec<usize>,
    pub failed: Vec<(usize, String)>,
    pub skipped: Vec<usize>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty()
    }
}

/// Runs `steps` with at most `concurrency` at once; `run` performs one step.
pub async fn run<F, Fut>(steps: &[PlannedStep], concurrency: usize, run: F) -> Report
where
    F: Fn(Step) -> Fut,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let concurrency = concurrency.max(1);
    let mut report = Report::default();
    let mut finished: BTreeSet<usize> = BTreeSet::new();
    let mut started: BTreeSet<usize> = BTreeSet::new();
    let mut failed = false;
    let mut running: JoinSet<(usize, Result<(), String>)> = JoinSet::new();
    let by_id: BTreeMap<usize, &PlannedStep> = steps.iter().map(|s| (s.id, s)).collect();
    loop {
        if !failed {
            for s in steps {
                if running.len() >= concurrency {
                    break;
                }
                if started.contains(&s.id)
                    || !s
                        .after
                        .iter()
                        .all(|d| finished.contains(d) || !by_id.contains_key(d))
                {
                    continue;
                }
                started.insert(s.id);
                let fut = run(s.step.clone());
                let id = s.id;
                running.spawn(async move { (id, fut.await) });
            }
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        match joined {
            Ok((id, Ok(()))) => {
                finished.insert(id);
                report.done.push(id);
            }
            Ok((id, Err(message))) => {
                failed = true;
                report.failed.push((id, message));
            }
            Err(join_error) => {
                failed = true;
                report
                    .failed
                    .push((usize::MAX, format!("a step panicked: {join_error}")));
            }
        }
    }
    report.skipped = steps
        .iter()
        .map(|s| s.id)
        .filter(|id| !started.contains(id))
        .collect();
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    fn step(id: usize, after: Vec<usize>) -> PlannedStep {
        PlannedStep {
            id,
            step: Step::CreateNamespace {
                name: format!("ns{id}"),
            },
            after,
        }
    }

    fn name(step: &Step) -> String {
        match step {
            Step::CreateNamespace { name } => name.clone(),
            _ => unreachable!(),
        }
    }

    #[tokio::test]
    async fn respects_dependencies_and_runs_independent_steps_together() {
        let steps = vec![
            step(0, vec![]),
            step(1, vec![0]),
            step(2, vec![]),
            step(3, vec![1, 2]),
        ];
        let log = Arc::new(Mutex::new(Vec::new()));
        let in_flight = Arc::new(Mutex::new((0usize, 0usize)));
        let report = run(&steps, 4, |s| {
            let log = Arc::clone(&log);
            let in_flight = Arc::clone(&in_flight);
            async move {
                {
                    let mut f = in_flight.lock().unwrap();
                    f.0 += 1;
                    f.1 = f.1.max(f.0);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                log.lock().unwrap().push(name(&s));
                in_flight.lock().unwrap().0 -= 1;
                Ok(())
            }
        })
        .await;
        assert!(report.ok());
        let log = log.lock().unwrap().clone();
        let pos = |n: &str| log.iter().position(|x| x == n).unwrap();
        assert!(
            pos("ns0") < pos("ns1") && pos("ns1") < pos("ns3") && pos("ns2") < pos("ns3"),
            "{log:?}"
        );
        assert_eq!(
            in_flight.lock().unwrap().1,
            2,
            "ns0 and ns2 ran at the same time"
        );
    }

    #[tokio::test]
    async fn stops_starting_steps_after_a_failure() {
        let steps = vec![step(0, vec![]), step(1, vec![0]), step(2, vec![1])];
        let report = run(&steps, 1, |s| async move {
            if name(&s) == "ns1" {
                Err("boom".into())
            } else {
                Ok(())
            }
        })
        .await;
        assert_eq!(report.done, vec![0]);
        assert_eq!(report.failed, vec![(1, "boom".to_string())]);
        assert_eq!(report.skipped, vec![2]);
        assert!(!report.ok());
    }

    #[tokio::test]
    async fn bounded_concurrency() {
        let steps: Vec<PlannedStep> = (0..10).map(|i| step(i, vec![])).collect();
        let peak = Arc::new(Mutex::new((0usize, 0usize)));
        let report = run(&steps, 3, |_| {
            let peak = Arc::clone(&peak);
            async move {
                {
                    let mut p = peak.lock().unwrap();
                    p.0 += 1;
                    p.1 = p.1.max(p.0);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
                peak.lock().unwrap().0 -= 1;
                Ok(())
            }
        })
        .await;
        assert_eq!(report.done.len(), 10);
        assert_eq!(peak.lock().unwrap().1, 3);
    }
}
