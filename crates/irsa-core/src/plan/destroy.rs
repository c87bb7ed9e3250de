//! Plans `irsa destroy`: the removal of what irsa created for the cluster, and nothing else.
//!
//! The roles removed are the spec's roles that carry irsa's tag and every other role irsa tagged
//! for this cluster that the snapshot holds (the adapter reads every role that still trusts the
//! cluster's OIDC provider, so a binding removed from the spec since it was applied goes too).
//! With each role go its attachments, its inline policies (IAM refuses to delete a role that
//! still has one), irsa's customer-managed policies attached to it unless a role, user or group
//! that stays still uses them, irsa's service account for it and irsa's EKS add-on that runs as
//! it, and irsa's EKS Pod Identity associations for it (before the role, so no association is
//! left naming a missing role). The spec's own policies go even when no role holds them (an
//! interrupted apply). The OIDC provider goes last, only when irsa created it for this cluster and
//! no role that stays still trusts it: deleting it would break every workload behind such a role.
//! Likewise the Pod Identity agent add-on goes only when irsa installed it and no association
//! remains. Everything kept is listed with the reason.

use std::collections::{BTreeMap, BTreeSet};

use super::{Item, Mark, Plan, owned};
use crate::desired::{self, DesiredState, Install, TAG_CLUSTER, TAG_SERVICE_ACCOUNT};
use crate::identity::pod_identity::AGENT_ADDON;
use crate::render::{MANAGED_BY_LABEL, MANAGED_BY_VALUE, ROLE_ARN_ANNOTATION};
use crate::snapshot::{Addon, PodIdentityAssociation, Role, ServiceAccount, Snapshot};
use crate::steps::Step;

const KEPT_FOREIGN: &str = "not created by irsa: kept";

/// A role to delete, with the service account and add-on that go with it.
struct Doomed<'a> {
    role: &'a Role,
    service_account: Option<&'a ServiceAccount>,
    addon: Option<&'a Addon>,
}

/// Plans `destroy` (see the module doc).
pub fn destroy(state: &DesiredState, snapshot: &Snapshot) -> Plan {
    let mut plan = Plan::default();
    let doomed = doomed_roles(state, snapshot, &mut plan);
    let mut addons_deleted: BTreeMap<&str, usize> = BTreeMap::new();
    let mut detaches_of_policy: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut role_deletions = Vec::new();
    let mut association_deletions: BTreeMap<&str, usize> = BTreeMap::new();
    for b in &state.bindings {
        // irsa's association goes even when the role is not irsa's (or is gone).
        if let Some(a) = snapshot
            .association(&b.namespace, &b.service_account)
            .filter(|a| is_irsas_association(a))
        {
            association_deletions.insert(
                &a.association_id,
                delete_association(&mut plan, &state.cluster.name, a),
            );
        }
    }
    for d in &doomed {
        if let Some(sa) = d.service_account {
            delete_service_account(&mut plan, sa);
        }
        let mut addon_steps = Vec::new();
        if let Some(addon) = d.addon {
            let id = *addons_deleted
                .entry(&addon.name)
                .or_insert_with(|| delete_addon(&mut plan, &state.cluster.name, addon));
            addon_steps.push(id);
        }
        let mut before_role = addon_steps.clone();
        for a in snapshot
            .pod_identity_associations
            .iter()
            .filter(|a| a.role_arn == d.role.arn && is_irsas_association(a))
        {
            let id = *association_deletions
                .entry(&a.association_id)
                .or_insert_with(|| delete_association(&mut plan, &state.cluster.name, a));
            before_role.push(id);
        }
        for arn in &d.role.attached_policy_arns {
            let id = plan.push(
                Step::DetachRolePolicy {
                    role_name: d.role.name.clone(),
                    policy_arn: arn.clone(),
                },
                addon_steps.clone(),
            );
            before_role.push(id);
            detaches_of_policy.entry(arn).or_default().push(id);
        }
        for name in &d.role.inline_policy_names {
            before_role.push(plan.push(
                Step::DeleteRolePolicy {
                    role_name: d.role.name.clone(),
                    policy_name: name.clone(),
                },
                addon_steps.clone(),
            ));
        }
        role_deletions.push(plan.push(
            Step::DeleteRole {
                role_name: d.role.name.clone(),
            },
            before_role,
        ));
        let mut item = Item::new(Mark::Delete, "role", &d.role.arn);
        if !d.role.inline_policy_names.is_empty() {
            item = item.detail(format!(
                "with its inline policies {}",
                d.role.inline_policy_names.join(", ")
            ));
        }
        plan.items.push(item);
    }
    // The spec's own policies go even when no role holds them (an apply interrupted between
    // CreatePolicy and CreateRole leaves one behind).
    let spec_policy_arns: Vec<String> = state
        .bindings
        .iter()
        .flat_map(|b| {
            b.policies.iter().map(|p| {
                desired::policy_arn(
                    &snapshot.partition,
                    &snapshot.account,
                    &b.role.path,
                    &p.name,
                )
            })
        })
        .collect();
    for arn in &spec_policy_arns {
        detaches_of_policy.entry(arn).or_default();
    }
    plan_policies(snapshot, &detaches_of_policy, &mut plan);
    plan_provider(state, snapshot, &doomed, role_deletions, &mut plan);
    plan_agent(
        state,
        snapshot,
        &association_deletions,
        &addons_deleted,
        &mut plan,
    );
    plan
}

/// An association irsa created (its tag) and no add-on owns (those go with their add-on).
fn is_irsas_association(a: &PodIdentityAssociation) -> bool {
    owned(&a.tags) && a.owner_arn.is_none()
}

fn delete_association(plan: &mut Plan, cluster: &str, a: &PodIdentityAssociation) -> usize {
    plan.items.push(
        Item::new(
            Mark::Delete,
            "pod-identity-association",
            &format!("{}/{}", a.namespace, a.service_account),
        )
        .detail(format!("{} (role {})", a.association_id, a.role_arn)),
    );
    plan.push(
        Step::DeletePodIdentityAssociation {
            cluster: cluster.to_string(),
            association_id: a.association_id.clone(),
        },
        vec![],
    )
}

/// Deletes the Pod Identity agent add-on last, when irsa installed it for this cluster and no
/// association remains once the plan's deletions (and the deleted add-ons' own) are done.
fn plan_agent(
    state: &DesiredState,
    snapshot: &Snapshot,
    association_deletions: &BTreeMap<&str, usize>,
    addons_deleted: &BTreeMap<&str, usize>,
    plan: &mut Plan,
) {
    let Some(agent) = snapshot.addon(AGENT_ADDON) else {
        return;
    };
    let keep = |why: String| Item::new(Mark::Unchanged, "eks-addon", AGENT_ADDON).detail(why);
    if !owned(&agent.tags) || agent.tags.get(TAG_CLUSTER) != Some(&state.cluster.name) {
        plan.items.push(keep(KEPT_FOREIGN.to_string()));
        return;
    }
    let deleted_addon_arns: BTreeSet<&str> = snapshot
        .addons
        .iter()
        .filter(|a| addons_deleted.contains_key(a.name.as_str()))
        .map(|a| a.arn.as_str())
        .collect();
    let remaining: Vec<String> = snapshot
        .pod_identity_associations
        .iter()
        .filter(|a| !association_deletions.contains_key(a.association_id.as_str()))
        .filter(|a| {
            a.owner_arn
                .as_deref()
                .is_none_or(|owner| !deleted_addon_arns.contains(owner))
        })
        .map(|a| format!("{}/{}", a.namespace, a.service_account))
        .collect();
    if !remaining.is_empty() {
        plan.items.push(keep(format!(
            "{} association(s) remain ({}): kept",
            remaining.len(),
            remaining.join(", ")
        )));
        return;
    }
    let after = association_deletions
        .values()
        .chain(addons_deleted.values())
        .copied()
        .collect();
    plan.items
        .push(Item::new(Mark::Delete, "eks-addon", AGENT_ADDON));
    plan.push(
        Step::DeleteAddon {
            cluster: state.cluster.name.clone(),
            name: AGENT_ADDON.to_string(),
        },
        after,
    );
}

/// The roles to delete: the spec's (when irsa's) and every other role irsa tagged for this
/// cluster; foreign spec roles and service accounts are listed as kept.
fn doomed_roles<'a>(
    state: &DesiredState,
    snapshot: &'a Snapshot,
    plan: &mut Plan,
) -> Vec<Doomed<'a>> {
    let mut doomed = Vec::new();
    let mut spec_roles = BTreeSet::new();
    for b in &state.bindings {
        spec_roles.insert(b.role.name.as_str());
        let sa = if b.create_service_account {
            snapshot.service_account(&b.namespace, &b.service_account)
        } else {
            None
        };
        let sa = sa.filter(|sa| {
            let ours = labelled_by_irsa(sa);
            if !ours {
                plan.items.push(
                    Item::new(
                        Mark::Unchanged,
                        "service-account",
                        &format!("{}/{}", sa.namespace, sa.name),
                    )
                    .detail(KEPT_FOREIGN.to_string()),
                );
            }
            ours
        });
        let addon = match &b.install {
            Some(Install::EksAddon { name }) => snapshot.addon(name).filter(|addon| {
                let ours = owned(&addon.tags);
                if !ours {
                    plan.items.push(
                        Item::new(Mark::Unchanged, "eks-addon", name)
                            .detail(KEPT_FOREIGN.to_string()),
                    );
                }
                ours
            }),
            _ => None,
        };
        match snapshot.role(&b.role.name) {
            Some(role) if owned(&role.tags) => {
                doomed.push(Doomed {
                    role,
                    service_account: sa,
                    addon,
                });
                continue;
            }
            Some(role) => plan.items.push(
                Item::new(Mark::Unchanged, "role", &role.arn).detail(KEPT_FOREIGN.to_string()),
            ),
            None => {}
        }
        // The service account and the add-on are irsa's even when the role is not (or is gone).
        if let Some(sa) = sa {
            delete_service_account(plan, sa);
        }
        if let Some(addon) = addon {
            delete_addon(plan, &state.cluster.name, addon);
        }
    }
    for role in &snapshot.roles {
        let for_this_cluster = role.tags.get(TAG_CLUSTER) == Some(&state.cluster.name);
        if spec_roles.contains(role.name.as_str()) || !owned(&role.tags) || !for_this_cluster {
            continue;
        }
        doomed.push(Doomed {
            role,
            service_account: leftover_service_account(snapshot, role),
            addon: snapshot
                .addons
                .iter()
                .find(|a| owned(&a.tags) && addon_runs_as(snapshot, a, &role.arn)),
        });
    }
    doomed
}

/// Whether an add-on gets `role_arn`, as `serviceAccountRoleArn` or through an association.
fn addon_runs_as(snapshot: &Snapshot, addon: &Addon, role_arn: &str) -> bool {
    addon.service_account_role_arn.as_deref() == Some(role_arn)
        || snapshot
            .addon_associations(addon)
            .iter()
            .any(|a| a.role_arn == role_arn)
}

/// The service account irsa made for a role no longer in the spec: named by the role's
/// `irsa.dev/service-account` tag, labelled by irsa and still annotated with this role.
fn leftover_service_account<'a>(snapshot: &'a Snapshot, role: &Role) -> Option<&'a ServiceAccount> {
    let (namespace, name) = role.tags.get(TAG_SERVICE_ACCOUNT)?.split_once('/')?;
    let associated = snapshot
        .association(namespace, name)
        .is_some_and(|a| a.role_arn == role.arn);
    snapshot.service_account(namespace, name).filter(|sa| {
        labelled_by_irsa(sa)
            && (associated || sa.annotations.get(ROLE_ARN_ANNOTATION) == Some(&role.arn))
    })
}

fn delete_service_account(plan: &mut Plan, sa: &ServiceAccount) -> usize {
    plan.items.push(Item::new(
        Mark::Delete,
        "service-account",
        &format!("{}/{}", sa.namespace, sa.name),
    ));
    plan.push(
        Step::DeleteServiceAccount {
            namespace: sa.namespace.clone(),
            name: sa.name.clone(),
        },
        vec![],
    )
}

fn delete_addon(plan: &mut Plan, cluster: &str, addon: &Addon) -> usize {
    plan.items
        .push(Item::new(Mark::Delete, "eks-addon", &addon.name));
    plan.push(
        Step::DeleteAddon {
            cluster: cluster.to_string(),
            name: addon.name.clone(),
        },
        vec![],
    )
}

fn labelled_by_irsa(sa: &ServiceAccount) -> bool {
    sa.labels.get(MANAGED_BY_LABEL).map(String::as_str) == Some(MANAGED_BY_VALUE)
}

/// Deletes irsa's policies (those detached from deleted roles and the spec's) once every
/// deleted role has let go of them, unless something that stays is still attached (GetPolicy's
/// AttachmentCount counts roles, users and groups; when unknown, IAM's own refusal to delete an
/// attached policy is the guard).
fn plan_policies(snapshot: &Snapshot, detaches: &BTreeMap<&str, Vec<usize>>, plan: &mut Plan) {
    for (arn, detach_steps) in detaches {
        let Some(policy) = snapshot.policy(arn).filter(|p| owned(&p.tags)) else {
            continue;
        };
        let others = policy
            .attachment_count
            .map_or(0, |n| (n as usize).saturating_sub(detach_steps.len()));
        if others > 0 {
            plan.items
                .push(Item::new(Mark::Unchanged, "policy", arn).detail(format!(
                    "created by irsa but still attached to {}: kept",
                    crate::text::count(
                        others,
                        "other role, user or group",
                        "other roles, users or groups"
                    )
                )));
            continue;
        }
        let versions = policy
            .versions
            .iter()
            .filter(|v| !v.is_default)
            .map(|v| v.id.clone())
            .collect();
        plan.push(
            Step::DeletePolicy {
                policy_arn: arn.to_string(),
                non_default_versions: versions,
            },
            detach_steps.clone(),
        );
        plan.items.push(Item::new(Mark::Delete, "policy", arn));
    }
}

/// Deletes the cluster's OIDC provider after the roles, when irsa created it for this cluster
/// and no role that stays trusts it.
fn plan_provider(
    state: &DesiredState,
    snapshot: &Snapshot,
    doomed: &[Doomed],
    role_deletions: Vec<usize>,
    plan: &mut Plan,
) {
    let Some(provider) = snapshot
        .cluster
        .as_ref()
        .and_then(|c| c.issuer_url.as_deref())
        .and_then(|issuer| snapshot.provider_for_issuer(issuer))
    else {
        return;
    };
    let keep = |why: String| Item::new(Mark::Unchanged, "oidc-provider", &provider.arn).detail(why);
    if !owned(&provider.tags) {
        plan.items.push(keep(KEPT_FOREIGN.to_string()));
        return;
    }
    if provider.tags.get(TAG_CLUSTER) != Some(&state.cluster.name) {
        plan.items.push(keep(format!(
            "created by irsa for cluster {}: kept",
            provider.tags.get(TAG_CLUSTER).map_or("?", String::as_str)
        )));
        return;
    }
    let Some(trusts) = &snapshot.role_trusts else {
        plan.items.push(keep(
            "the roles that trust it were not read: kept".to_string(),
        ));
        return;
    };
    let deleted: BTreeSet<&str> = doomed.iter().map(|d| d.role.name.as_str()).collect();
    let staying: Vec<&str> = trusts
        .iter()
        .filter(|t| !deleted.contains(t.name.as_str()) && t.trusts_provider(&provider.arn))
        .map(|t| t.name.as_str())
        .collect();
    if !staying.is_empty() {
        plan.items.push(keep(format!(
            "still trusted by {} that {} ({}): kept",
            crate::text::counted(staying.len(), "role"),
            if staying.len() == 1 { "stays" } else { "stay" },
            staying.join(", ")
        )));
        return;
    }
    plan.push(
        Step::DeleteOidcProvider {
            provider_arn: provider.arn.clone(),
        },
        role_deletions,
    );
    plan.items
        .push(Item::new(Mark::Delete, "oidc-provider", &provider.arn));
}
