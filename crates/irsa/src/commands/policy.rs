//! `irsa policy eval` (the whole decision through every policy layer given, and the layer that
//! decided), `irsa policy lint` and `irsa policy rules`: the policy engine on files.

use std::path::{Path, PathBuf};

use iam_policy::authorization::{
    Authorization, AuthorizationError, Authorizer, AuthzRequest, Caller, LayerKind, LayerOutcome,
    Policies,
};
use iam_policy::context::Context;
use iam_policy::document::{Effect, PolicyDocument};
use iam_policy::eval::Decision;
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

/// The files of each layer, in the shape of [`Policies`].
#[derive(Debug, Default)]
struct LayerFiles {
    identity: Vec<PathBuf>,
    boundary: Option<PathBuf>,
    session: Option<PathBuf>,
    scp_levels: Vec<Vec<PathBuf>>,
    rcp_levels: Vec<Vec<PathBuf>>,
    resource: Option<PathBuf>,
}

impl LayerFiles {
    fn from_args(args: &PolicyEvalArgs) -> Result<LayerFiles, CliError> {
        Ok(LayerFiles {
            identity: args.policies.clone(),
            boundary: args.boundary.clone(),
            session: args.session_policy.clone(),
            scp_levels: levels("--scp", &args.scps)?,
            rcp_levels: levels("--rcp", &args.rcps)?,
            resource: args.resource_policy.clone(),
        })
    }

    /// Reads and parses every file; each layer's own rules are checked by [`Authorizer::new`].
    fn load(&self) -> Result<Policies, CliError> {
        let one = |path: &Option<PathBuf>| path.as_deref().map(load_policy).transpose();
        let many = |paths: &[PathBuf]| paths.iter().map(|p| load_policy(p)).collect();
        Ok(Policies {
            identity: many(&self.identity)?,
            boundary: one(&self.boundary)?,
            session: one(&self.session)?,
            scp_levels: self
                .scp_levels
                .iter()
                .map(|l| many(l))
                .collect::<Result<_, _>>()?,
            rcp_levels: self
                .rcp_levels
                .iter()
                .map(|l| many(l))
                .collect::<Result<_, _>>()?,
            resource: one(&self.resource)?,
        })
    }

    /// The file of a document of a layer (`index` within the layer, or the layer's level).
    fn path<'a>(&'a self, layer: LayerKind, level: Option<usize>, index: usize) -> &'a Path {
        let in_level = |levels: &'a [Vec<PathBuf>]| -> Option<&'a Path> {
            let files = levels.get(level?)?;
            files.get(index).map(PathBuf::as_path)
        };
        let found = match layer {
            LayerKind::Identity => self.identity.get(index).map(PathBuf::as_path),
            LayerKind::Boundary => self.boundary.as_deref(),
            LayerKind::Session => self.session.as_deref(),
            LayerKind::Resource => self.resource.as_deref(),
            LayerKind::Scp => in_level(&self.scp_levels),
            LayerKind::Rcp => in_level(&self.rcp_levels),
        };
        found.unwrap_or(Path::new("?"))
    }
}

/// `--scp A,B --scp C` → [[A, B], [C]]: one level per occurrence.
fn levels(flag: &str, occurrences: &[String]) -> Result<Vec<Vec<PathBuf>>, CliError> {
    occurrences
        .iter()
        .map(|level| {
            let files: Vec<PathBuf> = level.split(',').map(PathBuf::from).collect();
            if files.iter().any(|f| f.as_os_str().is_empty()) {
                return Err(CliError::input(format!(
                    "{flag} `{level}`: expected FILE[,FILE…] (one level of policies, comma-separated)"
                )));
            }
            Ok(files)
        })
        .collect()
}

/// The request context: `--context`, the principal's tags, and the caller's own keys.
fn request_context(args: &PolicyEvalArgs, caller: Option<&Caller>) -> Result<Context, CliError> {
    let mut context = parse_context(&args.context)?;
    for tag in &args.principal_tags {
        let (key, value) = tag
            .split_once('=')
            .filter(|(k, _)| !k.trim().is_empty())
            .ok_or_else(|| {
                CliError::input(format!("--principal-tag `{tag}`: expected KEY=VALUE"))
            })?;
        context.insert(&format!("aws:PrincipalTag/{}", key.trim()), value);
    }
    if let Some(caller) = caller {
        caller.fill_context(&mut context);
    }
    Ok(context)
}

/// An authorization error, with the file and the flag that fixes it.
fn authorization_error(files: &LayerFiles, e: AuthorizationError) -> CliError {
    match e {
        AuthorizationError::InvalidDocument { at, source } => CliError::input(format!(
            "{}: {source}",
            files.path(at.layer, at.level, at.index).display()
        )),
        AuthorizationError::NoCaller { layer } => CliError::input(format!(
            "{} names principals: give the caller with --principal (a role session ARN such as arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION, a role or user ARN, or an account id)",
            layer.describe()
        )),
    }
}

fn deciding_statements<'a>(
    files: &'a LayerFiles,
    policies: &'a Policies,
    layer: &LayerOutcome,
) -> Vec<DecidingStatement<'a>> {
    let documents: Vec<&PolicyDocument> = match layer.kind {
        LayerKind::Identity => policies.identity.iter().collect(),
        LayerKind::Boundary => policies.boundary.iter().collect(),
        LayerKind::Session => policies.session.iter().collect(),
        LayerKind::Resource => policies.resource.iter().collect(),
        LayerKind::Scp => level_documents(&policies.scp_levels, layer.level),
        LayerKind::Rcp => level_documents(&policies.rcp_levels, layer.level),
    };
    layer
        .deciding
        .iter()
        .filter_map(|at| {
            let statement = documents.get(at.policy)?.statements.get(at.statement)?;
            Some(DecidingStatement {
                policy: files.path(layer.kind, layer.level, at.policy),
                index: statement.index,
                sid: statement.sid.as_deref(),
                effect: if statement.effect == Effect::Allow {
                    "Allow"
                } else {
                    "Deny"
                },
            })
        })
        .collect()
}

fn level_documents(levels: &[Vec<PolicyDocument>], level: Option<usize>) -> Vec<&PolicyDocument> {
    level
        .and_then(|l| levels.get(l))
        .map(|documents| documents.iter().collect())
        .unwrap_or_default()
}

/// `scp[1]` for a level, `boundary` otherwise.
fn layer_name(layer: &LayerOutcome) -> String {
    match layer.level {
        Some(level) => format!("{}[{level}]", layer.kind),
        None => layer.kind.to_string(),
    }
}

pub fn eval(args: PolicyEvalArgs) -> Result<Code, CliError> {
    if !args.action.contains(':') && args.action != "*" {
        return Err(CliError::input(format!(
            "--action `{}`: expected service:Action",
            args.action
        )));
    }
    let files = LayerFiles::from_args(&args)?;
    let authorizer = Authorizer::new(files.load()?).map_err(|e| authorization_error(&files, e))?;
    let caller = args
        .principal
        .as_deref()
        .map(Caller::parse)
        .transpose()
        .map_err(|e| CliError::input(format!("--principal {e}")))?;
    let context = request_context(&args, caller.as_ref())?;
    let authorization = authorizer
        .authorize(&AuthzRequest {
            caller: caller.as_ref(),
            action: &args.action,
            resource: &args.resource,
            context: &context,
        })
        .map_err(|e| authorization_error(&files, e))?;
    let policies = authorizer.policies();
    let decided_by = authorization.deciding_layer();
    let statements = deciding_statements(&files, policies, decided_by);
    match args.output {
        Format::Json => {
            let layers: Vec<_> = authorization
                .layers
                .iter()
                .map(|layer| {
                    let mut entry = json!({
                        "layer": layer.kind.as_str(),
                        "decision": layer.decision.as_str(),
                        "statements": deciding_statements(&files, policies, layer),
                    });
                    if let Some(level) = layer.level {
                        entry["level"] = json!(level);
                    }
                    entry
                })
                .collect();
            print_json(&json!({
                "decision": authorization.decision.as_str(),
                "statements": statements,
                "layers": layers,
                "decided_by": decided_by.kind.as_str(),
                "reason": authorization.explain(),
            }))
        }
        Format::Text => print_decision(&args, &files, policies, &authorization),
    }
    Ok(if authorization.decision == Decision::Allow {
        Code::Ok
    } else {
        Code::Negative
    })
}

fn print_decision(
    args: &PolicyEvalArgs,
    files: &LayerFiles,
    policies: &Policies,
    authorization: &Authorization,
) {
    let verdict = match authorization.decision {
        Decision::Allow => "ALLOW",
        Decision::ExplicitDeny => "DENY (explicit)",
        Decision::ImplicitDeny => "DENY (implicit: no statement allows it)",
    };
    println!("{verdict}  {} on {}", args.action, args.resource);
    println!(
        "  decided by the {} layer: {}",
        layer_name(authorization.deciding_layer()),
        authorization.explain()
    );
    for layer in &authorization.layers {
        println!("  {:<12} {}", layer_name(layer), layer.decision.as_str());
        for s in deciding_statements(files, policies, layer) {
            let sid = s
                .sid
                .map(|sid| format!(" (Sid \"{sid}\")"))
                .unwrap_or_default();
            println!(
                "    {} {}: Statement[{}]{sid}",
                s.effect,
                s.policy.display(),
                s.index
            );
        }
    }
}

/// The layers beyond a role's own policies for verify: the caller (the role session
/// GetCallerIdentity named) and the key or bucket policy and SCPs read once for the request.
pub(crate) struct OuterLayers<'a> {
    pub caller: &'a Caller,
    pub partition: &'a str,
    pub layers: &'a irsa_core::resource_layers::ResourceLayers,
}

/// A role's own layers (its attached policies and permissions boundary, as a snapshot holds
/// them: `(ARN, document)`, `None` for a document that was not read), and the `outer` layers when
/// given, decided on one request, with a sentence on the layer that decided (and what was not
/// checked). A document that is missing or invalid for its layer is an error naming it, never
/// left out of the decision.
pub(crate) fn role_decision(
    attached: &[(&str, Option<&serde_json::Value>)],
    boundary: Option<(&str, Option<&serde_json::Value>)>,
    outer: Option<&OuterLayers<'_>>,
    action: &str,
    resource: &str,
) -> Result<(Decision, String), String> {
    let parse = |(arn, document): (&str, Option<&serde_json::Value>)| {
        let document = document.ok_or_else(|| format!("{arn}: its document was not read"))?;
        PolicyDocument::from_value(document).map_err(|e| format!("{arn}: {e}"))
    };
    let policies = Policies {
        identity: attached
            .iter()
            .map(|a| parse(*a))
            .collect::<Result<_, _>>()?,
        boundary: boundary.map(parse).transpose()?,
        ..Policies::default()
    };
    let names: Vec<&str> = attached
        .iter()
        .map(|(arn, _)| *arn)
        .chain(boundary.map(|b| b.0))
        .collect();
    let name_document = |e: AuthorizationError| match &e {
        AuthorizationError::InvalidDocument { at, source } => {
            let index = if at.layer == LayerKind::Boundary {
                names.len() - 1
            } else {
                at.index
            };
            format!("{}: {source}", names.get(index).unwrap_or(&"?"))
        }
        AuthorizationError::NoCaller { .. } => e.to_string(),
    };
    let (authorization, notes) = match outer {
        Some(outer) => {
            // Check the role's own documents first, so that an error names them.
            Authorizer::new(policies.clone()).map_err(name_document)?;
            irsa_core::resource_layers::authorize(
                outer.layers,
                policies,
                outer.caller,
                outer.partition,
                action,
                resource,
            )?
        }
        None => {
            let authorization = Authorizer::new(policies)
                .and_then(|a| {
                    a.authorize(&AuthzRequest {
                        caller: None,
                        action,
                        resource,
                        context: &Context::new(),
                    })
                })
                .map_err(name_document)?;
            (authorization, Vec::new())
        }
    };
    let kind = authorization.deciding_layer().kind;
    let whose = match kind {
        LayerKind::Identity | LayerKind::Boundary | LayerKind::Session => "the role's ",
        _ => "the ",
    };
    let mut sentence = match authorization.decision {
        Decision::Allow if kind == LayerKind::Identity => {
            "allowed by the attached policies".to_string()
        }
        Decision::Allow => format!("allowed: {}", authorization.explain()),
        decision => format!(
            "{} by {whose}{kind} layer: {}",
            if decision == Decision::ExplicitDeny {
                "explicitly denied"
            } else {
                "denied"
            },
            authorization.explain()
        ),
    };
    for note in notes {
        sentence.push_str("; ");
        sentence.push_str(&note);
    }
    Ok((authorization.decision, sentence))
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

#[cfg(test)]
mod tests {
    use super::*;

    const READ: &str = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess";
    const BOUNDARY: &str = "arn:aws:iam::111122223333:policy/boundary";

    fn allow(action: &str) -> serde_json::Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]})
    }

    // https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html: verify
    // says which of the role's layers denies.
    #[test]
    fn role_decision_names_the_denying_layer() {
        let (read, ec2) = (allow("s3:Get*"), allow("ec2:*"));
        let decide = |boundary| {
            role_decision(
                &[(READ, Some(&read))],
                boundary,
                None,
                "s3:GetObject",
                "arn:aws:s3:::b/k",
            )
        };
        assert_eq!(
            decide(None).unwrap(),
            (
                Decision::Allow,
                "allowed by the attached policies".to_string()
            )
        );
        let (decision, sentence) = decide(Some((BOUNDARY, Some(&ec2)))).unwrap();
        assert_eq!(decision, Decision::ImplicitDeny);
        assert!(
            sentence
                .starts_with("denied by the role's boundary layer: the permissions boundary caps"),
            "{sentence}"
        );
    }

    // A document that was not read, or that names a principal, is an error naming it.
    #[test]
    fn role_decision_fails_closed_on_documents_it_cannot_use() {
        let with_principal = json!({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}]});
        let read = allow("s3:Get*");
        let e = role_decision(
            &[(READ, Some(&read)), (BOUNDARY, None)],
            None,
            None,
            "s3:GetObject",
            "*",
        )
        .unwrap_err();
        assert_eq!(e, format!("{BOUNDARY}: its document was not read"));
        let e = role_decision(
            &[(READ, Some(&read))],
            Some((BOUNDARY, Some(&with_principal))),
            None,
            "s3:GetObject",
            "*",
        )
        .unwrap_err();
        assert!(e.starts_with(&format!("{BOUNDARY}: Statement[0].Principal: an identity-based policy cannot name a principal")), "{e}");
    }
}
