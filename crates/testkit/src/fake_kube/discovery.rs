//! API discovery, generated from the resource table ([`super::resources::RESOURCES`]): what
//! kubectl reads before any command to map `sa` or `deploy` to a path. The legacy (unaggregated)
//! documents: `GET /api` (`APIVersions`), `GET /apis` (`APIGroupList`), and one
//! `APIResourceList` per group version (`/api/v1`, `/apis/apps/v1`) with each type's verbs,
//! short names, categories and subresources. Clients that ask for aggregated discovery
//! (`Accept: …as=APIGroupDiscoveryList`, kubectl 1.26 and later) fall back to these when the
//! answer's content type is plain `application/json`, as against an API server without it.
//!
//! `GET /openapi/v2` answers an OpenAPI document with no definitions (protobuf, as kubectl asks
//! for it, or JSON): kubectl then finds no schema for a kind, so it validates nothing
//! client-side and computes apply's strategic merge patches from the types compiled into it, as
//! it does for a server that publishes no schema for a type.

use serde_json::{Value, json};

use super::resources::{RESOURCES, ResourceType, Subresource};

/// The group versions served, core first: `("", "v1")`, `("apps", "v1")`.
pub fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut served: Vec<(&str, &str)> = Vec::new();
    for rt in RESOURCES {
        if !served.contains(&(rt.group, rt.version)) {
            served.push((rt.group, rt.version));
        }
    }
    served
}

/// `GET /api`: the core group's versions. `server` is the `host:port` clients reached.
pub fn core_versions(server: &str) -> Value {
    let versions: Vec<&str> = group_versions()
        .into_iter()
        .filter(|(group, _)| group.is_empty())
        .map(|(_, version)| version)
        .collect();
    json!({
        "kind": "APIVersions",
        "versions": versions,
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server}],
    })
}

/// `GET /apis`: every named group with its versions (the first one preferred).
pub fn group_list() -> Value {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for (group, version) in group_versions().into_iter().filter(|(g, _)| !g.is_empty()) {
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, versions)) => versions.push(version),
            None => groups.push((group, vec![version])),
        }
    }
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|(name, versions)| {
            let listed: Vec<Value> = versions
                .iter()
                .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
                .collect();
            json!({"name": name, "versions": listed, "preferredVersion": listed[0]})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /apis/{group}`: one group, if served.
pub fn group(name: &str) -> Option<Value> {
    group_list()["groups"]
        .as_array()?
        .iter()
        .find(|g| g["name"] == name)
        .map(|g| {
            let mut g = g.clone();
            g["kind"] = json!("APIGroup");
            g["apiVersion"] = json!("v1");
            g
        })
}

/// `GET /api/v1` or `GET /apis/{group}/{version}`: the types of one group version, with their
/// subresources as `plural/subresource` entries; None when it is not served.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    let types: Vec<&ResourceType> = RESOURCES
        .iter()
        .copied()
        .filter(|rt| rt.group == group && rt.version == version)
        .collect();
    if types.is_empty() {
        return None;
    }
    let resources: Vec<Value> = types
        .iter()
        .flat_map(|rt| {
            let subresources = rt.capabilities.subresources.iter();
            std::iter::once(resource_entry(rt))
                .chain(subresources.map(|sub| subresource_entry(rt, *sub)))
        })
        .collect();
    let group_version = types[0].api_version();
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }))
}

fn resource_entry(rt: &ResourceType) -> Value {
    let caps = &rt.capabilities;
    let mut entry = json!({
        "name": rt.plural,
        "singularName": caps.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": caps.verbs,
    });
    if !caps.short_names.is_empty() {
        entry["shortNames"] = json!(caps.short_names);
    }
    if !caps.categories.is_empty() {
        entry["categories"] = json!(caps.categories);
    }
    entry
}

fn subresource_entry(rt: &ResourceType, sub: Subresource) -> Value {
    let mut entry = json!({
        "name": format!("{}/{}", rt.plural, sub.segment()),
        "singularName": "",
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": sub.verbs(),
    });
    if let Some((group, version, kind)) = sub.group_version_kind() {
        entry["group"] = json!(group);
        entry["version"] = json!(version);
        entry["kind"] = json!(kind);
    }
    entry
}

/// The OpenAPI v2 document's title and version.
const OPENAPI_TITLE: &str = "Kubernetes";
const OPENAPI_VERSION: &str = "v1.33.0";

/// The media type kubectl asks for the OpenAPI v2 document in.
pub const OPENAPI_PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
/// The content type the API server answers it with (`@` is not valid in a media type, so
/// kube-openapi's handler writes `.`; Go's `mime` parser refuses the other).
pub const OPENAPI_PROTOBUF_CONTENT_TYPE: &str =
    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// `GET /openapi/v2` as JSON: `swagger`, `info` and no paths or definitions.
pub fn openapi_json() -> Value {
    json!({"swagger": "2.0", "info": {"title": OPENAPI_TITLE, "version": OPENAPI_VERSION}, "paths": {}})
}

/// `GET /openapi/v2` as the gnostic `openapi_v2.Document` protobuf message: field 1
/// `swagger`, field 2 `info` (an `Info`: field 1 `title`, field 2 `version`).
pub fn openapi_protobuf() -> Vec<u8> {
    let mut info = Vec::new();
    put_string(&mut info, 1, OPENAPI_TITLE);
    put_string(&mut info, 2, OPENAPI_VERSION);
    let mut document = Vec::new();
    put_string(&mut document, 1, "2.0");
    put_bytes(&mut document, 2, &info);
    document
}

fn put_string(out: &mut Vec<u8>, field: u8, text: &str) {
    put_bytes(out, field, text.as_bytes());
}

/// A length-delimited field (wire type 2); the fake's fields and lengths fit one byte each.
fn put_bytes(out: &mut Vec<u8>, field: u8, bytes: &[u8]) {
    let length = u8::try_from(bytes.len()).expect("a short OpenAPI field");
    assert!(length < 0x80, "a one-byte varint length");
    out.extend([(field << 3) | 2, length]);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_and_apps_are_the_group_versions_served() {
        assert_eq!(group_versions(), vec![("", "v1"), ("apps", "v1")]);
        assert_eq!(core_versions("127.0.0.1:1")["versions"], json!(["v1"]));
        let apps = group("apps").unwrap();
        assert_eq!(apps["preferredVersion"]["groupVersion"], "apps/v1");
        assert!(group("batch").is_none());
    }

    #[test]
    fn resource_lists_carry_short_names_and_subresources() {
        let core = resource_list("", "v1").unwrap();
        let entry = |name: &str| {
            core["resources"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["name"] == name)
                .cloned()
                .unwrap_or_else(|| panic!("no {name} in {core}"))
        };
        assert_eq!(entry("serviceaccounts")["shortNames"], json!(["sa"]));
        assert_eq!(entry("serviceaccounts/token")["kind"], "TokenRequest");
        assert_eq!(entry("serviceaccounts/token")["verbs"], json!(["create"]));
        assert_eq!(entry("pods/log")["verbs"], json!(["get"]));
        assert_eq!(entry("namespaces")["namespaced"], false);
        assert_eq!(entry("events")["verbs"], json!(["get", "list", "watch"]));
        let apps = resource_list("apps", "v1").unwrap();
        assert_eq!(apps["groupVersion"], "apps/v1");
        assert!(resource_list("apps", "v2").is_none());
    }

    #[test]
    fn the_openapi_protobuf_is_a_document_with_swagger_and_info() {
        let bytes = openapi_protobuf();
        // Field 1 (swagger), wire type 2, length 3, "2.0"; then field 2 (info) holding
        // field 1 (title) "Kubernetes" and field 2 (version) "v1.33.0".
        assert_eq!(&bytes[..5], b"\x0a\x032.0");
        assert_eq!(bytes[5], 0x12);
        assert_eq!(usize::from(bytes[6]), bytes.len() - 7);
        assert_eq!(&bytes[7..19], b"\x0a\x0aKubernetes");
        assert_eq!(&bytes[19..], b"\x12\x07v1.33.0");
        assert_eq!(openapi_json()["swagger"], "2.0");
    }
}
