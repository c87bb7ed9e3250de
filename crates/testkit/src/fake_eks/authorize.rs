//! The fake EKS's IAM check (on only under `irsa-sandbox --enforce-iam`, see
//! [`crate::enforce`]): one layer in front of every route that names, for each operation the
//! fake serves itself, the IAM action and resource EKS authorizes (Service Authorization
//! Reference, "Actions, resources, and condition keys for Amazon Elastic Kubernetes Service":
//! List and Create calls on the `cluster` resource, calls on one add-on on its `addon` ARN,
//! calls on one association on its `podidentityassociation` ARN, the catalog on `*`, tag calls on
//! the tagged ARN with `aws:RequestTag/…` and `aws:TagKeys`), and answers a refusal as EKS does
//! (restJson1, 403 with `x-amzn-ErrorType: AccessDeniedException` and `{"message"}`; the
//! `AccessDeniedException` shape of the `eks/2017-11-01` model carries `httpStatusCode` 403).
//! The cluster reads the fake forwards to moto (ListClusters, DescribeCluster, ListNodegroups,
//! DescribeNodegroup, a cluster's ListTagsForResource) are checked here too and then forwarded
//! signed as the sandbox: moto 5.2.5 cannot check them itself (it recomputes the signature of a
//! restJson GET wrongly and answers every signed one 403 SignatureDoesNotMatch). Other forwarded
//! requests (CreateCluster, …) pass on unchanged, and moto checks them. A Create or Update of a
//! Pod Identity association, or of an add-on with `podIdentityAssociations`, also needs
//! `iam:PassRole` on each role it names (EKS User Guide, "Assign an IAM role to a Kubernetes
//! service account": the caller passes the role to EKS Pod Identity), checked with the context
//! `iam:PassedToService` = `pods.eks.amazonaws.com` (the testkit's reading: the service that
//! assumes the role). An add-on's IRSA `serviceAccountRoleArn` needs no PassRole here: EKS
//! does not assume it.

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
    let (mut parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => return super::invalid(format!("cannot read the request body: {e}"), &[]),
    };
    if let Some((asked, served_by)) = asked(&inner, &parts, &body) {
        let passed = passed_roles(&asked.action, &body);
        let checks = std::iter::once(asked).chain(passed.iter().map(|role| pass_role(role)));
        for check in checks {
            if let Err(refusal) = inner.gate.check(&parts.headers, &check) {
                return refused(&refusal);
            }
        }
        if served_by == ServedBy::MotoUnchecked && inner.gate.is_set() {
            sign_as_sandbox(&mut parts);
        }
    }
    next.run(Request::from_parts(parts, Body::from(body))).await
}

/// Who answers an operation the layer checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ServedBy {
    Fake,
    /// moto, which cannot check it (see the module doc): it is forwarded as the sandbox's.
    MotoUnchecked,
}

/// Replaces the caller's credentials with the sandbox's (same region) for moto.
fn sign_as_sandbox(parts: &mut Parts) {
    let region = enforce::signed_region(&parts.headers).unwrap_or_else(|| "us-east-1".into());
    if let Ok(value) = super::sandbox_authorization("eks", &region).parse() {
        parts
            .headers
            .insert(axum::http::header::AUTHORIZATION, value);
    }
    parts.headers.remove("x-amz-security-token");
}

/// The roles an association or add-on create or update passes to EKS Pod Identity.
fn passed_roles(action: &str, body: &Bytes) -> Vec<String> {
    let body: Value = serde_json::from_slice(body).unwrap_or_default();
    let roles: Vec<&Value> = match action {
        "eks:CreatePodIdentityAssociation" | "eks:UpdatePodIdentityAssociation" => {
            vec![&body["roleArn"]]
        }
        "eks:CreateAddon" | "eks:UpdateAddon" => body["podIdentityAssociations"]
            .as_array()
            .map(|list| list.iter().map(|a| &a["roleArn"]).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    roles
        .into_iter()
        .filter_map(|r| r.as_str().map(str::to_string))
        .collect()
}

/// `iam:PassRole` of `role` to EKS Pod Identity.
fn pass_role(role: &str) -> Asked {
    let mut asked = Asked::new("iam:PassRole", role);
    asked.context.insert(
        "iam:PassedToService".into(),
        vec!["pods.eks.amazonaws.com".into()],
    );
    asked
}

/// A refusal as EKS answers it.
fn refused(refusal: &Refusal) -> Response {
    rest_json::error(
        StatusCode::FORBIDDEN,
        refusal.code(),
        &refusal.message(),
        &[],
    )
}

/// The action and resource of the operations checked here; `None` for what moto checks.
fn asked(inner: &Inner, parts: &Parts, body: &Bytes) -> Option<(Asked, ServedBy)> {
    let region = enforce::signed_region(&parts.headers).unwrap_or_else(|| "us-east-1".into());
    let arn =
        |kind: &str, rest: &str| format!("arn:aws:eks:{region}:{SANDBOX_ACCOUNT}:{kind}/{rest}");
    let segments: Vec<String> = parts
        .uri
        .path()
        .trim_matches('/')
        .split('/')
        .map(form_decode)
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = &parts.method;
    if let Some((action, resource)) = moto_read(method, &segments, &arn) {
        let asked = Asked::new(&format!("eks:{action}"), &resource);
        return Some((asked, ServedBy::MotoUnchecked));
    }
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
    Some((with_tag_context(asked, parts, body), ServedBy::Fake))
}

/// The cluster reads that moto serves and cannot check (see the module doc).
fn moto_read(
    method: &Method,
    segments: &[&str],
    arn: &dyn Fn(&str, &str) -> String,
) -> Option<(&'static str, String)> {
    if method != Method::GET {
        return None;
    }
    Some(match segments {
        ["clusters"] => ("ListClusters", "*".into()),
        ["clusters", cluster] => ("DescribeCluster", arn("cluster", cluster)),
        ["clusters", cluster, "node-groups"] => ("ListNodegroups", arn("cluster", cluster)),
        ["clusters", cluster, "node-groups", group] => (
            "DescribeNodegroup",
            arn("nodegroup", &format!("{cluster}/{group}")),
        ),
        ["tags", tagged] if tagged.contains(":cluster/") => {
            ("ListTagsForResource", tagged.to_string())
        }
        _ => return None,
    })
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
