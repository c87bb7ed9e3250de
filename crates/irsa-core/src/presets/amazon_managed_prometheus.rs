//! Prometheus (or the ADOT collector) writing metrics to Amazon Managed Service for Prometheus
//! with remote write. The AMP user guide ("Set up service roles for the ingestion of metrics from
//! Amazon EKS clusters") runs the Prometheus server as
//! `prometheus/amp-iamproxy-ingest-service-account` and attaches the AWS managed
//! `AmazonPrometheusRemoteWriteAccess` (`aps:RemoteWrite` on every workspace); `workspaceArns`
//! instead creates a customer-managed policy allowing `aps:RemoteWrite` on exactly those
//! workspaces.

use serde_json::json;

use super::common::{
    ArnKind, managed_only, one_document, partition, reject_unknown_options, resource_arns,
};
use super::{Install, Preset, PresetError, PresetOption, PresetParams, PresetPolicies, Source};

pub(crate) const NAME: &str = "amazon-managed-prometheus";

const OPTIONS: &[PresetOption] = &[PresetOption {
    name: "workspaceArns",
    help: "list of AMP workspace ARNs (arn:aws:aps:<region>:<account>:workspace/ws-…) to write to; \
           default: the AWS managed AmazonPrometheusRemoteWriteAccess (every workspace)",
}];

pub(crate) const PRESET: Preset = Preset {
    name: NAME,
    summary: "Prometheus remote write to Amazon Managed Service for Prometheus (aps:RemoteWrite)",
    namespace: "prometheus",
    service_account: "amp-iamproxy-ingest-service-account",
    source: Source {
        url: "https://docs.aws.amazon.com/prometheus/latest/userguide/set-up-irsa.html",
        checked: "2026-12-01",
    },
    install: Install::Helm {
        repo: "https://prometheus-community.github.io/helm-charts",
        chart: "prometheus",
    },
    options: OPTIONS,
    render,
    helm_service_account_path: Some("serviceAccounts.server"),
    notes: &[
        "Helm values commonly set: server.remoteWrite[0].url=https://aps-workspaces.<region>.amazonaws.com/workspaces/<ws-id>/api/v1/remote_write \
         with sigv4.region=<region>.",
    ],
    eksctl_well_known: None,
    example_options: &[],
};

const WORKSPACE: ArnKind = ArnKind {
    service: "aps",
    resource_prefix: "workspace/",
    example: "arn:aws:aps:us-east-1:123456789012:workspace/ws-0123abcd-4567-89ef-0123-456789abcdef",
    wildcards: true,
};

fn render(params: &PresetParams) -> Result<PresetPolicies, PresetError> {
    reject_unknown_options(NAME, params, OPTIONS)?;
    let workspaces = resource_arns(NAME, params, "workspaceArns", &WORKSPACE)?;
    if workspaces.is_empty() {
        return Ok(managed_only(
            partition(params),
            &["AmazonPrometheusRemoteWriteAccess"],
        ));
    }
    Ok(one_document(
        NAME,
        vec![json!({
            "Sid": "RemoteWrite",
            "Effect": "Allow",
            "Action": ["aps:RemoteWrite"],
            "Resource": workspaces,
        })],
    ))
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::params_with;
    use super::*;

    #[test]
    fn managed_by_default_scoped_on_request() {
        let managed = (PRESET.render)(&params_with(None, &[])).unwrap();
        assert_eq!(
            managed.managed_arns,
            ["arn:aws:iam::aws:policy/AmazonPrometheusRemoteWriteAccess"]
        );
        let ws = "arn:aws:aps:us-east-1:123456789012:workspace/ws-1";
        let scoped = (PRESET.render)(&params_with(None, &[("workspaceArns", &[ws])])).unwrap();
        assert!(scoped.managed_arns.is_empty());
        assert_eq!(
            scoped.documents[0].1["Statement"][0]["Resource"],
            json!([ws])
        );
        assert!((PRESET.render)(&params_with(None, &[("workspaceArns", &["ws-1"])])).is_err());
    }
}
