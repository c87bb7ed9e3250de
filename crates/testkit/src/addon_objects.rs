//! What the EKS add-ons the sandbox fakes install in the cluster: when `aws-ebs-csi-driver` or
//! `aws-efs-csi-driver` becomes ACTIVE, EKS applies the driver's manifests, among them the
//! controller's service account in `kube-system`, annotated `eks.amazonaws.com/role-arn` with the
//! add-on's `serviceAccountRoleArn` (labelled as managed by EKS), and the controller Deployment
//! running as it; deleting the add-on removes them. The sandbox wires this between the FAKE EKS
//! add-on API and the FAKE Kubernetes API, so `irsa doctor` sees what a real cluster shows.
//! (EKS documents the service accounts as `ebs-csi-controller-sa` and `efs-csi-controller-sa`.)

use serde_json::json;

use crate::fake_eks::AddonChange;
use crate::fake_kube::{DEPLOYMENTS, FakeKubeHandle, SERVICE_ACCOUNTS, deployment_manifest};

const NAMESPACE: &str = "kube-system";

/// The service account and controller Deployment of an add-on irsa knows.
fn objects_of(addon: &str) -> Option<(&'static str, &'static str)> {
    match addon {
        "aws-ebs-csi-driver" => Some(("ebs-csi-controller-sa", "ebs-csi-controller")),
        "aws-efs-csi-driver" => Some(("efs-csi-controller-sa", "efs-csi-controller")),
        _ => None,
    }
}

/// Installs or removes the add-on's objects.
pub fn apply(kube: &FakeKubeHandle, change: &AddonChange) {
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
