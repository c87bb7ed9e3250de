//! One layer of the decision: the policies of one kind (identity-based, boundary, session, one
//! SCP or RCP level, the resource-based policy), what they decide on their own, and which
//! statements decided it.
//!
//! Within a layer the rule is the one of "Policy evaluation logic": an applying `Deny` wins, else
//! an applying `Allow` allows, else the layer denies implicitly. A statement that names a
//! principal applies only when it names the caller; the layer remembers how the strongest
//! applying `Allow` named it (see [`Grant`]), which decides what a resource-based allow is worth.

use std::fmt;

use super::caller::{Caller, Grant};
use crate::document::{Effect, PolicyDocument};
use crate::eval::{self, Applies, Decision, Request, StatementRef};

/// The kinds of layer, in the order AWS evaluates them.
///
/// Source: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html>.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LayerKind {
    /// AWS Organizations resource control policies (one layer per level, root to account).
    Rcp,
    /// AWS Organizations service control policies (one layer per level, root to account).
    Scp,
    /// The resource-based policy of the resource (bucket policy, key policy, …).
    Resource,
    /// The identity-based policies of the principal (managed and inline).
    Identity,
    /// The principal's permissions boundary.
    Boundary,
    /// The session policy passed when the role session was made.
    Session,
}

impl LayerKind {
    /// `rcp`, `scp`, `resource`, `identity`, `boundary`, `session` (the JSON spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            LayerKind::Rcp => "rcp",
            LayerKind::Scp => "scp",
            LayerKind::Resource => "resource",
            LayerKind::Identity => "identity",
            LayerKind::Boundary => "boundary",
            LayerKind::Session => "session",
        }
    }

    /// What the layer is, for sentences: "the permissions boundary".
    pub fn describe(self) -> &'static str {
        match self {
            LayerKind::Rcp => "the resource control policies (RCPs)",
            LayerKind::Scp => "the service control policies (SCPs)",
            LayerKind::Resource => "the resource-based policy",
            LayerKind::Identity => "the identity-based policies",
            LayerKind::Boundary => "the permissions boundary",
            LayerKind::Session => "the session policy",
        }
    }

    /// Whether the layer's documents name principals (resource-based) or must not (identity-based).
    pub fn names_principals(self) -> bool {
        matches!(self, LayerKind::Rcp | LayerKind::Resource)
    }
}

impl fmt::Display for LayerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one layer decided, on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerOutcome {
    pub kind: LayerKind,
    /// For SCPs and RCPs, the level (0 = the organization root, then OUs, then the account).
    pub level: Option<usize>,
    pub decision: Decision,
    /// The applying Deny statements, or else the applying Allow statements (policy index within
    /// the layer).
    pub deciding: Vec<StatementRef>,
    /// How the strongest applying Allow named the caller (resource-based layers; `Direct` for
    /// statements without a principal).
    pub grant: Option<Grant>,
}

impl LayerOutcome {
    pub fn allows(&self) -> bool {
        self.decision == Decision::Allow
    }
}

/// Evaluates `documents` as one layer. Statements that name a principal are matched against
/// `caller`; the caller is known whenever a layer names principals (checked by
/// [`super::Authorizer::authorize`]), and a statement naming a principal with no caller to match
/// would fail closed as [`eval::statement_applies`] does. With `record` false the deciding
/// statements are not collected (the decision is the same).
pub(crate) fn evaluate(
    kind: LayerKind,
    level: Option<usize>,
    documents: &[PolicyDocument],
    caller: Option<&Caller>,
    request: &Request<'_>,
    record: bool,
) -> LayerOutcome {
    // The applying Deny statements once there is one, the applying Allow statements until then.
    let mut deciding = Vec::new();
    let mut denied = false;
    let mut grant = None;
    for (p, document) in documents.iter().enumerate() {
        let variables = document.variables_enabled();
        for (s, statement) in document.statements.iter().enumerate() {
            let named = match (&statement.principal, caller) {
                (None, _) => Some(Grant::Direct),
                (Some(block), Some(caller)) => caller.named_by(block),
                (Some(_), None) if statement.effect == Effect::Deny => Some(Grant::Direct),
                (Some(_), None) => None,
            };
            let Some(named) = named else {
                continue;
            };
            if (denied && statement.effect == Effect::Allow)
                || eval::target_applies(statement, request, variables) != Applies::Yes
            {
                continue;
            }
            let at = StatementRef {
                policy: p,
                statement: s,
            };
            match statement.effect {
                Effect::Deny if !denied => {
                    denied = true;
                    deciding.clear();
                }
                Effect::Deny => {}
                Effect::Allow => grant = grant.max(Some(named)),
            }
            if record {
                deciding.push(at);
            }
        }
    }
    let decision = if denied {
        grant = None;
        Decision::ExplicitDeny
    } else if grant.is_some() {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    };
    LayerOutcome {
        kind,
        level,
        decision,
        deciding,
        grant,
    }
}
