//! Property: parsing, linting and evaluating any text never panics and never hangs.
#![no_main]

use iam_policy::context::Context;
use iam_policy::document::{PolicyDocument, PrincipalType};
use iam_policy::eval::{Principal, Request, decide};
use iam_policy::lint::{LintOptions, PolicyKind, lint_text};
use iam_policy::trust::{TokenClaims, check_web_identity};
use libfuzzer_sys::fuzz_target;

const PROVIDER_ARN: &str =
    "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
const ROLE_ARN: &str = "arn:aws:iam::111122223333:role/app";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    let _ = lint_text(text, &LintOptions::default());
    let _ = lint_text(
        text,
        &LintOptions {
            account: Some("111122223333".to_string()),
            kind: Some(PolicyKind::Trust),
        },
    );

    let Ok(doc) = PolicyDocument::parse(text) else {
        return;
    };

    let ctx = Context::new()
        .with("aws:SourceIp", "203.0.113.7")
        .with("aws:CurrentTime", "2024-06-01T12:00:00Z")
        .with("aws:SecureTransport", "true")
        .with("aws:username", "alice")
        .with("aws:PrincipalTag/team", "platform")
        .with("s3:prefix", "home/alice/")
        .with("aws:MultiFactorAuthAge", "300");
    let s3_get = Request {
        principal: None,
        action: "s3:GetObject",
        resource: Some("arn:aws:s3:::bucket/home/alice/file.txt"),
        context: &ctx,
    };
    let list = Request {
        principal: None,
        action: "s3:ListBucket",
        resource: Some("arn:aws:s3:::bucket"),
        context: &ctx,
    };
    let no_resource = Request {
        principal: None,
        action: "iam:PassRole",
        resource: None,
        context: &ctx,
    };
    let assume = Request {
        principal: Some(Principal {
            kind: PrincipalType::Aws,
            id: "arn:aws:iam::111122223333:root",
        }),
        action: "sts:AssumeRole",
        resource: Some(ROLE_ARN),
        context: &ctx,
    };
    for request in [&s3_get, &list, &no_resource, &assume] {
        let _ = decide(&[&doc], request);
        let _ = decide(&[&doc, &doc], request);
    }

    let claims = TokenClaims::for_service_account("default", "app", "sts.amazonaws.com");
    let _ = check_web_identity(&doc, PROVIDER_ARN, &claims);
    let odd = TokenClaims {
        sub: "system:serviceaccount:kube-system:*".to_string(),
        aud: vec![],
    };
    let _ = check_web_identity(&doc, PROVIDER_ARN, &odd);
});
