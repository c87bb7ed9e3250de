//! The doctor's rules: stable ids (never reused), the link of the chain each one checks, and a
//! default severity. The hundreds digit is the series: `DOC0xx` the IRSA chain and the links both
//! mechanisms share (permissions, pods, add-on), `DOC1xx` what only EKS Pod Identity has. The tens
//! digit is the link, so within a series ids sort in chain order: 00 cluster, 10 OIDC provider or
//! Pod Identity agent, 20 service account or association, 30 role and trust, 40 permissions,
//! 50 pods, 60 EKS add-on and controller. `irsa doctor --rules` lists them.

use iam_policy::lint::Severity;
use serde::Serialize;

/// A link of the chain, in the order STS and the webhook walk it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Link {
    Cluster,
    OidcProvider,
    /// The EKS Pod Identity Agent (add-on and DaemonSet).
    Agent,
    ServiceAccount,
    /// The EKS Pod Identity association of the service account.
    Association,
    Trust,
    Permissions,
    Pods,
    Addon,
}

impl Link {
    pub fn as_str(self) -> &'static str {
        match self {
            Link::Cluster => "cluster",
            Link::OidcProvider => "oidc-provider",
            Link::Agent => "agent",
            Link::ServiceAccount => "service-account",
            Link::Association => "association",
            Link::Trust => "trust",
            Link::Permissions => "permissions",
            Link::Pods => "pods",
            Link::Addon => "addon",
        }
    }

    /// The tens digit of its rules' ids.
    pub fn digit(self) -> u8 {
        match self {
            Link::Cluster => 0,
            Link::OidcProvider | Link::Agent => 1,
            Link::ServiceAccount | Link::Association => 2,
            Link::Trust => 3,
            Link::Permissions => 4,
            Link::Pods => 5,
            Link::Addon => 6,
        }
    }
}

/// A rule.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rule {
    pub id: &'static str,
    pub name: &'static str,
    pub link: Link,
    pub severity: Severity,
    pub summary: &'static str,
}

macro_rules! rules {
    ($($konst:ident = $id:literal $name:literal $link:ident $severity:ident $summary:literal;)*) => {
        $(pub const $konst: Rule = Rule {
            id: $id,
            name: $name,
            link: Link::$link,
            severity: Severity::$severity,
            summary: $summary,
        };)*
        /// Every rule, in id order.
        pub const RULES: &[Rule] = &[$($konst),*];
    };
}

rules! {
    CLUSTER_NO_ISSUER = "DOC001" "cluster-no-issuer" Cluster Critical
        "the EKS cluster has no OIDC issuer";
    PROVIDER_MISSING = "DOC010" "provider-missing" OidcProvider Critical
        "no IAM OIDC provider for the cluster's issuer URL";
    PROVIDER_CLIENT_ID = "DOC011" "provider-client-id" OidcProvider Critical
        "the IAM OIDC provider does not list the tokens' audience as a client id";
    PROVIDER_THUMBPRINT = "DOC012" "provider-thumbprint" OidcProvider Low
        "the provider's thumbprints do not include the issuer's certificate chain";
    SA_MISSING = "DOC020" "service-account-missing" ServiceAccount Critical
        "the service account does not exist";
    SA_NO_ANNOTATION = "DOC021" "annotation-missing" ServiceAccount Critical
        "the service account has no eks.amazonaws.com/role-arn annotation";
    SA_BAD_ANNOTATION = "DOC022" "annotation-malformed" ServiceAccount Critical
        "the role annotation is not an IAM role ARN";
    SA_OTHER_ACCOUNT = "DOC023" "annotation-other-account" ServiceAccount Critical
        "the annotated role is in another account or partition";
    SA_UNEXPECTED_ROLE = "DOC024" "annotation-not-spec" ServiceAccount High
        "the annotation names another role than the spec";
    ROLE_MISSING = "DOC030" "role-missing" Trust Critical
        "the annotated role does not exist";
    TRUST_WRONG_PROVIDER = "DOC031" "trust-wrong-provider" Trust Critical
        "the trust policy does not name this cluster's OIDC provider";
    TRUST_WRONG_ACTION = "DOC032" "trust-wrong-action" Trust Critical
        "the trust policy does not allow sts:AssumeRoleWithWebIdentity";
    TRUST_SUBJECT = "DOC033" "trust-subject-mismatch" Trust Critical
        "the trust policy's sub condition does not match this service account";
    TRUST_EQUALS_WILDCARD = "DOC034" "trust-string-equals-wildcard" Trust Critical
        "a `*` inside StringEquals is a literal character, not a wildcard";
    TRUST_AUDIENCE = "DOC035" "trust-audience-mismatch" Trust Critical
        "the trust policy's aud condition does not match the tokens' audience";
    TRUST_DENIED = "DOC036" "trust-denied" Trust Critical
        "the trust policy denies this service account";
    TRUST_TOO_BROAD = "DOC037" "trust-too-broad" Trust High
        "the trust policy lets other service accounts assume the role";
    TRUST_SIZE = "DOC038" "trust-size" Trust High
        "the trust policy is at or near IAM's size quota";
    TRUST_NO_AUDIENCE = "DOC039" "trust-no-audience" Trust Medium
        "the trust policy does not check the tokens' audience";
    NO_POLICIES = "DOC040" "no-policies" Permissions High
        "the role has no permissions policy";
    REQUIREMENT_DENIED = "DOC041" "required-action-denied" Permissions High
        "the role's policies deny an action the workload needs";
    BOUNDARY_DENIES = "DOC042" "boundary-denies" Permissions High
        "the permissions boundary denies an action the workload needs";
    ASG_NOT_DISCOVERABLE = "DOC043" "asg-not-discoverable" Permissions High
        "no Auto Scaling group carries the autoscaler's auto-discovery tags for this cluster";
    POLICY_UNREADABLE = "DOC044" "policy-unreadable" Permissions Medium
        "a policy of the role could not be read or parsed";
    RESOURCE_POLICY_DENIES = "DOC045" "resource-policy-denies" Permissions High
        "a resource-based policy (KMS key policy, S3 bucket policy) denies an action the workload needs";
    SCP_DENIES = "DOC046" "scp-denies" Permissions High
        "an SCP of the organization denies an action the workload needs";
    LAYER_NOT_CHECKED = "DOC047" "layer-not-checked" Permissions Info
        "a policy layer (the SCPs, a key or bucket policy) could not be read: not checked";
    PODS_WITHOUT_CREDENTIALS = "DOC050" "pods-without-credentials" Pods High
        "pods run without the injected credentials for the current role";
    ADDON_MISSING = "DOC060" "addon-missing" Addon High
        "the EKS add-on is not installed";
    ADDON_NOT_ACTIVE = "DOC061" "addon-not-active" Addon High
        "the EKS add-on is not ACTIVE";
    ADDON_ROLE = "DOC062" "addon-role-mismatch" Addon Critical
        "the add-on's serviceAccountRoleArn is not the service account's role";
    CONTROLLER_SA = "DOC063" "controller-service-account" Addon Critical
        "the controller deployment runs as another service account";
    AGENT_MISSING = "DOC110" "agent-missing" Agent Critical
        "the eks-pod-identity-agent add-on is not installed";
    AGENT_NOT_ACTIVE = "DOC111" "agent-not-active" Agent Critical
        "the eks-pod-identity-agent add-on is not ACTIVE";
    AGENT_NOT_READY = "DOC112" "agent-not-ready" Agent Critical
        "the agent's DaemonSet is missing or not ready on every node";
    ASSOCIATION_MISSING = "DOC120" "association-missing" Association Critical
        "no EKS Pod Identity association for the service account";
    ASSOCIATION_NOT_SPEC = "DOC121" "association-not-spec" Association High
        "the association names another role than the spec";
    BOTH_MECHANISMS = "DOC122" "both-mechanisms" Association High
        "the service account has both an IRSA role annotation and an association";
    ASSOCIATION_ROLE_MISSING = "DOC130" "association-role-missing" Trust Critical
        "the association's role does not exist";
    POD_TRUST_PRINCIPAL = "DOC131" "pod-identity-trust-principal" Trust Critical
        "the trust policy does not name the service principal pods.eks.amazonaws.com";
    POD_TRUST_ACTION = "DOC132" "pod-identity-trust-action" Trust Critical
        "the trust policy does not allow sts:AssumeRole, or sts:TagSession while session tags are on";
    POD_TRUST_SCOPE = "DOC133" "pod-identity-trust-scope" Trust Critical
        "the trust policy's conditions exclude this cluster, namespace or service account";
    POD_TRUST_DENIED = "DOC134" "pod-identity-trust-denied" Trust Critical
        "the trust policy denies the request EKS Pod Identity makes";
    TARGET_ROLE_MISSING = "DOC135" "target-role-missing" Trust Critical
        "the association's target role does not exist";
    TARGET_TRUST = "DOC136" "target-trust-mismatch" Trust Critical
        "the target role's trust does not admit the association's role";
    SESSION_POLICY_DENIES = "DOC140" "session-policy-denies" Permissions High
        "the association's session policy does not allow an action the workload needs";
    PODS_WITHOUT_POD_IDENTITY = "DOC150" "pods-without-pod-identity" Pods High
        "pods started before the association and run without its credentials";
    FARGATE_PODS = "DOC151" "fargate-pods" Pods Critical
        "pods run on Fargate, where EKS Pod Identity is not supported";
    ADDON_TOO_OLD = "DOC160" "addon-version-no-pod-identity" Addon High
        "the EKS add-on's version does not support EKS Pod Identity";
}

/// The controller Deployment of a preset's workload, where its name is fixed (the EKS add-ons
/// name theirs; Helm-installed workloads take the release name).
pub fn controller_of(preset: &str) -> Option<&'static str> {
    match preset {
        "efs-csi" => Some("efs-csi-controller"),
        "ebs-csi" => Some("ebs-csi-controller"),
        _ => None,
    }
}

/// The rule with id `id`.
pub fn find(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_sorted_and_their_tens_digit_is_the_link() {
        for pair in RULES.windows(2) {
            assert!(
                pair[0].id < pair[1].id,
                "{} before {}",
                pair[0].id,
                pair[1].id
            );
            // Chain order within a series (the hundreds digit).
            if pair[0].id[..4] == pair[1].id[..4] {
                assert!(pair[0].link <= pair[1].link, "{}", pair[1].id);
            }
        }
        for rule in RULES {
            let tens = rule.id.as_bytes()[4] - b'0';
            assert_eq!(tens, rule.link.digit(), "{}", rule.id);
            assert_eq!(find(rule.id).map(|r| r.name), Some(rule.name));
        }
    }
}
