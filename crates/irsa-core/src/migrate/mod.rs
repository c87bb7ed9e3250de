//! The migration of live service accounts between IRSA and EKS Pod Identity, as ordered phases
//! that never leave a workload without credentials.
//!
//! From a [`Snapshot`] (the annotated service accounts, the EKS add-ons with a
//! `serviceAccountRoleArn` or `podIdentityAssociations`, the roles with their trusts, the
//! associations, the agent add-on) and a direction, [`plan`] gives one [`Migration`] per service
//! account: its [`Phase`]s in the safe order, each a list of plan [`Step`]s or a marker
//! (a proof, the restart of workloads) that the binary carries out between them. To Pod Identity:
//! agent → trust gains the `pods.eks.amazonaws.com` statement → association (an add-on's
//! `podIdentityAssociations`) → proof → the annotation (the add-on's `serviceAccountRoleArn`)
//! removed → restart → proof of the pods → only when asked, the OIDC statement dropped. To IRSA,
//! the mirror: trust gains the web-identity statement → annotation → proof → restart → proof of
//! the pods → association removed last → only when asked, the Pod Identity statement dropped.
//! A phase already done in the snapshot yields nothing, so a rerun resumes where a killed run
//! stopped and a finished migration plans no step. Pods on Fargate refuse a move to Pod Identity
//! (EKS Pod Identity does not run there). `irsa migrate` plans every linked service account;
//! `irsa plan`/`apply` plan one binding at a time with [`Options::mechanism`] and
//! [`Options::association_tags`] from the spec, so that the end state is what the spec plans.

pub mod trust;

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use crate::desired::ownership_tags;
use crate::identity::irsa::{DEFAULT_AUDIENCE, ROLE_ARN_ANNOTATION};
use crate::identity::pod_identity::{self, AGENT_ADDON, Requester};
use crate::identity::{Kind, Mechanism, PodIdentity, TrustTarget};
use crate::snapshot::{Addon, Role, Snapshot, Tags};
use crate::steps::{AddonAssociation, AddonIdentity, Step};

/// What to migrate, and which way.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The mechanism to move to.
    pub to: Option<Kind>,
    /// Drop the OIDC statement from the roles' trusts once the pods are proven on Pod Identity.
    pub remove_irsa_trust: bool,
    /// Drop the `pods.eks.amazonaws.com` statement from the roles' trusts once the pods are
    /// proven on IRSA and the association is removed.
    pub remove_pod_identity_trust: bool,
    /// Only this `(namespace, name)`; `None`: every linked service account.
    pub only: Option<(String, String)>,
    /// Service accounts whose live pods do not use the target mechanism yet (they need a
    /// restart): a fact about pods, which the snapshot does not hold.
    pub stale_pods: BTreeSet<(String, String)>,
    /// Service accounts with pods on Fargate, where EKS Pod Identity does not work: a fact
    /// about pods too. A move to Pod Identity refuses them (they stay on IRSA).
    pub fargate: BTreeSet<(String, String)>,
    /// The target mechanism with a spec's options (audience, target role, session tags);
    /// `None`: the defaults of `to`.
    pub mechanism: Option<Mechanism>,
    /// The tags of an association the migration creates; `None`: irsa's ownership tags.
    pub association_tags: Option<Tags>,
}

impl Options {
    /// The target mechanism: the spec's, else the defaults of `to`.
    fn target_mechanism(&self, to: Kind) -> Mechanism {
        match &self.mechanism {
            Some(m) if m.kind() == to => m.clone(),
            _ => match to {
                Kind::Irsa => Mechanism::default(),
                Kind::PodIdentity => Mechanism::PodIdentity(PodIdentity::default()),
            },
        }
    }
}

/// The phases of the safe order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PhaseName {
    /// The EKS Pod Identity Agent add-on, installed and ACTIVE.
    Agent,
    /// The role's trust gains the target mechanism's statement.
    Trust,
    /// The target link: association (add-on `podIdentityAssociations`) or annotation.
    Link,
    /// Proof: credentials through the target mechanism (a token exchanged live).
    Proof,
    /// The old link removed: annotation (add-on `serviceAccountRoleArn`) or association.
    Unlink,
    /// Rollout-restart of the workloads whose pods still carry the old mechanism.
    Restart,
    /// Proof: the running pods carry the target mechanism's environment only.
    PodsProof,
    /// `--remove-irsa-trust`: the OIDC statement dropped from the trust.
    RemoveIrsaTrust,
    /// `--remove-pod-identity-trust`: the `pods.eks.amazonaws.com` statement dropped.
    RemovePodIdentityTrust,
}

impl PhaseName {
    /// The name in output and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            PhaseName::Agent => "agent",
            PhaseName::Trust => "trust",
            PhaseName::Link => "link",
            PhaseName::Proof => "proof",
            PhaseName::Unlink => "unlink",
            PhaseName::Restart => "restart",
            PhaseName::PodsProof => "pods-proof",
            PhaseName::RemoveIrsaTrust => "remove-irsa-trust",
            PhaseName::RemovePodIdentityTrust => "remove-pod-identity-trust",
        }
    }

    /// Whether the phase is carried out by the binary itself (no plan steps).
    pub fn is_marker(self) -> bool {
        matches!(
            self,
            PhaseName::Proof | PhaseName::Restart | PhaseName::PodsProof
        )
    }
}

/// One phase: its steps (none for a marker).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Phase {
    pub name: PhaseName,
    pub steps: Vec<Step>,
}

/// The migration of one service account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Migration {
    pub namespace: String,
    pub name: String,
    pub role_arn: String,
    /// The EKS add-on that links the service account, when one does.
    pub addon: Option<String>,
    pub from: Kind,
    pub to: Kind,
    /// What is left, in order; empty when done.
    pub phases: Vec<Phase>,
    /// Why this service account cannot be migrated (nothing is planned for it then).
    pub refusal: Option<String>,
}

impl Migration {
    /// Whether nothing is left to do.
    pub fn is_done(&self) -> bool {
        self.phases.is_empty() && self.refusal.is_none()
    }

    /// Every step, in order.
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.phases.iter().flat_map(|p| p.steps.iter())
    }
}

/// Every migration, with the cluster-wide agent phase first.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MigrationPlan {
    /// The agent add-on's steps (to Pod Identity only), before any service account.
    pub agent: Vec<Step>,
    /// Why the agent cannot be used (nothing to Pod Identity can go on then).
    pub agent_refusal: Option<String>,
    pub migrations: Vec<Migration>,
}

impl MigrationPlan {
    /// Whether running it would change something.
    pub fn has_changes(&self) -> bool {
        !self.agent.is_empty()
            || self
                .migrations
                .iter()
                .any(|m| m.refusal.is_none() && !m.phases.is_empty())
    }
}

/// Why no migration could be planned at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MigrateError {
    #[error("the EKS cluster was not found in this account and region")]
    ClusterNotFound,
    #[error(
        "{0} has neither an `eks.amazonaws.com/role-arn` annotation nor an EKS Pod Identity association: nothing to migrate; see `irsa list`"
    )]
    NotLinked(String),
    #[error("say which mechanism to migrate to: `irsa` or `pod-identity`")]
    NoDirection,
}

/// The migrations `options` asks for, from what `snapshot` shows.
pub fn plan(snapshot: &Snapshot, options: &Options) -> Result<MigrationPlan, MigrateError> {
    let to = options.to.ok_or(MigrateError::NoDirection)?;
    let cluster = snapshot
        .cluster
        .as_ref()
        .ok_or(MigrateError::ClusterNotFound)?;
    let subjects = subjects(snapshot, options)?;
    let ctx = Ctx {
        snapshot,
        options,
        cluster: &cluster.name,
        target: TrustTarget {
            partition: &snapshot.partition,
            account: &snapshot.account,
            region: &snapshot.region,
            cluster_name: &cluster.name,
            issuer_url: cluster.issuer_url.as_deref(),
        },
    };
    let (agent, agent_refusal) = match to {
        Kind::PodIdentity => ctx.agent(),
        Kind::Irsa => (Vec::new(), None),
    };
    let migrations = subjects.into_iter().map(|s| ctx.migration(s, to)).collect();
    Ok(MigrationPlan {
        agent,
        agent_refusal,
        migrations,
    })
}

/// A service account to migrate, as the live objects link it.
struct Subject<'a> {
    namespace: String,
    name: String,
    role_arn: String,
    addon: Option<&'a Addon>,
}

/// Every linked service account (annotated or associated), once, sorted; only `options.only`
/// when given.
fn subjects<'a>(
    snapshot: &'a Snapshot,
    options: &Options,
) -> Result<Vec<Subject<'a>>, MigrateError> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let annotated = snapshot.service_accounts.iter().filter_map(|sa| {
        let role = sa.annotations.get(ROLE_ARN_ANNOTATION)?;
        Some((sa.namespace.clone(), sa.name.clone(), role.clone()))
    });
    let associated = snapshot.pod_identity_associations.iter().map(|a| {
        (
            a.namespace.clone(),
            a.service_account.clone(),
            a.role_arn.clone(),
        )
    });
    for (namespace, name, role_arn) in annotated.chain(associated).chain(addon_linked(snapshot)) {
        if role_arn.is_empty() || !seen.insert((namespace.clone(), name.clone())) {
            continue;
        }
        if options
            .only
            .as_ref()
            .is_some_and(|(ns, n)| *ns != namespace || *n != name)
        {
            continue;
        }
        let addon = addon_of(snapshot, &namespace, &name, &role_arn);
        out.push(Subject {
            namespace,
            name,
            role_arn,
            addon,
        });
    }
    if let (Some((ns, name)), true) = (&options.only, out.is_empty()) {
        return Err(MigrateError::NotLinked(format!("{ns}/{name}")));
    }
    out.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    Ok(out)
}

/// The service accounts of preset add-ons with a `serviceAccountRoleArn` (EKS annotates them,
/// but a plan's observation reads only the service accounts irsa creates).
fn addon_linked(snapshot: &Snapshot) -> impl Iterator<Item = (String, String, String)> + '_ {
    crate::presets::catalog().iter().filter_map(|p| {
        let crate::presets::Install::EksAddon { name } = p.install else {
            return None;
        };
        let role = snapshot.addon(name)?.service_account_role_arn.clone()?;
        Some((p.namespace.to_string(), p.service_account.to_string(), role))
    })
}

/// The EKS add-on that links `namespace/name`: the owner of its association, else the add-on
/// whose preset names this service account, else (IRSA) the add-on in `kube-system` whose
/// `serviceAccountRoleArn` is the annotated role.
fn addon_of<'a>(
    snapshot: &'a Snapshot,
    namespace: &str,
    name: &str,
    role_arn: &str,
) -> Option<&'a Addon> {
    let owner = snapshot
        .association(namespace, name)
        .and_then(|a| a.owner_arn.as_deref());
    if let Some(owner) = owner {
        return snapshot.addons.iter().find(|a| a.arn == owner);
    }
    let by_preset = crate::presets::catalog()
        .iter()
        .filter(|p| p.namespace == namespace && p.service_account == name)
        .find_map(|p| match p.install {
            crate::presets::Install::EksAddon { name } => snapshot.addon(name),
            _ => None,
        });
    by_preset.or_else(|| {
        (namespace == "kube-system")
            .then(|| {
                snapshot
                    .addons
                    .iter()
                    .find(|a| a.service_account_role_arn.as_deref() == Some(role_arn))
            })
            .flatten()
    })
}

/// The EKS add-ons a migration may move (every preset installed as one), for the observer.
pub fn addon_names() -> Vec<&'static str> {
    crate::presets::catalog()
        .iter()
        .filter_map(|p| match p.install {
            crate::presets::Install::EksAddon { name } => Some(name),
            _ => None,
        })
        .chain([AGENT_ADDON])
        .collect()
}

/// What every decision reads.
struct Ctx<'a> {
    snapshot: &'a Snapshot,
    options: &'a Options,
    cluster: &'a str,
    target: TrustTarget<'a>,
}

impl Ctx<'_> {
    /// The agent add-on: created when missing, waited for while it starts.
    fn agent(&self) -> (Vec<Step>, Option<String>) {
        let cluster = self.cluster.to_string();
        let name = AGENT_ADDON.to_string();
        match self.snapshot.addon(AGENT_ADDON).map(|a| a.status.as_str()) {
            None => (
                vec![Step::CreateAddon {
                    settings: Default::default(),
                    cluster,
                    name,
                    identity: AddonIdentity::None,
                    tags: ownership_tags(self.cluster),
                }],
                None,
            ),
            Some("ACTIVE") => (Vec::new(), None),
            Some("CREATING" | "UPDATING") => (vec![Step::WaitForAddon { cluster, name }], None),
            Some(status) => (
                Vec::new(),
                Some(format!(
                    "the {AGENT_ADDON} add-on is {status}, so no association would work; see `irsa doctor` and `aws eks describe-addon --cluster-name {cluster} --addon-name {AGENT_ADDON}`"
                )),
            ),
        }
    }

    fn migration(&self, s: Subject<'_>, to: Kind) -> Migration {
        let from = match to {
            Kind::PodIdentity => Kind::Irsa,
            Kind::Irsa => Kind::PodIdentity,
        };
        let result = match to {
            Kind::PodIdentity => self.to_pod_identity(&s),
            Kind::Irsa => self.to_irsa(&s),
        };
        let (phases, refusal) = match result {
            Ok(phases) => (keep_markers_if_needed(phases), None),
            Err(why) => (Vec::new(), Some(why)),
        };
        Migration {
            namespace: s.namespace,
            name: s.name,
            role_arn: s.role_arn,
            addon: s.addon.map(|a| a.name.clone()),
            from,
            to,
            phases,
            refusal,
        }
    }

    /// The role the service account's link names.
    fn role(&self, role_arn: &str) -> Result<&Role, String> {
        self.snapshot
            .roles
            .iter()
            .find(|r| r.arn == role_arn)
            .ok_or_else(|| {
                format!("the role {role_arn} was not found; fix the link first (see `irsa doctor`)")
            })
    }

    fn to_pod_identity(&self, s: &Subject<'_>) -> Result<Vec<Phase>, String> {
        self.refuse_fargate(s)?;
        let role = self.role(&s.role_arn)?;
        let (trust_step, trust) = self.gain_pod_identity_trust(s, role)?;
        let mut phases = vec![
            phase(PhaseName::Trust, trust_step),
            phase(PhaseName::Link, self.associate(s)?),
            phase(PhaseName::Proof, Vec::new()),
        ];
        let unlink = self.remove_annotation(s);
        let restart = !unlink.is_empty() || self.is_stale(s);
        phases.push(phase(PhaseName::Unlink, unlink));
        if restart {
            phases.push(phase(PhaseName::Restart, Vec::new()));
        }
        phases.push(phase(PhaseName::PodsProof, Vec::new()));
        if self.options.remove_irsa_trust {
            phases.push(phase(
                PhaseName::RemoveIrsaTrust,
                self.drop_irsa_trust(s, role, &trust),
            ));
        }
        Ok(phases)
    }

    fn to_irsa(&self, s: &Subject<'_>) -> Result<Vec<Phase>, String> {
        let role = self.role(&s.role_arn)?;
        let link = self.annotate(s)?;
        let restart = !link.is_empty() || self.is_stale(s);
        let (trust_step, trust) = self.gain_irsa_trust(s, role)?;
        let mut phases = vec![
            phase(PhaseName::Trust, trust_step),
            phase(PhaseName::Link, link),
            phase(PhaseName::Proof, Vec::new()),
        ];
        if restart {
            phases.push(phase(PhaseName::Restart, Vec::new()));
        }
        phases.push(phase(PhaseName::PodsProof, Vec::new()));
        phases.push(phase(PhaseName::Unlink, self.remove_association(s)));
        if self.options.remove_pod_identity_trust {
            phases.push(phase(
                PhaseName::RemovePodIdentityTrust,
                self.drop_pod_identity_trust(s, role, &trust),
            ));
        }
        Ok(phases)
    }

    /// EKS Pod Identity does not work on Fargate: a service account whose pods run there stays
    /// on IRSA (EKS user guide, "Learn how EKS Pod Identity grants pods access to AWS
    /// services", EKS Pod Identity restrictions: Linux Amazon EC2 instances only).
    fn refuse_fargate(&self, s: &Subject<'_>) -> Result<(), String> {
        if !self
            .options
            .fargate
            .contains(&(s.namespace.clone(), s.name.clone()))
        {
            return Ok(());
        }
        Err(format!(
            "pods of {}/{} run on Fargate, where EKS Pod Identity is not supported (no agent runs there): it stays on IRSA; run those pods on EC2 nodes (change the Fargate profile's selectors) or keep `identity: irsa` for it",
            s.namespace, s.name
        ))
    }

    fn is_stale(&self, s: &Subject<'_>) -> bool {
        self.options
            .stale_pods
            .contains(&(s.namespace.clone(), s.name.clone()))
    }

    /// The Pod Identity statement added to the trust unless it already admits the service
    /// account; returns the step and the trust as it will be.
    fn gain_pod_identity_trust(
        &self,
        s: &Subject<'_>,
        role: &Role,
    ) -> Result<(Vec<Step>, Value), String> {
        let cluster_arn = self.target.cluster_arn();
        let requester = Requester {
            cluster_arn: &cluster_arn,
            cluster_name: self.cluster,
            namespace: &s.namespace,
            service_account: &s.name,
        };
        let mechanism = self.options.target_mechanism(Kind::PodIdentity);
        let options = mechanism.as_pod_identity().cloned().unwrap_or_default();
        if pod_identity::trust_check(&role.trust_policy, &options, &requester).allowed {
            return Ok((Vec::new(), role.trust_policy.clone()));
        }
        let exact = mechanism
            .trust_policy(&self.target, &s.namespace, &s.name)
            .map_err(|e| e.to_string())?;
        self.trust_update(role, &exact["Statement"][0])
    }

    /// The web-identity statement added to the trust unless it already admits the service
    /// account's token; returns the step and the trust as it will be.
    fn gain_irsa_trust(&self, s: &Subject<'_>, role: &Role) -> Result<(Vec<Step>, Value), String> {
        let provider = self.provider_arn()?;
        let mechanism = self.options.target_mechanism(Kind::Irsa);
        let audience = mechanism
            .as_irsa()
            .map_or(DEFAULT_AUDIENCE, |i| i.audience.as_str());
        let claims =
            iam_policy::trust::TokenClaims::for_service_account(&s.namespace, &s.name, audience);
        let admits = iam_policy::document::PolicyDocument::from_value(&role.trust_policy)
            .ok()
            .and_then(|doc| iam_policy::trust::check_web_identity(&doc, &provider, &claims).ok())
            .is_some_and(|check| check.allowed);
        if admits {
            return Ok((Vec::new(), role.trust_policy.clone()));
        }
        let exact = mechanism
            .trust_policy(&self.target, &s.namespace, &s.name)
            .map_err(|e| e.to_string())?;
        self.trust_update(role, &exact["Statement"][0])
    }

    /// The trust update that appends `statement`, refused when it would exceed the quota; none
    /// when the trust holds that very statement already (something else denies: the proof says
    /// what, and a rerun does not add it again).
    fn trust_update(&self, role: &Role, statement: &Value) -> Result<(Vec<Step>, Value), String> {
        if trust::has_statement(&role.trust_policy, statement) {
            return Ok((Vec::new(), role.trust_policy.clone()));
        }
        let trust = trust::with_statement(&role.trust_policy, statement.clone());
        if let Some(why) = trust::size_refusal(&role.name, &trust) {
            return Err(why);
        }
        let step = Step::UpdateTrustPolicy {
            role_name: role.name.clone(),
            trust_policy: trust.clone(),
        };
        Ok((vec![step], trust))
    }

    /// The ARN of the IAM OIDC provider for the cluster's issuer.
    fn provider_arn(&self) -> Result<String, String> {
        let issuer = self.target.issuer_url.ok_or_else(|| {
            format!(
                "the cluster has no OIDC issuer, which IRSA needs; check `aws eks describe-cluster --name {} --query cluster.identity`",
                self.cluster
            )
        })?;
        self.snapshot
            .provider_for_issuer(issuer)
            .map(|p| p.arn.clone())
            .ok_or_else(|| {
                format!(
                    "the cluster's issuer {issuer} has no IAM OIDC provider, which IRSA needs; create it (`irsa apply` with any IRSA binding, or `eksctl utils associate-iam-oidc-provider --cluster {} --approve`), then run migrate again",
                    self.cluster
                )
            })
    }

    /// The association (or the add-on's `podIdentityAssociations` entry) for the role.
    fn associate(&self, s: &Subject<'_>) -> Result<Vec<Step>, String> {
        let existing = self.snapshot.association(&s.namespace, &s.name);
        if let Some(existing) = existing {
            if existing.role_arn == s.role_arn {
                return Ok(Vec::new());
            }
            return Err(format!(
                "{}/{} is already associated with another role, {} ({}); delete that association or migrate to the same role",
                s.namespace, s.name, existing.role_arn, existing.association_id
            ));
        }
        if let Some(addon) = s.addon {
            let mut associations = self.addon_entries(addon, None);
            associations.push(AddonAssociation {
                service_account: s.name.clone(),
                role_arn: s.role_arn.clone(),
            });
            return Ok(vec![
                self.update_addon(addon, AddonIdentity::PodIdentity { associations }),
            ]);
        }
        let mechanism = self.options.target_mechanism(Kind::PodIdentity);
        let options = mechanism.as_pod_identity().cloned().unwrap_or_default();
        Ok(vec![Step::CreatePodIdentityAssociation {
            cluster: self.cluster.to_string(),
            namespace: s.namespace.clone(),
            service_account: s.name.clone(),
            role_arn: s.role_arn.clone(),
            target_role_arn: options.target_role_arn,
            disable_session_tags: options.disable_session_tags,
            policy: options.session_policy,
            tags: self
                .options
                .association_tags
                .clone()
                .unwrap_or_else(|| ownership_tags(self.cluster)),
        }])
    }

    /// The add-on's own `podIdentityAssociations`, without the one of `except`.
    fn addon_entries(&self, addon: &Addon, except: Option<&str>) -> Vec<AddonAssociation> {
        self.snapshot
            .addon_associations(addon)
            .into_iter()
            .filter(|a| Some(a.service_account.as_str()) != except)
            .map(|a| AddonAssociation {
                service_account: a.service_account.clone(),
                role_arn: a.role_arn.clone(),
            })
            .collect()
    }

    fn update_addon(&self, addon: &Addon, identity: AddonIdentity) -> Step {
        Step::UpdateAddon {
            settings: Default::default(),
            cluster: self.cluster.to_string(),
            name: addon.name.clone(),
            identity,
        }
    }

    /// Only the role-arn annotation removed (other annotations and labels stay); for an
    /// add-on, its `serviceAccountRoleArn` (EKS then removes the annotation itself).
    fn remove_annotation(&self, s: &Subject<'_>) -> Vec<Step> {
        if let Some(addon) = s.addon {
            let has_role = addon
                .service_account_role_arn
                .as_deref()
                .is_some_and(|r| !r.is_empty());
            return if has_role {
                vec![self.update_addon(
                    addon,
                    AddonIdentity::ServiceAccountRole {
                        role_arn: String::new(),
                    },
                )]
            } else {
                Vec::new()
            };
        }
        let annotated = self
            .snapshot
            .service_account(&s.namespace, &s.name)
            .is_some_and(|sa| sa.annotations.contains_key(ROLE_ARN_ANNOTATION));
        if !annotated {
            return Vec::new();
        }
        vec![Step::ApplyServiceAccount {
            namespace: s.namespace.clone(),
            name: s.name.clone(),
            create: false,
            labels: Vec::new(),
            annotations: vec![(ROLE_ARN_ANNOTATION.to_string(), None)],
        }]
    }

    /// The annotation (an add-on's `serviceAccountRoleArn`) for the role.
    fn annotate(&self, s: &Subject<'_>) -> Result<Vec<Step>, String> {
        if let Some(addon) = s.addon {
            if addon.service_account_role_arn.as_deref() == Some(&s.role_arn) {
                return Ok(Vec::new());
            }
            return Ok(vec![self.update_addon(
                addon,
                AddonIdentity::ServiceAccountRole {
                    role_arn: s.role_arn.clone(),
                },
            )]);
        }
        let Some(sa) = self.snapshot.service_account(&s.namespace, &s.name) else {
            return Err(format!(
                "{}/{} does not exist in the cluster; create it, or delete its association",
                s.namespace, s.name
            ));
        };
        match sa.annotations.get(ROLE_ARN_ANNOTATION) {
            Some(role) if *role == s.role_arn => Ok(Vec::new()),
            Some(role) => Err(format!(
                "{}/{} is annotated with another role, {role}; make the annotation and the association name one role first",
                s.namespace, s.name
            )),
            None => Ok(vec![Step::ApplyServiceAccount {
                namespace: s.namespace.clone(),
                name: s.name.clone(),
                create: false,
                labels: Vec::new(),
                annotations: vec![(ROLE_ARN_ANNOTATION.to_string(), Some(s.role_arn.clone()))],
            }]),
        }
    }

    /// The association removed last (an add-on's entry, the others kept).
    fn remove_association(&self, s: &Subject<'_>) -> Vec<Step> {
        let Some(existing) = self.snapshot.association(&s.namespace, &s.name) else {
            return Vec::new();
        };
        if let Some(addon) = s.addon.filter(|_| existing.owner_arn.is_some()) {
            let associations = self.addon_entries(addon, Some(&s.name));
            return vec![self.update_addon(addon, AddonIdentity::PodIdentity { associations })];
        }
        vec![Step::DeletePodIdentityAssociation {
            cluster: self.cluster.to_string(),
            association_id: existing.association_id.clone(),
        }]
    }

    /// `--remove-irsa-trust`: the statements trusting this cluster's OIDC provider dropped from
    /// `trust` (the trust as the earlier phases leave it), unless another service account is
    /// still annotated with the role (it needs them). The provider itself stays.
    fn drop_irsa_trust(&self, s: &Subject<'_>, role: &Role, trust: &Value) -> Vec<Step> {
        let Ok(provider) = self.provider_arn() else {
            return Vec::new();
        };
        let shared = self.snapshot.service_accounts.iter().any(|sa| {
            (sa.namespace != s.namespace || sa.name != s.name)
                && sa.annotations.get(ROLE_ARN_ANNOTATION) == Some(&role.arn)
        });
        match trust::without_provider(trust, &provider) {
            Some(rest) if !shared => vec![Step::UpdateTrustPolicy {
                role_name: role.name.clone(),
                trust_policy: rest,
            }],
            _ => Vec::new(),
        }
    }

    /// `--remove-pod-identity-trust`: the `pods.eks.amazonaws.com` statements dropped from
    /// `trust` (the trust as the earlier phases leave it), unless another service account is
    /// still associated with the role (it needs them).
    fn drop_pod_identity_trust(&self, s: &Subject<'_>, role: &Role, trust: &Value) -> Vec<Step> {
        let shared = self.snapshot.pod_identity_associations.iter().any(|a| {
            (a.namespace != s.namespace || a.service_account != s.name) && a.role_arn == role.arn
        });
        match trust::without_service(trust, pod_identity::SERVICE_PRINCIPAL) {
            Some(rest) if !shared => vec![Step::UpdateTrustPolicy {
                role_name: role.name.clone(),
                trust_policy: rest,
            }],
            _ => Vec::new(),
        }
    }
}

fn phase(name: PhaseName, steps: Vec<Step>) -> Phase {
    Phase { name, steps }
}

/// Phases with steps, and the markers between them only while something is left to change;
/// a done migration has no phase at all.
fn keep_markers_if_needed(phases: Vec<Phase>) -> Vec<Phase> {
    let changes = phases
        .iter()
        .any(|p| !p.steps.is_empty() || p.name == PhaseName::Restart);
    if !changes {
        return Vec::new();
    }
    phases
        .into_iter()
        .filter(|p| p.name.is_marker() || !p.steps.is_empty())
        .collect()
}

#[cfg(test)]
pub(crate) mod tests;
