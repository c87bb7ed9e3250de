//! The resolved desired state: what irsa will set up, decided from a [`Spec`] and the
//! command-line overrides. This is irsa's "high-level arguments" layer (after ripgrep's
//! `hiargs`): presets are expanded into their policies, service accounts and role names are
//! decided (generated names are deterministic and at most 64 characters), defaults, ownership
//! tags and audiences are filled in, policy files are read through a caller-supplied loader (so
//! this module does no file I/O), and the checks that need the whole spec run here: duplicate
//! service accounts, two bindings on one role, preset option errors, tag counts. It also writes
//! the web-identity trust policy each role gets. Everything downstream (plan, render) works from
//! a [`DesiredState`] and never looks at the spec again.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::Value;

use crate::identity::{self, Irsa, Kind, Mechanism, PodIdentity};
use crate::presets::{self, PresetError, PresetParams};
use crate::spec::{At, BindingSpec, ClusterSpec, InstallSpec, Spec, SpecError, SpecFormat, rules};

/// Prefix of the tags irsa puts on everything it owns; users may not set these keys.
pub const OWNERSHIP_TAG_PREFIX: &str = "irsa.dev/";
/// `irsa.dev/managed-by` = `irsa`.
pub const TAG_MANAGED_BY: &str = "irsa.dev/managed-by";
/// `irsa.dev/cluster` = the cluster name.
pub const TAG_CLUSTER: &str = "irsa.dev/cluster";
/// `irsa.dev/service-account` = `<namespace>/<name>`.
pub const TAG_SERVICE_ACCOUNT: &str = "irsa.dev/service-account";
/// The token audience EKS's pod-identity webhook uses unless told otherwise (the policy
/// engine's constant, so trust policies and trust checks cannot disagree).
pub use iam_policy::trust::DEFAULT_AUDIENCE;
/// Name under which [`default_spec`] reports problems.
pub const DEFAULT_BUNDLE_SOURCE: &str = "(default bundle)";

/// What irsa will set up for one cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredState {
    pub cluster: Cluster,
    pub bindings: Vec<Binding>,
    /// The cluster's IAM OIDC provider is wanted even without IRSA bindings (eksctl
    /// `iam.withOIDC: true`).
    pub with_oidc: bool,
}

/// The cluster the bindings belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    pub name: String,
    pub region: String,
    /// Known from the spec or `--account`; otherwise discovered later (STS GetCallerIdentity).
    pub account: Option<String>,
    /// `aws`, `aws-cn` or `aws-us-gov`.
    pub partition: String,
}

/// One service account bound to one IAM role.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub namespace: String,
    pub service_account: String,
    /// The preset this binding came from, if any.
    pub preset: Option<&'static str>,
    pub role: Role,
    /// Existing (usually AWS managed) policies to attach.
    pub managed_policy_arns: Vec<String>,
    /// Customer-managed policies to create and attach.
    pub policies: Vec<CustomerPolicy>,
    /// Whether irsa creates and annotates the ServiceAccount (false for `roleOnly` and for
    /// workloads installed as EKS add-ons, which create their own).
    pub create_service_account: bool,
    /// Extra labels and annotations for the ServiceAccount.
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub install: Option<Install>,
    /// What the EKS add-on is created or updated with besides its identity (eksctl `version`,
    /// `configurationValues`, `resolveConflicts`); empty for other installs.
    pub addon_settings: crate::steps::AddonSettings,
    /// How the pods get the role (IRSA with its audience, or EKS Pod Identity with its options).
    pub mechanism: Mechanism,
    /// The token subjects the role trusts when that is a wildcard pattern
    /// (`system:serviceaccount:apps:worker-*`), matched with `StringLike`; `None`: exactly this
    /// binding's service account.
    pub subject_pattern: Option<String>,
}

/// The IAM role of a binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    /// `/` or `/a/b/`.
    pub path: String,
    pub permissions_boundary: Option<String>,
    /// User tags (defaults, then the binding's) plus irsa's ownership tags.
    pub tags: BTreeMap<String, String>,
    /// Set for a role irsa does not own (`role.arn`, eksctl `attachRoleARN` …): its ARN as
    /// written. irsa links the service account to it and evaluates its trust, but never creates,
    /// changes (beyond the one trust statement `--adopt` adds) or deletes it.
    pub external_arn: Option<String>,
}

impl Role {
    /// Whether the role belongs to someone else (see [`Role::external_arn`]).
    pub fn is_external(&self) -> bool {
        self.external_arn.is_some()
    }
}

/// A customer-managed policy irsa creates for a binding.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerPolicy {
    /// `<role-name>-<suffix>`.
    pub name: String,
    /// Suffix, also used in file names (`permission-policy-<suffix>.json`).
    pub suffix: String,
    pub document: Value,
}

/// How the binding's workload is installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Install {
    /// An EKS add-on, given the role as `serviceAccountRoleArn`; it creates its own service
    /// account.
    EksAddon { name: String },
    /// A Helm chart pointed at the service account irsa creates.
    Helm {
        repo: Option<String>,
        chart: Option<String>,
        /// Dotted path of the chart's service-account values, e.g. `rbac.serviceAccount`.
        service_account_values: String,
    },
}

impl Binding {
    /// The trust policy the binding's role gets: exactly its service account, or (IRSA with a
    /// subject pattern) every service account the pattern matches.
    pub fn trust_policy(
        &self,
        target: &identity::TrustTarget,
    ) -> Result<Value, identity::TrustError> {
        let by_pattern = self
            .subject_pattern
            .as_deref()
            .and_then(|p| self.mechanism.pattern_trust_policy(target, p));
        match by_pattern {
            Some(trust) => trust,
            None => self
                .mechanism
                .trust_policy(target, &self.namespace, &self.service_account),
        }
    }

    /// `arn:<partition>:iam::<account>:role<path><name>`, or the existing role's ARN as written.
    pub fn role_arn(&self, partition: &str, account: &str) -> String {
        match &self.role.external_arn {
            Some(arn) => arn.clone(),
            None => role_arn(partition, account, &self.role.path, &self.role.name),
        }
    }
}

/// `arn:<partition>:iam::<account>:role<path><name>`.
pub fn role_arn(partition: &str, account: &str, path: &str, name: &str) -> String {
    format!("arn:{partition}:iam::{account}:role{path}{name}")
}

/// `arn:<partition>:iam::<account>:policy<path><name>` (a binding's policies share its role's
/// path).
pub fn policy_arn(partition: &str, account: &str, path: &str, name: &str) -> String {
    format!("arn:{partition}:iam::{account}:policy{path}{name}")
}

/// Values given on the command line, which win over the spec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolveInput {
    pub cluster: Option<String>,
    pub region: Option<String>,
    pub account: Option<String>,
    /// Defaults to the region's partition.
    pub partition: Option<String>,
}

/// The default bundle (the presets in [`presets::DEFAULT_BUNDLE`]) for a cluster, used when no
/// spec file is given.
pub fn default_spec(cluster: &str, region: &str, account: Option<&str>) -> Spec {
    let at = |v: &str, path: &str| At::new(v.to_string(), Default::default(), path);
    Spec {
        source: DEFAULT_BUNDLE_SOURCE.to_string(),
        base_dir: Default::default(),
        format: SpecFormat::Default,
        cluster: ClusterSpec {
            name: Some(at(cluster, "cluster.name")),
            region: Some(at(region, "cluster.region")),
            account: account.map(|a| at(a, "cluster.account")),
            with_oidc: None,
        },
        defaults: Default::default(),
        bindings: presets::DEFAULT_BUNDLE
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let path = format!("bindings[{i}]");
                let mut b = BindingSpec::new(Default::default(), path.clone());
                b.preset = Some(at(name, &format!("{path}.preset")));
                b
            })
            .collect(),
    }
}

/// Validates a permission policy document (identity-based: no `Principal`).
pub fn check_policy_document(doc: &Value) -> Result<(), String> {
    let parsed =
        iam_policy::document::PolicyDocument::from_value(doc).map_err(|e| e.to_string())?;
    if parsed.is_resource_based() {
        return Err(
            "a permission policy must not name a Principal (irsa writes the trust policy itself)"
                .to_string(),
        );
    }
    Ok(())
}

/// 32-bit FNV-1a, for short stable name suffixes.
fn fnv1a(text: &str) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

/// `irsa-<cluster>-<namespace>-<service-account>`; when that is over 64 characters, its first
/// 55 characters, `-` and 8 hex digits of its FNV-1a hash (so distinct bindings keep distinct,
/// stable names).
pub fn default_role_name(cluster: &str, namespace: &str, service_account: &str) -> String {
    let full = format!("irsa-{cluster}-{namespace}-{service_account}");
    if full.chars().count() <= 64 {
        return full;
    }
    let head: String = full.chars().take(55).collect();
    format!("{head}-{:08x}", fnv1a(&full))
}

/// Resolves a spec into the desired state. `load` reads a policy file (paths are the spec's
/// directory joined with the file as written). Returns every problem found.
pub fn resolve(
    spec: &Spec,
    input: &ResolveInput,
    load: &dyn Fn(&Path) -> std::io::Result<String>,
) -> Result<DesiredState, Vec<SpecError>> {
    let mut errors = Vec::new();
    let cluster = resolve_cluster(spec, input, &mut errors);
    let Some(cluster) = cluster else {
        return Err(errors);
    };

    let mut bindings = Vec::new();
    let mut seen_sa: HashMap<(String, String), &BindingSpec> = HashMap::new();
    let mut seen_role: HashMap<String, &BindingSpec> = HashMap::new();
    for b in &spec.bindings {
        let Some(binding) = resolve_binding(spec, &cluster, b, load, &mut errors) else {
            continue;
        };
        let key = (binding.namespace.clone(), binding.service_account.clone());
        if let Some(first) = seen_sa.get(&key) {
            let at = b
                .name
                .as_ref()
                .map_or((b.pos, b.path.clone()), |n| (n.pos, n.path.clone()));
            errors.push(SpecError::new(
                &spec.source,
                Some(at.0),
                at.1,
                format!(
                    "service account {}/{} is already bound by {} (line {}); one role per service account: merge the two bindings",
                    key.0, key.1, first.path, first.pos.line
                ),
            ));
            continue;
        }
        seen_sa.insert(key, b);
        // An existing role may serve several service accounts: each binding checks (and with
        // --adopt adds) its own trust statement.
        if let (Some(first), false) = (
            seen_role.get(&binding.role.name),
            binding.role.is_external(),
        ) {
            let at = b
                .role
                .name
                .as_ref()
                .map_or((b.pos, b.path.clone()), |n| (n.pos, n.path.clone()));
            errors.push(SpecError::new(
                &spec.source,
                Some(at.0),
                at.1,
                format!(
                    "role name \"{}\" is already used by {} (line {}); give this binding its own `role.name`",
                    binding.role.name, first.path, first.pos.line
                ),
            ));
            continue;
        }
        seen_role.insert(binding.role.name.clone(), b);
        bindings.push(binding);
    }
    if errors.is_empty() {
        let with_oidc = spec.cluster.with_oidc.as_ref().is_some_and(|w| w.value);
        Ok(DesiredState {
            cluster,
            bindings,
            with_oidc,
        })
    } else {
        Err(errors)
    }
}

fn resolve_cluster(
    spec: &Spec,
    input: &ResolveInput,
    errors: &mut Vec<SpecError>,
) -> Option<Cluster> {
    // A value from a flag (checked, reported against the flag) or from the spec (already
    // checked when the spec was read, but checked again for specs built in code).
    let mut pick = |flag: &Option<String>,
                    flag_name: &str,
                    written: &Option<At<String>>,
                    what: &str,
                    check: fn(&str) -> Result<(), String>|
     -> Option<String> {
        if let Some(v) = flag {
            return match check(v) {
                Ok(()) => Some(v.clone()),
                Err(m) => {
                    errors.push(SpecError::new(flag_name, None, "", m));
                    None
                }
            };
        }
        match written {
            Some(at) => match check(&at.value) {
                Ok(()) => Some(at.value.clone()),
                Err(m) => {
                    errors.push(SpecError::at(spec, at, m));
                    None
                }
            },
            None => {
                errors.push(SpecError::new(
                    &spec.source,
                    spec_pos(spec),
                    "",
                    format!("no {what}: set it in the spec or pass {flag_name}"),
                ));
                None
            }
        }
    };
    let name = pick(
        &input.cluster,
        "--cluster",
        &spec.cluster.name,
        "cluster name",
        rules::cluster_name,
    );
    let region = pick(
        &input.region,
        "--region",
        &spec.cluster.region,
        "region",
        rules::region,
    );
    let account = match (&input.account, &spec.cluster.account) {
        (None, None) => None,
        _ => Some(pick(
            &input.account,
            "--account",
            &spec.cluster.account,
            "account",
            rules::account,
        )),
    };
    let (name, region) = (name?, region?);
    let account = match account {
        Some(None) => return None,
        Some(Some(a)) => Some(a),
        None => None,
    };
    let partition = match &input.partition {
        Some(p) if ["aws", "aws-cn", "aws-us-gov"].contains(&p.as_str()) => p.clone(),
        Some(p) => {
            errors.push(SpecError::new(
                "--partition",
                None,
                "",
                format!("unknown partition `{p}`; use aws, aws-cn or aws-us-gov"),
            ));
            return None;
        }
        None => iam_policy::arn::partition_for_region(&region).to_string(),
    };
    Some(Cluster {
        name,
        region,
        account,
        partition,
    })
}

/// 1:1 for files, no position for the built-in bundle.
fn spec_pos(spec: &Spec) -> Option<crate::spec::Pos> {
    (spec.format != SpecFormat::Default).then_some(crate::spec::Pos { line: 1, col: 1 })
}

fn resolve_binding(
    spec: &Spec,
    cluster: &Cluster,
    b: &BindingSpec,
    load: &dyn Fn(&Path) -> std::io::Result<String>,
    errors: &mut Vec<SpecError>,
) -> Option<Binding> {
    let errors_before = errors.len();
    let err_at = |pos: crate::spec::Pos, path: &str, msg: String| {
        SpecError::new(&spec.source, (pos.line > 0).then_some(pos), path, msg)
    };

    let preset = match &b.preset {
        Some(p) => match presets::find(&p.value) {
            Some(found) => Some(found),
            None => {
                errors.push(SpecError::at(
                    spec,
                    p,
                    crate::spec::unknown_preset(&p.value),
                ));
                return None;
            }
        },
        None => None,
    };
    let namespace = b
        .namespace
        .as_ref()
        .map(|n| n.value.clone())
        .or(preset.map(|p| p.namespace.to_string()));
    let name = b
        .name
        .as_ref()
        .map(|n| n.value.clone())
        .or(preset.map(|p| p.service_account.to_string()));
    let from_pattern = b
        .subject_pattern
        .as_ref()
        .and_then(|p| pattern_parts(&p.value));
    let namespace = namespace.or_else(|| from_pattern.as_ref().map(|p| p.0.clone()));
    let name = name.or_else(|| from_pattern.as_ref().map(|p| p.1.clone()));
    let (Some(namespace), Some(name)) = (namespace, name) else {
        errors.push(err_at(
            b.pos,
            &b.path,
            "no service account: write `serviceAccount: NAMESPACE/NAME` or use a preset"
                .to_string(),
        ));
        return None;
    };

    // Role.
    let external = b
        .role
        .arn
        .as_ref()
        .and_then(|at| existing_role(spec, cluster, at, errors));
    let role_name = match (&external, &b.role.name) {
        (Some((_, name)), _) => name.clone(),
        (None, Some(n)) => n.value.clone(),
        (None, None) => default_role_name(&cluster.name, &name_part(&namespace), &name_part(&name)),
    };
    if b.role.name.is_none()
        && external.is_none()
        && let Err(m) = rules::role_name(&role_name)
    {
        errors.push(err_at(
            b.pos,
            &b.path,
            format!("generated role name: {m}; set `role.name`"),
        ));
    }
    let path = match &external {
        Some((path, _)) => path.clone(),
        None => b
            .role
            .path
            .as_ref()
            .or(spec.defaults.role_path.as_ref())
            .map_or_else(|| "/".to_string(), |p| p.value.clone()),
    };
    let boundary_at = b
        .role
        .permissions_boundary
        .as_ref()
        .or(spec.defaults.permissions_boundary.as_ref())
        .filter(|_| external.is_none());
    if let Some(at) = boundary_at {
        check_partition(spec, cluster, at, errors);
    }
    let mut tags: BTreeMap<String, String> = BTreeMap::new();
    for t in spec.defaults.tags.iter().chain(&b.role.tags) {
        tags.insert(t.key.value.clone(), t.value.value.clone());
    }
    tags.insert(TAG_MANAGED_BY.to_string(), "irsa".to_string());
    tags.insert(TAG_CLUSTER.to_string(), cluster.name.clone());
    tags.insert(
        TAG_SERVICE_ACCOUNT.to_string(),
        format!("{namespace}/{name}"),
    );
    if external.is_some() {
        // Someone else's role keeps its own tags.
        tags.clear();
    }
    if tags.len() > rules::MAX_TAGS {
        errors.push(err_at(
            b.pos,
            &b.path,
            format!(
                "the role would carry {} tags (defaults, the binding's and irsa's 3); IAM allows at most {}: remove some",
                tags.len(),
                rules::MAX_TAGS
            ),
        ));
    }

    // Policies.
    let mut managed = Vec::new();
    let mut documents: Vec<(String, Value)> = Vec::new();
    if let (Some(preset), Some(preset_at), None) = (preset, &b.preset, &external) {
        // The binding's preset with its options, then any further eksctl well-known policies
        // of the same entry (without options), their policies added to the one role.
        let extra = b
            .extra_presets
            .iter()
            .filter_map(|at| presets::find(&at.value).map(|p| (p, at, &[][..])));
        for (preset, at, options) in
            std::iter::once((preset, preset_at, &b.options[..])).chain(extra)
        {
            match render_preset(cluster, preset, options) {
                Ok(p) => {
                    managed.extend(p.managed_arns);
                    documents.extend(p.documents);
                }
                Err(e) => {
                    let (pos, path) = match &e {
                        PresetError::BadOption { option, .. } => options
                            .iter()
                            .find(|o| &o.value.0 == option)
                            .map_or((at.pos, at.path.clone()), |o| (o.pos, o.path.clone())),
                        PresetError::Missing { .. } => (at.pos, at.path.clone()),
                    };
                    errors.push(err_at(
                        pos,
                        &path,
                        format!("{e}; see `irsa presets show {}`", preset.name),
                    ));
                }
            }
        }
    }
    for arn in &b.managed_policies {
        check_partition(spec, cluster, arn, errors);
        if !managed.contains(&arn.value) {
            managed.push(arn.value.clone());
        }
    }
    for (i, doc) in b.inline_policies.iter().enumerate() {
        let suffix = if i == 0 {
            "inline".to_string()
        } else {
            format!("inline-{}", i + 1)
        };
        documents.push((suffix, doc.value.clone()));
    }
    for file in &b.policy_files {
        let full = spec.base_dir.join(&file.value);
        let text = match load(&full) {
            Ok(t) => t,
            Err(e) => {
                errors.push(SpecError::at(
                    spec,
                    file,
                    format!(
                        "cannot read policy file {}: {e}; the path is relative to the spec file",
                        full.display()
                    ),
                ));
                continue;
            }
        };
        let is_yaml = matches!(
            full.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        );
        let parsed: Result<Value, String> = if is_yaml {
            serde_saphyr::from_str::<Value>(&text)
                .map_err(|e| e.to_string().lines().next().unwrap_or_default().to_string())
        } else {
            iam_policy::document::decode_document_text(&text)
                .map_err(|e| e.to_string())
                .and_then(|t| {
                    serde_json::from_str::<Value>(&t).map_err(|e| {
                        format!(
                            "invalid JSON at line {} column {}: {e}",
                            e.line(),
                            e.column()
                        )
                    })
                })
        };
        let doc = match parsed.and_then(|v| check_policy_document(&v).map(|()| v)) {
            Ok(v) => v,
            Err(m) => {
                errors.push(SpecError::at(
                    spec,
                    file,
                    format!("policy file {}: {m}; fix the document", full.display()),
                ));
                continue;
            }
        };
        documents.push((file_suffix(&file.value), doc));
    }
    let mut policies: Vec<CustomerPolicy> = Vec::new();
    for (suffix, document) in documents {
        let mut unique = suffix.clone();
        let mut n = 2;
        while policies.iter().any(|p| p.suffix == unique) {
            unique = format!("{suffix}-{n}");
            n += 1;
        }
        let name = format!("{role_name}-{unique}");
        if let Err(m) = rules::policy_name(&name) {
            errors.push(err_at(b.pos, &b.path, format!("the policy name `{name}` made from the role name: {m}; shorten `role.name` or the policy file names")));
        }
        policies.push(CustomerPolicy {
            name,
            suffix: unique,
            document,
        });
    }
    if managed.is_empty()
        && policies.is_empty()
        && b.pod_identity.target_role_arn.is_none()
        && external.is_none()
        && errors.len() == errors_before
    {
        errors.push(err_at(
            b.pos,
            &b.path,
            "this binding grants no permissions: add a preset or policies".to_string(),
        ));
    }

    // Install and service account.
    let install = resolve_install(b, preset, errors, &err_at);
    let addon_settings = match b.install.as_ref().map(|i| &i.value) {
        Some(InstallSpec::Addon { settings, .. }) => settings.clone(),
        _ => Default::default(),
    };
    let is_addon = matches!(install, Some(Install::EksAddon { .. }));
    let create_service_account = match &b.role_only {
        Some(r) if !r.value && is_addon => {
            errors.push(SpecError::at(
                spec,
                r,
                "the EKS add-on creates this service account itself; remove `roleOnly: false` or install with Helm",
            ));
            false
        }
        Some(r) => !r.value,
        // A pattern names no one service account to create.
        None => !is_addon && (b.name.is_some() || preset.is_some()),
    };
    let mechanism = resolve_mechanism(spec, b, install.as_ref(), errors);
    if let Some(assume_target) = mechanism
        .as_ref()
        .and_then(|m| m.as_pod_identity())
        .and_then(PodIdentity::assume_target_policy)
    {
        policies.push(CustomerPolicy {
            name: format!("{role_name}-assume-target"),
            suffix: "assume-target".to_string(),
            document: assume_target,
        });
    }

    if errors.len() != errors_before {
        return None;
    }
    Some(Binding {
        namespace,
        service_account: name,
        preset: preset.map(|p| p.name),
        role: Role {
            name: role_name,
            path,
            permissions_boundary: boundary_at.map(|a| a.value.clone()),
            tags,
            external_arn: external.and(b.role.arn.as_ref()).map(|a| a.value.clone()),
        },
        managed_policy_arns: managed,
        policies,
        create_service_account,
        labels: b
            .labels
            .iter()
            .map(|t| (t.key.value.clone(), t.value.value.clone()))
            .collect(),
        annotations: b
            .annotations
            .iter()
            .map(|t| (t.key.value.clone(), t.value.value.clone()))
            .collect(),
        install,
        addon_settings,
        mechanism: mechanism?,
        subject_pattern: b.subject_pattern.as_ref().map(|p| p.value.clone()),
    })
}

/// A preset's policies for this cluster with the options written for it.
fn render_preset(
    cluster: &Cluster,
    preset: &presets::Preset,
    written: &[At<(String, Vec<String>)>],
) -> Result<presets::PresetPolicies, PresetError> {
    let mut options: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for o in written {
        options
            .entry(o.value.0.clone())
            .or_default()
            .extend(o.value.1.iter().cloned());
    }
    let params = PresetParams {
        cluster: Some(cluster.name.clone()),
        region: Some(cluster.region.clone()),
        account: cluster.account.clone(),
        partition: Some(cluster.partition.clone()),
        options,
    };
    (preset.render)(&params)
}

/// An existing role's path and name from its ARN, which must be in the cluster's partition.
fn existing_role(
    spec: &Spec,
    cluster: &Cluster,
    at: &At<String>,
    errors: &mut Vec<SpecError>,
) -> Option<(String, String)> {
    let arn = match rules::role_arn(&at.value) {
        Ok(arn) => arn,
        Err(m) => {
            errors.push(SpecError::at(spec, at, m));
            return None;
        }
    };
    if arn.partition != cluster.partition {
        errors.push(SpecError::at(
            spec,
            at,
            format!(
                "\"{}\" is in partition `{}` but the cluster's region {} is in `{}`: use arn:{}:…",
                at.value, arn.partition, cluster.region, cluster.partition, cluster.partition
            ),
        ));
        return None;
    }
    let resource = arn.resource.strip_prefix("role").unwrap_or(&arn.resource);
    let (path, name) = resource.rsplit_once('/').unwrap_or(("", resource));
    Some((format!("{path}/"), name.to_string()))
}

/// The namespace and name (pattern) of a `system:serviceaccount:<ns>:<name>` subject.
fn pattern_parts(subject: &str) -> Option<(String, String)> {
    let rest = subject.strip_prefix("system:serviceaccount:")?;
    let (namespace, name) = rest.split_once(':')?;
    Some((namespace.to_string(), name.to_string()))
}

/// A namespace or name (pattern) as a part of a generated role name: wildcards spelled out
/// (`worker-*` → `worker-any`), since IAM names allow neither `*` nor `?`.
fn name_part(text: &str) -> String {
    text.replace('*', "any").replace('?', "x")
}

/// The binding's identity mechanism: its own `identity`, else `defaults.identity`, else IRSA;
/// each mechanism's options are refused on the other, and IAM's rules on Pod Identity options
/// (a session policy needs session tags off, and fits in 2,048 characters; an EKS add-on's
/// associations carry a role only) are checked here, at the option's place in the file.
fn resolve_mechanism(
    spec: &Spec,
    b: &BindingSpec,
    install: Option<&Install>,
    errors: &mut Vec<SpecError>,
) -> Option<Mechanism> {
    let kind = b
        .identity
        .as_ref()
        .or(spec.defaults.identity.as_ref())
        .map_or(Kind::Irsa, |k| k.value);
    match kind {
        Kind::Irsa => {
            let before = errors.len();
            for (option, pos, path) in b.pod_identity.written() {
                errors.push(SpecError::new(
                    &spec.source,
                    Some(pos),
                    path,
                    format!("`{option}` is an EKS Pod Identity option: set `identity: pod-identity` on this binding (or in `defaults`), or remove it"),
                ));
            }
            let audience = b
                .audience
                .as_ref()
                .map_or_else(|| DEFAULT_AUDIENCE.to_string(), |a| a.value.clone());
            (errors.len() == before).then_some(Mechanism::Irsa(Irsa { audience }))
        }
        Kind::PodIdentity => resolve_pod_identity(spec, b, install, errors),
    }
}

fn resolve_pod_identity(
    spec: &Spec,
    b: &BindingSpec,
    install: Option<&Install>,
    errors: &mut Vec<SpecError>,
) -> Option<Mechanism> {
    let before = errors.len();
    let options = &b.pod_identity;
    if let Some(pattern) = &b.subject_pattern {
        errors.push(SpecError::at(spec, pattern, "a service-account pattern is an IRSA trust (StringLike on the token's sub); EKS Pod Identity associates one service account at a time: list each, or use `identity: irsa`"));
    }
    if let Some(audience) = &b.audience {
        errors.push(SpecError::at(spec, audience, format!(
            "`audience` is an IRSA option; EKS Pod Identity tokens always have the audience {}: remove it",
            identity::pod_identity::AUDIENCE
        )));
    }
    let disable_session_tags = options
        .disable_session_tags
        .as_ref()
        .is_some_and(|d| d.value);
    let session_policy = options.session_policy.as_ref().map(|p| p.value.to_string());
    if let (Some(at), Some(text)) = (&options.session_policy, &session_policy) {
        if !disable_session_tags {
            errors.push(SpecError::at(spec, at, "IAM accepts a session policy only with session tags off: add `disableSessionTags: true` to this binding, or remove `sessionPolicy`"));
        }
        if text.chars().count() > rules::MAX_SESSION_POLICY_CHARS {
            errors.push(SpecError::at(spec, at, format!(
                "the session policy is {} characters; IAM allows at most {}: shorten it or move permissions into the role's policies",
                text.chars().count(),
                rules::MAX_SESSION_POLICY_CHARS
            )));
        }
    }
    if let Some(Install::EksAddon { name }) = install {
        for (option, pos, path) in options.written() {
            errors.push(SpecError::new(&spec.source, Some(pos), path, format!(
                "EKS add-on {name} takes Pod Identity associations with a role only (podIdentityAssociations: serviceAccount, roleArn): remove `{option}`, or install with Helm"
            )));
        }
    }
    (errors.len() == before).then(|| {
        Mechanism::PodIdentity(PodIdentity {
            target_role_arn: options.target_role_arn.as_ref().map(|a| a.value.clone()),
            disable_session_tags,
            session_policy,
        })
    })
}

fn resolve_install(
    b: &BindingSpec,
    preset: Option<&'static presets::Preset>,
    errors: &mut Vec<SpecError>,
    err_at: &dyn Fn(crate::spec::Pos, &str, String) -> SpecError,
) -> Option<Install> {
    let preset_addon = preset.and_then(|p| match p.install {
        presets::Install::EksAddon { name } => Some(name),
        _ => None,
    });
    let preset_helm = preset.and_then(|p| match p.install {
        presets::Install::Helm { repo, chart } => Some((repo, chart)),
        _ => None,
    });
    match b.install.as_ref().map(|i| (i, &i.value)) {
        Some((_, InstallSpec::Unmanaged)) => None,
        Some((at, InstallSpec::Addon { name, .. })) => {
            match name.clone().or(preset_addon.map(str::to_string)) {
                Some(name) => Some(Install::EksAddon { name }),
                None => {
                    errors.push(err_at(
                        at.pos,
                        &at.path,
                        "no add-on name: write `install: {addon: NAME}`".to_string(),
                    ));
                    None
                }
            }
        }
        Some((
            _,
            InstallSpec::Helm {
                repo,
                chart,
                service_account_values,
            },
        )) => Some(Install::Helm {
            repo: repo.clone().or(preset_helm.map(|h| h.0.to_string())),
            chart: chart
                .clone()
                .or(preset_helm.map(|h| h.1.to_string()))
                .or_else(|| preset_addon.map(str::to_string)),
            service_account_values: service_account_values
                .clone()
                .or(preset
                    .and_then(|p| p.helm_service_account_path)
                    .map(str::to_string))
                .unwrap_or_else(|| "serviceAccount".to_string()),
        }),
        None => match (preset_addon, preset_helm) {
            (Some(name), _) => Some(Install::EksAddon {
                name: name.to_string(),
            }),
            (None, Some((repo, chart))) => Some(Install::Helm {
                repo: Some(repo.to_string()),
                chart: Some(chart.to_string()),
                service_account_values: preset
                    .and_then(|p| p.helm_service_account_path)
                    .unwrap_or("serviceAccount")
                    .to_string(),
            }),
            (None, None) => None,
        },
    }
}

/// A managed policy or boundary ARN must be in the cluster's partition.
fn check_partition(spec: &Spec, cluster: &Cluster, at: &At<String>, errors: &mut Vec<SpecError>) {
    if let Ok(arn) = rules::policy_arn(&at.value)
        && arn.partition != cluster.partition
    {
        errors.push(SpecError::at(
            spec,
            at,
            format!(
                "\"{}\" is in partition `{}` but the cluster's region {} is in `{}`: use arn:{}:…",
                at.value, arn.partition, cluster.region, cluster.partition, cluster.partition
            ),
        ));
    }
}

/// Policy suffix from a file name: its stem, with characters IAM does not allow replaced by `-`.
fn file_suffix(file: &str) -> String {
    let stem = Path::new(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("file");
    let s: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    if s.is_empty() { "file".to_string() } else { s }
}

/// Why an issuer URL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssuerError {
    #[error(
        "issuer URL `{0}` must start with https:// (use the cluster's identity.oidc.issuer, e.g. https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE)"
    )]
    NotHttps(String),
    #[error(
        "issuer URL `{0}` has no host (expected https://oidc.eks.<region>.amazonaws.com/id/<ID>)"
    )]
    NoHost(String),
    #[error("issuer URL `{0}` must not contain spaces, a query or a fragment")]
    Invalid(String),
}

/// The tags irsa puts on what it creates for `cluster` and no binding in particular (the OIDC
/// provider): managed by irsa, for this cluster.
pub fn ownership_tags(cluster: &str) -> crate::snapshot::Tags {
    [
        (TAG_MANAGED_BY.to_string(), "irsa".to_string()),
        (TAG_CLUSTER.to_string(), cluster.to_string()),
    ]
    .into()
}

/// Whether tags mark an AWS object as irsa's.
pub fn is_owned(tags: &crate::snapshot::Tags) -> bool {
    tags.get(TAG_MANAGED_BY).map(String::as_str) == Some("irsa")
}

/// The issuer without scheme and trailing slash, as IAM names the provider and its condition
/// keys: `https://oidc.eks.us-east-1.amazonaws.com/id/ABC` → `oidc.eks.us-east-1.amazonaws.com/id/ABC`.
pub fn issuer_host_path(issuer_url: &str) -> Result<String, IssuerError> {
    let trimmed = issuer_url.trim();
    let Some(rest) = trimmed.strip_prefix("https://") else {
        return Err(IssuerError::NotHttps(issuer_url.to_string()));
    };
    if rest.contains(['?', '#']) || rest.chars().any(char::is_whitespace) {
        return Err(IssuerError::Invalid(issuer_url.to_string()));
    }
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() || rest.starts_with('/') {
        return Err(IssuerError::NoHost(issuer_url.to_string()));
    }
    Ok(rest.to_string())
}

/// `arn:<partition>:iam::<account>:oidc-provider/<issuer host+path>`.
pub fn oidc_provider_arn(
    partition: &str,
    account: &str,
    issuer_url: &str,
) -> Result<String, IssuerError> {
    Ok(format!(
        "arn:{partition}:iam::{account}:oidc-provider/{}",
        issuer_host_path(issuer_url)?
    ))
}

/// The web-identity trust policy of an IRSA role (see [`identity::irsa`]).
pub use crate::identity::irsa::web_identity_trust_policy as trust_policy;

#[cfg(test)]
mod tests;
