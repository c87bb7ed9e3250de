//! The IAM policy language, as a pure library: no I/O, no async, no panics on any input.
//!
//! - [`document`]: parse policy documents (raw or URL-encoded JSON) into typed statements, with
//!   errors that name the place (`Statement[1].Condition.StringLike: …`).
//! - [`arn`] and [`wildcard`]: ARNs and IAM's `*`/`?` matching.
//! - [`context`], [`condition`], [`variables`]: the request context, every condition operator
//!   and policy variables.
//! - [`equivalence`]: whether two documents say the same thing written differently (Sid, order,
//!   single values versus lists, case of actions and condition keys).
//! - [`eval`]: identity-policy evaluation (explicit deny, allow, implicit deny) with the
//!   statements that decided it.
//! - [`authorization`]: the whole decision through every layer (SCPs, RCPs, resource-based
//!   policy, identity-based policies, permissions boundary, session policy), with the deciding layer.
//! - [`trust`]: may this service-account token assume this role through `AssumeRoleWithWebIdentity`?
//! - [`service_trust`]: may this AWS service (EKS Pod Identity's `pods.eks.amazonaws.com`)
//!   assume this role, for every action it needs?
//! - [`lint`]: findings with stable rule ids for trust and permission policies.

pub mod arn;
pub mod authorization;
pub mod condition;
pub mod context;
pub mod document;
pub mod equivalence;
pub mod eval;
pub mod lint;
pub mod service_trust;
pub mod trust;
pub mod variables;
pub mod wildcard;
