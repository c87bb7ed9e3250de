//! The spec as the user wrote it: an `irsa.yaml` file or an eksctl `ClusterConfig`, read into
//! plain data where every value keeps the file position (line:column) and field path it came
//! from. This is irsa's "low-level arguments" layer (after ripgrep's `lowargs`): it checks the
//! shape of the file and the naming rules of each value written (IAM role names and paths,
//! Kubernetes namespaces and service-account names, account ids, regions, tags, policy ARNs,
//! preset names), collecting every problem rather than stopping at the first, but decides
//! nothing. Turning a [`Spec`] into what irsa will do (defaults, presets expanded, names
//! generated, cross-binding checks) is [`crate::desired`]'s job.

mod eksctl;
mod irsa;
mod node;
pub mod rules;

/// The header of an irsa.yaml (for writers such as `irsa import`).
pub(crate) use irsa::{API_VERSION, KIND};

use std::fmt;
use std::path::{Path, PathBuf};

use node::{Key, Kind, Node};

/// A 1-based line and column in a spec file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// A value as written, with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct At<T> {
    pub value: T,
    pub pos: Pos,
    /// Field path, e.g. `bindings[1].role.name` or `iam.serviceAccounts[0].roleName`.
    pub path: String,
}

impl<T> At<T> {
    pub fn new(value: T, pos: Pos, path: impl Into<String>) -> At<T> {
        At {
            value,
            pos,
            path: path.into(),
        }
    }
}

/// A problem in a spec, located in its file (`irsa.yaml:12:7: bindings[1].role.name: …`).
///
/// `pos` is `None` for values that come from flags (`--cluster`) or from irsa's defaults.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct SpecError {
    /// The file as named on the command line, or the flag (`--cluster`) the value came from.
    pub file: String,
    pub pos: Option<Pos>,
    /// Field path, empty for the whole document.
    pub path: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl SpecError {
    pub fn new(
        file: impl Into<String>,
        pos: Option<Pos>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> SpecError {
        SpecError {
            file: file.into(),
            // Values irsa made up itself (the default bundle) have no position.
            pos: pos.filter(|p| p.line > 0),
            path: path.into(),
            message: message.into(),
        }
    }

    /// An error about a located value of `spec`.
    pub fn at<T>(spec: &Spec, at: &At<T>, message: impl Into<String>) -> SpecError {
        SpecError::new(&spec.source, Some(at.pos), &at.path, message)
    }

    fn render(&self) -> String {
        let mut s = self.file.clone();
        if let Some(p) = self.pos {
            s.push_str(&format!(":{}:{}", p.line, p.col));
        }
        if !self.path.is_empty() {
            s.push_str(": ");
            s.push_str(&self.path);
        }
        s.push_str(": ");
        s.push_str(&self.message);
        s
    }
}

/// Which kind of file the spec came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecFormat {
    /// irsa's own `irsa.yaml`.
    Irsa,
    /// An eksctl `ClusterConfig` (`eksctl.io/v1alpha5`).
    Eksctl,
    /// No file: the built-in default bundle ([`crate::desired::default_spec`]).
    Default,
}

/// A whole spec as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// The file as named by the user (used in every message).
    pub source: String,
    /// Directory that `policies.files` are relative to.
    pub base_dir: PathBuf,
    pub format: SpecFormat,
    pub cluster: ClusterSpec,
    pub defaults: DefaultsSpec,
    pub bindings: Vec<BindingSpec>,
}

/// The cluster section (`cluster:` in irsa.yaml, `metadata:` in eksctl).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClusterSpec {
    pub name: Option<At<String>>,
    pub region: Option<At<String>>,
    pub account: Option<At<String>>,
    /// eksctl `iam.withOIDC`, when written.
    pub with_oidc: Option<At<bool>>,
}

/// Role settings every binding inherits unless it sets its own.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DefaultsSpec {
    pub role_path: Option<At<String>>,
    pub permissions_boundary: Option<At<String>>,
    pub tags: Vec<Tag>,
    /// `defaults.identity`: the mechanism of every binding that names none (IRSA when unset).
    pub identity: Option<At<crate::identity::Kind>>,
}

/// A tag as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    pub key: At<String>,
    pub value: At<String>,
}

/// One service account → role binding as written.
#[derive(Debug, Clone, PartialEq)]
pub struct BindingSpec {
    /// Position of the binding (the list entry) and its path, e.g. `bindings[0]`.
    pub pos: Pos,
    pub path: String,
    /// Service-account namespace and name; `None` means the preset's default.
    pub namespace: Option<At<String>>,
    pub name: Option<At<String>>,
    pub preset: Option<At<String>>,
    /// Further presets whose policies the role also gets (eksctl entries that turn on several
    /// `wellKnownPolicies`); the service account and install come from `preset`.
    pub extra_presets: Vec<At<String>>,
    /// Preset options (`policy: v2`, `kmsKeyArns: [...]`), values as strings.
    pub options: Vec<At<(String, Vec<String>)>>,
    pub role: RoleSpec,
    pub managed_policies: Vec<At<String>>,
    pub inline_policies: Vec<At<serde_json::Value>>,
    /// Policy document files, relative to [`Spec::base_dir`].
    pub policy_files: Vec<At<String>>,
    pub role_only: Option<At<bool>>,
    pub audience: Option<At<String>>,
    /// `identity: irsa | pod-identity`; `None` means the defaults' (or IRSA).
    pub identity: Option<At<crate::identity::Kind>>,
    /// Pod Identity options as written.
    pub pod_identity: PodIdentitySpec,
    pub install: Option<At<InstallSpec>>,
    /// Extra labels and annotations for the ServiceAccount manifest (eksctl `metadata`).
    pub labels: Vec<Tag>,
    pub annotations: Vec<Tag>,
    /// A wildcard pattern of service accounts the role trusts (`serviceAccountPattern:
    /// NAMESPACE/NAME-PATTERN`, eksctl `subjectPattern`), as the full token subject
    /// `system:serviceaccount:<namespace>:<name pattern>`.
    pub subject_pattern: Option<At<String>>,
}

impl BindingSpec {
    pub(crate) fn new(pos: Pos, path: String) -> BindingSpec {
        BindingSpec {
            pos,
            path,
            namespace: None,
            name: None,
            preset: None,
            extra_presets: Vec::new(),
            options: Vec::new(),
            role: RoleSpec::default(),
            managed_policies: Vec::new(),
            inline_policies: Vec::new(),
            policy_files: Vec::new(),
            role_only: None,
            audience: None,
            identity: None,
            pod_identity: PodIdentitySpec::default(),
            install: None,
            labels: Vec::new(),
            annotations: Vec::new(),
            subject_pattern: None,
        }
    }

    /// Whether the binding writes any permissions of its own (a preset, policies, or the
    /// target role a Pod Identity association chains to).
    pub fn grants_permissions(&self) -> bool {
        self.preset.is_some()
            || self.pod_identity.target_role_arn.is_some()
            || !self.managed_policies.is_empty()
            || !self.inline_policies.is_empty()
            || !self.policy_files.is_empty()
    }
}

/// A binding's EKS Pod Identity options as written (valid only with `identity: pod-identity`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PodIdentitySpec {
    /// `targetRoleArn`: a role (usually in another account) EKS assumes after the binding's.
    pub target_role_arn: Option<At<String>>,
    /// `disableSessionTags`.
    pub disable_session_tags: Option<At<bool>>,
    /// `sessionPolicy`: an inline policy document.
    pub session_policy: Option<At<serde_json::Value>>,
}

impl PodIdentitySpec {
    /// Where each option that is written stands (for "only with pod-identity" errors).
    pub fn written(&self) -> Vec<(&'static str, Pos, &str)> {
        let mut out = Vec::new();
        if let Some(a) = &self.target_role_arn {
            out.push(("targetRoleArn", a.pos, a.path.as_str()));
        }
        if let Some(a) = &self.disable_session_tags {
            out.push(("disableSessionTags", a.pos, a.path.as_str()));
        }
        if let Some(a) = &self.session_policy {
            out.push(("sessionPolicy", a.pos, a.path.as_str()));
        }
        out
    }
}

/// The role part of a binding as written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RoleSpec {
    /// An existing role irsa does not own (`role.arn`, eksctl `attachRoleARN`, `roleARN`,
    /// `serviceAccountRoleARN`): irsa links the service account to it and never changes or
    /// deletes it, except for the one trust statement `--adopt` may add.
    pub arn: Option<At<String>>,
    pub name: Option<At<String>>,
    pub path: Option<At<String>>,
    pub permissions_boundary: Option<At<String>>,
    pub tags: Vec<Tag>,
}

/// How the workload is installed, as written.
#[derive(Debug, Clone, PartialEq)]
pub enum InstallSpec {
    /// Not by irsa: the role (and service account) only, whatever the preset's install (eksctl
    /// `iam.serviceAccounts` and `podIdentityAssociations` entries, which install nothing).
    Unmanaged,
    /// An EKS add-on; `None` means the preset's add-on. `settings` are passed through to
    /// CreateAddon / UpdateAddon (eksctl `version`, `configurationValues`, `resolveConflicts`).
    Addon {
        name: Option<String>,
        settings: crate::steps::AddonSettings,
    },
    /// A Helm chart; unset fields come from the preset.
    Helm {
        repo: Option<String>,
        chart: Option<String>,
        /// Dotted path of the chart's service-account values, e.g. `rbac.serviceAccount`.
        service_account_values: Option<String>,
    },
}

/// Reads a spec file. `path` is used for messages and as the base of relative policy files;
/// the format (irsa.yaml or eksctl `ClusterConfig`) is detected from `apiVersion`/`kind`.
pub fn parse(path: &Path, text: &str) -> Result<Spec, Vec<SpecError>> {
    let source = path.display().to_string();
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let root = match node::parse(text) {
        Ok(root) => root,
        Err(e) => {
            return Err(vec![SpecError::new(
                source,
                Some(e.pos),
                "",
                format!("invalid YAML: {}", e.message),
            )]);
        }
    };
    let mut cx = Ctx {
        source: source.clone(),
        errors: Vec::new(),
    };
    let mut spec = Spec {
        source,
        base_dir,
        format: SpecFormat::Irsa,
        cluster: ClusterSpec::default(),
        defaults: DefaultsSpec::default(),
        bindings: Vec::new(),
    };
    if let Kind::Null = root.kind {
        cx.err(
            root.pos,
            "",
            "the file is empty: write a `cluster:` and `bindings:` (see `irsa render --help`), or leave out -f to use the default bundle",
        );
    } else if is_eksctl(&root) {
        spec.format = SpecFormat::Eksctl;
        eksctl::read(&mut cx, &root, &mut spec);
    } else {
        irsa::read(&mut cx, &root, &mut spec);
    }
    if cx.errors.is_empty() {
        Ok(spec)
    } else {
        cx.errors.sort_by_key(|e| e.pos);
        Err(cx.errors)
    }
}

fn is_eksctl(root: &Node) -> bool {
    let Kind::Map(entries) = &root.kind else {
        return false;
    };
    entries
        .iter()
        .any(|(k, v)| match (k.name.as_str(), &v.kind) {
            ("kind", Kind::Str(s)) => s == "ClusterConfig",
            ("apiVersion", Kind::Str(s)) => s.starts_with("eksctl.io/"),
            _ => false,
        })
}

/// Reading context: the file name and every error so far.
pub(crate) struct Ctx {
    source: String,
    errors: Vec<SpecError>,
}

/// The entries of a mapping node, looked up by key.
pub(crate) struct Fields<'n> {
    entries: &'n [(Key, Node)],
}

impl<'n> Fields<'n> {
    pub fn get(&self, name: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == name)
            .map(|(_, v)| v)
    }

    pub fn entries(&self) -> &'n [(Key, Node)] {
        self.entries
    }
}

pub(crate) fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

impl Ctx {
    pub fn err(&mut self, pos: Pos, path: &str, message: impl Into<String>) {
        self.errors
            .push(SpecError::new(&self.source, Some(pos), path, message));
    }

    /// Reports a rule violation of a located value.
    pub fn check<T>(&mut self, at: &At<T>, result: Result<(), String>) {
        if let Err(m) = result {
            self.err(at.pos, &at.path, m);
        }
    }

    /// A mapping, with unknown keys reported (and a suggestion when one is close).
    pub fn fields<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        allowed: &[&str],
    ) -> Option<Fields<'n>> {
        let entries = self.map(node, path)?;
        for (k, _) in entries {
            if !allowed.contains(&k.name.as_str()) {
                let hint = match closest(&k.name, allowed) {
                    Some(c) => format!("did you mean `{c}`? "),
                    None => String::new(),
                };
                self.err(
                    k.pos,
                    &join(path, &k.name),
                    format!(
                        "unknown field `{}`; {hint}expected one of: {}",
                        k.name,
                        allowed.join(", ")
                    ),
                );
            }
        }
        Some(Fields { entries })
    }

    /// A mapping's entries; `null` counts as empty.
    pub fn map<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n [(Key, Node)]> {
        match &node.kind {
            Kind::Map(entries) => Some(entries),
            Kind::Null => Some(&[]),
            other => {
                self.err(
                    node.pos,
                    path,
                    format!("expected a mapping, found {}", other.describe()),
                );
                None
            }
        }
    }

    pub fn string(&mut self, node: &Node, path: &str) -> Option<At<String>> {
        match node.scalar() {
            Some(s) => Some(At::new(s, node.pos, path)),
            None => {
                self.err(
                    node.pos,
                    path,
                    format!("expected a string, found {}", node.kind.describe()),
                );
                None
            }
        }
    }

    pub fn opt_string(&mut self, f: &Fields, name: &str, path: &str) -> Option<At<String>> {
        f.get(name).and_then(|n| self.string(n, &join(path, name)))
    }

    pub fn bool(&mut self, node: &Node, path: &str) -> Option<At<bool>> {
        match node.kind {
            Kind::Bool(b) => Some(At::new(b, node.pos, path)),
            _ => {
                self.err(
                    node.pos,
                    path,
                    format!("expected true or false, found {}", node.kind.describe()),
                );
                None
            }
        }
    }

    /// A list of strings; a single string counts as a list of one.
    pub fn strings(&mut self, node: &Node, path: &str) -> Vec<At<String>> {
        match &node.kind {
            Kind::Seq(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, n)| self.string(n, &format!("{path}[{i}]")))
                .collect(),
            Kind::Null => Vec::new(),
            _ => self.string(node, path).into_iter().collect(),
        }
    }

    /// A string → string mapping (tags, labels), each checked with `check`.
    pub fn string_map(&mut self, node: &Node, path: &str) -> Vec<Tag> {
        let Some(entries) = self.map(node, path) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            let p = join(path, &k.name);
            if let Some(value) = self.string(v, &p) {
                out.push(Tag {
                    key: At::new(k.name.clone(), k.pos, p),
                    value,
                });
            }
        }
        out
    }

    /// Tags, checked against IAM's tag rules.
    pub fn tags(&mut self, node: &Node, path: &str) -> Vec<Tag> {
        let tags = self.string_map(node, path);
        for t in &tags {
            self.check(&t.key, rules::tag_key(&t.key.value));
            self.check(&t.value, rules::tag_value(&t.key.value, &t.value.value));
            if t.key
                .value
                .starts_with(crate::desired::OWNERSHIP_TAG_PREFIX)
            {
                self.err(
                    t.key.pos,
                    &t.key.path,
                    format!(
                        "tag keys starting with `{}` are set by irsa itself: choose another key",
                        crate::desired::OWNERSHIP_TAG_PREFIX
                    ),
                );
            }
        }
        if tags.len() > rules::MAX_TAGS {
            self.err(
                node.pos,
                path,
                format!(
                    "{} tags; IAM allows at most {} per role (irsa adds 3 of its own)",
                    tags.len(),
                    rules::MAX_TAGS
                ),
            );
        }
        tags
    }

    /// A policy ARN (managed policy or permissions boundary), checked.
    pub fn policy_arn(&mut self, at: &At<String>) {
        if let Err(m) = rules::policy_arn(&at.value) {
            self.err(at.pos, &at.path, m);
        }
    }

    /// `irsa` or `pod-identity`.
    pub fn identity(&mut self, f: &Fields, path: &str) -> Option<At<crate::identity::Kind>> {
        let written = self.opt_string(f, "identity", path)?;
        match crate::identity::Kind::parse(&written.value) {
            Ok(kind) => Some(At::new(kind, written.pos, written.path)),
            Err(m) => {
                self.err(written.pos, &written.path, m);
                None
            }
        }
    }

    /// An IAM role ARN (`arn:<partition>:iam::<account>:role/<path><name>`), checked.
    pub fn role_arn(&mut self, at: &At<String>) {
        if let Err(m) = rules::role_arn(&at.value) {
            self.err(at.pos, &at.path, m);
        }
    }

    /// A preset name, checked against the catalog.
    pub fn preset(&mut self, at: &At<String>) {
        if crate::presets::find(&at.value).is_none() {
            self.err(at.pos, &at.path, unknown_preset(&at.value));
        }
    }

    /// An inline policy document written as YAML (or as a JSON string).
    pub fn policy_document(&mut self, node: &Node, path: &str) -> Option<At<serde_json::Value>> {
        let value = match &node.kind {
            Kind::Map(_) => node.to_json(),
            Kind::Str(s) => match serde_json::from_str::<serde_json::Value>(s) {
                Ok(v) => v,
                Err(e) => {
                    self.err(
                        node.pos,
                        path,
                        format!("the policy document string is not valid JSON: {e}"),
                    );
                    return None;
                }
            },
            other => {
                self.err(
                    node.pos,
                    path,
                    format!(
                        "expected a policy document (a mapping with Version and Statement), found {}",
                        other.describe()
                    ),
                );
                return None;
            }
        };
        if let Err(e) = crate::desired::check_policy_document(&value) {
            self.err(
                node.pos,
                path,
                format!("invalid policy document: {e}; fix the document"),
            );
            return None;
        }
        Some(At::new(value, node.pos, path))
    }
}

/// A binding on an existing role (`role.arn`, eksctl `attachRoleARN` …) names no policies,
/// role settings or Pod Identity target of its own: irsa does not change a role it does not own.
/// A preset may stay (it brings the default service account and add-on); its policies are not
/// applied.
pub(crate) fn existing_role_has_no_permissions(cx: &mut Ctx, b: &BindingSpec) {
    let Some(arn) = &b.role.arn else { return };
    let mut written: Vec<(Pos, &str)> = Vec::new();
    written.extend(b.managed_policies.iter().map(|a| (a.pos, a.path.as_str())));
    written.extend(b.inline_policies.iter().map(|a| (a.pos, a.path.as_str())));
    written.extend(b.policy_files.iter().map(|a| (a.pos, a.path.as_str())));
    for setting in [&b.role.name, &b.role.path, &b.role.permissions_boundary]
        .into_iter()
        .flatten()
    {
        written.push((setting.pos, setting.path.as_str()));
    }
    written.extend(b.role.tags.iter().map(|t| (t.key.pos, t.key.path.as_str())));
    for (pos, path) in written {
        cx.err(
            pos,
            path,
            format!(
                "the binding uses the existing role {} (line {}), which irsa does not change: remove this, or remove the role ARN to let irsa create and own the role",
                arn.value, arn.pos.line
            ),
        );
    }
}

/// "unknown preset" with the list of valid ones.
pub(crate) fn unknown_preset(name: &str) -> String {
    let names: Vec<&str> = crate::presets::catalog().iter().map(|p| p.name).collect();
    format!(
        "unknown preset `{name}`; valid presets: {} (see `irsa presets`)",
        names.join(", ")
    )
}

/// The allowed name closest to `name` (edit distance ≤ 2 or case-insensitive match).
fn closest<'a>(name: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed
        .iter()
        .map(|a| {
            (
                levenshtein(&name.to_ascii_lowercase(), &a.to_ascii_lowercase()),
                *a,
            )
        })
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests;
