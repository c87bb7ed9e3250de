//! The resource types the fake serves, with the names the real API uses for them: the URL
//! prefix (`/api/v1`, `/apis/apps/v1`), the plural in the path, the `kind` of objects and
//! lists, and whether objects live in a namespace. Adding a type is one constant here and one
//! entry in [`RESOURCES`]; routes, errors and lists follow from it.

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
};
pub const SERVICE_ACCOUNTS: ResourceType = ResourceType {
    group: "",
    version: "v1",
    plural: "serviceaccounts",
    kind: "ServiceAccount",
    namespaced: true,
};
pub const PODS: ResourceType = ResourceType {
    group: "",
    version: "v1",
    plural: "pods",
    kind: "Pod",
    namespaced: true,
};
pub const DEPLOYMENTS: ResourceType = ResourceType {
    group: "apps",
    version: "v1",
    plural: "deployments",
    kind: "Deployment",
    namespaced: true,
};
pub const REPLICA_SETS: ResourceType = ResourceType {
    group: "apps",
    version: "v1",
    plural: "replicasets",
    kind: "ReplicaSet",
    namespaced: true,
};
pub const STATEFUL_SETS: ResourceType = ResourceType {
    group: "apps",
    version: "v1",
    plural: "statefulsets",
    kind: "StatefulSet",
    namespaced: true,
};
pub const DAEMON_SETS: ResourceType = ResourceType {
    group: "apps",
    version: "v1",
    plural: "daemonsets",
    kind: "DaemonSet",
    namespaced: true,
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
];

/// The type with this `kind` (`Deployment`), if the fake serves it.
pub fn by_kind(kind: &str) -> Option<&'static ResourceType> {
    RESOURCES.iter().copied().find(|r| r.kind == kind)
}
