//! Errors of the Kubernetes adapter. Each says which operation on which object failed and, for
//! an API refusal, the API server's own `Status` message with its code and reason
//! (`create service account team/app: namespaces "team" not found (404 NotFound)`); transport
//! errors carry their whole cause chain (`connection refused` and the like).

use std::error::Error as _;

/// An error of the Kubernetes adapter.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// The client configuration could not be loaded or used.
    #[error("cannot load the Kubernetes configuration{}: {message}", from.as_deref().map(|f| format!(" from {f}")).unwrap_or_default())]
    Config {
        /// The kubeconfig path or context, when one was given.
        from: Option<String>,
        message: String,
    },
    /// A request failed: refused by the API server (`code`, `reason` set) or not answered.
    #[error("{operation} {object}: {message}")]
    Api {
        /// `get`, `create`, `patch`, `delete`, `list pods using`, …
        operation: &'static str,
        /// `service account kube-system/cluster-autoscaler`, `namespace team`, …
        object: String,
        /// HTTP code of the API's `Status`, when the server answered.
        code: Option<u16>,
        /// `NotFound`, `AlreadyExists`, `Conflict`, `Forbidden`, …
        reason: Option<String>,
        message: String,
        #[source]
        source: Box<kube::Error>,
    },
    /// `execute` was handed a step another adapter runs.
    #[error("{0} is not a Kubernetes step")]
    NotAKubernetesStep(String),
    /// A rollout restart was asked for a kind of workload that has none.
    #[error(
        "cannot restart {kind} {namespace}/{name}: only Deployments, StatefulSets and DaemonSets have a rollout restart; delete its pods instead"
    )]
    NotRestartable {
        kind: String,
        namespace: String,
        name: String,
    },
    /// The API server answered, but not with what the request should return (a TokenRequest
    /// without a token, a document that is not JSON, …). The message never quotes the body.
    #[error("{operation} {object}: unexpected answer: {message}")]
    InvalidResponse {
        operation: &'static str,
        object: String,
        message: String,
    },
    /// A wait ended before the object reached the awaited state.
    #[error("{operation} {object}: gave up after {}s; last seen: {last_seen}", waited.as_secs_f64())]
    Timeout {
        /// `wait for`, …
        operation: &'static str,
        /// `pod team/irsa-verify-app`, …
        object: String,
        waited: std::time::Duration,
        /// The state last observed (`Pending (ImagePullBackOff)`, `Running`).
        last_seen: String,
    },
}

impl KubeError {
    /// Wraps a kube error with the operation and the object it concerned.
    pub fn api(operation: &'static str, object: impl Into<String>, source: kube::Error) -> Self {
        let object = object.into();
        match &source {
            kube::Error::Api(status) => {
                let reason = (!status.reason.is_empty()).then(|| status.reason.clone());
                let message = format!(
                    "{} ({}{})",
                    status.message,
                    status.code,
                    reason
                        .as_deref()
                        .map(|r| format!(" {r}"))
                        .unwrap_or_default()
                );
                KubeError::Api {
                    operation,
                    object,
                    code: Some(status.code),
                    reason,
                    message,
                    source: Box::new(source),
                }
            }
            _ => {
                let mut message = source.to_string();
                let mut cause = source.source();
                while let Some(c) = cause {
                    let text = c.to_string();
                    if !message.contains(&text) {
                        message = format!("{message}: {text}");
                    }
                    cause = c.source();
                }
                KubeError::Api {
                    operation,
                    object,
                    code: None,
                    reason: None,
                    message,
                    source: Box::new(source),
                }
            }
        }
    }

    /// The API's HTTP status code, when the server answered with a `Status`.
    pub fn code(&self) -> Option<u16> {
        match self {
            KubeError::Api { code, .. } => *code,
            _ => None,
        }
    }

    /// What RBAC refused, for a 403 Forbidden: read from the API server's message
    /// (`… is forbidden: User "U" cannot VERB resource "R" in API group "G" in the namespace
    /// "N"`, or `at the cluster scope`).
    pub fn forbidden(&self) -> Option<Forbidden> {
        let KubeError::Api {
            code: Some(403),
            message,
            ..
        } = self
        else {
            return None;
        };
        let quoted_after = |marker: &str| -> Option<String> {
            let rest = &message[message.find(marker)? + marker.len()..];
            let rest = rest.strip_prefix('"')?;
            Some(rest[..rest.find('"')?].to_string())
        };
        let verb_and_resource = {
            let rest = &message[message.find(" cannot ")? + " cannot ".len()..];
            let (verb, rest) = rest.split_once(' ')?;
            let rest = rest.strip_prefix("resource \"")?;
            (verb.to_string(), rest[..rest.find('"')?].to_string())
        };
        Some(Forbidden {
            user: quoted_after("User "),
            verb: verb_and_resource.0,
            resource: verb_and_resource.1,
            api_group: quoted_after("in API group ").unwrap_or_default(),
            namespace: quoted_after("in the namespace "),
        })
    }

    /// The API's `reason` (`NotFound`, `AlreadyExists`, `Conflict`, …).
    pub fn reason(&self) -> Option<&str> {
        match self {
            KubeError::Api { reason, .. } => reason.as_deref(),
            _ => None,
        }
    }
}

/// A request RBAC refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forbidden {
    /// The Kubernetes user, when the server names it.
    pub user: Option<String>,
    /// `create`, `patch`, …
    pub verb: String,
    /// `serviceaccounts`, `serviceaccounts/token`, …
    pub resource: String,
    /// `""` for the core group, `apps`, …
    pub api_group: String,
    /// `None` at the cluster scope.
    pub namespace: Option<String>,
}

/// `true` when the kube error is the API's 404.
pub(crate) fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

/// `true` when the kube error is the API's 409 AlreadyExists.
pub(crate) fn is_already_exists(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409 && s.reason == "AlreadyExists")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(message: &str) -> KubeError {
        let mut status = kube::core::Status::failure(message, "Forbidden");
        status.code = 403;
        KubeError::api(
            "create",
            "service account kube-system/x",
            kube::Error::Api(Box::new(status)),
        )
    }

    /// The API server's wording (k8s.io/apiserver, endpoints/handlers/responsewriters,
    /// `forbiddenMessage`): namespaced, and at the cluster scope.
    #[test]
    fn a_forbidden_names_the_user_verb_resource_and_namespace() {
        let e = refused(
            "serviceaccounts \"x\" is forbidden: User \"system:serviceaccount:ci:deployer\" cannot create resource \"serviceaccounts\" in API group \"\" in the namespace \"kube-system\"",
        );
        assert_eq!(
            e.forbidden(),
            Some(Forbidden {
                user: Some("system:serviceaccount:ci:deployer".into()),
                verb: "create".into(),
                resource: "serviceaccounts".into(),
                api_group: String::new(),
                namespace: Some("kube-system".into()),
            })
        );
        let e = refused(
            "namespaces \"team\" is forbidden: User \"alice\" cannot create resource \"namespaces\" in API group \"\" at the cluster scope",
        );
        let forbidden = e.forbidden().unwrap();
        assert_eq!(
            (forbidden.verb.as_str(), forbidden.namespace),
            ("create", None)
        );
        assert_eq!(refused("forbidden by a webhook").forbidden(), None);
    }
}
