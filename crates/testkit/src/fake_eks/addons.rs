//! The fake's EKS add-ons: CreateAddon (`POST /clusters/{name}/addons`), DescribeAddon and
//! DeleteAddon (`GET`/`DELETE /clusters/{name}/addons/{addonName}`), UpdateAddon
//! (`POST …/{addonName}/update`, answering an `update` object with its `params`) and ListAddons
//! (`GET /clusters/{name}/addons`, `maxResults`/`nextToken`). Status moves like the real
//! service's, after [`super::FakeEksOptions::transition_delay`]: CREATING → ACTIVE, UPDATING →
//! ACTIVE, DELETING → gone, or to CREATE_FAILED / UPDATE_FAILED with a health issue for add-ons
//! marked with [`super::FakeEks::fail_addon`]. Each change that lands is told to
//! [`super::FakeEksOptions::on_change`].
//!
//! `podIdentityAssociations: [{serviceAccount, roleArn}]` on CreateAddon and UpdateAddon makes
//! the add-on's own associations, in its namespace (`kube-system`), with `ownerArn` the add-on's
//! ARN: on update a list replaces them, `[]` removes them, an omitted member changes nothing;
//! they go away with the add-on; DescribeAddon lists their ARNs. A service account that already
//! has an association answers 409 ResourceInUseException, and nothing changes.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::associations::{Association, Associations};
use super::pod_identity::check_role_exists;
use super::{
    Body400, Inner, Page, QueryMap, check_role_arn, cluster_arn, in_use, invalid, not_found,
};
use crate::aws_wire::{epoch_now, new_id, rest_json};

/// An add-on that became ACTIVE (`installed`) or was deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddonChange {
    pub cluster: String,
    pub addon: String,
    pub role_arn: Option<String>,
    pub installed: bool,
}

/// The callback of [`super::FakeEksOptions::on_change`].
#[derive(Clone)]
pub struct AddonHook(pub Arc<dyn Fn(&AddonChange) + Send + Sync>);

impl std::fmt::Debug for AddonHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AddonHook")
    }
}

pub(super) fn routes() -> Router<Arc<Inner>> {
    Router::new()
        .route(
            "/clusters/{cluster}/addons",
            get(list_addons).post(create_addon),
        )
        .route(
            "/clusters/{cluster}/addons/{addon}",
            get(describe_addon).delete(delete_addon),
        )
        .route(
            "/clusters/{cluster}/addons/{addon}/update",
            post(update_addon),
        )
}

#[derive(Debug, Clone)]
pub(super) struct AddonRecord {
    pub(super) cluster: String,
    pub(super) name: String,
    pub(super) arn: String,
    pub(super) version: String,
    pub(super) role_arn: Option<String>,
    pub(super) role_history: Vec<Option<String>>,
    configuration_values: Option<String>,
    tags: Map<String, Value>,
    status: &'static str,
    /// The status to move to, and when; `None` target means the add-on disappears.
    pending: Option<(Instant, Option<&'static str>)>,
    issues: Vec<Value>,
    created_at: f64,
    modified_at: f64,
}

/// The namespace EKS installs the add-ons irsa knows in.
pub const ADDON_NAMESPACE: &str = "kube-system";

impl AddonRecord {
    fn to_json(&self, associations: &Associations) -> Value {
        let mut addon = json!({
            "addonName": self.name,
            "clusterName": self.cluster,
            "status": self.status,
            "addonVersion": self.version,
            "health": { "issues": self.issues },
            "addonArn": self.arn,
            "createdAt": self.created_at,
            "modifiedAt": self.modified_at,
            "tags": self.tags,
            "publisher": "eks",
            "owner": "aws",
            "podIdentityAssociations": associations.owned_by(&self.arn),
        });
        if let Some(role) = &self.role_arn {
            addon["serviceAccountRoleArn"] = json!(role);
        }
        if let Some(values) = &self.configuration_values {
            addon["configurationValues"] = json!(values);
        }
        addon
    }

    /// The add-on as answered while a transition is pending: issues appear with the final
    /// status only.
    fn to_json_now(&self, associations: &Associations) -> Value {
        let mut value = self.to_json(associations);
        if self.pending.is_some() {
            value["health"] = json!({ "issues": [] });
        }
        value
    }

    fn is_busy(&self) -> bool {
        matches!(self.status, "CREATING" | "UPDATING" | "DELETING")
    }
}

type Addons = std::collections::HashMap<(String, String), AddonRecord>;

impl Inner {
    /// Applies every status transition that is due, telling [`super::FakeEksOptions::on_change`].
    fn settle(&self, addons: &mut Addons, now: Instant) {
        let mut changes = Vec::new();
        addons.retain(|_, addon| match addon.pending {
            Some((at, target)) if at <= now => {
                let change = AddonChange {
                    cluster: addon.cluster.clone(),
                    addon: addon.name.clone(),
                    role_arn: addon.role_arn.clone(),
                    installed: target == Some("ACTIVE"),
                };
                match target {
                    Some(status) => {
                        addon.status = status;
                        addon.pending = None;
                        if status == "ACTIVE" {
                            changes.push(change);
                        }
                        true
                    }
                    None => {
                        self.associations.remove_owned_by(&addon.arn);
                        changes.push(change);
                        false
                    }
                }
            }
            _ => true,
        });
        if let Some(hook) = &self.options.on_change {
            for change in &changes {
                (hook.0)(change);
            }
        }
    }

    /// Runs `f` on the settled add-on table.
    fn with_addons<R>(&self, f: impl FnOnce(&mut Addons, Instant) -> R) -> R {
        let now = Instant::now();
        let mut addons = self.addons.lock().unwrap();
        self.settle(&mut addons, now);
        f(&mut addons, now)
    }

    /// `f` of the settled add-on, if it exists.
    pub(super) fn with_addon<R>(
        &self,
        cluster: &str,
        addon: &str,
        f: impl FnOnce(&AddonRecord) -> R,
    ) -> Option<R> {
        self.with_addons(|addons, _| addons.get(&(cluster.to_string(), addon.to_string())).map(f))
    }

    /// The status an add-on's create or update ends in, and its health issues.
    fn outcome(&self, addon: &str, failed: &'static str) -> (&'static str, Vec<Value>) {
        match self.failures.lock().unwrap().get(addon) {
            Some((code, message)) => (failed, vec![health_issue(code, message)]),
            None => ("ACTIVE", vec![]),
        }
    }
}

fn not_found_addon(cluster: &str, addon: &str) -> Response {
    not_found(
        format!("No addon: {addon} found in cluster: {cluster}"),
        &[("clusterName", cluster), ("addonName", addon)],
    )
}

/// The `podIdentityAssociations` member: `None` when omitted, else (serviceAccount, roleArn)s,
/// each role checked to be an IAM role ARN that exists.
async fn requested_associations(
    inner: &Inner,
    request: &Body400<'_>,
) -> Result<Option<Vec<(String, String)>>, Response> {
    let Some(list) = request.get("podIdentityAssociations") else {
        return Ok(None);
    };
    let Some(items) = list.as_array() else {
        return Err(invalid(
            "podIdentityAssociations must be a list.",
            request.members,
        ));
    };
    let mut pairs = Vec::new();
    for item in items {
        let (Some(sa), Some(role)) = (item["serviceAccount"].as_str(), item["roleArn"].as_str())
        else {
            return Err(invalid(
                "Each podIdentityAssociations entry needs serviceAccount and roleArn.",
                request.members,
            ));
        };
        check_role_arn("roleArn", role, request.members)?;
        check_role_exists(inner, role, request.members).await?;
        pairs.push((sa.to_string(), role.to_string()));
    }
    Ok(Some(pairs))
}

/// Makes the add-on's associations `pairs`, replacing those it owns; on a conflict with an
/// association of someone else nothing changes.
fn replace_owned_associations(
    associations: &Associations,
    cluster_arn: &str,
    owner_arn: &str,
    pairs: &[(String, String)],
    members: &[(&str, &str)],
) -> Result<(), Response> {
    let previous = associations.remove_owned_by(owner_arn);
    let mut added = Vec::new();
    for (sa, role) in pairs {
        let mut association = Association::new(cluster_arn, ADDON_NAMESPACE, sa, role);
        association.owner_arn = Some(owner_arn.to_string());
        match associations.insert(association) {
            Ok(a) => added.push(a),
            Err(existing) => {
                for a in &added {
                    associations.remove(&a.cluster, &a.id);
                }
                for a in previous {
                    let _ = associations.insert(a);
                }
                return Err(in_use(
                    format!(
                        "Service account {sa} in namespace {ADDON_NAMESPACE} already has the Pod Identity association {}",
                        existing.arn
                    ),
                    members,
                ));
            }
        }
    }
    Ok(())
}

use super::catalog::default_version;

fn health_issue(code: &str, message: &str) -> Value {
    json!({ "code": code, "message": message, "resourceIds": [] })
}

async fn create_addon(
    State(inner): State<Arc<Inner>>,
    Path(cluster): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let name = Body400::parse(&body, &[("clusterName", cluster.as_str())])?
        .required_string("addonName")?;
    let members = [
        ("clusterName", cluster.as_str()),
        ("addonName", name.as_str()),
    ];
    let request = Body400::parse(&body, &members)?;
    let role = request.role_arn("serviceAccountRoleArn")?;
    let version = request.string("addonVersion")?;
    let values = request.string("configurationValues")?;
    if let Some(resolve) = request.string("resolveConflicts")?
        && !["OVERWRITE", "NONE", "PRESERVE"].contains(&resolve.as_str())
    {
        return Err(invalid(
            format!("Invalid resolveConflicts: {resolve}"),
            &members,
        ));
    }
    let tags = request.tags()?;
    let cluster_arn = cluster_arn(&inner, &headers, &cluster).await?;
    let pod_identity = requested_associations(&inner, &request).await?;
    inner.with_addons(|addons, now| {
        let key = (cluster.clone(), name.clone());
        if addons.contains_key(&key) {
            return Err(in_use(format!("Addon already exists: {name}"), &members));
        }
        let (target, issues) = inner.outcome(&name, "CREATE_FAILED");
        let created = epoch_now();
        let record = AddonRecord {
            cluster: cluster.clone(),
            arn: format!(
                "{}/{name}/{}",
                cluster_arn.replacen(":cluster/", ":addon/", 1),
                new_id()
            ),
            version: version.unwrap_or_else(|| default_version(&name).to_string()),
            role_arn: role.clone(),
            role_history: vec![role],
            configuration_values: values,
            tags,
            status: "CREATING",
            pending: Some((now + inner.options.transition_delay, Some(target))),
            issues,
            created_at: created,
            modified_at: created,
            name: name.clone(),
        };
        if let Some(pairs) = &pod_identity {
            replace_owned_associations(
                &inner.associations,
                &cluster_arn,
                &record.arn,
                pairs,
                &members,
            )?;
        }
        let response = record.to_json_now(&inner.associations);
        addons.insert(key, record);
        Ok(rest_json::ok(json!({ "addon": response })))
    })
}

async fn describe_addon(
    State(inner): State<Arc<Inner>>,
    Path((cluster, addon)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    cluster_arn(&inner, &headers, &cluster).await?;
    inner
        .with_addon(&cluster, &addon, |record| {
            rest_json::ok(json!({ "addon": record.to_json_now(&inner.associations) }))
        })
        .ok_or_else(|| not_found_addon(&cluster, &addon))
}

async fn update_addon(
    State(inner): State<Arc<Inner>>,
    Path((cluster, addon)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let members = [
        ("clusterName", cluster.as_str()),
        ("addonName", addon.as_str()),
    ];
    let request = Body400::parse(&body, &members)?;
    let role = request.role_arn("serviceAccountRoleArn")?;
    let version = request.string("addonVersion")?;
    let values = request.string("configurationValues")?;
    let resolve = request.string("resolveConflicts")?;
    let cluster_arn = cluster_arn(&inner, &headers, &cluster).await?;
    let pod_identity = requested_associations(&inner, &request).await?;
    inner.with_addons(|addons, now| {
        let Some(record) = addons.get_mut(&(cluster.clone(), addon.clone())) else {
            return Err(not_found_addon(&cluster, &addon));
        };
        if record.is_busy() {
            return Err(in_use(
                format!(
                    "Addon {addon} is in {} state and cannot be updated",
                    record.status
                ),
                &members,
            ));
        }
        let mut params = Vec::new();
        if let Some(pairs) = &pod_identity {
            replace_owned_associations(&inner.associations, &cluster_arn, &record.arn, pairs, &members)?;
            let value: Vec<Value> = pairs
                .iter()
                .map(|(sa, role)| json!({"serviceAccount": sa, "roleArn": role}))
                .collect();
            params.push(json!({ "type": "PodIdentityAssociations", "value": Value::Array(value).to_string() }));
        }
        if let Some(version) = version {
            params.push(json!({ "type": "AddonVersion", "value": version }));
            record.version = version;
        }
        if let Some(role) = role {
            params.push(json!({ "type": "ServiceAccountRoleArn", "value": role }));
            // An empty string removes the role, as with the real API.
            record.role_arn = Some(role).filter(|r| !r.is_empty());
            record.role_history.push(record.role_arn.clone());
        }
        if let Some(resolve) = resolve {
            params.push(json!({ "type": "ResolveConflicts", "value": resolve }));
        }
        if let Some(values) = values {
            params.push(json!({ "type": "ConfigurationValues", "value": values }));
            record.configuration_values = Some(values).filter(|v| !v.is_empty());
        }
        let (target, issues) = inner.outcome(&addon, "UPDATE_FAILED");
        record.status = "UPDATING";
        record.issues = issues;
        record.pending = Some((now + inner.options.transition_delay, Some(target)));
        record.modified_at = epoch_now();
        Ok(rest_json::ok(json!({ "update": {
            "id": new_id(),
            "status": "InProgress",
            "type": "AddonUpdate",
            "params": params,
            "createdAt": record.modified_at,
            "errors": [],
        }})))
    })
}

async fn delete_addon(
    State(inner): State<Arc<Inner>>,
    Path((cluster, addon)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    cluster_arn(&inner, &headers, &cluster).await?;
    inner.with_addons(|addons, now| {
        let Some(record) = addons.get_mut(&(cluster.clone(), addon.clone())) else {
            return Err(not_found_addon(&cluster, &addon));
        };
        if record.status != "DELETING" {
            record.status = "DELETING";
            record.issues.clear();
            record.pending = Some((now + inner.options.transition_delay, None));
            record.modified_at = epoch_now();
        }
        Ok(rest_json::ok(
            json!({ "addon": record.to_json(&inner.associations) }),
        ))
    })
}

async fn list_addons(
    State(inner): State<Arc<Inner>>,
    Path(cluster): Path<String>,
    Query(query): QueryMap,
    headers: HeaderMap,
) -> Result<Response, Response> {
    let page = Page::parse(&query, &[("clusterName", cluster.as_str())])?;
    cluster_arn(&inner, &headers, &cluster).await?;
    let mut names: Vec<String> = inner.with_addons(|addons, _| {
        addons
            .values()
            .filter(|a| a.cluster == cluster)
            .map(|a| a.name.clone())
            .collect()
    });
    names.sort_unstable();
    let (page, next) = page.of(&names);
    let mut body = json!({ "addons": page });
    if let Some(next) = next {
        body["nextToken"] = json!(next);
    }
    Ok(rest_json::ok(body))
}
