//! The connection to a cluster. [`KubeClient::from_kubeconfig`] follows kubectl's rules: a
//! given kubeconfig file and context, else `KUBECONFIG` / `~/.kube/config` (its current context
//! unless one is named), else the in-cluster service-account configuration.
//! [`KubeClient::from_url`] talks to a server with no credentials (tests, the sandbox's fake).

use std::path::Path;

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::KubeError;

/// A Kubernetes API client (cheap to clone; requests share one connection pool).
#[derive(Clone)]
pub struct KubeClient {
    client: kube::Client,
    default_namespace: String,
}

impl std::fmt::Debug for KubeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeClient")
            .field("default_namespace", &self.default_namespace)
            .finish_non_exhaustive()
    }
}

impl KubeClient {
    /// A client from a kubeconfig. `path`: that file, else the standard locations and then the
    /// in-cluster configuration; `context`: that context, else the current one.
    pub async fn from_kubeconfig(
        path: Option<&Path>,
        context: Option<&str>,
    ) -> Result<Self, KubeError> {
        let options = KubeConfigOptions {
            context: context.map(str::to_string),
            ..Default::default()
        };
        let described = match (path, context) {
            (Some(p), Some(c)) => Some(format!("{} (context {c})", p.display())),
            (Some(p), None) => Some(p.display().to_string()),
            (None, Some(c)) => Some(format!("context {c}")),
            (None, None) => None,
        };
        let config_error = |message: String| KubeError::Config {
            from: described.clone(),
            message,
        };
        let config = match (path, context) {
            (Some(path), _) => {
                let kubeconfig =
                    Kubeconfig::read_from(path).map_err(|e| config_error(e.to_string()))?;
                kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                    .await
                    .map_err(|e| config_error(e.to_string()))?
            }
            (None, Some(_)) => kube::Config::from_kubeconfig(&options)
                .await
                .map_err(|e| config_error(e.to_string()))?,
            (None, None) => kube::Config::infer()
                .await
                .map_err(|e| config_error(e.to_string()))?,
        };
        Self::from_config(config).map_err(|e| match e {
            KubeError::Config { message, .. } => config_error(message),
            other => other,
        })
    }

    /// A client for the API server at `url` (e.g. `http://127.0.0.1:8080`), without
    /// credentials.
    pub fn from_url(url: &str) -> Result<Self, KubeError> {
        let uri = url.parse().map_err(|e| KubeError::Config {
            from: Some(url.to_string()),
            message: format!("not a URL: {e}"),
        })?;
        Self::from_config(kube::Config::new(uri))
    }

    /// A client from a kube configuration.
    pub fn from_config(config: kube::Config) -> Result<Self, KubeError> {
        let default_namespace = config.default_namespace.clone();
        let from = Some(config.cluster_url.to_string());
        let client = kube::Client::try_from(config).map_err(|e| KubeError::Config {
            from,
            message: e.to_string(),
        })?;
        Ok(KubeClient {
            client,
            default_namespace,
        })
    }

    /// The namespace of the kubeconfig's context (`default` when it names none).
    pub fn default_namespace(&self) -> &str {
        &self.default_namespace
    }

    /// The underlying kube client, for requests this adapter does not wrap.
    pub fn kube(&self) -> &kube::Client {
        &self.client
    }
}
