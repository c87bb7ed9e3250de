//! The resource types the fake serves, with the names the real API uses for them: the URL
//! prefix (`/api/v1`, `/apis/apps/v1`), the plural in the path, the `kind` of objects and
//! lists, and whether objects live in a namespace; beside that identity, what can be done with
//! them (after kube-core's `ApiResource` / `ApiCapabilities`): the verbs served, the short
//! names and categories kubectl resolves (`sa`, `deploy`, `all`) and the subresources
//! (`pods/log`, `serviceaccounts/token`). Adding a type is one constant here and one entry in
//! [`RESOURCES`]; routes, discovery (see [`super::discovery`]), errors and lists follow from it.

/// One resource type of the Kubernetes API, as the fake serves it.
#[derive(Debug, PartialEq, Eq)]
pub struct ResourceType {
    /// API group; empty for the core group.
    pub group: &'static str,
    pub version: &'static str,
    /// The plural used in paths (`serviceaccounts`).
    pub plural: &'static str,
    /// `kind` of one object (`ServiceAccount`); lists are `<kind>List`.
    pub kind: &'static str,
    pub namespaced: bool,
    /// What may be done with it, as discovery lists it.
    pub capabilities: Capabilities,
}

/// What the fake serves for one resource type (kube-core's `ApiCapabilities`).
#[derive(Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// The lower-case singular (`serviceaccount`).
    pub singular: &'static str,
    /// The verbs served, in discovery's words.
    pub verbs: &'static [&'static str],
    /// Abbreviations kubectl accepts (`sa`).
    pub short_names: &'static [&'static str],
    /// Groups of types kubectl expands (`all`).
    pub categories: &'static [&'static str],
    pub subresources: &'static [Subresource],
}

/// A subresource the fake serves under an object's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subresource {
    /// `POST …/serviceaccounts/{name}/token`: a TokenRequest (`authentication.k8s.io/v1`).
    Token,
    /// `GET …/pods/{name}/log`: the container's output as text.
    Log,
    /// `GET …/pods/{name}/exec` (WebSocket): `aws sts get-caller-identity`, see
    /// [`super::exec`].
    Exec,
}

impl Subresource {
    /// The path segment after the object's name.
    pub fn segment(self) -> &'static str {
        match self {
            Subresource::Token => "token",
            Subresource::Log => "log",
            Subresource::Exec => "exec",
        }
    }

    /// The verbs served on it.
    pub fn verbs(self) -> &'static [&'static str] {
        match self {
            Subresource::Token => &["create"],
            Subresource::Log => &["get"],
            Subresource::Exec => &["create", "get"],
        }
    }

    /// The group, version and kind of what it takes and answers (None: the parent's).
    pub fn group_version_kind(self) -> Option<(&'static str, &'static str, &'static str)> {
        match self {
            Subresource::Token => Some(("authentication.k8s.io", "v1", "TokenRequest")),
            Subresource::Log => None,
            Subresource::Exec => Some(("", "v1", "PodExecOptions")),
        }
    }
}

/// The verbs of a type that is read, written and watched.
pub const READ_WRITE: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];
/// The verbs of a type that clients only read (events: the fake records none).
pub const READ_ONLY: &[&str] = &["get", "list", "watch"];

const fn capabilities(
    singular: &'static str,
    verbs: &'static [&'static str],
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
) -> Capabilities {
    Capabilities {
        singular,
        verbs,
        short_names,
        categories,
        subresources: &[],
    }
}

impl ResourceType {
    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `/api/v1` or `/apis/apps/v1`.
    pub fn prefix(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }

    /// The name the API uses in messages: `serviceaccounts`, `deployments.apps`.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// Whether writes to the object's spec bump `metadata.generation` (the apps group does).
    pub fn has_generation(&self) -> bool {
        self.group == "apps"
    }
}

pub const NAMESPACES: ResourceType = ResourceType {
    group: "",
    version: "v1",
    plural: "namespaces",
    kind: "Namespace",
    namespaced: false,
    capabilities: capabilities("namespace", READ_WRITE, &["ns"], &[]),
};
pub const SERVICE_ACCOUNTS: ResourceType = ResourceType {
    group: "",
    version: "v1",
    plural: "serviceaccounts",
    kind: "ServiceAccount",
    namespaced: true,
    capabilities: Capabilities {
        subresources: &[Subresource::Token],
        ..capabilities("serviceaccount", READ_WRITE, &["sa"], &[])
    },
};
pub const PODS: ResourceType = ResourceType {
    group: "",
    version: "v1",
    plural: "pods",
    kind: "Pod",
    namespaced: true,
    capabilities: Capabilities {
        subresources: &[Subresource::Log, Subresource::Exec],
        ..capabilities("pod", READ_WRITE, &["po"], &["all"])
    },
};
pub const DEPLOYMENTS: ResourceType = ResourceType {
    group: "apps",
    version: "v1",
    plural: "deployments",
    kind: "Deployment",
    namespaced: true,
    capabilities: capabilities("deployment", READ_WRITE, &["deploy"], &["all"]),
};
pub const REPLICA_SETS: ResourceType = ResourceType {
    group: "apps",
    version: "v1",
    plural: "replicasets",
    kind: "ReplicaSet",
    namespaced: true,
    capabilities: capabilities("replicaset", READ_WRITE, &["rs"], &["all"]),
};
pub const STATEFUL_SETS: ResourceType = ResourceType {
    group: "apps",
    version: "v1",
    plural: "statefulsets",
    kind: "StatefulSet",
    namespaced: true,
    capabilities: capabilities("statefulset", READ_WRITE, &["sts"], &["all"]),
};
pub const DAEMON_SETS: ResourceType = ResourceType {
    group: "apps",
    version: "v1",
    plural: "daemonsets",
    kind: "DaemonSet",
    namespaced: true,
    capabilities: capabilities("daemonset", READ_WRITE, &["ds"], &["all"]),
};

pub const EVENTS: ResourceType = ResourceType {
    group: "",
    version: "v1",
    plural: "events",
    kind: "Event",
    namespaced: true,
    capabilities: capabilities("event", READ_ONLY, &["ev"], &[]),
};

/// Every type the fake serves.
pub static RESOURCES: &[&ResourceType] = &[
    &NAMESPACES,
    &SERVICE_ACCOUNTS,
    &PODS,
    &DEPLOYMENTS,
    &REPLICA_SETS,
    &STATEFUL_SETS,
    &DAEMON_SETS,
    &EVENTS,
];

/// The type with this `kind` (`Deployment`), if the fake serves it.
pub fn by_kind(kind: &str) -> Option<&'static ResourceType> {
    RESOURCES.iter().copied().find(|r| r.kind == kind)
}
