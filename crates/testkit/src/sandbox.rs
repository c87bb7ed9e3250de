//! The local sandbox: moto (IAM, STS, Auto Scaling, EKS clusters), the FAKE EKS API (add-ons,
//! Pod Identity associations, the add-on catalog), the FAKE EKS Auth, the FAKE CloudTrail event
//! history in front of STS, and the FAKE Kubernetes API, all on 127.0.0.1, with one EKS cluster
//! created in moto (and an Auto Scaling group for its nodes, tagged for the Cluster Autoscaler's
//! auto-discovery). Add-ons that become ACTIVE install their objects in the fake cluster (the
//! CSI drivers' service account and controller, the Pod Identity agent's DaemonSet). STS goes
//! through the fake CloudTrail, which records every AssumeRoleWithWebIdentity and serves them to
//! LookupEvents beside the fake EKS Auth's AssumeRoleForPodIdentity and its STS AssumeRole. The
//! fake Kubernetes API issues service-account tokens as that cluster's OIDC issuer, injects
//! IRSA's web identity and Pod Identity's container credentials into new pods, and runs aws-cli
//! test pods against that same STS endpoint (through the simulated agent and EKS Auth for Pod
//! Identity). Used by the `irsa-sandbox` binary, by the README's demo and by the end-to-end
//! tests.
//!
//! The kubeconfig is shaped like the one `aws eks update-kubeconfig` writes: its cluster, user
//! and current context are all named after the cluster's ARN
//! (`arn:aws:eks:<region>:<account>:cluster/<name>`), so irsa and kubectl find the cluster
//! from it as they would on a real one; the fake API needs no credentials, so the user has none.
//!
//! With [`SandboxOptions::enforce_iam`] (`irsa-sandbox --enforce-iam`) moto enforces IAM (see
//! [`crate::moto`]) and the fakes check the same caller ([`crate::enforce`]); the sandbox creates
//! the IAM user [`ENFORCED_USER`] with the given policy, and [`Sandbox::env`] carries its keys.
//!
//! [`Sandbox::env`] gives the standard variables (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_EKS`,
//! `AWS_ENDPOINT_URL_EKS_AUTH`, `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL_CLOUDTRAIL`, static test
//! credentials, `AWS_REGION`, `KUBECONFIG`) so that irsa, the aws CLI and boto3 all reach it;
//! nothing in it can reach beyond loopback.
//!
//! Handles for tests: [`Sandbox::eks`] (add-on hooks such as [`FakeEks::fail_addon`], e.g. to
//! make `eks-pod-identity-agent` fail) and [`Sandbox::associations`] (the Pod Identity
//! associations, to plant one of another owner or one owned by an add-on), [`Sandbox::eks_auth`],
//! [`Sandbox::cloudtrail`] (the recorded events) and [`Sandbox::kube`].

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde_json::Value;

use crate::addon_objects;
use crate::enforce::{Enforcer, POD_IDENTITY_AGENT_ACCESS_KEY, SANDBOX_ACCESS_KEY};
use crate::fake_cloudtrail::FakeCloudTrail;
use crate::fake_eks::{AddonHook, Associations, FakeEks, FakeEksOptions};
use crate::fake_eks_auth::{FakeEksAuth, FakeEksAuthOptions};
use crate::fake_kube::{
    FakeKube, FakeKubeHandle, FakeKubeOptions, PodIdentityOptions, TokenIssuer,
};
use crate::moto::{MotoError, MotoServer};
use crate::seed;

/// What to create.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    pub cluster: String,
    pub region: String,
    /// Where the kubeconfig is written.
    pub kubeconfig: PathBuf,
    /// `--enforce-iam`: the policy of the IAM user whose keys [`Sandbox::env`] hands out, one
    /// document or a JSON array of them (as `irsa permissions --output policy` prints a policy
    /// over IAM's quota), each attached as a managed policy; moto and the fakes then check every
    /// request against them (see [`crate::enforce`]).
    /// `None`: nothing is checked and [`Sandbox::env`] has the static test keys.
    pub enforce_iam: Option<Value>,
}

/// The IAM user `--enforce-iam` creates.
pub const ENFORCED_USER: &str = "irsa-sandbox-caller";

/// Why the sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(transparent)]
    Moto(#[from] MotoError),
    #[error("cannot start the fake EKS add-on API: {0}")]
    FakeEks(std::io::Error),
    #[error("cannot start the fake EKS Auth API: {0}")]
    FakeEksAuth(std::io::Error),
    #[error("cannot start the fake CloudTrail event history: {0}")]
    FakeCloudTrail(std::io::Error),
    #[error("cannot start the fake Kubernetes API: {0}")]
    FakeKube(std::io::Error),
    #[error("cannot write the kubeconfig {path}: {source}")]
    Kubeconfig {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create EKS cluster `{cluster}` in moto: {message}")]
    Cluster { cluster: String, message: String },
    #[error(
        "cannot create the IAM user {ENFORCED_USER} for --enforce-iam in moto (is the policy a valid IAM policy document?): {0}"
    )]
    Caller(String),
}

/// The running sandbox; everything stops when it is dropped.
pub struct Sandbox {
    pub moto: MotoServer,
    pub eks: FakeEks,
    /// AssumeRoleForPodIdentity, at `AWS_ENDPOINT_URL_EKS_AUTH`.
    pub eks_auth: FakeEksAuth,
    /// STS (forwarded to moto) and CloudTrail LookupEvents over the recorded STS calls.
    pub cloudtrail: FakeCloudTrail,
    pub kube: FakeKube,
    pub options: SandboxOptions,
    /// The cluster's OIDC issuer as moto reports it.
    pub issuer: String,
    /// Under `--enforce-iam`: the user whose keys [`Sandbox::env`] hands out.
    pub caller: Option<seed::Caller>,
    /// Under `--enforce-iam`: the fakes' table of callers (tests may add principals that only
    /// the fakes know).
    pub enforcer: Option<Enforcer>,
    /// How many times [`Sandbox::set_enforced_policy`] replaced the policy.
    policy_generation: u32,
}

/// The account moto uses by default.
pub const SANDBOX_ACCOUNT: &str = "123456789012";

/// The cluster's ARN, which `aws eks update-kubeconfig` names the kubeconfig's cluster, user and
/// context after (and so does the sandbox's kubeconfig).
pub fn cluster_arn(region: &str, cluster: &str) -> String {
    format!("arn:aws:eks:{region}:{SANDBOX_ACCOUNT}:cluster/{cluster}")
}

impl Sandbox {
    pub async fn start(options: SandboxOptions) -> Result<Sandbox, SandboxError> {
        let enforce = options.enforce_iam.is_some();
        let moto = tokio::task::spawn_blocking(move || {
            if enforce {
                MotoServer::start_enforcing_iam()
            } else {
                MotoServer::start()
            }
        })
        .await
        .map_err(|e| SandboxError::Cluster {
            cluster: options.cluster.clone(),
            message: e.to_string(),
        })??;
        // The add-ons' Kubernetes objects appear in the fake cluster once it runs.
        let cluster_handle: Arc<OnceLock<FakeKubeHandle>> = Arc::default();
        let hook_handle = cluster_handle.clone();
        let eks = FakeEks::start_with(
            &moto.endpoint(),
            FakeEksOptions {
                on_change: Some(AddonHook(Arc::new(move |change| {
                    if let Some(kube) = hook_handle.get() {
                        addon_objects::apply(kube, change);
                    }
                }))),
                ..FakeEksOptions::default()
            },
        )
        .map_err(SandboxError::FakeEks)?;
        seed::create_node_group(&moto.endpoint(), &options.cluster, &options.region)
            .await
            .map_err(|message| SandboxError::Cluster {
                cluster: options.cluster.clone(),
                message,
            })?;
        let cloudtrail = FakeCloudTrail::start(&moto.endpoint(), &options.region)
            .map_err(SandboxError::FakeCloudTrail)?;
        // The cluster first: its issuer is the fake Kubernetes API's token issuer.
        let issuer = seed::create_cluster(&moto.endpoint(), &options.cluster, &options.region)
            .await
            .map_err(|message| SandboxError::Cluster {
                cluster: options.cluster.clone(),
                message,
            })?;
        // EKS Auth verifies tokens against the issuer's published key, as EKS does.
        let eks_auth = FakeEksAuth::start(
            &moto.endpoint(),
            FakeEksAuthOptions {
                region: options.region.clone(),
                associations: eks.associations(),
                verifier: Arc::new(TokenIssuer::new(issuer.clone())),
                events: Some(cloudtrail.event_log()),
            },
        )
        .map_err(SandboxError::FakeEksAuth)?;
        let kube = FakeKube::try_start_with(FakeKubeOptions {
            issuer: issuer.clone(),
            sts_endpoint: Some(cloudtrail.endpoint()),
            pod_identity: Some(PodIdentityOptions {
                cluster: options.cluster.clone(),
                associations: eks.associations(),
                eks_auth_endpoint: Some(eks_auth.endpoint()),
            }),
            ..FakeKubeOptions::default()
        })
        .await
        .map_err(SandboxError::FakeKube)?;
        let _ = cluster_handle.set(kube.handle());
        std::fs::write(
            &options.kubeconfig,
            kube.kubeconfig_yaml_named(&cluster_arn(&options.region, &options.cluster)),
        )
        .map_err(|source| SandboxError::Kubeconfig {
            path: options.kubeconfig.clone(),
            source,
        })?;
        let mut sandbox = Sandbox {
            moto,
            eks,
            eks_auth,
            cloudtrail,
            kube,
            options,
            issuer,
            caller: None,
            enforcer: None,
            policy_generation: 0,
        };
        if let Some(policy) = sandbox.options.enforce_iam.clone() {
            let (caller, enforcer) = sandbox.enforce(&policy).await?;
            sandbox.caller = Some(caller);
            sandbox.enforcer = Some(enforcer);
        }
        Ok(sandbox)
    }

    /// Creates the enforced user with `policy` in moto (which already checks every other key)
    /// and has the fakes check the same user.
    async fn enforce(&self, policy: &Value) -> Result<(seed::Caller, Enforcer), SandboxError> {
        let moto = self.moto.endpoint();
        let mut caller = seed::create_caller(&moto, ENFORCED_USER)
            .await
            .map_err(SandboxError::Caller)?;
        let documents = policy_documents(policy);
        seed::set_caller_policies(&moto, &mut caller, ENFORCED_USER, 0, &documents)
            .await
            .map_err(SandboxError::Caller)?;
        let enforcer = Enforcer::new();
        // The simulated Pod Identity agent stands for the node role, which EKS grants
        // eks-auth:AssumeRoleForPodIdentity (AmazonEKSWorkerNodePolicy).
        enforcer.trust(POD_IDENTITY_AGENT_ACCESS_KEY);
        enforcer.add_principal(&caller.access_key_id, &caller.arn, documents);
        self.eks.enforce(enforcer.clone());
        self.eks_auth.enforce(enforcer.clone());
        self.cloudtrail.enforce(enforcer.clone());
        Ok((caller, enforcer))
    }

    /// Under `--enforce-iam`, gives the enforced user `policy` (as in
    /// [`SandboxOptions::enforce_iam`]) instead of the one it has, in moto and in the fakes alike
    /// (so that one sandbox serves several policies).
    pub async fn set_enforced_policy(&mut self, policy: &Value) -> Result<(), SandboxError> {
        let (Some(caller), Some(enforcer)) = (self.caller.as_mut(), self.enforcer.as_ref()) else {
            return Err(SandboxError::Caller(
                "the sandbox was started without enforce_iam".into(),
            ));
        };
        self.policy_generation += 1;
        let documents = policy_documents(policy);
        seed::set_caller_policies(
            &self.moto.endpoint(),
            caller,
            ENFORCED_USER,
            self.policy_generation,
            &documents,
        )
        .await
        .map_err(SandboxError::Caller)?;
        enforcer.add_principal(&caller.access_key_id, &caller.arn, documents);
        Ok(())
    }

    /// The Pod Identity associations of the fake EKS (see [`Associations`]).
    pub fn associations(&self) -> Associations {
        self.eks.associations()
    }

    /// The ARN of the sandbox's cluster.
    pub fn cluster_arn(&self) -> String {
        format!(
            "arn:aws:eks:{}:{SANDBOX_ACCOUNT}:cluster/{}",
            self.options.region, self.options.cluster
        )
    }

    /// Plants a Pod Identity association in the cluster (see [`Associations::plant`]).
    pub fn plant_association(
        &self,
        namespace: &str,
        service_account: &str,
        role_arn: &str,
        tags: &[(&str, &str)],
        owner_arn: Option<&str>,
    ) -> crate::fake_eks::Association {
        self.associations().plant(
            &self.cluster_arn(),
            namespace,
            service_account,
            role_arn,
            tags,
            owner_arn,
        )
    }

    /// The environment that points AWS tools and kubectl-style clients at the sandbox, with the
    /// enforced user's keys under `--enforce-iam` (else the static test keys).
    pub fn env(&self) -> Vec<(String, String)> {
        match &self.caller {
            Some(caller) => self.env_signed_by(&caller.access_key_id, &caller.secret_access_key),
            None => self.sandbox_env(),
        }
    }

    /// [`Sandbox::env`] with the sandbox's own key, never checked: for tests that plant state
    /// around an enforced run. Not for the env file.
    pub fn sandbox_env(&self) -> Vec<(String, String)> {
        self.env_signed_by(SANDBOX_ACCESS_KEY, "testing")
    }

    fn env_signed_by(&self, access_key_id: &str, secret: &str) -> Vec<(String, String)> {
        let moto = self.moto.endpoint();
        let mut vars: Vec<(String, String)> = vec![
            ("AWS_ENDPOINT_URL".into(), moto.clone()),
            ("AWS_ENDPOINT_URL_EKS".into(), self.eks.endpoint()),
            ("AWS_ENDPOINT_URL_EKS_AUTH".into(), self.eks_auth.endpoint()),
            ("AWS_ACCESS_KEY_ID".into(), access_key_id.into()),
            ("AWS_SECRET_ACCESS_KEY".into(), secret.into()),
            ("AWS_REGION".into(), self.options.region.clone()),
            ("AWS_DEFAULT_REGION".into(), self.options.region.clone()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            (
                "KUBECONFIG".into(),
                self.options.kubeconfig.display().to_string(),
            ),
            // moto answers calls it does not implement with HTTP 500: do not retry them.
            ("IRSA_AWS_MAX_ATTEMPTS".into(), "1".into()),
            // The cluster's issuer URL names AWS but nothing here serves it: irsa must not try.
            ("IRSA_OFFLINE_ISSUER".into(), "1".into()),
        ];
        vars.push(("AWS_ENDPOINT_URL_IAM".into(), moto));
        for service in ["STS", "CLOUDTRAIL"] {
            vars.push((
                format!("AWS_ENDPOINT_URL_{service}"),
                self.cloudtrail.endpoint(),
            ));
        }
        vars
    }
}

/// The documents of a policy given as one document or a JSON array of them.
pub fn policy_documents(policy: &Value) -> Vec<Value> {
    match policy {
        Value::Array(documents) => documents.clone(),
        document => vec![document.clone()],
    }
}

/// Writes environment variables (e.g. [`Sandbox::env`]) as `KEY=VALUE` lines, readable by the
/// owner only (under `--enforce-iam` they hold a user's secret key).
pub fn write_env_file(path: &Path, vars: &[(String, String)]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let text: String = vars.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::fake_kube::PODS;
    use serde_json::json;

    #[tokio::test]
    async fn the_fake_kube_issues_as_the_cluster_and_runs_aws_cli_pods_against_the_recorded_sts() {
        let dir = std::env::temp_dir().join(format!("irsa-sandbox-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sandbox = Sandbox::start(SandboxOptions {
            cluster: "demo".into(),
            region: "us-west-2".into(),
            kubeconfig: dir.join("kubeconfig"),
            enforce_iam: None,
        })
        .await
        .unwrap();
        assert!(
            sandbox.issuer.starts_with("https://oidc.eks."),
            "{}",
            sandbox.issuer
        );
        assert_eq!(sandbox.kube.issuer(), sandbox.issuer);
        assert_eq!(
            sandbox.kube.options().sts_endpoint.as_deref(),
            Some(sandbox.cloudtrail.endpoint().as_str())
        );
        let role = format!("arn:aws:iam::{SANDBOX_ACCOUNT}:role/demo-role");
        sandbox.kube.insert_service_account(
            "default",
            "app",
            &[("eks.amazonaws.com/role-arn", role.as_str())],
        );
        sandbox
            .kube
            .create(
                &PODS,
                Some("default"),
                json!({"metadata": {"name": "check"}, "spec": {"serviceAccountName": "app", "restartPolicy": "Never",
                    "containers": [{"name": "aws", "image": "amazon/aws-cli", "args": ["sts", "get-caller-identity"]}]}}),
            )
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let pod = loop {
            let pod = sandbox.kube.get(&PODS, Some("default"), "check").unwrap();
            if matches!(
                pod["status"]["phase"].as_str(),
                Some("Succeeded" | "Failed")
            ) {
                break pod;
            }
            assert!(Instant::now() < deadline, "{pod}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let log = sandbox.kube.pod_log("default", "check").unwrap();
        assert_eq!(pod["status"]["phase"], "Succeeded", "{log}");
        assert!(
            log.contains(&format!(
                "\"Arn\": \"arn:aws:sts::{SANDBOX_ACCOUNT}:assumed-role/demo-role/botocore-session-"
            )),
            "{log}"
        );
        // The pod's AssumeRoleWithWebIdentity went through the fake CloudTrail.
        let events = sandbox.cloudtrail.events();
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(
            events[0]["userIdentity"]["userName"],
            "system:serviceaccount:default:app"
        );
        assert_eq!(events[0]["requestParameters"]["roleArn"], role.as_str());
        drop(sandbox);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Waits for the pod to end; its phase and log.
    async fn finished(sandbox: &Sandbox, name: &str) -> (String, String) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let pod = sandbox.kube.get(&PODS, Some("default"), name).unwrap();
            if let Some(phase @ ("Succeeded" | "Failed")) = pod["status"]["phase"].as_str() {
                return (
                    phase.to_string(),
                    sandbox.kube.pod_log("default", name).unwrap_or_default(),
                );
            }
            assert!(Instant::now() < deadline, "{pod}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn aws_cli_pod(sandbox: &Sandbox, name: &str, service_account: &str) -> Value {
        sandbox
            .kube
            .create(
                &PODS,
                Some("default"),
                json!({"metadata": {"name": name}, "spec": {"serviceAccountName": service_account, "restartPolicy": "Never",
                    "containers": [{"name": "aws", "image": "amazon/aws-cli", "args": ["sts", "get-caller-identity"]}]}}),
            )
            .unwrap()
    }

    #[tokio::test]
    async fn an_aws_cli_pod_gets_its_role_through_pod_identity() {
        let dir = std::env::temp_dir().join(format!("irsa-sandbox-pi-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sandbox = Sandbox::start(SandboxOptions {
            cluster: "demo".into(),
            region: "us-west-2".into(),
            kubeconfig: dir.join("kubeconfig"),
            enforce_iam: None,
        })
        .await
        .unwrap();
        let env: Vec<(String, String)> = sandbox.env();
        assert!(env.iter().any(|(k, v)| k == "AWS_ENDPOINT_URL_EKS_AUTH" && *v == sandbox.eks_auth.endpoint()));
        // With boto3, as a user would: the role, the agent add-on (waited for), the associations.
        let seeded = tokio::task::spawn_blocking(move || crate::boto3::run(r#"
import time
iam = boto3.client("iam")
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}]}
iam.create_role(RoleName="pi-role", AssumeRolePolicyDocument=json.dumps(trust))
eks = boto3.client("eks")
eks.create_addon(clusterName="demo", addonName="eks-pod-identity-agent")
while eks.describe_addon(clusterName="demo", addonName="eks-pod-identity-agent")["addon"]["status"] != "ACTIVE":
    time.sleep(0.05)
ids = [eks.create_pod_identity_association(clusterName="demo", namespace="default", serviceAccount=sa, roleArn="arn:aws:iam::123456789012:role/pi-role")["association"]["associationId"] for sa in ["app", "both"]]
print(json.dumps(ids))
"#, &env)).await.unwrap();
        assert_eq!(seeded.as_array().unwrap().len(), 2, "{seeded}");
        let agent = sandbox
            .kube
            .get(
                &crate::fake_kube::DAEMON_SETS,
                Some("kube-system"),
                "eks-pod-identity-agent",
            )
            .unwrap();
        assert_eq!(
            agent["status"]["numberReady"],
            agent["status"]["desiredNumberScheduled"]
        );

        sandbox.kube.insert_service_account("default", "app", &[]);
        let pod = aws_cli_pod(&sandbox, "check", "app");
        let env = &pod["spec"]["containers"][0]["env"];
        assert_eq!(
            env[0],
            json!({"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": "http://169.254.170.23/v1/credentials"})
        );
        let (phase, log) = finished(&sandbox, "check").await;
        assert_eq!(phase, "Succeeded", "{log}");
        assert!(
            log.contains(&format!(
                "\"Arn\": \"arn:aws:sts::{SANDBOX_ACCOUNT}:assumed-role/pi-role/eks-demo-check-"
            )),
            "{log}"
        );
        // CloudTrail has both calls; the STS one carries the pod's session tags.
        let events = sandbox.cloudtrail.events();
        assert!(
            events
                .iter()
                .any(|e| e["eventName"] == "AssumeRoleForPodIdentity"
                    && e["eventSource"] == "eks-auth.amazonaws.com")
        );
        let assume = events
            .iter()
            .find(|e| e["eventName"] == "AssumeRole")
            .expect("the STS AssumeRole");
        let tags = assume["requestParameters"]["tags"].as_array().unwrap();
        assert!(
            tags.contains(&json!({"key": "kubernetes-pod-name", "value": "check"})),
            "{assume}"
        );
        assert!(tags.contains(&json!({"key": "eks-cluster-arn", "value": format!("arn:aws:eks:us-west-2:{SANDBOX_ACCOUNT}:cluster/demo")})), "{assume}");

        // Both an IRSA annotation and an association: both injected; the CLI finds web identity first.
        let irsa_role = format!("arn:aws:iam::{SANDBOX_ACCOUNT}:role/irsa-role");
        sandbox.kube.insert_service_account(
            "default",
            "both",
            &[("eks.amazonaws.com/role-arn", irsa_role.as_str())],
        );
        let pod = aws_cli_pod(&sandbox, "both", "both");
        let names: Vec<&str> = pod["spec"]["containers"][0]["env"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["name"].as_str())
            .collect();
        assert_eq!(
            names,
            [
                "AWS_ROLE_ARN",
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
            ]
        );
        let (_, log) = finished(&sandbox, "both").await;
        assert!(
            log.contains("assumed-role/irsa-role/botocore-session-"),
            "{log}"
        );

        // EKS Auth's refusal (another owner's association naming a role that is gone) comes back
        // through the agent.
        sandbox.plant_association(
            "default",
            "denied",
            &format!("arn:aws:iam::{SANDBOX_ACCOUNT}:role/no-such-role"),
            &[("owner", "someone-else")],
            None,
        );
        sandbox
            .kube
            .insert_service_account("default", "denied", &[]);
        aws_cli_pod(&sandbox, "denied", "denied");
        let (phase, log) = finished(&sandbox, "denied").await;
        assert_eq!(phase, "Failed");
        assert!(
            log.contains("Received non 200 response (400) from container metadata")
                && log.contains("AccessDeniedException"),
            "{log}"
        );

        // Without the agent the container credentials endpoint does not answer.
        sandbox
            .kube
            .with_store(|s| {
                s.delete(
                    &crate::fake_kube::DAEMON_SETS,
                    Some("kube-system"),
                    "eks-pod-identity-agent",
                )
            })
            .unwrap();
        aws_cli_pod(&sandbox, "no-agent", "app");
        let (phase, log) = finished(&sandbox, "no-agent").await;
        assert_eq!(phase, "Failed");
        assert!(
            log.contains("Error when retrieving credentials from container-role")
                && log.contains("http://169.254.170.23/v1/credentials"),
            "{log}"
        );
        drop(sandbox);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
