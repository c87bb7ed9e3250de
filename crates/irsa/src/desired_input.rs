//! From the command line's spec selectors (`-f FILE`, `--cluster`, `--region`, `--account`) to a
//! resolved desired state, with every spec error reported as `file:line:col` before anything
//! else happens. Shared by every command that works from a spec.

use std::path::Path;

use irsa_core::desired::{self, DesiredState, ResolveInput};
use irsa_core::spec::{self, rules};

use crate::cli::ClusterArgs;
use crate::connection;
use crate::exit::{CliError, read_input_file};

/// The spec selectors as given.
pub struct Selectors<'a> {
    pub file: Option<&'a Path>,
    pub cluster: Option<&'a str>,
    pub region: Option<&'a str>,
    pub account: Option<&'a str>,
}

/// Reads and resolves the spec (or the default bundle when no file is given).
pub fn load(selectors: &Selectors<'_>) -> Result<DesiredState, CliError> {
    for (flag, value, check) in [
        (
            "--cluster",
            selectors.cluster,
            rules::cluster_name as fn(&str) -> Result<(), String>,
        ),
        ("--region", selectors.region, rules::region),
        ("--account", selectors.account, rules::account),
    ] {
        if let Some(value) = value {
            check(value).map_err(|e| CliError::input(format!("{flag}: {e}")))?;
        }
    }
    let spec = match selectors.file {
        Some(path) => {
            let text = read_input_file(path)?;
            spec::parse(path, &text).map_err(spec_errors)?
        }
        None => {
            let (Some(cluster), Some(region)) = (selectors.cluster, selectors.region) else {
                return Err(CliError::input(
                    "without -f FILE, give --cluster and --region (the default bundle is rendered for that cluster)",
                ));
            };
            desired::default_spec(cluster, region, selectors.account)
        }
    };
    let input = ResolveInput {
        cluster: selectors.cluster.map(str::to_string),
        region: selectors.region.map(str::to_string),
        account: selectors.account.map(str::to_string),
        partition: None,
    };
    desired::resolve(&spec, &input, &|path| std::fs::read_to_string(path)).map_err(spec_errors)
}

/// The desired state of a command given `-f FILE`, `--cluster`, or neither (then the
/// kubeconfig's cluster and region, announced on stderr when `human`): the spec's region,
/// else `--region`, the context's, `AWS_REGION`.
pub fn for_target(
    target: &ClusterArgs,
    account: Option<&str>,
    human: bool,
) -> Result<DesiredState, CliError> {
    let from_kubeconfig = match (&target.cluster, &target.file) {
        (None, None) => Some(connection::kubeconfig_cluster(target, human)?),
        _ => None,
    };
    let cluster = target
        .cluster
        .clone()
        .or_else(|| from_kubeconfig.as_ref().map(|k| k.cluster.clone()));
    let region = target.region.clone().or(if target.file.is_none() {
        from_kubeconfig
            .and_then(|k| k.region)
            .or_else(connection::env_region)
    } else {
        None
    });
    let mut state = load(&Selectors {
        file: target.file.as_deref(),
        cluster: cluster.as_deref(),
        region: region.as_deref(),
        account,
    })?;
    if state.cluster.region.is_empty() {
        state.cluster.region = connection::env_region().ok_or_else(|| {
            CliError::input("no region: give --region, cluster.region in the spec, or AWS_REGION")
        })?;
    }
    Ok(state)
}

/// Every spec error, one a line.
fn spec_errors(errors: Vec<spec::SpecError>) -> CliError {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let count = if lines.len() == 1 {
        "1 error".to_string()
    } else {
        format!("{} errors", lines.len())
    };
    CliError::input(format!("the spec has {count}:\n  {}", lines.join("\n  ")))
}
