//! `irsa presets` and `irsa presets show NAME`: the catalog of well-known workloads, where each
//! preset's policy comes from, and the policies each renders to. `show` prints the policy on
//! stdout (so it pipes) and, for a person, the preset's source and options on stderr; a preset
//! that lacks a required option fails with its options and an example command.

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
        "eksctl_well_known": p.eksctl_well_known,
        "example_options": p.example_option_map(),
        "notes": p.notes,
    })
}

/// `--option NAME=VALUE` flags for the preset's example options (empty when it needs none).
fn example_flags(p: &Preset) -> String {
    p.example_options
        .iter()
        .flat_map(|(name, values)| values.iter().map(move |v| format!(" --option {name}={v}")))
        .collect()
}

/// The preset's source, service account, install method and options, one `#` line each, for a
/// person reading `presets show` (stderr) or an error.
fn about_text(p: &Preset) -> String {
    let mut lines = vec![
        format!("# {}: {}", p.name, p.summary),
        format!(
            "# service account {}/{} · install: {}",
            p.namespace,
            p.service_account,
            install_text(p.install)
        ),
        format!("# source: {} (checked {})", p.source.url, p.source.checked),
    ];
    if let Some(key) = p.eksctl_well_known {
        lines.push(format!("# eksctl: wellKnownPolicies.{key}"));
    }
    if p.options.is_empty() {
        lines.push("# options: none".to_string());
    }
    for o in p.options {
        lines.push(format!("# option {}: {}", o.name, o.help));
    }
    lines.extend(p.notes.iter().map(|n| format!("# note: {n}")));
    lines.join("\n")
}

fn list(format: Format) -> Result<Code, CliError> {
    let catalog = presets::catalog();
    if format == Format::Json {
        print_json(&catalog.iter().map(preset_json).collect::<Vec<_>>());
        return Ok(Code::Ok);
    }
    let mut table = Table::new();
    table.load_style(NOTHING).set_header([
        "NAME",
        "SERVICE ACCOUNT",
        "INSTALL",
        "SOURCE (CHECKED)",
        "SUMMARY",
    ]);
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
            format!("{} ({})", p.source.url, p.source.checked),
            p.summary.to_string(),
        ]);
    }
    println!("{table}");
    println!(
        "\n* in the default bundle. `irsa presets show NAME --cluster C --region R --account ID [--option NAME=VALUE]` \
         prints the policy, its source and options."
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
    let policies = (preset.render)(&params).map_err(|e| {
        CliError::input(format!(
            "{e}\n{}\n# example: irsa presets show {} --cluster demo --region us-east-1 --account 123456789012{}",
            about_text(preset),
            preset.name,
            example_flags(preset)
        ))
    })?;
    print_policies(preset, &policies, format);
    if format == Format::Text {
        eprintln!("{}", about_text(preset));
    }
    Ok(Code::Ok)
}

/// One document alone prints as that document; managed ARNs alone print one a line; anything
/// else (or `--output json`) prints an object with both, and in JSON the preset's catalog entry.
fn print_policies(preset: &Preset, policies: &PresetPolicies, format: Format) {
    match (
        format,
        policies.managed_arns.as_slice(),
        policies.documents.as_slice(),
    ) {
        (Format::Text, [], [(_, document)]) => print_json(document),
        (Format::Text, arns, []) => arns.iter().for_each(|arn| println!("{arn}")),
        _ => print_json(&json!({
            "preset": preset_json(preset),
            "managed_policy_arns": policies.managed_arns,
            "documents": policies.documents.iter().map(|(suffix, doc)| json!({"name": suffix, "document": doc})).collect::<Vec<_>>(),
        })),
    }
}
