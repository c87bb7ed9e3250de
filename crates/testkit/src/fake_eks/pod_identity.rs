//! The fake's EKS Pod Identity associations, with the real REST paths and JSON shapes (EKS API
//! model `eks/2017-11-01`): CreatePodIdentityAssociation (`POST
//! /clusters/{name}/pod-identity-associations`), DescribePodIdentityAssociation / Update / Delete
//! (`GET` / `POST` / `DELETE …/{associationId}`), ListPodIdentityAssociations (`GET`, filters
//! `namespace` and `serviceAccount`, `maxResults` 1–100 / `nextToken`; summaries without
//! `roleArn`), and TagResource / UntagResource / ListTagsForResource (`/tags/{resourceArn}`) for
//! association ARNs (other ARNs go to moto).
//!
//! Checks as EKS makes them: namespace, serviceAccount and roleArn required; role ARNs must name
//! IAM roles that exist in moto ("Role provided in the request does not exist", as
//! terraform-provider-aws PR #34717 quotes EKS); `policy` only with `disableSessionTags: true`
//! (the model's documentation); at most 50 tags; one association per namespace and service
//! account (409 ResourceInUseException "Association already exists", as reported in
//! crossplane-contrib/provider-upjet-aws#1437), except for a retry with the same
//! `clientRequestToken`, which answers the association it made; at most 5,000 associations per
//! cluster (400 ResourceLimitExceededException); an update changes at least one of roleArn,
//! targetRoleArn, disableSessionTags, policy and never namespace or serviceAccount. An
//! association with a `targetRoleArn` carries `externalId` =
//! `region/account/cluster/namespace/serviceAccount`. Associations owned by an add-on carry
//! `ownerArn` (see [`super::addons`]).
//! The associations live in [`super::associations`].

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::{Value, json};

use super::associations::{Association, MAX_ASSOCIATIONS, MAX_TAGS};
use super::{
    Body400, Inner, Page, QueryMap, cluster_arn, in_use, invalid, not_found, server_error,
};
use crate::aws_wire::{epoch_now, rest_json};
use crate::moto_iam;

pub(super) fn routes() -> Router<Arc<Inner>> {
    Router::new()
        .route(
            "/clusters/{cluster}/pod-identity-associations",
            get(list_associations).post(create_association),
        )
        .route(
            "/clusters/{cluster}/pod-identity-associations/{id}",
            get(describe_association)
                .post(update_association)
                .delete(delete_association),
        )
        .route("/tags/{arn}", get(tags).post(tags).delete(tags))
}

fn not_found_association(cluster: &str, id: &str) -> Response {
    not_found(
        format!("No Pod Identity Association found for id: {id} in cluster: {cluster}"),
        &[("clusterName", cluster)],
    )
}

/// InvalidParameterException unless the role exists in moto's IAM.
pub(super) async fn check_role_exists(
    inner: &Inner,
    role: &str,
    members: &[(&str, &str)],
) -> Result<(), Response> {
    match moto_iam::role_trust(&inner.moto, role).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(invalid(
            format!("Role provided in the request does not exist: {role}"),
            members,
        )),
        Err(e) => Err(server_error(e)),
    }
}

/// The session-policy rule of the model: `policy` needs `disableSessionTags` true.
fn check_policy(
    policy: &Option<String>,
    disable_session_tags: bool,
    members: &[(&str, &str)],
) -> Result<(), Response> {
    if policy.as_deref().is_some_and(|p| !p.is_empty()) && !disable_session_tags {
        return Err(invalid(
            "disableSessionTags must be set to true when a policy is specified.",
            members,
        ));
    }
    Ok(())
}

async fn create_association(
    State(inner): State<Arc<Inner>>,
    Path(cluster): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let members = [("clusterName", cluster.as_str())];
    let request = Body400::parse(&body, &members)?;
    let namespace = request.required_string("namespace")?;
    let service_account = request.required_string("serviceAccount")?;
    let role = request.required_string("roleArn")?;
    super::check_role_arn("roleArn", &role, &members)?;
    let target = request.role_arn("targetRoleArn")?.filter(|t| !t.is_empty());
    let disable_session_tags = request.bool("disableSessionTags")?.unwrap_or(false);
    let policy = request.string("policy")?.filter(|p| !p.is_empty());
    check_policy(&policy, disable_session_tags, &members)?;
    let tags = request.tags()?;
    if tags.len() > MAX_TAGS {
        return Err(invalid(
            format!("At most {MAX_TAGS} tags are allowed."),
            &members,
        ));
    }
    let request_token = request
        .string("clientRequestToken")?
        .filter(|t| !t.is_empty());
    let cluster_arn = cluster_arn(&inner, &headers, &cluster).await?;
    if let Some(previous) = request_token
        .as_deref()
        .and_then(|t| inner.associations.by_request_token(&cluster, t))
    {
        // An idempotent retry (the model's idempotencyToken).
        return Ok(rest_json::ok(json!({ "association": previous.to_json() })));
    }
    check_role_exists(&inner, &role, &members).await?;
    if inner.associations.of_cluster(&cluster).len() >= MAX_ASSOCIATIONS {
        return Err(super::eks_error(
            axum::http::StatusCode::BAD_REQUEST,
            "ResourceLimitExceededException",
            format!("A cluster can have at most {MAX_ASSOCIATIONS} Pod Identity associations."),
            &members,
        ));
    }
    let mut association = Association::new(&cluster_arn, &namespace, &service_account, &role);
    association.client_request_token = request_token;
    association.set_target_role(target);
    association.disable_session_tags = disable_session_tags;
    association.policy = policy;
    association.tags = tags;
    let created = inner
        .associations
        .insert(association)
        .map_err(|_| in_use("Association already exists", &members))?;
    Ok(rest_json::ok(json!({ "association": created.to_json() })))
}

async fn describe_association(
    State(inner): State<Arc<Inner>>,
    Path((cluster, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    cluster_arn(&inner, &headers, &cluster).await?;
    let association = inner
        .associations
        .get(&cluster, &id)
        .ok_or_else(|| not_found_association(&cluster, &id))?;
    Ok(rest_json::ok(
        json!({ "association": association.to_json() }),
    ))
}

async fn update_association(
    State(inner): State<Arc<Inner>>,
    Path((cluster, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let members = [("clusterName", cluster.as_str())];
    let request = Body400::parse(&body, &members)?;
    for immutable in ["namespace", "serviceAccount"] {
        if request.has(immutable) {
            return Err(invalid(
                format!(
                    "{immutable} cannot be updated: delete the association and create a new one."
                ),
                &members,
            ));
        }
    }
    let role = request.role_arn("roleArn")?.filter(|r| !r.is_empty());
    let target = request.role_arn("targetRoleArn")?;
    let disable_session_tags = request.bool("disableSessionTags")?;
    let policy = request.string("policy")?;
    if role.is_none() && target.is_none() && disable_session_tags.is_none() && policy.is_none() {
        return Err(invalid(
            "Specify at least one of roleArn, targetRoleArn, disableSessionTags or policy.",
            &members,
        ));
    }
    cluster_arn(&inner, &headers, &cluster).await?;
    let current = inner
        .associations
        .get(&cluster, &id)
        .ok_or_else(|| not_found_association(&cluster, &id))?;
    let new_disable = disable_session_tags.unwrap_or(current.disable_session_tags);
    let new_policy = match &policy {
        Some(p) => Some(p.clone()).filter(|p| !p.is_empty()),
        None => current.policy.clone(),
    };
    check_policy(&new_policy, new_disable, &members)?;
    if let Some(role) = &role {
        check_role_exists(&inner, role, &members).await?;
    }
    let updated = inner
        .associations
        .update(&cluster, &id, |a| {
            if let Some(role) = role {
                a.role_arn = role;
            }
            if let Some(target) = target {
                // An empty string removes the target role.
                a.set_target_role(Some(target).filter(|t| !t.is_empty()));
            }
            a.disable_session_tags = new_disable;
            a.policy = new_policy;
            a.modified_at = epoch_now();
        })
        .ok_or_else(|| not_found_association(&cluster, &id))?;
    Ok(rest_json::ok(json!({ "association": updated.to_json() })))
}

async fn delete_association(
    State(inner): State<Arc<Inner>>,
    Path((cluster, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    cluster_arn(&inner, &headers, &cluster).await?;
    let association = inner
        .associations
        .get(&cluster, &id)
        .ok_or_else(|| not_found_association(&cluster, &id))?;
    inner.associations.remove(&cluster, &id);
    Ok(rest_json::ok(
        json!({ "association": association.to_json() }),
    ))
}

async fn list_associations(
    State(inner): State<Arc<Inner>>,
    Path(cluster): Path<String>,
    Query(query): QueryMap,
    headers: HeaderMap,
) -> Result<Response, Response> {
    let page = Page::parse(&query, &[("clusterName", cluster.as_str())])?;
    cluster_arn(&inner, &headers, &cluster).await?;
    let matching: Vec<Value> = inner
        .associations
        .of_cluster(&cluster)
        .iter()
        .filter(|a| query.get("namespace").is_none_or(|n| *n == a.namespace))
        .filter(|a| {
            query
                .get("serviceAccount")
                .is_none_or(|s| *s == a.service_account)
        })
        .map(Association::to_summary)
        .collect();
    let (page, next) = page.of(&matching);
    let mut body = json!({ "associations": page });
    if let Some(next) = next {
        body["nextToken"] = json!(next);
    }
    Ok(rest_json::ok(body))
}

/// TagResource (`POST`, body `tags`), UntagResource (`DELETE`, query `tagKeys` repeated) and
/// ListTagsForResource (`GET`) on an association ARN; any other ARN goes to moto.
async fn tags(
    State(inner): State<Arc<Inner>>,
    Path(arn): Path<String>,
    request: Request,
) -> Result<Response, Response> {
    if !arn.contains(":podidentityassociation/") {
        return Ok(super::forward(State(inner), request).await);
    }
    let bad_request = |m: String| {
        rest_json::error(
            axum::http::StatusCode::BAD_REQUEST,
            "BadRequestException",
            &m,
            &[],
        )
    };
    let missing = || {
        rest_json::error(
            axum::http::StatusCode::NOT_FOUND,
            "NotFoundException",
            &format!("Resource not found: {arn}"),
            &[],
        )
    };
    let association = inner.associations.by_arn(&arn).ok_or_else(missing)?;
    let method = request.method().clone();
    let query = request.uri().query().unwrap_or_default().to_string();
    let body = request
        .into_body()
        .collect()
        .await
        .map_err(|e| bad_request(e.to_string()))?
        .to_bytes();
    match method {
        Method::GET => Ok(rest_json::ok(json!({ "tags": association.tags }))),
        Method::POST => {
            let body = rest_json::parse_object(&body).map_err(bad_request)?;
            let new = rest_json::tag_map(&body, "tags").map_err(bad_request)?;
            if association
                .tags
                .keys()
                .chain(new.keys())
                .collect::<std::collections::BTreeSet<_>>()
                .len()
                > MAX_TAGS
            {
                return Err(bad_request(format!("At most {MAX_TAGS} tags are allowed.")));
            }
            inner
                .associations
                .update_by_arn(&arn, |a| a.tags.extend(new));
            Ok(rest_json::ok(json!({})))
        }
        _ => {
            let form = crate::aws_wire::query::parse_form_all(&query);
            let keys: Vec<String> = form
                .into_iter()
                .filter(|(k, _)| k == "tagKeys")
                .map(|(_, v)| v)
                .collect();
            inner.associations.update_by_arn(&arn, |a| {
                for key in &keys {
                    a.tags.remove(key);
                }
            });
            Ok(rest_json::ok(json!({})))
        }
    }
}
