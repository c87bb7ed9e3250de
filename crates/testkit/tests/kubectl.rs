//! The fake Kubernetes API against the real kubectl (Debian's `kubernetes-client`; the path in
//! `IRSA_TEST_KUBECTL`, else what `scripts/kubectl` gets): the commands of the IRSA guide and of
//! a person checking the sandbox by hand — discovery, get in every output format, describe,
//! create namespace, client-side apply and re-apply, annotate and label, delete, logs, wait,
//! rollout restart and status, exec over SPDY and over WebSocket (with a kubectl 1.30 or later:
//! Debian trixie's, `scripts/kubectl --newest`) — each against a fresh fake and a kubeconfig
//! written for it.
//! The outputs asserted are kubectl's own wording for what the real API server answers.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use testkit::fake_kube::{FakeKube, FakeKubeOptions, PODS};
use testkit::sandbox::{Sandbox, SandboxOptions, cluster_arn};

/// What `scripts/kubectl ARGS` gets: the path of one of Debian's kubectl binaries, or why not.
fn script_kubectl(args: &[&str]) -> Result<PathBuf, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/kubectl");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .args(args)
        .output()
        .map_err(|e| format!("running {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} {args:?}: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// The kubectl binary the tests run: `IRSA_TEST_KUBECTL`, else Debian bookworm's
/// kubernetes-client (1.20, which speaks exec over SPDY/3.1 only).
fn kubectl_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        std::env::var_os("IRSA_TEST_KUBECTL")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                script_kubectl(&[]).unwrap_or_else(|why| {
                    panic!("could not get Debian's kubectl (apt-get install kubernetes-client, or set IRSA_TEST_KUBECTL): {why}")
                })
            })
    })
}

/// The client's minor version (`kubectl version --client -o json`), `None` if it does not run.
fn minor_version(kubectl: &Path) -> Option<u32> {
    let out = std::process::Command::new(kubectl)
        .args(["version", "--client", "-o", "json"])
        .output()
        .ok()?;
    let version: Value = serde_json::from_slice(&out.stdout).ok()?;
    version["clientVersion"]["minor"]
        .as_str()?
        .trim_end_matches('+')
        .parse()
        .ok()
}

/// kubectl pointed at one fake through a kubeconfig of its own.
struct Kubectl {
    dir: PathBuf,
    binary: PathBuf,
}

impl Kubectl {
    fn new(kubeconfig: &str) -> Kubectl {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("irsa-kubectl-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("kubeconfig"), kubeconfig).unwrap();
        Kubectl {
            dir,
            binary: kubectl_binary().to_path_buf(),
        }
    }

    /// The same, with another kubectl binary.
    fn with_binary(mut self, binary: PathBuf) -> Kubectl {
        self.binary = binary;
        self
    }

    fn for_fake(fake: &FakeKube) -> Kubectl {
        Kubectl::new(&fake.kubeconfig_yaml())
    }

    /// Writes a manifest into the test's directory; its path.
    fn manifest(&self, name: &str, yaml: &str) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, yaml).unwrap();
        path.display().to_string()
    }

    async fn run(&self, args: &[&str]) -> Output {
        let run = tokio::process::Command::new(&self.binary)
            .args(args)
            .env("KUBECONFIG", self.dir.join("kubeconfig"))
            .env("HOME", &self.dir)
            .output();
        tokio::time::timeout(Duration::from_secs(60), run)
            .await
            .unwrap_or_else(|_| panic!("kubectl {args:?} did not finish in 60 s"))
            .unwrap_or_else(|e| panic!("running {}: {e}", self.binary.display()))
    }

    /// Runs kubectl and returns its stdout; panics with its stderr when it fails.
    async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs kubectl expecting it to fail; its stderr.
    async fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(
            !out.status.success(),
            "kubectl {args:?} succeeded: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    async fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&args).await).expect("kubectl -o json prints JSON")
    }
}

impl Drop for Kubectl {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const ROLE: &str = "arn:aws:iam::123456789012:role/app";

fn service_account_yaml(role: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app\n  namespace: demo\n  annotations:\n    eks.amazonaws.com/role-arn: {role}\n"
    )
}

fn deployment_yaml(image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: demo\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      serviceAccountName: app\n      containers:\n      - name: app\n        image: {image}\n        env:\n        - {{name: MODE, value: demo}}\n      - name: sidecar\n        image: public.ecr.aws/docker/library/busybox:1\n"
    )
}

/// The guide's test pod: the aws CLI's `sts get-caller-identity` as the service account.
const TEST_POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: aws-cli\n  namespace: demo\nspec:\n  serviceAccountName: app\n  restartPolicy: Never\n  containers:\n  - name: aws-cli\n    image: amazon/aws-cli:latest\n    command: [aws, sts, get-caller-identity]\n";

async fn fake_with_demo_namespace() -> (FakeKube, Kubectl) {
    let fake = FakeKube::start_with(FakeKubeOptions {
        run_aws_cli_jobs: false,
        ..FakeKubeOptions::default()
    })
    .await;
    let kubectl = Kubectl::for_fake(&fake);
    assert_eq!(
        kubectl.ok(&["create", "namespace", "demo"]).await,
        "namespace/demo created\n"
    );
    (fake, kubectl)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_maps_short_names_and_lists_subresources() {
    let fake = FakeKube::start().await;
    let kubectl = Kubectl::for_fake(&fake);
    let resources = kubectl.ok(&["api-resources", "--no-headers"]).await;
    let row = |name: &str| -> Vec<String> {
        resources
            .lines()
            .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
            .find(|cols| cols[0] == name)
            .unwrap_or_else(|| panic!("no {name} in\n{resources}"))
    };
    assert_eq!(
        row("serviceaccounts"),
        ["serviceaccounts", "sa", "v1", "true", "ServiceAccount"]
    );
    assert_eq!(
        row("deployments"),
        ["deployments", "deploy", "apps/v1", "true", "Deployment"]
    );
    assert_eq!(
        row("namespaces"),
        ["namespaces", "ns", "v1", "false", "Namespace"]
    );
    // Subresources are not resources of their own.
    assert!(!resources.contains("pods/log"), "{resources}");
    let versions = kubectl.ok(&["api-versions"]).await;
    assert_eq!(versions, "apps/v1\nv1\n");
    let all = kubectl.ok(&["get", "sa", "-A", "--no-headers"]).await;
    let names: Vec<&str> = all
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        names,
        ["default", "kube-node-lease", "kube-public", "kube-system"],
        "{all}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_prints_json_yaml_jsonpath_and_selects_by_label() {
    let (_fake, kubectl) = fake_with_demo_namespace().await;
    let sa = kubectl.manifest("sa.yaml", &service_account_yaml(ROLE));
    kubectl.ok(&["apply", "-f", &sa]).await;
    kubectl
        .ok(&["label", "sa", "app", "-n", "demo", "team=data"])
        .await;

    let one = kubectl
        .json(&["get", "serviceaccount", "app", "-n", "demo"])
        .await;
    assert_eq!(one["kind"], "ServiceAccount");
    assert_eq!(
        one["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        ROLE
    );
    let yaml = kubectl
        .ok(&["get", "sa", "app", "-n", "demo", "-o", "yaml"])
        .await;
    assert!(
        yaml.contains(&format!("eks.amazonaws.com/role-arn: {ROLE}\n")),
        "{yaml}"
    );
    let jsonpath = r#"jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}={.metadata.annotations.eks\.amazonaws\.com/role-arn}{"\n"}{end}"#;
    let annotated = kubectl
        .ok(&["get", "sa", "-A", "-l", "team=data", "-o", jsonpath])
        .await;
    assert_eq!(annotated, format!("demo/app={ROLE}\n"));
    let none = kubectl.ok(&["get", "sa", "-A", "-l", "team=web"]).await;
    assert_eq!(none, "");
    // The API server's own columns (a Table), the namespace added by kubectl for -A.
    let table = kubectl.ok(&["get", "sa", "-A", "-l", "team=data"]).await;
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAMESPACE", "NAME", "SECRETS", "AGE"], "{table}");
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(&row[..3], ["demo", "app", "0"], "{table}");
    let deploy = kubectl.manifest(
        "deploy.yaml",
        &deployment_yaml("public.ecr.aws/docker/library/busybox:1"),
    );
    kubectl.ok(&["apply", "-f", &deploy]).await;
    let wide = kubectl
        .ok(&["get", "deploy", "-n", "demo", "-o", "wide"])
        .await;
    let header: Vec<&str> = wide.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR"
        ],
        "{wide}"
    );
    assert!(
        wide.contains("2/2") && wide.contains("app,sidecar") && wide.contains("app=web"),
        "{wide}"
    );
    let pods = kubectl
        .ok(&["get", "pods", "-n", "demo", "-o", "wide"])
        .await;
    assert!(
        pods.starts_with("NAME") && pods.contains("READINESS GATES") && pods.contains("Running"),
        "{pods}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_the_api_servers_status_objects() {
    let (_fake, kubectl) = fake_with_demo_namespace().await;
    let again = kubectl.fails(&["create", "namespace", "demo"]).await;
    assert_eq!(
        again,
        "Error from server (AlreadyExists): namespaces \"demo\" already exists\n"
    );
    let missing = kubectl.fails(&["get", "sa", "nobody", "-n", "demo"]).await;
    assert_eq!(
        missing,
        "Error from server (NotFound): serviceaccounts \"nobody\" not found\n"
    );
    let bad = kubectl.manifest(
        "bad.yaml",
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: Not_A_Name\n  namespace: demo\n",
    );
    let invalid = kubectl.fails(&["apply", "-f", &bad]).await;
    assert!(invalid.contains("is invalid"), "{invalid}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_creates_then_updates_and_keeps_the_last_applied_configuration() {
    let (_fake, kubectl) = fake_with_demo_namespace().await;
    let sa = kubectl.manifest("sa.yaml", &service_account_yaml(ROLE));
    assert_eq!(
        kubectl.ok(&["apply", "-f", &sa]).await,
        "serviceaccount/app created\n"
    );
    assert_eq!(
        kubectl.ok(&["apply", "-f", &sa]).await,
        "serviceaccount/app unchanged\n"
    );
    // A label set by hand is not in the manifest: re-applying keeps it.
    kubectl
        .ok(&["label", "sa", "app", "-n", "demo", "team=data"])
        .await;
    let other = "arn:aws:iam::123456789012:role/other";
    let sa = kubectl.manifest("sa.yaml", &service_account_yaml(other));
    assert_eq!(
        kubectl.ok(&["apply", "-f", &sa]).await,
        "serviceaccount/app configured\n"
    );
    let applied = kubectl.json(&["get", "sa", "app", "-n", "demo"]).await;
    let annotations = &applied["metadata"]["annotations"];
    assert_eq!(annotations["eks.amazonaws.com/role-arn"], other);
    assert_eq!(applied["metadata"]["labels"]["team"], "data");
    let last: Value = serde_json::from_str(
        annotations["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        last["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        other
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_of_a_deployment_merges_containers_by_name_and_rolls_out() {
    let (fake, kubectl) = fake_with_demo_namespace().await;
    let deploy = kubectl.manifest(
        "deploy.yaml",
        &deployment_yaml("public.ecr.aws/docker/library/busybox:1"),
    );
    assert_eq!(
        kubectl.ok(&["apply", "-f", &deploy]).await,
        "deployment.apps/web created\n"
    );
    let deploy = kubectl.manifest(
        "deploy.yaml",
        &deployment_yaml("public.ecr.aws/docker/library/busybox:2"),
    );
    assert_eq!(
        kubectl.ok(&["apply", "-f", &deploy]).await,
        "deployment.apps/web configured\n"
    );
    let images = kubectl
        .ok(&[
            "get",
            "deploy",
            "web",
            "-n",
            "demo",
            "-o",
            "jsonpath={.spec.template.spec.containers[*].image}",
        ])
        .await;
    assert_eq!(
        images,
        "public.ecr.aws/docker/library/busybox:2 public.ecr.aws/docker/library/busybox:1"
    );
    let env = kubectl
        .ok(&[
            "get",
            "deploy",
            "web",
            "-n",
            "demo",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].env[0].value}",
        ])
        .await;
    assert_eq!(env, "demo");
    let status = kubectl
        .ok(&[
            "rollout",
            "status",
            "deployment/web",
            "-n",
            "demo",
            "--timeout=20s",
        ])
        .await;
    assert_eq!(status, "deployment \"web\" successfully rolled out\n");
    let pods_before = fake.list(&PODS, Some("demo"));
    assert_eq!(pods_before.len(), 2);

    assert_eq!(
        kubectl
            .ok(&["rollout", "restart", "deployment/web", "-n", "demo"])
            .await,
        "deployment.apps/web restarted\n"
    );
    let restarted = kubectl
        .ok(&[
            "get",
            "deploy",
            "web",
            "-n",
            "demo",
            "-o",
            r"jsonpath={.spec.template.metadata.annotations.kubectl\.kubernetes\.io/restartedAt}",
        ])
        .await;
    assert!(restarted.starts_with("20"), "restartedAt {restarted:?}");
    let status = kubectl
        .ok(&[
            "rollout",
            "status",
            "deploy/web",
            "-n",
            "demo",
            "--timeout=20s",
        ])
        .await;
    assert_eq!(status, "deployment \"web\" successfully rolled out\n");
    let pods = kubectl
        .ok(&["get", "pods", "-n", "demo", "-l", "app=web", "-o", "name"])
        .await;
    assert_eq!(pods.lines().count(), 2, "{pods}");
    for old in &pods_before {
        let name = old["metadata"]["name"].as_str().unwrap();
        assert!(!pods.contains(name), "{name} survived the restart: {pods}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn annotate_needs_overwrite_to_change_a_value_and_delete_removes() {
    let (_fake, kubectl) = fake_with_demo_namespace().await;
    kubectl
        .ok(&["create", "serviceaccount", "app", "-n", "demo"])
        .await;
    let annotate = |role: &'static str| ["annotate", "sa", "app", "-n", "demo", role];
    let first = "eks.amazonaws.com/role-arn=arn:aws:iam::123456789012:role/a";
    let second = "eks.amazonaws.com/role-arn=arn:aws:iam::123456789012:role/b";
    assert_eq!(
        kubectl.ok(&annotate(first)).await,
        "serviceaccount/app annotated\n"
    );
    let refused = kubectl.fails(&annotate(second)).await;
    assert!(refused.contains("--overwrite is false"), "{refused}");
    let mut overwrite = annotate(second).to_vec();
    overwrite.push("--overwrite");
    kubectl.ok(&overwrite).await;
    kubectl
        .ok(&["label", "sa", "app", "-n", "demo", "team=a"])
        .await;
    kubectl
        .ok(&["label", "sa", "app", "-n", "demo", "team=b", "--overwrite"])
        .await;
    let sa = kubectl.json(&["get", "sa", "app", "-n", "demo"]).await;
    assert_eq!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        "arn:aws:iam::123456789012:role/b"
    );
    assert_eq!(sa["metadata"]["labels"]["team"], "b");

    assert_eq!(
        kubectl.ok(&["delete", "sa", "app", "-n", "demo"]).await,
        "serviceaccount \"app\" deleted\n"
    );
    let gone = kubectl.fails(&["delete", "sa", "app", "-n", "demo"]).await;
    assert_eq!(
        gone,
        "Error from server (NotFound): serviceaccounts \"app\" not found\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_shows_the_annotation_and_no_events() {
    let (fake, kubectl) = fake_with_demo_namespace().await;
    fake.insert_service_account("demo", "app", &[("eks.amazonaws.com/role-arn", ROLE)]);
    let described = kubectl.ok(&["describe", "sa", "app", "-n", "demo"]).await;
    assert!(
        described.contains("Name:                app\n"),
        "{described}"
    );
    assert!(
        described.contains(&format!("eks.amazonaws.com/role-arn: {ROLE}")),
        "{described}"
    );
    assert!(
        described.contains("Events:              <none>"),
        "{described}"
    );
    fake.insert_pod("demo", "web", "app", &[("MODE", "demo")]);
    let pod = kubectl.ok(&["describe", "pod", "web", "-n", "demo"]).await;
    // What the pod-identity webhook injected, as a person checks it.
    assert!(
        pod.contains(&format!("AWS_ROLE_ARN:                 {ROLE}")),
        "{pod}"
    );
    assert!(
        pod.contains("/var/run/secrets/eks.amazonaws.com/serviceaccount from aws-iam-token (ro)"),
        "{pod}"
    );
    assert!(pod.contains("Events:                      <none>"), "{pod}");
}

/// The guide's "Test IAM Role Assumption", in the sandbox: the test pod runs as the service
/// account, `kubectl wait` sees it finish and `kubectl logs` shows the assumed role.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_pod_prints_the_assumed_role_in_the_sandbox() {
    let dir = std::env::temp_dir().join(format!("irsa-kubectl-sandbox-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sandbox = Sandbox::start(SandboxOptions {
        cluster: "demo".into(),
        region: "us-east-1".into(),
        kubeconfig: dir.join("kubeconfig"),
        enforce_iam: None,
    })
    .await
    .unwrap();
    let kubeconfig = std::fs::read_to_string(dir.join("kubeconfig")).unwrap();
    let kubectl = Kubectl::new(&kubeconfig);
    // Named as `aws eks update-kubeconfig` names it.
    let arn = cluster_arn("us-east-1", "demo");
    assert_eq!(
        kubectl.ok(&["config", "current-context"]).await,
        format!("{arn}\n")
    );
    assert_eq!(
        kubectl
            .ok(&[
                "config",
                "view",
                "-o",
                "jsonpath={.contexts[0].context.cluster}"
            ])
            .await,
        arn
    );

    kubectl.ok(&["create", "namespace", "demo"]).await;
    let sa = kubectl.manifest("sa.yaml", &service_account_yaml(ROLE));
    kubectl.ok(&["apply", "-f", &sa]).await;
    let pod = kubectl.manifest("pod.yaml", TEST_POD);
    assert_eq!(
        kubectl.ok(&["apply", "-f", &pod]).await,
        "pod/aws-cli created\n"
    );
    let waited = kubectl
        .ok(&[
            "wait",
            "--for=condition=Ready=false",
            "pod/aws-cli",
            "-n",
            "demo",
            "--timeout=30s",
        ])
        .await;
    assert_eq!(waited, "pod/aws-cli condition met\n");
    // Ready turns False only when the job has finished (it has no Ready condition while Pending).
    let phase = kubectl
        .ok(&[
            "get",
            "pod",
            "aws-cli",
            "-n",
            "demo",
            "-o",
            "jsonpath={.status.phase}",
        ])
        .await;
    let log = kubectl.ok(&["logs", "aws-cli", "-n", "demo"]).await;
    assert_eq!(phase, "Succeeded", "{log}");
    let printed: Value = serde_json::from_str(&log).expect("the CLI prints JSON");
    assert_eq!(printed["Account"], "123456789012");
    let assumed = printed["Arn"].as_str().unwrap();
    assert!(
        assumed.starts_with("arn:aws:sts::123456789012:assumed-role/app/botocore-session-"),
        "{assumed}"
    );
    let env = kubectl
        .ok(&[
            "get",
            "pod",
            "aws-cli",
            "-n",
            "demo",
            "-o",
            "jsonpath={.spec.containers[0].env[*].name}",
        ])
        .await;
    assert!(
        env.contains("AWS_ROLE_ARN") && env.contains("AWS_WEB_IDENTITY_TOKEN_FILE"),
        "{env}"
    );
    drop(sandbox);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A kubectl that speaks exec over WebSocket (1.30 and later): `IRSA_TEST_KUBECTL_EXEC`, else
/// the newest Debian ships (`scripts/kubectl --newest`: trixie's 1.32), else the `kubectl` on
/// PATH, when it is that recent.
fn websocket_kubectl() -> Option<PathBuf> {
    let candidates = std::env::var_os("IRSA_TEST_KUBECTL_EXEC")
        .map(PathBuf::from)
        .into_iter()
        .chain(script_kubectl(&["--newest"]).ok())
        .chain([PathBuf::from("kubectl")]);
    candidates
        .into_iter()
        .find(|kubectl| minor_version(kubectl).is_some_and(|minor| minor >= 30))
}

/// The real aws CLI: `IRSA_TEST_AWS_CLI`, else `aws` on PATH, else the one `scripts/bench-apply`
/// installs into target/bench-venv; `None` when none runs.
fn aws_cli() -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-venv/bin/aws");
    let candidates = std::env::var_os("IRSA_TEST_AWS_CLI")
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from("aws"), venv]);
    candidates.into_iter().find(|cli| {
        std::process::Command::new(cli)
            .arg("--version")
            .output()
            .is_ok_and(|out| out.status.success())
    })
}

/// The real aws CLI against the sandbox, with no credentials but those in `env` and no user
/// configuration; its stdout, panicking with its stderr when it fails.
async fn aws(
    cli: &Path,
    kubectl: &Kubectl,
    sandbox: &Sandbox,
    args: &[&str],
    env: &[(&str, String)],
) -> String {
    let credentials = [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
    ];
    let mut command = tokio::process::Command::new(cli);
    command.args(args);
    for key in credentials {
        command.env_remove(key);
    }
    for (key, value) in sandbox.env() {
        if !credentials.contains(&key.as_str()) {
            command.env(key, value);
        }
    }
    let out = command
        .env("AWS_CONFIG_FILE", kubectl.dir.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            kubectl.dir.join("no-aws-credentials"),
        )
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "aws {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The guide's role, created with the aws CLI as the sandbox's admin.
async fn create_role(cli: &Path, kubectl: &Kubectl, sandbox: &Sandbox) {
    let trust = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/example"}, "Action": "sts:AssumeRoleWithWebIdentity"}]}"#;
    let admin = [
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
    ];
    let args = [
        "iam",
        "create-role",
        "--role-name",
        "app",
        "--assume-role-policy-document",
        trust,
    ];
    aws(cli, kubectl, sandbox, &args, &admin).await;
}

/// What the real aws CLI prints for `sts get-caller-identity` with the pod's credentials: a
/// token for the service account (TokenRequest through `kubectl create --raw`, audience
/// `sts.amazonaws.com` as the pod-identity webhook projects it) in the web identity variables
/// the webhook injects, against the sandbox's STS.
async fn aws_cli_caller_identity(
    cli: &Path,
    kubectl: &Kubectl,
    sandbox: &Sandbox,
    session: &str,
) -> String {
    let request = kubectl.manifest(
        "token-request.json",
        r#"{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"audiences": ["sts.amazonaws.com"], "expirationSeconds": 86400}}"#,
    );
    let path = "/api/v1/namespaces/demo/serviceaccounts/app/token";
    let issued: Value =
        serde_json::from_str(&kubectl.ok(&["create", "--raw", path, "-f", &request]).await)
            .expect("a TokenRequest");
    let token = kubectl.manifest("token", issued["status"]["token"].as_str().unwrap());
    let env = [
        ("AWS_ROLE_ARN", ROLE.to_string()),
        ("AWS_WEB_IDENTITY_TOKEN_FILE", token),
        ("AWS_ROLE_SESSION_NAME", session.to_string()),
    ];
    aws(cli, kubectl, sandbox, &["sts", "get-caller-identity"], &env).await
}

/// The guide's "Test IAM Role Assumption" with a long-lived pod: `kubectl exec aws-cli -- aws sts
/// get-caller-identity` prints what the real aws CLI prints with the pod's credentials — over
/// SPDY/3.1 with Debian bookworm's kubectl (1.20), and over WebSocket with a kubectl 1.30 or
/// later (Debian trixie's 1.32 that `scripts/kubectl --newest` gets, or one on PATH) — after `kubectl
/// wait` on the pod's Ready condition and, with kubectl 1.23 or later, on a JSONPath.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_runs_get_caller_identity_in_the_pod() {
    let dir = std::env::temp_dir().join(format!("irsa-kubectl-exec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sandbox = Sandbox::start(SandboxOptions {
        cluster: "demo".into(),
        region: "us-east-1".into(),
        kubeconfig: dir.join("kubeconfig"),
        enforce_iam: None,
    })
    .await
    .unwrap();
    let kubeconfig = std::fs::read_to_string(dir.join("kubeconfig")).unwrap();
    let kubectl = Kubectl::new(&kubeconfig);
    let cli = aws_cli();
    if let Some(cli) = &cli {
        // The role exists, as the guide creates it, so STS names it by its role id.
        create_role(cli, &kubectl, &sandbox).await;
    }
    kubectl.ok(&["create", "namespace", "demo"]).await;
    let sa = kubectl.manifest("sa.yaml", &service_account_yaml(ROLE));
    kubectl.ok(&["apply", "-f", &sa]).await;
    // One session name for the pod's call and the CLI's below, new in each run: the CLI caches
    // assumed-role credentials under ~/.aws/cli/cache by role and session name.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let session = &format!("guide-check-{}-{}", now.as_secs(), std::process::id());
    let pod = TEST_POD.replace(
        "command: [aws, sts, get-caller-identity]",
        &format!("command: [sleep, \"3600\"]\n    env: [{{name: AWS_ROLE_SESSION_NAME, value: {session}}}]"),
    );
    let pod = kubectl.manifest("sleeper.yaml", &pod);
    kubectl.ok(&["apply", "-f", &pod]).await;
    wait_until_running(&kubectl).await;

    let exec = [
        "exec",
        "aws-cli",
        "-n",
        "demo",
        "--",
        "aws",
        "sts",
        "get-caller-identity",
    ];
    // kubectl before 1.30 (Debian bookworm's 1.20) speaks SPDY/3.1.
    let spdy = &kubectl;
    let printed = spdy.ok(&exec).await;
    let identity: Value = serde_json::from_str(&printed).expect("the CLI prints JSON");
    assert_eq!(
        identity["Arn"],
        format!("arn:aws:sts::123456789012:assumed-role/app/{session}")
    );
    match &cli {
        Some(cli) => assert_eq!(
            printed,
            aws_cli_caller_identity(cli, &kubectl, &sandbox, session).await
        ),
        None => eprintln!("no aws CLI (IRSA_TEST_AWS_CLI or PATH): its output not compared"),
    }
    another_command_exits_127(spdy).await;

    match websocket_kubectl() {
        Some(modern) => {
            let websocket = Kubectl::new(&kubeconfig).with_binary(modern);
            wait_until_running(&websocket).await;
            assert_eq!(websocket.ok(&exec).await, printed);
            another_command_exits_127(&websocket).await;
        }
        None => eprintln!(
            "no kubectl 1.30 or later (IRSA_TEST_KUBECTL_EXEC, scripts/kubectl or PATH): exec over WebSocket not run"
        ),
    }
    drop(sandbox);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `kubectl wait` until the test pod is Ready, and (kubectl 1.23 and later) until its phase,
/// by JSONPath, is Running.
async fn wait_until_running(kubectl: &Kubectl) {
    let wait = |condition: &'static str| {
        [
            "wait",
            condition,
            "pod/aws-cli",
            "-n",
            "demo",
            "--timeout=20s",
        ]
    };
    let met = "pod/aws-cli condition met\n";
    assert_eq!(kubectl.ok(&wait("--for=condition=Ready")).await, met);
    if minor_version(&kubectl.binary).is_some_and(|minor| minor >= 23) {
        let jsonpath = wait("--for=jsonpath={.status.phase}=Running");
        assert_eq!(kubectl.ok(&jsonpath).await, met);
    } else {
        eprintln!("kubectl before 1.23: wait --for=jsonpath not run");
    }
}

/// Any command but the aws CLI's fails as a missing executable does.
async fn another_command_exits_127(kubectl: &Kubectl) {
    let other = kubectl
        .run(&["exec", "aws-cli", "-n", "demo", "--", "ls"])
        .await;
    assert_eq!(other.status.code(), Some(127));
    assert!(
        String::from_utf8_lossy(&other.stderr).contains("command terminated with exit code 127")
    );
}
