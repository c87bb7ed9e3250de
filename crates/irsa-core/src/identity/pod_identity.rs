//! EKS Pod Identity: the EKS Pod Identity Agent (the `eks-pod-identity-agent` add-on) trades the
//! pod's projected token (audience `pods.eks.amazonaws.com`) for credentials through EKS Auth's
//! `AssumeRoleForPodIdentity`; EKS assumes the role named by the service account's *association*
//! as the service principal `pods.eks.amazonaws.com`, with six session tags that say which
//! cluster, namespace, service account and pod asked. The role's trust names that service with
//! `sts:AssumeRole` and `sts:TagSession`, scoped to this cluster, namespace and service account
//! through the session tags (`aws:RequestTag/…`); with session tags disabled it cannot be scoped.
//! Source: Amazon EKS User Guide, "Create IAM role with trust policy required by EKS Pod
//! Identity" (pod-id-role.html) and "Enable or disable session tags" (pod-id-abac.html).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::TrustTarget;

/// The service principal EKS Pod Identity assumes roles as.
pub const SERVICE_PRINCIPAL: &str = "pods.eks.amazonaws.com";
/// The audience of the token the agent exchanges (always this one).
pub const AUDIENCE: &str = "pods.eks.amazonaws.com";
/// The EKS add-on that runs the agent on every node.
pub const AGENT_ADDON: &str = "eks-pod-identity-agent";
/// The agent's DaemonSet in `kube-system`.
pub const AGENT_DAEMONSET: &str = "eks-pod-identity-agent";
/// The two actions the trust must allow (TagSession for the session tags).
pub const TRUST_ACTIONS: [&str; 2] = ["sts:AssumeRole", "sts:TagSession"];
/// Session-tag keys the trust conditions on, with what they carry.
pub const TAG_CLUSTER_ARN: &str = "eks-cluster-arn";
pub const TAG_NAMESPACE: &str = "kubernetes-namespace";
pub const TAG_SERVICE_ACCOUNT: &str = "kubernetes-service-account";
/// Every session tag EKS sets (no custom ones).
pub const SESSION_TAGS: [&str; 6] = [
    TAG_CLUSTER_ARN,
    "eks-cluster-name",
    TAG_NAMESPACE,
    TAG_SERVICE_ACCOUNT,
    "kubernetes-pod-name",
    "kubernetes-pod-uid",
];
/// Environment the EKS webhook injects into pods of a service account with an association.
pub const ENV_CREDENTIALS_URI: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
pub const ENV_TOKEN_FILE: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";
/// The agent's credentials endpoint (IPv4).
pub const CREDENTIALS_URI: &str = "http://169.254.170.23/v1/credentials";

/// Pod Identity's options for one binding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodIdentity {
    /// A role in another account that EKS assumes with the binding's role's credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_role_arn: Option<String>,
    /// EKS sets no session tags (then the trust cannot be scoped to the service account).
    #[serde(default)]
    pub disable_session_tags: bool,
    /// Session policy (JSON text) intersected with the role's; IAM requires
    /// `disable_session_tags` with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_policy: Option<String>,
}

impl PodIdentity {
    /// Whether the trust can name this cluster, namespace and service account.
    pub fn trust_is_scoped(&self) -> bool {
        !self.disable_session_tags
    }

    pub(super) fn trust_policy(
        &self,
        target: &TrustTarget,
        namespace: &str,
        service_account: &str,
    ) -> Value {
        let mut statement = json!({
            "Effect": "Allow",
            "Principal": { "Service": SERVICE_PRINCIPAL },
            "Action": TRUST_ACTIONS,
        });
        if self.trust_is_scoped() {
            statement["Condition"] = json!({
                "StringEquals": scope_conditions(&target.cluster_arn(), namespace, service_account)
            });
        }
        json!({ "Version": "2012-10-17", "Statement": [statement] })
    }

    pub(super) fn trust_summary(&self, namespace: &str, service_account: &str) -> String {
        if self.trust_is_scoped() {
            format!("trusts {SERVICE_PRINCIPAL} for {namespace}/{service_account} of this cluster")
        } else {
            format!(
                "trusts {SERVICE_PRINCIPAL}; session tags are disabled, so the trust cannot be scoped to {namespace}/{service_account}: any association in the account may use this role"
            )
        }
    }

    /// The in-account role's permission to assume the target role (EKS chains the two).
    pub fn assume_target_policy(&self) -> Option<Value> {
        let target = self.target_role_arn.as_ref()?;
        Some(json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "AssumeTargetRoleForPodIdentity",
                "Effect": "Allow",
                "Action": TRUST_ACTIONS,
                "Resource": target,
            }]
        }))
    }
}

/// Who asks EKS Pod Identity for credentials: the association's cluster and service account.
#[derive(Debug, Clone, Copy)]
pub struct Requester<'a> {
    pub cluster_arn: &'a str,
    pub cluster_name: &'a str,
    pub namespace: &'a str,
    pub service_account: &'a str,
}

impl Requester<'_> {
    /// The request context of EKS's `sts:AssumeRole`: the session tags as `aws:RequestTag/…`
    /// and `aws:TagKeys` (none when session tags are off). The pod's name and uid are not known
    /// without a pod: those two tags are left out of the values but kept in `aws:TagKeys`.
    pub fn context(&self, session_tags: bool) -> iam_policy::context::Context {
        let mut ctx = iam_policy::context::Context::new();
        if !session_tags {
            return ctx;
        }
        for (tag, value) in [
            (TAG_CLUSTER_ARN, self.cluster_arn),
            ("eks-cluster-name", self.cluster_name),
            (TAG_NAMESPACE, self.namespace),
            (TAG_SERVICE_ACCOUNT, self.service_account),
        ] {
            ctx.insert(&format!("aws:RequestTag/{tag}"), value);
        }
        ctx.set(
            "aws:TagKeys",
            SESSION_TAGS.iter().map(|t| t.to_string()).collect(),
        );
        ctx
    }
}

/// May EKS Pod Identity assume the role whose trust policy is `trust` for `requester`? With
/// session tags on, EKS needs both `sts:AssumeRole` and `sts:TagSession`; with them off,
/// `sts:AssumeRole` alone. An unreadable trust policy admits nobody.
pub fn trust_check(
    trust: &Value,
    options: &PodIdentity,
    requester: &Requester,
) -> iam_policy::trust::TrustCheck {
    let doc = match iam_policy::document::PolicyDocument::from_value(trust) {
        Ok(doc) => doc,
        Err(e) => {
            return iam_policy::trust::TrustCheck {
                allowed: false,
                decision: iam_policy::eval::Decision::ImplicitDeny,
                reasons: vec![format!("invalid trust policy: {e}")],
            };
        }
    };
    let tags_on = options.trust_is_scoped();
    let actions: &[&str] = if tags_on {
        &TRUST_ACTIONS
    } else {
        &TRUST_ACTIONS[..1]
    };
    iam_policy::service_trust::check_service_trust(
        &doc,
        SERVICE_PRINCIPAL,
        actions,
        &requester.context(tags_on),
    )
}

/// `aws:RequestTag/…` equalities naming exactly one cluster, namespace and service account.
pub fn scope_conditions(cluster_arn: &str, namespace: &str, service_account: &str) -> Value {
    let mut equals = Map::new();
    for (tag, value) in [
        (TAG_CLUSTER_ARN, cluster_arn),
        (TAG_NAMESPACE, namespace),
        (TAG_SERVICE_ACCOUNT, service_account),
    ] {
        equals.insert(
            format!("aws:RequestTag/{tag}"),
            Value::String(value.to_string()),
        );
    }
    Value::Object(equals)
}

/// The external id EKS passes to a target role when session tags are off:
/// `region/account/cluster/namespace/serviceaccount`.
pub fn external_id(
    region: &str,
    account: &str,
    cluster: &str,
    namespace: &str,
    service_account: &str,
) -> String {
    format!("{region}/{account}/{cluster}/{namespace}/{service_account}")
}
