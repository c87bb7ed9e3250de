//! The whole authorization decision: every policy layer that applies to a request, decided in
//! the order of AWS's documented policy evaluation logic, with the layer that decided it.
//!
//! 1. An explicit `Deny` in any layer wins.
//! 2. RCPs, then SCPs: every level (root, each OU, the account) must allow.
//! 3. The resource-based policy (see [`resource`] for what its `Allow` is worth within one
//!    account, across accounts and for KMS keys).
//! 4. The identity-based policies must allow, capped by the permissions boundary and the
//!    session policy when there are any.
//!
//! Documents are checked once, when the [`Authorizer`] is made: an identity-based layer whose
//! document names a principal, or a resource-based layer whose statement names none, is refused
//! with the place, never evaluated with the statement dropped.
//!
//! Source: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html>.

pub mod caller;
pub mod layer;
pub mod resource;

use std::fmt;

pub use caller::{Caller, CallerError, CallerKind, Grant};
pub use layer::{LayerKind, LayerOutcome};

use crate::context::Context;
use crate::document::{ParseError, PolicyDocument};
use crate::eval::{Decision, Request};
use resource::SameAccount;

/// The policies of every layer. Each SCP or RCP level is the list of policies attached at that
/// level, root first.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    pub identity: Vec<PolicyDocument>,
    pub boundary: Option<PolicyDocument>,
    pub session: Option<PolicyDocument>,
    pub scp_levels: Vec<Vec<PolicyDocument>>,
    pub rcp_levels: Vec<Vec<PolicyDocument>>,
    pub resource: Option<PolicyDocument>,
}

/// Where a document sits: its layer, its level (SCPs, RCPs) and its index within the level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentRef {
    pub layer: LayerKind,
    pub level: Option<usize>,
    pub index: usize,
}

/// Why the policies or the request cannot be decided.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizationError {
    /// A document is not valid for its layer (a principal in an identity-based policy, none in a
    /// resource-based statement).
    #[error("{at}: {source}")]
    InvalidDocument {
        at: DocumentRef,
        #[source]
        source: ParseError,
    },
    /// A layer names principals and the request says nothing of its caller.
    #[error("{} names principals: the caller must be given to match them", .layer.describe())]
    NoCaller { layer: LayerKind },
}

/// One request to decide.
#[derive(Debug, Clone, Copy)]
pub struct AuthzRequest<'a> {
    /// Who makes the request; needed when a resource-based policy or an RCP is given.
    pub caller: Option<&'a Caller>,
    pub action: &'a str,
    pub resource: &'a str,
    /// The request context, including the caller's keys (see [`Caller::fill_context`]).
    pub context: &'a Context,
}

/// Why the final decision is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// An applying Deny in the deciding layer.
    ExplicitDeny,
    /// No statement of this SCP or RCP level allows the request.
    LevelDoesNotAllow,
    /// Within one account, the resource-based policy names the caller itself.
    ResourceNamesCaller,
    /// Within one account, the resource-based policy names the caller's role, and the boundary
    /// and session policy allow.
    ResourceNamesRole,
    /// The resource-based policy names the caller's role, but the deciding cap does not allow.
    CapLimitsRoleGrant,
    /// The identity-based policies allow, within the boundary and session policy.
    IdentityAllows,
    /// No identity-based policy allows the request.
    IdentityDoesNotAllow,
    /// The deciding cap (boundary, session policy) does not allow what identity policies allow.
    CapDoesNotAllow,
    /// Across accounts, the resource-based policy does not admit the caller (or there is none).
    CrossAccountResourceDoesNotAllow,
    /// Across accounts, the resource-based policy admits the caller and its own policies allow.
    CrossAccountBothAllow,
    /// A KMS key policy must allow explicitly, and it does not (or none was given).
    KeyPolicyDoesNotAllow,
}

/// The decision, the layers that went into it, and the one that decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub decision: Decision,
    /// Every layer evaluated, in AWS's order (RCP levels, SCP levels, resource, identity,
    /// boundary, session). A resource layer with no statements stands for a resource-based
    /// policy that was required and not given.
    pub layers: Vec<LayerOutcome>,
    /// Index in `layers` of the layer that decided.
    pub decided_by: usize,
    pub reason: Reason,
    /// Whether caller and resource are taken to be in one account.
    pub same_account: bool,
}

impl Authorization {
    /// The deciding layer.
    pub fn deciding_layer(&self) -> &LayerOutcome {
        &self.layers[self.decided_by]
    }

    /// One sentence on why: "the permissions boundary caps the identity-based policies and does
    /// not allow it".
    pub fn explain(&self) -> String {
        let layer = self.deciding_layer();
        let what = match layer.level {
            Some(level) => format!("{} at level {level}", layer.kind.describe()),
            None => layer.kind.describe().to_string(),
        };
        match self.reason {
            Reason::ExplicitDeny => format!("an explicit Deny in {what} wins over every Allow"),
            Reason::LevelDoesNotAllow => format!("no statement of {what} allows it: every level from the root to the account must allow"),
            Reason::ResourceNamesCaller => format!("{what} names the caller itself: within one account that allows by itself"),
            Reason::ResourceNamesRole => format!("{what} names the caller's role: within one account that allows within the role's permissions boundary and session policy, which allow it"),
            Reason::CapLimitsRoleGrant => format!("the resource-based policy names the caller's role (not the role session), so {what} still limits it, and does not allow it"),
            Reason::IdentityAllows => format!("{what} allow it, and no boundary or session policy caps it"),
            Reason::IdentityDoesNotAllow => format!("no statement of {what} allows it (implicit deny)"),
            Reason::CapDoesNotAllow => format!("{what} caps the identity-based policies and does not allow it"),
            Reason::CrossAccountResourceDoesNotAllow => format!("the resource is in another account: {what} must admit the caller or its account, and does not"),
            Reason::CrossAccountBothAllow => format!("the resource is in another account: {what} admits the caller, and the caller's own policies allow it"),
            Reason::KeyPolicyDoesNotAllow => "a KMS key policy must allow explicitly (identity-based policies count only when it allows the account), and it does not".to_string(),
        }
    }
}

/// Policies checked for their layers, ready to decide requests.
#[derive(Debug, Clone)]
pub struct Authorizer {
    policies: Policies,
}

impl Authorizer {
    /// Checks every document for its layer.
    pub fn new(policies: Policies) -> Result<Authorizer, AuthorizationError> {
        for (at, document) in documents(&policies) {
            let checked = if at.layer.names_principals() {
                check_names_principals(document)
            } else {
                document.check_identity_based()
            };
            checked.map_err(|source| AuthorizationError::InvalidDocument { at, source })?;
        }
        Ok(Authorizer { policies })
    }

    pub fn policies(&self) -> &Policies {
        &self.policies
    }

    /// Decides `request` through every layer, with each layer's deciding statements.
    pub fn authorize(
        &self,
        request: &AuthzRequest<'_>,
    ) -> Result<Authorization, AuthorizationError> {
        self.run(request, true)
    }

    /// [`Authorizer::authorize`] without collecting the deciding statements (every `deciding`
    /// list is empty): the same decision and deciding layer, for bulk checks.
    pub fn decide(&self, request: &AuthzRequest<'_>) -> Result<Authorization, AuthorizationError> {
        self.run(request, false)
    }

    fn run(
        &self,
        request: &AuthzRequest<'_>,
        record: bool,
    ) -> Result<Authorization, AuthorizationError> {
        let p = &self.policies;
        if request.caller.is_none() {
            if p.resource.is_some() {
                return Err(AuthorizationError::NoCaller {
                    layer: LayerKind::Resource,
                });
            }
            if p.rcp_levels.iter().any(|level| !level.is_empty()) {
                return Err(AuthorizationError::NoCaller {
                    layer: LayerKind::Rcp,
                });
            }
        }
        let eval_request = Request {
            principal: None,
            action: request.action,
            resource: Some(request.resource),
            context: request.context,
        };
        let caller = request.caller;
        let layer = |kind, level, documents: &[PolicyDocument]| {
            layer::evaluate(kind, level, documents, caller, &eval_request, record)
        };
        let mut layers = Vec::with_capacity(4 + p.scp_levels.len() + p.rcp_levels.len());
        for (level, documents) in p.rcp_levels.iter().enumerate() {
            layers.push(layer(LayerKind::Rcp, Some(level), documents));
        }
        for (level, documents) in p.scp_levels.iter().enumerate() {
            layers.push(layer(LayerKind::Scp, Some(level), documents));
        }
        if let Some(document) = &p.resource {
            layers.push(layer(
                LayerKind::Resource,
                None,
                std::slice::from_ref(document),
            ));
        }
        layers.push(layer(LayerKind::Identity, None, &p.identity));
        if let Some(document) = &p.boundary {
            layers.push(layer(
                LayerKind::Boundary,
                None,
                std::slice::from_ref(document),
            ));
        }
        if let Some(document) = &p.session {
            layers.push(layer(
                LayerKind::Session,
                None,
                std::slice::from_ref(document),
            ));
        }
        let resource_account = resource::resource_account(request.resource, request.context);
        let same_account = resource::same_account(caller, resource_account, p.resource.is_some());
        let kms = resource::is_kms(request.resource);
        let (decision, decided_by, reason) = decide(&mut layers, same_account, kms);
        Ok(Authorization {
            decision,
            layers,
            decided_by,
            reason,
            same_account,
        })
    }
}

/// Every document of `policies` with its place.
fn documents(policies: &Policies) -> Vec<(DocumentRef, &PolicyDocument)> {
    let place = |layer, level| {
        move |(index, document)| {
            (
                DocumentRef {
                    layer,
                    level,
                    index,
                },
                document,
            )
        }
    };
    let mut out = Vec::new();
    for (level, list) in policies.rcp_levels.iter().enumerate() {
        out.extend(
            list.iter()
                .enumerate()
                .map(place(LayerKind::Rcp, Some(level))),
        );
    }
    for (level, list) in policies.scp_levels.iter().enumerate() {
        out.extend(
            list.iter()
                .enumerate()
                .map(place(LayerKind::Scp, Some(level))),
        );
    }
    out.extend(
        policies
            .resource
            .iter()
            .enumerate()
            .map(place(LayerKind::Resource, None)),
    );
    out.extend(
        policies
            .identity
            .iter()
            .enumerate()
            .map(place(LayerKind::Identity, None)),
    );
    out.extend(
        policies
            .boundary
            .iter()
            .enumerate()
            .map(place(LayerKind::Boundary, None)),
    );
    out.extend(
        policies
            .session
            .iter()
            .enumerate()
            .map(place(LayerKind::Session, None)),
    );
    out
}

/// A resource-based statement (or an RCP's) must name its principals: one without would apply
/// to nobody AWS could name, so it is refused rather than guessed at.
fn check_names_principals(document: &PolicyDocument) -> Result<(), ParseError> {
    match document.statements.iter().find(|s| s.principal.is_none()) {
        None => Ok(()),
        Some(statement) => Err(ParseError {
            path: format!("Statement[{}]", statement.index),
            message: "a resource-based policy statement must name a Principal or NotPrincipal"
                .to_string(),
        }),
    }
}

/// The final decision over evaluated layers, in AWS's order. May append an empty resource layer
/// when a resource-based policy was required and not given, so the deciding layer is listed.
fn decide(
    layers: &mut Vec<LayerOutcome>,
    same_account: bool,
    kms: bool,
) -> (Decision, usize, Reason) {
    if let Some(i) = layers
        .iter()
        .position(|l| l.decision == Decision::ExplicitDeny)
    {
        return (Decision::ExplicitDeny, i, Reason::ExplicitDeny);
    }
    if let Some(i) = layers
        .iter()
        .position(|l| matches!(l.kind, LayerKind::Rcp | LayerKind::Scp) && !l.allows())
    {
        return (Decision::ImplicitDeny, i, Reason::LevelDoesNotAllow);
    }
    let find = |kind| layers.iter().position(|l: &LayerOutcome| l.kind == kind);
    let identity = find(LayerKind::Identity).expect("the identity layer is always evaluated");
    let cap_denying = [find(LayerKind::Boundary), find(LayerKind::Session)]
        .into_iter()
        .flatten()
        .find(|&i| !layers[i].allows());
    let identity_side = if !layers[identity].allows() {
        Some((identity, Reason::IdentityDoesNotAllow))
    } else {
        cap_denying.map(|i| (i, Reason::CapDoesNotAllow))
    };
    let resource = find(LayerKind::Resource);
    let grant = resource.and_then(|i| layers[i].grant);
    let implicit = |(i, reason)| (Decision::ImplicitDeny, i, reason);
    if !same_account || (kms && grant.is_none()) {
        let reason = if kms {
            Reason::KeyPolicyDoesNotAllow
        } else {
            Reason::CrossAccountResourceDoesNotAllow
        };
        let Some(resource) = resource.filter(|_| grant.is_some()) else {
            let at = resource.unwrap_or_else(|| push_missing_resource(layers));
            return (Decision::ImplicitDeny, at, reason);
        };
        if !same_account {
            return match identity_side {
                Some(denied) => implicit(denied),
                None => (Decision::Allow, resource, Reason::CrossAccountBothAllow),
            };
        }
    }
    match resource::same_account_effect(grant) {
        SameAccount::Allows => (
            Decision::Allow,
            resource.unwrap_or(identity),
            Reason::ResourceNamesCaller,
        ),
        SameAccount::AllowsWithinCaps => match cap_denying {
            Some(cap) => (Decision::ImplicitDeny, cap, Reason::CapLimitsRoleGrant),
            None => (
                Decision::Allow,
                resource.unwrap_or(identity),
                Reason::ResourceNamesRole,
            ),
        },
        SameAccount::Delegates => match identity_side {
            Some(denied) => implicit(denied),
            None => (Decision::Allow, identity, Reason::IdentityAllows),
        },
    }
}

fn push_missing_resource(layers: &mut Vec<LayerOutcome>) -> usize {
    let at = layers
        .iter()
        .position(|l| l.kind > LayerKind::Resource)
        .unwrap_or(layers.len());
    layers.insert(
        at,
        LayerOutcome {
            kind: LayerKind::Resource,
            level: None,
            decision: Decision::ImplicitDeny,
            deciding: Vec::new(),
            grant: None,
        },
    );
    at
}

impl fmt::Display for DocumentRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.level {
            Some(level) => write!(f, "{} level {level} policy {}", self.layer, self.index),
            None => write!(f, "{} policy {}", self.layer, self.index),
        }
    }
}

#[cfg(test)]
mod tests;
