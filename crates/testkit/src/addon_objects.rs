//! What the EKS add-ons the sandbox fakes install in the cluster: when `aws-ebs-csi-driver` or
//! `aws-efs-csi-driver` becomes ACTIVE, EKS applies the driver's manifests, among them the
//! controller's service account in `kube-system`, annotated `eks.amazonaws.com/role-arn` with the
//! add-on's `serviceAccountRoleArn` (labelled as managed by EKS), and the controller Deployment
//! running as it; deleting the add-on removes them. The sandbox wires this between the FAKE EKS
//! add-on API and the FAKE Kubernetes API, so `irsa doctor` sees what a real cluster shows.
//! (EKS documents the service accounts as `ebs-csi-controller-sa` and `efs-csi-controller-sa`.)
//!
//! `eks-pod-identity-agent` installs its DaemonSet `kube-system/eks-pod-identity-agent` (labels
//! `app.kubernetes.io/name` and `app.kubernetes.io/instance` `eks-pod-identity-agent`, hostNetwork,
//! ports 80 and 2703, as the add-on's manifest shows in aws-samples/amazon-eks-security-immersion-day),
//! with a ready status (the sandbox's nodes all run it); deleting the add-on removes it.

use serde_json::json;

use crate::fake_eks::AddonChange;
use crate::fake_kube::{
    DAEMON_SETS, DEPLOYMENTS, FakeKubeHandle, SERVICE_ACCOUNTS, deployment_manifest,
};

const NAMESPACE: &str = "kube-system";

/// The service account and controller Deployment of an add-on irsa knows.
fn objects_of(addon: &str) -> Option<(&'static str, &'static str)> {
    match addon {
        "aws-ebs-csi-driver" => Some(("ebs-csi-controller-sa", "ebs-csi-controller")),
        "aws-efs-csi-driver" => Some(("efs-csi-controller-sa", "efs-csi-controller")),
        _ => None,
    }
}

/// The Pod Identity agent's DaemonSet.
pub const POD_IDENTITY_AGENT: &str = "eks-pod-identity-agent";

/// How many nodes the sandbox's DaemonSets run on.
const NODES: u32 = 2;

fn agent_daemon_set() -> serde_json::Value {
    let labels = json!({
        "app.kubernetes.io/name": POD_IDENTITY_AGENT,
        "app.kubernetes.io/instance": POD_IDENTITY_AGENT,
    });
    json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": POD_IDENTITY_AGENT, "labels": labels},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "hostNetwork": true,
                    "priorityClassName": "system-node-critical",
                    "containers": [{
                        "name": POD_IDENTITY_AGENT,
                        "image": "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/eks-pod-identity-agent:0.1.29",
                        "command": ["/go-runner", "/eks-pod-identity-agent", "server"],
                        "ports": [
                            {"containerPort": 80, "name": "proxy", "protocol": "TCP"},
                            {"containerPort": 2703, "name": "probes-port", "protocol": "TCP"},
                        ],
                    }],
                },
            },
        },
    })
}

/// Installs (ready on every node) or removes the Pod Identity agent.
fn apply_agent(kube: &FakeKubeHandle, installed: bool) {
    kube.with_store(|store| {
        if !installed {
            let _ = store.delete(&DAEMON_SETS, Some(NAMESPACE), POD_IDENTITY_AGENT);
            return;
        }
        if store
            .get(&DAEMON_SETS, Some(NAMESPACE), POD_IDENTITY_AGENT)
            .is_err()
        {
            let _ = store.create(&DAEMON_SETS, Some(NAMESPACE), agent_daemon_set());
        }
        let status = json!({
            "currentNumberScheduled": NODES,
            "desiredNumberScheduled": NODES,
            "numberAvailable": NODES,
            "numberMisscheduled": 0,
            "numberReady": NODES,
            "observedGeneration": 1,
            "updatedNumberScheduled": NODES,
        });
        store.write_status(&DAEMON_SETS, Some(NAMESPACE), POD_IDENTITY_AGENT, status);
    });
}

/// Installs or removes the add-on's objects.
pub fn apply(kube: &FakeKubeHandle, change: &AddonChange) {
    if change.addon == POD_IDENTITY_AGENT {
        return apply_agent(kube, change.installed);
    }
    let Some((service_account, deployment)) = objects_of(&change.addon) else {
        return;
    };
    kube.with_store(|store| {
        if !change.installed {
            let _ = store.delete(&DEPLOYMENTS, Some(NAMESPACE), deployment);
            let _ = store.delete(&SERVICE_ACCOUNTS, Some(NAMESPACE), service_account);
            return;
        }
        let annotations = match &change.role_arn {
            Some(role) => json!({ "eks.amazonaws.com/role-arn": role }),
            None => json!({ "eks.amazonaws.com/role-arn": null }),
        };
        let patch = json!({"metadata": {
            "labels": {"app.kubernetes.io/managed-by": "EKS"},
            "annotations": annotations,
        }});
        if store
            .patch(&SERVICE_ACCOUNTS, Some(NAMESPACE), service_account, &patch)
            .is_err()
        {
            let mut object = json!({"metadata": {"name": service_account}});
            crate::fake_kube::store::merge_patch(&mut object, &patch);
            let _ = store.create(&SERVICE_ACCOUNTS, Some(NAMESPACE), object);
        }
        if store
            .get(&DEPLOYMENTS, Some(NAMESPACE), deployment)
            .is_err()
        {
            let _ = store.create(
                &DEPLOYMENTS,
                Some(NAMESPACE),
                deployment_manifest(deployment, service_account, 1),
            );
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_kube::FakeKube;

    #[tokio::test]
    async fn the_agent_add_on_installs_a_ready_daemon_set_and_takes_it_away() {
        let kube = FakeKube::start().await;
        let change = |installed| AddonChange {
            cluster: "demo".into(),
            addon: POD_IDENTITY_AGENT.into(),
            role_arn: None,
            installed,
        };
        apply(&kube.handle(), &change(true));
        let ds = kube
            .get(&DAEMON_SETS, Some(NAMESPACE), POD_IDENTITY_AGENT)
            .unwrap();
        assert_eq!(ds["status"]["numberReady"], NODES);
        assert_eq!(ds["spec"]["template"]["spec"]["hostNetwork"], true);
        assert_eq!(
            ds["metadata"]["labels"]["app.kubernetes.io/name"],
            POD_IDENTITY_AGENT
        );
        apply(&kube.handle(), &change(false));
        assert!(
            kube.get(&DAEMON_SETS, Some(NAMESPACE), POD_IDENTITY_AGENT)
                .is_none()
        );
    }
}
