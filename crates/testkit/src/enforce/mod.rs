//! IAM enforcement in the fakes, for `irsa-sandbox --enforce-iam`: moto checks its own services
//! (see [`crate::moto`]), and the fakes that stand in for what moto lacks (EKS add-ons and Pod
//! Identity, EKS Auth, CloudTrail LookupEvents) check the same caller through an [`Enforcer`]:
//! the caller is the access key id of the SigV4 `Authorization` header (its `Credential=KEY/…`;
//! the signature itself is not verified), mapped to the principal the sandbox created for it and
//! that principal's policy documents, decided by this crate's own evaluator ([`policy`]). The
//! sandbox's own key ([`SANDBOX_ACCESS_KEY`], which its seeding and the fakes' calls to each
//! other carry) and the keys it registers as its own (the simulated Pod Identity agent's) are
//! not checked. Each fake turns a [`Refusal`] into its service's wire format. A fake without an
//! enforcer (the default, [`Gate`] unset) allows everything, as before.

pub mod policy;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, RwLock};

use axum::http::{HeaderMap, header};
use serde_json::Value;

pub use policy::{Decision, Request};

/// The access key id the sandbox itself signs with (its seeding, the fakes' calls to moto).
pub const SANDBOX_ACCESS_KEY: &str = "testing";

/// The access key id the simulated Pod Identity agent of the fake cluster signs its
/// AssumeRoleForPodIdentity with (`fake_kube::awscli`).
pub const POD_IDENTITY_AGENT_ACCESS_KEY: &str = "AKIAPODIDENTITYAGENT";

/// Who an access key belongs to.
#[derive(Debug, Clone)]
enum Caller {
    /// The sandbox itself (or a part of it standing for AWS, such as the Pod Identity agent's
    /// node role): not checked.
    Sandbox,
    /// A principal whose requests are checked against its policies.
    Principal { arn: String, policies: Vec<Value> },
}

/// The table of access keys → principals and policies, shared by the fakes; cheap to clone.
#[derive(Debug, Clone)]
pub struct Enforcer {
    callers: Arc<RwLock<BTreeMap<String, Caller>>>,
}

impl Default for Enforcer {
    fn default() -> Self {
        let enforcer = Enforcer {
            callers: Arc::default(),
        };
        enforcer.trust(SANDBOX_ACCESS_KEY);
        enforcer
    }
}

/// Why a request was refused; each fake answers it in its own wire format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No `Authorization` header with a SigV4 credential.
    MissingAuthentication,
    /// The access key belongs to no principal the sandbox knows.
    UnrecognizedClient { access_key_id: String },
    /// The principal's policies do not allow the request (or explicitly deny it).
    AccessDenied {
        principal: String,
        action: String,
        resource: String,
        explicit: bool,
    },
}

impl Refusal {
    /// The error message as AWS words it (IAM User Guide, "Troubleshoot access denied error
    /// messages": `User: ARN is not authorized to perform: ACTION on resource: ARN because no
    /// identity-based policy allows the ACTION action` / `with an explicit deny in an
    /// identity-based policy`).
    pub fn message(&self) -> String {
        match self {
            Refusal::MissingAuthentication => "Missing Authentication Token".into(),
            Refusal::UnrecognizedClient { .. } => {
                "The security token included in the request is invalid.".into()
            }
            Refusal::AccessDenied {
                principal,
                action,
                resource,
                explicit,
            } => {
                let why = if *explicit {
                    "with an explicit deny in an identity-based policy".to_string()
                } else {
                    format!("because no identity-based policy allows the {action} action")
                };
                format!(
                    "User: {principal} is not authorized to perform: {action} on resource: {resource} {why}"
                )
            }
        }
    }

    /// The error code AWS answers it with in JSON protocols (`x-amzn-ErrorType` / `__type`).
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::MissingAuthentication => "MissingAuthenticationTokenException",
            Refusal::UnrecognizedClient { .. } => "UnrecognizedClientException",
            Refusal::AccessDenied { .. } => "AccessDeniedException",
        }
    }
}

impl Enforcer {
    /// An enforcer that knows only the sandbox's own key.
    pub fn new() -> Enforcer {
        Enforcer::default()
    }

    /// Lets `access_key_id` through unchecked (a part of the sandbox standing for AWS).
    pub fn trust(&self, access_key_id: &str) {
        self.callers
            .write()
            .unwrap()
            .insert(access_key_id.to_string(), Caller::Sandbox);
    }

    /// Checks `access_key_id`'s requests against `policies` as the principal `arn`.
    pub fn add_principal(&self, access_key_id: &str, arn: &str, policies: Vec<Value>) {
        self.callers.write().unwrap().insert(
            access_key_id.to_string(),
            Caller::Principal {
                arn: arn.to_string(),
                policies,
            },
        );
    }

    /// Whether the caller of `headers` may make `request`.
    pub fn check(&self, headers: &HeaderMap, request: &Request) -> Result<(), Refusal> {
        let access_key_id = access_key_id(headers).ok_or(Refusal::MissingAuthentication)?;
        let callers = self.callers.read().unwrap();
        match callers.get(&access_key_id) {
            None => Err(Refusal::UnrecognizedClient { access_key_id }),
            Some(Caller::Sandbox) => Ok(()),
            Some(Caller::Principal { arn, policies }) => match policy::decide(policies, request) {
                Decision::Allow => Ok(()),
                decision => Err(Refusal::AccessDenied {
                    principal: arn.clone(),
                    action: request.action.clone(),
                    resource: request.resource.clone(),
                    explicit: decision == Decision::ExplicitDeny,
                }),
            },
        }
    }
}

/// The access key id of a SigV4 `Authorization` header (`… Credential=KEY/DATE/REGION/…`).
pub fn access_key_id(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let credential = value.split("Credential=").nth(1)?;
    credential
        .split('/')
        .next()
        .filter(|key| !key.is_empty())
        .map(str::to_string)
}

/// The region of a SigV4 credential scope (`Credential=KEY/DATE/REGION/SERVICE/aws4_request`).
pub fn signed_region(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let credential = value.split("Credential=").nth(1)?;
    credential.split('/').nth(2).map(str::to_string)
}

/// A fake's optional enforcer: unset (everything allowed) until the sandbox sets it once.
#[derive(Debug, Default)]
pub struct Gate(OnceLock<Enforcer>);

impl Gate {
    /// Turns enforcement on with `enforcer` (a second call is ignored).
    pub fn set(&self, enforcer: Enforcer) {
        let _ = self.0.set(enforcer);
    }

    /// Whether enforcement is on.
    pub fn is_set(&self) -> bool {
        self.0.get().is_some()
    }

    /// [`Enforcer::check`] when enforcement is on, else `Ok`.
    pub fn check(&self, headers: &HeaderMap, request: &Request) -> Result<(), Refusal> {
        match self.0.get() {
            Some(enforcer) => enforcer.check(headers, request),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use serde_json::json;

    fn signed_by(key: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!(
                "AWS4-HMAC-SHA256 Credential={key}/20260101/us-west-2/eks/aws4_request, SignedHeaders=host, Signature=abc"
            ))
            .unwrap(),
        );
        headers
    }

    #[test]
    fn callers_are_told_apart_by_their_access_key() {
        let enforcer = Enforcer::new();
        enforcer.add_principal(
            "AKIAUSER",
            "arn:aws:iam::123456789012:user/irsa",
            vec![json!({"Statement": {"Effect": "Allow", "Action": "eks:ListAddons", "Resource": "*"}})],
        );
        let list = Request::new(
            "eks:ListAddons",
            "arn:aws:eks:us-west-2:123456789012:cluster/demo",
        );
        let create = Request::new(
            "eks:CreateAddon",
            "arn:aws:eks:us-west-2:123456789012:cluster/demo",
        );
        assert_eq!(enforcer.check(&signed_by("AKIAUSER"), &list), Ok(()));
        let denied = enforcer.check(&signed_by("AKIAUSER"), &create).unwrap_err();
        assert_eq!(
            denied.message(),
            "User: arn:aws:iam::123456789012:user/irsa is not authorized to perform: eks:CreateAddon on resource: arn:aws:eks:us-west-2:123456789012:cluster/demo because no identity-based policy allows the eks:CreateAddon action"
        );
        assert_eq!(denied.code(), "AccessDeniedException");
        assert_eq!(
            enforcer.check(&signed_by(SANDBOX_ACCESS_KEY), &create),
            Ok(())
        );
        assert_eq!(
            enforcer.check(&signed_by("AKIAOTHER"), &list),
            Err(Refusal::UnrecognizedClient {
                access_key_id: "AKIAOTHER".into()
            })
        );
        assert_eq!(
            enforcer.check(&HeaderMap::new(), &list),
            Err(Refusal::MissingAuthentication)
        );
        assert_eq!(signed_region(&signed_by("k")).as_deref(), Some("us-west-2"));
    }

    #[test]
    fn an_unset_gate_allows_everything() {
        let gate = Gate::default();
        let request = Request::new("eks:CreateAddon", "*");
        assert_eq!(gate.check(&HeaderMap::new(), &request), Ok(()));
        gate.set(Enforcer::new());
        assert_eq!(
            gate.check(&HeaderMap::new(), &request),
            Err(Refusal::MissingAuthentication)
        );
    }
}

#[cfg(test)]
mod sandbox_tests;
