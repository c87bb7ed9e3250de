//! The fake's add-on catalog: DescribeAddonVersions (`GET /addons/supported-versions`, filter
//! `addonName`, `maxResults` 1–100 / `nextToken`) and DescribeAddonConfiguration (`GET
//! /addons/configuration-schemas?addonName=…&addonVersion=…`, 404 ResourceNotFoundException for
//! an unknown add-on or version), with `podIdentityConfiguration [{serviceAccount,
//! recommendedManagedPolicies}]` for the versions that support EKS Pod Identity: EBS CSI from
//! v1.26.0-eksbuild.1 (`ebs-csi-controller-sa`, AmazonEBSCSIDriverPolicy), EFS CSI from
//! v2.0.5-eksbuild.1 (`efs-csi-controller-sa`, AmazonEFSCSIDriverPolicy), VPC CNI from
//! v1.15.5-eksbuild.1 (`aws-node`, AmazonEKS_CNI_Policy); older versions answer none (the
//! minimum versions after the EKS user guide, as gathered in REFERENCE.md "EKS Pod Identity").

use std::sync::Arc;

use axum::Router;
use axum::extract::Query;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::{Inner, Page, QueryMap, invalid, not_found};
use crate::aws_wire::rest_json;

/// One add-on of the catalog.
struct CatalogAddon {
    name: &'static str,
    kind: &'static str,
    /// Oldest first; the last is the default.
    versions: &'static [&'static str],
    /// (first version with Pod Identity, service account, managed policy ARN suffix).
    pod_identity: Option<(&'static str, &'static str, &'static str)>,
}

const CATALOG: &[CatalogAddon] = &[
    CatalogAddon {
        name: "aws-ebs-csi-driver",
        kind: "storage",
        versions: &[
            "v1.25.0-eksbuild.1",
            "v1.26.0-eksbuild.1",
            "v1.37.0-eksbuild.1",
        ],
        pod_identity: Some((
            "v1.26.0-eksbuild.1",
            "ebs-csi-controller-sa",
            "service-role/AmazonEBSCSIDriverPolicy",
        )),
    },
    CatalogAddon {
        name: "aws-efs-csi-driver",
        kind: "storage",
        versions: &[
            "v2.0.4-eksbuild.1",
            "v2.0.5-eksbuild.1",
            "v2.1.0-eksbuild.1",
        ],
        pod_identity: Some((
            "v2.0.5-eksbuild.1",
            "efs-csi-controller-sa",
            "service-role/AmazonEFSCSIDriverPolicy",
        )),
    },
    CatalogAddon {
        name: "vpc-cni",
        kind: "networking",
        versions: &[
            "v1.15.4-eksbuild.1",
            "v1.15.5-eksbuild.1",
            "v1.19.0-eksbuild.1",
        ],
        pod_identity: Some(("v1.15.5-eksbuild.1", "aws-node", "AmazonEKS_CNI_Policy")),
    },
    CatalogAddon {
        name: "eks-pod-identity-agent",
        kind: "security",
        versions: &["v1.3.4-eksbuild.1"],
        pod_identity: None,
    },
];

/// The version an add-on gets when CreateAddon names none.
pub fn default_version(addon: &str) -> &'static str {
    CATALOG
        .iter()
        .find(|a| a.name == addon)
        .and_then(|a| a.versions.last())
        .copied()
        .unwrap_or("v1.0.0-eksbuild.1")
}

/// `v1.26.0-eksbuild.1` → (1, 26, 0, 1), for ordering versions.
fn version_key(version: &str) -> Vec<u64> {
    version
        .trim_start_matches('v')
        .split(['.', '-'])
        .filter_map(|p| p.trim_start_matches("eksbuild").parse().ok())
        .collect()
}

/// The add-on's `podIdentityConfiguration` at `version` (empty before its minimum version).
pub fn pod_identity_configuration(addon: &str, version: &str) -> Vec<Value> {
    let Some((minimum, service_account, policy)) = CATALOG
        .iter()
        .find(|a| a.name == addon)
        .and_then(|a| a.pod_identity)
    else {
        return Vec::new();
    };
    if version_key(version) < version_key(minimum) {
        return Vec::new();
    }
    vec![json!({
        "serviceAccount": service_account,
        "recommendedManagedPolicies": [format!("arn:aws:iam::aws:policy/{policy}")],
    })]
}

pub(super) fn routes() -> Router<Arc<Inner>> {
    Router::new()
        .route("/addons/supported-versions", get(describe_addon_versions))
        .route(
            "/addons/configuration-schemas",
            get(describe_addon_configuration),
        )
}

fn addon_info(addon: &CatalogAddon) -> Value {
    let default = addon.versions.last().copied();
    let versions: Vec<Value> = addon
        .versions
        .iter()
        .rev()
        .map(|v| {
            json!({
                "addonVersion": v,
                "architecture": ["amd64", "arm64"],
                "computeTypes": ["ec2"],
                "compatibilities": [{"clusterVersion": "1.33", "platformVersions": ["*"], "defaultVersion": Some(*v) == default}],
                "requiresConfiguration": false,
                "requiresIamPermissions": addon.pod_identity.is_some(),
            })
        })
        .collect();
    json!({
        "addonName": addon.name,
        "type": addon.kind,
        "addonVersions": versions,
        "publisher": "eks",
        "owner": "aws",
    })
}

async fn describe_addon_versions(Query(query): QueryMap) -> Result<Response, Response> {
    let page = Page::parse(&query, &[])?;
    let addons: Vec<Value> = CATALOG
        .iter()
        .filter(|a| query.get("addonName").is_none_or(|n| n == a.name))
        .map(addon_info)
        .collect();
    let (page, next) = page.of(&addons);
    let mut body = json!({ "addons": page });
    if let Some(next) = next {
        body["nextToken"] = json!(next);
    }
    Ok(rest_json::ok(body))
}

async fn describe_addon_configuration(Query(query): QueryMap) -> Result<Response, Response> {
    let (Some(name), Some(version)) = (query.get("addonName"), query.get("addonVersion")) else {
        return Err(invalid("addonName and addonVersion are required.", &[]));
    };
    let known = CATALOG
        .iter()
        .find(|a| a.name == name)
        .is_some_and(|a| a.versions.contains(&version.as_str()));
    if !known {
        return Err(not_found(
            format!("Addon {name} with version {version} not found."),
            &[("addonName", name.as_str())],
        ));
    }
    let mut body = json!({
        "addonName": name,
        "addonVersion": version,
        "configurationSchema": "{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"type\":\"object\",\"properties\":{}}",
    });
    let configuration = pod_identity_configuration(name, version);
    if !configuration.is_empty() {
        body["podIdentityConfiguration"] = json!(configuration);
    }
    Ok(rest_json::ok(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_identity_starts_at_the_minimum_versions() {
        assert!(pod_identity_configuration("aws-ebs-csi-driver", "v1.25.0-eksbuild.1").is_empty());
        assert_eq!(
            pod_identity_configuration("aws-ebs-csi-driver", "v1.26.0-eksbuild.1")[0]["serviceAccount"],
            "ebs-csi-controller-sa"
        );
        assert!(pod_identity_configuration("aws-efs-csi-driver", "v2.0.4-eksbuild.1").is_empty());
        assert_eq!(
            pod_identity_configuration("aws-efs-csi-driver", "v2.0.5-eksbuild.1")[0]["recommendedManagedPolicies"]
                [0],
            "arn:aws:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy"
        );
        assert!(pod_identity_configuration("vpc-cni", "v1.15.4-eksbuild.1").is_empty());
        assert_eq!(
            pod_identity_configuration("vpc-cni", "v1.19.0-eksbuild.1")[0]["serviceAccount"],
            "aws-node"
        );
        assert!(version_key("v1.9.0-eksbuild.1") < version_key("v1.26.0-eksbuild.1"));
        assert_eq!(default_version("aws-ebs-csi-driver"), "v1.37.0-eksbuild.1");
    }
}
