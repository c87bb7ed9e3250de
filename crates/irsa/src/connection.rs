//! Connecting to AWS and the cluster: the async runtime, the AWS clients for the right region
//! (the standard credential chain, `AWS_ENDPOINT_URL*` overrides, `IRSA_AWS_MAX_ATTEMPTS` for test
//! servers) and the Kubernetes client from the kubeconfig, and the first look at AWS that the
//! service-account commands share ([`observe_cluster`]). Shared by every command that talks to
//! them; only [`observe_cluster`] makes API calls.

use irsa_core::desired::DesiredState;
use irsa_core::snapshot::{ServiceAccount, Snapshot};
use irsa_core::verify;

use crate::cli::ClusterArgs;
use crate::desired_input::{self, Selectors};
use crate::exit::{CliError, failed_while};

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

/// Builds the AWS clients alone (no API call yet).
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

/// The role names the service accounts' `eks.amazonaws.com/role-arn` annotations give.
pub fn annotated_role_names(sas: &[ServiceAccount]) -> Vec<String> {
    sas.iter()
        .filter_map(|sa| verify::annotated_role(sa).and_then(verify::role_name_of))
        .collect()
}

/// Observes AWS for `cluster` (account, cluster, OIDC providers, the named roles and add-ons); a
/// cluster that does not exist is an error here, since every caller needs its issuer.
pub async fn observe_cluster(
    conn: &Connection,
    cluster: &str,
    role_names: Vec<String>,
    addon_names: Vec<String>,
) -> Result<Snapshot, CliError> {
    let request = irsa_aws::ObserveRequest {
        cluster: cluster.to_string(),
        role_names,
        addon_names,
        ..Default::default()
    };
    let snapshot = irsa_aws::observe(&conn.aws, &request)
        .await
        .map_err(failed_while("observing AWS"))?;
    if snapshot.cluster.is_none() {
        return Err(CliError::failed(format!(
            "EKS cluster `{cluster}` was not found in {}",
            conn.region
        )));
    }
    Ok(snapshot)
}

/// The spec's desired state when a file is given (validated before any call).
pub fn spec_state(args: &ClusterArgs) -> Result<Option<DesiredState>, CliError> {
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
