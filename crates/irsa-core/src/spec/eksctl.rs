//! Reader for eksctl `ClusterConfig` files (`apiVersion: eksctl.io/v1alpha5`), so eksctl users
//! can move over: the cluster from `metadata`, and each `iam.serviceAccounts[]` entry becomes a
//! binding. Sections irsa has no use for (vpc, nodeGroups, managedNodeGroups, addons, …) are
//! accepted and ignored; unknown keys inside a service-account entry are errors, since a typo
//! there would silently change permissions.

use super::irsa::{check_cluster, check_service_account};
use super::node::{Kind, Node};
use super::{At, BindingSpec, Ctx, Spec, join, rules};

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
];
const SA_METADATA: &[&str] = &["name", "namespace", "labels", "annotations"];

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

pub(super) fn read(cx: &mut Ctx, root: &Node, spec: &mut Spec) {
    let Some(top) = cx.map(root, "") else {
        return;
    };
    let get = |name: &str| top.iter().find(|(k, _)| k.name == name).map(|(_, v)| v);
    if let Some(v) = get("apiVersion")
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

    match get("metadata") {
        Some(m) => {
            if let Some(entries) = cx.map(m, "metadata") {
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
        }
        None => cx.err(
            root.pos,
            "metadata",
            "missing `metadata:` with the cluster `name` and `region`",
        ),
    }
    check_cluster(cx, spec);

    let Some(iam) = get("iam") else {
        cx.err(
            root.pos,
            "iam",
            "no `iam.serviceAccounts` in this ClusterConfig: nothing for irsa to do",
        );
        return;
    };
    let Some(iam_entries) = cx.map(iam, "iam") else {
        return;
    };
    let iam_get = |name: &str| {
        iam_entries
            .iter()
            .find(|(k, _)| k.name == name)
            .map(|(_, v)| v)
    };
    if let Some(w) = iam_get("withOIDC") {
        spec.cluster.with_oidc = cx.bool(w, "iam.withOIDC");
    }
    let Some(n) = iam_get("serviceAccounts") else {
        cx.err(
            iam.pos,
            "iam.serviceAccounts",
            "no `iam.serviceAccounts` in this ClusterConfig: nothing for irsa to do",
        );
        return;
    };
    match &n.kind {
        Kind::Seq(items) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                if let Some(b) = service_account(cx, item, format!("iam.serviceAccounts[{i}]")) {
                    spec.bindings.push(b);
                }
            }
        }
        Kind::Seq(_) | Kind::Null => cx.err(
            n.pos,
            "iam.serviceAccounts",
            "no service accounts listed: nothing for irsa to do",
        ),
        other => cx.err(
            n.pos,
            "iam.serviceAccounts",
            format!("expected a list, found {}", other.describe()),
        ),
    }
}

fn service_account(cx: &mut Ctx, node: &Node, path: String) -> Option<BindingSpec> {
    let errors_before = cx.errors.len();
    let f = cx.fields(node, &path, SERVICE_ACCOUNT)?;
    let mut b = BindingSpec::new(node.pos, path.clone());

    match f.get("metadata") {
        Some(m) => {
            let mp = join(&path, "metadata");
            if let Some(md) = cx.fields(m, &mp, SA_METADATA) {
                b.name = cx.opt_string(&md, "name", &mp);
                // eksctl's default namespace.
                b.namespace = cx.opt_string(&md, "namespace", &mp).or_else(|| {
                    Some(At::new(
                        "default".to_string(),
                        m.pos,
                        join(&mp, "namespace"),
                    ))
                });
                if b.name.is_none() {
                    cx.err(m.pos, &mp, "missing the service account `name`");
                }
                if let Some(l) = md.get("labels") {
                    b.labels = cx.string_map(l, &join(&mp, "labels"));
                }
                if let Some(a) = md.get("annotations") {
                    b.annotations = cx.string_map(a, &join(&mp, "annotations"));
                }
            }
            check_service_account(cx, &b);
        }
        None => cx.err(
            node.pos,
            &path,
            "missing `metadata` with the service account `name` and `namespace`",
        ),
    }

    if let Some(w) = f.get("wellKnownPolicies") {
        let wp = join(&path, "wellKnownPolicies");
        if let Some(wf) = cx.fields(w, &wp, WELL_KNOWN) {
            for (k, v) in wf.entries() {
                let kp = join(&wp, &k.name);
                let Some(on) = cx.bool(v, &kp) else { continue };
                if !on.value {
                    continue;
                }
                let Some(preset) = crate::presets::for_eksctl_well_known(&k.name) else {
                    cx.err(
                        k.pos,
                        &kp,
                        format!(
                            "wellKnownPolicies.{} is not supported by irsa yet; use attachPolicyARNs or attachPolicy instead",
                            k.name
                        ),
                    );
                    continue;
                };
                if let Some(first) = &b.preset {
                    cx.err(
                        k.pos,
                        &kp,
                        format!(
                            "irsa binds one preset per service account and this one already has `{}` (line {}); give each its own service account",
                            first.value, first.pos.line
                        ),
                    );
                } else {
                    b.preset = Some(At::new(preset.name.to_string(), k.pos, kp));
                }
            }
        }
    }

    if let Some(a) = f.get("attachPolicyARNs") {
        b.managed_policies = cx.strings(a, &join(&path, "attachPolicyARNs"));
        for arn in &b.managed_policies {
            cx.policy_arn(arn);
        }
    }
    if let Some(a) = f.get("attachPolicy") {
        b.inline_policies
            .extend(cx.policy_document(a, &join(&path, "attachPolicy")));
    }
    if let Some(a) = f.get("attachRoleARN") {
        cx.err(
            a.pos,
            &join(&path, "attachRoleARN"),
            "irsa creates and manages the role itself; remove attachRoleARN and describe the role's policies with attachPolicyARNs or attachPolicy",
        );
    }
    b.role.permissions_boundary = cx.opt_string(&f, "permissionsBoundary", &path);
    if let Some(v) = &b.role.permissions_boundary {
        cx.policy_arn(v);
    }
    b.role.name = cx.opt_string(&f, "roleName", &path);
    if let Some(v) = &b.role.name {
        cx.check(v, rules::role_name(&v.value));
    }
    if let Some(r) = f.get("roleOnly") {
        b.role_only = cx.bool(r, &join(&path, "roleOnly"));
    }
    if let Some(t) = f.get("tags") {
        b.role.tags = cx.tags(t, &join(&path, "tags"));
    }

    if b.preset.is_none()
        && b.managed_policies.is_empty()
        && b.inline_policies.is_empty()
        && cx.errors.len() == errors_before
    {
        cx.err(
            node.pos,
            &path,
            "this service account gets no permissions: add wellKnownPolicies, attachPolicyARNs or attachPolicy",
        );
    }
    Some(b)
}
