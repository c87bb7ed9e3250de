//! AWS Node Termination Handler in queue-processor mode (`kube-system/aws-node-termination-handler`):
//! reads spot-interruption, rebalance, scheduled-event and Auto Scaling lifecycle messages from an
//! SQS queue, drains the node, and completes the lifecycle action. Follows the IAM policy in the
//! handler's README (aws/aws-node-termination-handler, "Queue Processor" setup), with the two SQS
//! actions limited to the queue in `queueArn`, which is required: queue-processor mode cannot run
//! without it, and IMDS mode (a DaemonSet reading instance metadata) needs no role at all.

use serde_json::json;

use super::common::{SQS_QUEUE, one_document, reject_unknown_options, single_resource_arn};
use super::{Install, Preset, PresetError, PresetOption, PresetParams, PresetPolicies, Source};

pub(crate) const NAME: &str = "aws-node-termination-handler";

const OPTIONS: &[PresetOption] = &[PresetOption {
    name: "queueArn",
    help: "ARN of the SQS queue the EventBridge rules send termination events to (required; the chart's queueURL)",
}];

pub(crate) const PRESET: Preset = Preset {
    name: NAME,
    summary: "Node Termination Handler (queue processor): drain nodes on events from its SQS queue",
    namespace: "kube-system",
    service_account: "aws-node-termination-handler",
    source: Source {
        url: "https://github.com/aws/aws-node-termination-handler/blob/main/README.md",
        checked: "2026-12-01",
    },
    install: Install::Helm {
        repo: "https://aws.github.io/eks-charts",
        chart: "aws-node-termination-handler",
    },
    options: OPTIONS,
    render,
    helm_service_account_path: Some("serviceAccount"),
    notes: &[
        "Helm values commonly set: enableSqsTerminationDraining=true, queueURL=https://sqs.<region>.amazonaws.com/<account>/<queue>.",
        "IMDS mode needs no IAM role: do not bind this preset then.",
    ],
    eksctl_well_known: None,
    example_options: &[(
        "queueArn",
        &["arn:aws:sqs:us-east-1:123456789012:demo-termination"],
    )],
};

fn render(params: &PresetParams) -> Result<PresetPolicies, PresetError> {
    reject_unknown_options(NAME, params, OPTIONS)?;
    let Some(queue) = single_resource_arn(NAME, params, "queueArn", &SQS_QUEUE)? else {
        return Err(PresetError::Missing {
            preset: NAME,
            what: "queueArn",
            why: "queue-processor mode reads its events from one SQS queue, and the role may read only that queue",
        });
    };
    Ok(one_document(
        NAME,
        vec![
            json!({
                "Sid": "DescribeAndCompleteLifecycle",
                "Effect": "Allow",
                "Action": [
                    "autoscaling:CompleteLifecycleAction",
                    "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeTags",
                    "ec2:DescribeInstances",
                ],
                "Resource": "*",
            }),
            json!({
                "Sid": "ReadTerminationQueue",
                "Effect": "Allow",
                "Action": ["sqs:DeleteMessage", "sqs:ReceiveMessage"],
                "Resource": queue,
            }),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::params_with;
    use super::*;

    #[test]
    fn needs_the_queue() {
        assert!(matches!(
            (PRESET.render)(&params_with(None, &[])),
            Err(PresetError::Missing {
                what: "queueArn",
                ..
            })
        ));
        let queue = "arn:aws:sqs:us-east-1:123456789012:q";
        let doc = (PRESET.render)(&params_with(None, &[("queueArn", &[queue])]))
            .unwrap()
            .documents[0]
            .1
            .clone();
        assert_eq!(doc["Statement"][1]["Resource"], queue);
        assert!(
            (PRESET.render)(&params_with(
                None,
                &[("queueArn", &[queue, "arn:aws:sqs:us-east-1:123456789012:r"])]
            ))
            .is_err()
        );
    }
}
