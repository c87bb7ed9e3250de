//! Amazon CloudWatch Observability EKS add-on (`amazon-cloudwatch/cloudwatch-agent`): the
//! CloudWatch agent and Fluent Bit for Container Insights metrics and logs, and Application
//! Signals traces. The add-on creates the service account: irsa creates the role only, with the
//! AWS managed `CloudWatchAgentServerPolicy` the CloudWatch user guide names ("Install the
//! CloudWatch agent with the Amazon CloudWatch Observability EKS add-on"); its current version
//! also allows the X-Ray writes traces need, so no second policy is attached.

use super::common::{managed_only, partition, reject_unknown_options};
use super::{Install, Preset, PresetError, PresetOption, PresetParams, PresetPolicies, Source};

pub(crate) const NAME: &str = "cloudwatch-observability";

const OPTIONS: &[PresetOption] = &[];

pub(crate) const PRESET: Preset = Preset {
    name: NAME,
    summary: "CloudWatch Observability add-on: Container Insights metrics and logs; role only",
    namespace: "amazon-cloudwatch",
    service_account: "cloudwatch-agent",
    source: Source {
        url: "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/install-CloudWatch-Observability-EKS-addon.html",
        checked: "2026-12-01",
    },
    install: Install::EksAddon {
        name: "amazon-cloudwatch-observability",
    },
    options: OPTIONS,
    render,
    helm_service_account_path: None,
    notes: &[
        "The add-on creates amazon-cloudwatch/cloudwatch-agent; pass the role as serviceAccountRoleArn.",
        "Managed policy: https://docs.aws.amazon.com/aws-managed-policy/latest/reference/CloudWatchAgentServerPolicy.html",
    ],
    eksctl_well_known: None,
    example_options: &[],
};

fn render(params: &PresetParams) -> Result<PresetPolicies, PresetError> {
    reject_unknown_options(NAME, params, OPTIONS)?;
    Ok(managed_only(
        partition(params),
        &["CloudWatchAgentServerPolicy"],
    ))
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::params_with;
    use super::*;

    #[test]
    fn the_managed_agent_policy_only() {
        let mut params = params_with(None, &[]);
        params.partition = Some("aws-us-gov".into());
        let policies = (PRESET.render)(&params).unwrap();
        assert_eq!(
            policies.managed_arns,
            ["arn:aws-us-gov:iam::aws:policy/CloudWatchAgentServerPolicy"]
        );
        assert!(policies.documents.is_empty());
        assert!((PRESET.render)(&params_with(None, &[("xray", &["true"])])).is_err());
    }
}
