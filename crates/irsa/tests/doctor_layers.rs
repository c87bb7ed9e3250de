//! End-to-end tests of `irsa doctor` through the layers beyond the role, against the sandbox
//! (moto's KMS, S3 and Organizations): an EBS CSI binding whose customer key's policy omits the
//! role and a Velero binding whose bucket policy denies deletes are each named with the layer
//! that decided; a key whose policy cannot be read (another account's, which moto does not hold)
//! is said once as not checked and does not fail doctor. `irsa verify --action/--resource` names
//! the bucket policy's Deny as the layer that denies.

use std::process::Output;

use serde_json::{Value, json};

mod common;

use common::{Env, start, text};

const FOREIGN_KEY: &str =
    "arn:aws:kms:us-east-1:210987654321:key/0b3c5d7e-1111-2222-3333-444455556666";

fn findings(out: &Output) -> Vec<Value> {
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(out)));
    report["findings"].as_array().unwrap().clone()
}

/// Applies `spec` and runs doctor on it (JSON).
fn doctor_after_apply(env: &Env, spec: &str) -> Output {
    let path = env.dir.join("irsa.yaml");
    std::fs::write(&path, spec).unwrap();
    let path = path.to_str().unwrap();
    let apply = env.irsa(&["apply", "-f", path, "--yes"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    env.irsa(&["doctor", "-f", path, "--output", "json"])
}

fn create_key(env: &Env, policy: &Value) -> String {
    let clients = env.clients_at(&env.sandbox.moto.endpoint());
    env.runtime.block_on(async {
        let out = clients
            .kms
            .create_key()
            .policy(policy.to_string())
            .send()
            .await
            .unwrap();
        out.key_metadata().unwrap().arn().unwrap().to_string()
    })
}

fn create_bucket(env: &Env, bucket: &str, policy: &Value) {
    let clients = env.clients_at(&env.sandbox.moto.endpoint());
    env.runtime.block_on(async {
        clients
            .s3
            .create_bucket()
            .bucket(bucket)
            .send()
            .await
            .unwrap();
        clients
            .s3
            .put_bucket_policy()
            .bucket(bucket)
            .policy(policy.to_string())
            .send()
            .await
            .unwrap();
    })
}

#[test]
fn a_key_policy_omitting_the_role_and_a_bucket_deny_are_named_with_their_layer() {
    let env = start();
    let key = create_key(
        &env,
        &json!({"Version": "2012-10-17", "Statement": [{"Sid": "Admins", "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:role/key-admin"},
            "Action": "kms:*", "Resource": "*"}]}),
    );
    create_bucket(
        &env,
        "demo-backups",
        &json!({"Version": "2012-10-17", "Statement": [{"Sid": "NoDeletes", "Effect": "Deny",
            "Principal": "*", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::demo-backups/*"}]}),
    );
    let spec = format!(
        "cluster: {{name: demo, region: us-east-1}}\nbindings:\n  - preset: ebs-csi\n    options: {{kmsKeyArns: [{key}]}}\n  - preset: velero\n    options: {{bucket: demo-backups}}\n"
    );
    let out = doctor_after_apply(&env, &spec);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let found = findings(&out);
    let layer_findings: Vec<&Value> = found.iter().filter(|f| f["rule"] == "DOC045").collect();
    assert_eq!(layer_findings.len(), 2, "{found:#?}");
    let on_key = layer_findings
        .iter()
        .find(|f| f["subject"] == "kube-system/ebs-csi-controller-sa")
        .unwrap();
    let message = on_key["message"].as_str().unwrap();
    assert!(
        message.contains(&key) && message.contains("kms:CreateGrant"),
        "{message}"
    );
    assert!(
        on_key["evidence"]
            .to_string()
            .contains("statement to add to the key policy"),
        "{on_key:#?}"
    );
    let on_bucket = layer_findings
        .iter()
        .find(|f| f["subject"] == "velero/velero")
        .unwrap();
    let message = on_bucket["message"].as_str().unwrap();
    assert!(
        message
            .starts_with("the bucket policy of `demo-backups` explicitly denies s3:DeleteObject"),
        "{message}"
    );
    assert!(on_bucket["evidence"].to_string().contains("NoDeletes"));
    // The sandbox's account is in no organization: no SCP layer, nothing said about it.
    assert!(
        !found
            .iter()
            .any(|f| f["message"].as_str().unwrap().contains("SCP"))
    );

    // verify --action/--resource decides through the same layers and names the one that denies.
    let verify = |action: &str| {
        let out = env.irsa(&[
            "verify",
            "--cluster",
            "demo",
            "--namespace",
            "velero",
            "--service-account",
            "velero",
            "--action",
            action,
            "--resource",
            "arn:aws:s3:::demo-backups/backup-1.tar.gz",
            "--output",
            "json",
        ]);
        let verdicts: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(&out)));
        let step = verdicts[0]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "action")
            .cloned()
            .unwrap_or_else(|| panic!("{}", text(&out)));
        (out.status.code(), step)
    };
    let (code, step) = verify("s3:DeleteObject");
    assert_eq!(code, Some(1), "{step:#?}");
    assert_eq!(step["ok"], false);
    let detail = step["detail"].as_str().unwrap();
    assert!(
        detail.contains("explicitly denied by the resource layer"),
        "{detail}"
    );
    let (code, step) = verify("s3:PutObject");
    assert_eq!(code, Some(0), "{step:#?}");
    assert_eq!(step["ok"], true);
}

#[test]
fn a_key_policy_that_cannot_be_read_is_not_checked_once_and_does_not_fail() {
    let env = start();
    let spec = format!(
        "cluster: {{name: demo, region: us-east-1}}\nbindings:\n  - preset: ebs-csi\n    options: {{kmsKeyArns: [{FOREIGN_KEY}]}}\n"
    );
    let out = doctor_after_apply(&env, &spec);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let found = findings(&out);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["rule"], "DOC047");
    assert_eq!(found[0]["severity"], "info");
    let message = found[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!(
            "key policy of `{FOREIGN_KEY}` not checked: kms:GetKeyPolicy"
        )),
        "{message}"
    );
}
