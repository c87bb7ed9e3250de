//! The EKS Pod Identity chain, root cause first: the `eks-pod-identity-agent` add-on (installed,
//! ACTIVE) and its DaemonSet (ready on every node) → the service account's association → the
//! association's role and its trust, evaluated by the policy engine for the request EKS makes
//! (the service principal `pods.eks.amazonaws.com` asking for `sts:AssumeRole` and, with session
//! tags on, `sts:TagSession`, with the six `aws:RequestTag/…` session tags and `aws:TagKeys`) →
//! a target role's trust for the first role (`aws:PrincipalARN`, or `sts:ExternalId` with session
//! tags off; only when the target role is in the account, so readable) → the permissions, capped
//! by the association's session policy → the pods (started after the association, not on
//! Fargate) → the add-on's version (DescribeAddonConfiguration's `podIdentityConfiguration`). A
//! service account with both an IRSA annotation and an association is called out for whichever
//! chain it takes, saying which mechanism wins for whom. Sources: Amazon EKS User Guide,
//! pod-identities.html, pod-id-role.html, pod-id-abac.html, pod-id-assign-target-role.html.

use iam_policy::context::Context;
use iam_policy::document::{Effect, PolicyDocument, PrincipalType};
use iam_policy::eval::{self, Applies, Decision, Principal, Request};

use super::rules::*;
use super::{DoctorInput, Finding, RoleFacts, Subject, chain, permissions, runtime};
use crate::desired;
use crate::identity::pod_identity::{
    self as pi, AGENT_ADDON, AGENT_DAEMONSET, AUDIENCE, ENV_CREDENTIALS_URI, SERVICE_PRINCIPAL,
    SESSION_TAGS, TRUST_ACTIONS,
};
use crate::identity::{Kind, Mechanism, PodIdentity, TrustTarget, irsa::ROLE_ARN_ANNOTATION};
use crate::snapshot::{PodIdentityAssociation, Role};
use crate::steps::{AddonAssociation, AddonIdentity, Step};
use crate::verify;

/// The first add-on version with Pod Identity, for the add-ons that support it (REFERENCE, from
/// the EKS user guide's add-on pages).
pub fn minimum_addon_version(addon: &str) -> Option<&'static str> {
    match addon {
        "aws-ebs-csi-driver" => Some("v1.26.0-eksbuild.1"),
        "aws-efs-csi-driver" => Some("v2.0.5-eksbuild.1"),
        "vpc-cni" => Some("v1.15.5-eksbuild.1"),
        _ => None,
    }
}

/// The agent: add-on installed and ACTIVE, its DaemonSet ready on every node.
pub(crate) fn check_agent(input: &DoctorInput<'_>, out: &mut Vec<Finding>) {
    let cluster = input.cluster;
    let Some(addon) = input.snapshot.addon(AGENT_ADDON) else {
        out.push(
            Finding::new(&AGENT_MISSING, None, format!("EKS add-on {AGENT_ADDON} is not installed on {cluster}: no node serves credentials at 169.254.170.23, so no association gives a pod its role"))
                .fix(format!("install the {AGENT_ADDON} add-on"))
                .command(format!("aws eks create-addon --cluster-name {cluster} --addon-name {AGENT_ADDON}"))
                .step(Step::CreateAddon {
                    settings: Default::default(),
                    cluster: cluster.to_string(),
                    name: AGENT_ADDON.to_string(),
                    identity: AddonIdentity::None,
                    tags: desired::ownership_tags(cluster),
                }),
        );
        return;
    };
    if addon.status != "ACTIVE" {
        out.push(
            Finding::new(&AGENT_NOT_ACTIVE, None, format!("EKS add-on {AGENT_ADDON} is {}: pods may get no credentials from it", addon.status))
                .evidence(format!("add-on status: {}", addon.status))
                .fix("read its health issues and fix them; a failed add-on can be updated again")
                .command(format!("aws eks describe-addon --cluster-name {cluster} --addon-name {AGENT_ADDON} --query addon.health")),
        );
        return;
    }
    let status = input.pod_identity.agent_daemon_set;
    let problem = match status {
        None => Some(format!(
            "the add-on is ACTIVE but its DaemonSet kube-system/{AGENT_DAEMONSET} does not exist"
        )),
        Some(ds) if ds.desired == 0 => Some(format!(
            "DaemonSet kube-system/{AGENT_DAEMONSET} is scheduled on no node (Pod Identity needs Linux EC2 nodes)"
        )),
        Some(ds) if ds.ready < ds.desired => Some(format!(
            "DaemonSet kube-system/{AGENT_DAEMONSET} is ready on {} of {} node(s): pods on the others get no credentials",
            ds.ready, ds.desired
        )),
        Some(_) => None,
    };
    if let Some(problem) = problem {
        let mut finding = Finding::new(&AGENT_NOT_READY, None, problem);
        if let Some(ds) = status {
            finding = finding.evidence(format!(
                "desiredNumberScheduled {}, numberReady {}",
                ds.desired, ds.ready
            ));
        }
        out.push(
            finding
                .fix("look at the agent's pods (they need hostNetwork and ports 80 and 2703 free on the node)")
                .command(format!("kubectl -n kube-system rollout status daemonset/{AGENT_DAEMONSET} && kubectl -n kube-system get pods -l app.kubernetes.io/name={AGENT_DAEMONSET} -o wide")),
        );
    }
}

/// The chain of one service account that uses EKS Pod Identity.
pub(crate) fn check_subject(input: &DoctorInput<'_>, subject: &Subject, out: &mut Vec<Finding>) {
    check_service_account_exists(input, subject, out);
    let association = input
        .snapshot
        .association(&subject.namespace, &subject.name);
    let followed = match association {
        Some(association) => {
            check_spec_role(input, subject, association, out);
            Some(Use::of_association(association))
        }
        None => {
            out.push(missing_association(input, subject));
            Use::of_spec(subject)
        }
    };
    if let Some(usage) = &followed {
        let facts = RoleFacts {
            session_policy: usage.options.session_policy.clone(),
            ..chain::role_facts(input, &usage.role_arn, AUDIENCE)
        };
        match &facts.role {
            None => out.push(role_missing(input, subject, &facts, association.is_some())),
            Some(role) => {
                check_trust(input, subject, usage, role, out);
                check_target(input, subject, usage, out);
            }
        }
        // With a target role the pods get the target's permissions (read when in the account).
        let granting = match &usage.options.target_role_arn {
            None => Some(facts),
            Some(target) => readable(input, target).then(|| RoleFacts {
                session_policy: usage.options.session_policy.clone(),
                ..chain::role_facts(input, target, AUDIENCE)
            }),
        };
        if let Some(granting) = &granting {
            permissions::check(input, subject, granting, out);
        }
    }
    check_pods(input, subject, out);
    check_addon(input, subject, out);
}

/// What EKS is asked to assume for the subject: the association's role and options (or the
/// spec's, when there is no association yet).
struct Use {
    role_arn: String,
    options: PodIdentity,
}

impl Use {
    fn of_association(association: &PodIdentityAssociation) -> Use {
        Use {
            role_arn: association.role_arn.clone(),
            options: PodIdentity {
                target_role_arn: association.target_role_arn.clone(),
                disable_session_tags: association.disable_session_tags,
                session_policy: association.policy.clone(),
            },
        }
    }

    fn of_spec(subject: &Subject) -> Option<Use> {
        Some(Use {
            role_arn: subject.expected_role_arn.clone()?,
            options: spec_options(subject).cloned().unwrap_or_default(),
        })
    }
}

fn spec_options(subject: &Subject) -> Option<&PodIdentity> {
    subject
        .mechanism
        .as_ref()
        .and_then(Mechanism::as_pod_identity)
}

fn check_service_account_exists(
    input: &DoctorInput<'_>,
    subject: &Subject,
    out: &mut Vec<Finding>,
) {
    if input
        .snapshot
        .service_account(&subject.namespace, &subject.name)
        .is_some()
    {
        return;
    }
    let finding = Finding::new(
        &SA_MISSING,
        Some(subject),
        format!(
            "service account {} does not exist, so pods cannot run as it (an association alone gives no pod credentials)",
            subject.label()
        ),
    );
    out.push(match &subject.addon {
        Some(addon) => finding.fix(format!(
            "the EKS add-on {addon} creates it; install the add-on (`irsa apply`)"
        )),
        None => finding
            .fix("create it (`irsa apply -f <spec>` does); no role annotation is needed")
            .command(format!(
                "kubectl create serviceaccount {} -n {}",
                subject.name, subject.namespace
            )),
    });
}

/// Whether irsa may change `role` on its own: it made it, or `--adopt`.
fn may_change(input: &DoctorInput<'_>, tags: &crate::snapshot::Tags) -> bool {
    desired::is_owned(tags) || input.adopt
}

fn missing_association(input: &DoctorInput<'_>, subject: &Subject) -> Finding {
    let cluster = input.cluster;
    let label = subject.label();
    let finding = Finding::new(
        &ASSOCIATION_MISSING,
        Some(subject),
        format!(
            "{label} has no EKS Pod Identity association on {cluster}: EKS Auth refuses its pods' tokens, the SDK gets no credentials"
        ),
    );
    let role = subject.expected_role_arn.as_deref();
    let owned_role = role
        .and_then(verify::role_name_of)
        .and_then(|name| input.snapshot.role(&name))
        .filter(|r| may_change(input, &r.tags));
    let options = spec_options(subject).cloned().unwrap_or_default();
    match (&subject.addon, role) {
        (Some(addon), Some(role)) => {
            let finding = finding
                .fix(format!("give the {addon} add-on the association (podIdentityAssociations)"))
                .command(format!("aws eks update-addon --cluster-name {cluster} --addon-name {addon} --pod-identity-associations serviceAccount={},roleArn={role}", subject.name));
            match owned_role {
                Some(_) => finding.step(Step::UpdateAddon {
                    settings: Default::default(),
                    cluster: cluster.to_string(),
                    name: addon.clone(),
                    identity: AddonIdentity::PodIdentity {
                        associations: vec![AddonAssociation {
                            service_account: subject.name.clone(),
                            role_arn: role.to_string(),
                        }],
                    },
                }),
                None => finding,
            }
        }
        (None, Some(role)) => {
            let finding = finding
                .fix("create the association for the spec's role")
                .command(format!("aws eks create-pod-identity-association --cluster-name {cluster} --namespace {} --service-account {} --role-arn {role}", subject.namespace, subject.name));
            match owned_role {
                Some(_) => finding.step(Step::CreatePodIdentityAssociation {
                    cluster: cluster.to_string(),
                    namespace: subject.namespace.clone(),
                    service_account: subject.name.clone(),
                    role_arn: role.to_string(),
                    target_role_arn: options.target_role_arn,
                    disable_session_tags: options.disable_session_tags,
                    policy: options.session_policy,
                    tags: desired::ownership_tags(cluster),
                }),
                None => finding,
            }
        }
        (_, None) => finding
            .fix("create an association naming the role its workload should use (`irsa apply -f <spec>` with `identity: pod-identity`)")
            .command(format!("aws eks create-pod-identity-association --cluster-name {cluster} --namespace {} --service-account {} --role-arn arn:{}:iam::{}:role/<role-name>", subject.namespace, subject.name, input.snapshot.partition, input.snapshot.account)),
    }
}

/// The association names the spec's role.
fn check_spec_role(
    input: &DoctorInput<'_>,
    subject: &Subject,
    association: &PodIdentityAssociation,
    out: &mut Vec<Finding>,
) {
    let Some(expected) = subject
        .expected_role_arn
        .as_ref()
        .filter(|e| **e != association.role_arn)
    else {
        return;
    };
    let mut finding = Finding::new(
        &ASSOCIATION_NOT_SPEC,
        Some(subject),
        format!(
            "the association of {} names another role than the spec's",
            subject.label()
        ),
    )
    .evidence(format!(
        "association {}: role {}",
        association.association_id, association.role_arn
    ))
    .evidence(format!("spec: {expected}"))
    .command(format!(
        "aws eks update-pod-identity-association --cluster-name {} --association-id {} --role-arn {expected}",
        input.cluster, association.association_id
    ));
    finding = match &association.owner_arn {
        Some(owner) => finding.fix(format!(
            "the association belongs to the EKS add-on {owner}: change the add-on's podIdentityAssociations (`irsa apply`)"
        )),
        None if may_change(input, &association.tags) => {
            let options = spec_options(subject)
                .cloned()
                .unwrap_or_else(|| Use::of_association(association).options);
            finding
                .fix("point the association at the spec's role (then restart its pods: the agent caches credentials)")
                .step(Step::UpdatePodIdentityAssociation {
                    cluster: input.cluster.to_string(),
                    association_id: association.association_id.clone(),
                    role_arn: expected.clone(),
                    target_role_arn: options.target_role_arn,
                    disable_session_tags: options.disable_session_tags,
                    policy: options.session_policy,
                })
        }
        None => finding.fix("point the association at the spec's role (irsa changes only associations it created, or with --adopt)"),
    };
    out.push(finding);
}

fn role_missing(
    input: &DoctorInput<'_>,
    subject: &Subject,
    facts: &RoleFacts,
    associated: bool,
) -> Finding {
    let whose = if associated {
        "the association's role"
    } else {
        "the spec's role"
    };
    Finding::new(&ASSOCIATION_ROLE_MISSING, Some(subject), format!("{whose} `{}` does not exist in account {}: EKS Auth cannot assume it (AccessDeniedException)", facts.name, input.snapshot.account))
        .evidence(format!("role: {}", facts.arn))
        .fix("create the role with a Pod Identity trust (`irsa apply -f <spec>` with `identity: pod-identity`), or point the association at an existing role")
        .command(format!("irsa apply --cluster {} --region {}", input.cluster, input.snapshot.region))
}

/// The trust target of this cluster.
fn target<'a>(input: &'a DoctorInput<'_>) -> TrustTarget<'a> {
    TrustTarget {
        partition: &input.snapshot.partition,
        account: &input.snapshot.account,
        region: &input.snapshot.region,
        cluster_name: input.cluster,
        issuer_url: None,
    }
}

/// The cluster's ARN, as EKS puts it in the `eks-cluster-arn` session tag.
fn cluster_arn(input: &DoctorInput<'_>) -> String {
    input
        .snapshot
        .cluster
        .as_ref()
        .map(|c| c.arn.clone())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| target(input).cluster_arn())
}

/// The request context EKS sends STS for a pod of `subject` (the session tags, none with them
/// off), as verify builds it.
fn session_context(input: &DoctorInput<'_>, subject: &Subject, tags_on: bool) -> Context {
    let cluster_arn = cluster_arn(input);
    pi::Requester {
        cluster_arn: &cluster_arn,
        cluster_name: input.cluster,
        namespace: &subject.namespace,
        service_account: &subject.name,
    }
    .context(tags_on)
}

/// The actions a request asks for: AssumeRole, and TagSession with session tags on.
fn actions(tags_on: bool) -> &'static [&'static str] {
    if tags_on {
        &TRUST_ACTIONS
    } else {
        &TRUST_ACTIONS[..1]
    }
}

/// Why a trust refuses a request, when it does: the rule and one sentence.
struct Refusal {
    rule: &'static Rule,
    why: String,
}

/// The rule a refused trust is reported under, by what fails first.
struct RefusalRules {
    /// No Allow statement names the principal.
    principal: &'static Rule,
    /// The statements for the principal do not allow the action.
    action: &'static Rule,
    /// A condition of a statement for the principal and action does not hold.
    condition: &'static Rule,
    /// A Deny applies, or nothing else explains it.
    denied: &'static Rule,
}

/// The role's own trust: each cause has its rule.
const ROLE_TRUST: RefusalRules = RefusalRules {
    principal: &POD_TRUST_PRINCIPAL,
    action: &POD_TRUST_ACTION,
    condition: &POD_TRUST_SCOPE,
    denied: &POD_TRUST_DENIED,
};

/// A target role's trust: one rule, the cause in the message.
const TARGET_ROLE_TRUST: RefusalRules = RefusalRules {
    principal: &TARGET_TRUST,
    action: &TARGET_TRUST,
    condition: &TARGET_TRUST,
    denied: &TARGET_TRUST,
};

/// Evaluates `trust` for `principal` asking each of `actions` with `ctx`; the first refusal,
/// classified by what fails in the Allow statements that could have matched.
fn refusal(
    trust: &PolicyDocument,
    principal: Principal<'_>,
    actions: &[&str],
    ctx: &Context,
    rules: &RefusalRules,
) -> Option<Refusal> {
    for action in actions {
        let request = Request {
            principal: Some(principal),
            action,
            resource: None,
            context: ctx,
        };
        let decision = eval::decide(&[trust], &request);
        if decision == Decision::Allow {
            continue;
        }
        if decision == Decision::ExplicitDeny {
            return Some(Refusal {
                rule: rules.denied,
                why: format!("a Deny statement matches {action}"),
            });
        }
        let variables = trust.variables_enabled();
        let verdicts: Vec<_> = trust
            .statements
            .iter()
            .filter(|s| s.effect == Effect::Allow)
            .map(|s| (s, eval::statement_applies(s, &request, variables)))
            .filter(|(_, v)| *v != Applies::PrincipalMismatch)
            .collect();
        if verdicts.is_empty() {
            return Some(Refusal {
                rule: rules.principal,
                why: format!(
                    "no Allow statement names the {} principal {}",
                    principal.kind.as_str(),
                    principal.id
                ),
            });
        }
        let failed = verdicts.iter().find_map(|(s, v)| match v {
            Applies::ConditionFailed(i) => Some(&s.conditions[*i]),
            _ => None,
        });
        return Some(match failed {
            Some(c) => Refusal {
                rule: rules.condition,
                why: format!(
                    "{} {} is {:?}; for {action} EKS sends {}",
                    c.operator.name(),
                    c.key,
                    c.values.iter().map(|v| v.text.as_str()).collect::<Vec<_>>(),
                    ctx.get(&c.key)
                        .map(|v| v.join(", "))
                        .unwrap_or_else(|| "no such key".to_string())
                ),
            },
            None if verdicts.iter().all(|(_, v)| *v == Applies::ActionMismatch) => Refusal {
                rule: rules.action,
                why: format!("its statements for {} do not allow {action}", principal.id),
            },
            None => Refusal {
                rule: rules.denied,
                why: format!("no statement allows {action}"),
            },
        });
    }
    None
}

/// The role's trust admits the request EKS makes for this service account.
fn check_trust(
    input: &DoctorInput<'_>,
    subject: &Subject,
    usage: &Use,
    role: &Role,
    out: &mut Vec<Finding>,
) {
    let tags_on = usage.options.trust_is_scoped();
    let text = role.trust_policy.to_string();
    let refused = match PolicyDocument::from_value(&role.trust_policy) {
        Err(e) => Some(Refusal {
            rule: &POD_TRUST_DENIED,
            why: format!("it does not parse: {e}"),
        }),
        Ok(trust) => refusal(
            &trust,
            Principal {
                kind: PrincipalType::Service,
                id: SERVICE_PRINCIPAL,
            },
            actions(tags_on),
            &session_context(input, subject, tags_on),
            &ROLE_TRUST,
        ),
    };
    let Some(refused) = refused else {
        return;
    };
    let mut finding = Finding::new(
        refused.rule,
        Some(subject),
        format!(
            "role `{}` does not admit EKS Pod Identity for {}: {}",
            role.name,
            subject.label(),
            refused.why
        ),
    )
    .evidence(format!(
        "request: Service {SERVICE_PRINCIPAL}, {} with session tags {}",
        actions(tags_on).join(" + "),
        if tags_on {
            format!(
                "{} (pod name and uid vary per pod: not evaluated)",
                SESSION_TAGS.join(", ")
            )
        } else {
            "disabled".to_string()
        }
    ))
    .evidence(format!("trust policy: {text}"))
    .command(format!(
        "aws iam update-assume-role-policy --role-name {} --policy-document file://trust.json",
        role.name
    ));
    let exact = Mechanism::PodIdentity(usage.options.clone()).trust_policy(
        &target(input),
        &subject.namespace,
        &subject.name,
    );
    finding = match exact {
        Ok(exact) if may_change(input, &role.tags) => {
            let step = chain::trust_repair(role, exact);
            let document = match &step {
                Step::UpdateTrustPolicy { trust_policy, .. } => trust_policy.to_string(),
                _ => String::new(),
            };
            finding
                .fix(format!("give the role the Pod Identity trust for this service account; trust.json: {document}"))
                .step(step)
        }
        _ => finding.fix(format!(
            "add a statement allowing Service {SERVICE_PRINCIPAL} {}{} (irsa changes only roles it created, or with --adopt)",
            TRUST_ACTIONS.join(" and "),
            if tags_on {
                ", with StringEquals on aws:RequestTag/eks-cluster-arn, kubernetes-namespace and kubernetes-service-account"
            } else {
                ""
            }
        )),
    };
    out.push(finding);
}

/// Whether doctor read the role `arn`: it is in the account (a target role in another account
/// is not readable with this account's credentials).
fn readable(input: &DoctorInput<'_>, arn: &str) -> bool {
    iam_policy::arn::Arn::parse(arn).is_ok_and(|arn| arn.account == input.snapshot.account)
}

/// A target role (cross-account chaining) exists and its trust admits the first role.
fn check_target(input: &DoctorInput<'_>, subject: &Subject, usage: &Use, out: &mut Vec<Finding>) {
    let Some(target_arn) = &usage.options.target_role_arn else {
        return;
    };
    if !readable(input, target_arn) {
        return;
    }
    let name = verify::role_name_of(target_arn).unwrap_or_default();
    let Some(target_role) = input.snapshot.role(&name) else {
        out.push(
            Finding::new(&TARGET_ROLE_MISSING, Some(subject), format!("the association's target role `{name}` does not exist: EKS assumes the first role, then fails to assume the target"))
                .evidence(format!("targetRoleArn: {target_arn}"))
                .fix("create the target role, or fix the association's targetRoleArn")
                .command(format!("aws iam get-role --role-name {name}")),
        );
        return;
    };
    let tags_on = usage.options.trust_is_scoped();
    let mut ctx = session_context(input, subject, tags_on);
    ctx.insert("aws:PrincipalArn", usage.role_arn.clone());
    if !tags_on {
        ctx.insert(
            "sts:ExternalId",
            pi::external_id(
                &input.snapshot.region,
                &input.snapshot.account,
                input.cluster,
                &subject.namespace,
                &subject.name,
            ),
        );
    }
    let refused = PolicyDocument::from_value(&target_role.trust_policy)
        .map_err(|e| format!("it does not parse: {e}"))
        .map(|trust| {
            refusal(
                &trust,
                Principal {
                    kind: PrincipalType::Aws,
                    id: &usage.role_arn,
                },
                actions(tags_on),
                &ctx,
                &TARGET_ROLE_TRUST,
            )
            .map(|r| r.why)
        });
    let why = match refused {
        Ok(None) => return,
        Ok(Some(why)) | Err(why) => why,
    };
    let admits = if tags_on {
        "aws:PrincipalArn with the session tags' conditions".to_string()
    } else {
        format!(
            "sts:ExternalId {}",
            ctx.single("sts:ExternalId").unwrap_or_default()
        )
    };
    out.push(
        Finding::new(&TARGET_TRUST, Some(subject), format!("target role `{}` does not admit the association's role {}: {why}", target_role.name, usage.role_arn))
            .evidence(format!("trust policy: {}", target_role.trust_policy))
            .fix(format!("let the target role's trust allow AWS {} {} ({admits})", usage.role_arn, actions(tags_on).join(" and ")))
            .command(format!("aws iam update-assume-role-policy --role-name {} --policy-document file://target-trust.json", target_role.name)),
    );
}

fn check_pods(input: &DoctorInput<'_>, subject: &Subject, out: &mut Vec<Finding>) {
    runtime::restart_stale(
        input,
        subject,
        &PODS_WITHOUT_POD_IDENTITY,
        |w| w.pods_without_pod_identity,
        &format!(
            "run without {ENV_CREDENTIALS_URI} (started before the association: EKS injects it only at pod creation), or with IRSA's variables, which the SDKs prefer"
        ),
        out,
    );
    let key = (subject.namespace.clone(), subject.name.clone());
    for workload in input.workloads.get(&key).into_iter().flatten() {
        if workload.fargate_pods == 0 {
            continue;
        }
        out.push(
            Finding::new(&FARGATE_PODS, Some(subject), format!("{}/{}: {} of {} pod(s) run on Fargate, where EKS Pod Identity is not supported (no agent): they get no credentials", workload.kind, workload.name, workload.fargate_pods, workload.pods))
                .fix("use IRSA for this service account (`identity: irsa`), or run the workload on EC2 nodes (its Fargate profile selects it)")
                .command(format!("aws eks list-fargate-profiles --cluster-name {}", input.cluster)),
        );
    }
}

/// An EKS add-on's installation and version: with Pod Identity, EKS ignores
/// serviceAccountRoleArn, so only presence, status and version support are checked.
fn check_addon(input: &DoctorInput<'_>, subject: &Subject, out: &mut Vec<Finding>) {
    runtime::check_addon(input, subject, None, out);
    let Some(name) = &subject.addon else {
        return;
    };
    let Some(addon) = input.snapshot.addon(name) else {
        return;
    };
    if input.pod_identity.addon_supports_pod_identity.get(name) != Some(&false) {
        return;
    }
    let version = addon.version.as_deref().unwrap_or("(unknown)");
    let minimum = minimum_addon_version(name);
    out.push(
        Finding::new(&ADDON_TOO_OLD, Some(subject), format!("EKS add-on {name} {version} does not support EKS Pod Identity (DescribeAddonConfiguration lists no podIdentityConfiguration): it does not use the association"))
            .evidence(format!("add-on version: {version}"))
            .evidence(format!("first version with Pod Identity: {}", minimum.unwrap_or("(not known to irsa)")))
            .fix("update the add-on to a version with Pod Identity")
            .command(format!("aws eks update-addon --cluster-name {} --addon-name {name} --addon-version {}", input.cluster, minimum.unwrap_or("<version>"))),
    );
}

/// A service account with both an IRSA annotation and an association: which wins depends on
/// who runs as it. Workloads use IRSA (the SDKs find web identity before the container
/// credentials provider); EKS add-ons use the association (EKS ignores serviceAccountRoleArn).
pub(crate) fn check_both_mechanisms(
    input: &DoctorInput<'_>,
    subject: &Subject,
    out: &mut Vec<Finding>,
) {
    let snapshot = input.snapshot;
    let Some(association) = snapshot.association(&subject.namespace, &subject.name) else {
        return;
    };
    let Some(sa) = snapshot.service_account(&subject.namespace, &subject.name) else {
        return;
    };
    let Some(annotated) = verify::annotated_role(sa) else {
        return;
    };
    let label = subject.label();
    let message = match &subject.addon {
        Some(addon) => format!(
            "{label} has the IRSA annotation {annotated} and an association to {}: the EKS add-on {addon} uses the association and ignores its serviceAccountRoleArn; other workloads running as {label} would use IRSA (the SDKs find web identity first)",
            association.role_arn
        ),
        None => format!(
            "{label} has the IRSA annotation {annotated} and an association to {}: its pods use IRSA, because the SDKs find web identity (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE) before the container credentials provider, so the association is ignored (EKS add-ons would use the association)",
            association.role_arn
        ),
    };
    let mut finding = Finding::new(&BOTH_MECHANISMS, Some(subject), message)
        .evidence(format!("{ROLE_ARN_ANNOTATION}: {annotated}"))
        .evidence(format!(
            "association {}: role {}",
            association.association_id, association.role_arn
        ));
    if annotated == association.role_arn {
        finding = finding.severity(iam_policy::lint::Severity::Low);
    }
    let remove_annotation = format!(
        "kubectl annotate serviceaccount {} -n {} {ROLE_ARN_ANNOTATION}-",
        subject.name, subject.namespace
    );
    let spec_kind = subject.mechanism.as_ref().map(Mechanism::kind);
    finding = match (spec_kind, &subject.addon) {
        (Some(Kind::PodIdentity), None) => finding
            .fix("the spec says Pod Identity: remove the role annotation, then restart the pods")
            .command(remove_annotation)
            .step(Step::ApplyServiceAccount {
                namespace: subject.namespace.clone(),
                name: subject.name.clone(),
                create: false,
                labels: Vec::new(),
                annotations: vec![(ROLE_ARN_ANNOTATION.to_string(), None)],
            }),
        (Some(Kind::Irsa), _) => finding
            .fix("the spec says IRSA: delete the association (or move the binding with `irsa migrate`)")
            .command(format!("aws eks delete-pod-identity-association --cluster-name {} --association-id {}", input.cluster, association.association_id)),
        _ => finding
            .fix(format!("keep one mechanism: remove the annotation for {}, or delete the association for {}", Kind::PodIdentity.title(), Kind::Irsa.title()))
            .command(remove_annotation),
    };
    out.push(finding);
}
