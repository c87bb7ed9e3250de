//! Calls made as an assumed role, with the [`TemporaryCredentials`] from
//! [`assume_role_with_web_identity`](crate::assume_role_with_web_identity): the proof that the
//! credentials work ([`caller_identity_with`], `sts:GetCallerIdentity`, whose ARN must be
//! `arn:<partition>:sts::<account>:assumed-role/<role>/<session>`) and a live permission check
//! for a few read-only actions ([`try_read_action`]). The clients are copies of [`Clients`]'s (same
//! endpoints, region, retries and call-counting interceptor) with only the credentials replaced,
//! so these calls are counted too. The credentials never appear in errors.

use aws_sdk_sts::config::Credentials;

use crate::clients::Clients;
use crate::error::{AwsError, ErrorKind};
use crate::web_identity::TemporaryCredentials;

/// Who the caller is, as `sts:GetCallerIdentity` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    pub account: String,
    pub arn: String,
    /// `AROA…:<session>` for an assumed role.
    pub user_id: String,
}

fn static_credentials(credentials: &TemporaryCredentials) -> Credentials {
    Credentials::new(
        credentials.access_key_id.clone(),
        credentials.secret_access_key.clone(),
        Some(credentials.session_token.clone()),
        None,
        "irsa-assumed-role",
    )
}

fn sts_as(clients: &Clients, credentials: &TemporaryCredentials) -> aws_sdk_sts::Client {
    let config = clients
        .sts
        .config()
        .to_builder()
        .credentials_provider(static_credentials(credentials))
        .build();
    aws_sdk_sts::Client::from_conf(config)
}

fn iam_as(clients: &Clients, credentials: &TemporaryCredentials) -> aws_sdk_iam::Client {
    let config = clients
        .iam
        .config()
        .to_builder()
        .credentials_provider(static_credentials(credentials))
        .build();
    aws_sdk_iam::Client::from_conf(config)
}

fn eks_as(
    clients: &Clients,
    credentials: &TemporaryCredentials,
    region: Option<&str>,
) -> aws_sdk_eks::Client {
    let mut config = clients
        .eks
        .config()
        .to_builder()
        .credentials_provider(static_credentials(credentials));
    if let Some(region) = region.filter(|r| !r.is_empty()) {
        config = config.region(aws_config::Region::new(region.to_string()));
    }
    aws_sdk_eks::Client::from_conf(config.build())
}

/// `sts:GetCallerIdentity` with the temporary credentials.
pub async fn caller_identity_with(
    clients: &Clients,
    credentials: &TemporaryCredentials,
) -> Result<CallerIdentity, AwsError> {
    const OP: &str = "sts:GetCallerIdentity";
    let resource = credentials
        .assumed_role_arn
        .as_deref()
        .unwrap_or("the assumed role");
    let out = sts_as(clients, credentials)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(OP, resource, e))?;
    let field = |value: Option<&str>, name: &str| {
        value.map(str::to_string).ok_or_else(|| {
            AwsError::new(
                ErrorKind::InvalidResponse,
                OP,
                resource,
                format!("no {name} in the answer"),
            )
        })
    };
    Ok(CallerIdentity {
        account: field(out.account(), "Account")?,
        arn: field(out.arn(), "Arn")?,
        user_id: field(out.user_id(), "UserId")?,
    })
}

/// The read-only actions [`try_read_action`] can make, and the resource each expects.
pub const TRYABLE_ACTIONS: &[(&str, &str)] = &[
    ("sts:GetCallerIdentity", "any"),
    ("iam:GetRole", "a role ARN"),
    ("iam:GetPolicy", "a managed policy ARN"),
    ("eks:DescribeCluster", "a cluster ARN"),
];

/// The last `/`-separated part of an ARN's resource, when `arn`'s resource starts with `kind/`.
fn arn_name<'a>(arn: &'a str, kind: &str) -> Option<&'a str> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let rest = resource.strip_prefix(kind)?.strip_prefix('/')?;
    rest.rsplit('/').next().filter(|n| !n.is_empty())
}

/// Makes `action` on `resource` with the temporary credentials, for the actions in
/// [`TRYABLE_ACTIONS`] (names compared case-insensitively, as IAM does): `Some(true)` when
/// allowed (also when the resource does not exist: AWS checks permissions first), `Some(false)`
/// on [`ErrorKind::AccessDenied`], `None` for an action not in the list or a resource that is
/// not what it expects. Other failures are errors.
pub async fn try_read_action(
    clients: &Clients,
    credentials: &TemporaryCredentials,
    action: &str,
    resource: &str,
) -> Result<Option<bool>, AwsError> {
    let result = match action.to_ascii_lowercase().as_str() {
        "sts:getcalleridentity" => caller_identity_with(clients, credentials).await.map(drop),
        "iam:getrole" => {
            let Some(name) = arn_name(resource, "role") else {
                return Ok(None);
            };
            iam_as(clients, credentials)
                .get_role()
                .role_name(name)
                .send()
                .await
                .map(drop)
                .map_err(|e| AwsError::from_sdk("iam:GetRole", resource, e))
        }
        "iam:getpolicy" => {
            if arn_name(resource, "policy").is_none() {
                return Ok(None);
            }
            iam_as(clients, credentials)
                .get_policy()
                .policy_arn(resource)
                .send()
                .await
                .map(drop)
                .map_err(|e| AwsError::from_sdk("iam:GetPolicy", resource, e))
        }
        "eks:describecluster" => {
            let Some(name) = arn_name(resource, "cluster") else {
                return Ok(None);
            };
            let region = resource.split(':').nth(3);
            eks_as(clients, credentials, region)
                .describe_cluster()
                .name(name)
                .send()
                .await
                .map(drop)
                .map_err(|e| AwsError::from_sdk("eks:DescribeCluster", resource, e))
        }
        _ => return Ok(None),
    };
    match result {
        Ok(()) => Ok(Some(true)),
        Err(e) if e.kind == ErrorKind::AccessDenied => Ok(Some(false)),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(Some(true)),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_arns() {
        assert_eq!(
            arn_name("arn:aws:iam::111122223333:role/path/app", "role"),
            Some("app")
        );
        assert_eq!(
            arn_name("arn:aws:eks:eu-west-1:111122223333:cluster/demo", "cluster"),
            Some("demo")
        );
        assert_eq!(arn_name("arn:aws:iam::111122223333:user/u", "role"), None);
        assert_eq!(arn_name("*", "role"), None);
    }
}
