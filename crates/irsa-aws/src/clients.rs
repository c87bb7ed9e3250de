//! The SDK clients irsa uses, built from one `SdkConfig`. IAM is a global service: its requests
//! are signed for the partition's IAM region (`us-east-1` for `aws`, `cn-north-1` for `aws-cn`,
//! `us-gov-west-1` for `aws-us-gov`) whatever region is configured, which matters once an
//! endpoint override is set (the SDK then signs with the configured region). STS and EKS use the
//! configured region, as do Auto Scaling, KMS and S3 (read by `irsa doctor`) and CloudTrail (its
//! event history is per region); Organizations is global and signed like IAM. Every client gets the same retry settings (adaptive, `max_attempts`; tests
//! use 1 because moto answers unimplemented calls with HTTP 500) and the call-counting
//! interceptor. Endpoint overrides come from the config: `aws_config` reads `AWS_ENDPOINT_URL`
//! and `AWS_ENDPOINT_URL_IAM` / `_STS` / `_EKS` / `_CLOUDTRAIL` (and the profile's `endpoint_url`), and each
//! client picks its own when built; [`Options::eks_endpoint_url`] overrides EKS explicitly for
//! hand-built configs (the tests' fake EKS).

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;

use crate::stats::{CallStats, Counters, CountingInterceptor};

/// Requests in flight at once unless the user says otherwise (`--concurrency`). With 50 ms per
/// call, 50 bindings take 2.2× the time of one at 32 and 3.2× at 16 (docs/benchmarks.md); a
/// throttled burst is slowed down by the adaptive retry's client-side rate limiter.
pub const DEFAULT_MAX_CONCURRENCY: usize = 32;

/// Settings of the adapter.
#[derive(Debug, Clone)]
pub struct Options {
    /// Attempts per call, including the first (adaptive retry with backoff).
    pub max_attempts: u32,
    /// How long to wait for an add-on to become ACTIVE.
    pub addon_timeout: Duration,
    /// How long to keep retrying a call that fails because a just-created role or policy is not
    /// visible yet (IAM is eventually consistent).
    pub consistency_timeout: Duration,
    /// At most this many requests in flight during [`observe`](crate::observe()).
    pub max_concurrency: usize,
    /// EKS endpoint, overriding the config's (for hand-built configs; the environment's
    /// `AWS_ENDPOINT_URL_EKS` is already honoured without it).
    pub eks_endpoint_url: Option<String>,
    /// EKS Auth endpoint, likewise (`AWS_ENDPOINT_URL_EKS_AUTH` is honoured without it).
    pub eks_auth_endpoint_url: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_attempts: 5,
            addon_timeout: Duration::from_secs(600),
            consistency_timeout: Duration::from_secs(30),
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            eks_endpoint_url: None,
            eks_auth_endpoint_url: None,
        }
    }
}

/// The IAM, STS, EKS, EKS Auth, Auto Scaling, CloudTrail, KMS, S3 and Organizations clients, and
/// the counts of calls made through them.
#[derive(Debug, Clone)]
pub struct Clients {
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
    pub eks: aws_sdk_eks::Client,
    /// EKS Auth (`AssumeRoleForPodIdentity`, what the Pod Identity agent calls).
    pub eks_auth: aws_sdk_eksauth::Client,
    pub autoscaling: aws_sdk_autoscaling::Client,
    pub cloudtrail: aws_sdk_cloudtrail::Client,
    /// KMS (key policies of the keys a workload uses; a key in another region gets a client for
    /// its region, see [`Clients::kms_for_region`]).
    pub kms: aws_sdk_kms::Client,
    /// S3 (bucket policies and the account's buckets).
    pub s3: aws_sdk_s3::Client,
    /// AWS Organizations (the SCPs over the account), a global service signed like IAM.
    pub organizations: aws_sdk_organizations::Client,
    /// The configured region (of STS, EKS, Auto Scaling and CloudTrail).
    pub region: String,
    options: Options,
    counters: Arc<Counters>,
}

impl Clients {
    pub fn from_conf(conf: &SdkConfig, options: Options) -> Clients {
        let counters = Arc::new(Counters::default());
        let interceptor = SharedInterceptor::new(CountingInterceptor {
            counters: counters.clone(),
        });
        let retry = RetryConfig::adaptive().with_max_attempts(options.max_attempts.max(1));
        let region = conf.region().map(|r| r.to_string()).unwrap_or_default();

        let iam = aws_sdk_iam::config::Builder::from(conf)
            .region(aws_config::Region::new(iam_signing_region(&region)))
            .retry_config(retry.clone())
            .interceptor(interceptor.clone())
            .build();
        let sts = aws_sdk_sts::config::Builder::from(conf)
            .retry_config(retry.clone())
            .interceptor(interceptor.clone())
            .build();
        let autoscaling = aws_sdk_autoscaling::config::Builder::from(conf)
            .retry_config(retry.clone())
            .interceptor(interceptor.clone())
            .build();
        let cloudtrail = aws_sdk_cloudtrail::config::Builder::from(conf)
            .retry_config(retry.clone())
            .interceptor(interceptor.clone())
            .build();
        let kms = aws_sdk_kms::config::Builder::from(conf)
            .retry_config(retry.clone())
            .interceptor(interceptor.clone())
            .build();
        let s3 = aws_sdk_s3::config::Builder::from(conf)
            .retry_config(retry.clone())
            .interceptor(interceptor.clone())
            .build();
        let organizations = aws_sdk_organizations::config::Builder::from(conf)
            .region(aws_config::Region::new(iam_signing_region(&region)))
            .retry_config(retry.clone())
            .interceptor(interceptor.clone())
            .build();
        let mut eks_auth = aws_sdk_eksauth::config::Builder::from(conf)
            .retry_config(retry.clone())
            .interceptor(interceptor.clone());
        if let Some(url) = &options.eks_auth_endpoint_url {
            eks_auth = eks_auth.endpoint_url(url);
        }
        let mut eks = aws_sdk_eks::config::Builder::from(conf)
            .retry_config(retry)
            .interceptor(interceptor);
        if let Some(url) = &options.eks_endpoint_url {
            eks = eks.endpoint_url(url);
        }
        Clients {
            iam: aws_sdk_iam::Client::from_conf(iam),
            sts: aws_sdk_sts::Client::from_conf(sts),
            eks: aws_sdk_eks::Client::from_conf(eks.build()),
            eks_auth: aws_sdk_eksauth::Client::from_conf(eks_auth.build()),
            autoscaling: aws_sdk_autoscaling::Client::from_conf(autoscaling),
            cloudtrail: aws_sdk_cloudtrail::Client::from_conf(cloudtrail),
            kms: aws_sdk_kms::Client::from_conf(kms),
            s3: aws_sdk_s3::Client::from_conf(s3),
            organizations: aws_sdk_organizations::Client::from_conf(organizations),
            region,
            options,
            counters,
        }
    }

    /// Calls made so far through these clients (and their clones).
    pub fn stats(&self) -> CallStats {
        self.counters.snapshot()
    }

    /// The KMS client for `region`: keys are regional, and a key policy is read in the key's
    /// region.
    pub fn kms_for_region(&self, region: &str) -> aws_sdk_kms::Client {
        if region.is_empty() || region == self.region {
            return self.kms.clone();
        }
        let conf = self
            .kms
            .config()
            .to_builder()
            .region(aws_config::Region::new(region.to_string()))
            .build();
        aws_sdk_kms::Client::from_conf(conf)
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The same clients, reading with at most `max_concurrency` requests in flight.
    pub fn with_max_concurrency(mut self, max_concurrency: usize) -> Clients {
        self.options.max_concurrency = max_concurrency.max(1);
        self
    }
}

/// The region IAM requests are signed for, by the partition of the configured region.
pub fn iam_signing_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "cn-north-1"
    } else if region.starts_with("us-gov-") {
        "us-gov-west-1"
    } else {
        "us-east-1"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_iam_for_the_partition() {
        assert_eq!(iam_signing_region("eu-west-1"), "us-east-1");
        assert_eq!(iam_signing_region("cn-northwest-1"), "cn-north-1");
        assert_eq!(iam_signing_region("us-gov-east-1"), "us-gov-west-1");
        assert_eq!(iam_signing_region(""), "us-east-1");
    }
}
