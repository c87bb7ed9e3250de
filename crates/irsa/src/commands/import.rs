//! `irsa import [--cluster C] [--namespace NS] [--identity irsa|pod-identity|all] [-o FILE]`:
//! observes what links service accounts to roles in a cluster and writes an irsa.yaml saying
//! it (the model and the text are `irsa_core::import`'s). One read per thing: the annotated
//! service accounts (one list), the cluster's EKS Pod Identity associations, the add-ons
//! presets install, and each linked role once with its attached and inline policies' documents
//! (the account walk past [`irsa_aws::roles_read::WALK_THRESHOLD`] roles).

use std::io::Write as _;
use std::path::Path;

use irsa_core::import::{self, IdentityFilter, ImportInput, Imported, InlinePolicies};
use irsa_core::snapshot::Snapshot;

use crate::cli::{ImportArgs, ImportIdentity};
use crate::connection::{self, Connection};
use crate::exit::{CliError, Code, failed_while};

pub fn run(args: ImportArgs) -> Result<Code, CliError> {
    if let Some(ns) = &args.namespace {
        irsa_core::spec::rules::namespace(ns)
            .map_err(|e| CliError::input(format!("--namespace: {e}")))?;
    }
    if let Some(out) = &args.out {
        refuse_overwrite(out, args.force)?;
    }
    connection::runtime()?.block_on(async {
        let (conn, cluster) = connection::connect(&args.cluster.cluster_args(), true).await?;
        let observed_at = irsa_core::usage::format_time(now());
        let (snapshot, inline) = observe(&conn, &cluster, args.namespace.as_deref()).await?;
        let imported = import::import(
            &snapshot,
            &inline,
            &ImportInput {
                namespace: args.namespace.as_deref(),
                identity: filter(args.identity),
                observed_at,
            },
        );
        if imported.bindings.is_empty() {
            return Err(nothing_found(&imported, &cluster));
        }
        let text = import::yaml::write(&imported);
        match &args.out {
            Some(path) => std::fs::write(path, &text).map_err(|e| {
                CliError::failed(format!(
                    "cannot write {}: {e}; check the directory exists and is writable",
                    path.display()
                ))
            })?,
            None => std::io::stdout()
                .write_all(text.as_bytes())
                .map_err(|e| CliError::failed(format!("cannot write to stdout: {e}")))?,
        }
        eprintln!("{}", summary(&imported, args.out.as_deref()));
        Ok(Code::Ok)
    })
}

fn refuse_overwrite(out: &Path, force: bool) -> Result<(), CliError> {
    if out.exists() && !force {
        return Err(CliError::input(format!(
            "{} exists; irsa import does not overwrite it: pass --force, or choose another -o FILE",
            out.display()
        )));
    }
    Ok(())
}

fn filter(identity: ImportIdentity) -> IdentityFilter {
    match identity {
        ImportIdentity::Irsa => IdentityFilter::Irsa,
        ImportIdentity::PodIdentity => IdentityFilter::PodIdentity,
        ImportIdentity::All => IdentityFilter::All,
    }
}

fn nothing_found(imported: &Imported, cluster: &str) -> CliError {
    let mut message = format!(
        "nothing to import from cluster {cluster}: no service account linked to a role of this account (role-arn annotation, EKS Pod Identity association or EKS add-on) in the selection"
    );
    for skipped in &imported.skipped {
        message.push_str(&format!("\n  {skipped}"));
    }
    CliError::failed(message)
}

/// `irsa: wrote FILE: 3 bindings (1 with comments to read); 1 not imported`.
fn summary(imported: &Imported, out: Option<&Path>) -> String {
    let commented = imported
        .bindings
        .iter()
        .filter(|b| !b.notes.is_empty())
        .count();
    let mut line = format!(
        "irsa: wrote {}: {}",
        out.map_or_else(|| "the irsa.yaml".to_string(), |p| p.display().to_string()),
        crate::style::counted(imported.bindings.len(), "binding")
    );
    if commented > 0 {
        line.push_str(&format!(" ({commented} with comments to read)"));
    }
    if !imported.skipped.is_empty() {
        line.push_str(&format!(
            "; {} not imported (see the header)",
            imported.skipped.len()
        ));
    }
    line
}

/// The snapshot import reads (see the module doc), with the roles' inline policies.
async fn observe(
    conn: &Connection,
    cluster: &str,
    namespace: Option<&str>,
) -> Result<(Snapshot, InlinePolicies), CliError> {
    let (annotated, associations) = tokio::join!(
        irsa_kube::list_role_service_accounts(&conn.kube, namespace),
        irsa_aws::pod_identity::read_associations(
            &conn.aws,
            cluster,
            &irsa_aws::pod_identity::AssociationScope::All
        )
    );
    let service_accounts = annotated.map_err(failed_while("listing service accounts"))?;
    let associations =
        associations.map_err(failed_while("reading EKS Pod Identity associations"))?;
    let role_names = connection::linked_role_names(&service_accounts, &associations);
    let addons = irsa_core::migrate::addon_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let observed = connection::observe_cluster(conn, cluster, role_names, addons, true).await?;
    let (mut snapshot, mut inline) = (observed.snapshot, observed.inline);
    snapshot.service_accounts = service_accounts;
    snapshot.pod_identity_associations = associations;
    read_addon_roles(conn, &mut snapshot, &mut inline).await?;
    Ok((snapshot, inline))
}

/// The roles named only by an add-on's `serviceAccountRoleArn` (known once the add-ons are
/// read), read once each like the others.
async fn read_addon_roles(
    conn: &Connection,
    snapshot: &mut Snapshot,
    inline: &mut InlinePolicies,
) -> Result<(), CliError> {
    let missing: Vec<String> = snapshot
        .addons
        .iter()
        .filter_map(|a| a.service_account_role_arn.as_deref())
        .filter_map(irsa_core::verify::role_name_of)
        .filter(|name| snapshot.role(name).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let read = irsa_aws::observe_roles_bulk(&conn.aws, &missing, true)
        .await
        .map_err(failed_while("reading the add-ons' roles"))?;
    snapshot.roles.extend(read.roles);
    for policy in read.policies {
        if snapshot.policy(&policy.arn).is_none() {
            snapshot.policies.push(policy);
        }
    }
    inline.extend(read.inline);
    Ok(())
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}
