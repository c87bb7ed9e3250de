//! Planning for a role irsa does not own (`role.arn`, eksctl `attachRoleARN`, `roleARN`,
//! `serviceAccountRoleARN`): the role must exist, and its live trust must admit the binding's
//! service account as the policy engine evaluates it ([`Mechanism::trust_admits`]). When it does
//! not, the plan shows the exact statement to add as a conflict, or with `--adopt` adds only
//! that statement (the role's other statements stay, as doctor `--fix --adopt` and migrate add
//! theirs, with the same size quota). Nothing else of the role is ever touched, and destroy
//! leaves it. Also the warning a subject-pattern trust carries.
//!
//! [`Mechanism::trust_admits`]: crate::identity::Mechanism::trust_admits

use serde_json::Value;

use super::{Ctx, Item, Mark, Plan, PlanError, pretty};
use crate::desired::Binding;
use crate::migrate::trust;
use crate::snapshot::Role;
use crate::steps::Step;

impl Ctx<'_> {
    /// A role irsa does not own: it must exist, and its trust must admit this service account
    /// (evaluated by the policy engine). When it does not, the plan shows the exact statement to
    /// add as a conflict, or, with `--adopt`, adds only that statement. Nothing else of the role
    /// is touched. `None` when the role cannot be used.
    pub(super) fn plan_existing_role(
        &self,
        plan: &mut Plan,
        b: &Binding,
        role_arn: &str,
        trust: &Value,
        before: &[usize],
    ) -> Result<Option<Option<usize>>, PlanError> {
        let subject = format!("{}/{}", b.namespace, b.service_account);
        let Some(existing) = self
            .snapshot
            .role(&b.role.name)
            .filter(|r| r.arn == role_arn)
        else {
            plan.items.push(Item::new(Mark::Conflict, "role", role_arn).detail(format!(
                "the existing role was not found in account {}: create it, or correct the role ARN in the spec",
                self.account
            )));
            return Ok(None);
        };
        let admits = b.mechanism.trust_admits(
            &existing.trust_policy,
            &self.trust_target(),
            &b.namespace,
            &b.service_account,
        )?;
        if admits {
            plan.items.push(
                Item::new(Mark::Unchanged, "role", role_arn)
                    .detail(format!("not managed by irsa; its trust admits {subject}")),
            );
            return Ok(Some(None));
        }
        let statement = trust["Statement"][0].clone();
        let statement_lines: Vec<String> = pretty(&statement)
            .lines()
            .map(|l| format!("  {l}"))
            .collect();
        if !self.options.adopt {
            plan.items.push(
                Item::new(Mark::Conflict, "role", role_arn)
                    .detail(format!("not managed by irsa, and its trust does not admit {subject} ({}); add this statement, or rerun with --adopt to add only it:", b.mechanism.kind().title()))
                    .details(statement_lines),
            );
            return Ok(None);
        }
        let step = match add_statement(plan, existing, statement, before) {
            Ok(step) => step,
            Err(why) => {
                plan.items
                    .push(Item::new(Mark::Conflict, "role", role_arn).detail(why));
                return Ok(None);
            }
        };
        plan.items.push(
            Item::new(Mark::Update, "role", role_arn)
                .detail(format!(
                    "not managed by irsa (--adopt): + trust statement for {subject}"
                ))
                .details(statement_lines),
        );
        Ok(Some(Some(step)))
    }
}

/// Adds `statement` to the trust of `existing`: to the trust update another binding on the same
/// role planned already, or as a new step. `Err` when the trust would exceed IAM's size quota.
fn add_statement(
    plan: &mut Plan,
    existing: &Role,
    statement: Value,
    before: &[usize],
) -> Result<usize, String> {
    // Another binding on the same role may have added its statement already: add to that.
    let pending = plan.steps.iter().position(|st| {
            matches!(&st.step, Step::UpdateTrustPolicy { role_name, .. } if *role_name == existing.name)
        });
    let base = match pending.map(|i| &plan.steps[i].step) {
        Some(Step::UpdateTrustPolicy { trust_policy, .. }) => trust_policy,
        _ => &existing.trust_policy,
    };
    let merged = trust::with_statement(base, statement);
    if let Some(why) = trust::size_refusal(&existing.name, &merged) {
        return Err(why);
    }
    Ok(match pending {
        Some(i) => {
            plan.steps[i].step = Step::UpdateTrustPolicy {
                role_name: existing.name.clone(),
                trust_policy: merged,
            };
            plan.steps[i].id
        }
        None => plan.push(
            Step::UpdateTrustPolicy {
                role_name: existing.name.clone(),
                trust_policy: merged,
            },
            before.to_vec(),
        ),
    })
}

/// Adds to the binding's role item that its trust is a pattern.
pub(super) fn warn_on_last_role(plan: &mut Plan, pattern: &str) {
    if let Some(item) = plan.items.iter_mut().rev().find(|i| i.kind == "role") {
        item.details.push(format!(
            "warning: the trust matches {pattern} (StringLike): every service account matching it can assume this role"
        ));
    }
}

#[cfg(test)]
mod tests;
