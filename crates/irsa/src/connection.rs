//! Connecting to AWS and the cluster: the async runtime, the AWS clients for the right region
//! (the standard credential chain, `AWS_ENDPOINT_URL*` overrides, `IRSA_AWS_MAX_ATTEMPTS` for test
//! servers) and the Kubernetes client from the kubeconfig. Shared by every command that talks to
//! them; none of it makes an API call.

use irsa_core::desired::DesiredState;

use crate::cli::ClusterArgs;
use crate::desired_input::{self, Selectors};
use crate::exit::CliError;

/// The clients of one run.
pub struct Connection {
    pub aws: irsa_aws::Clients,
    pub kube: irsa_kube::KubeClient,
    pub region: String,
}

pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failed(format!("cannot start the async runtime: {e}")))
}

/// The region from the environment (`AWS_REGION`, then `AWS_DEFAULT_REGION`).
pub fn env_region() -> Option<String> {
    std::env::var("AWS_REGION")
        .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        .ok()
        .filter(|r| !r.is_empty())
}

/// Builds the AWS clients for `region` (no API call yet).
pub async fn aws_clients(region: &str) -> Result<irsa_aws::Clients, CliError> {
    let config = irsa_aws::load_config_for_region(region).await;
    let mut options = irsa_aws::Options::default();
    if let Ok(attempts) = std::env::var("IRSA_AWS_MAX_ATTEMPTS") {
        options.max_attempts = attempts.parse().map_err(|_| {
            CliError::input(format!(
                "IRSA_AWS_MAX_ATTEMPTS=`{attempts}` is not a number"
            ))
        })?;
    }
    Ok(irsa_aws::Clients::from_conf(&config, options))
}

/// Builds the clients (no API call yet).
pub async fn clients(
    region: &str,
    kubeconfig: Option<&std::path::Path>,
    context: Option<&str>,
) -> Result<Connection, CliError> {
    let aws = aws_clients(region).await?;
    let kube = irsa_kube::KubeClient::from_kubeconfig(kubeconfig, context)
        .await
        .map_err(|e| CliError::failed(format!("cannot connect to the Kubernetes API: {e}")))?;
    Ok(Connection {
        aws,
        kube,
        region: region.to_string(),
    })
}

/// The spec's desired state when a file is given (validated before any call).
fn spec_state(args: &ClusterArgs) -> Result<Option<DesiredState>, CliError> {
    let Some(file) = &args.file else {
        return Ok(None);
    };
    let region = args.region.clone();
    desired_input::load(&Selectors {
        file: Some(file),
        cluster: args.cluster.as_deref(),
        region: region.as_deref(),
        account: None,
    })
    .map(Some)
}

/// Connects for a command that names a cluster by flag or spec; returns the cluster name.
pub async fn connect(args: &ClusterArgs) -> Result<(Connection, String), CliError> {
    let state = spec_state(args)?;
    let cluster = args
        .cluster
        .clone()
        .or_else(|| state.as_ref().map(|s| s.cluster.name.clone()))
        .ok_or_else(|| CliError::input("give --cluster (or -f FILE naming the cluster)"))?;
    let region = args
        .region
        .clone()
        .or_else(|| {
            state
                .as_ref()
                .map(|s| s.cluster.region.clone())
                .filter(|r| !r.is_empty())
        })
        .or_else(env_region)
        .ok_or_else(|| {
            CliError::input("no region: give --region, cluster.region in the spec, or AWS_REGION")
        })?;
    irsa_core::spec::rules::region(&region)
        .map_err(|e| CliError::input(format!("--region: {e}")))?;
    let conn = clients(&region, args.kubeconfig.as_deref(), args.context.as_deref()).await?;
    Ok((conn, cluster))
}

/// The service accounts of a spec's bindings (including role-only ones created by add-ons).
pub fn spec_service_accounts(args: &ClusterArgs) -> Result<Vec<(String, String)>, CliError> {
    Ok(spec_state(args)?
        .map(|s| {
            s.bindings
                .iter()
                .map(|b| (b.namespace.clone(), b.service_account.clone()))
                .collect()
        })
        .unwrap_or_default())
}
