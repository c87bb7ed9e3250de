//! The permissions part of an imported binding: a preset when the role's policies are exactly
//! what the preset renders for this cluster (AWS managed ARNs equal, documents equivalent) and
//! naming it changes nothing (see [`fits_as_preset`]); else the attached policy ARNs as they are
//! (AWS and customer managed alike: irsa attaches them, and never changes a policy it does not
//! own). A role's inline policies are left as they are by irsa; only when they are all a role
//! has are they written as documents, with a note that irsa will make managed copies of them.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::desired::policy_arn;
use crate::presets::{self, Install, Preset, PresetParams, PresetPolicies};
use crate::snapshot::{Role, Snapshot};

/// What a binding grants, as irsa.yaml will say it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Permissions {
    /// `preset:` (then `managed` and `inline` are empty).
    pub preset: Option<&'static str>,
    /// `policies.managed`.
    pub managed: Vec<String>,
    /// `policies.inline`.
    pub inline: Vec<Value>,
    /// Comments for the binding.
    pub notes: Vec<String>,
}

impl Permissions {
    pub fn is_empty(&self) -> bool {
        self.preset.is_none() && self.managed.is_empty() && self.inline.is_empty()
    }
}

/// The role's permissions for the file (see the module doc).
pub(super) fn of(
    snapshot: &Snapshot,
    role: &Role,
    inline: &[(String, Value)],
    addon: Option<&str>,
    cluster: &str,
) -> Permissions {
    let mut out = Permissions::default();
    let granted = Granted::of(snapshot, role, inline);
    for preset in presets::catalog() {
        let Some(rendered) = render(preset, snapshot, cluster) else {
            continue;
        };
        if !granted.equals(&rendered) {
            continue;
        }
        match fits_as_preset(preset, &rendered, snapshot, role, inline, addon) {
            Ok(()) => {
                out.preset = Some(preset.name);
                return out;
            }
            Err(why) => out.notes.push(format!(
                "the policies equal preset {}'s for this cluster, written as they are: {why}",
                preset.name
            )),
        }
        break;
    }
    out.managed = role.attached_policy_arns.clone();
    let names: Vec<&str> = inline.iter().map(|(n, _)| n.as_str()).collect();
    if names.is_empty() {
        return out;
    }
    if out.managed.is_empty() {
        out.inline = inline.iter().map(|(_, d)| d.clone()).collect();
        out.notes.push(format!(
            "cannot round-trip: the role's only policies are inline ({}); irsa.yaml's `policies.inline` become managed policies {}-inline… that the plan creates and attaches, and irsa leaves the inline ones as they are",
            names.join(", "),
            role.name
        ));
    } else {
        out.notes.push(format!(
            "inline {} {} kept as is: irsa leaves a role's inline policies alone",
            if names.len() == 1 {
                "policy"
            } else {
                "policies"
            },
            names.join(", ")
        ));
    }
    out
}

/// What a role grants: its AWS managed policy ARNs and the documents of its other policies.
struct Granted {
    aws_managed: BTreeSet<String>,
    documents: Vec<Value>,
}

impl Granted {
    fn of(snapshot: &Snapshot, role: &Role, inline: &[(String, Value)]) -> Granted {
        let (aws, customer): (Vec<&String>, Vec<&String>) = role
            .attached_policy_arns
            .iter()
            .partition(|arn| is_aws_managed(arn));
        let documents = customer
            .iter()
            .map(|arn| {
                snapshot
                    .policy(arn)
                    .map_or(Value::Null, |p| p.document.clone())
            })
            .chain(inline.iter().map(|(_, d)| d.clone()))
            .map(|d| iam_policy::equivalence::canonical(&d))
            .collect();
        Granted {
            aws_managed: aws.into_iter().cloned().collect(),
            documents: sorted(documents),
        }
    }

    fn equals(&self, rendered: &PresetPolicies) -> bool {
        let managed: BTreeSet<String> = rendered.managed_arns.iter().cloned().collect();
        let documents = rendered
            .documents
            .iter()
            .map(|(_, d)| iam_policy::equivalence::canonical(d))
            .collect();
        managed == self.aws_managed && sorted(documents) == self.documents
    }
}

fn sorted(mut documents: Vec<Value>) -> Vec<Value> {
    documents.sort_by_cached_key(Value::to_string);
    documents
}

/// `arn:<partition>:iam::aws:policy/…`.
fn is_aws_managed(arn: &str) -> bool {
    iam_policy::arn::Arn::parse(arn).is_ok_and(|a| a.account == "aws")
}

/// The preset's policies for this cluster without options (a preset that needs options, such
/// as a bucket name, cannot be recognised).
fn render(preset: &Preset, snapshot: &Snapshot, cluster: &str) -> Option<PresetPolicies> {
    let params = PresetParams {
        cluster: Some(cluster.to_string()),
        region: Some(snapshot.region.clone()),
        account: Some(snapshot.account.clone()),
        partition: Some(snapshot.partition.clone()),
        options: Default::default(),
    };
    (preset.render)(&params).ok()
}

/// Whether `preset:` would make irsa do nothing more than what the role has: the workload is
/// installed the way the preset installs it (the same EKS add-on, or no chart: a Helm preset
/// writes values files), no inline policy, and each rendered document already is the
/// customer-managed policy irsa would create (its name `<role>-<suffix>`).
fn fits_as_preset(
    preset: &Preset,
    rendered: &PresetPolicies,
    snapshot: &Snapshot,
    role: &Role,
    inline: &[(String, Value)],
    addon: Option<&str>,
) -> Result<(), String> {
    match (preset.install, addon) {
        (Install::EksAddon { name }, Some(found)) if name == found => {}
        (Install::Manual, None) => {}
        (Install::EksAddon { name }, _) => {
            return Err(format!(
                "the preset installs EKS add-on {name}, which does not link this role"
            ));
        }
        (Install::Helm { chart, .. }, _) => {
            return Err(format!(
                "the preset installs Helm chart {chart} and irsa would write its values files"
            ));
        }
        (Install::Manual, Some(found)) => {
            return Err(format!(
                "the preset has no EKS add-on, and add-on {found} links this role"
            ));
        }
    }
    if !inline.is_empty() {
        return Err(
            "some of them are inline policies, which irsa would create again as managed ones"
                .to_string(),
        );
    }
    for (suffix, _) in &rendered.documents {
        let arn = policy_arn(
            &snapshot.partition,
            &snapshot.account,
            &role.path,
            &format!("{}-{suffix}", role.name),
        );
        if !role.attached_policy_arns.contains(&arn) {
            return Err(format!(
                "irsa would create its own policy {arn} beside the role's"
            ));
        }
    }
    Ok(())
}
