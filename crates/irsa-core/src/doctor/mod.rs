//! `irsa doctor`, decided: every check of the chain a pod's credentials go through, for a set of
//! service accounts, as a pure function from observed facts to findings. Each service account is
//! followed through the chain of its mechanism ([`mechanism_of`]). For IRSA that is what STS and
//! the pod-identity webhook walk: the cluster's issuer → the IAM OIDC provider for it → the
//! service account and its role annotation → the role and its trust policy → the role's
//! permissions for what the workload does → the pods carrying the injected credentials → the EKS
//! add-on wiring. For EKS Pod Identity ([`pod_identity`]): the agent add-on and its DaemonSet →
//! the association → its role's trust for the request EKS makes (and a target role's trust) →
//! the permissions, capped by the association's session policy → the pods carrying the agent's
//! variables, not on Fargate → the add-on's version. Findings carry a stable rule id (see [`rules::RULES`]), the link they break, the
//! evidence (the annotation, the trust fragment, the provider URL…) and a fix: the exact command
//! and, where irsa can do it safely, the step `irsa doctor --fix` performs. [`diagnose`] orders
//! them by link, so the first finding is the root cause.

mod chain;
mod layers;
mod permissions;
mod pod_identity;
pub mod rules;
mod runtime;
#[cfg(test)]
mod tests;
mod trusting_roles;

use std::collections::BTreeMap;

use iam_policy::lint::Severity;
use serde::Serialize;

use crate::identity::{Kind, Mechanism};
use crate::presets::dependencies::Dependencies;
use crate::presets::requirements::AutoScalingGroup;
use crate::resource_layers::ResourceLayers;
use crate::snapshot::Snapshot;
use crate::steps::Step;

pub use layers::{InlinePolicies, layers_to_read};
pub use rules::{Link, RULES, Rule};
pub use trusting_roles::{needs_role_trusts, roles_trusting};

/// A service account to diagnose, with what is known about what it should be.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Subject {
    pub namespace: String,
    pub name: String,
    /// The preset of its workload (from the spec, or recognised by its well-known name).
    pub preset: Option<String>,
    /// The role the spec gives it, when a spec was given.
    pub expected_role_arn: Option<String>,
    /// The EKS add-on that runs as it and must carry its role as `serviceAccountRoleArn`.
    pub addon: Option<String>,
    /// The Deployment that must run as it (`namespace`, `name`), e.g. the EFS CSI controller.
    pub controller: Option<(String, String)>,
    /// The mechanism the spec gives it, when a spec was given (else [`mechanism_of`] reads it
    /// from what is live).
    pub mechanism: Option<Mechanism>,
    /// The KMS keys and buckets its workload depends on according to the spec's policies
    /// (doctor adds those its role's policies name).
    pub dependencies: Dependencies,
}

impl Subject {
    pub fn label(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// A workload whose pods run as a subject, with how many lack the current credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WorkloadFacts {
    pub kind: String,
    pub name: String,
    pub pods: usize,
    /// Pods lacking IRSA's injected variables for the current annotation.
    pub pods_without_credentials: usize,
    /// Pods lacking EKS Pod Identity's variables (`AWS_CONTAINER_CREDENTIALS_FULL_URI`), or
    /// carrying IRSA's, which the SDKs prefer.
    pub pods_without_pod_identity: usize,
    /// Pods running on Fargate.
    pub fargate_pods: usize,
}

/// A DaemonSet's rollout, as its status reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DaemonSetStatus {
    /// `desiredNumberScheduled`: the nodes it should run on.
    pub desired: u32,
    /// `numberReady`.
    pub ready: u32,
}

/// What EKS Pod Identity adds to the facts (read only when a subject uses it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodIdentityFacts {
    /// The agent's DaemonSet `kube-system/eks-pod-identity-agent`; `None` when it does not
    /// exist.
    pub agent_daemon_set: Option<DaemonSetStatus>,
    /// Add-on name → whether its installed version supports Pod Identity
    /// (DescribeAddonConfiguration's `podIdentityConfiguration` is not empty); absent when not
    /// read.
    pub addon_supports_pod_identity: BTreeMap<String, bool>,
}

/// What the issuer's TLS chain says about the provider's thumbprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Thumbprint {
    /// Not compared, and why (the issuer was not reachable, …).
    NotChecked(String),
    /// SHA-1 (lower-case hex) of the top certificate of the issuer's chain.
    Expected(String),
}

/// Everything doctor looks at.
#[derive(Debug, Clone)]
pub struct DoctorInput<'a> {
    /// Account, cluster, providers, the annotated roles, their attached policies' documents
    /// (customer and AWS managed), add-ons, the service accounts.
    pub snapshot: &'a Snapshot,
    pub cluster: &'a str,
    pub subjects: &'a [Subject],
    /// Role name → its inline policies (name, document).
    pub inline_policies: &'a BTreeMap<String, Vec<(String, serde_json::Value)>>,
    /// (namespace, service account) → the workloads running as it.
    pub workloads: &'a BTreeMap<(String, String), Vec<WorkloadFacts>>,
    /// The region's Auto Scaling groups, when observed.
    pub auto_scaling_groups: Option<&'a [AutoScalingGroup]>,
    /// (namespace, deployment) → its pod template's service account; absent when the
    /// deployment does not exist.
    pub controllers: &'a BTreeMap<(String, String), String>,
    pub thumbprint: &'a Thumbprint,
    /// The agent and add-on facts of EKS Pod Identity (associations are in the snapshot).
    pub pod_identity: &'a PodIdentityFacts,
    /// The key and bucket policies of the subjects' dependencies and the account's SCPs, as read.
    pub resource_layers: &'a ResourceLayers,
    /// Change roles irsa does not own (the user passed `--adopt`).
    pub adopt: bool,
}

/// What to do about a finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fix {
    /// One sentence.
    pub summary: String,
    /// The exact command a person would run, when there is one.
    pub command: Option<String>,
    /// What `irsa doctor --fix` does, when irsa can do it safely.
    pub action: Option<FixAction>,
}

/// A change `--fix` performs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum FixAction {
    /// One plan step (the same steps `irsa apply` executes).
    Step { step: Step },
    /// `kubectl rollout restart`.
    Restart {
        namespace: String,
        workload_kind: String,
        workload: String,
    },
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub name: &'static str,
    pub link: Link,
    pub severity: Severity,
    /// `namespace/name`, or `None` for the cluster-wide links.
    pub subject: Option<String>,
    pub message: String,
    pub evidence: Vec<String>,
    pub fix: Fix,
}

impl Finding {
    pub(crate) fn new(
        rule: &Rule,
        subject: Option<&Subject>,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            rule: rule.id,
            name: rule.name,
            link: rule.link,
            severity: rule.severity,
            subject: subject.map(Subject::label),
            message: message.into(),
            evidence: Vec::new(),
            fix: Fix {
                summary: String::new(),
                command: None,
                action: None,
            },
        }
    }

    pub(crate) fn evidence(mut self, line: impl Into<String>) -> Finding {
        self.evidence.push(line.into());
        self
    }

    pub(crate) fn fix(mut self, summary: impl Into<String>) -> Finding {
        self.fix.summary = summary.into();
        self
    }

    pub(crate) fn command(mut self, command: impl Into<String>) -> Finding {
        self.fix.command = Some(command.into());
        self
    }

    pub(crate) fn step(mut self, step: Step) -> Finding {
        self.fix.action = Some(FixAction::Step { step });
        self
    }

    pub(crate) fn severity(mut self, severity: Severity) -> Finding {
        self.severity = severity;
        self
    }

    /// Whether the finding makes the run unhealthy (exit 1): everything above low.
    pub fn is_failure(&self) -> bool {
        self.severity > Severity::Low
    }
}

/// Runs every check; findings ordered by link (root cause first), then subject, then rule.
pub fn diagnose(input: &DoctorInput<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let uses = |kind: Kind| {
        input
            .subjects
            .iter()
            .any(|s| mechanism_of(input.snapshot, s) == kind)
    };
    let cluster = if uses(Kind::Irsa) {
        chain::check_cluster(input, &mut findings)
    } else {
        None
    };
    if let Some(cluster) = &cluster {
        chain::check_provider(input, cluster, &mut findings);
    }
    if uses(Kind::PodIdentity) {
        pod_identity::check_agent(input, &mut findings);
    }
    layers::check_not_checked(input, &mut findings);
    for subject in input.subjects {
        match mechanism_of(input.snapshot, subject) {
            Kind::Irsa => check_irsa_subject(input, cluster.as_ref(), subject, &mut findings),
            Kind::PodIdentity => pod_identity::check_subject(input, subject, &mut findings),
        }
        pod_identity::check_both_mechanisms(input, subject, &mut findings);
    }
    trusting_roles::suggest(input, &mut findings);
    findings.sort_by(|a, b| (a.link, &a.subject, a.rule).cmp(&(b.link, &b.subject, b.rule)));
    findings.dedup();
    findings
}

/// The IRSA chain of one service account.
fn check_irsa_subject(
    input: &DoctorInput<'_>,
    cluster: Option<&ClusterFacts>,
    subject: &Subject,
    out: &mut Vec<Finding>,
) {
    let role = chain::check_service_account(input, subject, out);
    if let (Some(cluster), Some(role)) = (cluster, &role) {
        chain::check_trust(input, cluster, subject, role, out);
    }
    if let Some(role) = &role {
        permissions::check(input, subject, role, out);
    }
    runtime::check_pods(input, subject, out);
    runtime::check_addon(input, subject, role.as_ref(), out);
}

/// The mechanism a subject's chain is followed through: the spec's, else what is live. A
/// service account with an association and no role annotation uses EKS Pod Identity; with
/// both, a workload uses IRSA (the SDKs find web identity first) and an EKS add-on the
/// association (EKS ignores its serviceAccountRoleArn then).
pub fn mechanism_of(snapshot: &Snapshot, subject: &Subject) -> Kind {
    if let Some(mechanism) = &subject.mechanism {
        return mechanism.kind();
    }
    let associated = snapshot
        .association(&subject.namespace, &subject.name)
        .is_some();
    let annotated = snapshot
        .service_account(&subject.namespace, &subject.name)
        .is_some_and(|sa| crate::verify::annotated_role(sa).is_some());
    match (associated, annotated) {
        (true, false) => Kind::PodIdentity,
        (true, true) if subject.addon.is_some() => Kind::PodIdentity,
        _ => Kind::Irsa,
    }
}

/// The facts about the cluster that the later links need.
#[derive(Debug, Clone)]
pub(crate) struct ClusterFacts {
    pub issuer: String,
    /// `arn:<partition>:iam::<account>:oidc-provider/<issuer host and path>`.
    pub provider_arn: String,
    /// Whether the account has that provider.
    pub provider_exists: bool,
    pub client_ids: Vec<String>,
}

/// The role a subject uses, as far as the chain got.
#[derive(Debug, Clone)]
pub(crate) struct RoleFacts {
    pub arn: String,
    pub name: String,
    pub audience: String,
    /// The role as observed; `None` when it does not exist.
    pub role: Option<crate::snapshot::Role>,
    /// A session policy that caps the role's permissions (an EKS Pod Identity association's).
    pub session_policy: Option<String>,
}

/// Subjects for well-known service-account names when no spec says otherwise: the presets'
/// default service accounts, with the add-on or controller that runs as them.
pub fn subject_for(namespace: &str, name: &str) -> Subject {
    let preset = crate::presets::catalog()
        .iter()
        .find(|p| p.namespace == namespace && p.service_account == name);
    let mut subject = Subject {
        namespace: namespace.to_string(),
        name: name.to_string(),
        ..Subject::default()
    };
    if let Some(preset) = preset {
        subject.preset = Some(preset.name.to_string());
        if let crate::presets::Install::EksAddon { name: addon } = preset.install {
            subject.addon = Some(addon.to_string());
        }
        subject.controller = rules::controller_of(preset.name)
            .map(|deployment| (namespace.to_string(), deployment.to_string()));
    }
    subject
}
