//! Criterion benchmarks of the policy engine: IRSA trust decisions and decisions against the EBS
//! CSI driver policy (16 statements with tag conditions). Run with
//! `cargo bench -p iam-policy --bench evaluation`; decisions per second = 1 / time per iteration.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use iam_policy::context::Context;
use iam_policy::document::PolicyDocument;
use iam_policy::eval::{self, Decision, Request};
use iam_policy::trust::{self, TokenClaims};
use std::hint::black_box;

const PROVIDER: &str = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/5C8A1F0E2B7D4E3F9A6B1C2D3E4F5A6B";
const ISSUER: &str = "oidc.eks.us-east-1.amazonaws.com/id/5C8A1F0E2B7D4E3F9A6B1C2D3E4F5A6B";

fn irsa_trust() -> PolicyDocument {
    PolicyDocument::parse(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{PROVIDER}"}},"Action":"sts:AssumeRoleWithWebIdentity",
        "Condition":{{"StringEquals":{{"{ISSUER}:sub":"system:serviceaccount:kube-system:cluster-autoscaler","{ISSUER}:aud":"sts.amazonaws.com"}}}}}}]}}"#
    ))
    .expect("trust policy parses")
}

fn trust_benches(c: &mut Criterion) {
    let policy = irsa_trust();
    let allowed = trust::web_identity_context(
        ISSUER,
        &TokenClaims::for_service_account("kube-system", "cluster-autoscaler", "sts.amazonaws.com"),
    );
    let denied = trust::web_identity_context(
        ISSUER,
        &TokenClaims::for_service_account("default", "cluster-autoscaler", "sts.amazonaws.com"),
    );
    assert_eq!(
        eval::decide(&[&policy], &trust::web_identity_request(PROVIDER, &allowed)),
        Decision::Allow
    );
    assert_eq!(
        eval::decide(&[&policy], &trust::web_identity_request(PROVIDER, &denied)),
        Decision::ImplicitDeny
    );

    let mut group = c.benchmark_group("trust");
    group.throughput(Throughput::Elements(1));
    group.bench_function("decide_allowed", |b| {
        b.iter(|| {
            eval::decide(
                &[black_box(&policy)],
                &trust::web_identity_request(black_box(PROVIDER), &allowed),
            )
        })
    });
    group.bench_function("decide_denied", |b| {
        b.iter(|| {
            eval::decide(
                &[black_box(&policy)],
                &trust::web_identity_request(black_box(PROVIDER), &denied),
            )
        })
    });
    group.bench_function("evaluate_with_statements", |b| {
        b.iter(|| {
            eval::evaluate(
                &[black_box(&policy)],
                &trust::web_identity_request(black_box(PROVIDER), &allowed),
            )
        })
    });
    let claims =
        TokenClaims::for_service_account("kube-system", "cluster-autoscaler", "sts.amazonaws.com");
    group.bench_function("check_with_reasons", |b| {
        b.iter(|| trust::check_web_identity(black_box(&policy), PROVIDER, &claims))
    });
    group.finish();

    c.bench_function("parse/trust_policy", |b| {
        let raw = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{PROVIDER}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringEquals":{{"{ISSUER}:sub":"system:serviceaccount:kube-system:cluster-autoscaler","{ISSUER}:aud":"sts.amazonaws.com"}}}}}}]}}"#
        );
        b.iter(|| PolicyDocument::parse(black_box(&raw)))
    });
}

fn ebs_benches(c: &mut Criterion) {
    let policy = PolicyDocument::parse(include_str!("fixtures/ebs-csi-driver-policy.json"))
        .expect("EBS policy parses");
    let volume = "arn:aws:ec2:us-east-1:123456789012:volume/vol-0123456789abcdef0";
    let instance = "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0";
    let cluster_tagged = Context::new().with("ec2:ResourceTag/ebs.csi.aws.com/cluster", "true");
    let create_tagged = Context::new()
        .with("aws:RequestTag/ebs.csi.aws.com/cluster", "true")
        .with("aws:RequestTag/CSIVolumeName", "pvc-1");
    let untagged = Context::new().with("ec2:ResourceTag/Name", "data");
    let empty = Context::new();
    let requests: Vec<(Request, Decision)> = vec![
        (
            Request {
                principal: None,
                action: "ec2:DeleteVolume",
                resource: Some(volume),
                context: &cluster_tagged,
            },
            Decision::Allow,
        ),
        (
            Request {
                principal: None,
                action: "ec2:DeleteVolume",
                resource: Some(volume),
                context: &untagged,
            },
            Decision::ImplicitDeny,
        ),
        (
            Request {
                principal: None,
                action: "ec2:CreateVolume",
                resource: Some(volume),
                context: &create_tagged,
            },
            Decision::Allow,
        ),
        (
            Request {
                principal: None,
                action: "ec2:AttachVolume",
                resource: Some(instance),
                context: &empty,
            },
            Decision::Allow,
        ),
        (
            Request {
                principal: None,
                action: "ec2:DescribeVolumes",
                resource: Some("*"),
                context: &empty,
            },
            Decision::Allow,
        ),
        (
            Request {
                principal: None,
                action: "ec2:TerminateInstances",
                resource: Some(instance),
                context: &empty,
            },
            Decision::ImplicitDeny,
        ),
    ];
    for (request, expected) in &requests {
        assert_eq!(
            eval::decide(&[&policy], request),
            *expected,
            "{}",
            request.action
        );
    }
    let mut group = c.benchmark_group("ebs_csi");
    group.throughput(Throughput::Elements(requests.len() as u64));
    group.bench_function("decide_mix_of_6", |b| {
        b.iter(|| {
            for (request, _) in &requests {
                black_box(eval::decide(&[black_box(&policy)], request));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, trust_benches, ebs_benches);
criterion_main!(benches);
