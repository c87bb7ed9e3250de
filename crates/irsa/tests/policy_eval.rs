//! End-to-end tests of `irsa policy eval` through every layer, and of the fail-closed paths of
//! `irsa policy eval`/`lint` on what IAM refuses: the real binary on real files.

mod offline;

use std::path::PathBuf;
use std::process::Output;

use offline::{core_fixture, irsa, json, stderr, tempdir};
use serde_json::Value;

const SESSION: &str = "arn:aws:sts::111122223333:assumed-role/app/botocore-session-1";
const OBJECT: &str = "arn:aws:s3:::models/llama/weights";
const QUEUE: &str = "arn:aws:sqs:us-east-1:111122223333:jobs";
const ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

/// A directory of policy files written for one test.
struct Files(PathBuf);

impl Files {
    fn new() -> Files {
        Files(tempdir())
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    /// An identity-style document allowing (or denying) `action` on every resource.
    fn statement(&self, name: &str, effect: &str, action: &str) -> String {
        self.write(
            name,
            &format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{name}","Effect":"{effect}","Action":"{action}","Resource":"*"}}]}}"#
            ),
        )
    }

    /// A resource-based document allowing `action` to `principal` (a JSON principal value).
    fn resource(&self, name: &str, principal: &str, action: &str) -> String {
        self.write(
            name,
            &format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{name}","Effect":"Allow","Principal":{principal},"Action":"{action}","Resource":"*"}}]}}"#
            ),
        )
    }
}

fn eval(args: &[&str]) -> Output {
    let mut all = vec!["policy", "eval"];
    all.extend_from_slice(args);
    irsa(&all)
}

fn eval_json(args: &[&str]) -> (Option<i32>, Value) {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--output", "json"]);
    let out = eval(&all);
    assert_ne!(out.status.code(), Some(2), "{}", stderr(&out));
    (out.status.code(), json(&out))
}

fn layer<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["layer"] == name)
        .unwrap_or_else(|| panic!("no {name} layer in {v:#}"))
}

const PERMISSIONS_WITH_PRINCIPAL: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}"#;

// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html:
// IAM refuses a Principal in an identity-based policy; eval says where, with exit 2, instead of
// allowing with the Deny dropped. The same for a boundary, a session policy and an SCP.
#[test]
fn a_principal_in_an_identity_based_document_is_bad_input_with_the_place() {
    let files = Files::new();
    let bad = files.write("deny-with-principal.json", PERMISSIONS_WITH_PRINCIPAL);
    let ok = files.statement("s3.json", "Allow", "s3:*");
    for flag in ["--policy", "--boundary", "--session-policy", "--scp"] {
        let out = eval(&[
            "--policy",
            &ok,
            flag,
            &bad,
            "--action",
            "s3:GetObject",
            "--resource",
            OBJECT,
        ]);
        assert_eq!(out.status.code(), Some(2), "{flag}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("deny-with-principal.json: Statement[1].Principal: an identity-based policy cannot name a principal"),
            "{flag}: {}",
            stderr(&out)
        );
    }
}

// Editors on Windows write a UTF-8 byte-order mark: JSON policies and YAML specs read alike.
#[test]
fn a_leading_byte_order_mark_is_accepted_in_json_and_yaml() {
    let files = Files::new();
    let policy = files.write(
        "bom.json",
        "\u{feff}{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}]}",
    );
    let (code, v) = eval_json(&[
        "--policy",
        &policy,
        "--action",
        "s3:GetObject",
        "--resource",
        OBJECT,
    ]);
    assert_eq!((code, &v["decision"]), (Some(0), &Value::from("allow")));

    let spec = std::fs::read_to_string(core_fixture("eksctl.yaml")).unwrap();
    let spec = files.write("bom.yaml", &format!("\u{feff}{spec}"));
    let out = files.0.join("rendered");
    let run = irsa(&[
        "render",
        "-f",
        &spec,
        "--account",
        "123456789012",
        "--issuer",
        ISSUER,
        "--out",
        &out.display().to_string(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
}

// `--kind permissions`: the Principal is a critical finding (IRSA000) at its place, exit 1.
#[test]
fn lint_as_permissions_reports_the_principal_as_critical() {
    let files = Files::new();
    let bad = files.write("deny-with-principal.json", PERMISSIONS_WITH_PRINCIPAL);
    let out = irsa(&[
        "policy",
        "lint",
        &bad,
        "--kind",
        "permissions",
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let findings = json(&out);
    let invalid = findings
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "IRSA000")
        .unwrap_or_else(|| panic!("{findings:#}"));
    assert_eq!(invalid["severity"], "critical");
    assert_eq!(invalid["location"], "Statement[1].Principal");
}

// https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html: the boundary
// caps the identity-based policies; JSON lists each layer and the one that decided.
#[test]
fn json_lists_the_layers_and_the_deciding_one() {
    let files = Files::new();
    let identity = files.statement("identity.json", "Allow", "s3:*");
    let boundary = files.statement("boundary.json", "Allow", "ec2:*");
    let (code, v) = eval_json(&[
        "--policy",
        &identity,
        "--boundary",
        &boundary,
        "--principal",
        SESSION,
        "--action",
        "s3:GetObject",
        "--resource",
        OBJECT,
    ]);
    assert_eq!(code, Some(1));
    assert_eq!(v["decision"], "implicit-deny");
    assert_eq!(v["decided_by"], "boundary");
    assert_eq!(layer(&v, "identity")["decision"], "allow");
    assert_eq!(
        layer(&v, "identity")["statements"][0]["sid"],
        "identity.json"
    );
    assert_eq!(layer(&v, "boundary")["decision"], "implicit-deny");

    let text = eval(&[
        "--policy",
        &identity,
        "--boundary",
        &boundary,
        "--action",
        "s3:GetObject",
        "--resource",
        OBJECT,
    ]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("decided by the boundary layer: the permissions boundary caps the identity-based policies"), "{stdout}");
}

// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html:
// within one account a resource-based policy naming the role session allows by itself; one naming
// the role ARN is still capped by the boundary.
#[test]
fn resource_policies_naming_the_session_or_its_role() {
    let files = Files::new();
    let identity = files.statement("identity.json", "Allow", "ec2:*");
    let boundary = files.statement("boundary.json", "Allow", "ec2:*");
    let by_session = files.resource(
        "by-session.json",
        &format!(r#"{{"AWS":"{SESSION}"}}"#),
        "sqs:*",
    );
    let by_role = files.resource(
        "by-role.json",
        r#"{"AWS":"arn:aws:iam::111122223333:role/app"}"#,
        "sqs:*",
    );
    let args = |resource: &str| {
        eval_json(&[
            "--policy",
            &identity,
            "--boundary",
            &boundary,
            "--resource-policy",
            resource,
            "--principal",
            SESSION,
            "--action",
            "sqs:SendMessage",
            "--resource",
            QUEUE,
        ])
    };
    let (code, v) = args(&by_session);
    assert_eq!(
        (code, v["decided_by"].as_str()),
        (Some(0), Some("resource")),
        "{v:#}"
    );
    assert_eq!(
        layer(&v, "resource")["statements"][0]["sid"],
        "by-session.json"
    );
    let (code, v) = args(&by_role);
    assert_eq!(
        (code, v["decided_by"].as_str()),
        (Some(1), Some("boundary")),
        "{v:#}"
    );
}

// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html:
// across accounts both the identity-based and the resource-based policy must allow.
#[test]
fn across_accounts_both_sides_must_allow() {
    let files = Files::new();
    let identity = files.statement("identity.json", "Allow", "sqs:*");
    let other_queue = "arn:aws:sqs:us-east-1:444455556666:jobs";
    let (code, v) = eval_json(&[
        "--policy",
        &identity,
        "--principal",
        SESSION,
        "--action",
        "sqs:SendMessage",
        "--resource",
        other_queue,
    ]);
    assert_eq!(
        (code, v["decided_by"].as_str()),
        (Some(1), Some("resource")),
        "{v:#}"
    );
    let admits = files.resource(
        "admits.json",
        r#"{"AWS":"111122223333"}"#,
        "sqs:SendMessage",
    );
    let (code, _) = eval_json(&[
        "--policy",
        &identity,
        "--resource-policy",
        &admits,
        "--principal",
        SESSION,
        "--action",
        "sqs:SendMessage",
        "--resource",
        other_queue,
    ]);
    assert_eq!(code, Some(0));
}

// https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html:
// each --scp occurrence is one level and every level must allow; an RCP level likewise
// (orgs_manage_policies_rcps_evaluation.html).
#[test]
fn every_scp_and_rcp_level_must_allow() {
    let files = Files::new();
    let identity = files.statement("identity.json", "Allow", "sqs:*");
    let full = files.statement("full.json", "Allow", "*");
    let ec2 = files.statement("ec2.json", "Allow", "ec2:*");
    let sqs = files.statement("sqs.json", "Allow", "sqs:*");
    let root_and_ou = format!("{full},{ec2}");
    let (code, v) = eval_json(&[
        "--policy",
        &identity,
        "--scp",
        &root_and_ou,
        "--scp",
        &ec2,
        "--principal",
        SESSION,
        "--action",
        "sqs:SendMessage",
        "--resource",
        QUEUE,
    ]);
    assert_eq!(code, Some(1));
    assert_eq!(v["decided_by"], "scp");
    let scps: Vec<&Value> = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["layer"] == "scp")
        .collect();
    assert_eq!(scps.len(), 2);
    assert_eq!(
        (
            &scps[0]["decision"],
            &scps[1]["decision"],
            &scps[1]["level"]
        ),
        (
            &Value::from("allow"),
            &Value::from("implicit-deny"),
            &Value::from(1)
        )
    );
    let (code, _) = eval_json(&[
        "--policy",
        &identity,
        "--scp",
        &full,
        "--scp",
        &sqs,
        "--principal",
        SESSION,
        "--action",
        "sqs:SendMessage",
        "--resource",
        QUEUE,
    ]);
    assert_eq!(code, Some(0));

    let rcp_s3 = files.resource("rcp-s3.json", r#""*""#, "s3:*");
    let (code, v) = eval_json(&[
        "--policy",
        &identity,
        "--rcp",
        &rcp_s3,
        "--principal",
        SESSION,
        "--action",
        "sqs:SendMessage",
        "--resource",
        QUEUE,
    ]);
    assert_eq!(
        (code, v["decided_by"].as_str()),
        (Some(1), Some("rcp")),
        "{v:#}"
    );
}

// https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session: the
// session policy caps the role's policies; `--principal-tag` feeds aws:PrincipalTag.
#[test]
fn session_policy_and_principal_tags() {
    let files = Files::new();
    let identity = files.write(
        "tagged.json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"ml"}}}]}"#,
    );
    let session = files.statement("session.json", "Allow", "s3:PutObject");
    let base = [
        "--policy",
        identity.as_str(),
        "--principal",
        SESSION,
        "--action",
        "s3:GetObject",
        "--resource",
        OBJECT,
    ];
    let (code, v) = eval_json(&[&base[..], &["--principal-tag", "team=ml"]].concat());
    assert_eq!(
        (code, v["decided_by"].as_str()),
        (Some(0), Some("identity")),
        "{v:#}"
    );
    let (code, _) = eval_json(&[&base[..], &["--principal-tag", "team=web"]].concat());
    assert_eq!(code, Some(1));
    let (code, v) = eval_json(
        &[
            &base[..],
            &["--principal-tag", "team=ml", "--session-policy", &session],
        ]
        .concat(),
    );
    assert_eq!(
        (code, v["decided_by"].as_str()),
        (Some(1), Some("session")),
        "{v:#}"
    );
}

// A resource-based policy cannot be matched without its caller: bad input, not a silent skip.
#[test]
fn a_resource_policy_needs_the_principal() {
    let files = Files::new();
    let identity = files.statement("identity.json", "Allow", "sqs:*");
    let admits = files.resource("admits.json", r#""*""#, "sqs:*");
    let out = eval(&[
        "--policy",
        &identity,
        "--resource-policy",
        &admits,
        "--action",
        "sqs:SendMessage",
        "--resource",
        QUEUE,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("give the caller with --principal"),
        "{}",
        stderr(&out)
    );
    let out = eval(&[
        "--policy",
        &identity,
        "--principal",
        "bob",
        "--action",
        "sqs:SendMessage",
        "--resource",
        QUEUE,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--principal `bob` is not a principal"),
        "{}",
        stderr(&out)
    );
}
