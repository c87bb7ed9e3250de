//! The plan: a pure function from the desired state and a snapshot of what exists to the ordered
//! steps that make the account and the cluster match, with a `terraform plan`-like list of items
//! for people (`+` create, `~` update, `-` delete, `=` unchanged, `!` conflict).
//!
//! Ownership decides what irsa may touch: IAM roles, policies, OIDC providers and EKS add-ons
//! carry the `irsa.dev/managed-by=irsa` tag, service accounts the `app.kubernetes.io/managed-by=irsa`
//! label. Anything of the same name without that mark is a conflict, changed only with `adopt`.
//! Steps name their dependencies, so an executor can run independent bindings concurrently and
//! only wait where a step needs what another creates (a role before its attachments, its
//! service account and its add-on). [`destroy`] plans the removal of what irsa created for the
//! cluster.

mod adopt;
mod destroy;
mod diff;
mod existing_role;
mod items;
mod migration;
mod pod_identity;

pub use adopt::describe_statement;
pub use destroy::destroy;
pub use diff::line_diff;
pub use items::{Item, Mark};

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::desired::{self, Binding, DesiredState, Install};
use crate::identity::{Kind, Mechanism, TrustError, TrustTarget};
use crate::render::{self, MANAGED_BY_LABEL, MANAGED_BY_VALUE};
use crate::snapshot::{Snapshot, Tags};
use crate::steps::{AddonAssociation, AddonIdentity, AddonSettings, Step};

/// IAM keeps at most five versions of a managed policy.
pub const MAX_POLICY_VERSIONS: usize = 5;

/// Inputs besides the desired state and the snapshot.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Take over roles, policies, service accounts and add-ons irsa did not create.
    pub adopt: bool,
    /// SHA-1 thumbprints of the issuer's certificate chain, when they could be fetched.
    pub thumbprints: Vec<String>,
    /// Directory for Helm values files (`None`: do not write them).
    pub values_dir: Option<String>,
    /// Service accounts moving between mechanisms whose live pods are not on the spec's one yet
    /// (facts about pods, for the migrations; see [`crate::migrate::Options::stale_pods`]).
    pub stale_pods: BTreeSet<(String, String)>,
    /// Service accounts with pods on Fargate (a move to Pod Identity refuses them).
    pub fargate: BTreeSet<(String, String)>,
}

/// A step with its position and the steps it waits for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedStep {
    pub id: usize,
    #[serde(flatten)]
    pub step: Step,
    pub after: Vec<usize>,
}

/// What apply would do.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    pub items: Vec<Item>,
    pub steps: Vec<PlannedStep>,
    /// Bindings moving between mechanisms: run after the steps, phase by phase with proofs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub migrations: Vec<crate::migrate::Migration>,
}

impl Plan {
    pub fn has_conflicts(&self) -> bool {
        self.items.iter().any(|i| i.mark == Mark::Conflict)
    }

    pub fn has_changes(&self) -> bool {
        !self.steps.is_empty()
            || self
                .migrations
                .iter()
                .any(|m| m.refusal.is_none() && !m.phases.is_empty())
    }

    /// The longest chain of dependent API calls (each step weighted by its calls).
    pub fn critical_path(&self) -> usize {
        let mut depth: BTreeMap<usize, usize> = BTreeMap::new();
        for s in &self.steps {
            let before = s
                .after
                .iter()
                .filter_map(|d| depth.get(d))
                .max()
                .copied()
                .unwrap_or(0);
            depth.insert(s.id, before + s.step.api_calls());
        }
        depth.values().max().copied().unwrap_or(0)
    }

    fn push(&mut self, step: Step, after: Vec<usize>) -> usize {
        let id = self.steps.len();
        self.steps.push(PlannedStep { id, step, after });
        id
    }
}

/// Why no plan could be made at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("EKS cluster `{0}` was not found in this account and region")]
    ClusterNotFound(String),
    #[error(
        "EKS cluster `{0}` has no OIDC issuer; IRSA needs one (every EKS cluster since 1.13 has it): check `aws eks describe-cluster --name {0} --query cluster.identity`, or use `identity: pod-identity`"
    )]
    NoIssuer(String),
    #[error("the spec is for account {spec}, but the credentials are for account {actual}")]
    AccountMismatch { spec: String, actual: String },
    #[error(transparent)]
    Issuer(#[from] desired::IssuerError),
}

impl From<TrustError> for PlanError {
    fn from(e: TrustError) -> Self {
        match e {
            TrustError::Issuer(e) => PlanError::Issuer(e),
            TrustError::NoIssuer(cluster) => PlanError::NoIssuer(cluster),
        }
    }
}

fn owned(tags: &Tags) -> bool {
    desired::is_owned(tags)
}

/// Tags in `wanted` that `actual` lacks or holds with another value.
fn missing_tags(wanted: &BTreeMap<String, String>, actual: &Tags) -> Tags {
    wanted
        .iter()
        .filter(|(k, v)| actual.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// Plans `apply` for `state` against `snapshot`.
pub fn plan(
    state: &DesiredState,
    snapshot: &Snapshot,
    options: &PlanOptions,
) -> Result<Plan, PlanError> {
    let cluster = snapshot
        .cluster
        .as_ref()
        .ok_or_else(|| PlanError::ClusterNotFound(state.cluster.name.clone()))?;
    let uses = |kind: Kind| {
        state.bindings.iter().any(|b| b.mechanism.kind() == kind)
            || (kind == Kind::Irsa && state.with_oidc)
    };
    if uses(Kind::Irsa) && cluster.issuer_url.is_none() {
        return Err(PlanError::NoIssuer(cluster.name.clone()));
    }
    if let Some(spec_account) = &state.cluster.account
        && *spec_account != snapshot.account
    {
        return Err(PlanError::AccountMismatch {
            spec: spec_account.clone(),
            actual: snapshot.account.clone(),
        });
    }
    let ctx = Ctx {
        state,
        snapshot,
        options,
        partition: &snapshot.partition,
        account: &snapshot.account,
        issuer_url: cluster.issuer_url.as_deref(),
    };
    let mut plan = Plan::default();
    let prerequisites = Prerequisites {
        provider: match uses(Kind::Irsa) {
            true => ctx.plan_provider(&mut plan)?,
            false => None,
        },
        agent: match uses(Kind::PodIdentity) {
            true => ctx.plan_agent(&mut plan),
            false => None,
        },
    };
    for binding in &state.bindings {
        ctx.plan_binding(&mut plan, binding, &prerequisites)?;
    }
    Ok(plan)
}

/// The steps that set up a mechanism for the whole cluster, which a binding's steps wait for:
/// the IAM OIDC provider (IRSA) and the Pod Identity agent add-on.
struct Prerequisites {
    provider: Option<usize>,
    agent: Option<usize>,
}

impl Prerequisites {
    /// What the role of a binding must wait for (IAM refuses a trust naming a missing provider).
    fn before_role(&self, mechanism: &Mechanism) -> Vec<usize> {
        match mechanism.kind() {
            Kind::Irsa => self.provider.into_iter().collect(),
            Kind::PodIdentity => Vec::new(),
        }
    }

    /// What the binding's link (association, add-on identity) must wait for besides its role.
    fn before_link(&self, mechanism: &Mechanism) -> Vec<usize> {
        match mechanism.kind() {
            Kind::Irsa => Vec::new(),
            Kind::PodIdentity => self.agent.into_iter().collect(),
        }
    }
}

struct Ctx<'a> {
    state: &'a DesiredState,
    snapshot: &'a Snapshot,
    options: &'a PlanOptions,
    partition: &'a str,
    account: &'a str,
    issuer_url: Option<&'a str>,
}

impl Ctx<'_> {
    fn ownership_tags(&self) -> Tags {
        desired::ownership_tags(&self.state.cluster.name)
    }

    fn trust_target(&self) -> TrustTarget<'_> {
        TrustTarget {
            partition: self.partition,
            account: self.account,
            region: &self.state.cluster.region,
            cluster_name: &self.state.cluster.name,
            issuer_url: self.issuer_url,
        }
    }

    /// The OIDC provider with every audience the bindings use; returns the step that creates or
    /// changes it, for the roles to wait on.
    fn plan_provider(&self, plan: &mut Plan) -> Result<Option<usize>, PlanError> {
        let issuer_url = self
            .issuer_url
            .ok_or_else(|| PlanError::NoIssuer(self.state.cluster.name.clone()))?;
        let arn = desired::oidc_provider_arn(self.partition, self.account, issuer_url)?;
        let mut audiences: Vec<String> = self
            .state
            .bindings
            .iter()
            .filter_map(|b| b.mechanism.as_irsa())
            .map(|irsa| irsa.audience.clone())
            .collect();
        audiences.sort();
        audiences.dedup();
        if audiences.is_empty() {
            audiences.push(desired::DEFAULT_AUDIENCE.to_string());
        }
        match self.snapshot.provider_for_issuer(issuer_url) {
            None => {
                let id = plan.push(
                    Step::CreateOidcProvider {
                        url: issuer_url.to_string(),
                        client_ids: audiences.clone(),
                        thumbprints: self.options.thumbprints.clone(),
                        tags: self.ownership_tags(),
                    },
                    vec![],
                );
                plan.items.push(
                    Item::new(Mark::Create, "oidc-provider", &arn)
                        .detail(format!("client ids: {}", audiences.join(", "))),
                );
                Ok(Some(id))
            }
            Some(existing) => {
                let missing: Vec<&String> = audiences
                    .iter()
                    .filter(|a| !existing.client_ids.contains(a))
                    .collect();
                if missing.is_empty() {
                    plan.items
                        .push(Item::new(Mark::Unchanged, "oidc-provider", &existing.arn));
                    return Ok(None);
                }
                let mut last = None;
                let mut item = Item::new(Mark::Update, "oidc-provider", &existing.arn);
                for client_id in missing {
                    item = item.detail(format!("+ client id {client_id}"));
                    last = Some(plan.push(
                        Step::AddOidcClientId {
                            provider_arn: existing.arn.clone(),
                            client_id: client_id.clone(),
                        },
                        vec![],
                    ));
                }
                plan.items.push(item);
                Ok(last)
            }
        }
    }

    fn plan_binding(
        &self,
        plan: &mut Plan,
        b: &Binding,
        prerequisites: &Prerequisites,
    ) -> Result<(), PlanError> {
        let role_arn = b.role_arn(self.partition, self.account);
        let mut trust = b.trust_policy(&self.trust_target())?;
        // Switching a live binding's mechanism is a migration, not an in-place update: its
        // trust and link change between proofs.
        let migration = match self.plan_switch(b) {
            migration::Switch::Conflict(item) => {
                plan.items.push(item);
                return Ok(());
            }
            migration::Switch::Migrate(m) => Some(m),
            migration::Switch::InPlace => None,
        };
        if let (Some(_), Some(existing)) = (&migration, self.snapshot.role(&b.role.name)) {
            trust = existing.trust_policy.clone();
        }
        let before_role = prerequisites.before_role(&b.mechanism);
        let role_step = if b.role.is_external() {
            self.plan_existing_role(plan, b, &role_arn, &trust, &before_role)?
        } else {
            self.plan_role(plan, b, &role_arn, &trust, &before_role)
                .inspect(|step| self.plan_permissions(plan, b, *step))
        };
        let Some(role_step) = role_step else {
            // The role cannot be used (yet): touch nothing that depends on it.
            return Ok(());
        };
        if let Some(pattern) = &b.subject_pattern {
            existing_role::warn_on_last_role(plan, pattern);
        }
        if let Some(m) = migration {
            plan.items.push(self.migration_item(&m));
            plan.migrations.push(m);
            return Ok(());
        }
        self.plan_link(plan, b, &role_arn, role_step, prerequisites);
        Ok(())
    }

    /// The binding's customer-managed policies and attachments, after its role.
    fn plan_permissions(&self, plan: &mut Plan, b: &Binding, role_step: Option<usize>) {
        let mut attach_after = role_step.into_iter().collect::<Vec<_>>();
        let mut wanted_arns: Vec<String> = b.managed_policy_arns.clone();
        for policy in &b.policies {
            let arn = desired::policy_arn(self.partition, self.account, &b.role.path, &policy.name);
            match self.plan_policy(plan, b, &arn, &policy.name, &policy.document) {
                PolicyOutcome::Conflict => {}
                PolicyOutcome::Created(step) => {
                    attach_after.push(step);
                    wanted_arns.push(arn);
                }
                PolicyOutcome::Ready => wanted_arns.push(arn),
            }
        }
        self.plan_attachments(plan, b, &wanted_arns, &attach_after);
    }

    /// What hands the role to the pods: the service account, the add-on's identity, the
    /// association, and Helm values.
    fn plan_link(
        &self,
        plan: &mut Plan,
        b: &Binding,
        role_arn: &str,
        role_step: Option<usize>,
        prerequisites: &Prerequisites,
    ) {
        // The link (service account, association, add-on) only needs its role to exist: EKS
        // takes far longer to start the add-on's pods than IAM takes to attach the policies,
        // which run at the same time.
        let role_ready: Vec<usize> = role_step.into_iter().collect();
        if b.create_service_account {
            self.plan_service_account(plan, b, role_arn, &role_ready);
        }
        let mut link_after = role_ready.clone();
        link_after.extend(prerequisites.before_link(&b.mechanism));
        match &b.install {
            Some(Install::EksAddon { name }) => {
                let identity = addon_identity(b, role_arn);
                self.plan_addon(plan, name, &identity, &b.addon_settings, &link_after);
            }
            Some(Install::Helm { .. }) => self.plan_helm_values(plan, b, role_arn),
            None => {}
        }
        let is_addon = matches!(b.install, Some(Install::EksAddon { .. }));
        if let (Some(options), false) = (b.mechanism.as_pod_identity(), is_addon) {
            self.plan_association(plan, b, options, role_arn, &link_after);
        }
    }

    /// `None` when the role is a conflict; `Some(step)` with the step later steps wait for.
    fn plan_role(
        &self,
        plan: &mut Plan,
        b: &Binding,
        role_arn: &str,
        trust: &Value,
        before: &[usize],
    ) -> Option<Option<usize>> {
        let Some(existing) = self.snapshot.role(&b.role.name) else {
            let id = plan.push(
                Step::CreateRole {
                    name: b.role.name.clone(),
                    path: b.role.path.clone(),
                    trust_policy: trust.clone(),
                    permissions_boundary: b.role.permissions_boundary.clone(),
                    tags: b.role.tags.clone(),
                },
                before.to_vec(),
            );
            plan.items.push(
                Item::new(Mark::Create, "role", role_arn)
                    .detail(b.mechanism.trust_summary(&b.namespace, &b.service_account)),
            );
            return Some(Some(id));
        };
        if !owned(&existing.tags) && !self.options.adopt {
            plan.items.push(Item::new(Mark::Conflict, "role", &existing.arn).detail("exists but was not created by irsa (no irsa.dev/managed-by tag); rerun with --adopt to take it over".to_string()));
            return None;
        }
        if !owned(&existing.tags)
            && let Some(conflict) = adopt::trust_conflict(
                existing,
                trust,
                &format!("{}/{}", b.namespace, b.service_account),
            )
        {
            plan.items.push(conflict);
            return None;
        }
        if existing.path != b.role.path {
            plan.items.push(Item::new(Mark::Conflict, "role", &existing.arn).detail(format!("exists at path {} but the spec asks for {}; IAM cannot move a role: delete it or change the spec", existing.path, b.role.path)));
            return None;
        }
        let mut item = Item::new(Mark::Update, "role", &existing.arn);
        let mut last = None;
        let after: Vec<usize> = before.to_vec();
        if !iam_policy::equivalence::equivalent(&existing.trust_policy, trust) {
            item = item
                .detail("trust policy:".to_string())
                .details(line_diff(&pretty(&existing.trust_policy), &pretty(trust)));
            last = Some(plan.push(
                Step::UpdateTrustPolicy {
                    role_name: b.role.name.clone(),
                    trust_policy: trust.clone(),
                },
                after.clone(),
            ));
        }
        match (&existing.permissions_boundary, &b.role.permissions_boundary) {
            (current, Some(wanted)) if current.as_ref() != Some(wanted) => {
                item = item.detail(format!(
                    "permissions boundary: {} → {wanted}",
                    current.as_deref().unwrap_or("none")
                ));
                last = Some(plan.push(
                    Step::PutPermissionsBoundary {
                        role_name: b.role.name.clone(),
                        boundary_arn: wanted.clone(),
                    },
                    vec![],
                ));
            }
            (Some(current), None) => {
                item = item.detail(format!("permissions boundary: {current} → none"));
                last = Some(plan.push(
                    Step::DeletePermissionsBoundary {
                        role_name: b.role.name.clone(),
                    },
                    vec![],
                ));
            }
            _ => {}
        }
        let tags = missing_tags(&b.role.tags, &existing.tags);
        if !tags.is_empty() {
            item = item.detail(format!(
                "tags: + {}",
                tags.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            plan.push(
                Step::TagRole {
                    role_name: b.role.name.clone(),
                    tags,
                },
                vec![],
            );
        }
        if item.details.is_empty() {
            item.mark = Mark::Unchanged;
        }
        plan.items.push(item);
        // The role exists already: dependants need not wait for its updates, except for the
        // trust policy, which decides whether the service account can use it.
        Some(last)
    }

    fn plan_policy(
        &self,
        plan: &mut Plan,
        b: &Binding,
        arn: &str,
        name: &str,
        document: &Value,
    ) -> PolicyOutcome {
        let Some(existing) = self.snapshot.policy(arn) else {
            let id = plan.push(
                Step::CreatePolicy {
                    name: name.to_string(),
                    path: b.role.path.clone(),
                    document: document.clone(),
                    tags: b.role.tags.clone(),
                },
                vec![],
            );
            plan.items.push(Item::new(Mark::Create, "policy", arn));
            return PolicyOutcome::Created(id);
        };
        if !owned(&existing.tags) && !self.options.adopt {
            plan.items.push(
                Item::new(Mark::Conflict, "policy", arn).detail(
                    "exists but was not created by irsa; rerun with --adopt to take it over"
                        .to_string(),
                ),
            );
            return PolicyOutcome::Conflict;
        }
        let mut item = Item::new(Mark::Update, "policy", arn);
        if existing.document != *document {
            let prune = if existing.versions.len() >= MAX_POLICY_VERSIONS {
                existing
                    .versions
                    .iter()
                    .find(|v| !v.is_default)
                    .map(|v| v.id.clone())
            } else {
                None
            };
            item = item
                .detail("document:".to_string())
                .details(line_diff(&pretty(&existing.document), &pretty(document)));
            if let Some(version) = &prune {
                item = item.detail(format!(
                    "(deletes the oldest non-default version {version}: IAM keeps five)"
                ));
            }
            plan.push(
                Step::CreatePolicyVersion {
                    policy_arn: arn.to_string(),
                    document: document.clone(),
                    prune,
                },
                vec![],
            );
        }
        let tags = missing_tags(&b.role.tags, &existing.tags);
        if !tags.is_empty() {
            item = item.detail(format!(
                "tags: + {}",
                tags.keys().cloned().collect::<Vec<_>>().join(", ")
            ));
            plan.push(
                Step::TagPolicy {
                    policy_arn: arn.to_string(),
                    tags,
                },
                vec![],
            );
        }
        if item.details.is_empty() {
            item.mark = Mark::Unchanged;
        }
        plan.items.push(item);
        PolicyOutcome::Ready
    }

    fn plan_attachments(&self, plan: &mut Plan, b: &Binding, wanted: &[String], after: &[usize]) {
        let attached: Vec<String> = self
            .snapshot
            .role(&b.role.name)
            .map(|r| r.attached_policy_arns.clone())
            .unwrap_or_default();
        for arn in wanted.iter().filter(|a| !attached.contains(a)) {
            plan.push(
                Step::AttachRolePolicy {
                    role_name: b.role.name.clone(),
                    policy_arn: arn.clone(),
                },
                after.to_vec(),
            );
            plan.items.push(Item::new(
                Mark::Create,
                "attachment",
                &format!("{} → {arn}", b.role.name),
            ));
        }
        for arn in attached.iter().filter(|a| !wanted.contains(a)) {
            plan.push(
                Step::DetachRolePolicy {
                    role_name: b.role.name.clone(),
                    policy_arn: arn.clone(),
                },
                vec![],
            );
            plan.items.push(Item::new(
                Mark::Delete,
                "attachment",
                &format!("{} → {arn}", b.role.name),
            ));
        }
    }

    fn plan_service_account(&self, plan: &mut Plan, b: &Binding, role_arn: &str, after: &[usize]) {
        let name = format!("{}/{}", b.namespace, b.service_account);
        let (labels, annotations) = render::service_account_metadata(b, role_arn);
        let Some(existing) = self
            .snapshot
            .service_account(&b.namespace, &b.service_account)
        else {
            let mut after = after.to_vec();
            if !self.snapshot.namespaces.contains(&b.namespace) {
                after.push(plan.push(
                    Step::CreateNamespace {
                        name: b.namespace.clone(),
                    },
                    vec![],
                ));
                plan.items
                    .push(Item::new(Mark::Create, "namespace", &b.namespace));
            }
            plan.push(
                Step::ApplyServiceAccount {
                    namespace: b.namespace.clone(),
                    name: b.service_account.clone(),
                    create: true,
                    labels: labels.into_iter().map(|(k, v)| (k, Some(v))).collect(),
                    annotations: annotations.into_iter().map(|(k, v)| (k, Some(v))).collect(),
                },
                after,
            );
            let mut item = Item::new(Mark::Create, "service-account", &name);
            for (k, v) in b.mechanism.service_account_annotations(role_arn) {
                item = item.detail(format!("{k}: {v}"));
            }
            plan.items.push(item);
            return;
        };
        let is_owned =
            existing.labels.get(MANAGED_BY_LABEL).map(String::as_str) == Some(MANAGED_BY_VALUE);
        let label_changes: Vec<(String, Option<String>)> = labels
            .into_iter()
            .filter(|(k, v)| existing.labels.get(k) != Some(v))
            .map(|(k, v)| (k, Some(v)))
            .collect();
        let annotation_changes: Vec<(String, Option<String>)> = annotations
            .into_iter()
            .filter(|(k, v)| existing.annotations.get(k) != Some(v))
            .map(|(k, v)| (k, Some(v)))
            .collect();
        if label_changes.is_empty() && annotation_changes.is_empty() {
            plan.items
                .push(Item::new(Mark::Unchanged, "service-account", &name));
            return;
        }
        if !is_owned && !self.options.adopt {
            plan.items.push(Item::new(Mark::Conflict, "service-account", &name).detail(format!("exists but was not created by irsa (no {MANAGED_BY_LABEL}={MANAGED_BY_VALUE} label); rerun with --adopt to annotate it")));
            return;
        }
        let mut item = Item::new(Mark::Update, "service-account", &name);
        for (k, v) in annotation_changes.iter().chain(label_changes.iter()) {
            let was = existing
                .annotations
                .get(k)
                .or_else(|| existing.labels.get(k))
                .map(String::as_str)
                .unwrap_or("(none)");
            item = item.detail(format!(
                "{k}: {was} → {}",
                v.as_deref().unwrap_or("(removed)")
            ));
        }
        plan.items.push(item);
        plan.push(
            Step::ApplyServiceAccount {
                namespace: b.namespace.clone(),
                name: b.service_account.clone(),
                create: false,
                labels: label_changes,
                annotations: annotation_changes,
            },
            after.to_vec(),
        );
    }

    fn plan_addon(
        &self,
        plan: &mut Plan,
        name: &str,
        identity: &AddonIdentity,
        settings: &AddonSettings,
        after: &[usize],
    ) {
        let cluster = self.state.cluster.name.clone();
        let Some(existing) = self.snapshot.addon(name) else {
            plan.push(
                Step::CreateAddon {
                    cluster,
                    name: name.to_string(),
                    identity: identity.clone(),
                    tags: self.ownership_tags(),
                    settings: settings.clone(),
                },
                after.to_vec(),
            );
            let item = Item::new(Mark::Create, "eks-addon", name).detail(identity.describe());
            plan.items
                .push(item.details(settings.describe().into_iter().collect()));
            return;
        };
        let current = self.addon_identity_of(existing, identity);
        // Versions compare as EKS reports them, configuration values as the documents they
        // are (EKS keeps the text as set, JSON or YAML).
        let version_differs = settings
            .version
            .as_ref()
            .is_some_and(|v| existing.version.as_ref() != Some(v));
        let values_differ = settings
            .configuration_values
            .as_deref()
            .is_some_and(|wanted| {
                configuration_document(existing.configuration_values.as_deref())
                    != configuration_document(Some(wanted))
            });
        if current == *identity && !version_differs && !values_differ {
            plan.items
                .push(Item::new(Mark::Unchanged, "eks-addon", name));
        } else if !owned(&existing.tags) && !self.options.adopt {
            plan.items
                .push(Item::new(Mark::Conflict, "eks-addon", name).detail(format!(
                    "installed outside irsa with {}; rerun with --adopt to set {}",
                    current.describe(),
                    identity.describe()
                )));
        } else {
            plan.push(
                Step::UpdateAddon {
                    cluster,
                    name: name.to_string(),
                    identity: identity.clone(),
                    settings: settings.clone(),
                },
                after.to_vec(),
            );
            let mut item = Item::new(Mark::Update, "eks-addon", name).detail(format!(
                "{} → {}",
                current.describe(),
                identity.describe()
            ));
            if version_differs {
                item = item.detail(format!(
                    "version {} → {}",
                    existing.version.as_deref().unwrap_or("(none)"),
                    settings.version.as_deref().unwrap_or_default()
                ));
            }
            if values_differ {
                item = item.detail(format!(
                    "configuration values {} → {}",
                    existing.configuration_values.as_deref().unwrap_or("(none)"),
                    settings.configuration_values.as_deref().unwrap_or_default()
                ));
            }
            plan.items
                .push(item.details(settings.describe().into_iter().collect()));
        }
    }

    /// What an existing add-on has, in the shape of `wanted` (so the two compare).
    fn addon_identity_of(
        &self,
        addon: &crate::snapshot::Addon,
        wanted: &AddonIdentity,
    ) -> AddonIdentity {
        match wanted {
            AddonIdentity::None => AddonIdentity::None,
            AddonIdentity::ServiceAccountRole { .. } => AddonIdentity::ServiceAccountRole {
                role_arn: addon.service_account_role_arn.clone().unwrap_or_default(),
            },
            AddonIdentity::PodIdentity { .. } => AddonIdentity::PodIdentity {
                associations: self
                    .snapshot
                    .addon_associations(addon)
                    .into_iter()
                    .map(|a| AddonAssociation {
                        service_account: a.service_account.clone(),
                        role_arn: a.role_arn.clone(),
                    })
                    .collect(),
            },
        }
    }

    fn plan_helm_values(&self, plan: &mut Plan, b: &Binding, role_arn: &str) {
        let Some(dir) = &self.options.values_dir else {
            return;
        };
        // Rendering values of a resolved binding cannot fail (they are plain strings).
        let Ok(Some(values)) = render::helm_values_yaml(self.state, b, role_arn) else {
            return;
        };
        let path = format!(
            "{dir}/{}/{}",
            render::binding_dir(b),
            render::HELM_VALUES_FILE
        );
        match self.snapshot.files.get(&path) {
            Some(existing) if *existing == values => {
                plan.items
                    .push(Item::new(Mark::Unchanged, "helm-values", &path))
            }
            existing => {
                let mark = if existing.is_some() {
                    Mark::Update
                } else {
                    Mark::Create
                };
                plan.items.push(Item::new(mark, "helm-values", &path));
                plan.push(
                    Step::WriteFile {
                        path,
                        contents: values,
                    },
                    vec![],
                );
            }
        }
    }
}

/// An add-on's configuration values as a document (JSON, else YAML); `None` when there are none
/// or they cannot be read (which then differs from any wanted document).
fn configuration_document(text: Option<&str>) -> Option<Value> {
    let text = text?;
    serde_json::from_str(text)
        .ok()
        .or_else(|| serde_saphyr::from_str(text).ok())
}

/// The identity an add-on binding gives its add-on.
fn addon_identity(b: &Binding, role_arn: &str) -> AddonIdentity {
    match b.mechanism.kind() {
        Kind::Irsa => AddonIdentity::ServiceAccountRole {
            role_arn: role_arn.to_string(),
        },
        Kind::PodIdentity => AddonIdentity::PodIdentity {
            associations: vec![AddonAssociation {
                service_account: b.service_account.clone(),
                role_arn: role_arn.to_string(),
            }],
        },
    }
}

enum PolicyOutcome {
    Created(usize),
    Ready,
    Conflict,
}

#[cfg(test)]
mod tests;
