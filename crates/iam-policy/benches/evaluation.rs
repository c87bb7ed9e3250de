//! Criterion benchmarks of the policy engine: IRSA trust decisions, decisions against the EBS
//! CSI driver policy (16 statements with tag conditions), and whole decisions through every layer
//! for the EBS CSI driver's IRSA role session (its policy, a permissions boundary and a KMS key
//! policy). Run with
//! `cargo bench -p iam-policy --bench evaluation`; decisions per second = 1 / time per iteration.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use iam_policy::authorization::{Authorizer, AuthzRequest, Caller, LayerKind, Policies};
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

const EBS_SESSION: &str =
    "arn:aws:sts::123456789012:assumed-role/AmazonEKS_EBS_CSI_DriverRole/1764547200000000000";
const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/// The EBS CSI driver's role: its policy, a boundary (allow EC2 and KMS, deny key deletion and
/// IAM), and the customer key's policy (the default root statement, plus the role for use and
/// for grants to AWS resources).
fn ebs_role_layers() -> Authorizer {
    let parse = |text: &str| PolicyDocument::parse(text).expect("fixture parses");
    let boundary = parse(
        r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":["ec2:*","kms:*"],"Resource":"*"},
        {"Effect":"Deny","Action":["kms:ScheduleKeyDeletion","kms:DisableKey","iam:*"],"Resource":"*"}]}"#,
    );
    let key_policy = parse(
        r#"{"Version":"2012-10-17","Id":"key-default-1","Statement":[
        {"Sid":"EnableIamPolicies","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"kms:*","Resource":"*"},
        {"Sid":"EbsCsiUse","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/AmazonEKS_EBS_CSI_DriverRole"},
         "Action":["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*","kms:GenerateDataKey*","kms:DescribeKey"],"Resource":"*"},
        {"Sid":"EbsCsiGrants","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/AmazonEKS_EBS_CSI_DriverRole"},
         "Action":["kms:CreateGrant","kms:ListGrants","kms:RevokeGrant"],"Resource":"*","Condition":{"Bool":{"kms:GrantIsForAWSResource":"true"}}}]}"#,
    );
    Authorizer::new(Policies {
        identity: vec![parse(include_str!("fixtures/ebs-csi-driver-policy.json"))],
        boundary: Some(boundary),
        resource: Some(key_policy),
        ..Policies::default()
    })
    .expect("the layers are valid")
}

fn authorization_benches(c: &mut Criterion) {
    let authorizer = ebs_role_layers();
    let caller = Caller::parse(EBS_SESSION).expect("the session ARN parses");
    let with_caller = |context: Context| {
        let mut context = context;
        caller.fill_context(&mut context);
        context
    };
    let plain = with_caller(Context::new());
    let for_resource = with_caller(Context::new().with("kms:GrantIsForAWSResource", "true"));
    let requests = [
        ("kms:Decrypt", &plain, Decision::Allow, LayerKind::Resource),
        (
            "kms:CreateGrant",
            &for_resource,
            Decision::Allow,
            LayerKind::Resource,
        ),
        (
            "kms:CreateGrant",
            &plain,
            Decision::ImplicitDeny,
            LayerKind::Identity,
        ),
        (
            "kms:ScheduleKeyDeletion",
            &plain,
            Decision::ExplicitDeny,
            LayerKind::Boundary,
        ),
    ];
    let request = |action, context| AuthzRequest {
        caller: Some(&caller),
        action,
        resource: KEY,
        context,
    };
    for (action, context, decision, layer) in requests {
        let a = authorizer
            .authorize(&request(action, context))
            .expect("decided");
        assert_eq!(
            (a.decision, a.deciding_layer().kind),
            (decision, layer),
            "{action}"
        );
    }
    let mut group = c.benchmark_group("authorization");
    group.throughput(Throughput::Elements(requests.len() as u64));
    group.bench_function("irsa_role_boundary_key_policy_mix_of_4", |b| {
        b.iter(|| {
            for (action, context, _, _) in requests {
                let _ = black_box(black_box(&authorizer).decide(&request(action, context)));
            }
        })
    });
    group.bench_function(
        "irsa_role_boundary_key_policy_mix_of_4_with_statements",
        |b| {
            b.iter(|| {
                for (action, context, _, _) in requests {
                    let _ = black_box(black_box(&authorizer).authorize(&request(action, context)));
                }
            })
        },
    );
    group.finish();
}

criterion_group!(benches, trust_benches, ebs_benches, authorization_benches);
criterion_main!(benches);
