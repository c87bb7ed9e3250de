//! An identity change inside a plan: when a binding's spec asks for another mechanism than the
//! live objects give its service account (or a killed apply left one half moved), the plan
//! carries the binding's migration, planned by [`crate::migrate`] (the same phases `irsa
//! migrate` shows and runs, in the same safe order), instead of changing trust and link in
//! place. The rest of the binding (role, policies, attachments) is planned as usual and applied
//! first; the binary then runs the migration with its proofs between the phases. A role irsa
//! owns ends with the spec's trust only: the old mechanism's statement leaves it last, after the
//! pods are proven on the new one.

use super::{Ctx, Item, Mark, owned};
use crate::desired::Binding;
use crate::identity::Kind;
use crate::migrate::{self, Migration, PhaseName};

/// Whether the migration of a binding already linked the spec's way is what a killed run left:
/// nothing of the new mechanism to add, something of the old one to remove (or its pods to
/// restart). Anything else there (a drifted trust, say) is repaired in place as usual.
fn is_unfinished(m: &Migration) -> bool {
    let adds = m
        .phases
        .iter()
        .any(|p| matches!(p.name, PhaseName::Trust | PhaseName::Link) && !p.steps.is_empty());
    let old_left = m.phases.iter().any(|p| {
        matches!(
            p.name,
            PhaseName::Unlink
                | PhaseName::Restart
                | PhaseName::RemoveIrsaTrust
                | PhaseName::RemovePodIdentityTrust
        )
    });
    m.refusal.is_none() && !adds && old_left
}

/// What a binding's identity change asks of the plan.
pub(super) enum Switch {
    /// Nothing to move: plan the binding in place.
    InPlace,
    /// Moving is refused as a whole (the live link names another role than the spec).
    Conflict(Item),
    /// The migration to carry out (or refused for this service account only).
    Migrate(Migration),
}

impl Ctx<'_> {
    /// Whether `b` moves between mechanisms, from what the live objects show.
    pub(super) fn plan_switch(&self, b: &Binding) -> Switch {
        let wanted = b.mechanism.kind();
        let Some(live) = self.live_mechanism(b) else {
            return Switch::InPlace;
        };
        let Some(migration) = self.binding_migration(b, wanted) else {
            return match live == wanted {
                true => Switch::InPlace,
                false => self
                    .identity_change(b)
                    .map_or(Switch::InPlace, Switch::Conflict),
            };
        };
        if migration.is_done() || (live == wanted && !is_unfinished(&migration)) {
            return Switch::InPlace;
        }
        if migration.role_arn != b.role_arn(self.partition, self.account) {
            return match live == wanted {
                true => Switch::InPlace,
                false => Switch::Conflict(self.other_role(b, &migration)),
            };
        }
        Switch::Migrate(migration)
    }

    /// The binding's migration to `wanted`, planned by the migrate module with the spec's
    /// options; `None` when the live objects do not link the service account.
    fn binding_migration(&self, b: &Binding, wanted: Kind) -> Option<Migration> {
        let pair = (b.namespace.clone(), b.service_account.clone());
        let owns_role = self
            .snapshot
            .role(&b.role.name)
            .is_some_and(|r| owned(&r.tags));
        let options = migrate::Options {
            to: Some(wanted),
            remove_irsa_trust: owns_role && wanted == Kind::PodIdentity,
            remove_pod_identity_trust: owns_role && wanted == Kind::Irsa,
            only: Some(pair),
            stale_pods: self.options.stale_pods.clone(),
            fargate: self.options.fargate.clone(),
            mechanism: Some(b.mechanism.clone()),
            association_tags: Some(b.role.tags.clone()),
        };
        let plan = migrate::plan(self.snapshot, &options).ok()?;
        plan.migrations.into_iter().next()
    }

    /// The plan's line for a migration; a refused one changes nothing and says why.
    pub(super) fn migration_item(&self, m: &Migration) -> Item {
        let subject = format!("{}/{}", m.namespace, m.name);
        if let Some(why) = &m.refusal {
            return Item::new(Mark::Unchanged, "migration", &subject)
                .detail(format!("stays on {}: {why}", m.from.title()));
        }
        let phases: Vec<&str> = m.phases.iter().map(|p| p.name.as_str()).collect();
        let mut item = Item::new(Mark::Update, "migration", &subject).detail(format!(
            "{} → {}, one phase at a time with the proofs between them: {}",
            m.from.title(),
            m.to.title(),
            phases.join(" → ")
        ));
        for phase in &m.phases {
            let old = match phase.name {
                PhaseName::RemoveIrsaTrust => "OIDC (IRSA)",
                PhaseName::RemovePodIdentityTrust => "pods.eks.amazonaws.com (EKS Pod Identity)",
                _ => continue,
            };
            if !phase.steps.is_empty() {
                item = item.detail(format!(
                    "the {old} statement leaves the trust of {} last, once the pods are proven on {} (the spec asks for identity {} only)",
                    m.role_arn,
                    m.to.title(),
                    m.to
                ));
            }
        }
        item
    }

    /// The spec names another role than the live link: a migration moves one role.
    fn other_role(&self, b: &Binding, m: &Migration) -> Item {
        let subject = format!("{}/{}", b.namespace, b.service_account);
        Item::new(Mark::Conflict, "binding", &subject).detail(format!(
            "uses {} with the role {} now and the spec asks for {} with {}; a migration keeps the role: switch the identity first with the live role (`role: {{arn: {}}}`), then change the role",
            m.from.title(),
            m.role_arn,
            m.to.title(),
            b.role_arn(self.partition, self.account),
            m.role_arn
        ))
    }
}
