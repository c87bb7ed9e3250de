//! `irsa trust check`: may a service account assume a role? Evaluates the trust policy locally,
//! the way STS does for `AssumeRoleWithWebIdentity`, and says why not.

use iam_policy::trust::{self, TokenClaims};
use irsa_core::spec::rules;
use serde_json::json;

use crate::cli::TrustCheckArgs;
use crate::commands::policy::load_policy;
use crate::exit::{CliError, Code};
use crate::output::{Format, print_json};

pub fn check(args: TrustCheckArgs) -> Result<Code, CliError> {
    let (namespace, name) = parse_service_account_ref(&args.service_account)?;
    trust::issuer_from_provider_arn(&args.provider_arn)
        .map_err(|e| CliError::input(format!("--provider-arn: {e}")))?;
    let document = load_policy(&args.trust)?;
    let claims = TokenClaims::for_service_account(&namespace, &name, &args.audience);
    let result = trust::check_web_identity(&document, &args.provider_arn, &claims)
        .map_err(|e| CliError::input(e.to_string()))?;
    match args.output {
        Format::Json => print_json(&json!({"allowed": result.allowed, "reasons": result.reasons})),
        Format::Text => {
            let verdict = if result.allowed { "ALLOWED" } else { "DENIED" };
            println!(
                "{verdict}  {namespace}/{name} (sub {}, aud {})",
                claims.sub, args.audience
            );
            for reason in &result.reasons {
                println!("  {reason}");
            }
        }
    }
    Ok(if result.allowed {
        Code::Ok
    } else {
        Code::Negative
    })
}

/// `NAMESPACE/NAME`, each checked against Kubernetes' naming rules.
fn parse_service_account_ref(text: &str) -> Result<(String, String), CliError> {
    let bad = |why: String| CliError::input(format!("--service-account `{text}`: {why}"));
    let (namespace, name) = text
        .split_once('/')
        .ok_or_else(|| bad("expected NAMESPACE/NAME".into()))?;
    rules::namespace(namespace).map_err(bad)?;
    rules::service_account_name(name).map_err(bad)?;
    Ok((namespace.to_string(), name.to_string()))
}
