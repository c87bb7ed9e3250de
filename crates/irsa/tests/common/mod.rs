//! Shared by the end-to-end tests: a sandbox per test (moto, the fake EKS add-on API and the fake
//! Kubernetes API on 127.0.0.1), the real `irsa` binary run against it, and direct steps to plant
//! drift or foreign objects.
#![allow(dead_code)] // each test crate uses a different part

use std::path::PathBuf;
use std::process::{Command, Output};

use aws_sdk_iam::config::{Credentials, SharedCredentialsProvider};
use irsa_core::steps::Step;
use serde_json::Value;
use testkit::sandbox::{Sandbox, SandboxOptions};

pub struct Env {
    pub sandbox: Sandbox,
    pub dir: PathBuf,
    pub runtime: tokio::runtime::Runtime,
}

pub fn start() -> Env {
    start_with(None)
}

/// A sandbox that enforces IAM (`irsa-sandbox --enforce-iam`): irsa runs as a user with `policy`.
pub fn start_enforcing(policy: Value) -> Env {
    start_with(Some(policy))
}

fn start_with(enforce_iam: Option<Value>) -> Env {
    let dir = std::env::temp_dir().join(format!(
        "irsa-e2e-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let options = SandboxOptions {
        cluster: "demo".into(),
        region: "us-east-1".into(),
        kubeconfig: dir.join("kubeconfig"),
        enforce_iam,
    };
    let sandbox = runtime
        .block_on(Sandbox::start(options))
        .expect("sandbox starts");
    Env {
        sandbox,
        dir,
        runtime,
    }
}

impl Env {
    pub fn irsa(&self, args: &[&str]) -> Output {
        self.irsa_with(args, &[])
    }

    /// Runs irsa with the sandbox's environment, `extra` set last (overriding it).
    pub fn irsa_with(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_irsa"));
        cmd.args(args)
            .current_dir(&self.dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &self.dir);
        for (k, v) in self.sandbox.env() {
            cmd.env(k, v);
        }
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.output().expect("irsa runs")
    }

    /// irsa's AWS clients for the sandbox, IAM and STS at `endpoint` (moto, or a proxy before it).
    pub fn clients_at(&self, endpoint: &str) -> irsa_aws::Clients {
        let conf = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "testing", "testing", None, None, "sandbox",
            )))
            .build();
        let options = irsa_aws::Options {
            max_attempts: 1,
            eks_endpoint_url: Some(self.sandbox.eks.endpoint()),
            ..Default::default()
        };
        irsa_aws::Clients::from_conf(&conf, options)
    }

    /// Starts `irsa ARGS` with the sandbox's environment and kills it (SIGKILL) after
    /// `delay_ms`, as a crash or a cancelled CI job would.
    pub fn kill_after(&self, args: &[&str], delay_ms: u64) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_irsa"));
        cmd.args(args)
            .current_dir(&self.dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        for (k, v) in self.sandbox.env() {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("irsa starts");
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Runs one step directly against the sandbox, to plant drift or foreign objects.
    pub fn step(&self, step: Step) {
        let clients = self.clients_at(&self.sandbox.moto.endpoint());
        self.runtime
            .block_on(irsa_aws::execute(&clients, &step, &|_| {}))
            .expect("planted step runs");
    }

    pub fn role(&self, name: &str) -> Option<Value> {
        let out = self.irsa(&["plan", "--cluster", "demo", "--output", "json"]);
        let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
        plan["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["kind"] == "role" && i["name"].as_str().unwrap().ends_with(name))
            .cloned()
    }
}

pub fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
