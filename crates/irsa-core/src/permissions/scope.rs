//! From resource kinds ([`On`]) and conditions ([`When`]) to the ARNs and condition blocks of
//! one cluster and spec: roles and policies by the spec's names and paths, EKS resources under
//! the cluster's ARN, OIDC providers of the region's EKS issuers, tag actions limited to irsa's
//! tag keys and the spec's.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::{On, When};
use crate::desired::{self, DesiredState, TAG_CLUSTER, TAG_MANAGED_BY, TAG_SERVICE_ACCOUNT};

/// The services a role is passed to: EKS add-ons (`eks.amazonaws.com`) and Pod Identity
/// associations (whose role EKS Pod Identity assumes as `pods.eks.amazonaws.com`).
pub const PASSED_TO: [&str; 2] = ["eks.amazonaws.com", "pods.eks.amazonaws.com"];

/// What the ARNs are made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub partition: String,
    /// The account id; `*` when unknown (every account).
    pub account: String,
    pub region: String,
    pub cluster: String,
    /// The spec's role ARNs.
    pub roles: Vec<String>,
    /// The spec's customer-managed policy ARNs.
    pub policies: Vec<String>,
    /// Tag keys irsa may set: its own and the spec's.
    pub tag_keys: Vec<String>,
}

impl Scope {
    /// The scope of a resolved spec in `account`.
    pub fn of(state: &DesiredState, account: &str) -> Scope {
        let partition = state.cluster.partition.clone();
        let mut tag_keys: BTreeSet<String> = [TAG_MANAGED_BY, TAG_CLUSTER, TAG_SERVICE_ACCOUNT]
            .map(str::to_string)
            .into();
        let mut roles = BTreeSet::new();
        let mut policies = BTreeSet::new();
        for b in &state.bindings {
            tag_keys.extend(b.role.tags.keys().cloned());
            roles.insert(b.role_arn(&partition, account));
            policies.extend(
                b.policies
                    .iter()
                    .map(|p| desired::policy_arn(&partition, account, &b.role.path, &p.name)),
            );
        }
        Scope {
            partition,
            account: account.to_string(),
            region: state.cluster.region.clone(),
            cluster: state.cluster.name.clone(),
            roles: roles.into_iter().collect(),
            policies: policies.into_iter().collect(),
            tag_keys: tag_keys.into_iter().collect(),
        }
    }

    /// The ARNs `on` stands for (empty when the spec has none of them).
    pub fn resources(&self, on: On) -> Vec<String> {
        let Scope {
            partition: p,
            account: a,
            region: r,
            cluster: c,
            ..
        } = self;
        match on {
            On::Any => vec!["*".to_string()],
            On::Cluster => vec![
                format!("arn:{p}:eks:{r}:{a}:cluster/{c}"),
                format!("arn:{p}:eks:{r}:{a}:addon/{c}/*"),
                format!("arn:{p}:eks:{r}:{a}:podidentityassociation/{c}/*"),
            ],
            On::AnyCluster => vec![
                format!("arn:{p}:eks:{r}:{a}:cluster/*"),
                format!("arn:{p}:eks:{r}:{a}:podidentityassociation/*"),
            ],
            On::OidcProviders => vec![format!("arn:{p}:iam::{a}:oidc-provider/*")],
            On::ClusterOidcProvider => {
                vec![format!("arn:{p}:iam::{a}:oidc-provider/oidc.eks.{r}.*")]
            }
            On::SpecRoles => self.roles.clone(),
            On::AnyRole => vec![format!("arn:{p}:iam::{a}:role/*")],
            On::SpecPolicies => self.policies.clone(),
            On::AnyPolicy => vec![
                format!("arn:{p}:iam::{a}:policy/*"),
                format!("arn:{p}:iam::aws:policy/*"),
            ],
            On::AccountPolicies => vec![format!("arn:{p}:iam::{a}:policy/*")],
            On::Trails => vec![format!("arn:{p}:cloudtrail:*:{a}:trail/*")],
            On::Principals => vec![
                format!("arn:{p}:iam::{a}:user/*"),
                format!("arn:{p}:iam::{a}:role/*"),
            ],
        }
    }

    /// The statement's `Condition` block, if `when` has one.
    pub fn condition(&self, when: When) -> Option<Value> {
        match when {
            When::Always => None,
            When::PassedToEks => Some(json!({"StringEquals": {"iam:PassedToService": PASSED_TO}})),
            When::IrsaTags => Some(json!({
                "ForAllValues:StringEquals": {"aws:TagKeys": self.tag_keys},
                "Null": {"aws:TagKeys": "false"},
            })),
            When::TaggedForCluster => Some(json!({"StringEquals": {
                format!("aws:ResourceTag/{TAG_MANAGED_BY}"): "irsa",
                format!("aws:ResourceTag/{TAG_CLUSTER}"): self.cluster,
            }})),
        }
    }

    /// `on` in plain English, for the human listing.
    pub fn describe(&self, on: On) -> String {
        match on {
            On::Any => "any resource (the action has no resource-level permissions)".into(),
            On::Cluster => format!("cluster {} and its add-ons and associations", self.cluster),
            On::AnyCluster => format!("every cluster in {}", self.region),
            On::OidcProviders => "every IAM OIDC provider of the account".into(),
            On::ClusterOidcProvider => {
                format!("the OIDC providers of EKS issuers in {}", self.region)
            }
            On::SpecRoles => format!("the spec's roles ({})", names(&self.roles)),
            On::AnyRole => "any role of the account".into(),
            On::SpecPolicies if self.policies.is_empty() => "the spec's policies (none)".into(),
            On::SpecPolicies => format!("the spec's policies ({})", names(&self.policies)),
            On::AnyPolicy => "any managed policy".into(),
            On::AccountPolicies => "the account's customer-managed policies".into(),
            On::Trails => "the account's CloudTrail trails".into(),
            On::Principals => "the caller (any user or role of the account)".into(),
        }
    }
}

/// The last path segments of ARNs, comma-separated.
fn names(arns: &[String]) -> String {
    arns.iter()
        .map(|a| a.rsplit('/').next().unwrap_or(a))
        .collect::<Vec<_>>()
        .join(", ")
}
