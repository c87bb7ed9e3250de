//! Reader for irsa's own `irsa.yaml` (optionally headed `apiVersion: irsa/v1`,
//! `kind: IrsaConfig`).

use super::node::{Kind, Node};
use super::{At, BindingSpec, Ctx, InstallSpec, Spec, join, rules};

const TOP: &[&str] = &["apiVersion", "kind", "cluster", "defaults", "bindings"];
const CLUSTER: &[&str] = &["name", "region", "account"];
const DEFAULTS: &[&str] = &["rolePath", "permissionsBoundary", "tags", "identity"];
const BINDING: &[&str] = &[
    "serviceAccount",
    "serviceAccountPattern",
    "preset",
    "options",
    "role",
    "policies",
    "roleOnly",
    "audience",
    "identity",
    "targetRoleArn",
    "disableSessionTags",
    "sessionPolicy",
    "install",
];
const ROLE: &[&str] = &["arn", "name", "path", "permissionsBoundary", "tags"];
const POLICIES: &[&str] = &["managed", "inline", "files"];
const SERVICE_ACCOUNT: &[&str] = &["namespace", "name"];
const INSTALL: &[&str] = &["addon", "helm"];
const HELM: &[&str] = &["repo", "chart", "serviceAccountValues"];

pub(crate) const API_VERSION: &str = "irsa/v1";
pub(crate) const KIND: &str = "IrsaConfig";

pub(super) fn read(cx: &mut Ctx, root: &Node, spec: &mut Spec) {
    let Some(top) = cx.fields(root, "", TOP) else {
        return;
    };
    if let Some(v) = cx.opt_string(&top, "apiVersion", "")
        && v.value != API_VERSION
    {
        cx.err(
            v.pos,
            &v.path,
            format!(
                "unsupported apiVersion `{}`; irsa reads `{API_VERSION}` or an eksctl ClusterConfig (`eksctl.io/v1alpha5`)",
                v.value
            ),
        );
    }
    if let Some(v) = cx.opt_string(&top, "kind", "")
        && v.value != KIND
    {
        cx.err(
            v.pos,
            &v.path,
            format!(
                "unsupported kind `{}`; irsa reads kind `{KIND}` or an eksctl `ClusterConfig`",
                v.value
            ),
        );
    }

    match top.get("cluster") {
        Some(n) => {
            if let Some(c) = cx.fields(n, "cluster", CLUSTER) {
                spec.cluster.name = cx.opt_string(&c, "name", "cluster");
                spec.cluster.region = cx.opt_string(&c, "region", "cluster");
                spec.cluster.account = cx.opt_string(&c, "account", "cluster");
            }
        }
        None => cx.err(
            root.pos,
            "cluster",
            "missing `cluster:`; add `cluster: {name: NAME, region: REGION}`",
        ),
    }
    check_cluster(cx, spec);

    if let Some(n) = top.get("defaults")
        && let Some(d) = cx.fields(n, "defaults", DEFAULTS)
    {
        spec.defaults.role_path = cx.opt_string(&d, "rolePath", "defaults");
        if let Some(p) = &spec.defaults.role_path {
            cx.check(p, rules::role_path(&p.value));
        }
        spec.defaults.permissions_boundary = cx.opt_string(&d, "permissionsBoundary", "defaults");
        if let Some(b) = &spec.defaults.permissions_boundary {
            cx.policy_arn(b);
        }
        if let Some(t) = d.get("tags") {
            spec.defaults.tags = cx.tags(t, "defaults.tags");
        }
        spec.defaults.identity = cx.identity(&d, "defaults");
    }

    match top.get("bindings") {
        Some(n) => match &n.kind {
            Kind::Seq(items) if !items.is_empty() => {
                for (i, item) in items.iter().enumerate() {
                    if let Some(b) = binding(cx, item, format!("bindings[{i}]")) {
                        spec.bindings.push(b);
                    }
                }
            }
            Kind::Seq(_) | Kind::Null => cx.err(
                n.pos,
                "bindings",
                "no bindings; list at least one (e.g. `- preset: cluster-autoscaler`)",
            ),
            other => cx.err(
                n.pos,
                "bindings",
                format!("expected a list of bindings, found {}", other.describe()),
            ),
        },
        None => cx.err(
            root.pos,
            "bindings",
            "missing `bindings:`; list the service accounts to bind (e.g. `- preset: cluster-autoscaler`)",
        ),
    }
}

/// Checks the cluster values written (shared with the eksctl reader).
pub(super) fn check_cluster(cx: &mut Ctx, spec: &Spec) {
    if let Some(v) = &spec.cluster.name {
        cx.check(v, rules::cluster_name(&v.value));
    }
    if let Some(v) = &spec.cluster.region {
        cx.check(v, rules::region(&v.value));
    }
    if let Some(v) = &spec.cluster.account {
        cx.check(v, rules::account(&v.value));
    }
}

/// Checks a namespace and service-account name written in the spec.
pub(super) fn check_service_account(cx: &mut Ctx, b: &BindingSpec) {
    if let Some(ns) = &b.namespace {
        cx.check(ns, rules::namespace(&ns.value));
    }
    if let Some(n) = &b.name {
        cx.check(n, rules::service_account_name(&n.value));
    }
}

fn binding(cx: &mut Ctx, node: &Node, path: String) -> Option<BindingSpec> {
    let errors_before = cx.errors.len();
    let f = cx.fields(node, &path, BINDING)?;
    let mut b = BindingSpec::new(node.pos, path.clone());

    if let Some(n) = f.get("serviceAccount") {
        let p = join(&path, "serviceAccount");
        match &n.kind {
            Kind::Map(_) => {
                if let Some(sa) = cx.fields(n, &p, SERVICE_ACCOUNT) {
                    b.namespace = cx.opt_string(&sa, "namespace", &p);
                    b.name = cx.opt_string(&sa, "name", &p);
                    if b.name.is_none() {
                        cx.err(n.pos, &p, "missing `name` of the service account");
                    }
                }
            }
            _ => {
                if let Some(s) = cx.string(n, &p) {
                    match s.value.split_once('/') {
                        Some((ns, name)) => {
                            b.namespace = Some(At::new(ns.to_string(), s.pos, &p));
                            b.name = Some(At::new(name.to_string(), s.pos, &p));
                        }
                        None => cx.err(
                            s.pos,
                            &p,
                            format!(
                                "\"{}\" has no namespace; write NAMESPACE/NAME, e.g. kube-system/{}",
                                s.value, s.value
                            ),
                        ),
                    }
                }
            }
        }
        check_service_account(cx, &b);
    }

    if let Some(n) = f.get("serviceAccountPattern") {
        b.subject_pattern = service_account_pattern(cx, n, &join(&path, "serviceAccountPattern"));
    }
    b.preset = cx.opt_string(&f, "preset", &path);
    if let Some(p) = &b.preset {
        cx.preset(p);
    }
    if let Some(n) = f.get("options") {
        let p = join(&path, "options");
        if b.preset.is_none() {
            cx.err(
                n.pos,
                &p,
                "`options` are preset options, but this binding has no `preset`",
            );
        }
        if let Some(entries) = cx.map(n, &p) {
            for (k, v) in entries {
                let op = join(&p, &k.name);
                let values = cx.strings(v, &op).into_iter().map(|s| s.value).collect();
                b.options.push(At::new((k.name.clone(), values), k.pos, op));
            }
        }
    }

    if let Some(n) = f.get("role") {
        let p = join(&path, "role");
        if let Some(r) = cx.fields(n, &p, ROLE) {
            b.role.arn = cx.opt_string(&r, "arn", &p);
            if let Some(arn) = &b.role.arn {
                cx.role_arn(arn);
            }
            b.role.name = cx.opt_string(&r, "name", &p);
            if let Some(v) = &b.role.name {
                cx.check(
                    v,
                    rules::role_name(&v.value).map_err(|m| {
                        format!("{m} (or leave `role.name` out to use irsa's generated name)")
                    }),
                );
            }
            b.role.path = cx.opt_string(&r, "path", &p);
            if let Some(v) = &b.role.path {
                cx.check(v, rules::role_path(&v.value));
            }
            b.role.permissions_boundary = cx.opt_string(&r, "permissionsBoundary", &p);
            if let Some(v) = &b.role.permissions_boundary {
                cx.policy_arn(v);
            }
            if let Some(t) = r.get("tags") {
                b.role.tags = cx.tags(t, &join(&p, "tags"));
            }
        }
    }

    if let Some(n) = f.get("policies") {
        let p = join(&path, "policies");
        if let Some(pf) = cx.fields(n, &p, POLICIES) {
            if let Some(m) = pf.get("managed") {
                b.managed_policies = cx.strings(m, &join(&p, "managed"));
                for a in &b.managed_policies {
                    cx.policy_arn(a);
                }
            }
            if let Some(i) = pf.get("inline") {
                let ip = join(&p, "inline");
                match &i.kind {
                    Kind::Seq(items) => {
                        for (k, item) in items.iter().enumerate() {
                            b.inline_policies
                                .extend(cx.policy_document(item, &format!("{ip}[{k}]")));
                        }
                    }
                    _ => b.inline_policies.extend(cx.policy_document(i, &ip)),
                }
            }
            if let Some(files) = pf.get("files") {
                b.policy_files = cx.strings(files, &join(&p, "files"));
                for file in &b.policy_files {
                    if file.value.trim().is_empty() {
                        cx.err(
                            file.pos,
                            &file.path,
                            "empty file name: give the path of a JSON policy document, relative to this file",
                        );
                    }
                }
            }
        }
    }

    if let Some(n) = f.get("roleOnly") {
        b.role_only = cx.bool(n, &join(&path, "roleOnly"));
    }
    b.audience = cx.opt_string(&f, "audience", &path);
    if let Some(a) = &b.audience {
        cx.check(a, rules::audience(&a.value));
    }
    b.identity = cx.identity(&f, &path);
    pod_identity_options(cx, &f, &path, &mut b);
    if let Some(n) = f.get("install") {
        b.install = install(cx, n, &join(&path, "install"));
    }

    if b.preset.is_none()
        && f.get("serviceAccount").is_none()
        && f.get("serviceAccountPattern").is_none()
    {
        cx.err(
            node.pos,
            &path,
            "a binding needs a `serviceAccount: NAMESPACE/NAME` or a `preset` (which brings its default service account)",
        );
    }
    if b.role.arn.is_some() {
        super::existing_role_has_no_permissions(cx, &b);
    } else if !b.grants_permissions() && cx.errors.len() == errors_before {
        cx.err(
            node.pos,
            &path,
            "this binding grants no permissions: add a `preset` or `policies` (managed, inline or files)",
        );
    }
    Some(b)
}

/// `serviceAccountPattern: NAMESPACE/NAME-PATTERN` as the token subject it matches.
fn service_account_pattern(cx: &mut Ctx, node: &Node, path: &str) -> Option<At<String>> {
    let written = cx.string(node, path)?;
    let Some((namespace, name)) = written.value.split_once('/') else {
        cx.err(
            written.pos,
            path,
            format!(
                "\"{}\" has no namespace; write NAMESPACE/NAME-PATTERN, e.g. apps/worker-*",
                written.value
            ),
        );
        return None;
    };
    let subject = iam_policy::trust::service_account_subject(namespace, name);
    let at = At::new(subject, written.pos, path);
    cx.check(&at, rules::subject_pattern(&at.value));
    Some(at)
}

/// `targetRoleArn`, `disableSessionTags` and `sessionPolicy`, each checked on its own (whether
/// they fit the binding's identity is decided with the defaults, in `desired`).
fn pod_identity_options(cx: &mut Ctx, f: &super::Fields, path: &str, b: &mut BindingSpec) {
    b.pod_identity.target_role_arn = cx.opt_string(f, "targetRoleArn", path);
    if let Some(arn) = &b.pod_identity.target_role_arn {
        cx.role_arn(arn);
    }
    if let Some(n) = f.get("disableSessionTags") {
        b.pod_identity.disable_session_tags = cx.bool(n, &join(path, "disableSessionTags"));
    }
    if let Some(n) = f.get("sessionPolicy") {
        b.pod_identity.session_policy = cx.policy_document(n, &join(path, "sessionPolicy"));
    }
}

fn install(cx: &mut Ctx, node: &Node, path: &str) -> Option<At<InstallSpec>> {
    let spec = match &node.kind {
        Kind::Str(s) if s == "addon" => InstallSpec::Addon {
            name: None,
            settings: Default::default(),
        },
        Kind::Str(s) if s == "helm" => InstallSpec::Helm {
            repo: None,
            chart: None,
            service_account_values: None,
        },
        Kind::Map(_) => {
            let f = cx.fields(node, path, INSTALL)?;
            match (f.get("addon"), f.get("helm")) {
                (Some(_), Some(_)) => {
                    cx.err(node.pos, path, "choose one of `addon` and `helm`, not both");
                    return None;
                }
                (Some(a), None) => InstallSpec::Addon {
                    name: cx.string(a, &join(path, "addon")).map(|s| s.value),
                    settings: Default::default(),
                },
                (None, Some(h)) => {
                    let hp = join(path, "helm");
                    let hf = cx.fields(h, &hp, HELM)?;
                    InstallSpec::Helm {
                        repo: cx.opt_string(&hf, "repo", &hp).map(|s| s.value),
                        chart: cx.opt_string(&hf, "chart", &hp).map(|s| s.value),
                        service_account_values: cx
                            .opt_string(&hf, "serviceAccountValues", &hp)
                            .map(|s| s.value),
                    }
                }
                (None, None) => {
                    cx.err(
                        node.pos,
                        path,
                        "empty `install`; write `install: {addon: NAME}` or `install: {helm: {chart: NAME}}`",
                    );
                    return None;
                }
            }
        }
        other => {
            cx.err(
                node.pos,
                path,
                format!(
                    "expected `addon`, `helm` or a mapping like `{{addon: aws-ebs-csi-driver}}`, found {}",
                    other.describe()
                ),
            );
            return None;
        }
    };
    Some(At::new(spec, node.pos, path))
}
