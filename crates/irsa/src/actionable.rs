//! Errors a person can act on: the failures every command can meet before it does anything of
//! its own — no AWS credentials, credentials AWS refuses, an AWS endpoint or the Kubernetes API
//! that cannot be reached or refuses — said in one or two lines with what to do, instead of the
//! SDK's provider-chain or connector dumps; and a permission the caller lacks ([`denial`]: an
//! AWS AccessDenied or a Kubernetes 403), named with the command, the action and the resource,
//! and where to find what the command needs (`irsa permissions`). The full detail is kept for
//! `--debug` (or `RUST_LOG=debug`). Other errors pass through as they are.

use std::error::Error;
use std::sync::OnceLock;

use irsa_aws::{AwsError, ErrorKind};
use irsa_kube::KubeError;

/// The command running (`apply`), for the answers to denials.
static COMMAND: OnceLock<&'static str> = OnceLock::new();

/// The commands `irsa permissions` names for this run (`doctor doctor-fix` for `doctor --fix`).
static PERMISSIONS_OF: OnceLock<&'static str> = OnceLock::new();

/// Records the command this run is, and what `irsa permissions` calls it (once, before it
/// starts).
pub fn set_command(name: &'static str, permissions_of: &'static str) {
    let _ = COMMAND.set(name);
    let _ = PERMISSIONS_OF.set(permissions_of);
}

/// The `irsa permissions` arguments for this run.
fn permissions_of() -> &'static str {
    PERMISSIONS_OF.get().copied().unwrap_or_else(command)
}

/// The command this run is (`irsa` before one is set).
pub fn command() -> &'static str {
    COMMAND.get().copied().unwrap_or("irsa")
}

/// The answer to a permission the caller lacks, if `error` is one: an AWS AccessDenied
/// (`the caller (ARN) may not iam:CreateRole on ARN; irsa permissions apply prints the policy
/// it needs`) or a Kubernetes 403 (the verb, resource and namespace, and the RBAC rule to add).
pub fn denial(error: &(dyn Error + 'static)) -> Option<String> {
    if let Some(denied) = error.downcast_ref::<AwsError>().and_then(AwsError::denied) {
        let caller = denied
            .caller
            .map(|arn| format!("the caller ({arn})"))
            .unwrap_or_else(|| "the caller".into());
        return Some(format!(
            "{caller} may not {} on {}; irsa permissions {} prints the policy it needs",
            denied.action,
            denied.resource,
            permissions_of()
        ));
    }
    let forbidden = error
        .downcast_ref::<KubeError>()
        .and_then(KubeError::forbidden)?;
    let who = forbidden
        .user
        .map(|u| format!("the Kubernetes user ({u})"))
        .unwrap_or_else(|| "the Kubernetes user".into());
    let place = forbidden
        .namespace
        .map(|ns| format!("in namespace {ns}"))
        .unwrap_or_else(|| "at the cluster scope".into());
    let resource = match forbidden.api_group.as_str() {
        "" => forbidden.resource.clone(),
        group => format!("{}.{group}", forbidden.resource),
    };
    Some(format!(
        "{who} may not {} {resource} {place} (Kubernetes API of {})\n  add the RBAC rule {} to the user's Role or ClusterRole (EKS access entries or aws-auth map the user; irsa permissions {} --output rbac prints the ClusterRole it needs)",
        forbidden.verb,
        kube_target(),
        irsa_core::permissions::rbac::rule_line(
            &forbidden.api_group,
            &forbidden.resource,
            &forbidden.verb
        ),
        permissions_of()
    ))
}

/// The message for a failed plan step: the answer to a denial, else the error as it is.
pub fn step_failure(error: &(dyn Error + 'static)) -> String {
    denial(error).unwrap_or_else(|| error.to_string())
}

/// Whether a step's message (from [`step_failure`]) is the answer to a denial.
pub fn is_denial_answer(message: &str) -> bool {
    message.ends_with(" prints the policy it needs")
        || message.ends_with(" --output rbac prints the ClusterRole it needs)")
}

/// The message for `error`, met while doing `what` (`observing AWS`).
pub fn explain(what: &str, error: &(dyn Error + 'static)) -> String {
    let explained = denial(error)
        .or_else(|| error.downcast_ref::<AwsError>().and_then(aws))
        .or_else(|| error.downcast_ref::<KubeError>().and_then(kube));
    let Some(explained) = explained else {
        return format!("{what}: {error}");
    };
    if crate::settings::get().debug {
        format!("{explained}\n  detail ({what}): {error}")
    } else {
        format!("{explained} (--debug: the detail)")
    }
}

/// The AWS service of an operation (`sts` of `sts:GetCallerIdentity`).
fn service(operation: &str) -> &str {
    operation.split(':').next().unwrap_or(operation)
}

/// The URL irsa sends a service's calls to: the `AWS_ENDPOINT_URL_<SERVICE>` or
/// `AWS_ENDPOINT_URL` override, else AWS's endpoint for the region.
fn endpoint(service: &str) -> String {
    let var = format!("AWS_ENDPOINT_URL_{}", service.to_uppercase());
    let set = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let Some(url) = set(&var).or_else(|| set("AWS_ENDPOINT_URL")) {
        return url;
    }
    let region = crate::connection::env_region().unwrap_or_else(|| "<region>".into());
    match service {
        "iam" => "https://iam.amazonaws.com".into(),
        _ => format!("https://{service}.{region}.amazonaws.com"),
    }
}

/// The innermost part of a connector error's chain (`tcp connect error: Connection refused`).
fn transport_cause(message: &str) -> &str {
    let head = message.split(" (DispatchFailure").next().unwrap_or(message);
    ["dispatch failure: ", "io error: ", "other: ", "timeout: "]
        .iter()
        .fold(head, |text, prefix| {
            text.strip_prefix(prefix).unwrap_or(text)
        })
}

fn aws(e: &AwsError) -> Option<String> {
    let op = e.operation;
    Some(match e.kind {
        ErrorKind::NoCredentials => format!(
            "no AWS credentials found for {op} (tried the environment, the shared config and credentials files, SSO, web identity, container and instance metadata)\n  set AWS_PROFILE or give --profile NAME (after `aws sso login` or `aws configure`), or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        ),
        ErrorKind::InvalidCredentials => format!(
            "AWS refused the credentials for {op}: {}{}\n  they are expired or wrong: refresh them (`aws sso login`, new access keys) or pick others with --profile / AWS_PROFILE",
            e.code
                .as_deref()
                .map(|c| format!("{c}: "))
                .unwrap_or_default(),
            first_line(&e.message)
        ),
        ErrorKind::Unreachable => {
            let service = service(op);
            format!(
                "cannot reach {service} at {} for {op}: {}\n  check the network and any proxy (HTTPS_PROXY), or the endpoint override (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_{})",
                endpoint(service),
                transport_cause(&e.message),
                service.to_uppercase()
            )
        }
        ErrorKind::Throttled => format!(
            "{op} {} was throttled beyond the retries ({})\n  lower --concurrency (apply), or run again in a minute",
            e.resource,
            e.code.as_deref().unwrap_or("Throttling")
        ),
        _ => return None,
    })
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

/// The current context and its server, from the kubeconfig, for the Kubernetes API's errors.
fn kube_target() -> String {
    let Ok(config) = irsa_kube::eks_context::read(None) else {
        return "the kubeconfig's current context".into();
    };
    let context = config.current_context.clone().unwrap_or_default();
    let server = config
        .contexts
        .iter()
        .find(|c| c.name == context)
        .and_then(|c| c.context.as_ref())
        .and_then(|c| config.clusters.iter().find(|k| k.name == c.cluster))
        .and_then(|k| k.cluster.as_ref())
        .and_then(|k| k.server.clone())
        .unwrap_or_else(|| "(no server)".into());
    format!("context `{context}` ({server})")
}

fn kube(e: &KubeError) -> Option<String> {
    let KubeError::Api {
        operation,
        object,
        code,
        message,
        ..
    } = e
    else {
        return None;
    };
    const UPDATE: &str = "`aws eks update-kubeconfig --name CLUSTER --region REGION` writes a working context; --kubeconfig and --context pick another";
    match code {
        None => Some(format!(
            "cannot reach the Kubernetes API of {} to {operation} {object}: {}\n  check that the cluster is up and reachable; {UPDATE}",
            kube_target(),
            first_line(message)
        )),
        Some(401 | 403) => Some(format!(
            "the Kubernetes API of {} refused to {operation} {object}: {}\n  the context's credentials lack the permission (EKS access entries or aws-auth); {UPDATE}",
            kube_target(),
            first_line(message)
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connector_chain_is_cut_to_its_cause() {
        let message = "dispatch failure: io error: client error (Connect): tcp connect error: Connection refused (os error 111) (DispatchFailure(DispatchFailure { source: … }))";
        assert_eq!(
            transport_cause(message),
            "client error (Connect): tcp connect error: Connection refused (os error 111)"
        );
        assert_eq!(service("sts:GetCallerIdentity"), "sts");
    }

    #[test]
    fn an_access_denied_names_the_caller_action_resource_and_command() {
        let e = AwsError {
            kind: ErrorKind::AccessDenied,
            operation: "iam:CreateRole",
            resource: "irsa-demo-x".into(),
            code: Some("AccessDenied".into()),
            message: "User: arn:aws:sts::123456789012:assumed-role/ci/run-7 is not authorized to perform: iam:CreateRole on resource: arn:aws:iam::123456789012:role/irsa-demo-x because no identity-based policy allows the iam:CreateRole action".into(),
        };
        assert_eq!(
            denial(&e).unwrap(),
            format!(
                "the caller (arn:aws:sts::123456789012:assumed-role/ci/run-7) may not iam:CreateRole on arn:aws:iam::123456789012:role/irsa-demo-x; irsa permissions {} prints the policy it needs",
                permissions_of()
            )
        );
    }

    #[test]
    fn errors_without_a_remedy_pass_through() {
        let e = AwsError::new(ErrorKind::NotFound, "iam:GetRole", "app", "no such role");
        assert_eq!(
            explain("reading", &e),
            "reading: iam:GetRole app: no such role"
        );
    }
}
