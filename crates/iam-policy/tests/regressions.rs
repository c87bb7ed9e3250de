//! Cases other Rust IAM engines got wrong (see docs/engine-choice.md), kept as regressions.

use iam_policy::condition::{Condition, Operator};
use iam_policy::context::Context;
use iam_policy::document::{PolicyDocument, PolicyString};
use iam_policy::eval::{Decision, Request, decide};
use iam_policy::trust::{TokenClaims, check_web_identity};
use std::time::{Duration, Instant};

fn request<'a>(action: &'a str, resource: &'a str, context: &'a Context) -> Request<'a> {
    Request {
        principal: None,
        action,
        resource: Some(resource),
        context,
    }
}

// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
// An explicit deny wins regardless of statement order within one policy.
#[test]
fn deny_after_allow_in_one_policy() {
    let p = PolicyDocument::parse(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#).unwrap();
    assert_eq!(
        decide(
            &[&p],
            &request("s3:GetObject", "arn:aws:s3:::b/k", &Context::new())
        ),
        Decision::ExplicitDeny
    );
}

// Federated principals compare whole ARNs: provider …/id/ABC must not accept …/id/ABCDEF.
#[test]
fn oidc_provider_is_not_a_prefix_match() {
    let provider =
        "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC";
    let longer =
        "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABCDEF";
    let trust = PolicyDocument::parse(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{provider}"}},"Action":"sts:AssumeRoleWithWebIdentity"}}]}}"#
    ))
    .unwrap();
    let claims = TokenClaims::for_service_account("a", "b", "sts.amazonaws.com");
    assert!(
        check_web_identity(&trust, provider, &claims)
            .unwrap()
            .allowed
    );
    assert!(!check_web_identity(&trust, longer, &claims).unwrap().allowed);
}

// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
// ("Policy variables with no value"): a variable that cannot be resolved matches nothing; it
// must not become an empty string that widens the resource.
#[test]
fn missing_variable_does_not_allow() {
    let p = PolicyDocument::parse(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}*"}]}"#).unwrap();
    assert_eq!(
        decide(
            &[&p],
            &request(
                "s3:GetObject",
                "arn:aws:s3:::home/anything",
                &Context::new()
            )
        ),
        Decision::ImplicitDeny
    );
}

// A principal map may name several principal types at once.
#[test]
fn principal_map_with_several_types() {
    let p = PolicyDocument::parse(
        r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root","Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
    );
    assert!(p.is_ok());
}

// Wildcard matching must stay polynomial: a pattern such as `*a*a*…b` against a long run of `a`
// took one crate over a minute.
#[test]
fn wildcard_matching_is_not_exponential() {
    let pattern = format!("{}b", "*a".repeat(12));
    let c = Condition::new(
        Operator::parse("StringLike").unwrap(),
        "k".into(),
        vec![PolicyString::new(pattern, true)],
    );
    let ctx = Context::new().with("k", "a".repeat(10_000));
    let start = Instant::now();
    assert!(!c.holds(&ctx));
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "took {:?}",
        start.elapsed()
    );
}

// Numbers too large for f64 do not silently compare as infinity.
#[test]
fn huge_numbers_do_not_match() {
    let c = Condition::new(
        Operator::parse("NumericGreaterThan").unwrap(),
        "k".into(),
        vec![PolicyString::new("5".into(), true)],
    );
    assert!(!c.holds(&Context::new().with("k", "9".repeat(400))));
}
