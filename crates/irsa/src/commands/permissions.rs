//! `irsa permissions`: what the caller needs to run irsa's commands, from the catalog in
//! `irsa_core::permissions` — the actions per command in plain English (default), the catalog
//! as JSON, a ready-to-attach IAM policy (`--output policy`, split under IAM's managed-policy
//! quota with a note) or a Kubernetes ClusterRole (`--output rbac`). The ARNs are the spec's
//! (`-f`), the default bundle's for `--cluster`, or the kubeconfig cluster's; the account is
//! `--account`, else, only for a policy, the caller's from STS (said on stderr), else any.

use irsa_core::permissions::{self, Command, Need, Scope, policy, rbac};
use serde_json::{Value, json};

use crate::cli::{PermissionsArgs, PermissionsFormat};
use crate::connection;
use crate::desired_input;
use crate::exit::{CliError, Code, failed_while};
use crate::output::print_json;

/// The name of the ClusterRole `--output rbac` prints.
const CLUSTER_ROLE: &str = "irsa-caller";

pub fn run(args: PermissionsArgs) -> Result<Code, CliError> {
    let commands = parse_commands(&args.commands)?;
    let human = args.output == PermissionsFormat::Text;
    let state = desired_input::for_target(&args.target, args.account.as_deref(), human)?;
    let account = match (&state.cluster.account, args.output) {
        (Some(account), _) => account.clone(),
        (None, PermissionsFormat::Policy) => caller_account(&state.cluster.region)?,
        (None, _) => "*".to_string(),
    };
    let scope = Scope::of(&state, &account);
    match args.output {
        PermissionsFormat::Text => print_text(&commands, &scope),
        PermissionsFormat::Json => print_json(&catalog_json(&commands, &scope)),
        PermissionsFormat::Policy => print_policy(&commands, &scope),
        PermissionsFormat::Rbac => print_rbac(&commands)?,
    }
    Ok(Code::Ok)
}

/// The named commands, or every one; an unknown name is bad input naming the known ones.
fn parse_commands(names: &[String]) -> Result<Vec<Command>, CliError> {
    if names.is_empty() {
        return Ok(Command::ALL.to_vec());
    }
    names
        .iter()
        .map(|name| {
            Command::parse(name).ok_or_else(|| {
                let known: Vec<&str> = Command::ALL.iter().map(|c| c.name()).collect();
                CliError::input(format!(
                    "unknown command `{name}`: irsa publishes the permissions of {}",
                    known.join(", ")
                ))
            })
        })
        .collect()
}

/// The caller's account, from STS GetCallerIdentity (which needs no permission), said on stderr.
fn caller_account(region: &str) -> Result<String, CliError> {
    let runtime = connection::runtime()?;
    let (account, _) = runtime.block_on(async {
        let clients = connection::aws_clients(region).await?;
        irsa_aws::caller_identity(&clients)
            .await
            .map_err(failed_while("finding the caller's account"))
    })?;
    eprintln!(
        "irsa: account {account}, the caller's (STS GetCallerIdentity); give --account for another"
    );
    Ok(account)
}

fn print_text(commands: &[Command], scope: &Scope) {
    for command in commands {
        let kind = if command.is_read_only() {
            "read-only"
        } else {
            "reads and changes"
        };
        println!("irsa {} ({kind})", command.name());
        println!("  AWS:");
        for need in permissions::needs(*command) {
            println!("    {}", need_line(&need, scope));
        }
        let rules = rbac::rules(*command);
        if !rules.is_empty() {
            println!("  Kubernetes:");
        }
        for rule in rules {
            println!("    {}", rule_line(&rule));
        }
        println!();
    }
    println!(
        "`--output policy` prints the IAM policy, `--output rbac` the Kubernetes ClusterRole, `--output json` this list."
    );
}

/// `iam:GetRole on the spec's roles (…): read … [only with --fix]`.
fn need_line(need: &Need, scope: &Scope) -> String {
    let on = if need.no_permission {
        "(needs no permission)".to_string()
    } else {
        format!("on {}", scope.describe(need.on))
    };
    format!("{} {on}: {}{}", need.action, need.why, only(need.only))
}

fn rule_line(rule: &rbac::Rule) -> String {
    let what = if rule.is_url() {
        format!("the URL {}", rule.resource)
    } else if rule.api_group.is_empty() {
        rule.resource.to_string()
    } else {
        format!("{}.{}", rule.resource, rule.api_group)
    };
    format!(
        "{} {what}: {}{}",
        rule.verbs.join(", "),
        rule.why,
        only(rule.only)
    )
}

fn only(only: Option<&str>) -> String {
    only.map(|o| format!(" (only {o})")).unwrap_or_default()
}

/// The catalog per command, with the ARNs and conditions of this scope.
fn catalog_json(commands: &[Command], scope: &Scope) -> Value {
    let per_command: Vec<Value> = commands
        .iter()
        .map(|command| {
            let aws: Vec<Value> = permissions::needs(*command)
                .iter()
                .map(|n| {
                    json!({
                        "action": n.action,
                        "access": n.access,
                        "resources": if n.no_permission { Vec::new() } else { scope.resources(n.on) },
                        "condition": scope.condition(n.when),
                        "why": n.why,
                        "only": n.only,
                        "no_permission": n.no_permission,
                    })
                })
                .collect();
            json!({
                "command": command.name(),
                "read_only": command.is_read_only(),
                "aws": aws,
                "kubernetes": rbac::rules(*command),
            })
        })
        .collect();
    json!({
        "cluster": scope.cluster,
        "region": scope.region,
        "account": scope.account,
        "commands": per_command,
    })
}

/// One policy document, or several (a JSON array) with a note when one would exceed IAM's quota.
fn print_policy(commands: &[Command], scope: &Scope) {
    let needs = permissions::needs_of(commands);
    let mut documents = policy::documents(policy::statements(&needs, scope));
    if documents.len() == 1 {
        print_json(&documents.remove(0));
        return;
    }
    eprintln!(
        "irsa: the policy is split into {} documents, each under IAM's managed-policy quota of {} characters: attach each",
        documents.len(),
        policy::MANAGED_POLICY_MAX_CHARS
    );
    print_json(&documents);
}

fn print_rbac(commands: &[Command]) -> Result<(), CliError> {
    let yaml = rbac::cluster_role_yaml(commands, CLUSTER_ROLE)
        .map_err(|e| CliError::failed(format!("cannot write the ClusterRole as YAML: {e}")))?;
    println!("{}", yaml.trim_end());
    Ok(())
}
