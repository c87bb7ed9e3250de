//! From the command line's spec selectors (`-f FILE`, `--cluster`, `--region`, `--account`) to a
//! resolved desired state, with every spec error reported as `file:line:col` before anything
//! else happens. Shared by every command that works from a spec.

use std::path::Path;

use irsa_core::desired::{self, DesiredState, ResolveInput};
use irsa_core::spec::{self, rules};

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
