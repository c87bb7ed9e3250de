//! Counting API calls. An SDK interceptor, installed on every client, counts each HTTP request
//! sent (every attempt, including retries and add-on status polls) and, separately, those whose
//! operation changes something (any operation whose name does not start with `Get`, `List`,
//! `Describe` or `AssumeRole`). The counts feed `irsa apply --stats` and the idempotency tests
//! ("a second apply makes zero mutating calls").

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Counts of requests sent so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallStats {
    pub api_calls: u64,
    pub mutating_calls: u64,
}

/// The shared counters behind [`CallStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    api_calls: AtomicU64,
    mutating_calls: AtomicU64,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> CallStats {
        CallStats {
            api_calls: self.api_calls.load(Ordering::Relaxed),
            mutating_calls: self.mutating_calls.load(Ordering::Relaxed),
        }
    }
}

/// Whether an operation (by its API name) changes state. Assuming a role (`AssumeRole*`, as
/// `irsa verify` does) only mints temporary credentials: not a change; CloudTrail's
/// `LookupEvents` and IAM's `SimulatePrincipalPolicy` only read.
pub fn is_mutating(operation: &str) -> bool {
    ![
        "Get",
        "List",
        "Describe",
        "AssumeRole",
        "Lookup",
        "Simulate",
    ]
    .iter()
    .any(|prefix| operation.starts_with(prefix))
}

/// The interceptor installed on the IAM, STS and EKS clients.
#[derive(Debug, Clone)]
pub(crate) struct CountingInterceptor {
    pub(crate) counters: Arc<Counters>,
}

impl Intercept for CountingInterceptor {
    fn name(&self) -> &'static str {
        "irsa-call-counter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.counters.api_calls.fetch_add(1, Ordering::Relaxed);
        // Unknown operations count as mutating: better to over-report changes than to hide one.
        if cfg.load::<Metadata>().is_none_or(|m| is_mutating(m.name())) {
            self.counters.mutating_calls.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_operations() {
        for read in [
            "GetRole",
            "ListAttachedRolePolicies",
            "DescribeAddon",
            "GetCallerIdentity",
            "AssumeRoleWithWebIdentity",
            "SimulatePrincipalPolicy",
        ] {
            assert!(!is_mutating(read), "{read}");
        }
        for write in [
            "CreateRole",
            "UpdateAssumeRolePolicy",
            "TagRole",
            "AttachRolePolicy",
            "DeleteAddon",
        ] {
            assert!(is_mutating(write), "{write}");
        }
    }
}
