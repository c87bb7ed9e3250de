//! One test per rule of the layered decision, each naming the AWS page it follows.

use super::*;

const DENY_ALLOW: &str = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html";
const CROSS_ACCOUNT: &str = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html";

const SESSION: &str = "arn:aws:sts::111122223333:assumed-role/app/botocore-session-1";
const ROLE: &str = "arn:aws:iam::111122223333:role/app";
const OBJECT: &str = "arn:aws:s3:::bucket/key";
const QUEUE: &str = "arn:aws:sqs:us-east-1:111122223333:jobs";
const OTHER_QUEUE: &str = "arn:aws:sqs:us-east-1:444455556666:jobs";
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn doc(json: &str) -> PolicyDocument {
    PolicyDocument::parse(json).unwrap()
}

fn allow(action: &str) -> PolicyDocument {
    doc(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"*"}}]}}"#
    ))
}

fn deny(action: &str) -> PolicyDocument {
    doc(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":"{action}","Resource":"*"}}]}}"#
    ))
}

/// A resource-based policy denying `action` to everyone.
fn deny_everyone(action: &str) -> PolicyDocument {
    doc(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Principal":"*","Action":"{action}","Resource":"*"}}]}}"#
    ))
}

/// A resource-based policy allowing `action` to `principal` (a JSON principal value).
fn resource_allow(principal: &str, action: &str) -> PolicyDocument {
    doc(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{principal},"Action":"{action}","Resource":"*"}}]}}"#
    ))
}

/// Decides as `caller`; `decide` (no statements collected) must agree with `authorize`.
fn decide_as(caller: &str, policies: Policies, action: &str, resource: &str) -> Authorization {
    let caller = Caller::parse(caller).unwrap();
    let mut context = Context::new();
    caller.fill_context(&mut context);
    let authorizer = Authorizer::new(policies).unwrap();
    let request = AuthzRequest {
        caller: Some(&caller),
        action,
        resource,
        context: &context,
    };
    let full = authorizer.authorize(&request).unwrap();
    let quick = authorizer.decide(&request).unwrap();
    assert_eq!(
        (quick.decision, quick.decided_by, quick.reason),
        (full.decision, full.decided_by, full.reason)
    );
    assert!(quick.layers.iter().all(|l| l.deciding.is_empty()));
    full
}

fn decided(a: &Authorization) -> (Decision, LayerKind, Option<usize>) {
    let layer = a.deciding_layer();
    (a.decision, layer.kind, layer.level)
}

// DENY_ALLOW, "Deny evaluation": an applying Deny in any policy type returns Deny, whatever
// the other layers allow.
#[test]
fn explicit_deny_in_any_layer_wins() {
    let all = || Policies {
        identity: vec![allow("s3:*")],
        boundary: Some(allow("s3:*")),
        session: Some(allow("s3:*")),
        scp_levels: vec![vec![allow("*")]],
        rcp_levels: vec![vec![resource_allow(r#""*""#, "*")]],
        resource: Some(resource_allow(&format!(r#"{{"AWS":"{SESSION}"}}"#), "s3:*")),
    };
    type AddDeny = fn(&mut Policies);
    let cases: [(LayerKind, AddDeny); 6] = [
        (LayerKind::Identity, |p| {
            p.identity.push(deny("s3:GetObject"))
        }),
        (LayerKind::Boundary, |p| {
            p.boundary = Some(deny("s3:GetObject"))
        }),
        (LayerKind::Session, |p| {
            p.session = Some(deny("s3:GetObject"))
        }),
        (LayerKind::Scp, |p| {
            p.scp_levels[0].push(deny("s3:GetObject"))
        }),
        (LayerKind::Rcp, |p| {
            p.rcp_levels[0].push(deny_everyone("s3:GetObject"))
        }),
        (LayerKind::Resource, |p| {
            p.resource = Some(deny_everyone("s3:GetObject"))
        }),
    ];
    assert_eq!(
        decide_as(SESSION, all(), "s3:GetObject", OBJECT).decision,
        Decision::Allow
    );
    for (kind, add_deny) in cases {
        let mut policies = all();
        add_deny(&mut policies);
        let a = decide_as(SESSION, policies, "s3:GetObject", OBJECT);
        assert_eq!(
            decided(&a),
            (Decision::ExplicitDeny, kind, a.deciding_layer().level),
            "{DENY_ALLOW}"
        );
        assert_eq!(a.reason, Reason::ExplicitDeny);
    }
}

// https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
// ("for a permission to be allowed for a specific account, there must be an explicit Allow
// statement at every level from the root through each OU in the direct path to the account").
#[test]
fn every_scp_level_must_allow() {
    let policies = |ou: PolicyDocument| Policies {
        identity: vec![allow("s3:*")],
        scp_levels: vec![vec![allow("*")], vec![ou], vec![allow("*")]],
        ..Policies::default()
    };
    let a = decide_as(SESSION, policies(allow("ec2:*")), "s3:GetObject", OBJECT);
    assert_eq!(
        decided(&a),
        (Decision::ImplicitDeny, LayerKind::Scp, Some(1))
    );
    assert_eq!(a.reason, Reason::LevelDoesNotAllow);
    let a = decide_as(SESSION, policies(allow("s3:*")), "s3:GetObject", OBJECT);
    assert_eq!(decided(&a), (Decision::Allow, LayerKind::Identity, None));
    // SCPs grant nothing themselves: the identity-based policies must still allow.
    let none = Policies {
        identity: vec![allow("ec2:*")],
        ..policies(allow("*"))
    };
    assert_eq!(
        decided(&decide_as(SESSION, none, "s3:GetObject", OBJECT)).1,
        LayerKind::Identity
    );
}

// https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_evaluation.html
// (RCPFullAWSAccess at every level lets requests through; a level with no applying Allow
// denies), evaluated before SCPs (DENY_ALLOW).
#[test]
fn every_rcp_level_must_allow_and_rcps_come_before_scps() {
    let full =
        || doc(r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#);
    let s3_only =
        doc(r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}"#);
    let policies = Policies {
        identity: vec![allow("sqs:*")],
        rcp_levels: vec![vec![full()], vec![s3_only]],
        scp_levels: vec![vec![allow("s3:*")]],
        ..Policies::default()
    };
    let a = decide_as(SESSION, policies, "sqs:SendMessage", QUEUE);
    assert_eq!(
        decided(&a),
        (Decision::ImplicitDeny, LayerKind::Rcp, Some(1))
    );
    let ok = Policies {
        identity: vec![allow("sqs:*")],
        rcp_levels: vec![vec![full()]],
        ..Policies::default()
    };
    assert_eq!(
        decided(&decide_as(SESSION, ok, "sqs:SendMessage", QUEUE)).0,
        Decision::Allow
    );
}

// https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
// ("An entity's permissions boundary allows it to perform only the actions that are allowed by
// both its identity-based policies and its permissions boundaries").
#[test]
fn the_boundary_caps_identity_policies() {
    let policies = |boundary| Policies {
        identity: vec![allow("s3:*")],
        boundary: Some(boundary),
        ..Policies::default()
    };
    let a = decide_as(SESSION, policies(allow("ec2:*")), "s3:GetObject", OBJECT);
    assert_eq!(
        decided(&a),
        (Decision::ImplicitDeny, LayerKind::Boundary, None)
    );
    assert_eq!(a.reason, Reason::CapDoesNotAllow);
    // The boundary alone grants nothing.
    let only = Policies {
        identity: vec![allow("ec2:*")],
        ..policies(allow("s3:*"))
    };
    let a = decide_as(SESSION, only, "s3:GetObject", OBJECT);
    assert_eq!(
        decided(&a),
        (Decision::ImplicitDeny, LayerKind::Identity, None)
    );
    assert_eq!(
        decided(&decide_as(
            SESSION,
            policies(allow("s3:*")),
            "s3:GetObject",
            OBJECT
        ))
        .0,
        Decision::Allow
    );
}

// https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session
// (the session's permissions are the intersection of the identity-based policies and the
// session policies).
#[test]
fn the_session_policy_caps_identity_policies() {
    let policies = Policies {
        identity: vec![allow("s3:*")],
        session: Some(allow("s3:PutObject")),
        ..Policies::default()
    };
    let a = decide_as(SESSION, policies, "s3:GetObject", OBJECT);
    assert_eq!(
        decided(&a),
        (Decision::ImplicitDeny, LayerKind::Session, None)
    );
}

// DENY_ALLOW, "Resource-based policies": within one account, a resource-based policy naming the
// role session itself allows even where the identity-based policies, the boundary and the session
// policy are silent.
#[test]
fn same_account_resource_policy_naming_the_session_allows_by_itself() {
    let policies = Policies {
        identity: vec![allow("ec2:*")],
        boundary: Some(allow("ec2:*")),
        session: Some(allow("ec2:*")),
        resource: Some(resource_allow(
            &format!(r#"{{"AWS":"{SESSION}"}}"#),
            "sqs:*",
        )),
        ..Policies::default()
    };
    let a = decide_as(SESSION, policies, "sqs:SendMessage", QUEUE);
    assert_eq!(decided(&a), (Decision::Allow, LayerKind::Resource, None));
    assert_eq!(a.reason, Reason::ResourceNamesCaller);
    assert!(a.same_account);
}

// DENY_ALLOW and access_policies_boundaries.html: a resource-based policy naming the role ARN
// (not the session) allows without an identity-based Allow, but an implicit deny in the
// permissions boundary or the session policy limits it.
#[test]
fn same_account_resource_policy_naming_the_role_is_capped_by_boundary_and_session() {
    let by_role = || resource_allow(&format!(r#"{{"AWS":"{ROLE}"}}"#), "sqs:*");
    let no_identity = Policies {
        identity: vec![allow("ec2:*")],
        resource: Some(by_role()),
        ..Policies::default()
    };
    let a = decide_as(SESSION, no_identity, "sqs:SendMessage", QUEUE);
    assert_eq!(decided(&a), (Decision::Allow, LayerKind::Resource, None));
    assert_eq!(a.reason, Reason::ResourceNamesRole);
    for (cap, policies) in [
        (
            LayerKind::Boundary,
            Policies {
                identity: vec![allow("ec2:*")],
                boundary: Some(allow("ec2:*")),
                resource: Some(by_role()),
                ..Policies::default()
            },
        ),
        (
            LayerKind::Session,
            Policies {
                identity: vec![allow("ec2:*")],
                session: Some(allow("ec2:*")),
                resource: Some(by_role()),
                ..Policies::default()
            },
        ),
    ] {
        let a = decide_as(SESSION, policies, "sqs:SendMessage", QUEUE);
        assert_eq!(
            decided(&a),
            (Decision::ImplicitDeny, cap, None),
            "{DENY_ALLOW}"
        );
        assert_eq!(a.reason, Reason::CapLimitsRoleGrant);
    }
}

// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
// ("AWS account principals"): naming the account delegates to the account's identity-based
// policies, which must allow.
#[test]
fn naming_only_the_account_delegates_to_identity_policies() {
    let policies = |identity| Policies {
        identity: vec![identity],
        resource: Some(resource_allow(r#"{"AWS":"111122223333"}"#, "sqs:*")),
        ..Policies::default()
    };
    let a = decide_as(SESSION, policies(allow("ec2:*")), "sqs:SendMessage", QUEUE);
    assert_eq!(
        decided(&a),
        (Decision::ImplicitDeny, LayerKind::Identity, None)
    );
    let a = decide_as(SESSION, policies(allow("sqs:*")), "sqs:SendMessage", QUEUE);
    assert_eq!(decided(&a), (Decision::Allow, LayerKind::Identity, None));
}

// CROSS_ACCOUNT: "the identity-based policy and the resource-based policy must both allow".
#[test]
fn across_accounts_both_sides_must_allow() {
    let other = "arn:aws:sts::444455556666:assumed-role/app/s";
    let policies = |identity, resource: Option<PolicyDocument>| Policies {
        identity: vec![identity],
        resource,
        ..Policies::default()
    };
    let admits = || Some(resource_allow(&format!(r#"{{"AWS":"{other}"}}"#), "sqs:*"));
    // Identity allows, no resource-based policy: denied by the resource side.
    let a = decide_as(
        other,
        policies(allow("sqs:*"), None),
        "sqs:SendMessage",
        QUEUE,
    );
    assert_eq!(
        decided(&a),
        (Decision::ImplicitDeny, LayerKind::Resource, None),
        "{CROSS_ACCOUNT}"
    );
    assert_eq!(a.reason, Reason::CrossAccountResourceDoesNotAllow);
    assert!(!a.same_account);
    // The resource names the caller itself, identity silent: still denied across accounts.
    let a = decide_as(
        other,
        policies(allow("ec2:*"), admits()),
        "sqs:SendMessage",
        QUEUE,
    );
    assert_eq!(
        decided(&a),
        (Decision::ImplicitDeny, LayerKind::Identity, None)
    );
    let a = decide_as(
        other,
        policies(allow("sqs:*"), admits()),
        "sqs:SendMessage",
        QUEUE,
    );
    assert_eq!(decided(&a), (Decision::Allow, LayerKind::Resource, None));
    assert_eq!(a.reason, Reason::CrossAccountBothAllow);
    // Naming the caller's account is enough on the resource side.
    let account = Some(resource_allow(
        r#"{"AWS":"arn:aws:iam::444455556666:root"}"#,
        "sqs:*",
    ));
    assert_eq!(
        decide_as(
            other,
            policies(allow("sqs:*"), account),
            "sqs:SendMessage",
            QUEUE
        )
        .decision,
        Decision::Allow
    );
    // Same caller, resource in its own account: the identity-based policy alone allows.
    let own = decide_as(
        SESSION,
        policies(allow("sqs:*"), None),
        "sqs:SendMessage",
        OTHER_QUEUE.replace("444455556666", "111122223333").as_str(),
    );
    assert_eq!(own.decision, Decision::Allow);
}

// CROSS_ACCOUNT: the account is the resource's; a bucket ARN has none, so aws:ResourceAccount
// tells it, and without it a resource-based policy is read the stricter, cross-account way.
#[test]
fn the_resource_account_comes_from_the_arn_or_aws_resource_account() {
    let caller = Caller::parse(SESSION).unwrap();
    let authorizer = Authorizer::new(Policies {
        identity: vec![allow("ec2:*")],
        resource: Some(resource_allow(&format!(r#"{{"AWS":"{SESSION}"}}"#), "s3:*")),
        ..Policies::default()
    })
    .unwrap();
    let decide = |context: &Context| {
        authorizer
            .authorize(&AuthzRequest {
                caller: Some(&caller),
                action: "s3:GetObject",
                resource: OBJECT,
                context,
            })
            .unwrap()
    };
    let unknown = decide(&Context::new());
    assert!(!unknown.same_account);
    assert_eq!(unknown.decision, Decision::ImplicitDeny);
    let known = decide(&Context::new().with("aws:ResourceAccount", "111122223333"));
    assert!(known.same_account);
    assert_eq!(known.decision, Decision::Allow);
}

// https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html ("Unless the key
// policy explicitly allows it, you cannot use IAM policies to allow access to a KMS key"), and
// DENY_ALLOW ("KMS key policies ... must explicitly allow access").
#[test]
fn kms_key_policies_must_allow_explicitly() {
    let policies = |resource| Policies {
        identity: vec![allow("kms:*")],
        resource,
        ..Policies::default()
    };
    let a = decide_as(SESSION, policies(None), "kms:Decrypt", KEY);
    assert_eq!(
        decided(&a),
        (Decision::ImplicitDeny, LayerKind::Resource, None)
    );
    assert_eq!(a.reason, Reason::KeyPolicyDoesNotAllow);
    assert!(
        a.layers
            .iter()
            .any(|l| l.kind == LayerKind::Resource && l.deciding.is_empty())
    );
    let other_principal = Some(resource_allow(
        r#"{"AWS":"arn:aws:iam::111122223333:role/admin"}"#,
        "kms:*",
    ));
    assert_eq!(
        decide_as(SESSION, policies(other_principal), "kms:Decrypt", KEY).reason,
        Reason::KeyPolicyDoesNotAllow
    );
    // The default key policy (the account root) enables IAM policies.
    let root = Some(resource_allow(
        r#"{"AWS":"arn:aws:iam::111122223333:root"}"#,
        "kms:*",
    ));
    let a = decide_as(SESSION, policies(root), "kms:Decrypt", KEY);
    assert_eq!(decided(&a), (Decision::Allow, LayerKind::Identity, None));
    // Naming the role session in the key policy allows by itself.
    let session = Some(resource_allow(
        &format!(r#"{{"AWS":"{SESSION}"}}"#),
        "kms:*",
    ));
    let none = Policies {
        identity: vec![allow("ec2:*")],
        ..policies(session)
    };
    assert_eq!(
        decide_as(SESSION, none, "kms:Decrypt", KEY).decision,
        Decision::Allow
    );
}

// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
// (Principal is refused in identity-based policies: here in every identity-based layer, SCPs
// included; resource-based statements must name one).
#[test]
fn documents_are_refused_for_the_wrong_layer_with_the_place() {
    let with_principal = doc(
        r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}"#,
    );
    for policies in [
        Policies {
            identity: vec![allow("s3:*"), with_principal.clone()],
            ..Policies::default()
        },
        Policies {
            boundary: Some(with_principal.clone()),
            ..Policies::default()
        },
        Policies {
            session: Some(with_principal.clone()),
            ..Policies::default()
        },
        Policies {
            scp_levels: vec![vec![], vec![with_principal.clone()]],
            ..Policies::default()
        },
    ] {
        let Err(AuthorizationError::InvalidDocument { source, .. }) = Authorizer::new(policies)
        else {
            panic!("accepted a principal in an identity-based layer");
        };
        assert_eq!(source.path, "Statement[1].Principal");
    }
    let e = Authorizer::new(Policies {
        resource: Some(allow("s3:*")),
        ..Policies::default()
    })
    .unwrap_err();
    assert!(
        matches!(
            e,
            AuthorizationError::InvalidDocument {
                at: DocumentRef {
                    layer: LayerKind::Resource,
                    ..
                },
                ..
            }
        ),
        "{e}"
    );
    let e = Authorizer::new(Policies {
        identity: vec![with_principal],
        ..Policies::default()
    })
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "identity policy 0: Statement[1].Principal: an identity-based policy cannot name a principal (IAM refuses it: \"Has prohibited field Principal\"); remove Principal, or evaluate the document as a resource-based policy"
    );
}

// A resource-based layer cannot be matched without the caller: an error, not a silent skip.
#[test]
fn a_resource_policy_without_a_caller_is_an_error() {
    let authorizer = Authorizer::new(Policies {
        identity: vec![allow("s3:*")],
        resource: Some(resource_allow(r#""*""#, "s3:*")),
        ..Policies::default()
    })
    .unwrap();
    let e = authorizer
        .authorize(&AuthzRequest {
            caller: None,
            action: "s3:GetObject",
            resource: OBJECT,
            context: &Context::new(),
        })
        .unwrap_err();
    assert_eq!(
        e,
        AuthorizationError::NoCaller {
            layer: LayerKind::Resource
        }
    );
}

// DENY_ALLOW: with identity-based policies only, the decision is theirs (the engine's existing
// evaluation), without a caller.
#[test]
fn identity_only_matches_the_plain_evaluation() {
    let policies = Policies {
        identity: vec![allow("s3:*"), deny("s3:DeleteObject")],
        ..Policies::default()
    };
    let authorizer = Authorizer::new(policies).unwrap();
    let ctx = Context::new();
    for (action, expected) in [
        ("s3:GetObject", Decision::Allow),
        ("s3:DeleteObject", Decision::ExplicitDeny),
        ("ec2:RunInstances", Decision::ImplicitDeny),
    ] {
        let a = authorizer
            .authorize(&AuthzRequest {
                caller: None,
                action,
                resource: OBJECT,
                context: &ctx,
            })
            .unwrap();
        let docs: Vec<&PolicyDocument> = authorizer.policies().identity.iter().collect();
        let plain = crate::eval::decide(
            &docs,
            &Request {
                principal: None,
                action,
                resource: Some(OBJECT),
                context: &ctx,
            },
        );
        assert_eq!((a.decision, plain), (expected, expected), "{action}");
        assert_eq!(a.deciding_layer().kind, LayerKind::Identity);
    }
}

// https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html ("Within an
// account, an implicit deny in a permissions boundary does not limit the permissions granted to
// an IAM user by a resource-based policy"): naming the user's ARN allows by itself.
#[test]
fn a_resource_policy_naming_an_iam_user_is_not_capped_by_its_boundary() {
    let user = "arn:aws:iam::111122223333:user/ops/bob";
    let policies = Policies {
        identity: vec![allow("ec2:*")],
        boundary: Some(allow("ec2:*")),
        resource: Some(resource_allow(&format!(r#"{{"AWS":"{user}"}}"#), "sqs:*")),
        ..Policies::default()
    };
    let a = decide_as(user, policies, "sqs:SendMessage", QUEUE);
    assert_eq!(decided(&a), (Decision::Allow, LayerKind::Resource, None));
    assert_eq!(a.reason, Reason::ResourceNamesCaller);
}

// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
// ("AWS service principals"): a resource-based policy naming the service admits it.
#[test]
fn a_service_principal_is_admitted_by_the_resource_policy() {
    let policies = || Policies {
        identity: vec![],
        resource: Some(resource_allow(
            r#"{"Service":"sns.amazonaws.com"}"#,
            "sqs:SendMessage",
        )),
        ..Policies::default()
    };
    let a = decide_as("sns.amazonaws.com", policies(), "sqs:SendMessage", QUEUE);
    assert_eq!(decided(&a), (Decision::Allow, LayerKind::Resource, None));
    let a = decide_as("events.amazonaws.com", policies(), "sqs:SendMessage", QUEUE);
    assert_eq!(
        decided(&a),
        (Decision::ImplicitDeny, LayerKind::Identity, None)
    );
}
