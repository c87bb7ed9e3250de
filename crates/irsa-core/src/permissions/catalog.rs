//! The catalog: for each [`Command`], every AWS action it may call, on what, and why. Groups of
//! needs follow the adapter functions they describe (the observation of a plan, the roles read
//! in bulk, the Pod Identity associations, …), so a command's list is the groups it uses.
//! Resource kinds and conditions follow the Service Authorization Reference (IAM:
//! <https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html>,
//! EKS: `list_amazonelastickubernetesservice.html`, EKS Auth: `list_amazoneksauth.html`, STS,
//! CloudTrail, Auto Scaling): List calls and account-wide reads support no resource-level
//! permissions (`*`); `sts:GetCallerIdentity` needs no permission at all.

use super::{Access, Command, Need, On, When};

/// A read that every run of the command makes.
const fn read(action: &'static str, on: On, why: &'static str) -> Need {
    Need {
        action,
        access: Access::Read,
        on,
        when: When::Always,
        why,
        only: None,
        no_permission: false,
    }
}

/// A change.
const fn write(action: &'static str, on: On, why: &'static str) -> Need {
    Need {
        access: Access::Write,
        ..read(action, on, why)
    }
}

impl Need {
    /// The same need, only in the case `only` (a flag, or a kind of binding).
    const fn only(self, only: &'static str) -> Need {
        Need {
            only: Some(only),
            ..self
        }
    }

    /// The same need, under a condition.
    const fn when(self, when: When) -> Need {
        Need { when, ..self }
    }

    /// The same call, which IAM lets anyone make.
    const fn free(self) -> Need {
        Need {
            no_permission: true,
            ..self
        }
    }
}

const CALLER: Need = read(
    "sts:GetCallerIdentity",
    On::Any,
    "learn the account and partition",
)
.free();

/// `irsa_aws::observe`: what a plan reads.
const OBSERVE: &[Need] = &[
    CALLER,
    read(
        "eks:DescribeCluster",
        On::Cluster,
        "read the cluster's OIDC issuer",
    ),
    read(
        "iam:ListOpenIDConnectProviders",
        On::Any,
        "find the cluster's IAM OIDC provider",
    ),
    read(
        "iam:GetOpenIDConnectProvider",
        On::OidcProviders,
        "read each OIDC provider's URL, client ids and tags",
    ),
    read(
        "iam:GetRole",
        On::SpecRoles,
        "read the spec's roles (trust policy, tags, boundary)",
    ),
    read(
        "iam:ListAttachedRolePolicies",
        On::SpecRoles,
        "read the policies attached to the spec's roles",
    ),
    read(
        "iam:ListRolePolicies",
        On::SpecRoles,
        "find the inline policies of the spec's roles",
    ),
    read(
        "iam:GetPolicy",
        On::SpecPolicies,
        "read the spec's customer-managed policies",
    ),
    read(
        "iam:GetPolicyVersion",
        On::SpecPolicies,
        "read the default version of the spec's policies",
    ),
    read(
        "iam:ListPolicyVersions",
        On::SpecPolicies,
        "count the versions of the spec's policies (IAM keeps five)",
    ),
    read(
        "eks:DescribeAddon",
        On::Cluster,
        "read the spec's EKS add-ons (and wait for ACTIVE)",
    ),
];

/// `irsa_aws::pod_identity`: the cluster's EKS Pod Identity associations.
const ASSOCIATIONS: &[Need] = &[
    read(
        "eks:ListPodIdentityAssociations",
        On::Cluster,
        "list the cluster's Pod Identity associations",
    ),
    read(
        "eks:DescribePodIdentityAssociation",
        On::Cluster,
        "read each association's role",
    ),
];

/// `irsa_aws::simulate`: the plan's calls checked before the first change (optional: without
/// these, the plan says "permissions not checked").
const PREFLIGHT: &[Need] = &[
    read(
        "iam:SimulatePrincipalPolicy",
        On::Principals,
        "check the plan's calls are allowed before changing anything",
    )
    .only("optional: the check before the first change"),
    read(
        "iam:GetRole",
        On::AnyRole,
        "read the caller's role (its path) to simulate it",
    )
    .only("optional: a caller in a role session"),
];

/// `irsa_aws::execute` for apply's steps (see [`super::steps`]).
const APPLY_WRITES: &[Need] = &[
    write(
        "iam:CreateOpenIDConnectProvider",
        On::ClusterOidcProvider,
        "create the cluster's IAM OIDC provider",
    )
    .when(When::IrsaTags)
    .only("IRSA bindings"),
    write(
        "iam:TagOpenIDConnectProvider",
        On::ClusterOidcProvider,
        "tag the OIDC provider irsa creates",
    )
    .when(When::IrsaTags)
    .only("IRSA bindings"),
    write(
        "iam:AddClientIDToOpenIDConnectProvider",
        On::ClusterOidcProvider,
        "add a missing audience to the OIDC provider",
    )
    .only("IRSA bindings"),
    write(
        "iam:CreatePolicy",
        On::SpecPolicies,
        "create the spec's customer-managed policies",
    )
    .when(When::IrsaTags),
    write("iam:TagPolicy", On::SpecPolicies, "tag the spec's policies").when(When::IrsaTags),
    write(
        "iam:CreatePolicyVersion",
        On::SpecPolicies,
        "update a drifted policy document",
    ),
    write(
        "iam:DeletePolicyVersion",
        On::SpecPolicies,
        "prune the oldest version at IAM's limit of five",
    ),
    write("iam:CreateRole", On::SpecRoles, "create the spec's roles").when(When::IrsaTags),
    write("iam:TagRole", On::SpecRoles, "tag the spec's roles").when(When::IrsaTags),
    write(
        "iam:UpdateAssumeRolePolicy",
        On::SpecRoles,
        "repair a drifted trust policy",
    ),
    write(
        "iam:PutRolePermissionsBoundary",
        On::SpecRoles,
        "set the spec's permissions boundary",
    ),
    write(
        "iam:DeleteRolePermissionsBoundary",
        On::SpecRoles,
        "remove a boundary the spec no longer sets",
    ),
    write(
        "iam:AttachRolePolicy",
        On::SpecRoles,
        "attach the spec's policies",
    ),
    write(
        "iam:DetachRolePolicy",
        On::SpecRoles,
        "detach policies the spec no longer names",
    ),
    write(
        "iam:PassRole",
        On::SpecRoles,
        "give a role to an EKS add-on or Pod Identity association",
    )
    .when(When::PassedToEks)
    .only("EKS add-ons and Pod Identity bindings"),
    write(
        "eks:CreateAddon",
        On::Cluster,
        "install the spec's EKS add-ons",
    )
    .when(When::IrsaTags),
    write(
        "eks:UpdateAddon",
        On::Cluster,
        "point an add-on at its role",
    ),
    write(
        "eks:CreatePodIdentityAssociation",
        On::Cluster,
        "create Pod Identity associations",
    )
    .when(When::IrsaTags)
    .only("Pod Identity bindings"),
    write(
        "eks:UpdatePodIdentityAssociation",
        On::Cluster,
        "repair a drifted association",
    )
    .only("Pod Identity bindings"),
    write(
        "eks:TagResource",
        On::Cluster,
        "tag add-ons and associations as irsa's",
    )
    .when(When::IrsaTags),
];

/// `irsa_aws::list_role_trusts` and the reads of roles irsa tagged beyond the spec's.
const DESTROY_READS: &[Need] = &[
    read(
        "iam:ListRoles",
        On::Any,
        "find every role that still trusts the OIDC provider",
    ),
    read(
        "iam:GetRole",
        On::AnyRole,
        "read roles irsa tagged for the cluster beyond the spec's",
    ),
    read(
        "iam:ListAttachedRolePolicies",
        On::AnyRole,
        "find the policies to detach",
    ),
    read(
        "iam:ListRolePolicies",
        On::AnyRole,
        "find the inline policies to delete",
    ),
    read(
        "iam:GetPolicy",
        On::AnyPolicy,
        "read the policies attached to those roles",
    ),
    read(
        "iam:GetPolicyVersion",
        On::AnyPolicy,
        "read those policies' default versions",
    ),
    read(
        "iam:ListPolicyVersions",
        On::AnyPolicy,
        "find the versions to delete with a policy",
    ),
];

/// `irsa_aws::execute` for destroy's steps: only on what irsa tagged for the cluster.
const DESTROY_WRITES: &[Need] = &[
    write(
        "iam:DetachRolePolicy",
        On::AnyRole,
        "detach policies from irsa's roles",
    )
    .when(When::TaggedForCluster),
    write(
        "iam:DeleteRolePolicy",
        On::AnyRole,
        "delete inline policies of irsa's roles",
    )
    .when(When::TaggedForCluster),
    write(
        "iam:DeleteRolePermissionsBoundary",
        On::AnyRole,
        "remove boundaries of irsa's roles",
    )
    .when(When::TaggedForCluster),
    write("iam:DeleteRole", On::AnyRole, "delete irsa's roles").when(When::TaggedForCluster),
    write(
        "iam:DeletePolicyVersion",
        On::AccountPolicies,
        "delete the old versions of irsa's policies",
    )
    .when(When::TaggedForCluster),
    write(
        "iam:DeletePolicy",
        On::AccountPolicies,
        "delete irsa's policies",
    )
    .when(When::TaggedForCluster),
    write(
        "iam:DeleteOpenIDConnectProvider",
        On::ClusterOidcProvider,
        "delete the OIDC provider irsa created, once nothing trusts it",
    )
    .when(When::TaggedForCluster),
    write(
        "eks:DeleteAddon",
        On::Cluster,
        "delete the EKS add-ons irsa created",
    ),
    write(
        "eks:DeletePodIdentityAssociation",
        On::Cluster,
        "delete irsa's Pod Identity associations",
    ),
];

/// `irsa_aws::observe_roles_bulk`: the roles named by annotations and associations.
const ROLES: &[Need] = &[
    read(
        "iam:GetRole",
        On::AnyRole,
        "read the linked roles (trust policy, tags)",
    ),
    read(
        "iam:ListAttachedRolePolicies",
        On::AnyRole,
        "read the linked roles' attached policies",
    ),
    read(
        "iam:ListRolePolicies",
        On::AnyRole,
        "find the linked roles' inline policies",
    ),
    read(
        "iam:GetAccountAuthorizationDetails",
        On::Any,
        "read many roles at once (else one by one)",
    )
    .only("more than 20 roles"),
];

/// The roles' policy documents (`observe_roles_bulk` with documents).
const ROLE_DOCUMENTS: &[Need] = &[
    read(
        "iam:GetPolicy",
        On::AnyPolicy,
        "read the roles' attached and boundary policies",
    ),
    read(
        "iam:GetPolicyVersion",
        On::AnyPolicy,
        "read those policies' documents",
    ),
    read(
        "iam:ListPolicyVersions",
        On::AnyPolicy,
        "read those policies' versions",
    ),
    read(
        "iam:GetRolePolicy",
        On::AnyRole,
        "read the roles' inline policy documents",
    ),
];

/// What `connection::observe_cluster` reads besides the roles.
const CLUSTER: &[Need] = &[
    CALLER,
    read(
        "eks:DescribeCluster",
        On::Cluster,
        "read the cluster's OIDC issuer",
    ),
    read(
        "iam:ListOpenIDConnectProviders",
        On::Any,
        "find the cluster's IAM OIDC provider",
    ),
    read(
        "iam:GetOpenIDConnectProvider",
        On::OidcProviders,
        "read each OIDC provider's URL and client ids",
    ),
];

/// The proofs of `irsa verify` (and of migrate between its steps).
const PROOFS: &[Need] = &[
    read(
        "sts:AssumeRoleWithWebIdentity",
        On::Any,
        "exchange a service-account token for the role's credentials",
    )
    .free()
    .only("IRSA bindings"),
    read(
        "eks-auth:AssumeRoleForPodIdentity",
        On::Cluster,
        "exchange a Pod Identity token as the agent does",
    )
    .only("Pod Identity bindings"),
];

/// `irsa doctor`'s reads beyond the roles.
const DOCTOR_READS: &[Need] = &[
    read(
        "eks:DescribeAddon",
        On::Cluster,
        "read the presets' EKS add-ons and the Pod Identity agent",
    ),
    read(
        "autoscaling:DescribeAutoScalingGroups",
        On::Any,
        "check the Cluster Autoscaler's node groups carry its tags",
    )
    .only("the cluster-autoscaler preset"),
    read(
        "eks:DescribeAddonConfiguration",
        On::Any,
        "check an add-on version supports Pod Identity",
    )
    .only("Pod Identity add-ons"),
    read(
        "kms:GetKeyPolicy",
        On::Any,
        "check a KMS key policy lets the role in",
    )
    .only("optional: resource policies"),
    read(
        "s3:GetBucketPolicy",
        On::Any,
        "check a bucket policy lets the role in",
    )
    .only("optional: resource policies"),
    read(
        "organizations:ListPoliciesForTarget",
        On::Any,
        "find the SCPs over the account",
    )
    .only("optional: service control policies"),
    read("organizations:DescribePolicy", On::Any, "read those SCPs")
        .only("optional: service control policies"),
];

/// `irsa doctor --fix`'s changes.
const DOCTOR_FIXES: &[Need] = &[
    write(
        "iam:CreateOpenIDConnectProvider",
        On::ClusterOidcProvider,
        "create the missing OIDC provider",
    )
    .when(When::IrsaTags)
    .only("--fix"),
    write(
        "iam:TagOpenIDConnectProvider",
        On::ClusterOidcProvider,
        "tag the OIDC provider irsa creates",
    )
    .when(When::IrsaTags)
    .only("--fix"),
    write(
        "iam:AddClientIDToOpenIDConnectProvider",
        On::ClusterOidcProvider,
        "add the missing audience",
    )
    .only("--fix"),
    write(
        "iam:UpdateAssumeRolePolicy",
        On::AnyRole,
        "repair a role's trust",
    )
    .only("--fix"),
    write("eks:UpdateAddon", On::Cluster, "give an add-on its role").only("--fix"),
    write("iam:PassRole", On::AnyRole, "give an add-on its role")
        .when(When::PassedToEks)
        .only("--fix"),
];

/// `irsa migrate`'s reads beyond the linked service accounts.
const MIGRATE_READS: &[Need] = &[
    read(
        "eks:DescribeAddon",
        On::Cluster,
        "read the Pod Identity agent and the add-ons to switch",
    ),
    read(
        "eks:DescribeAddonConfiguration",
        On::Any,
        "check an add-on version supports Pod Identity",
    )
    .only("add-ons"),
];

/// `irsa migrate`'s changes (and the agent add-on it may install).
const MIGRATE_WRITES: &[Need] = &[
    write(
        "iam:UpdateAssumeRolePolicy",
        On::AnyRole,
        "add (or drop) a trust statement for the new mechanism",
    ),
    write(
        "iam:PassRole",
        On::AnyRole,
        "give the role to an association or add-on",
    )
    .when(When::PassedToEks),
    write(
        "eks:CreatePodIdentityAssociation",
        On::Cluster,
        "create the association",
    )
    .when(When::IrsaTags),
    write(
        "eks:UpdatePodIdentityAssociation",
        On::Cluster,
        "repair an association",
    ),
    write(
        "eks:DeletePodIdentityAssociation",
        On::Cluster,
        "remove the association (to IRSA)",
    ),
    write(
        "eks:TagResource",
        On::Cluster,
        "tag associations and add-ons as irsa's",
    )
    .when(When::IrsaTags),
    write(
        "eks:CreateAddon",
        On::Cluster,
        "install the Pod Identity agent",
    )
    .when(When::IrsaTags),
    write(
        "eks:UpdateAddon",
        On::Cluster,
        "switch an add-on's identity",
    ),
    write(
        "iam:CreateOpenIDConnectProvider",
        On::ClusterOidcProvider,
        "create the OIDC provider (to IRSA)",
    )
    .when(When::IrsaTags),
    write(
        "iam:TagOpenIDConnectProvider",
        On::ClusterOidcProvider,
        "tag the OIDC provider irsa creates",
    )
    .when(When::IrsaTags),
    write(
        "iam:AddClientIDToOpenIDConnectProvider",
        On::ClusterOidcProvider,
        "add the missing audience",
    ),
];

/// `irsa_aws::observe_account`.
const AUDIT_READS: &[Need] = &[
    read(
        "iam:GetAccountAuthorizationDetails",
        On::Any,
        "read every role and policy of the account in pages",
    ),
    read(
        "iam:ListOpenIDConnectProviders",
        On::Any,
        "list the account's OIDC providers",
    ),
    read("eks:ListClusters", On::Any, "list the region's clusters"),
    read(
        "eks:DescribeCluster",
        On::AnyCluster,
        "read each cluster's OIDC issuer",
    ),
    read(
        "eks:ListPodIdentityAssociations",
        On::AnyCluster,
        "list the named clusters' associations",
    )
    .only("--cluster"),
    read(
        "eks:DescribePodIdentityAssociation",
        On::AnyCluster,
        "read those associations",
    )
    .only("--cluster"),
    read(
        "cloudtrail:DescribeTrails",
        On::Any,
        "check a trail records management events",
    ),
    read(
        "cloudtrail:GetTrailStatus",
        On::Trails,
        "check the trail is logging",
    ),
    read(
        "iam:ListPolicyTags",
        On::AccountPolicies,
        "check customer-managed policies carry the required tags",
    )
    .only("--require-tag"),
];

/// `irsa_aws::observe_usage`.
const USAGE_READS: &[Need] = &[
    read(
        "cloudtrail:LookupEvents",
        On::Any,
        "read the AssumeRole* events of the event history",
    ),
    read(
        "iam:GetAccountAuthorizationDetails",
        On::Any,
        "read every role's trust and last use",
    )
    .only("without --role"),
    read("iam:GetRole", On::AnyRole, "read the named roles' last use").only("--role"),
];

/// Every action `command` may call, in the order it calls them (reads first).
pub fn needs(command: Command) -> Vec<Need> {
    let groups: &[&[Need]] = match command {
        Command::Plan => &[OBSERVE, ASSOCIATIONS],
        Command::Apply => &[OBSERVE, ASSOCIATIONS, PREFLIGHT, APPLY_WRITES],
        Command::Destroy => &[
            OBSERVE,
            ASSOCIATIONS,
            DESTROY_READS,
            PREFLIGHT,
            DESTROY_WRITES,
        ],
        Command::List => &[CLUSTER, ROLES, ASSOCIATIONS],
        Command::Verify => &[CLUSTER, ROLES, ASSOCIATIONS, PROOFS, &[CALLER]],
        Command::Doctor => &[CLUSTER, ROLES, ROLE_DOCUMENTS, ASSOCIATIONS, DOCTOR_READS],
        Command::DoctorFix => &[DOCTOR_FIXES],
        Command::Migrate => &[
            CLUSTER,
            ROLES,
            ASSOCIATIONS,
            MIGRATE_READS,
            PROOFS,
            MIGRATE_WRITES,
        ],
        Command::Audit => &[AUDIT_READS],
        Command::Usage => &[USAGE_READS],
    };
    let mut seen = std::collections::BTreeSet::new();
    groups
        .iter()
        .flat_map(|g| g.iter().copied())
        .filter(|n| seen.insert((n.action, n.on)))
        .collect()
}
