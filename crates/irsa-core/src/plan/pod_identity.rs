//! The EKS Pod Identity part of a plan: the agent add-on every association needs, one
//! association per binding (created, updated to match, tagged as irsa's), and the live mechanism
//! of a binding: switching it in place is refused (a migration, see [`super::migration`], moves
//! it without leaving the workload without credentials; a blind swap would not).

use super::{Ctx, Item, Mark, Plan, owned};
use crate::desired::Binding;
use crate::identity::pod_identity::AGENT_ADDON;
use crate::identity::{Kind, PodIdentity, irsa::ROLE_ARN_ANNOTATION};
use crate::snapshot::PodIdentityAssociation;
use crate::steps::Step;

impl Ctx<'_> {
    /// The agent add-on, created when missing and waited for while it is starting; returns the
    /// step associations wait for.
    pub(super) fn plan_agent(&self, plan: &mut Plan) -> Option<usize> {
        let cluster = self.state.cluster.name.clone();
        let Some(existing) = self.snapshot.addon(AGENT_ADDON) else {
            let id = plan.push(
                Step::CreateAddon {
                    settings: Default::default(),
                    cluster,
                    name: AGENT_ADDON.to_string(),
                    identity: crate::steps::AddonIdentity::None,
                    tags: self.ownership_tags(),
                },
                vec![],
            );
            plan.items.push(
                Item::new(Mark::Create, "eks-addon", AGENT_ADDON)
                    .detail("EKS Pod Identity Agent (every association needs it)".to_string()),
            );
            return Some(id);
        };
        match existing.status.as_str() {
            "ACTIVE" => {
                plan.items
                    .push(Item::new(Mark::Unchanged, "eks-addon", AGENT_ADDON));
                None
            }
            "CREATING" | "UPDATING" => {
                let id = plan.push(
                    Step::WaitForAddon {
                        cluster,
                        name: AGENT_ADDON.to_string(),
                    },
                    vec![],
                );
                plan.items.push(
                    Item::new(Mark::Update, "eks-addon", AGENT_ADDON)
                        .detail(format!("{}: wait until ACTIVE", existing.status)),
                );
                Some(id)
            }
            status => {
                plan.items.push(Item::new(Mark::Conflict, "eks-addon", AGENT_ADDON).detail(format!(
                    "is {status}, so no association would work; see `irsa doctor` and `aws eks describe-addon --cluster-name {cluster} --addon-name {AGENT_ADDON}`"
                )));
                None
            }
        }
    }

    /// The binding's association: created, or updated and tagged to match.
    pub(super) fn plan_association(
        &self,
        plan: &mut Plan,
        b: &Binding,
        options: &PodIdentity,
        role_arn: &str,
        after: &[usize],
    ) {
        let subject = format!("{}/{}", b.namespace, b.service_account);
        let tags = b.role.tags.clone();
        let Some(existing) = self.snapshot.association(&b.namespace, &b.service_account) else {
            plan.push(
                Step::CreatePodIdentityAssociation {
                    cluster: self.state.cluster.name.clone(),
                    namespace: b.namespace.clone(),
                    service_account: b.service_account.clone(),
                    role_arn: role_arn.to_string(),
                    target_role_arn: options.target_role_arn.clone(),
                    disable_session_tags: options.disable_session_tags,
                    policy: options.session_policy.clone(),
                    tags,
                },
                after.to_vec(),
            );
            plan.items.push(
                Item::new(Mark::Create, "pod-identity-association", &subject)
                    .detail(association_summary(role_arn, options)),
            );
            return;
        };
        if let Some(owner) = &existing.owner_arn {
            plan.items.push(Item::new(Mark::Conflict, "pod-identity-association", &subject).detail(format!(
                "{} is owned by the EKS add-on {owner}; EKS changes it only through that add-on: give the binding `install: {{addon: NAME}}` or delete the add-on's association",
                existing.association_id
            )));
            return;
        }
        let changes = association_changes(existing, role_arn, options);
        let missing_tags = super::missing_tags(&tags, &existing.tags);
        if changes.is_empty() && missing_tags.is_empty() {
            plan.items.push(Item::new(
                Mark::Unchanged,
                "pod-identity-association",
                &subject,
            ));
            return;
        }
        if !owned(&existing.tags) && !self.options.adopt {
            plan.items.push(Item::new(Mark::Conflict, "pod-identity-association", &subject).detail(format!(
                "{} exists but was not created by irsa (no irsa.dev/managed-by tag; role {}); rerun with --adopt to take it over",
                existing.association_id, existing.role_arn
            )));
            return;
        }
        let mut item =
            Item::new(Mark::Update, "pod-identity-association", &subject).details(changes.clone());
        if !changes.is_empty() {
            plan.push(
                Step::UpdatePodIdentityAssociation {
                    cluster: self.state.cluster.name.clone(),
                    association_id: existing.association_id.clone(),
                    role_arn: role_arn.to_string(),
                    target_role_arn: options.target_role_arn.clone(),
                    disable_session_tags: options.disable_session_tags,
                    policy: options.session_policy.clone(),
                },
                after.to_vec(),
            );
        }
        if !missing_tags.is_empty() {
            item = item.detail(format!(
                "tags: + {}",
                missing_tags.keys().cloned().collect::<Vec<_>>().join(", ")
            ));
            plan.push(
                Step::TagPodIdentityAssociation {
                    association_arn: existing.association_arn.clone(),
                    tags: missing_tags,
                },
                vec![],
            );
        }
        plan.items.push(item);
    }

    /// A conflict when the live service account (or add-on) is linked through the other
    /// mechanism than the binding asks for and no migration can move it (see
    /// [`super::migration`]): moving it is then `irsa migrate`'s job.
    pub(super) fn identity_change(&self, b: &Binding) -> Option<Item> {
        let wanted = b.mechanism.kind();
        let live = self.live_mechanism(b)?;
        if live == wanted {
            return None;
        }
        let subject = format!("{}/{}", b.namespace, b.service_account);
        Some(Item::new(Mark::Conflict, "binding", &subject).detail(format!(
            "uses {} now and the spec asks for {}; switching a live binding is a migration, so that no pod is left without credentials: run `irsa migrate --to {wanted} --namespace {} --service-account {}`, or keep `identity: {live}`",
            live.title(),
            wanted.title(),
            b.namespace,
            b.service_account
        )))
    }

    /// The mechanism the live objects give the binding's service account, when they give one.
    pub(super) fn live_mechanism(&self, b: &Binding) -> Option<Kind> {
        if let Some(crate::desired::Install::EksAddon { name }) = &b.install {
            let addon = self.snapshot.addon(name)?;
            let has_association = self
                .snapshot
                .addon_associations(addon)
                .iter()
                .any(|a| a.service_account == b.service_account);
            let has_role = addon
                .service_account_role_arn
                .as_deref()
                .is_some_and(|r| !r.is_empty());
            return match (has_association, has_role) {
                (true, _) => Some(Kind::PodIdentity),
                (false, true) => Some(Kind::Irsa),
                (false, false) => None,
            };
        }
        if self
            .snapshot
            .association(&b.namespace, &b.service_account)
            .is_some()
        {
            return Some(Kind::PodIdentity);
        }
        self.snapshot
            .service_account(&b.namespace, &b.service_account)
            .filter(|sa| sa.annotations.contains_key(ROLE_ARN_ANNOTATION))
            .map(|_| Kind::Irsa)
    }
}

/// The plan's line for an association.
fn association_summary(role_arn: &str, options: &PodIdentity) -> String {
    let mut text = format!("role {role_arn}");
    if let Some(target) = &options.target_role_arn {
        text.push_str(&format!(", then target role {target}"));
    }
    if options.disable_session_tags {
        text.push_str(", session tags disabled");
    }
    if options.session_policy.is_some() {
        text.push_str(", with a session policy");
    }
    text
}

/// What differs between an association and the binding, one line each.
fn association_changes(
    existing: &PodIdentityAssociation,
    role_arn: &str,
    options: &PodIdentity,
) -> Vec<String> {
    let show = |v: Option<&str>| v.unwrap_or("(none)").to_string();
    let mut changes = Vec::new();
    if existing.role_arn != role_arn {
        changes.push(format!("role: {} → {role_arn}", existing.role_arn));
    }
    if existing.target_role_arn != options.target_role_arn {
        changes.push(format!(
            "target role: {} → {}",
            show(existing.target_role_arn.as_deref()),
            show(options.target_role_arn.as_deref())
        ));
    }
    if existing.disable_session_tags != options.disable_session_tags {
        changes.push(format!(
            "disableSessionTags: {} → {}",
            existing.disable_session_tags, options.disable_session_tags
        ));
    }
    if !same_policy(
        existing.policy.as_deref(),
        options.session_policy.as_deref(),
    ) {
        changes.push("session policy: changed".to_string());
    }
    changes
}

/// Session policies compare as JSON (EKS may keep other whitespace than irsa sent).
fn same_policy(a: Option<&str>, b: Option<&str>) -> bool {
    let parse = |t: Option<&str>| t.map(|t| serde_json::from_str::<serde_json::Value>(t).ok());
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => x == y || parse(Some(x)) == parse(Some(y)),
        // EKS answers an empty string where there is none.
        (Some(x), None) | (None, Some(x)) => x.is_empty(),
    }
}
