//! The permissions link: the role has policies, and they (within its permissions boundary) allow
//! what the subject's workload does, evaluated by the policy engine request by request on real
//! resources (see [`crate::presets::requirements`]). For the Cluster Autoscaler the Auto Scaling
//! groups must also carry the auto-discovery tags, or it has nothing to scale whatever its policy.
//! Each requirement is decided by the engine's layered authorization: the role's policies, capped
//! by its permissions boundary and by a session policy (an EKS Pod Identity association's
//! `policy`); the layer that decides names the rule.

use iam_policy::authorization::{
    Authorization, Authorizer, AuthzRequest, Caller, LayerKind, Policies,
};
use iam_policy::context::Context;
use iam_policy::document::PolicyDocument;
use iam_policy::eval::Decision;

use super::layers;
use super::rules::*;
use super::{DoctorInput, Finding, RoleFacts, Subject};
use crate::presets::dependencies::{self, Dependencies};
use crate::presets::requirements::{
    self, AUTOSCALER_ENABLED_TAG, Requirement, RequirementParams, autoscaler_cluster_tag,
};
use crate::resource_layers;
use crate::snapshot::Role;

pub(crate) fn check(
    input: &DoctorInput<'_>,
    subject: &Subject,
    facts: &RoleFacts,
    out: &mut Vec<Finding>,
) {
    let Some(role) = &facts.role else {
        return;
    };
    let inline = input
        .inline_policies
        .get(&role.name)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if role.attached_policy_arns.is_empty() && role.inline_policy_names.is_empty() {
        out.push(
            Finding::new(&NO_POLICIES, Some(subject), format!("role `{}` has no permissions policy: every AWS call of the workload is denied (AccessDenied)", role.name))
                .fix("attach the policy the workload needs (a preset binding does, with `irsa apply`)")
                .command(format!("aws iam attach-role-policy --role-name {} --policy-arn <policy-arn>", role.name)),
        );
        return;
    }
    let mut documents = Vec::new();
    for arn in &role.attached_policy_arns {
        match input.snapshot.policy(arn) {
            Some(policy) => push_parsed(&mut documents, &policy.document, arn, subject, role, out),
            None => out.push(unreadable(
                subject,
                role,
                arn,
                "its document was not read".to_string(),
            )),
        }
    }
    for name in &role.inline_policy_names {
        match inline.iter().find(|(n, _)| n == name) {
            Some((_, document)) => push_parsed(
                &mut documents,
                document,
                &format!("inline policy {name}"),
                subject,
                role,
                out,
            ),
            None => out.push(unreadable(
                subject,
                role,
                &format!("inline policy {name}"),
                "its document was not read".to_string(),
            )),
        }
    }
    let boundary = match &role.permissions_boundary {
        Some(arn) => match input
            .snapshot
            .policy(arn)
            .map(|p| PolicyDocument::from_value_identity_based(&p.document))
        {
            Some(Ok(document)) => Some((arn.as_str(), document)),
            Some(Err(e)) => {
                out.push(unreadable(subject, role, arn, e.to_string()));
                None
            }
            None => {
                out.push(unreadable(
                    subject,
                    role,
                    arn,
                    "the permissions boundary's document was not read".to_string(),
                ));
                None
            }
        },
        None => None,
    };
    let Some(preset) = &subject.preset else {
        return;
    };
    let snapshot = input.snapshot;
    let params = RequirementParams {
        partition: &snapshot.partition,
        region: &snapshot.region,
        account: &snapshot.account,
        cluster: input.cluster,
        auto_scaling_groups: input.auto_scaling_groups,
    };
    if preset == "cluster-autoscaler" {
        check_auto_discovery(input, subject, out);
    }
    let boundary_arn = boundary.as_ref().map(|(arn, _)| arn.to_string());
    let policies = Policies {
        identity: documents,
        boundary: boundary.map(|(_, document)| document),
        session: session_policy_of(facts, subject, role, out),
        scp_levels: scp_levels(input, subject, role, out),
        ..Policies::default()
    };
    let mut dependencies = workload_dependencies(input, preset, role);
    dependencies.merge(subject.dependencies.clone());
    let requirements: Vec<Requirement> = requirements::requirements(preset, &params)
        .into_iter()
        .chain(dependencies::requirements(preset, &dependencies, &params))
        .collect();
    let caller = layers::caller_of(&snapshot.partition, role);
    let mut outer = Vec::new();
    for requirement in &requirements {
        let Some((authorizer, authorization)) = decide(
            input,
            &policies,
            caller.as_ref(),
            requirement,
            subject,
            role,
            out,
        ) else {
            continue;
        };
        if authorization.decision == Decision::Allow {
            continue;
        }
        if layers::is_outer(&authorization) {
            outer.push(layers::Denied {
                requirement,
                authorization,
                authorizer,
            });
            continue;
        }
        let needs = format!(
            "{} on {}, which {preset} needs to {}",
            requirement.action, requirement.resource, requirement.purpose
        );
        let finding = match authorization.deciding_layer().kind {
            LayerKind::Boundary => Finding::new(&BOUNDARY_DENIES, Some(subject), format!("the permissions boundary of `{}` does not allow {needs}: the role's policies allow it, the boundary caps it", role.name))
                .evidence(format!("boundary: {}", boundary_arn.as_deref().unwrap_or_default()))
                .fix("widen the boundary for this action, or remove it from the role"),
            LayerKind::Session => Finding::new(&SESSION_POLICY_DENIES, Some(subject), format!("the association's session policy does not allow {needs}: the role's policies allow it, the session policy caps them"))
                .evidence(format!("session policy: {}", facts.session_policy.as_deref().unwrap_or_default()))
                .fix("allow the action in the association's session policy (the binding's sessionPolicy), or remove the policy")
                .command(format!("aws eks update-pod-identity-association --cluster-name {} --association-id <id> --policy file://session-policy.json", input.cluster)),
            _ => {
                let verdict = if authorization.decision == Decision::ExplicitDeny {
                    "explicitly denies"
                } else {
                    "does not allow"
                };
                Finding::new(&REQUIREMENT_DENIED, Some(subject), format!("role `{}` {verdict} {needs}", role.name))
                    .evidence(format!("policies evaluated: {}", policy_names(role)))
                    .fix(format!("attach the {preset} preset's policy (`irsa presets show {preset}`; `irsa apply` attaches it)"))
            }
        };
        let mut finding = finding.evidence(authorization.explain());
        finding.evidence.insert(0, request_evidence(requirement));
        out.push(finding);
    }
    layers::report(input, subject, role, preset, &outer, out);
}

/// Decides `requirement` as a session of `role`, through the role's layers (`policies`) and the
/// resource-based policy of its resource when one was read; a policy that cannot be used is
/// reported and the requirement skipped.
fn decide(
    input: &DoctorInput<'_>,
    policies: &Policies,
    caller: Option<&Caller>,
    requirement: &Requirement,
    subject: &Subject,
    role: &Role,
    out: &mut Vec<Finding>,
) -> Option<(Authorizer, Authorization)> {
    let snapshot = input.snapshot;
    let holder = resource_layers::policy_holder(&requirement.resource);
    let what = || format!("the resource-based policy of {holder}, for");
    let layers = match input.resource_layers.for_request(
        &requirement.resource,
        &snapshot.partition,
        caller
            .and_then(|c| c.account.as_deref())
            .unwrap_or(&snapshot.account),
    ) {
        Ok(layers) => layers,
        Err(e) => {
            out.push(unreadable(subject, role, &what(), e.to_string()));
            return None;
        }
    };
    let mut policies = policies.clone();
    policies.resource = layers.resource_policy;
    let authorizer = match Authorizer::new(policies) {
        Ok(authorizer) => authorizer,
        Err(e) => {
            out.push(unreadable(subject, role, &what(), e.to_string()));
            return None;
        }
    };
    let mut ctx = context_of(requirement);
    if let Some(account) = layers.resource_account {
        ctx.insert("aws:ResourceAccount", account);
    }
    if let Some(caller) = caller {
        caller.fill_context(&mut ctx);
    }
    let request = AuthzRequest {
        caller,
        action: &requirement.action,
        resource: &requirement.resource,
        context: &ctx,
    };
    // The caller is given whenever a resource-based policy is: authorize cannot fail.
    let authorization = authorizer.authorize(&request).ok()?;
    Some((authorizer, authorization))
}

/// The SCP levels that apply to the account, parsed; an unparsable SCP is reported and the SCP
/// layer left out.
fn scp_levels(
    input: &DoctorInput<'_>,
    subject: &Subject,
    role: &Role,
    out: &mut Vec<Finding>,
) -> Vec<Vec<PolicyDocument>> {
    match input.resource_layers.scp_levels() {
        Ok(levels) => levels.into_iter().map(|(_, documents)| documents).collect(),
        Err((what, e)) => {
            out.push(unreadable(subject, role, &what, e.to_string()));
            Vec::new()
        }
    }
}

/// The KMS keys and buckets `role`'s policies name for `preset`'s workload.
fn workload_dependencies(input: &DoctorInput<'_>, preset: &str, role: &Role) -> Dependencies {
    let documents = layers::documents_of(input.snapshot, input.inline_policies, role);
    dependencies::dependencies(preset, &documents)
}

/// The session policy of the role's use, parsed; an unparsable one is reported.
fn session_policy_of(
    facts: &RoleFacts,
    subject: &Subject,
    role: &Role,
    out: &mut Vec<Finding>,
) -> Option<PolicyDocument> {
    let text = facts.session_policy.as_deref()?;
    match PolicyDocument::parse_identity_based(text) {
        Ok(document) => Some(document),
        Err(e) => {
            out.push(unreadable(
                subject,
                role,
                "the session policy",
                e.to_string(),
            ));
            None
        }
    }
}

/// The autoscaler's `--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/<cluster>`
/// finds no group unless one carries both tags.
fn check_auto_discovery(input: &DoctorInput<'_>, subject: &Subject, out: &mut Vec<Finding>) {
    let Some(groups) = input.auto_scaling_groups else {
        return;
    };
    if groups.iter().any(|g| g.discovered_for(input.cluster)) {
        return;
    }
    let cluster_tag = autoscaler_cluster_tag(input.cluster);
    let mut finding = Finding::new(
        &ASG_NOT_DISCOVERABLE,
        Some(subject),
        format!(
            "none of the {} in {} carries both {AUTOSCALER_ENABLED_TAG} and {cluster_tag}: the autoscaler discovers nothing to scale, and its policy allows scaling only tagged groups",
            crate::text::counted(groups.len(), "Auto Scaling group"),
            input.snapshot.region
        ),
    );
    for group in groups {
        let tags: Vec<&str> = group
            .tags
            .keys()
            .filter(|k| k.starts_with("k8s.io/cluster-autoscaler/"))
            .map(String::as_str)
            .collect();
        finding = finding.evidence(format!(
            "{}: [{}]",
            group.name,
            if tags.is_empty() {
                "no auto-discovery tag".to_string()
            } else {
                tags.join(", ")
            }
        ));
    }
    out.push(
        finding
            .fix("tag the cluster's node groups (managed node groups carry the tags when created by eksctl with autoscaling enabled)")
            .command(format!("aws autoscaling create-or-update-tags --tags ResourceId=<group>,ResourceType=auto-scaling-group,Key={AUTOSCALER_ENABLED_TAG},Value=true,PropagateAtLaunch=false ResourceId=<group>,ResourceType=auto-scaling-group,Key={cluster_tag},Value=owned,PropagateAtLaunch=false")),
    );
}

fn context_of(requirement: &Requirement) -> Context {
    let mut ctx = Context::new();
    for (key, value) in &requirement.context {
        ctx.insert(key, value.clone());
    }
    ctx
}

fn request_evidence(requirement: &Requirement) -> String {
    let context: Vec<String> = requirement
        .context
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!(
        "request: {} on {}{}",
        requirement.action,
        requirement.resource,
        if context.is_empty() {
            String::new()
        } else {
            format!(" with {}", context.join(", "))
        }
    )
}

fn policy_names(role: &Role) -> String {
    role.attached_policy_arns
        .iter()
        .cloned()
        .chain(
            role.inline_policy_names
                .iter()
                .map(|n| format!("inline {n}")),
        )
        .collect::<Vec<_>>()
        .join(", ")
}

fn push_parsed(
    documents: &mut Vec<PolicyDocument>,
    value: &serde_json::Value,
    what: &str,
    subject: &Subject,
    role: &Role,
    out: &mut Vec<Finding>,
) {
    match PolicyDocument::from_value_identity_based(value) {
        Ok(document) => documents.push(document),
        Err(e) => out.push(unreadable(subject, role, what, e.to_string())),
    }
}

fn unreadable(subject: &Subject, role: &Role, what: &str, why: String) -> Finding {
    Finding::new(
        &POLICY_UNREADABLE,
        Some(subject),
        format!(
            "{what} of role `{}` could not be evaluated: {why}",
            role.name
        ),
    )
    .fix("doctor evaluates what it can read; check the policy with `irsa policy lint`")
}
