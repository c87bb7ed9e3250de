//! `irsa import`: what exists in a cluster (annotated service accounts, EKS Pod Identity
//! associations, EKS add-ons with a role) described as an irsa.yaml, so that `irsa plan -f FILE
//! --adopt` finds nothing to change but irsa's ownership tags and labels. Pure: it reads a
//! [`Snapshot`] (with the roles' attached policies' and inline policies' documents) and returns
//! an [`Imported`] model; [`yaml::write`] turns that into the file's text. Each binding keeps
//! the role's own name, path and permissions boundary and names its policies
//! ([`permissions`]: a preset where the documents equal the preset's, else the attached ARNs);
//! what irsa cannot say the same way (a trust that admits more than one service account of this
//! cluster, a role shared by several service accounts, inline-only permissions) is written as
//! a comment on the binding, and the plan then shows it as a conflict or a change.

mod permissions;
pub mod yaml;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::identity::{Irsa, Kind, Mechanism, PodIdentity, TrustTarget};
use crate::snapshot::{Role, ServiceAccount, Snapshot};
use crate::verify::{annotated_role, audience_of, role_name_of};

pub use permissions::Permissions;

/// Role name → its inline policies (name, document), as the observation read them.
pub type InlinePolicies = BTreeMap<String, Vec<(String, Value)>>;

/// Which mechanisms to import (`--identity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdentityFilter {
    Irsa,
    PodIdentity,
    #[default]
    All,
}

impl IdentityFilter {
    fn admits(self, kind: Kind) -> bool {
        match self {
            IdentityFilter::All => true,
            IdentityFilter::Irsa => kind == Kind::Irsa,
            IdentityFilter::PodIdentity => kind == Kind::PodIdentity,
        }
    }
}

/// What to import and how to say where it came from.
#[derive(Debug, Clone, Default)]
pub struct ImportInput<'a> {
    /// Only this namespace (`--namespace`).
    pub namespace: Option<&'a str>,
    pub identity: IdentityFilter,
    /// When the observation was made (RFC 3339), for the file's header.
    pub observed_at: String,
}

/// The whole file to write.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub cluster: String,
    pub region: String,
    pub account: String,
    pub observed_at: String,
    pub bindings: Vec<ImportedBinding>,
    /// What was found but not imported, and why (a comment each at the top of the file).
    pub skipped: Vec<String>,
}

/// One service account and its role, as irsa.yaml will say it.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedBinding {
    pub namespace: String,
    pub service_account: String,
    /// Where the binding was found (`annotation`, `association`, `EKS add-on NAME`).
    pub found: String,
    pub mechanism: Mechanism,
    pub role_name: String,
    /// Written only when not `/`.
    pub role_path: String,
    pub permissions_boundary: Option<String>,
    pub permissions: Permissions,
    /// The EKS add-on that links this role (`install: {addon: NAME}`).
    pub addon: Option<String>,
    /// Why the plan will not come out empty for this binding, one comment each.
    pub notes: Vec<String>,
}

/// A link found between a service account and a role.
struct Link {
    namespace: String,
    service_account: String,
    role_arn: String,
    found: String,
    mechanism: Mechanism,
    addon: Option<String>,
}

/// Builds the model from `snapshot` (see the module doc).
pub fn import(snapshot: &Snapshot, inline: &InlinePolicies, input: &ImportInput) -> Imported {
    let cluster = snapshot.cluster.as_ref();
    let mut imported = Imported {
        cluster: cluster.map(|c| c.name.clone()).unwrap_or_default(),
        region: snapshot.region.clone(),
        account: snapshot.account.clone(),
        observed_at: input.observed_at.clone(),
        bindings: Vec::new(),
        skipped: Vec::new(),
    };
    let target = TrustTarget {
        partition: &snapshot.partition,
        account: &snapshot.account,
        region: &snapshot.region,
        cluster_name: cluster.map_or("", |c| c.name.as_str()),
        issuer_url: cluster.and_then(|c| c.issuer_url.as_deref()),
    };
    let mut role_users: BTreeMap<String, String> = BTreeMap::new();
    for link in links(snapshot, input) {
        let subject = format!("{}/{}", link.namespace, link.service_account);
        let role = match own_role(snapshot, &link.role_arn) {
            Ok(role) => role,
            Err(why) => {
                imported
                    .skipped
                    .push(format!("{subject} ({}): {why}: not imported", link.found));
                continue;
            }
        };
        if let Some(first) = role_users.get(&role.name) {
            imported.skipped.push(format!(
                "{subject} ({}): uses role {} as {first} does; irsa gives each service account its own role: not imported",
                link.found, role.name
            ));
            continue;
        }
        role_users.insert(role.name.clone(), subject.clone());
        let binding = binding(snapshot, inline, &target, link, role);
        if binding.permissions.is_empty() {
            imported.skipped.push(format!(
                "{subject}: role {} has no policies, and an irsa binding grants at least one: not imported",
                role.name
            ));
            continue;
        }
        imported.bindings.push(binding);
    }
    imported
}

fn binding(
    snapshot: &Snapshot,
    inline: &InlinePolicies,
    target: &TrustTarget,
    link: Link,
    role: &Role,
) -> ImportedBinding {
    let no_inline = Vec::new();
    let inline = inline.get(&role.name).unwrap_or(&no_inline);
    let permissions = permissions::of(
        snapshot,
        role,
        inline,
        link.addon.as_deref(),
        target.cluster_name,
    );
    let mut notes = permissions.notes.clone();
    notes.extend(trust_notes(target, &link, role));
    notes.extend(link_notes(snapshot, &link, role));
    ImportedBinding {
        namespace: link.namespace,
        service_account: link.service_account,
        found: link.found,
        mechanism: link.mechanism,
        role_name: role.name.clone(),
        role_path: role.path.clone(),
        permissions_boundary: role.permissions_boundary.clone(),
        permissions,
        addon: link.addon,
        notes,
    }
}

/// What the plan will change on the Kubernetes or EKS side: a second mechanism, an annotation
/// written another way than the role's ARN.
fn link_notes(snapshot: &Snapshot, link: &Link, role: &Role) -> Vec<String> {
    let mut notes = Vec::new();
    if link.mechanism.kind() == Kind::Irsa
        && link.addon.is_none()
        && snapshot
            .association(&link.namespace, &link.service_account)
            .is_some()
    {
        notes.push("also has an EKS Pod Identity association; its workloads use IRSA, and the plan shows a conflict naming `irsa migrate`".to_string());
    }
    let wanted_arn = crate::desired::role_arn(
        &snapshot.partition,
        &snapshot.account,
        &role.path,
        &role.name,
    );
    if link.mechanism.kind() == Kind::Irsa && link.addon.is_none() && link.role_arn != wanted_arn {
        notes.push(format!(
            "the annotation says {} but the role's ARN is {wanted_arn}: irsa will write the latter",
            link.role_arn
        ));
    }
    notes
}

/// A comment when the role's trust is not what irsa writes for this binding, naming the
/// statements irsa would take away (the plan shows them as a conflict).
fn trust_notes(target: &TrustTarget, link: &Link, role: &Role) -> Vec<String> {
    let Ok(wanted) = link
        .mechanism
        .trust_policy(target, &link.namespace, &link.service_account)
    else {
        return vec![
            "the cluster has no OIDC issuer, so irsa cannot write this role's trust".into(),
        ];
    };
    if iam_policy::equivalence::equivalent(&role.trust_policy, &wanted) {
        return Vec::new();
    }
    let statements = iam_policy::equivalence::statements(&role.trust_policy);
    let dropped = iam_policy::equivalence::statements_not_in(&role.trust_policy, &wanted);
    let others = iam_policy::equivalence::other_principals_not_in(&role.trust_policy, &wanted);
    let subject = format!("{}/{}", link.namespace, link.service_account);
    let head = match (dropped.is_empty(), others.is_empty()) {
        (true, _) => {
            return vec![format!(
                "the role's trust lacks what irsa writes for {subject}: the plan adds it"
            )];
        }
        (false, false) => format!(
            "cannot round-trip: the role's trust admits others than {subject}, which irsa.yaml cannot say (the plan shows a conflict):"
        ),
        (false, true) => format!(
            "cannot round-trip: the role's trust admits more than {subject}, which irsa.yaml cannot say (the plan narrows it to exactly {subject}):"
        ),
    };
    let mut notes = vec![head];
    notes.extend(dropped.iter().map(|&i| {
        format!(
            "  Statement[{i}]: {}",
            crate::plan::describe_statement(&statements[i])
        )
    }));
    notes
}

/// The role of `role_arn`, when it is a role of the observed account that exists.
fn own_role<'s>(snapshot: &'s Snapshot, role_arn: &str) -> Result<&'s Role, String> {
    let arn = iam_policy::arn::Arn::parse(role_arn)
        .map_err(|_| format!("`{role_arn}` is not a role ARN"))?;
    if arn.account != snapshot.account {
        return Err(format!(
            "role {role_arn} is in account {}, not {}",
            arn.account, snapshot.account
        ));
    }
    let name = role_name_of(role_arn).ok_or_else(|| format!("`{role_arn}` is not a role ARN"))?;
    snapshot.role(&name).ok_or_else(|| {
        format!("role {name} does not exist (`irsa doctor` finds the role whose trust names it)")
    })
}

/// Every link in scope, add-ons first (an add-on's service account is also annotated, or
/// associated, by EKS), then annotations (with both, workloads use IRSA: the SDKs find web
/// identity first), then associations; one per service account.
fn links(snapshot: &Snapshot, input: &ImportInput) -> Vec<Link> {
    let mut out: Vec<Link> = addon_links(snapshot);
    out.extend(snapshot.service_accounts.iter().filter_map(annotation_link));
    out.extend(association_links(snapshot));
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|l| {
        input.namespace.is_none_or(|ns| ns == l.namespace)
            && input.identity.admits(l.mechanism.kind())
            && seen.insert((l.namespace.clone(), l.service_account.clone()))
    });
    out
}

fn addon_links(snapshot: &Snapshot) -> Vec<Link> {
    let mut out = Vec::new();
    for addon in &snapshot.addons {
        let Some(preset) = addon_preset(&addon.name) else {
            continue;
        };
        if let Some(role_arn) = &addon.service_account_role_arn {
            out.push(Link {
                namespace: preset.namespace.to_string(),
                service_account: preset.service_account.to_string(),
                role_arn: role_arn.clone(),
                found: format!("EKS add-on {} (serviceAccountRoleArn)", addon.name),
                mechanism: Mechanism::Irsa(Irsa::default()),
                addon: Some(addon.name.clone()),
            });
        }
        for association in snapshot.addon_associations(addon) {
            out.push(Link {
                namespace: association.namespace.clone(),
                service_account: association.service_account.clone(),
                role_arn: association.role_arn.clone(),
                found: format!("EKS add-on {} (podIdentityAssociations)", addon.name),
                mechanism: Mechanism::PodIdentity(PodIdentity::default()),
                addon: Some(addon.name.clone()),
            });
        }
    }
    out
}

/// The preset installed as the EKS add-on `name`.
fn addon_preset(name: &str) -> Option<&'static crate::presets::Preset> {
    crate::presets::catalog()
        .iter()
        .find(|p| matches!(p.install, crate::presets::Install::EksAddon { name: n } if n == name))
}

fn association_links(snapshot: &Snapshot) -> Vec<Link> {
    snapshot
        .pod_identity_associations
        .iter()
        .filter(|a| a.owner_arn.is_none())
        .map(|a| Link {
            namespace: a.namespace.clone(),
            service_account: a.service_account.clone(),
            role_arn: a.role_arn.clone(),
            found: "EKS Pod Identity association".to_string(),
            mechanism: Mechanism::PodIdentity(PodIdentity {
                target_role_arn: a.target_role_arn.clone(),
                disable_session_tags: a.disable_session_tags,
                session_policy: a.policy.clone(),
            }),
            addon: None,
        })
        .collect()
}

fn annotation_link(sa: &ServiceAccount) -> Option<Link> {
    Some(Link {
        namespace: sa.namespace.clone(),
        service_account: sa.name.clone(),
        role_arn: annotated_role(sa)?.to_string(),
        found: "eks.amazonaws.com/role-arn annotation".to_string(),
        mechanism: Mechanism::Irsa(Irsa {
            audience: audience_of(sa).to_string(),
        }),
        addon: None,
    })
}
