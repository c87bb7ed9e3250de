//! Amazon CloudWatch Observability EKS add-on (`amazon-cloudwatch/cloudwatch-agent`): the
//! CloudWatch agent and Fluent Bit for Container Insights metrics and logs. The add-on creates
//! the service account: irsa creates the role only, with the AWS managed
//! `CloudWatchAgentServerPolicy` the CloudWatch user guide names ("Install the CloudWatch agent
//! with the Amazon CloudWatch Observability EKS add-on"). `xray: true` adds the AWS managed
//! `AWSXrayWriteOnlyAccess` for Application Signals traces.

use super::common::{bool_option, managed_only, partition, reject_unknown_options};
use super::{Install, Preset, PresetError, PresetOption, PresetParams, PresetPolicies, Source};

pub(crate) const NAME: &str = "cloudwatch-observability";

const OPTIONS: &[PresetOption] = &[PresetOption {
    name: "xray",
    help: "`true`: also attach AWSXrayWriteOnlyAccess (Application Signals traces); default `false`",
}];

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
    ],
    eksctl_well_known: None,
    example_options: &[],
};

fn render(params: &PresetParams) -> Result<PresetPolicies, PresetError> {
    reject_unknown_options(NAME, params, OPTIONS)?;
    let mut policies = vec!["CloudWatchAgentServerPolicy"];
    if bool_option(NAME, params, "xray", false)? {
        policies.push("AWSXrayWriteOnlyAccess");
    }
    Ok(managed_only(partition(params), &policies))
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::params_with;
    use super::*;

    #[test]
    fn managed_policies() {
        assert_eq!(
            (PRESET.render)(&params_with(None, &[]))
                .unwrap()
                .managed_arns,
            ["arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"]
        );
        assert_eq!(
            (PRESET.render)(&params_with(None, &[("xray", &["true"])]))
                .unwrap()
                .managed_arns,
            [
                "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy",
                "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"
            ]
        );
        assert!((PRESET.render)(&params_with(None, &[("xray", &["yes"])])).is_err());
    }
}
