//! `iam:SimulatePrincipalPolicy` for a plan's calls before apply or destroy changes anything
//! (`irsa_core::permissions::simulation` decides what to simulate and for whom): the caller's
//! ARN (STS GetCallerIdentity), the role's ARN for a role session (iam:GetRole), then one
//! simulation per resource, concurrently. Any failure of these reads is returned for the
//! command to say "permissions not checked" and go on: the simulation is a courtesy, the real
//! calls remain the authority.

use aws_sdk_iam::types::{ContextEntry, ContextKeyTypeEnum};
use futures_util::future::try_join_all;
use irsa_core::permissions::simulation::{self, Decision, Principal, Simulation};

use crate::clients::Clients;
use crate::error::AwsError;

/// The caller's ARN (STS GetCallerIdentity, which needs no permission).
pub async fn caller_arn(clients: &Clients) -> Result<String, AwsError> {
    let out = clients
        .sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("sts:GetCallerIdentity", "caller", e))?;
    Ok(out.arn().unwrap_or_default().to_string())
}

/// The ARN to simulate for `principal`, or why there is none.
pub async fn principal_arn(clients: &Clients, principal: Principal) -> Result<String, String> {
    match principal {
        Principal::Arn(arn) => Ok(arn),
        Principal::Unsupported(why) => Err(why),
        Principal::RoleNamed(name) => clients
            .iam
            .get_role()
            .role_name(&name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("iam:GetRole", name.clone(), e).to_string())?
            .role()
            .map(|r| r.arn().to_string())
            .ok_or_else(|| format!("iam:GetRole {name} returned no role")),
    }
}

/// Every decision for `simulations` as `principal_arn`.
pub async fn simulate(
    clients: &Clients,
    principal_arn: &str,
    simulations: &[Simulation],
) -> Result<Vec<Decision>, AwsError> {
    let answers = try_join_all(
        simulations
            .iter()
            .map(|s| simulate_one(clients, principal_arn, s)),
    )
    .await?;
    Ok(answers.into_iter().flatten().collect())
}

async fn simulate_one(
    clients: &Clients,
    principal_arn: &str,
    simulation: &Simulation,
) -> Result<Vec<Decision>, AwsError> {
    const OP: &str = "iam:SimulatePrincipalPolicy";
    let mut request = clients
        .iam
        .simulate_principal_policy()
        .policy_source_arn(principal_arn)
        .resource_arns(&simulation.resource);
    for action in &simulation.actions {
        request = request.action_names(*action);
    }
    for (key, values) in &simulation.context {
        let mut entry = ContextEntry::builder()
            .context_key_name(key)
            .context_key_type(if values.len() == 1 {
                ContextKeyTypeEnum::String
            } else {
                ContextKeyTypeEnum::StringList
            });
        for value in values {
            entry = entry.context_key_values(value);
        }
        request = request.context_entries(entry.build());
    }
    let out = request
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(OP, principal_arn, e))?;
    Ok(out
        .evaluation_results()
        .iter()
        .map(|r| Decision {
            action: r.eval_action_name().to_string(),
            resource: r
                .eval_resource_name()
                .unwrap_or(&simulation.resource)
                .to_string(),
            decision: r.eval_decision().as_str().to_string(),
        })
        .collect())
}

/// The caller's ARN and the decisions for a plan's calls, or why they could not be had.
pub async fn check_calls(
    clients: &Clients,
    simulations: &[Simulation],
) -> Result<(String, Vec<Decision>), String> {
    let caller = caller_arn(clients).await.map_err(|e| e.to_string())?;
    let arn = principal_arn(clients, simulation::principal(&caller)).await?;
    simulate(clients, &arn, simulations)
        .await
        .map(|decisions| (caller.clone(), decisions))
        .map_err(|e| match e.kind {
            crate::ErrorKind::AccessDenied => {
                format!("the caller ({caller}) may not iam:SimulatePrincipalPolicy")
            }
            _ => format!(
                "iam:SimulatePrincipalPolicy failed ({})",
                e.code.as_deref().unwrap_or(first_line(&e.message))
            ),
        })
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}
