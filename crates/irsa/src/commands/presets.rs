//! `irsa presets` and `irsa presets show NAME`: the catalog of well-known workloads and the
//! policies each renders to.

use std::collections::BTreeMap;

use comfy_table::{Table, presets::NOTHING};
use irsa_core::presets::{self, Install, Preset, PresetParams, PresetPolicies};
use serde_json::{Value, json};

use crate::cli::{PresetShowArgs, PresetsArgs, PresetsCommand};
use crate::exit::{CliError, Code};
use crate::output::{Format, print_json};

pub fn run(args: PresetsArgs) -> Result<Code, CliError> {
    match args.command {
        None => list(args.output),
        Some(PresetsCommand::Show(show_args)) => show(show_args, args.output),
    }
}

fn install_text(install: Install) -> String {
    match install {
        Install::Helm { repo, chart } => format!("helm {chart} ({repo})"),
        Install::EksAddon { name } => format!("EKS add-on {name}"),
        Install::Manual => "your own workload".to_string(),
    }
}

fn preset_json(p: &Preset) -> Value {
    json!({
        "name": p.name,
        "summary": p.summary,
        "namespace": p.namespace,
        "service_account": p.service_account,
        "install": install_text(p.install),
        "source": {"url": p.source.url, "checked": p.source.checked},
        "options": p.options.iter().map(|o| json!({"name": o.name, "help": o.help})).collect::<Vec<_>>(),
        "default_bundle": presets::DEFAULT_BUNDLE.contains(&p.name),
    })
}

fn list(format: Format) -> Result<Code, CliError> {
    let catalog = presets::catalog();
    if format == Format::Json {
        print_json(&catalog.iter().map(preset_json).collect::<Vec<_>>());
        return Ok(Code::Ok);
    }
    let mut table = Table::new();
    table
        .load_style(NOTHING)
        .set_header(["NAME", "SERVICE ACCOUNT", "INSTALL", "SUMMARY"]);
    for p in catalog {
        let name = if presets::DEFAULT_BUNDLE.contains(&p.name) {
            format!("{} *", p.name)
        } else {
            p.name.to_string()
        };
        table.add_row([
            name,
            format!("{}/{}", p.namespace, p.service_account),
            install_text(p.install),
            p.summary.to_string(),
        ]);
    }
    println!("{table}");
    println!(
        "\n* in the default bundle. `irsa presets show NAME --cluster C --region R --account ID` prints the policy."
    );
    Ok(Code::Ok)
}

/// `NAME=VALUE` pairs into the option map; a repeated name makes a list.
fn parse_options(raw: &[String]) -> Result<BTreeMap<String, Vec<String>>, CliError> {
    let mut options: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in raw {
        let (name, value) = item
            .split_once('=')
            .ok_or_else(|| CliError::input(format!("--option `{item}`: expected NAME=VALUE")))?;
        options
            .entry(name.trim().to_string())
            .or_default()
            .push(value.trim().to_string());
    }
    Ok(options)
}

fn show(args: PresetShowArgs, format: Format) -> Result<Code, CliError> {
    let preset = presets::find(&args.name).ok_or_else(|| {
        let names: Vec<&str> = presets::catalog().iter().map(|p| p.name).collect();
        CliError::input(format!(
            "unknown preset `{}`; presets: {}",
            args.name,
            names.join(", ")
        ))
    })?;
    if let Some(account) = &args.account
        && !(account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(CliError::input(format!(
            "--account `{account}`: an AWS account id is 12 digits"
        )));
    }
    let params = PresetParams {
        cluster: args.cluster.clone(),
        partition: args
            .region
            .as_deref()
            .map(|r| iam_policy::arn::partition_for_region(r).to_string()),
        region: args.region.clone(),
        account: args.account.clone(),
        options: parse_options(&args.options)?,
    };
    let policies = (preset.render)(&params).map_err(|e| CliError::input(e.to_string()))?;
    print_policies(&policies, format);
    Ok(Code::Ok)
}

/// One document alone prints as that document; managed ARNs alone print one a line; anything
/// else (or `--output json`) prints an object with both.
fn print_policies(policies: &PresetPolicies, format: Format) {
    match (
        format,
        policies.managed_arns.as_slice(),
        policies.documents.as_slice(),
    ) {
        (Format::Text, [], [(_, document)]) => print_json(document),
        (Format::Text, arns, []) => arns.iter().for_each(|arn| println!("{arn}")),
        _ => print_json(&json!({
            "managed_policy_arns": policies.managed_arns,
            "documents": policies.documents.iter().map(|(suffix, doc)| json!({"name": suffix, "document": doc})).collect::<Vec<_>>(),
        })),
    }
}
