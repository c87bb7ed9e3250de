//! The two mechanisms' trust policies and service-account metadata.

use super::*;

const ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/ABC";

fn target(issuer: Option<&'static str>) -> TrustTarget<'static> {
    TrustTarget {
        partition: "aws",
        account: "123456789012",
        region: "us-east-1",
        cluster_name: "demo",
        issuer_url: issuer,
    }
}

#[test]
fn kinds_read_and_print_as_written() {
    for kind in Kind::ALL {
        assert_eq!(Kind::parse(kind.as_str()), Ok(kind));
    }
    assert!(
        Kind::parse("podidentity")
            .unwrap_err()
            .contains("pod-identity")
    );
}

#[test]
fn irsa_trust_names_the_provider_and_the_subject() {
    let trust = Mechanism::default()
        .trust_policy(&target(Some(ISSUER)), "kube-system", "ca")
        .unwrap();
    let statement = &trust["Statement"][0];
    assert_eq!(
        statement["Principal"]["Federated"],
        "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
    );
    assert_eq!(
        statement["Condition"]["StringEquals"]["oidc.eks.us-east-1.amazonaws.com/id/ABC:sub"],
        "system:serviceaccount:kube-system:ca"
    );
}

#[test]
fn irsa_without_an_issuer_says_what_to_do() {
    let err = Mechanism::default()
        .trust_policy(&target(None), "a", "b")
        .unwrap_err();
    assert!(err.to_string().contains("pod-identity"), "{err}");
}

#[test]
fn pod_identity_trust_is_scoped_by_session_tags() {
    // Source: EKS User Guide, pod-id-role.html ("Setting Conditions").
    let mechanism = Mechanism::PodIdentity(PodIdentity::default());
    let trust = mechanism
        .trust_policy(&target(None), "kube-system", "ca")
        .unwrap();
    let statement = &trust["Statement"][0];
    assert_eq!(statement["Principal"]["Service"], "pods.eks.amazonaws.com");
    assert_eq!(
        statement["Action"],
        serde_json::json!(["sts:AssumeRole", "sts:TagSession"])
    );
    let equals = &statement["Condition"]["StringEquals"];
    assert_eq!(
        equals["aws:RequestTag/eks-cluster-arn"],
        "arn:aws:eks:us-east-1:123456789012:cluster/demo"
    );
    assert_eq!(equals["aws:RequestTag/kubernetes-namespace"], "kube-system");
    assert_eq!(equals["aws:RequestTag/kubernetes-service-account"], "ca");
    assert!(mechanism.service_account_annotations("arn:x").is_empty());
}

#[test]
fn pod_identity_without_session_tags_cannot_be_scoped_and_says_so() {
    let pod_identity = PodIdentity {
        disable_session_tags: true,
        ..Default::default()
    };
    let mechanism = Mechanism::PodIdentity(pod_identity);
    let trust = mechanism.trust_policy(&target(None), "a", "b").unwrap();
    assert!(trust["Statement"][0].get("Condition").is_none());
    assert!(
        mechanism
            .trust_summary("a", "b")
            .contains("cannot be scoped")
    );
}

#[test]
fn a_target_role_needs_assume_and_tag_on_it() {
    let pod_identity = PodIdentity {
        target_role_arn: Some("arn:aws:iam::210987654321:role/data".into()),
        ..Default::default()
    };
    let policy = pod_identity.assume_target_policy().unwrap();
    assert_eq!(
        policy["Statement"][0]["Resource"],
        "arn:aws:iam::210987654321:role/data"
    );
    assert!(PodIdentity::default().assume_target_policy().is_none());
}

#[test]
fn irsa_annotates_the_role_and_a_custom_audience_only() {
    let default = Mechanism::default().service_account_annotations("arn:r");
    assert_eq!(default.len(), 1);
    let custom = Mechanism::Irsa(Irsa {
        audience: "vault".into(),
    })
    .service_account_annotations("arn:r");
    assert_eq!(
        custom.get(irsa::AUDIENCE_ANNOTATION).map(String::as_str),
        Some("vault")
    );
}

#[test]
fn mechanisms_round_trip_as_json() {
    for mechanism in [
        Mechanism::default(),
        Mechanism::PodIdentity(PodIdentity {
            target_role_arn: Some("arn:aws:iam::210987654321:role/data".into()),
            disable_session_tags: true,
            session_policy: Some("{}".into()),
        }),
    ] {
        let text = serde_json::to_string(&mechanism).unwrap();
        assert_eq!(serde_json::from_str::<Mechanism>(&text).unwrap(), mechanism);
    }
}

fn requester(namespace: &'static str) -> pod_identity::Requester<'static> {
    pod_identity::Requester {
        cluster_arn: "arn:aws:eks:us-east-1:123456789012:cluster/demo",
        cluster_name: "demo",
        namespace,
        service_account: "ca",
    }
}

#[test]
fn the_scoped_trust_admits_exactly_its_service_account() {
    let options = PodIdentity::default();
    let trust = Mechanism::PodIdentity(options.clone())
        .trust_policy(&target(None), "kube-system", "ca")
        .unwrap();
    assert!(pod_identity::trust_check(&trust, &options, &requester("kube-system")).allowed);
    let other = pod_identity::trust_check(&trust, &options, &requester("apps"));
    assert!(!other.allowed);
    assert!(
        other
            .reasons
            .iter()
            .any(|r| r.contains("kubernetes-namespace")),
        "{:?}",
        other.reasons
    );
}

#[test]
fn without_session_tags_assume_role_alone_is_enough() {
    let options = PodIdentity {
        disable_session_tags: true,
        ..Default::default()
    };
    let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    assert!(pod_identity::trust_check(&trust, &options, &requester("apps")).allowed);
    // With tags on, the same trust lacks sts:TagSession.
    let check = pod_identity::trust_check(&trust, &PodIdentity::default(), &requester("apps"));
    assert!(!check.allowed);
}
