//! Strategic merge patch (`application/strategic-merge-patch+json`), as kubectl's client-side
//! apply and `rollout restart` send it, for the fields of the types the fake serves. Like a
//! JSON merge patch, maps merge and `null` removes; unlike it, lists whose Go type has a patch
//! merge key (`containers` by `name`, `volumeMounts` by `mountPath`, …) merge element by element,
//! and the directives are honoured: `$patch: replace | delete` on a map or list element,
//! `$retainKeys`, `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>`. Other lists
//! are replaced, as their Go types say.

use serde_json::{Map, Value};

/// The merge key of a list field, from the Kubernetes types' `patchMergeKey` tags, for the
/// fields the fake's types have.
fn merge_key(field: &str) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "secrets" => "name",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "ports" => "containerPort",
        "conditions" => "type",
        "ownerReferences" => "uid",
        _ => return None,
    })
}

/// Applies `patch` to `target` (both objects).
pub fn apply(target: &mut Value, patch: &Value) {
    let (Some(t), Some(p)) = (target.as_object_mut(), patch.as_object()) else {
        *target = patch.clone();
        return;
    };
    if p.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut replaced = p.clone();
        replaced.remove("$patch");
        *t = replaced;
        return;
    }
    for (key, value) in p {
        if key.starts_with('$') {
            continue;
        }
        match (value, merge_key(key)) {
            (Value::Null, _) => {
                t.remove(key);
            }
            (Value::Array(items), Some(merge_key)) => {
                let list = t.entry(key.clone()).or_insert_with(|| Value::Array(vec![]));
                merge_list(list, items, merge_key);
            }
            (Value::Object(_), _)
                if value.get("$patch").and_then(Value::as_str) == Some("delete") =>
            {
                t.remove(key);
            }
            (Value::Object(_), _) => {
                let slot = t
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                apply(slot, value);
            }
            _ => {
                t.insert(key.clone(), value.clone());
            }
        }
    }
    for (key, value) in p {
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/")
            && let (Some(Value::Array(list)), Some(gone)) = (t.get_mut(field), value.as_array())
        {
            list.retain(|item| !gone.contains(item));
        }
        if let Some(field) = key.strip_prefix("$setElementOrder/")
            && let (Some(list), Some(order)) = (t.get_mut(field), value.as_array())
        {
            reorder(list, order, merge_key(field));
        }
    }
    if let Some(retain) = p.get("$retainKeys").and_then(Value::as_array) {
        t.retain(|key, _| retain.iter().any(|k| k == key));
    }
}

/// Merges patch elements into `list` by `merge_key`: a matching element is patched (or removed
/// with `$patch: delete`), a new one is appended.
fn merge_list(list: &mut Value, items: &[Value], merge_key: &str) {
    if !list.is_array() {
        *list = Value::Array(vec![]);
    }
    let elements = list.as_array_mut().expect("made an array above");
    for item in items {
        let Some(key) = item.get(merge_key) else {
            elements.push(item.clone());
            continue;
        };
        let position = elements.iter().position(|e| e.get(merge_key) == Some(key));
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (position, delete) {
            (Some(i), true) => {
                elements.remove(i);
            }
            (Some(i), false) => apply(&mut elements[i], item),
            (None, true) => {}
            (None, false) => elements.push(strip_directives(item.clone())),
        }
    }
}

fn strip_directives(mut value: Value) -> Value {
    if let Some(map) = value.as_object_mut() {
        map.retain(|k, _| !k.starts_with('$'));
    }
    value
}

/// Puts the elements named in `order` first, in that order (by merge key, or by value for a
/// list of primitives); the others keep their place after them.
fn reorder(list: &mut Value, order: &[Value], merge_key: Option<&str>) {
    let Some(elements) = list.as_array_mut() else {
        return;
    };
    let rank = |element: &Value| {
        let id = merge_key.and_then(|k| element.get(k)).unwrap_or(element);
        order
            .iter()
            .position(|o| merge_key.and_then(|k| o.get(k)).unwrap_or(o) == id)
            .unwrap_or(order.len())
    };
    elements.sort_by_key(rank);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    // Patch shapes as kubectl's client-side apply computes them (k8s.io/apimachinery
    // strategicpatch; merge keys from k8s.io/api core/v1 types' patchMergeKey tags).
    #[test]
    fn containers_merge_by_name_and_keep_unpatched_fields() {
        let mut pod = json!({"spec": {"containers": [
            {"name": "app", "image": "old", "env": [{"name": "A", "value": "1"}]},
            {"name": "side", "image": "s"},
        ]}});
        apply(
            &mut pod,
            &json!({"spec": {
                "$setElementOrder/containers": [{"name": "app"}, {"name": "side"}],
                "containers": [{"name": "app", "image": "new"}],
            }}),
        );
        assert_eq!(
            pod,
            json!({"spec": {"containers": [
                {"name": "app", "image": "new", "env": [{"name": "A", "value": "1"}]},
                {"name": "side", "image": "s"},
            ]}})
        );
    }

    #[test]
    fn delete_directives_remove_elements_and_keys() {
        let mut d = json!({"metadata": {"annotations": {"a": "1", "b": "2"}},
            "spec": {"containers": [{"name": "app"}, {"name": "gone"}]}});
        apply(
            &mut d,
            &json!({"metadata": {"annotations": {"b": null}},
                "spec": {"containers": [{"name": "gone", "$patch": "delete"}]}}),
        );
        assert_eq!(
            d,
            json!({"metadata": {"annotations": {"a": "1"}}, "spec": {"containers": [{"name": "app"}]}})
        );
    }

    #[test]
    fn lists_without_a_merge_key_are_replaced_and_retain_keys_prunes() {
        let mut d = json!({"spec": {"args": ["a", "b"], "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
        apply(
            &mut d,
            &json!({"spec": {"args": ["c"], "strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
        );
        assert_eq!(
            d,
            json!({"spec": {"args": ["c"], "strategy": {"type": "Recreate"}}})
        );
    }
}
