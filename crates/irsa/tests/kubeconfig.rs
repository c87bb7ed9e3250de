//! The cluster from the kubeconfig: in the sandbox, whose kubeconfig is shaped like
//! `aws eks update-kubeconfig`'s, every cluster command works without `--cluster`, says which
//! cluster it chose (stderr, human output only), and a context that names no EKS cluster is
//! refused with what was found and how to name one.

mod common;

use std::process::Output;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const CHOSEN: &str = "irsa: cluster demo in us-east-1, from kubeconfig context `arn:aws:eks:us-east-1:123456789012:cluster/demo` (the context's EKS ARN)\n";

#[test]
fn without_cluster_the_commands_take_it_from_the_kubeconfig() {
    let env = common::start();
    // --color always colours the plan's marks (a pipe gets none by default).
    let plan = env.irsa(&["plan", "--color", "always"]);
    assert_eq!(plan.status.code(), Some(3), "{}", stderr(&plan));
    let shown = String::from_utf8_lossy(&plan.stdout);
    assert!(shown.contains("  \x1b[32m+\x1b[0m role"), "{shown}");
    let plain = env.irsa(&["plan"]);
    assert!(!String::from_utf8_lossy(&plain.stdout).contains('\x1b'));

    let apply = env.irsa(&["apply", "--yes"]);
    assert_eq!(apply.status.code(), Some(0), "{}", stderr(&apply));
    assert!(stderr(&apply).starts_with(CHOSEN), "{}", stderr(&apply));

    let plan = env.irsa(&["plan"]);
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));

    // The verify issue's relied-upon form.
    let verify = env.irsa(&["verify", "--all"]);
    assert_eq!(verify.status.code(), Some(0), "{}", stderr(&verify));
    assert!(stderr(&verify).starts_with(CHOSEN), "{}", stderr(&verify));

    let doctor = env.irsa(&["doctor"]);
    assert_eq!(doctor.status.code(), Some(0), "{}", stderr(&doctor));

    // JSON output is for programs: nothing is announced.
    let list = env.irsa(&["list", "--output", "json"]);
    assert_eq!(list.status.code(), Some(0), "{}", stderr(&list));
    assert_eq!(stderr(&list), "");
    let listed: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|sa| sa["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "cluster-autoscaler",
            "ebs-csi-controller-sa",
            "efs-csi-controller-sa"
        ]
    );
}

/// `--profile` picks credentials from the shared files, as the aws CLI's does.
#[test]
fn profile_selects_credentials_from_the_shared_files() {
    let env = common::start();
    let aws = env.dir.join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    std::fs::write(
        aws.join("credentials"),
        "[sandbox]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_irsa"));
        cmd.args(args)
            .current_dir(&env.dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &env.dir);
        for (k, v) in env.sandbox.env() {
            if !k.starts_with("AWS_ACCESS_KEY_ID") && !k.starts_with("AWS_SECRET_ACCESS_KEY") {
                cmd.env(k, v);
            }
        }
        cmd.output().unwrap()
    };
    let without = run(&["list"]);
    assert_eq!(without.status.code(), Some(1), "{}", stderr(&without));
    assert!(
        stderr(&without).contains("no AWS credentials found"),
        "{}",
        stderr(&without)
    );
    let with = run(&["list", "--profile", "sandbox"]);
    assert_eq!(with.status.code(), Some(0), "{}", stderr(&with));
    // Global flags go before the command too.
    let before = run(&["--profile", "sandbox", "--region", "us-east-1", "list"]);
    assert_eq!(before.status.code(), Some(0), "{}", stderr(&before));
}

#[test]
fn a_context_that_is_not_eks_is_refused_with_what_was_found() {
    let env = common::start();
    let kubeconfig = env.dir.join("kind.kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: kind-kind\n  cluster:\n    server: https://127.0.0.1:6443\nusers:\n- name: kind-kind\n  user: {}\ncontexts:\n- name: kind-kind\n  context:\n    cluster: kind-kind\n    user: kind-kind\n- name: blue\n  context:\n    cluster: kind-kind\n    user: blue\ncurrent-context: kind-kind\n",
    )
    .unwrap();
    let path = kubeconfig.display().to_string();
    let out = env.irsa(&["list", "--kubeconfig", &path]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "irsa: no --cluster, and kubeconfig context `kind-kind` (cluster `kind-kind`, server https://127.0.0.1:6443, user `kind-kind`) names no EKS cluster: neither an EKS cluster ARN nor `aws eks get-token` / `aws-iam-authenticator` credentials:\n  name the cluster with --cluster NAME [--region R] or -f FILE, pick an EKS context with --context, or write one with `aws eks update-kubeconfig --name NAME --region R`\n"
    );
    let out = env.irsa(&["plan", "--kubeconfig", &path, "--context", "green"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the kubeconfig has no context `green`"),
        "{}",
        stderr(&out)
    );
}
