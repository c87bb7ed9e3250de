//! Shared by the adapter's integration tests: clients for a local endpoint (moto or a fake in
//! front of it) with static test credentials and one attempt per call.
#![allow(dead_code)] // each test crate uses a different part

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iam::config::{Credentials, SharedCredentialsProvider};
use irsa_aws::{Clients, Options};

/// Clients for every service at `endpoint` in us-east-1; `options.max_attempts` is forced to 1
/// (moto answers what it does not implement with HTTP 500, not worth retrying).
pub fn clients_for(endpoint: &str, options: Options) -> Clients {
    let conf = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "irsa-tests",
        )))
        .endpoint_url(endpoint)
        .build();
    Clients::from_conf(
        &conf,
        Options {
            max_attempts: 1,
            ..options
        },
    )
}
