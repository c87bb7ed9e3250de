//! EKS Pod Identity in CloudTrail, typed. Each credential fetch of the agent leaves two records:
//!
//! - `AssumeRoleForPodIdentity` (`eventSource` `eks-auth.amazonaws.com`): the agent's call, signed
//!   with the node's role. It names the cluster (`requestParameters.clusterName`; the token is
//!   `HIDDEN_DUE_TO_SECURITY_REASONS`) and, on a refusal, `errorCode` / `errorMessage`
//!   (`AccessDenied` when EKS may not assume the role, `InvalidTokenException`, …);
//!   `responseElements` is null even on success, so it names neither role nor service account:
//!   read as [`EksAuthEvent`], counted per cluster.
//! - STS `AssumeRole` made by the service (`userIdentity {type: AWSService, invokedBy:
//!   pods.eks.amazonaws.com}`): `requestParameters.roleArn`, `roleSessionName` and, unless the
//!   association disables them, the session tags `requestParameters.tags [{key, value}]`
//!   (kubernetes-namespace, kubernetes-service-account, eks-cluster-name, …): read as
//!   [`PodIdentityEvent`], counted per role and service account. AssumeRole events of other
//!   callers are not Pod Identity's ([`parse_pod_identity_event`] answers `None`).
//!
//! Shapes: the sample events of aws-samples/amazon-eks-security-immersion-day, "Deep Dive into
//! EKS Pod Identity" (LookupEvents output for both, a refused AssumeRoleForPodIdentity among them).

use serde::Serialize;
use serde_json::Value;

use crate::identity::pod_identity::{SERVICE_PRINCIPAL, TAG_NAMESPACE, TAG_SERVICE_ACCOUNT};

use super::event::{EventError, read_event, text};

/// The STS event name of the role assumption EKS Pod Identity makes.
pub const ASSUME_ROLE: &str = "AssumeRole";
/// The EKS Auth event name of the agent's call.
pub const ASSUME_ROLE_FOR_POD_IDENTITY: &str = "AssumeRoleForPodIdentity";

/// One STS AssumeRole by `pods.eks.amazonaws.com`, as CloudTrail recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodIdentityEvent {
    pub event_id: Option<String>,
    /// `eventTime`, seconds since the epoch.
    pub time: i64,
    pub role_arn: String,
    pub session: Option<String>,
    /// The session tags (absent when the association disables them).
    pub namespace: Option<String>,
    pub service_account: Option<String>,
    /// `eks-cluster-name`.
    pub cluster: Option<String>,
    pub pod: Option<String>,
    pub region: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

/// One EKS Auth AssumeRoleForPodIdentity, as CloudTrail recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EksAuthEvent {
    pub event_id: Option<String>,
    pub time: i64,
    pub cluster: String,
    /// The caller's ARN (the node's assumed role).
    pub caller: Option<String>,
    pub region: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

/// The value of session tag `key` in `requestParameters.tags`.
fn tag(tags: &Value, key: &str) -> Option<String> {
    tags.as_array()?
        .iter()
        .find(|t| t["key"].as_str() == Some(key))
        .and_then(|t| text(&t["value"]))
}

/// Reads one `AssumeRole` event; `Ok(None)` when EKS Pod Identity did not make it.
pub fn parse_pod_identity_event(json: &str) -> Result<Option<PodIdentityEvent>, EventError> {
    let (event, header) = read_event(json, ASSUME_ROLE)?;
    let identity = &event["userIdentity"];
    let by_service = identity["type"].as_str() == Some("AWSService")
        && identity["invokedBy"].as_str() == Some(SERVICE_PRINCIPAL);
    if !by_service {
        return Ok(None);
    }
    let request = &event["requestParameters"];
    let role_arn = header.required(&request["roleArn"], "requestParameters.roleArn")?;
    let tags = &request["tags"];
    Ok(Some(PodIdentityEvent {
        event_id: header.event_id,
        time: header.time,
        role_arn,
        session: text(&request["roleSessionName"]),
        namespace: tag(tags, TAG_NAMESPACE),
        service_account: tag(tags, TAG_SERVICE_ACCOUNT),
        cluster: tag(tags, "eks-cluster-name"),
        pod: tag(tags, "kubernetes-pod-name"),
        region: header.region,
        error_code: header.error_code,
        error_message: header.error_message,
    }))
}

/// Reads one `AssumeRoleForPodIdentity` event.
pub fn parse_eks_auth_event(json: &str) -> Result<EksAuthEvent, EventError> {
    let (event, header) = read_event(json, ASSUME_ROLE_FOR_POD_IDENTITY)?;
    let cluster = header.required(
        &event["requestParameters"]["clusterName"],
        "requestParameters.clusterName",
    )?;
    Ok(EksAuthEvent {
        event_id: header.event_id,
        time: header.time,
        cluster,
        caller: text(&event["userIdentity"]["arn"]),
        region: header.region,
        error_code: header.error_code,
        error_message: header.error_message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "arn:aws:iam::111122223333:role/irsa-demo-kube-system-ebs-csi-controller-sa";

    #[test]
    fn reads_the_service_assume_role_with_its_session_tags() {
        let json = include_str!("../../tests/fixtures/usage/pod_identity_assume_role.json");
        let e = parse_pod_identity_event(json).unwrap().unwrap();
        assert_eq!(e.role_arn, ROLE);
        assert_eq!(
            (
                e.namespace.as_deref(),
                e.service_account.as_deref(),
                e.cluster.as_deref()
            ),
            (
                Some("kube-system"),
                Some("ebs-csi-controller-sa"),
                Some("demo")
            )
        );
        assert_eq!(e.pod.as_deref(), Some("ebs-csi-controller-7d9f8c6b5-x2x4k"));
        assert_eq!(e.time, 1_767_261_600);
        assert!(e.error_code.is_none());
    }

    #[test]
    fn reads_a_refused_service_assume_role() {
        let json = include_str!("../../tests/fixtures/usage/pod_identity_assume_role_denied.json");
        let e = parse_pod_identity_event(json).unwrap().unwrap();
        assert_eq!(e.error_code.as_deref(), Some("AccessDenied"));
        assert!(e.error_message.unwrap().contains("sts:TagSession"));
        assert_eq!(e.service_account.as_deref(), Some("ebs-csi-controller-sa"));
    }

    #[test]
    fn other_callers_assume_role_is_not_pod_identity() {
        let by_user = r#"{"eventName":"AssumeRole","eventTime":"2026-01-01T00:00:00Z",
            "userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice"},
            "requestParameters":{"roleArn":"arn:aws:iam::111122223333:role/admin","roleSessionName":"alice"}}"#;
        assert_eq!(parse_pod_identity_event(by_user), Ok(None));
        let by_ec2 = r#"{"eventName":"AssumeRole","eventTime":"2026-01-01T00:00:00Z",
            "userIdentity":{"type":"AWSService","invokedBy":"ec2.amazonaws.com"},
            "requestParameters":{"roleArn":"arn:aws:iam::111122223333:role/node"}}"#;
        assert_eq!(parse_pod_identity_event(by_ec2), Ok(None));
        assert!(matches!(
            parse_pod_identity_event(r#"{"eventName":"AssumeRoleWithSAML"}"#),
            Err(EventError::OtherEvent { .. })
        ));
    }

    #[test]
    fn untagged_sessions_have_no_service_account() {
        let json = r#"{"eventName":"AssumeRole","eventTime":"2026-01-01T00:00:00Z","eventID":"x",
            "userIdentity":{"type":"AWSService","invokedBy":"pods.eks.amazonaws.com"},
            "requestParameters":{"roleArn":"arn:aws:iam::111122223333:role/r","roleSessionName":"eks-demo-app-1"}}"#;
        let e = parse_pod_identity_event(json).unwrap().unwrap();
        assert_eq!((e.namespace, e.service_account), (None, None));
        let no_role = r#"{"eventName":"AssumeRole","eventTime":"2026-01-01T00:00:00Z","eventID":"x",
            "userIdentity":{"type":"AWSService","invokedBy":"pods.eks.amazonaws.com"},"requestParameters":{}}"#;
        assert!(matches!(
            parse_pod_identity_event(no_role),
            Err(EventError::Missing {
                field: "requestParameters.roleArn",
                ..
            })
        ));
    }

    #[test]
    fn reads_the_agents_call_and_its_refusal() {
        let ok = include_str!("../../tests/fixtures/usage/assume_role_for_pod_identity.json");
        let e = parse_eks_auth_event(ok).unwrap();
        assert_eq!(e.cluster, "demo");
        assert!(e.error_code.is_none());
        assert!(
            e.caller
                .unwrap()
                .starts_with("arn:aws:sts::111122223333:assumed-role/eks-demo-node-group")
        );
        let denied =
            include_str!("../../tests/fixtures/usage/assume_role_for_pod_identity_denied.json");
        let e = parse_eks_auth_event(denied).unwrap();
        assert_eq!(e.error_code.as_deref(), Some("AccessDenied"));
        assert_eq!(
            e.error_message.as_deref(),
            Some(
                "Unauthorized Exception! EKS does not have permissions to assume the associated role."
            )
        );
    }
}
