//! `irsa-sandbox`: a local AWS + EKS + Kubernetes sandbox on 127.0.0.1 for irsa's demo and tests.
//! Starts moto (installed into a virtual environment of its own on first run), the FAKE EKS API
//! (add-ons, Pod Identity associations), the FAKE EKS Auth (AssumeRoleForPodIdentity), the FAKE
//! CloudTrail event history (STS in front of moto, LookupEvents) and the FAKE Kubernetes API,
//! creates an EKS cluster, writes the environment to `--env-file`, and stays
//! in the foreground until stopped (Ctrl-C or SIGTERM). With `--latency MS`, every AWS endpoint in
//! the environment goes through a proxy that waits MS milliseconds before forwarding (see
//! `testkit::latency`), for benchmarks that need a networked peer's shape; the Kubernetes API is
//! not delayed. With `--enforce-iam`, moto and the fakes check every request against the IAM
//! policies of the caller (see `testkit::enforce`), and the env file carries the keys of an IAM
//! user whose policy is `--policy FILE` or, by default, what `irsa permissions --cluster C
//! --account A --output policy` prints (the `irsa` binary beside this one); the keys are never
//! printed, and the sandbox's own key stays its own.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use serde_json::Value;
use testkit::latency::LatencyProxy;
use testkit::sandbox::{SANDBOX_ACCOUNT, Sandbox, SandboxOptions, write_env_file};

const USAGE: &str = "usage: irsa-sandbox [--cluster NAME] [--region REGION] [--env-file PATH] [--latency MS] [--enforce-iam [--policy FILE]]
  --cluster      EKS cluster to create (default demo)
  --region       AWS region (default us-east-1)
  --env-file     where to write KEY=VALUE lines for irsa, the aws CLI and boto3 (default sandbox.env)
  --latency      delay every AWS request by MS milliseconds, as a network would (default 0)
  --enforce-iam  check every AWS request against the caller's IAM policies; the env file gets the
                 keys of a user with the policy of --policy FILE (default: what `irsa permissions
                 --cluster NAME --region REGION --account 123456789012 --output policy` prints)";

struct Args {
    cluster: String,
    region: String,
    env_file: PathBuf,
    latency: Duration,
    enforce_iam: bool,
    policy: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let (mut cluster, mut region, mut env_file, mut latency) = (
        "demo".to_string(),
        "us-east-1".to_string(),
        PathBuf::from("sandbox.env"),
        Duration::ZERO,
    );
    let (mut enforce_iam, mut policy) = (false, None);
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
            "--latency" => {
                let text = value()?;
                let ms: u64 = text
                    .parse()
                    .ok()
                    .filter(|ms| *ms <= 10_000)
                    .ok_or_else(|| {
                        format!("--latency takes milliseconds from 0 to 10000, not `{text}`")
                    })?;
                latency = Duration::from_millis(ms);
            }
            "--enforce-iam" => enforce_iam = true,
            "--policy" => policy = Some(PathBuf::from(value()?)),
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    if policy.is_some() && !enforce_iam {
        return Err(format!("--policy needs --enforce-iam\n{USAGE}"));
    }
    Ok(Args {
        cluster,
        region,
        env_file,
        latency,
        enforce_iam,
        policy,
    })
}

/// Why the enforced user's policy could not be had; exit 2 (a usage or installation problem).
struct PolicyError(String);

/// The policy of `--policy FILE`, or by default `irsa permissions`' for the cluster.
fn enforced_policy(file: Option<&Path>, cluster: &str, region: &str) -> Result<Value, PolicyError> {
    let (text, source) = match file {
        Some(file) => (
            std::fs::read_to_string(file).map_err(|e| {
                PolicyError(format!("cannot read the policy {}: {e}", file.display()))
            })?,
            file.display().to_string(),
        ),
        None => (
            irsa_permissions(cluster, region)?,
            "`irsa permissions`".to_string(),
        ),
    };
    let policy: Value = serde_json::from_str(&text)
        .map_err(|e| PolicyError(format!("the policy from {source} is not JSON: {e}")))?;
    let documents = testkit::sandbox::policy_documents(&policy);
    if documents.is_empty()
        || documents
            .iter()
            .any(|d| !d["Statement"].is_array() && !d["Statement"].is_object())
    {
        return Err(PolicyError(format!(
            "the policy from {source} is not an IAM policy document (nor a JSON array of them): it has no Statement"
        )));
    }
    Ok(policy)
}

/// What `irsa permissions --cluster C --region R --account A --output policy` prints, run from
/// the `irsa` binary beside this one.
fn irsa_permissions(cluster: &str, region: &str) -> Result<String, PolicyError> {
    let irsa = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("irsa")))
        .filter(|irsa| irsa.exists())
        .ok_or_else(|| {
            PolicyError(
                "--enforce-iam without --policy runs `irsa permissions`, but there is no irsa binary beside irsa-sandbox: build it (cargo build -p irsa) or pass --policy FILE".into(),
            )
        })?;
    let args = [
        "permissions",
        "--cluster",
        cluster,
        "--region",
        region,
        "--account",
        SANDBOX_ACCOUNT,
        "--output",
        "policy",
    ];
    let output = std::process::Command::new(&irsa)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| PolicyError(format!("cannot run {}: {e}", irsa.display())))?;
    if !output.status.success() {
        return Err(PolicyError(format!(
            "`{} {}` failed ({}); this irsa may have no `permissions` command yet: pass --policy FILE\n{}",
            irsa.display(),
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Puts a latency proxy in front of every distinct AWS endpoint of `vars`; the proxies live as
/// long as the returned vector.
fn delay_aws_endpoints(
    vars: &mut [(String, String)],
    latency: Duration,
) -> std::io::Result<Vec<LatencyProxy>> {
    let mut proxies: BTreeMap<String, LatencyProxy> = BTreeMap::new();
    for (key, value) in vars.iter_mut() {
        if !key.starts_with("AWS_ENDPOINT_URL") {
            continue;
        }
        if !proxies.contains_key(value.as_str()) {
            proxies.insert(value.clone(), LatencyProxy::start(value, latency)?);
        }
        *value = proxies[value.as_str()].endpoint();
    }
    Ok(proxies.into_values().collect())
}

#[tokio::main]
async fn main() -> ExitCode {
    let Args {
        cluster,
        region,
        env_file,
        latency,
        enforce_iam,
        policy,
    } = match parse_args() {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let enforce_iam = if enforce_iam {
        match enforced_policy(policy.as_deref(), &cluster, &region) {
            Ok(policy) => Some(policy),
            Err(PolicyError(message)) => {
                eprintln!("irsa-sandbox: {message}");
                return ExitCode::from(2);
            }
        }
    } else {
        None
    };
    let enforcing = enforce_iam.is_some();
    let kubeconfig = env_file.with_extension("kubeconfig");
    let kubeconfig = std::path::absolute(&kubeconfig).unwrap_or(kubeconfig);
    eprintln!(
        "irsa-sandbox: starting moto (first run installs it into a virtual environment), the fake EKS API (add-ons, Pod Identity), the fake EKS Auth, the fake CloudTrail (STS, LookupEvents) and the fake Kubernetes API…"
    );
    let sandbox = match Sandbox::start(SandboxOptions {
        cluster: cluster.clone(),
        region: region.clone(),
        kubeconfig,
        enforce_iam,
    })
    .await
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("irsa-sandbox: {e}");
            return ExitCode::from(1);
        }
    };
    let mut vars = sandbox.env();
    let _proxies = if latency.is_zero() {
        Vec::new()
    } else {
        match delay_aws_endpoints(&mut vars, latency) {
            Ok(proxies) => proxies,
            Err(e) => {
                eprintln!("irsa-sandbox: cannot start the latency proxies: {e}");
                return ExitCode::from(1);
            }
        }
    };
    if let Err(e) = write_env_file(&env_file, &vars) {
        eprintln!("irsa-sandbox: cannot write {}: {e}", env_file.display());
        return ExitCode::from(1);
    }
    println!(
        "irsa-sandbox: ready: cluster {cluster} in {region}, issuer {}{}",
        sandbox.issuer,
        if latency.is_zero() {
            String::new()
        } else {
            format!(", AWS latency {} ms", latency.as_millis())
        }
    );
    if enforcing {
        println!(
            "irsa-sandbox: IAM enforced: the environment's keys are those of the IAM user {} and its policy alone",
            testkit::sandbox::ENFORCED_USER
        );
    }
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
