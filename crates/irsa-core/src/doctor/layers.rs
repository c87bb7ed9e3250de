//! The layers of the permissions link beyond the role's own policies: the resource-based policy
//! of each resource the workload depends on (KMS key policies, S3 bucket policies) and the
//! organization's SCPs, decided with the role's policies through the one layered decision
//! ([`iam_policy::authorization`]) as a session of the role. A request these layers deny becomes
//! one finding per resource and layer, naming the layer that decided, the actions and what to
//! change; a layer irsa could not read is said once as "not checked" (severity info: it never
//! fails doctor).
//!
//! Rules and sources:
//! - KMS key policies must allow explicitly, even within the key's own account: without a key
//!   policy statement naming the role or its account, IAM policies grant nothing on the key
//!   (<https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html>).
//! - An explicit Deny in a bucket policy wins over every Allow; a bucket in another account must
//!   allow the role in its bucket policy, and the role's policies must allow as well
//!   (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html>).
//! - Every SCP level from the root to the account must allow, and an explicit Deny in any wins
//!   (<https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html>).

use iam_policy::authorization::{Authorization, Authorizer, Caller, LayerKind, Reason};
use iam_policy::eval::{Decision, statement_label};
use serde_json::json;

use super::rules::{LAYER_NOT_CHECKED, RESOURCE_POLICY_DENIES, SCP_DENIES};
use super::{DoctorInput, Finding, Subject};
use crate::identity::Kind;
use crate::presets::dependencies::{self, Dependencies};
use crate::presets::requirements::Requirement;
use crate::resource_layers::{Observed, ScpLevel, Scps, policy_holder};
use crate::snapshot::{Role, Snapshot};

/// Inline policy documents by role name, as [`DoctorInput::inline_policies`] holds them.
pub type InlinePolicies = std::collections::BTreeMap<String, Vec<(String, serde_json::Value)>>;

/// What doctor must read beyond the roles for `subjects`: the resources their workloads depend
/// on (named by their roles' policies as observed, and by the spec's in
/// [`Subject::dependencies`]), and whether the SCPs matter (some subject has requirements).
pub fn layers_to_read(
    snapshot: &Snapshot,
    inline: &InlinePolicies,
    subjects: &[Subject],
) -> (Vec<String>, bool) {
    let mut all = Dependencies::default();
    for subject in subjects {
        let Some(preset) = &subject.preset else {
            continue;
        };
        if let Some(role) = role_of(snapshot, subject) {
            all.merge(dependencies::dependencies(
                preset,
                &documents_of(snapshot, inline, role),
            ));
        }
        all.merge(subject.dependencies.clone());
    }
    let wants_scps = subjects.iter().any(|s| s.preset.is_some());
    (all.resources().map(str::to_string).collect(), wants_scps)
}

/// The role whose permissions the subject's pods use: the annotated one (IRSA), or the
/// association's (its target role when it has one).
fn role_of<'a>(snapshot: &'a Snapshot, subject: &Subject) -> Option<&'a Role> {
    let arn = match super::mechanism_of(snapshot, subject) {
        Kind::Irsa => snapshot
            .service_account(&subject.namespace, &subject.name)
            .and_then(crate::verify::annotated_role)?,
        Kind::PodIdentity => {
            let association = snapshot.association(&subject.namespace, &subject.name)?;
            association
                .target_role_arn
                .as_deref()
                .unwrap_or(&association.role_arn)
        }
    };
    snapshot.role(&crate::verify::role_name_of(arn)?)
}

/// The documents of `role`'s attached and inline policies, as read.
pub(crate) fn documents_of<'a>(
    snapshot: &'a Snapshot,
    inline: &'a InlinePolicies,
    role: &'a Role,
) -> Vec<&'a serde_json::Value> {
    let attached = role
        .attached_policy_arns
        .iter()
        .filter_map(|arn| snapshot.policy(arn))
        .map(|p| &p.document);
    let inline = inline
        .get(&role.name)
        .into_iter()
        .flatten()
        .map(|(_, document)| document);
    attached.chain(inline).collect()
}

/// The session name doctor decides as: the role's sessions' names vary (the SDK's, EKS's), and
/// only a policy naming one session exactly would tell them apart.
const SESSION: &str = "irsa-doctor";

/// A session of `role`, as its pods make requests.
pub(crate) fn caller_of(partition: &str, role: &Role) -> Option<Caller> {
    let account = role.arn.split(':').nth(4)?;
    Caller::parse(&format!(
        "arn:{partition}:sts::{account}:assumed-role/{}/{SESSION}",
        role.name
    ))
    .ok()
}

/// A request the resource or SCP layers denied.
pub(crate) struct Denied<'a> {
    pub requirement: &'a Requirement,
    pub authorization: Authorization,
    pub authorizer: Authorizer,
}

/// Whether the outer layers (resource, SCP, RCP) decided the denial, so that [`report`] says it.
pub(crate) fn is_outer(authorization: &Authorization) -> bool {
    authorization.decision != Decision::Allow
        && matches!(
            authorization.deciding_layer().kind,
            LayerKind::Resource | LayerKind::Scp | LayerKind::Rcp
        )
}

/// One finding per (resource, deciding layer, reason), listing the actions denied.
pub(crate) fn report(
    input: &DoctorInput<'_>,
    subject: &Subject,
    role: &Role,
    preset: &str,
    denied: &[Denied<'_>],
    out: &mut Vec<Finding>,
) {
    let key = |d: &Denied<'_>| {
        let layer = d.authorization.deciding_layer();
        // An SCP level applies to every resource alike: one finding per level.
        let holder = match layer.kind {
            LayerKind::Resource => policy_holder(&d.requirement.resource),
            _ => "",
        };
        (
            holder.to_string(),
            layer.kind,
            layer.level,
            d.authorization.reason,
        )
    };
    let mut groups: Vec<(_, Vec<&Denied<'_>>)> = Vec::new();
    for d in denied {
        let k = key(d);
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, list)) => list.push(d),
            None => groups.push((k, vec![d])),
        }
    }
    for ((holder, kind, level, _), group) in groups {
        let finding = match kind {
            LayerKind::Scp | LayerKind::Rcp => scp_finding(input, subject, preset, level, &group),
            _ => resource_finding(subject, role, preset, &holder, &group),
        };
        out.push(finding);
    }
}

fn actions(group: &[&Denied<'_>]) -> Vec<String> {
    let mut actions: Vec<String> = Vec::new();
    for d in group {
        if !actions.contains(&d.requirement.action) {
            actions.push(d.requirement.action.clone());
        }
    }
    actions
}

fn needs(preset: &str, group: &[&Denied<'_>]) -> String {
    let first = group[0].requirement;
    format!(
        "{} on {}, which {preset} needs to {}",
        actions(group).join(", "),
        first.resource,
        first.purpose
    )
}

/// The labels of the deciding statements of the deciding layer, after their policy's name when
/// `names` gives them.
fn deciding_statements(denied: &Denied<'_>, names: &[&str]) -> Vec<String> {
    let layer = denied.authorization.deciding_layer();
    let policies = denied.authorizer.policies();
    let documents = match (layer.kind, layer.level) {
        (LayerKind::Resource, _) => policies.resource.iter().collect::<Vec<_>>(),
        (LayerKind::Scp, Some(level)) => policies.scp_levels[level].iter().collect(),
        (LayerKind::Rcp, Some(level)) => policies.rcp_levels[level].iter().collect(),
        _ => Vec::new(),
    };
    layer
        .deciding
        .iter()
        .filter_map(|at| {
            let statement = documents.get(at.policy)?.statements.get(at.statement)?;
            Some(match names.get(at.policy) {
                Some(name) => format!("{name} {}", statement_label(statement)),
                None => statement_label(statement),
            })
        })
        .collect()
}

fn resource_finding(
    subject: &Subject,
    role: &Role,
    preset: &str,
    holder: &str,
    group: &[&Denied<'_>],
) -> Finding {
    let first = group[0];
    let kms = holder.split(':').nth(2) == Some("kms");
    let (what, command) = if kms {
        (
            format!("the key policy of KMS key `{holder}`"),
            format!(
                "aws kms put-key-policy --key-id {holder} --policy-name default --policy file://key-policy.json"
            ),
        )
    } else {
        let bucket = holder.rsplit(':').next().unwrap_or(holder);
        (
            format!("the bucket policy of `{bucket}`"),
            format!(
                "aws s3api put-bucket-policy --bucket {bucket} --policy file://bucket-policy.json"
            ),
        )
    };
    let needs = needs(preset, group);
    let finding = match first.authorization.reason {
        Reason::ExplicitDeny => {
            let statements = deciding_statements(first, &[]).join(", ");
            Finding::new(&RESOURCE_POLICY_DENIES, Some(subject), format!("{what} explicitly denies {needs}: a Deny in a resource-based policy wins over every Allow"))
                .evidence(format!("denying statements: {statements}"))
                .fix(format!("narrow or remove the Deny ({statements}) so that it does not match role `{}`'s requests", role.name))
        }
        Reason::KeyPolicyDoesNotAllow => Finding::new(&RESOURCE_POLICY_DENIES, Some(subject), format!("{what} does not admit role `{}`, so it is denied {needs}: a KMS key policy must allow explicitly, even in the role's own account", role.name))
            .evidence(format!("statement to add to the key policy: {}", statement_to_add(role, holder, group)))
            .fix("add the statement to the key policy (or one allowing the account's root, which lets the role's IAM policies decide)"),
        _ => Finding::new(&RESOURCE_POLICY_DENIES, Some(subject), format!("{what} does not allow role `{}` {needs}: the resource is in another account, where its resource-based policy must allow the role as well as the role's own policies", role.name))
            .evidence(format!("statement to add to the bucket policy: {}", statement_to_add(role, holder, group)))
            .fix("add the statement to the bucket policy (the bucket's owner can)"),
    };
    finding
        .evidence(first.authorization.explain())
        .command(command)
}

/// The statement that admits `role` for the actions denied on `holder`.
fn statement_to_add(role: &Role, holder: &str, group: &[&Denied<'_>]) -> String {
    let resources: Vec<String> = if holder.split(':').nth(2) == Some("kms") {
        // In a key policy, "*" is the key itself.
        vec!["*".to_string()]
    } else {
        let mut resources: Vec<String> = Vec::new();
        for d in group {
            let resource = if d.requirement.resource == holder {
                holder.to_string()
            } else {
                format!("{holder}/*")
            };
            if !resources.contains(&resource) {
                resources.push(resource);
            }
        }
        resources
    };
    json!({
        "Sid": format!("Allow{}", role.name.replace(['-', '_', '.', '@', '=', ',', '+'], "")),
        "Effect": "Allow",
        "Principal": {"AWS": role.arn},
        "Action": actions(group),
        "Resource": resources,
    })
    .to_string()
}

fn scp_finding(
    input: &DoctorInput<'_>,
    subject: &Subject,
    preset: &str,
    level: Option<usize>,
    group: &[&Denied<'_>],
) -> Finding {
    let first = group[0];
    let scp_level = level.and_then(|l| match &input.resource_layers.scps {
        Some(Scps::Levels(levels)) => levels.get(l),
        _ => None,
    });
    let target = scp_level.map_or("?", |l: &ScpLevel| l.target.as_str());
    let verdict = if first.authorization.decision == Decision::ExplicitDeny {
        "explicitly deny"
    } else {
        "do not allow"
    };
    let mut finding = Finding::new(
        &SCP_DENIES,
        Some(subject),
        format!(
            "the SCPs attached to {target} (level {} from the organization root) {verdict} {}",
            level.unwrap_or_default(),
            needs(preset, group)
        ),
    );
    let names: Vec<&str> = scp_level
        .iter()
        .flat_map(|l| &l.policies)
        .map(|(name, _)| name.as_str())
        .collect();
    if !names.is_empty() {
        finding = finding.evidence(format!("SCPs on {target}: {}", names.join(", ")));
    }
    let statements = deciding_statements(first, &names);
    if !statements.is_empty() {
        finding = finding.evidence(format!("deciding statements: {}", statements.join(", ")));
    }
    finding
        .evidence(first.authorization.explain())
        .fix(format!("SCPs are the organization's: ask its administrators to allow {} for account {} in the SCPs on {target} (no policy of the role can)", actions(group).join(", "), input.snapshot.account))
        .command(format!("aws organizations list-policies-for-target --target-id {target} --filter SERVICE_CONTROL_POLICY"))
}

/// "Not checked" once per layer that could not be read.
pub(crate) fn check_not_checked(input: &DoctorInput<'_>, out: &mut Vec<Finding>) {
    let layers = input.resource_layers;
    if let Some(why) = layers.scps_not_checked() {
        out.push(
            Finding::new(&LAYER_NOT_CHECKED, None, format!("SCP layer not checked: {why}"))
                .fix("doctor reads SCPs with organizations:ListParents, ListPoliciesForTarget and DescribePolicy (the management account or a delegated administrator can)"),
        );
    }
    for (resource, facts) in &layers.resources {
        let Observed::NotChecked(why) = &facts.policy else {
            continue;
        };
        let (what, action) = if resource.split(':').nth(2) == Some("kms") {
            (format!("key policy of `{resource}`"), "kms:GetKeyPolicy")
        } else {
            (
                format!("bucket policy of `{resource}`"),
                "s3:GetBucketPolicy",
            )
        };
        out.push(
            Finding::new(&LAYER_NOT_CHECKED, None, format!("{what} not checked: {why}"))
                .fix(format!("allow {action} on it to the credentials doctor runs with; until then the role's own policies decide")),
        );
    }
}
