//! The EKS Pod Identity half of the EKS pod mutation, run as a create hook on pods (so only when
//! a pod is created: pods started before their association keep running without it, as on
//! EKS). For a pod whose service account has an association ([`Associations`], the fake EKS's
//! port), every container and init container gets
//! - env `AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials` and
//!   `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token`
//!   (not when the container defines either itself);
//! - the volume mount `eks-pod-identity-token`, read-only, at
//!   `/var/run/secrets/pods.eks.amazonaws.com/serviceaccount`;
//!
//! and the pod gets the projected volume `eks-pod-identity-token` (a `serviceAccountToken`
//! source with audience `pods.eks.amazonaws.com`, `expirationSeconds` 86400, path
//! `eks-pod-identity-token`, `defaultMode` 420). Names and values as a mutated pod shows them in
//! aws-samples/amazon-eks-security-immersion-day ("Deep Dive into EKS Pod Identity"). A service
//! account with the IRSA annotation as well gets both mutations (see [`super::webhook`]); the
//! SDKs' chains then find web identity first.

use serde_json::{Value, json};

use super::status::ApiError;
use super::store::Store;
use super::webhook::service_account_of;
use crate::fake_eks::Associations;

pub const CREDENTIALS_FULL_URI: &str = "http://169.254.170.23/v1/credentials";
pub const TOKEN_VOLUME: &str = "eks-pod-identity-token";
pub const TOKEN_MOUNT_PATH: &str = "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount";
pub const TOKEN_FILE: &str =
    "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token";
pub const AUDIENCE: &str = "pods.eks.amazonaws.com";
pub const TOKEN_EXPIRATION: i64 = 86400;

/// The create hook for the pods of `cluster`.
pub fn hook(
    cluster: String,
    associations: Associations,
) -> impl Fn(&Store, &mut Value) -> Result<(), ApiError> + Send + Sync + 'static {
    move |_store, pod| {
        let (namespace, service_account) = service_account_of(pod);
        if associations
            .find(&cluster, &namespace, &service_account)
            .is_some()
        {
            mutate(pod);
        }
        Ok(())
    }
}

fn mutate(pod: &mut Value) {
    for list in ["initContainers", "containers"] {
        if let Some(containers) = pod["spec"][list].as_array_mut() {
            containers.iter_mut().for_each(inject_into_container);
        }
    }
    let volumes = &mut pod["spec"]["volumes"];
    if !volumes.is_array() {
        *volumes = json!([]);
    }
    let volumes = volumes.as_array_mut().expect("made an array above");
    if !volumes.iter().any(|v| v["name"] == TOKEN_VOLUME) {
        volumes.push(json!({
            "name": TOKEN_VOLUME,
            "projected": {
                "sources": [{"serviceAccountToken": {
                    "audience": AUDIENCE,
                    "expirationSeconds": TOKEN_EXPIRATION,
                    "path": TOKEN_VOLUME,
                }}],
                "defaultMode": 420,
            },
        }));
    }
}

fn inject_into_container(container: &mut Value) {
    let env = &mut container["env"];
    if !env.is_array() {
        *env = json!([]);
    }
    let env = env.as_array_mut().expect("made an array above");
    let defined = |name: &str| env.iter().any(|e| e["name"] == name);
    if !defined("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        && !defined("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
    {
        env.push(
            json!({"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": CREDENTIALS_FULL_URI}),
        );
        env.push(json!({"name": "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "value": TOKEN_FILE}));
    }
    let mounts = &mut container["volumeMounts"];
    if !mounts.is_array() {
        *mounts = json!([]);
    }
    let mounts = mounts.as_array_mut().expect("made an array above");
    if !mounts.iter().any(|m| m["name"] == TOKEN_VOLUME) {
        mounts.push(json!({"name": TOKEN_VOLUME, "readOnly": true, "mountPath": TOKEN_MOUNT_PATH}));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_eks::Association;

    #[test]
    fn injects_container_credentials_for_associated_service_accounts_only() {
        let associations = Associations::default();
        let cluster_arn = "arn:aws:eks:us-east-1:123456789012:cluster/demo";
        associations
            .insert(Association::new(
                cluster_arn,
                "shop",
                "web",
                "arn:aws:iam::123456789012:role/app",
            ))
            .unwrap();
        let hook = hook("demo".into(), associations);
        let store = Store::new();
        let mut pod = json!({"metadata": {"namespace": "shop", "name": "p"}, "spec": {"serviceAccountName": "web",
            "initContainers": [{"name": "init"}],
            "containers": [{"name": "app"}, {"name": "own", "env": [{"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": "http://x"}]}]}});
        hook(&store, &mut pod).unwrap();
        let app = &pod["spec"]["containers"][0];
        assert_eq!(
            app["env"],
            json!([
                {"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": "http://169.254.170.23/v1/credentials"},
                {"name": "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "value": "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"},
            ])
        );
        assert_eq!(
            app["volumeMounts"],
            json!([{"name": "eks-pod-identity-token", "readOnly": true, "mountPath": "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount"}])
        );
        assert_eq!(pod["spec"]["initContainers"][0]["env"], app["env"]);
        assert_eq!(
            pod["spec"]["containers"][1]["env"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            pod["spec"]["volumes"],
            json!([{"name": "eks-pod-identity-token", "projected": {"sources": [{"serviceAccountToken": {
            "audience": "pods.eks.amazonaws.com", "expirationSeconds": 86400, "path": "eks-pod-identity-token"}}], "defaultMode": 420}}])
        );
        let mut other = json!({"metadata": {"namespace": "shop", "name": "q"}, "spec": {"serviceAccountName": "api", "containers": [{"name": "app"}]}});
        hook(&store, &mut other).unwrap();
        assert!(other["spec"]["containers"][0].get("env").is_none());
        assert!(other["spec"].get("volumes").is_none());
    }
}
