//! The fake EKS's IAM check (on only under `irsa-sandbox --enforce-iam`, see
//! [`crate::enforce`]): one layer in front of every route that names, for each operation the
//! fake serves itself, the IAM action and resource EKS authorizes (Service Authorization
//! Reference, "Actions, resources, and condition keys for Amazon Elastic Kubernetes Service":
//! List and Create calls on the `cluster` resource, calls on one add-on on its `addon` ARN,
//! calls on one association on its `podidentityassociation` ARN, the catalog on `*`, tag calls on
//! the tagged ARN with `aws:RequestTag/…` and `aws:TagKeys`), and answers a refusal as EKS does
//! (restJson1, 403 with `x-amzn-ErrorType: AccessDeniedException` and `{"message"}`; the
//! `AccessDeniedException` shape of the `eks/2017-11-01` model carries `httpStatusCode` 403).
//! Requests the fake forwards to moto (clusters, node groups, their tags) pass on: moto checks
//! them itself. Not checked: `iam:PassRole` for the roles an add-on or association names.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, request::Parts};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::Value;

use super::Inner;
use crate::aws_wire::query::form_decode;
use crate::aws_wire::rest_json;
use crate::enforce::{self, Refusal, Request as Asked};
use crate::sandbox::SANDBOX_ACCOUNT;

/// The layer: checks the caller of every operation the fake serves, then runs it.
pub(super) async fn authorize(
    State(inner): State<Arc<Inner>>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => return super::invalid(format!("cannot read the request body: {e}"), &[]),
    };
    if let Some(asked) = asked(&inner, &parts, &body)
        && let Err(refusal) = inner.gate.check(&parts.headers, &asked)
    {
        return refused(&refusal);
    }
    next.run(Request::from_parts(parts, Body::from(body))).await
}

/// A refusal as EKS answers it.
pub(crate) fn refused(refusal: &Refusal) -> Response {
    rest_json::error(StatusCode::FORBIDDEN, refusal.code(), &refusal.message(), &[])
}

/// The action and resource of the fake's own operations; `None` for what goes to moto.
fn asked(inner: &Inner, parts: &Parts, body: &Bytes) -> Option<Asked> {
    let region = enforce::signed_region(&parts.headers).unwrap_or_else(|| "us-east-1".into());
    let arn = |kind: &str, rest: &str| format!("arn:aws:eks:{region}:{SANDBOX_ACCOUNT}:{kind}/{rest}");
    let segments: Vec<String> = parts
        .uri
        .path()
        .trim_matches('/')
        .split('/')
        .map(form_decode)
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = &parts.method;
    let (action, resource) = match (method, segments.as_slice()) {
        (&Method::GET, ["addons", "supported-versions"]) => ("DescribeAddonVersions", "*".into()),
        (&Method::GET, ["addons", "configuration-schemas"]) => {
            ("DescribeAddonConfiguration", "*".into())
        }
        (_, ["clusters", cluster, "addons", rest @ ..]) => {
            let addon = || addon_arn(inner, &arn("addon", cluster), cluster, rest[0]);
            match (method, rest) {
                (&Method::GET, []) => ("ListAddons", arn("cluster", cluster)),
                (&Method::POST, []) => ("CreateAddon", arn("cluster", cluster)),
                (&Method::GET, [_]) => ("DescribeAddon", addon()),
                (&Method::DELETE, [_]) => ("DeleteAddon", addon()),
                (&Method::POST, [_, "update"]) => ("UpdateAddon", addon()),
                _ => return None,
            }
        }
        (_, ["clusters", cluster, "pod-identity-associations", rest @ ..]) => {
            let association = || arn("podidentityassociation", &format!("{cluster}/{}", rest[0]));
            match (method, rest) {
                (&Method::GET, []) => ("ListPodIdentityAssociations", arn("cluster", cluster)),
                (&Method::POST, []) => ("CreatePodIdentityAssociation", arn("cluster", cluster)),
                (&Method::GET, [_]) => ("DescribePodIdentityAssociation", association()),
                (&Method::POST, [_]) => ("UpdatePodIdentityAssociation", association()),
                (&Method::DELETE, [_]) => ("DeletePodIdentityAssociation", association()),
                _ => return None,
            }
        }
        (_, ["tags", tagged]) if tagged.contains(":podidentityassociation/") => match *method {
            Method::GET => ("ListTagsForResource", tagged.to_string()),
            Method::POST => ("TagResource", tagged.to_string()),
            Method::DELETE => ("UntagResource", tagged.to_string()),
            _ => return None,
        },
        _ => return None,
    };
    let asked = Asked::new(&format!("eks:{action}"), &resource);
    Some(with_tag_context(asked, parts, body))
}

/// The add-on's ARN (its id minted at create), or the ARN without the id when it does not exist.
fn addon_arn(inner: &Inner, prefix: &str, cluster: &str, addon: &str) -> String {
    inner
        .with_addon(cluster, addon, |a| a.arn.clone())
        .unwrap_or_else(|| format!("{prefix}/{addon}"))
}

/// `aws:RequestTag/…` and `aws:TagKeys` from a body's `tags` (creates, TagResource) or the
/// `tagKeys` of an UntagResource query.
fn with_tag_context(asked: Asked, parts: &Parts, body: &Bytes) -> Asked {
    let tags: Vec<(String, String)> = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|b| b["tags"].as_object().cloned())
        .map(|tags| {
            tags.into_iter()
                .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let mut asked = asked.with_request_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let removed: Vec<String> = parts
        .uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.strip_prefix("tagKeys="))
        .map(form_decode)
        .collect();
    if !removed.is_empty() {
        asked.context.insert("aws:TagKeys".into(), removed);
    }
    asked
}
