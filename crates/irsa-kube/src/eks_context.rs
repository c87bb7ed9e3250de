//! Which EKS cluster a kubeconfig context talks to, so that commands need no `--cluster` when
//! the kubeconfig already says it. Pure but for [`read`] (the file): [`eks_context`] reads a parsed
//! [`Kubeconfig`] and looks, in this order, at
//! 1. the context's name, then its cluster entry's name, as an EKS cluster ARN
//!    (`arn:aws:eks:us-east-1:123456789012:cluster/demo`, how `aws eks update-kubeconfig` names
//!    both), which gives name, region and account;
//! 2. the context user's `exec` credential plugin: `aws eks get-token --cluster-name C
//!    [--region R]` (update-kubeconfig, eksctl) or `aws-iam-authenticator token -i C`
//!    (`--cluster-id C`), which give the name and maybe the region.
//!
//! When none of them names a cluster, [`NotEks`] says what was found.

use std::path::Path;

use kube::config::{Kubeconfig, NamedAuthInfo};

/// The EKS cluster a context names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EksContext {
    /// The context it was read from.
    pub context: String,
    pub cluster: String,
    pub region: Option<String>,
    pub account: Option<String>,
    /// Where the name came from.
    pub found_in: FoundIn,
}

/// Which part of the context named the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoundIn {
    /// The context's name is the cluster's ARN.
    ContextArn,
    /// The context's cluster entry is named by the cluster's ARN.
    ClusterArn,
    /// `aws eks get-token --cluster-name …` in the user's exec plugin.
    AwsEksGetToken,
    /// `aws-iam-authenticator token -i …` in the user's exec plugin.
    AwsIamAuthenticator,
}

impl FoundIn {
    /// How a person would say it: "the context's ARN", "`aws eks get-token`".
    pub fn describe(self) -> &'static str {
        match self {
            FoundIn::ContextArn => "the context's EKS ARN",
            FoundIn::ClusterArn => "the context cluster's EKS ARN",
            FoundIn::AwsEksGetToken => "its `aws eks get-token` credentials",
            FoundIn::AwsIamAuthenticator => "its `aws-iam-authenticator token` credentials",
        }
    }
}

/// Why no EKS cluster could be told, with what was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotEks {
    #[error("the kubeconfig has no current context")]
    NoCurrentContext,
    #[error("the kubeconfig has no context `{0}`")]
    NoSuchContext(String),
    #[error(
        "kubeconfig context `{context}` (cluster `{cluster}`, server {server}, user `{user}`) names no EKS cluster: neither an EKS cluster ARN nor `aws eks get-token` / `aws-iam-authenticator` credentials"
    )]
    NotEks {
        context: String,
        cluster: String,
        server: String,
        user: String,
    },
}

/// The EKS cluster of `context` (None: the current context) in `config`.
pub fn eks_context(config: &Kubeconfig, context: Option<&str>) -> Result<EksContext, NotEks> {
    let name = context
        .map(str::to_string)
        .or_else(|| config.current_context.clone())
        .filter(|n| !n.is_empty())
        .ok_or(NotEks::NoCurrentContext)?;
    let entry = config
        .contexts
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| NotEks::NoSuchContext(name.clone()))?;
    let cluster_name = entry
        .context
        .as_ref()
        .map(|c| c.cluster.clone())
        .unwrap_or_default();
    let user_name = entry
        .context
        .as_ref()
        .and_then(|c| c.user.clone())
        .unwrap_or_default();
    let found = |found_in, (cluster, region, account): (String, Option<String>, Option<String>)| {
        EksContext {
            context: name.clone(),
            cluster,
            region,
            account,
            found_in,
        }
    };
    if let Some(arn) = parse_cluster_arn(&name) {
        return Ok(found(FoundIn::ContextArn, arn));
    }
    if let Some(arn) = parse_cluster_arn(&cluster_name) {
        return Ok(found(FoundIn::ClusterArn, arn));
    }
    let user = config.auth_infos.iter().find(|u| u.name == user_name);
    if let Some((found_in, cluster, region)) = user.and_then(exec_cluster) {
        return Ok(found(found_in, (cluster, region, None)));
    }
    let server = config
        .clusters
        .iter()
        .find(|c| c.name == cluster_name)
        .and_then(|c| c.cluster.as_ref())
        .and_then(|c| c.server.clone())
        .unwrap_or_else(|| "(none)".to_string());
    Err(NotEks::NotEks {
        context: name,
        cluster: cluster_name,
        server,
        user: user_name,
    })
}

/// `arn:<partition>:eks:<region>:<account>:cluster/<name>` → (name, region, account).
pub fn parse_cluster_arn(arn: &str) -> Option<(String, Option<String>, Option<String>)> {
    let mut parts = arn.splitn(6, ':');
    let (prefix, _partition, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let name = resource.strip_prefix("cluster/")?;
    if prefix != "arn" || service != "eks" || name.is_empty() || name.contains('/') {
        return None;
    }
    let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
    Some((name.to_string(), some(region), some(account)))
}

/// The cluster (and region) an exec credential plugin gets tokens for.
fn exec_cluster(user: &NamedAuthInfo) -> Option<(FoundIn, String, Option<String>)> {
    let exec = user.auth_info.as_ref()?.exec.as_ref()?;
    let command = exec.command.as_deref()?;
    let program = Path::new(command).file_name()?.to_str()?;
    let args = exec.args.clone().unwrap_or_default();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match program {
        "aws" if has_sequence(&words, &["eks", "get-token"]) => {
            let cluster = flag_value(&words, &["--cluster-name"])?;
            let region = flag_value(&words, &["--region"]).or_else(|| exec_env(exec, "AWS_REGION"));
            Some((FoundIn::AwsEksGetToken, cluster, region))
        }
        "aws-iam-authenticator" if words.contains(&"token") => {
            let cluster = flag_value(&words, &["-i", "--cluster-id"])?;
            let region = flag_value(&words, &["--region"]).or_else(|| exec_env(exec, "AWS_REGION"));
            Some((FoundIn::AwsIamAuthenticator, cluster, region))
        }
        _ => None,
    }
}

fn has_sequence(words: &[&str], sequence: &[&str]) -> bool {
    words.windows(sequence.len()).any(|w| w == sequence)
}

/// The value of `--flag VALUE` or `--flag=VALUE`, for any of `names`.
fn flag_value(words: &[&str], names: &[&str]) -> Option<String> {
    words
        .iter()
        .enumerate()
        .find_map(|(i, word)| {
            names.iter().find_map(|name| {
                if word == name {
                    words.get(i + 1).map(|v| v.to_string())
                } else {
                    word.strip_prefix(name)?
                        .strip_prefix('=')
                        .map(str::to_string)
                }
            })
        })
        .filter(|v| !v.is_empty())
}

fn exec_env(exec: &kube::config::ExecConfig, key: &str) -> Option<String> {
    exec.env
        .as_ref()?
        .iter()
        .find(|e| e.get("name").map(String::as_str) == Some(key))
        .and_then(|e| e.get("value").cloned())
}

/// Reads the kubeconfig as kubectl does: `path`, else `KUBECONFIG` (its files merged), else
/// `~/.kube/config`.
pub fn read(path: Option<&Path>) -> Result<Kubeconfig, String> {
    match path {
        Some(path) => Kubeconfig::read_from(path).map_err(|e| format!("{}: {e}", path.display())),
        None => Kubeconfig::read().map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> Kubeconfig {
        Kubeconfig::from_yaml(yaml).unwrap()
    }

    // The shape `aws eks update-kubeconfig --name demo --region us-east-1` writes (AWS CLI
    // docs, "Creating or updating a kubeconfig file for an Amazon EKS cluster").
    const UPDATE_KUBECONFIG: &str = r#"
apiVersion: v1
kind: Config
clusters:
- cluster:
    server: https://ABC.gr7.us-east-1.eks.amazonaws.com
  name: arn:aws:eks:us-east-1:123456789012:cluster/demo
contexts:
- context:
    cluster: arn:aws:eks:us-east-1:123456789012:cluster/demo
    user: arn:aws:eks:us-east-1:123456789012:cluster/demo
  name: arn:aws:eks:us-east-1:123456789012:cluster/demo
- context:
    cluster: arn:aws:eks:eu-west-1:123456789012:cluster/other
    user: eks-user
  name: renamed
- context:
    cluster: eksctl-cluster.eu-west-1.eksctl.io
    user: eksctl-user
  name: eksctl
- context:
    cluster: legacy
    user: authenticator
  name: legacy
- context:
    cluster: kind-kind
    user: kind-kind
  name: kind-kind
current-context: arn:aws:eks:us-east-1:123456789012:cluster/demo
users:
- name: arn:aws:eks:us-east-1:123456789012:cluster/demo
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [--region, us-east-1, eks, get-token, --cluster-name, demo, --output, json]
- name: eksctl-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: /usr/local/bin/aws
      args: [eks, get-token, --output, json, --cluster-name=blue]
      env:
      - name: AWS_REGION
        value: eu-west-1
- name: authenticator
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws-iam-authenticator
      args: [token, -i, legacy-cluster]
- name: kind-kind
  user:
    client-certificate-data: AAAA
"#;

    #[test]
    fn the_current_update_kubeconfig_context_is_read_from_its_arn() {
        let found = eks_context(&config(UPDATE_KUBECONFIG), None).unwrap();
        assert_eq!(found.cluster, "demo");
        assert_eq!(found.region.as_deref(), Some("us-east-1"));
        assert_eq!(found.account.as_deref(), Some("123456789012"));
        assert_eq!(found.found_in, FoundIn::ContextArn);
    }

    #[test]
    fn a_renamed_context_is_read_from_its_clusters_arn() {
        let found = eks_context(&config(UPDATE_KUBECONFIG), Some("renamed")).unwrap();
        assert_eq!(
            (found.cluster.as_str(), found.found_in),
            ("other", FoundIn::ClusterArn)
        );
        assert_eq!(found.region.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn exec_plugins_name_the_cluster() {
        let eksctl = eks_context(&config(UPDATE_KUBECONFIG), Some("eksctl")).unwrap();
        assert_eq!(
            (eksctl.cluster.as_str(), eksctl.found_in),
            ("blue", FoundIn::AwsEksGetToken)
        );
        assert_eq!(eksctl.region.as_deref(), Some("eu-west-1"));
        let legacy = eks_context(&config(UPDATE_KUBECONFIG), Some("legacy")).unwrap();
        assert_eq!(legacy.cluster, "legacy-cluster");
        assert_eq!(legacy.found_in, FoundIn::AwsIamAuthenticator);
        assert_eq!(legacy.region, None);
    }

    #[test]
    fn a_context_that_is_not_eks_says_what_it_found() {
        let err = eks_context(&config(UPDATE_KUBECONFIG), Some("kind-kind")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "kubeconfig context `kind-kind` (cluster `kind-kind`, server (none), user `kind-kind`) names no EKS cluster: neither an EKS cluster ARN nor `aws eks get-token` / `aws-iam-authenticator` credentials"
        );
        let missing = eks_context(&config(UPDATE_KUBECONFIG), Some("nope")).unwrap_err();
        assert_eq!(missing, NotEks::NoSuchContext("nope".into()));
        let empty = config("apiVersion: v1\nkind: Config\n");
        assert_eq!(
            eks_context(&empty, None).unwrap_err(),
            NotEks::NoCurrentContext
        );
    }

    #[test]
    fn cluster_arns_are_parsed_strictly() {
        assert_eq!(
            parse_cluster_arn("arn:aws-cn:eks:cn-north-1:123456789012:cluster/a-b"),
            Some((
                "a-b".into(),
                Some("cn-north-1".into()),
                Some("123456789012".into())
            ))
        );
        assert_eq!(parse_cluster_arn("arn:aws:iam::123456789012:role/x"), None);
        assert_eq!(
            parse_cluster_arn("arn:aws:eks:us-east-1:123456789012:nodegroup/a/b"),
            None
        );
        assert_eq!(parse_cluster_arn("demo"), None);
    }
}
