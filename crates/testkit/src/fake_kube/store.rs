//! The fake's in-memory object store and the API semantics on top of it: every object is a
//! `serde_json::Value` keyed by (resource, namespace, name); every write takes the next
//! `resourceVersion` (one counter for the whole store, as etcd's revision); creates set `uid`,
//! `creationTimestamp` and `generation`; PUT and PATCH honour a `metadata.resourceVersion`
//! precondition; deletes cascade to objects that name the deleted one as owner (the garbage
//! collector's background deletion) and, for a namespace, to everything in it.
//!
//! Extension points for later features: [`CreateHook`]s run on every create of a resource type
//! before the object is stored (the simulated pod-identity webhook will be one, on pods), and
//! the simulated deployment controller ([`super::controller`]) runs after deployment writes.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::controller;
use super::resources::{NAMESPACES, RESOURCES, ResourceType, SERVICE_ACCOUNTS};
use super::selector::{FieldSelector, LabelSelector};
use super::status::ApiError;
use super::strategic;

/// A hook run on every create of one resource type, before the object is stored: it may
/// mutate the object (as a mutating admission webhook does) or refuse it. It sees the store as
/// it is (e.g. to read the pod's service account).
pub type CreateHook = Arc<dyn Fn(&Store, &mut Value) -> Result<(), ApiError> + Send + Sync>;

type Key = (&'static str, String, String);

/// The fake cluster's state.
pub struct Store {
    revision: u64,
    uids: u64,
    seed: u64,
    objects: BTreeMap<Key, Value>,
    hooks: Vec<(&'static str, CreateHook)>,
    /// Whether deployments get ReplicaSets and pods (the simulated deployment controller).
    pub simulate_controllers: bool,
}

/// The patch types the fake applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/merge-patch+json`.
    Merge,
    /// `application/strategic-merge-patch+json` (see [`strategic`]).
    Strategic,
}

impl PatchType {
    /// The patch type of a request's media type, if the fake applies it.
    pub fn from_media_type(media: &str) -> Option<PatchType> {
        match media {
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::Strategic),
            _ => None,
        }
    }
}

/// RFC 7386 JSON merge patch: objects merge recursively, `null` removes a key, anything else
/// replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            let t = target.as_object_mut().expect("made an object above");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// `2026-11-01T12:00:00Z`, as the API writes timestamps.
pub fn now_rfc3339() -> String {
    jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// A 64-bit FNV-1a hash (stable names derived from content, like `pod-template-hash`).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Encodes a number in the alphabet Kubernetes uses for generated names (no vowels, no
/// look-alikes), `len` characters.
pub fn safe_encode(mut n: u64, len: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..len)
        .map(|_| {
            let c = ALPHABET[(n % ALPHABET.len() as u64) as usize] as char;
            n /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// A store with the namespaces every cluster has (`default`, `kube-system`, `kube-public`,
    /// `kube-node-lease`), each with its `default` service account.
    pub fn new() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let mut store = Store {
            revision: 0,
            uids: 0,
            seed,
            objects: BTreeMap::new(),
            hooks: Vec::new(),
            simulate_controllers: true,
        };
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            store
                .create(&NAMESPACES, None, json!({"metadata": {"name": ns}}))
                .expect("a fresh store accepts its own namespaces");
        }
        store
    }

    /// The current revision (the `resourceVersion` of the latest write).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Registers a hook run on every create of `rt` (see [`CreateHook`]).
    pub fn add_create_hook(&mut self, rt: &'static ResourceType, hook: CreateHook) {
        self.hooks.push((rt.plural, hook));
    }

    fn next_revision(&mut self) -> String {
        self.revision += 1;
        self.revision.to_string()
    }

    fn next_uid(&mut self) -> String {
        self.uids += 1;
        let h = fnv1a(format!("{}-{}", self.seed, self.uids).as_bytes());
        let l = fnv1a(format!("{}+{}", self.uids, self.seed).as_bytes());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            h >> 32,
            (h >> 16) & 0xffff,
            h & 0xfff,
            0x8000 | (l >> 48) & 0x3fff,
            l & 0xffff_ffff_ffff
        )
    }

    /// A random-looking suffix for generated names (`generateName`, pod names).
    pub fn random_suffix(&mut self, len: usize) -> String {
        self.uids += 1;
        safe_encode(
            fnv1a(format!("{}/{}", self.seed, self.uids).as_bytes()),
            len,
        )
    }

    fn key(rt: &ResourceType, ns: Option<&str>, name: &str) -> Key {
        let ns = if rt.namespaced {
            ns.unwrap_or_default()
        } else {
            ""
        };
        (rt.plural, ns.to_string(), name.to_string())
    }

    fn check_namespace(&self, rt: &ResourceType, ns: Option<&str>) -> Result<(), ApiError> {
        match ns {
            Some(ns)
                if rt.namespaced
                    && !self.objects.contains_key(&Self::key(&NAMESPACES, None, ns)) =>
            {
                Err(ApiError::not_found(&NAMESPACES, ns))
            }
            _ => Ok(()),
        }
    }

    /// The object, as stored (with `kind` and `apiVersion`).
    pub fn get(&self, rt: &ResourceType, ns: Option<&str>, name: &str) -> Result<Value, ApiError> {
        self.objects
            .get(&Self::key(rt, ns, name))
            .cloned()
            .ok_or_else(|| ApiError::not_found(rt, name))
    }

    /// The objects of one type, in one namespace or all, in key order.
    pub fn objects<'a>(
        &'a self,
        rt: &'a ResourceType,
        ns: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        self.objects
            .iter()
            .filter(move |((plural, o_ns, _), _)| {
                *plural == rt.plural && ns.is_none_or(|ns| !rt.namespaced || o_ns == ns)
            })
            .map(|(_, v)| v)
    }

    /// A list response: `{"kind":"<Kind>List","apiVersion":…,"metadata":{"resourceVersion":…},"items":[…]}`.
    /// Items carry no `kind`/`apiVersion`, as the real server sends them.
    pub fn list(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
    ) -> Result<Value, ApiError> {
        let items: Vec<Value> = self
            .objects(rt, ns)
            .filter(|o| labels.matches(o) && fields.matches(o))
            .map(|o| {
                let mut item = o.clone();
                if let Some(map) = item.as_object_mut() {
                    map.remove("kind");
                    map.remove("apiVersion");
                }
                item
            })
            .collect();
        Ok(json!({
            "kind": format!("{}List", rt.kind),
            "apiVersion": rt.api_version(),
            "metadata": { "resourceVersion": self.revision.to_string() },
            "items": items,
        }))
    }

    /// POST: stores a new object. `ns` is the namespace of the URL (None for cluster-scoped).
    pub fn create(
        &mut self,
        rt: &'static ResourceType,
        ns: Option<&str>,
        mut object: Value,
    ) -> Result<Value, ApiError> {
        if !object.is_object() {
            return Err(ApiError::bad_request(format!(
                "the body of a {} must be a JSON object",
                rt.kind
            )));
        }
        self.check_namespace(rt, ns)?;
        let meta = &mut object["metadata"];
        if !meta.is_object() {
            *meta = json!({});
        }
        if let Some(body_ns) = meta["namespace"].as_str()
            && rt.namespaced
            && Some(body_ns) != ns
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let mut name = meta["name"].as_str().unwrap_or_default().to_string();
        if name.is_empty() {
            let Some(prefix) = meta["generateName"].as_str().map(str::to_string) else {
                return Err(ApiError::invalid(
                    rt,
                    "",
                    "metadata.name: Required value: name or generateName is required",
                ));
            };
            name = format!("{prefix}{}", self.random_suffix(5));
        }
        if !is_dns_subdomain(&name) {
            return Err(ApiError::invalid(
                rt,
                &name,
                &format!(
                    "metadata.name: Invalid value: {name:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
                ),
            ));
        }
        let key = Self::key(rt, ns, &name);
        if self.objects.contains_key(&key) {
            return Err(ApiError::already_exists(rt, &name));
        }
        let uid = self.next_uid();
        let meta = object["metadata"]
            .as_object_mut()
            .expect("made an object above");
        meta.insert("name".into(), json!(name));
        if rt.namespaced {
            meta.insert("namespace".into(), json!(ns.unwrap_or_default()));
        } else {
            meta.remove("namespace");
        }
        meta.insert("uid".into(), json!(uid));
        meta.insert("creationTimestamp".into(), json!(now_rfc3339()));
        if rt.has_generation() {
            meta.insert("generation".into(), json!(1));
        }
        meta.remove("deletionTimestamp");
        object["kind"] = json!(rt.kind);
        object["apiVersion"] = json!(rt.api_version());
        if *rt == NAMESPACES {
            object["spec"] = json!({"finalizers": ["kubernetes"]});
            object["status"] = json!({"phase": "Active"});
            let labels = &mut object["metadata"]["labels"];
            if !labels.is_object() {
                *labels = json!({});
            }
            labels["kubernetes.io/metadata.name"] = json!(name);
        }
        if rt.plural == "pods" && object["status"]["phase"].is_null() {
            // No kubelet: a pod runs, and is Ready, as soon as it is created.
            object["status"] = super::awscli::running_status(&object, &now_rfc3339());
        }
        let hooks: Vec<CreateHook> = self
            .hooks
            .iter()
            .filter(|(p, _)| *p == rt.plural)
            .map(|(_, h)| h.clone())
            .collect();
        for hook in hooks {
            hook(self, &mut object)?;
        }
        object["metadata"]["resourceVersion"] = json!(self.next_revision());
        self.objects.insert(key, object.clone());
        if *rt == NAMESPACES {
            // The service-account controller gives every namespace a `default` service account.
            self.create(
                &SERVICE_ACCOUNTS,
                Some(&name),
                json!({"metadata": {"name": "default"}}),
            )?;
        }
        controller::after_write(self, rt, ns, &name);
        Ok(object)
    }

    /// Checks a `metadata.resourceVersion` precondition in `incoming` against `current`.
    fn check_precondition(
        rt: &ResourceType,
        name: &str,
        current: &Value,
        incoming: &Value,
    ) -> Result<(), ApiError> {
        match incoming["metadata"]["resourceVersion"].as_str() {
            Some(rv)
                if !rv.is_empty()
                    && Some(rv) != current["metadata"]["resourceVersion"].as_str() =>
            {
                Err(ApiError::conflict(rt, name))
            }
            _ => Ok(()),
        }
    }

    /// Stores `updated` in place of `current`, keeping what the server owns (name, namespace,
    /// uid, creationTimestamp), bumping `generation` when the spec changed and taking a new
    /// resourceVersion.
    fn store_update(
        &mut self,
        rt: &'static ResourceType,
        ns: Option<&str>,
        name: &str,
        current: &Value,
        mut updated: Value,
    ) -> Value {
        let meta = &mut updated["metadata"];
        if !meta.is_object() {
            *meta = json!({});
        }
        for field in [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "generation",
        ] {
            match current["metadata"].get(field) {
                Some(v) => meta[field] = v.clone(),
                None => {
                    meta.as_object_mut().expect("an object").remove(field);
                }
            }
        }
        if *rt != SERVICE_ACCOUNTS {
            // Types with a status subresource ignore status in writes to the main resource.
            match current.get("status") {
                Some(status) => updated["status"] = status.clone(),
                None => {
                    updated.as_object_mut().expect("an object").remove("status");
                }
            }
        }
        if rt.has_generation() && current["spec"] != updated["spec"] {
            let generation = current["metadata"]["generation"].as_u64().unwrap_or(0) + 1;
            updated["metadata"]["generation"] = json!(generation);
        }
        updated["kind"] = json!(rt.kind);
        updated["apiVersion"] = json!(rt.api_version());
        updated["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"].clone();
        if updated == *current {
            // A write that changes nothing is not stored and keeps the resourceVersion, as on
            // the real server.
            return updated;
        }
        updated["metadata"]["resourceVersion"] = json!(self.next_revision());
        self.objects
            .insert(Self::key(rt, ns, name), updated.clone());
        controller::after_write(self, rt, ns, name);
        // The controller may have written status; answer with what is stored.
        self.objects
            .get(&Self::key(rt, ns, name))
            .cloned()
            .unwrap_or(updated)
    }

    /// Writes an object's `status` (as a controller does through the status subresource):
    /// a new resourceVersion when it changed, no controller run.
    pub fn write_status(&mut self, rt: &ResourceType, ns: Option<&str>, name: &str, status: Value) {
        let key = Self::key(rt, ns, name);
        let Some(current) = self.objects.get(&key) else {
            return;
        };
        if current["status"] == status {
            return;
        }
        let revision = self.next_revision();
        let object = self.objects.get_mut(&key).expect("checked above");
        object["status"] = status;
        object["metadata"]["resourceVersion"] = json!(revision);
    }

    /// PUT: replaces the object. A `metadata.resourceVersion` in the body must match (409
    /// Conflict otherwise); without one the update is unconditional.
    pub fn replace(
        &mut self,
        rt: &'static ResourceType,
        ns: Option<&str>,
        name: &str,
        object: Value,
    ) -> Result<Value, ApiError> {
        if !object.is_object() {
            return Err(ApiError::bad_request(format!(
                "the body of a {} must be a JSON object",
                rt.kind
            )));
        }
        let current = self.get(rt, ns, name)?;
        if let Some(body_name) = object["metadata"]["name"].as_str()
            && body_name != name
        {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        Self::check_precondition(rt, name, &current, &object)?;
        Ok(self.store_update(rt, ns, name, &current, object))
    }

    /// PATCH with `application/merge-patch+json` (an RFC 7386 merge patch).
    pub fn patch(
        &mut self,
        rt: &'static ResourceType,
        ns: Option<&str>,
        name: &str,
        patch: &Value,
    ) -> Result<Value, ApiError> {
        self.patch_as(rt, ns, name, patch, PatchType::Merge)
    }

    /// PATCH of either type (see [`PatchType`]).
    pub fn patch_as(
        &mut self,
        rt: &'static ResourceType,
        ns: Option<&str>,
        name: &str,
        patch: &Value,
        patch_type: PatchType,
    ) -> Result<Value, ApiError> {
        if !patch.is_object() {
            return Err(ApiError::bad_request("a merge patch must be a JSON object"));
        }
        let current = self.get(rt, ns, name)?;
        Self::check_precondition(rt, name, &current, patch)?;
        let mut updated = current.clone();
        match patch_type {
            PatchType::Merge => merge_patch(&mut updated, patch),
            PatchType::Strategic => strategic::apply(&mut updated, patch),
        }
        Ok(self.store_update(rt, ns, name, &current, updated))
    }

    /// DELETE: removes the object and, like the garbage collector, every object that names it
    /// (by uid) as owner; a namespace takes everything in it along. Answers the deleted object.
    /// The namespaces a cluster cannot lose are refused, as the real API does.
    pub fn delete(
        &mut self,
        rt: &'static ResourceType,
        ns: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        if *rt == NAMESPACES && ["default", "kube-system", "kube-public"].contains(&name) {
            return Err(ApiError::forbidden(
                rt,
                name,
                "this namespace may not be deleted",
            ));
        }
        let mut object = self
            .objects
            .remove(&Self::key(rt, ns, name))
            .ok_or_else(|| ApiError::not_found(rt, name))?;
        let revision = self.next_revision();
        object["metadata"]["resourceVersion"] = json!(revision);
        if *rt == NAMESPACES {
            object["metadata"]["deletionTimestamp"] = json!(now_rfc3339());
            object["status"]["phase"] = json!("Terminating");
            self.objects
                .retain(|(plural, o_ns, _), _| *plural == NAMESPACES.plural || o_ns != name);
        } else if let Some(uid) = object["metadata"]["uid"].as_str() {
            self.delete_dependents(uid.to_string());
        }
        Ok(object)
    }

    fn delete_dependents(&mut self, owner_uid: String) {
        let dependents: Vec<(Key, String)> = self
            .objects
            .iter()
            .filter(|(_, o)| {
                o["metadata"]["ownerReferences"]
                    .as_array()
                    .is_some_and(|refs| refs.iter().any(|r| r["uid"] == owner_uid.as_str()))
            })
            .map(|(k, o)| {
                (
                    k.clone(),
                    o["metadata"]["uid"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            })
            .collect();
        for (key, uid) in dependents {
            self.objects.remove(&key);
            self.delete_dependents(uid);
        }
    }

    /// The resource type a path segment names (`serviceaccounts`), if the fake serves it.
    pub fn resource(plural: &str) -> Option<&'static ResourceType> {
        RESOURCES.iter().copied().find(|r| r.plural == plural)
    }
}

/// RFC 1123 subdomain: lower-case alphanumerics, `-` and `.`, alphanumeric at both ends, at
/// most 253 characters.
fn is_dns_subdomain(name: &str) -> bool {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    !name.is_empty()
        && name.len() <= 253
        && name.chars().all(ok_char)
        && alnum(name.chars().next())
        && alnum(name.chars().last())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut doc = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut doc, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(doc, json!({"a": "z", "c": {"d": "e"}}));
        let mut doc = json!({"a": [1, 2]});
        merge_patch(&mut doc, &json!({"a": [3], "n": {"x": null}}));
        assert_eq!(doc, json!({"a": [3], "n": {}}));
    }

    #[test]
    fn names_are_validated() {
        assert!(is_dns_subdomain("cluster-autoscaler"));
        assert!(is_dns_subdomain("a.b-1"));
        assert!(!is_dns_subdomain("Upper"));
        assert!(!is_dns_subdomain("-x"));
        assert!(!is_dns_subdomain(""));
    }

    #[test]
    fn uids_look_like_uuids_and_differ() {
        let mut store = Store::new();
        let (a, b) = (store.next_uid(), store.next_uid());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'4');
    }
}
