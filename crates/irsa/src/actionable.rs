//! Errors a person can act on: the failures every command can meet before it does anything of
//! its own — no AWS credentials, credentials AWS refuses, an AWS endpoint or the Kubernetes API
//! that cannot be reached or refuses — said in one or two lines with what to do, instead of the
//! SDK's provider-chain or connector dumps. The full detail is kept for `--debug` (or
//! `RUST_LOG=debug`). Other errors pass through as they are.

use std::error::Error;

use irsa_aws::{AwsError, ErrorKind};
use irsa_kube::KubeError;

/// The message for `error`, met while doing `what` (`observing AWS`).
pub fn explain(what: &str, error: &(dyn Error + 'static)) -> String {
    let explained = error
        .downcast_ref::<AwsError>()
        .and_then(aws)
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
    fn errors_without_a_remedy_pass_through() {
        let e = AwsError::new(ErrorKind::NotFound, "iam:GetRole", "app", "no such role");
        assert_eq!(
            explain("reading", &e),
            "reading: iam:GetRole app: no such role"
        );
    }
}
