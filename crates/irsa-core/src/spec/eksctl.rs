//! Reader for eksctl `ClusterConfig` files (`apiVersion: eksctl.io/v1alpha5`), so eksctl users
//! can move over with the file they have: the cluster from `metadata`; `iam.withOIDC` (alone, a
//! spec for the OIDC provider only); each `iam.serviceAccounts[]` and
//! `iam.podIdentityAssociations[]` entry; the `addons[]` that carry a role (their own IAM fields,
//! their Pod Identity associations, or a role eksctl gives them by default, see
//! [`DEFAULT_ROLE_ADDONS`]); and `karpenter`. Each becomes a binding. Sections that are not about
//! workload IAM (vpc, nodeGroups, the cluster's own roles, …) are ignored, silently; unknown keys
//! inside the IAM entries are errors, since a typo there would silently change permissions.

use super::irsa::{check_cluster, check_service_account};
use super::node::{Kind, Node};
use super::{At, BindingSpec, Ctx, Fields, InstallSpec, Spec, join, rules};
use crate::identity::Kind as Identity;
use crate::steps::AddonSettings;

const IAM: &[&str] = &[
    "withOIDC",
    "serviceAccounts",
    "podIdentityAssociations",
    // The cluster's and Fargate's own roles: not workload identities, so not irsa's.
    "serviceRoleARN",
    "serviceRolePermissionsBoundary",
    "fargatePodExecutionRoleARN",
    "fargatePodExecutionRolePermissionsBoundary",
    "vpcResourceControllerPolicy",
];
const SERVICE_ACCOUNT: &[&str] = &[
    "metadata",
    "attachPolicyARNs",
    "wellKnownPolicies",
    "attachPolicy",
    "attachRoleARN",
    "permissionsBoundary",
    "roleName",
    "roleOnly",
    "tags",
    "status",
    "subjectPattern",
];
const SA_METADATA: &[&str] = &["name", "namespace", "labels", "annotations"];
const POD_IDENTITY: &[&str] = &[
    "namespace",
    "serviceAccountName",
    "createServiceAccount",
    "roleARN",
    "roleName",
    "permissionPolicyARNs",
    "permissionPolicy",
    "wellKnownPolicies",
    "permissionsBoundaryARN",
    "tags",
    "targetRoleARN",
    "disableSessionTags",
];
const ADDON: &[&str] = &[
    "name",
    "version",
    "tags",
    "serviceAccountRoleARN",
    "attachPolicyARNs",
    "attachPolicy",
    "permissionsBoundary",
    "wellKnownPolicies",
    "podIdentityAssociations",
    "useDefaultPodIdentityAssociations",
    "resolveConflicts",
    "configurationValues",
    // Filters for eksctl's add-on version listing: nothing to set up.
    "publishers",
    "types",
    "owners",
];
const ADDONS_CONFIG: &[&str] = &["autoApplyPodIdentityAssociations", "disableDefaultAddons"];
const KARPENTER: &[&str] = &[
    "version",
    "createServiceAccount",
    "defaultInstanceProfile",
    "withSpotInterruptionQueue",
];

/// eksctl's `wellKnownPolicies` keys; each maps onto the preset whose `eksctl_well_known` names it.
const WELL_KNOWN: &[&str] = &[
    "imageBuilder",
    "autoScaler",
    "awsLoadBalancerController",
    "externalDNS",
    "certManager",
    "ebsCSIController",
    "efsCSIController",
];

/// Add-ons eksctl gives an IRSA role without being asked (on a cluster `withOIDC`): the VPC CNI
/// (`AmazonEKS_CNI_Policy`) and the EBS and EFS CSI drivers (their well-known policies). Other
/// add-ons (coredns, kube-proxy, metrics-server, the Pod Identity agent) need no AWS permissions.
pub(crate) const DEFAULT_ROLE_ADDONS: &[&str] =
    &["vpc-cni", "aws-ebs-csi-driver", "aws-efs-csi-driver"];

/// Where Karpenter runs when eksctl installs it.
const KARPENTER_NAMESPACE: &str = "karpenter";

pub(super) fn read(cx: &mut Ctx, root: &Node, spec: &mut Spec) {
    let Some(top) = cx.map(root, "") else {
        return;
    };
    let top = Fields { entries: top };
    if let Some(v) = top.get("apiVersion")
        && let Some(s) = cx.string(v, "apiVersion")
        && s.value != "eksctl.io/v1alpha5"
    {
        cx.err(
            s.pos,
            &s.path,
            format!(
                "unsupported eksctl apiVersion `{}`; irsa reads `eksctl.io/v1alpha5`",
                s.value
            ),
        );
    }
    metadata(cx, root, top.get("metadata"), spec);
    check_cluster(cx, spec);
    if let Some(iam) = top.get("iam") {
        read_iam(cx, iam, spec);
    }
    let cluster = AddonCluster {
        auto_pod_identity: top
            .get("addonsConfig")
            .and_then(|n| addons_config(cx, n))
            .unwrap_or(false),
        ipv6: is_ipv6(top.get("kubernetesNetworkConfig")),
    };
    if let Some(addons) = top.get("addons") {
        for (i, item) in list(cx, addons, "addons").iter().enumerate() {
            let bindings = addon(cx, item, format!("addons[{i}]"), &cluster);
            spec.bindings.extend(bindings);
        }
    }
    if let Some(k) = top.get("karpenter") {
        let cluster = spec.cluster.name.as_ref().map(|n| n.value.clone());
        spec.bindings.extend(karpenter(cx, k, cluster.as_deref()));
    }
    let provider_only = spec.cluster.with_oidc.as_ref().is_some_and(|w| w.value);
    if spec.bindings.is_empty() && !provider_only && cx.errors.is_empty() {
        cx.err(
            root.pos,
            "iam",
            "this ClusterConfig sets up no workload identity: add `iam.withOIDC: true`, `iam.serviceAccounts`, `iam.podIdentityAssociations`, or an add-on with a role",
        );
    }
}

fn metadata(cx: &mut Ctx, root: &Node, node: Option<&Node>, spec: &mut Spec) {
    let Some(m) = node else {
        cx.err(
            root.pos,
            "metadata",
            "missing `metadata:` with the cluster `name` and `region`",
        );
        return;
    };
    let Some(entries) = cx.map(m, "metadata") else {
        return;
    };
    for (k, v) in entries {
        let p = join("metadata", &k.name);
        match k.name.as_str() {
            "name" => spec.cluster.name = cx.string(v, &p),
            "region" => spec.cluster.region = cx.string(v, &p),
            "tags" => spec.defaults.tags = cx.tags(v, &p),
            _ => {} // version, annotations, … : not irsa's concern
        }
    }
}

fn read_iam(cx: &mut Ctx, iam: &Node, spec: &mut Spec) {
    let Some(f) = cx.fields(iam, "iam", IAM) else {
        return;
    };
    if let Some(w) = f.get("withOIDC") {
        spec.cluster.with_oidc = cx.bool(w, "iam.withOIDC");
    }
    if let Some(n) = f.get("serviceAccounts") {
        for (i, item) in list(cx, n, "iam.serviceAccounts").iter().enumerate() {
            spec.bindings.extend(service_account(
                cx,
                item,
                format!("iam.serviceAccounts[{i}]"),
            ));
        }
    }
    if let Some(n) = f.get("podIdentityAssociations") {
        for (i, item) in list(cx, n, "iam.podIdentityAssociations")
            .iter()
            .enumerate()
        {
            let path = format!("iam.podIdentityAssociations[{i}]");
            spec.bindings
                .extend(pod_identity_association(cx, item, path, false));
        }
    }
}

/// The items of a list (`null` is an empty list).
fn list<'n>(cx: &mut Ctx, node: &'n Node, path: &str) -> &'n [Node] {
    match &node.kind {
        Kind::Seq(items) => items,
        Kind::Null => &[],
        other => {
            cx.err(
                node.pos,
                path,
                format!("expected a list, found {}", other.describe()),
            );
            &[]
        }
    }
}

fn service_account(cx: &mut Ctx, node: &Node, path: String) -> Option<BindingSpec> {
    let errors_before = cx.errors.len();
    let f = cx.fields(node, &path, SERVICE_ACCOUNT)?;
    let mut b = BindingSpec::new(node.pos, path.clone());
    match f.get("metadata") {
        Some(m) => service_account_metadata(cx, m, &join(&path, "metadata"), &mut b),
        None => cx.err(
            node.pos,
            &path,
            "missing `metadata` with the service account `name` and `namespace`",
        ),
    }
    if let Some(w) = f.get("wellKnownPolicies") {
        well_known(cx, w, &join(&path, "wellKnownPolicies"), &mut b);
    }
    policies(cx, &f, &path, ("attachPolicyARNs", "attachPolicy"), &mut b);
    existing_role(cx, &f, "attachRoleARN", &path, &mut b);
    role_settings(cx, &f, &path, ("roleName", "permissionsBoundary"), &mut b);
    if let Some(r) = f.get("roleOnly") {
        b.role_only = cx.bool(r, &join(&path, "roleOnly"));
    }
    if let Some(p) = f.get("subjectPattern") {
        b.subject_pattern = cx.string(p, &join(&path, "subjectPattern"));
        if let Some(at) = &b.subject_pattern {
            cx.check(at, rules::subject_pattern(&at.value));
        }
    }
    unmanaged_install(&mut b);
    finish(cx, node, &path, errors_before, &b);
    Some(b)
}

/// eksctl installs nothing for a service-account or association entry: a preset that would
/// install an EKS add-on (ebsCSIController, efsCSIController) gives its policies only. (Helm
/// presets keep their values file, which installs nothing by itself.)
fn unmanaged_install(b: &mut BindingSpec) {
    let addon_preset = b
        .preset
        .as_ref()
        .and_then(|p| crate::presets::find(&p.value))
        .is_some_and(|p| matches!(p.install, crate::presets::Install::EksAddon { .. }));
    if addon_preset && b.install.is_none() {
        b.install = Some(At::new(InstallSpec::Unmanaged, b.pos, b.path.clone()));
    }
}

fn service_account_metadata(cx: &mut Ctx, m: &Node, mp: &str, b: &mut BindingSpec) {
    let Some(md) = cx.fields(m, mp, SA_METADATA) else {
        return;
    };
    b.name = cx.opt_string(&md, "name", mp);
    // eksctl's default namespace.
    b.namespace = cx
        .opt_string(&md, "namespace", mp)
        .or_else(|| Some(At::new("default".to_string(), m.pos, join(mp, "namespace"))));
    if b.name.is_none() {
        cx.err(m.pos, mp, "missing the service account `name`");
    }
    if let Some(l) = md.get("labels") {
        b.labels = cx.string_map(l, &join(mp, "labels"));
    }
    if let Some(a) = md.get("annotations") {
        b.annotations = cx.string_map(a, &join(mp, "annotations"));
    }
    check_service_account(cx, b);
}

/// An `iam.podIdentityAssociations[]` entry, or (`for_addon`) one of an add-on's, whose service
/// account the add-on creates.
fn pod_identity_association(
    cx: &mut Ctx,
    node: &Node,
    path: String,
    for_addon: bool,
) -> Option<BindingSpec> {
    let errors_before = cx.errors.len();
    let f = cx.fields(node, &path, POD_IDENTITY)?;
    let mut b = BindingSpec::new(node.pos, path.clone());
    b.identity = Some(At::new(Identity::PodIdentity, node.pos, path.clone()));
    b.namespace = cx.opt_string(&f, "namespace", &path);
    b.name = cx.opt_string(&f, "serviceAccountName", &path);
    for (value, field) in [(&b.namespace, "namespace"), (&b.name, "serviceAccountName")] {
        if value.is_none() {
            cx.err(node.pos, &path, format!("missing `{field}`"));
        }
    }
    check_service_account(cx, &b);
    if let Some(w) = f.get("wellKnownPolicies") {
        well_known(cx, w, &join(&path, "wellKnownPolicies"), &mut b);
    }
    policies(
        cx,
        &f,
        &path,
        ("permissionPolicyARNs", "permissionPolicy"),
        &mut b,
    );
    existing_role(cx, &f, "roleARN", &path, &mut b);
    role_settings(
        cx,
        &f,
        &path,
        ("roleName", "permissionsBoundaryARN"),
        &mut b,
    );
    // eksctl leaves the service account to the workload unless told to create it.
    let create = match f.get("createServiceAccount") {
        Some(n) => cx.bool(n, &join(&path, "createServiceAccount")),
        None => Some(At::new(false, node.pos, path.clone())),
    };
    b.role_only = create.map(|c| At::new(!c.value, c.pos, c.path));
    b.pod_identity.target_role_arn = cx.opt_string(&f, "targetRoleARN", &path);
    if let Some(arn) = &b.pod_identity.target_role_arn {
        cx.role_arn(arn);
    }
    if let Some(n) = f.get("disableSessionTags") {
        b.pod_identity.disable_session_tags = cx.bool(n, &join(&path, "disableSessionTags"));
    }
    if for_addon {
        b.role_only = None;
    } else {
        unmanaged_install(&mut b);
    }
    finish(cx, node, &path, errors_before, &b);
    Some(b)
}

/// What the rest of the file says about the cluster that decides an add-on's default role.
struct AddonCluster {
    /// `addonsConfig.autoApplyPodIdentityAssociations`.
    auto_pod_identity: bool,
    /// `kubernetesNetworkConfig.ipFamily: IPv6`: the VPC CNI needs its IPv6 policy.
    ipv6: bool,
}

/// Whether `kubernetesNetworkConfig.ipFamily` is IPv6 (eksctl accepts any case). The section is
/// otherwise not irsa's, so a value of another shape is left to eksctl.
fn is_ipv6(network: Option<&Node>) -> bool {
    let Some(Kind::Map(entries)) = network.map(|n| &n.kind) else {
        return false;
    };
    entries.iter().any(|(k, v)| {
        k.name == "ipFamily" && v.scalar().is_some_and(|f| f.eq_ignore_ascii_case("ipv6"))
    })
}

/// An `addons[]` entry: the bindings it brings (none for an add-on without AWS permissions).
fn addon(cx: &mut Ctx, node: &Node, path: String, cluster: &AddonCluster) -> Vec<BindingSpec> {
    let errors_before = cx.errors.len();
    let Some(f) = cx.fields(node, &path, ADDON) else {
        return Vec::new();
    };
    let Some(name) = cx.opt_string(&f, "name", &path) else {
        cx.err(node.pos, &path, "missing the add-on `name`");
        return Vec::new();
    };
    let settings = addon_settings(cx, &f, &path);
    let mut b = BindingSpec::new(node.pos, path.clone());
    b.install = Some(addon_install(&name, settings.clone()));
    if let Some(w) = f.get("wellKnownPolicies") {
        well_known(cx, w, &join(&path, "wellKnownPolicies"), &mut b);
    }
    policies(cx, &f, &path, ("attachPolicyARNs", "attachPolicy"), &mut b);
    existing_role(cx, &f, "serviceAccountRoleARN", &path, &mut b);
    role_settings(cx, &f, &path, ("", "permissionsBoundary"), &mut b);
    if b.role.arn.is_some() {
        // eksctl puts these on the add-on and on the role it creates; an existing role keeps
        // its own tags.
        b.role.tags.clear();
    }
    let has_irsa = b.grants_permissions() || b.role.arn.is_some();
    let default_pod_identity = match f.get("useDefaultPodIdentityAssociations") {
        Some(n) => cx
            .bool(n, &join(&path, "useDefaultPodIdentityAssociations"))
            .is_some_and(|u| u.value),
        None => false,
    };
    let associations = f.get("podIdentityAssociations");
    if has_irsa && (default_pod_identity || associations.is_some()) {
        cx.err(name.pos, &path, "the IRSA fields (serviceAccountRoleARN, attachPolicyARNs, attachPolicy, wellKnownPolicies) and Pod Identity associations exclude each other, as in eksctl: choose one");
    }
    if let Some(n) = associations {
        return addon_associations(
            cx,
            n,
            &join(&path, "podIdentityAssociations"),
            &name,
            &settings,
        );
    }
    if !has_irsa && !default_role(cx, &mut b, &name, cluster, default_pod_identity) {
        // An add-on without AWS permissions: EKS installs it, irsa has nothing to set up.
        return Vec::new();
    }
    if b.role.arn.is_some() || b.preset.is_none() {
        addon_service_account(cx, &mut b, &name);
    }
    finish(cx, node, &path, errors_before, &b);
    vec![b]
}

/// An add-on's `podIdentityAssociations` (one, the controller's: irsa binds one service account
/// per add-on).
fn addon_associations(
    cx: &mut Ctx,
    n: &Node,
    p: &str,
    name: &At<String>,
    settings: &AddonSettings,
) -> Vec<BindingSpec> {
    let items = list(cx, n, p);
    if items.len() > 1 {
        cx.err(n.pos, p, format!("irsa binds one service account per add-on and {} has {}: keep the controller's association here and bind the others under iam.podIdentityAssociations", name.value, items.len()));
    }
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| {
            let mut b = pod_identity_association(cx, item, format!("{p}[{i}]"), true)?;
            b.install = Some(addon_install(name, settings.clone()));
            Some(b)
        })
        .collect()
}

/// The role an add-on without IAM fields gets: its preset's, when eksctl gives it one by default
/// ([`DEFAULT_ROLE_ADDONS`]) or Pod Identity is asked for (the add-on's
/// `useDefaultPodIdentityAssociations`, or `addonsConfig.autoApplyPodIdentityAssociations`).
/// `false`: none.
fn default_role(
    cx: &mut Ctx,
    b: &mut BindingSpec,
    name: &At<String>,
    cluster: &AddonCluster,
    default_pod_identity: bool,
) -> bool {
    let by_default = DEFAULT_ROLE_ADDONS.contains(&name.value.as_str());
    let pod_identity = default_pod_identity || cluster.auto_pod_identity;
    let Some(preset) =
        crate::presets::for_addon(&name.value).filter(|_| by_default || pod_identity)
    else {
        if default_pod_identity {
            cx.err(name.pos, &name.path, format!("irsa has no preset for add-on {} to take its recommended role from: list its podIdentityAssociations with a role or policies", name.value));
        }
        return false;
    };
    b.preset = Some(At::new(preset.name.to_string(), name.pos, &name.path));
    if cluster.ipv6 && name.value == "vpc-cni" {
        let option = ("ipFamily".to_string(), vec!["ipv6".to_string()]);
        b.options.push(At::new(option, name.pos, &name.path));
    }
    if pod_identity {
        b.identity = Some(At::new(Identity::PodIdentity, name.pos, &name.path));
    }
    true
}

/// Which service account an add-on's role is for: the add-on's own, known from its preset.
fn addon_service_account(cx: &mut Ctx, b: &mut BindingSpec, name: &At<String>) {
    match crate::presets::for_addon(&name.value) {
        Some(p) => {
            b.namespace = Some(At::new(p.namespace.to_string(), name.pos, &name.path));
            b.name = Some(At::new(p.service_account.to_string(), name.pos, &name.path));
        }
        None => cx.err(name.pos, &name.path, format!("irsa does not know which service account add-on {} runs as: bind it with podIdentityAssociations (namespace, serviceAccountName) instead", name.value)),
    }
}

fn addon_install(name: &At<String>, settings: AddonSettings) -> At<InstallSpec> {
    At::new(
        InstallSpec::Addon {
            name: Some(name.value.clone()),
            settings,
        },
        name.pos,
        name.path.clone(),
    )
}

/// `version`, `configurationValues` (JSON, or YAML turned into JSON as eksctl does) and
/// `resolveConflicts` (`none`, `overwrite`, `preserve`, any case).
fn addon_settings(cx: &mut Ctx, f: &Fields, path: &str) -> AddonSettings {
    let mut settings = AddonSettings::default();
    if let Some(v) = cx.opt_string(f, "version", path) {
        settings.version = (!v.value.eq_ignore_ascii_case("latest")).then_some(v.value);
    }
    if let Some(n) = f.get("configurationValues") {
        let p = join(path, "configurationValues");
        settings.configuration_values = configuration_values(cx, n, &p);
    }
    if let Some(r) = cx.opt_string(f, "resolveConflicts", path) {
        let upper = r.value.to_ascii_uppercase();
        if AddonSettings::RESOLVE_CONFLICTS.contains(&upper.as_str()) {
            settings.resolve_conflicts = Some(upper);
        } else {
            cx.err(
                r.pos,
                &r.path,
                format!(
                    "`{}` is not a resolveConflicts value: use none, overwrite or preserve",
                    r.value
                ),
            );
        }
    }
    settings
}

/// The add-on configuration as JSON text: a JSON or YAML string, or a mapping written inline.
fn configuration_values(cx: &mut Ctx, node: &Node, path: &str) -> Option<String> {
    let value = match &node.kind {
        Kind::Map(_) => node.to_json(),
        Kind::Str(s) => match serde_json::from_str::<serde_json::Value>(s) {
            Ok(v) => v,
            Err(_) => match serde_saphyr::from_str::<serde_json::Value>(s) {
                Ok(v) => v,
                Err(e) => {
                    let first = e.to_string().lines().next().unwrap_or_default().to_string();
                    cx.err(node.pos, path, format!("the configuration values are neither JSON nor YAML ({first}): write a mapping such as '{{\"replicaCount\": 2}}'"));
                    return None;
                }
            },
        },
        other => {
            cx.err(
                node.pos,
                path,
                format!(
                    "expected the add-on's configuration (a JSON or YAML mapping), found {}",
                    other.describe()
                ),
            );
            return None;
        }
    };
    if !value.is_object() {
        cx.err(node.pos, path, "the add-on's configuration values must be a mapping (EKS checks them against the add-on's configuration schema)");
        return None;
    }
    Some(value.to_string())
}

fn addons_config(cx: &mut Ctx, node: &Node) -> Option<bool> {
    let f = cx.fields(node, "addonsConfig", ADDONS_CONFIG)?;
    let n = f.get("autoApplyPodIdentityAssociations")?;
    cx.bool(n, "addonsConfig.autoApplyPodIdentityAssociations")
        .map(|a| a.value)
}

/// `karpenter:` → the Karpenter controller's binding (`karpenter/karpenter`, as eksctl installs
/// it), with the interruption queue eksctl creates (named after the cluster) when asked.
fn karpenter(cx: &mut Ctx, node: &Node, cluster: Option<&str>) -> Option<BindingSpec> {
    let f = cx.fields(node, "karpenter", KARPENTER)?;
    let mut b = BindingSpec::new(node.pos, "karpenter".to_string());
    let at = |v: &str| At::new(v.to_string(), node.pos, "karpenter");
    b.preset = Some(at("karpenter"));
    b.namespace = Some(at(KARPENTER_NAMESPACE));
    b.name = Some(at("karpenter"));
    if let Some(n) = f.get("createServiceAccount") {
        b.role_only = cx
            .bool(n, "karpenter.createServiceAccount")
            .map(|c| At::new(!c.value, c.pos, c.path));
    }
    if let Some(n) = f.get("withSpotInterruptionQueue")
        && let Some(q) = cx.bool(n, "karpenter.withSpotInterruptionQueue")
        && q.value
    {
        match cluster {
            Some(name) => b.options.push(At::new(
                ("interruptionQueueName".to_string(), vec![name.to_string()]),
                q.pos,
                q.path,
            )),
            None => cx.err(
                q.pos,
                &q.path,
                "the interruption queue is named after the cluster: set `metadata.name`",
            ),
        }
    }
    Some(b)
}

/// `wellKnownPolicies`: the presets it turns on; the first decides the default service account.
fn well_known(cx: &mut Ctx, w: &Node, wp: &str, b: &mut BindingSpec) {
    let Some(wf) = cx.fields(w, wp, WELL_KNOWN) else {
        return;
    };
    for (k, v) in wf.entries() {
        let kp = join(wp, &k.name);
        let Some(on) = cx.bool(v, &kp) else { continue };
        if !on.value {
            continue;
        }
        let Some(preset) = crate::presets::for_eksctl_well_known(&k.name) else {
            cx.err(k.pos, &kp, format!("wellKnownPolicies.{} is not supported by irsa yet; use attachPolicyARNs or attachPolicy instead", k.name));
            continue;
        };
        let at = At::new(preset.name.to_string(), k.pos, kp);
        if b.preset.is_none() {
            b.preset = Some(at);
        } else {
            b.extra_presets.push(at);
        }
    }
}

/// Policy ARNs and an inline document, under the keys this entry kind uses.
fn policies(cx: &mut Ctx, f: &Fields, path: &str, (arns, doc): (&str, &str), b: &mut BindingSpec) {
    if let Some(a) = f.get(arns) {
        b.managed_policies = cx.strings(a, &join(path, arns));
        for arn in &b.managed_policies {
            cx.policy_arn(arn);
        }
    }
    if let Some(a) = f.get(doc) {
        b.inline_policies
            .extend(cx.policy_document(a, &join(path, doc)));
    }
}

/// An existing role, checked as a role ARN.
fn existing_role(cx: &mut Ctx, f: &Fields, key: &str, path: &str, b: &mut BindingSpec) {
    b.role.arn = cx.opt_string(f, key, path);
    if let Some(arn) = &b.role.arn {
        cx.role_arn(arn);
    }
}

/// The role name (empty key: the entry has none), boundary and tags.
fn role_settings(
    cx: &mut Ctx,
    f: &Fields,
    path: &str,
    (name, boundary): (&str, &str),
    b: &mut BindingSpec,
) {
    if !name.is_empty() {
        b.role.name = cx.opt_string(f, name, path);
        if let Some(v) = &b.role.name {
            cx.check(v, rules::role_name(&v.value));
        }
    }
    b.role.permissions_boundary = cx.opt_string(f, boundary, path);
    if let Some(v) = &b.role.permissions_boundary {
        cx.policy_arn(v);
    }
    if let Some(t) = f.get("tags") {
        b.role.tags = cx.tags(t, &join(path, "tags"));
    }
}

/// The checks every entry ends with: an existing role takes no permissions of its own; any other
/// role needs some.
fn finish(cx: &mut Ctx, node: &Node, path: &str, errors_before: usize, b: &BindingSpec) {
    if b.role.arn.is_some() {
        super::existing_role_has_no_permissions(cx, b);
    } else if !b.grants_permissions() && cx.errors.len() == errors_before {
        cx.err(node.pos, path, "this entry gets no permissions: add wellKnownPolicies, policy ARNs, a policy document, or the ARN of an existing role");
    }
}

#[cfg(test)]
mod tests;
