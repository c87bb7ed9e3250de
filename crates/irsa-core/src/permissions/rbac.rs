//! The Kubernetes RBAC each command needs, and the ClusterRole manifest that grants it
//! (`irsa permissions --output rbac`): what `irsa_kube` requests (service accounts read,
//! created, merge-patched and deleted; namespaces; pods listed to find stale credentials, and
//! created, read and deleted for `verify --pod`; TokenRequest on `serviceaccounts/token`; the
//! API server's JWKS; ReplicaSets to find a pod's Deployment; workloads patched to restart).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use super::Command;

/// One rule: verbs on a resource of an API group ("" is the core group), or on a
/// non-resource URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub api_group: &'static str,
    /// A resource (`serviceaccounts/token` for a subresource), or a URL path starting with `/`.
    pub resource: &'static str,
    pub verbs: &'static [&'static str],
    pub why: &'static str,
    pub only: Option<&'static str>,
}

const fn rule(
    api_group: &'static str,
    resource: &'static str,
    verbs: &'static [&'static str],
    why: &'static str,
) -> Rule {
    Rule {
        api_group,
        resource,
        verbs,
        why,
        only: None,
    }
}

impl Rule {
    const fn only(self, only: &'static str) -> Rule {
        Rule {
            only: Some(only),
            ..self
        }
    }

    /// Whether the rule is for a non-resource URL (`/openid/v1/jwks`).
    pub fn is_url(&self) -> bool {
        self.resource.starts_with('/')
    }
}

const OBSERVE: &[Rule] = &[
    rule(
        "",
        "namespaces",
        &["get"],
        "check the spec's namespaces exist",
    ),
    rule(
        "",
        "serviceaccounts",
        &["get"],
        "read the spec's service accounts",
    ),
];

const APPLY: &[Rule] = &[
    rule("", "namespaces", &["create"], "create a missing namespace"),
    rule(
        "",
        "serviceaccounts",
        &["create", "patch"],
        "create or annotate service accounts",
    ),
    rule(
        "",
        "pods",
        &["list"],
        "find pods running without the new role",
    ),
    rule(
        "apps",
        "replicasets",
        &["get"],
        "find the Deployment of such a pod",
    ),
    rule(
        "apps",
        "deployments",
        &["get", "patch"],
        "restart those Deployments",
    )
    .only("--restart"),
];

const DESTROY: &[Rule] = &[rule(
    "",
    "serviceaccounts",
    &["delete"],
    "delete irsa's service accounts",
)];

const LINKED: &[Rule] = &[
    rule(
        "",
        "serviceaccounts",
        &["list", "get"],
        "find service accounts linked to roles",
    ),
    rule(
        "",
        "pods",
        &["list"],
        "count pods carrying the injected credentials",
    ),
    rule(
        "apps",
        "replicasets",
        &["get"],
        "name the workload of a stale pod",
    ),
];

const PROOF: &[Rule] = &[
    rule(
        "",
        "serviceaccounts/token",
        &["create"],
        "request a short-lived token (TokenRequest)",
    ),
    rule(
        "",
        "/openid/v1/jwks",
        &["get"],
        "check the token's signature",
    ),
];

const TEST_POD: &[Rule] = &[
    rule("", "pods", &["create", "get", "delete"], "run the test pod").only("--pod"),
    rule("", "pods/log", &["get"], "read the test pod's log").only("--pod"),
];

const DOCTOR: &[Rule] = &[
    rule(
        "apps",
        "deployments",
        &["get"],
        "check a workload uses the service account",
    ),
    rule(
        "apps",
        "daemonsets",
        &["get"],
        "check the Pod Identity agent runs",
    ),
];

const RESTARTS: &[Rule] = &[
    rule(
        "",
        "serviceaccounts",
        &["patch"],
        "annotate service accounts",
    ),
    rule(
        "apps",
        "deployments",
        &["get", "patch"],
        "restart workloads",
    ),
    rule("apps", "statefulsets", &["patch"], "restart workloads"),
    rule("apps", "daemonsets", &["get", "patch"], "restart workloads"),
];

/// The rules `command` needs.
pub fn rules(command: Command) -> Vec<Rule> {
    let groups: &[&[Rule]] = match command {
        Command::Plan => &[OBSERVE],
        Command::Apply => &[OBSERVE, APPLY],
        Command::Destroy => &[OBSERVE, DESTROY],
        Command::List => &[LINKED],
        Command::Verify => &[LINKED, PROOF, TEST_POD],
        Command::Doctor => &[LINKED, DOCTOR],
        Command::DoctorFix => &[RESTARTS],
        Command::Migrate => &[LINKED, PROOF, DOCTOR, RESTARTS],
        Command::Audit | Command::Usage => &[],
    };
    groups.iter().flat_map(|g| g.iter().copied()).collect()
}

/// A ClusterRole granting what `commands` need, one rule per API group and resource with the
/// union of their verbs.
pub fn cluster_role(commands: &[Command], name: &str) -> Value {
    let mut merged: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for rule in commands.iter().flat_map(|c| rules(*c)) {
        let verbs = merged.entry((rule.api_group, rule.resource)).or_default();
        verbs.extend(rule.verbs.iter().copied());
        verbs.sort_unstable();
        verbs.dedup();
    }
    let rules: Vec<Value> = merged
        .into_iter()
        .map(|((group, resource), verbs)| {
            if resource.starts_with('/') {
                json!({"nonResourceURLs": [resource], "verbs": verbs})
            } else {
                json!({"apiGroups": [group], "resources": [resource], "verbs": verbs})
            }
        })
        .collect();
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "irsa"}},
        "rules": rules,
    })
}

/// The rule to add for a refused request: `verb` on `resource` (`serviceaccounts`, or
/// `serviceaccounts/token`) of `api_group`, as one line of a Role's rules.
pub fn rule_line(api_group: &str, resource: &str, verb: &str) -> String {
    format!("{{apiGroups: [\"{api_group}\"], resources: [\"{resource}\"], verbs: [\"{verb}\"]}}")
}

/// [`cluster_role`] as YAML, ready for `kubectl apply -f -`.
pub fn cluster_role_yaml(commands: &[Command], name: &str) -> Result<String, String> {
    serde_saphyr::to_string(&cluster_role(commands, name)).map_err(|e| e.to_string())
}
