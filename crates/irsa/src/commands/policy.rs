//! `irsa policy eval`, `irsa policy lint` and `irsa policy rules`: the policy engine on files.

use std::path::{Path, PathBuf};

use iam_policy::context::Context;
use iam_policy::document::{Effect, PolicyDocument};
use iam_policy::eval::{self, Decision, Request};
use iam_policy::lint::{self, Finding, LintOptions, PolicyKind, RULES, Severity};
use serde::Serialize;
use serde_json::json;

use crate::cli::{KindArg, PolicyEvalArgs, PolicyLintArgs, RulesArgs};
use crate::exit::{CliError, Code, read_input_file};
use crate::output::{Format, print_json};
use crate::style::counted;

/// Reads and parses a policy file, naming the file in the error.
pub fn load_policy(path: &Path) -> Result<PolicyDocument, CliError> {
    let text = read_input_file(path)?;
    PolicyDocument::parse(&text).map_err(|e| CliError::input(format!("{}: {e}", path.display())))
}

/// `KEY=VALUE` arguments into a request context (repeated keys are multivalued).
fn parse_context(items: &[String]) -> Result<Context, CliError> {
    let mut ctx = Context::new();
    for item in items {
        let (key, value) = item
            .split_once('=')
            .ok_or_else(|| CliError::input(format!("--context `{item}`: expected KEY=VALUE")))?;
        if key.trim().is_empty() {
            return Err(CliError::input(format!(
                "--context `{item}`: the key is empty"
            )));
        }
        ctx.insert(key.trim(), value);
    }
    Ok(ctx)
}

#[derive(Serialize)]
struct DecidingStatement<'a> {
    policy: &'a Path,
    index: usize,
    sid: Option<&'a str>,
    effect: &'static str,
}

pub fn eval(args: PolicyEvalArgs) -> Result<Code, CliError> {
    let documents = args
        .policies
        .iter()
        .map(|p| load_policy(p))
        .collect::<Result<Vec<_>, _>>()?;
    if !args.action.contains(':') && args.action != "*" {
        return Err(CliError::input(format!(
            "--action `{}`: expected service:Action",
            args.action
        )));
    }
    let context = parse_context(&args.context)?;
    let refs: Vec<&PolicyDocument> = documents.iter().collect();
    let request = Request {
        principal: None,
        action: &args.action,
        resource: Some(&args.resource),
        context: &context,
    };
    let evaluation = eval::evaluate(&refs, &request);
    let statements: Vec<DecidingStatement> = evaluation
        .deciding
        .iter()
        .map(|at| {
            let statement = &documents[at.policy].statements[at.statement];
            DecidingStatement {
                policy: &args.policies[at.policy],
                index: statement.index,
                sid: statement.sid.as_deref(),
                effect: if statement.effect == Effect::Allow {
                    "Allow"
                } else {
                    "Deny"
                },
            }
        })
        .collect();
    match args.output {
        Format::Json => {
            print_json(&json!({"decision": evaluation.decision.as_str(), "statements": statements}))
        }
        Format::Text => {
            let verdict = match evaluation.decision {
                Decision::Allow => "ALLOW",
                Decision::ExplicitDeny => "DENY (explicit)",
                Decision::ImplicitDeny => "DENY (implicit: no statement allows it)",
            };
            println!("{verdict}  {} on {}", args.action, args.resource);
            for s in &statements {
                let sid = s
                    .sid
                    .map(|sid| format!(" (Sid \"{sid}\")"))
                    .unwrap_or_default();
                println!(
                    "  {} {}: Statement[{}]{sid}",
                    s.effect,
                    s.policy.display(),
                    s.index
                );
            }
        }
    }
    Ok(if evaluation.decision == Decision::Allow {
        Code::Ok
    } else {
        Code::Negative
    })
}

#[derive(Serialize)]
struct FileFinding<'a> {
    file: &'a Path,
    #[serde(flatten)]
    finding: &'a Finding,
}

pub fn lint(args: PolicyLintArgs) -> Result<Code, CliError> {
    let options = LintOptions {
        account: args.account.clone(),
        kind: args.kind.map(|k| match k {
            KindArg::Trust => PolicyKind::Trust,
            KindArg::Permissions => PolicyKind::Permissions,
        }),
    };
    let results: Vec<(PathBuf, Vec<Finding>)> = args
        .files
        .iter()
        .map(|path| {
            Ok((
                path.clone(),
                lint::lint_text(&read_input_file(path)?, &options),
            ))
        })
        .collect::<Result<_, CliError>>()?;
    let all: Vec<FileFinding> = results
        .iter()
        .flat_map(|(file, findings)| {
            findings
                .iter()
                .map(move |finding| FileFinding { file, finding })
        })
        .collect();
    match args.output {
        Format::Json => print_json(&all),
        Format::Text => {
            for f in &all {
                let location = if f.finding.location.is_empty() {
                    String::new()
                } else {
                    format!(" {}", f.finding.location)
                };
                println!(
                    "{}:{location}: {} {} [{}] {}",
                    f.file.display(),
                    f.finding.severity.as_str().to_uppercase(),
                    f.finding.rule,
                    f.finding.name,
                    f.finding.message
                );
            }
            let failing = all
                .iter()
                .filter(|f| f.finding.severity >= Severity::High)
                .count();
            println!(
                "{}, {}, {failing} high or critical",
                counted(results.len(), "file"),
                counted(all.len(), "finding")
            );
        }
    }
    Ok(
        if all.iter().any(|f| f.finding.severity >= Severity::High) {
            Code::Negative
        } else {
            Code::Ok
        },
    )
}

pub fn rules(args: RulesArgs) -> Result<Code, CliError> {
    match args.output {
        Format::Json => print_json(&RULES),
        Format::Text => {
            for rule in RULES {
                println!(
                    "{:<8} {:<9} {:<24} {}",
                    rule.id,
                    rule.severity.as_str(),
                    rule.name,
                    rule.summary
                );
            }
        }
    }
    Ok(Code::Ok)
}
