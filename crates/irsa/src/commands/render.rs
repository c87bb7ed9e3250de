//! `irsa render`: writes, per binding, the permission and trust policies, the ServiceAccount
//! manifest and the install inputs (Helm values, EKS add-on input) into a directory, offline.

use std::path::Path;

use irsa_core::render::{self, RenderTarget, RenderedFile};
use serde_json::json;

use crate::cli::RenderArgs;
use crate::desired_input::{self, Selectors};
use crate::exit::{CliError, Code};
use crate::output::{Format, print_json};
use crate::style::counted;

pub fn run(args: RenderArgs) -> Result<Code, CliError> {
    let state = desired_input::load(&Selectors {
        file: args.file.as_deref(),
        cluster: args.cluster.as_deref(),
        region: args.region.as_deref(),
        account: args.account.as_deref(),
    })?;
    let account = args
        .account
        .clone()
        .or_else(|| state.cluster.account.clone())
        .ok_or_else(|| {
            CliError::input("--account is required (or set cluster.account in the spec)")
        })?;
    let files = render::render(
        &state,
        &RenderTarget {
            account,
            issuer_url: args.issuer.clone(),
        },
    )
    .map_err(|e| match e {
        render::RenderError::Account(m) => CliError::input(format!("--account: {m}")),
        render::RenderError::NoIssuer(_) => CliError::input(format!("{e}: pass it as --issuer")),
        other => CliError::input(other.to_string()),
    })?;
    write_all(&args.out, &files)?;
    match args.output {
        Format::Json => print_json(&json!({
            "out": args.out,
            "files": files.iter().map(|f| f.path.display().to_string()).collect::<Vec<_>>(),
        })),
        Format::Text => {
            println!(
                "Rendered {} for cluster {} into {}:",
                counted(state.bindings.len(), "binding"),
                state.cluster.name,
                args.out.display()
            );
            for f in &files {
                println!("  {}", f.path.display());
            }
        }
    }
    Ok(Code::Ok)
}

/// Writes every file under `out`, creating directories; paths are relative and come from the
/// renderer, never from user input.
fn write_all(out: &Path, files: &[RenderedFile]) -> Result<(), CliError> {
    for file in files {
        let path = out.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| CliError::input(format!("cannot create {}: {e}", parent.display())))?;
        }
        std::fs::write(&path, &file.contents)
            .map_err(|e| CliError::input(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(())
}
