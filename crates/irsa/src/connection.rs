//! Connecting to AWS and the cluster: the async runtime, the AWS clients for the right region
//! (the standard credential chain, `AWS_ENDPOINT_URL*` overrides, `IRSA_AWS_MAX_ATTEMPTS` for test
//! servers) and the Kubernetes client from the kubeconfig, and the first look at AWS that the
//! service-account commands share ([`observe_cluster`]: the cluster and the roles with, when asked,
//! their policies, each read once). Without `--cluster` and `-f`, the
//! cluster (and region) come from the kubeconfig's context ([`kubeconfig_cluster`]). Shared by every command that talks to
//! them; only [`observe_cluster`] makes API calls.

use irsa_core::desired::DesiredState;
use irsa_core::snapshot::{ServiceAccount, Snapshot};
use irsa_core::verify;
use irsa_kube::eks_context::{self, EksContext};

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
    let profile = crate::settings::get().profile;
    let config = irsa_aws::load_config_for(region, profile.as_deref()).await;
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

/// The role names the service accounts' annotations and the Pod Identity associations give,
/// sorted, each once.
pub fn linked_role_names(
    sas: &[ServiceAccount],
    associations: &[irsa_core::snapshot::PodIdentityAssociation],
) -> Vec<String> {
    let mut names = annotated_role_names(sas);
    names.extend(
        associations
            .iter()
            .filter_map(|a| verify::role_name_of(&a.role_arn)),
    );
    names.sort();
    names.dedup();
    names
}

/// What [`observe_cluster`] read: the snapshot (with the roles' attached and boundary policies
/// when documents were asked for) and the roles' inline policies' documents.
pub struct Observed {
    pub snapshot: Snapshot,
    pub inline: irsa_aws::roles_read::InlinePolicies,
}

/// Observes AWS for `cluster` (account, cluster, OIDC providers, the named roles and add-ons);
/// the roles, and with `documents` their policies, are read once by
/// [`irsa_aws::observe_roles_bulk`] (the account walk past its threshold). A cluster that does not
/// exist is an error here, since every caller needs its issuer.
pub async fn observe_cluster(
    conn: &Connection,
    cluster: &str,
    role_names: Vec<String>,
    addon_names: Vec<String>,
    documents: bool,
) -> Result<Observed, CliError> {
    let request = irsa_aws::ObserveRequest {
        cluster: cluster.to_string(),
        addon_names,
        ..Default::default()
    };
    let (snapshot, roles) = tokio::join!(
        irsa_aws::observe(&conn.aws, &request),
        irsa_aws::observe_roles_bulk(&conn.aws, &role_names, documents)
    );
    let mut snapshot = snapshot.map_err(failed_while("observing AWS"))?;
    let roles = roles.map_err(failed_while("reading the roles"))?;
    if snapshot.cluster.is_none() {
        return Err(CliError::failed(format!(
            "EKS cluster `{cluster}` was not found in {}",
            conn.region
        )));
    }
    if let irsa_aws::ReadVia::PerRoleWalkDenied(why) = &roles.via {
        say_walk_denied_once(role_names.len(), why);
    }
    snapshot.roles = roles.roles;
    snapshot.policies = roles.policies;
    Ok(Observed {
        snapshot,
        inline: roles.inline,
    })
}

/// Plan and apply's observation of AWS ([`irsa_aws::observe_with_roles_bulk`]: past the walk
/// threshold, the named roles in one account walk), saying once when the walk was refused.
pub async fn observe_aws(
    aws: &irsa_aws::Clients,
    request: &irsa_aws::ObserveRequest,
) -> Result<Snapshot, irsa_aws::AwsError> {
    let (snapshot, via) = irsa_aws::observe_with_roles_bulk(aws, request).await?;
    if let irsa_aws::ReadVia::PerRoleWalkDenied(why) = &via {
        let distinct: std::collections::BTreeSet<&String> = request.role_names.iter().collect();
        say_walk_denied_once(distinct.len(), why);
    }
    Ok(snapshot)
}

/// Tells the user, once per run, that the account walk was refused and roles are read one by one.
fn say_walk_denied_once(roles: usize, why: &str) {
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| {
        eprintln!(
            "irsa: reading {} one by one: the account-wide read was refused ({why}); allow iam:GetAccountAuthorizationDetails for fewer calls",
            crate::style::counted(roles, "role")
        );
    });
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

/// The EKS cluster of the kubeconfig's context (`--context`, else the current one), for a
/// command given neither `--cluster` nor `-f`; announced on stderr for a person (`human`).
pub fn kubeconfig_cluster(args: &ClusterArgs, human: bool) -> Result<EksContext, CliError> {
    const HOW: &str = "name the cluster with --cluster NAME [--region R] or -f FILE, pick an EKS context with --context, or write one with `aws eks update-kubeconfig --name NAME --region R`";
    let config = eks_context::read(args.kubeconfig.as_deref()).map_err(|e| {
        CliError::input(format!(
            "no --cluster, and the kubeconfig could not be read ({e}): {HOW}"
        ))
    })?;
    let found = eks_context::eks_context(&config, args.context.as_deref())
        .map_err(|e| CliError::input(format!("no --cluster, and {e}:\n  {HOW}")))?;
    if human {
        let region = found
            .region
            .as_deref()
            .map(|r| format!(" in {r}"))
            .unwrap_or_default();
        eprintln!(
            "irsa: cluster {}{region}, from kubeconfig context `{}` ({})",
            found.cluster,
            found.context,
            found.found_in.describe()
        );
    }
    Ok(found)
}

/// Connects for a command that names a cluster by flag, spec or kubeconfig; returns the
/// cluster name. `human`: the output is for a person (the kubeconfig's choice is announced).
pub async fn connect(args: &ClusterArgs, human: bool) -> Result<(Connection, String), CliError> {
    let state = spec_state(args)?;
    let from_kubeconfig = match (&args.cluster, &state) {
        (None, None) => Some(kubeconfig_cluster(args, human)?),
        _ => None,
    };
    let cluster = args
        .cluster
        .clone()
        .or_else(|| state.as_ref().map(|s| s.cluster.name.clone()))
        .or_else(|| from_kubeconfig.as_ref().map(|k| k.cluster.clone()))
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
        .or_else(|| from_kubeconfig.and_then(|k| k.region))
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
