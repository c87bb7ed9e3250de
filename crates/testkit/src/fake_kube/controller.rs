//! A simulated deployment controller, run synchronously after each write to a Deployment: the
//! pod template's hash names a ReplicaSet `<deployment>-<hash>` (label `pod-template-hash`,
//! owned by the Deployment) that gets `spec.replicas` pods `<replicaset>-<suffix>` (owned by the
//! ReplicaSet, created through the store so that create hooks such as a webhook apply to
//! them). A new template (e.g. `kubectl rollout restart`'s `restartedAt` annotation) rolls out at
//! once: the old ReplicaSets are scaled to zero and their pods deleted. The Deployment's status
//! then reports the rollout complete. Off when `Store::simulate_controllers` is false.

use serde_json::{Value, json};

use super::resources::{DEPLOYMENTS, PODS, REPLICA_SETS, ResourceType};
use super::store::{Store, fnv1a, safe_encode};

/// Runs the controllers interested in a write to `rt`/`name`.
pub fn after_write(store: &mut Store, rt: &ResourceType, ns: Option<&str>, name: &str) {
    if store.simulate_controllers && *rt == DEPLOYMENTS {
        reconcile_deployment(store, ns, name);
    }
}

fn owner_ref(owner: &Value) -> Value {
    json!([{
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": true,
        "blockOwnerDeletion": true,
    }])
}

fn owned_by<'a>(
    store: &'a Store,
    rt: &'a ResourceType,
    ns: Option<&'a str>,
    owner_uid: &'a str,
) -> impl Iterator<Item = &'a Value> + 'a {
    store.objects(rt, ns).filter(move |o| {
        o["metadata"]["ownerReferences"]
            .as_array()
            .is_some_and(|refs| refs.iter().any(|r| r["uid"] == owner_uid))
    })
}

fn name(o: &Value) -> String {
    o["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn reconcile_deployment(store: &mut Store, ns: Option<&str>, deployment: &str) {
    let Ok(deploy) = store.get(&DEPLOYMENTS, ns, deployment) else {
        return;
    };
    let uid = deploy["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let template = deploy["spec"]["template"].clone();
    let replicas = deploy["spec"]["replicas"].as_u64().unwrap_or(1);
    let hash = safe_encode(fnv1a(template.to_string().as_bytes()), 10);
    let rs_name = format!("{deployment}-{hash}");

    // Scale the old ReplicaSets down.
    let old: Vec<Value> = owned_by(store, &REPLICA_SETS, ns, &uid)
        .filter(|rs| name(rs) != rs_name)
        .cloned()
        .collect();
    for rs in old {
        let rs_uid = rs["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let pods: Vec<String> = owned_by(store, &PODS, ns, &rs_uid).map(name).collect();
        for pod in pods {
            let _ = store.delete(&PODS, ns, &pod);
        }
        if rs["spec"]["replicas"] != json!(0) {
            let _ = store.patch(
                &REPLICA_SETS,
                ns,
                &name(&rs),
                &json!({"spec": {"replicas": 0}}),
            );
        }
        store.write_status(
            &REPLICA_SETS,
            ns,
            &name(&rs),
            json!({"replicas": 0, "observedGeneration": rs["metadata"]["generation"]}),
        );
    }

    // The current ReplicaSet, with the template's labels plus pod-template-hash.
    let mut pod_template = template.clone();
    pod_template["metadata"]["labels"]["pod-template-hash"] = json!(hash);
    let rs = match store.get(&REPLICA_SETS, ns, &rs_name) {
        Ok(rs) => {
            if rs["spec"]["replicas"] != json!(replicas) {
                let _ = store.patch(
                    &REPLICA_SETS,
                    ns,
                    &rs_name,
                    &json!({"spec": {"replicas": replicas}}),
                );
            }
            rs
        }
        Err(_) => {
            let mut selector = deploy["spec"]["selector"].clone();
            selector["matchLabels"]["pod-template-hash"] = json!(hash);
            let rs = json!({
                "metadata": {
                    "name": rs_name,
                    "labels": pod_template["metadata"]["labels"],
                    "annotations": {"deployment.kubernetes.io/revision": deploy["metadata"]["generation"].to_string()},
                    "ownerReferences": owner_ref(&deploy),
                },
                "spec": {"replicas": replicas, "selector": selector, "template": pod_template},
            });
            match store.create(&REPLICA_SETS, ns, rs) {
                Ok(rs) => rs,
                Err(_) => return,
            }
        }
    };

    // Its pods.
    let rs_uid = rs["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let pods: Vec<String> = owned_by(store, &PODS, ns, &rs_uid).map(name).collect();
    for extra in pods.iter().skip(replicas as usize) {
        let _ = store.delete(&PODS, ns, extra);
    }
    for _ in pods.len()..replicas as usize {
        let mut pod = json!({"metadata": pod_template["metadata"], "spec": pod_template["spec"]});
        pod["metadata"]["name"] = json!(format!("{rs_name}-{}", store.random_suffix(5)));
        pod["metadata"]["ownerReferences"] = owner_ref(&rs);
        let _ = store.create(&PODS, ns, pod);
    }
    let running = owned_by(store, &PODS, ns, &rs_uid).count();
    store.write_status(&REPLICA_SETS, ns, &rs_name, json!({"replicas": running, "readyReplicas": running, "availableReplicas": running, "observedGeneration": rs["metadata"]["generation"]}));
    store.write_status(
        &DEPLOYMENTS,
        ns,
        deployment,
        json!({
            "observedGeneration": deploy["metadata"]["generation"],
            "replicas": running,
            "updatedReplicas": running,
            "readyReplicas": running,
            "availableReplicas": running,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
            ],
        }),
    );
}
