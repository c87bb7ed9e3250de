//! irsa's own least privilege: which AWS actions (and Kubernetes verbs) each irsa command
//! calls, on which resources, for `irsa permissions`, for the AccessDenied answers and for the
//! sandbox that enforces IAM. Pure data: the [`catalog`] lists, per [`Command`], every
//! [`Need`] (action, resource kind, condition, why); [`steps`] maps each plan [`Step`] to the
//! actions it calls, beside the step kinds, so the two cannot drift apart unnoticed (a unit test
//! holds every step's actions in apply's or destroy's catalog); [`scope`] turns resource kinds
//! into ARNs for one cluster and spec; [`policy`] renders a ready-to-attach IAM policy document
//! (split under the managed-policy size quota); [`rbac`] the Kubernetes ClusterRole;
//! [`simulation`] what apply and destroy ask `iam:SimulatePrincipalPolicy` before their first
//! change.
//!
//! [`Step`]: crate::steps::Step

pub mod catalog;
pub mod policy;
pub mod rbac;
pub mod scope;
pub mod simulation;
pub mod steps;

use serde::Serialize;

pub use catalog::needs;
pub use scope::Scope;

/// The commands whose permissions irsa publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Command {
    Plan,
    Apply,
    Destroy,
    List,
    Verify,
    Doctor,
    /// `irsa doctor --fix`: the changes doctor makes when asked to (apart from its reads).
    DoctorFix,
    Migrate,
    Audit,
    Usage,
}

impl Command {
    /// Every command, in the order `irsa permissions` prints them.
    pub const ALL: [Command; 10] = [
        Command::Plan,
        Command::Apply,
        Command::Destroy,
        Command::List,
        Command::Verify,
        Command::Doctor,
        Command::DoctorFix,
        Command::Migrate,
        Command::Audit,
        Command::Usage,
    ];

    /// The command's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Command::Plan => "plan",
            Command::Apply => "apply",
            Command::Destroy => "destroy",
            Command::List => "list",
            Command::Verify => "verify",
            Command::Doctor => "doctor",
            Command::DoctorFix => "doctor-fix",
            Command::Migrate => "migrate",
            Command::Audit => "audit",
            Command::Usage => "usage",
        }
    }

    /// The command named `name`, if irsa publishes its permissions.
    pub fn parse(name: &str) -> Option<Command> {
        Command::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Whether the command only reads.
    pub fn is_read_only(self) -> bool {
        needs(self).iter().all(|n| n.access == Access::Read)
    }
}

/// Whether an action reads or changes something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    Read,
    Write,
}

/// What an action is allowed on: a kind of resource, turned into ARNs by [`Scope`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum On {
    /// `*`: the action has no resource-level permissions (List calls, account-wide reads).
    Any,
    /// The cluster and what EKS keeps under it: `cluster/C`, `addon/C/*`,
    /// `podidentityassociation/C/*`.
    Cluster,
    /// Every EKS cluster of the region (`irsa audit`).
    AnyCluster,
    /// Every IAM OIDC provider of the account (observation reads each listed one).
    OidcProviders,
    /// The IAM OIDC providers of the region's EKS issuers
    /// (`oidc-provider/oidc.eks.REGION.amazonaws.com/id/*`).
    ClusterOidcProvider,
    /// The spec's roles, by name and path.
    SpecRoles,
    /// Every role of the account (reads of roles found by annotation or association).
    AnyRole,
    /// The spec's customer-managed policies, by name and path.
    SpecPolicies,
    /// Every managed policy (the account's and AWS's), for reading attached policies.
    AnyPolicy,
    /// The account's customer-managed policies.
    AccountPolicies,
    /// The region's CloudTrail trails.
    Trails,
    /// The account's users and roles (the caller, for `iam:SimulatePrincipalPolicy`).
    Principals,
}

/// The condition a statement carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum When {
    /// No condition.
    Always,
    /// `iam:PassedToService` is EKS (add-ons, Pod Identity associations).
    PassedToEks,
    /// With tags, and only irsa's tag keys and the spec's (`ForAllValues:StringEquals` on
    /// `aws:TagKeys`, and `Null` false so that a request without tags does not pass): irsa
    /// tags everything it creates.
    IrsaTags,
    /// Only on what irsa tagged for this cluster (`aws:ResourceTag/irsa.dev/managed-by = irsa`
    /// and `aws:ResourceTag/irsa.dev/cluster = CLUSTER`): destroy's deletes.
    TaggedForCluster,
}

/// One action a command may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Need {
    /// `service:Action`, as IAM names it.
    pub action: &'static str,
    pub access: Access,
    pub on: On,
    pub when: When,
    /// Why the command calls it, in plain English.
    pub why: &'static str,
    /// When irsa calls it: always, or only with a flag or in a case (`--fix`, `--pod`, Pod
    /// Identity bindings); `None` when every run calls it.
    pub only: Option<&'static str>,
    /// The action needs no permission (STS GetCallerIdentity, web identity): listed for
    /// completeness, never put in a policy.
    pub no_permission: bool,
}

/// The actions `commands` need, each once (the first command's entry wins), in catalog order.
pub fn needs_of(commands: &[Command]) -> Vec<Need> {
    let mut seen = std::collections::BTreeSet::new();
    commands
        .iter()
        .flat_map(|c| needs(*c))
        .filter(|n| seen.insert((n.action, n.on, n.when)))
        .collect()
}

#[cfg(test)]
mod tests;
