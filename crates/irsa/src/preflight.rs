//! Before apply or destroy changes anything: are the plan's AWS calls allowed for the caller?
//! Asked of `iam:SimulatePrincipalPolicy` (see `irsa_aws::simulate`), so that a missing
//! permission is found before the first write rather than halfway. When it cannot be asked (the
//! caller may not simulate, the root user, an endpoint without the simulator), the plan says
//! "permissions not checked" and why, and the run goes on: each call's own AccessDenied is then
//! the answer.

use irsa_core::desired::DesiredState;
use irsa_core::permissions::{Scope, simulation, steps};
use irsa_core::plan::Plan;

use crate::exit::CliError;
use crate::style::counted;

/// Checks `plan`'s calls in `account`; a denied one is an error before anything changes.
pub async fn check(
    aws: &irsa_aws::Clients,
    state: &DesiredState,
    account: &str,
    plan: &Plan,
) -> Result<(), CliError> {
    let scope = Scope::of(state, account);
    let calls = steps::plan_calls(plan.steps.iter().map(|s| &s.step), &scope);
    if calls.is_empty() {
        return Ok(());
    }
    let simulations = simulation::simulations(&calls, &scope);
    let (caller, decisions) = match irsa_aws::simulate::check_calls(aws, &simulations).await {
        Ok(answer) => answer,
        Err(why) => {
            eprintln!("permissions not checked: {why}; a missing permission shows at its own call");
            return Ok(());
        }
    };
    let denied: Vec<_> = decisions.iter().filter(|d| !d.is_allowed()).collect();
    let Some(first) = denied.first() else {
        eprintln!(
            "permissions checked: the caller may make the plan's {} (iam:SimulatePrincipalPolicy)",
            counted(calls.len(), "AWS call")
        );
        return Ok(());
    };
    let others = match denied.len() {
        1 => String::new(),
        n => format!(" (and {} more)", counted(n - 1, "call")),
    };
    Err(CliError::denied(format!(
        "the caller ({caller}) may not {} on {}{others}, found by iam:SimulatePrincipalPolicy before any change; irsa permissions {} prints the policy it needs",
        first.action,
        first.resource,
        crate::actionable::command()
    )))
}
