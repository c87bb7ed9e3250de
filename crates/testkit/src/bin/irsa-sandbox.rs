//! `irsa-sandbox`: a local AWS + EKS + Kubernetes sandbox on 127.0.0.1 for irsa's demo and tests.
//! Starts moto (installed into a virtual environment of its own on first run), the FAKE EKS
//! add-on API, the FAKE CloudTrail event history (STS in front of moto, LookupEvents) and the
//! FAKE Kubernetes API, creates an EKS cluster, writes the environment to
//! `--env-file`, and stays in the foreground until stopped (Ctrl-C or SIGTERM).

use std::path::PathBuf;
use std::process::ExitCode;

use testkit::sandbox::{Sandbox, SandboxOptions};

const USAGE: &str = "usage: irsa-sandbox [--cluster NAME] [--region REGION] [--env-file PATH]
  --cluster   EKS cluster to create (default demo)
  --region    AWS region (default us-east-1)
  --env-file  where to write KEY=VALUE lines for irsa, the aws CLI and boto3 (default sandbox.env)";

fn parse_args() -> Result<(String, String, PathBuf), String> {
    let (mut cluster, mut region, mut env_file) = (
        "demo".to_string(),
        "us-east-1".to_string(),
        PathBuf::from("sandbox.env"),
    );
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--cluster" => cluster = value()?,
            "--region" => region = value()?,
            "--env-file" => env_file = PathBuf::from(value()?),
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    Ok((cluster, region, env_file))
}

#[tokio::main]
async fn main() -> ExitCode {
    let (cluster, region, env_file) = match parse_args() {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let kubeconfig = env_file.with_extension("kubeconfig");
    let kubeconfig = std::path::absolute(&kubeconfig).unwrap_or(kubeconfig);
    eprintln!(
        "irsa-sandbox: starting moto (first run installs it into a virtual environment), the fake EKS add-on API, the fake CloudTrail (STS, LookupEvents) and the fake Kubernetes API…"
    );
    let sandbox = match Sandbox::start(SandboxOptions {
        cluster: cluster.clone(),
        region: region.clone(),
        kubeconfig,
    })
    .await
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("irsa-sandbox: {e}");
            return ExitCode::from(1);
        }
    };
    if let Err(e) = sandbox.write_env_file(&env_file) {
        eprintln!("irsa-sandbox: cannot write {}: {e}", env_file.display());
        return ExitCode::from(1);
    }
    println!(
        "irsa-sandbox: ready: cluster {cluster} in {region}, issuer {}",
        sandbox.issuer
    );
    println!(
        "irsa-sandbox: environment in {} (e.g. `set -a; . {}; set +a`); Ctrl-C stops it",
        env_file.display(),
        env_file.display()
    );
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("irsa-sandbox: cannot listen for SIGTERM: {e}");
            return ExitCode::from(1);
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    eprintln!("irsa-sandbox: stopping");
    drop(sandbox);
    ExitCode::SUCCESS
}
