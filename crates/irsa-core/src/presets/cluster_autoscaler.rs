//! Cluster Autoscaler on AWS: reads Auto Scaling groups, launch templates, instance types and
//! managed node groups, and changes the desired capacity of (or terminates instances in) the
//! groups of one cluster. The permissions follow the IAM policy in the upstream AWS cloud-provider
//! README (kubernetes/autoscaler, `cluster-autoscaler/cloudprovider/aws/README.md`), without
//! `autoscaling:DescribeTags` (dropped upstream in May 2024) and without conditions on
//! `eks:DescribeNodegroup` (upstream PR #6448). The two scaling actions are limited, as upstream
//! recommends, to groups carrying the auto-discovery tags of this cluster
//! (`k8s.io/cluster-autoscaler/<cluster>=owned`, `k8s.io/cluster-autoscaler/enabled=true`), so
//! rendering needs the cluster name and fails without it rather than leaving the statement out.

use serde_json::json;

use super::common::{document, reject_unknown_options, required_cluster};
use super::{Install, Preset, PresetError, PresetOption, PresetParams, PresetPolicies, Source};

pub(crate) const NAME: &str = "cluster-autoscaler";

const OPTIONS: &[PresetOption] = &[];

pub(crate) const PRESET: Preset = Preset {
    name: NAME,
    summary: "Cluster Autoscaler: describe node groups, scale only this cluster's tagged Auto Scaling groups",
    namespace: "kube-system",
    service_account: "cluster-autoscaler",
    source: Source {
        url: "https://github.com/kubernetes/autoscaler/blob/master/cluster-autoscaler/cloudprovider/aws/README.md",
        checked: "2026-11-29",
    },
    install: Install::Helm {
        repo: "https://kubernetes.github.io/autoscaler",
        chart: "cluster-autoscaler",
    },
    options: OPTIONS,
    render,
    helm_service_account_path: Some("rbac.serviceAccount"),
    notes: &[
        "Auto Scaling groups must carry the tags k8s.io/cluster-autoscaler/<cluster>=owned and \
         k8s.io/cluster-autoscaler/enabled=true, or the autoscaler may not scale them.",
        "Helm values commonly set: autoDiscovery.clusterName, awsRegion, rbac.serviceAccount.create=false, \
         rbac.serviceAccount.name=cluster-autoscaler.",
    ],
    eksctl_well_known: Some("autoScaler"),
    example_options: &[],
};

/// Read-only actions the autoscaler needs on every resource.
const DESCRIBE_ACTIONS: &[&str] = &[
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations",
    "autoscaling:DescribeScalingActivities",
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:GetInstanceTypesFromInstanceRequirements",
    "eks:DescribeNodegroup",
];

/// Mutating actions, limited to this cluster's tagged groups.
const SCALE_ACTIONS: &[&str] = &[
    "autoscaling:SetDesiredCapacity",
    "autoscaling:TerminateInstanceInAutoScalingGroup",
];

fn render(params: &PresetParams) -> Result<PresetPolicies, PresetError> {
    reject_unknown_options(NAME, params, OPTIONS)?;
    let cluster = required_cluster(
        NAME,
        params,
        "scaling is limited to Auto Scaling groups tagged k8s.io/cluster-autoscaler/<cluster>=owned; \
         without it the scaling statement cannot be written (irsa will not silently drop it)",
    )?;
    let owned_key = format!("aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster}");
    let doc = document(vec![
        json!({
            "Sid": "DescribeScalingResources",
            "Effect": "Allow",
            "Action": DESCRIBE_ACTIONS,
            "Resource": "*",
        }),
        json!({
            "Sid": "ScaleOwnedAutoScalingGroups",
            "Effect": "Allow",
            "Action": SCALE_ACTIONS,
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    owned_key: "owned",
                    "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true",
                }
            },
        }),
    ]);
    Ok(PresetPolicies {
        managed_arns: Vec::new(),
        documents: vec![(NAME.to_string(), doc)],
    })
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{actions, find, params_with, sids, statements};
    use super::super::common::valid_cluster_name;
    use super::*;

    #[test]
    fn renders_describe_and_tag_scoped_scaling() {
        let policies = (PRESET.render)(&params_with(Some("prod-1"), &[])).unwrap();
        assert!(policies.managed_arns.is_empty());
        assert_eq!(policies.documents.len(), 1);
        let (suffix, doc) = &policies.documents[0];
        assert_eq!(suffix, "cluster-autoscaler");
        assert_eq!(
            sids(doc),
            ["DescribeScalingResources", "ScaleOwnedAutoScalingGroups"]
        );

        let stmts = statements(doc);
        let describe = find(&stmts, "DescribeScalingResources");
        assert_eq!(describe["Effect"], "Allow");
        assert_eq!(describe["Resource"], "*");
        assert_eq!(actions(describe), DESCRIBE_ACTIONS);
        assert!(
            describe.get("Condition").is_none(),
            "no conditions on describe (incl. eks:DescribeNodegroup)"
        );
        assert!(
            !actions(describe)
                .iter()
                .any(|a| a == "autoscaling:DescribeTags")
        );

        let scale = find(&stmts, "ScaleOwnedAutoScalingGroups");
        assert_eq!(
            actions(scale),
            [
                "autoscaling:SetDesiredCapacity",
                "autoscaling:TerminateInstanceInAutoScalingGroup"
            ]
        );
        let cond = scale["Condition"]["StringEquals"].as_object().unwrap();
        assert_eq!(cond.len(), 2);
        assert_eq!(
            cond["aws:ResourceTag/k8s.io/cluster-autoscaler/prod-1"],
            "owned"
        );
        assert_eq!(
            cond["aws:ResourceTag/k8s.io/cluster-autoscaler/enabled"],
            "true"
        );
    }

    #[test]
    fn scaling_actions_appear_only_in_the_conditioned_statement() {
        let policies = (PRESET.render)(&params_with(Some("c"), &[])).unwrap();
        for s in statements(&policies.documents[0].1) {
            let acts = actions(&s);
            if acts.iter().any(|a| SCALE_ACTIONS.contains(&a.as_str())) {
                assert!(
                    s["Condition"]["StringEquals"].is_object(),
                    "unconditioned scaling in {s}"
                );
            }
        }
    }

    #[test]
    fn fails_without_cluster_name() {
        for cluster in [None, Some(""), Some("   ")] {
            let err = (PRESET.render)(&params_with(cluster, &[])).unwrap_err();
            assert!(
                matches!(
                    err,
                    PresetError::Missing {
                        preset: "cluster-autoscaler",
                        what: "the cluster name",
                        ..
                    }
                ),
                "{err:?}"
            );
        }
    }

    #[test]
    fn rejects_cluster_names_that_would_corrupt_the_condition_key() {
        for bad in ["a/b", "-lead", "x*", "has space"] {
            let err = (PRESET.render)(&params_with(Some(bad), &[])).unwrap_err();
            assert!(
                matches!(
                    err,
                    PresetError::Missing {
                        what: "a valid EKS cluster name",
                        ..
                    }
                ),
                "{bad}: {err:?}"
            );
        }
        assert!(valid_cluster_name(&"a".repeat(100)));
        assert!(!valid_cluster_name(&"a".repeat(101)));
    }

    #[test]
    fn rejects_any_option() {
        let err = (PRESET.render)(&params_with(Some("c"), &[("policy", &["v2"])])).unwrap_err();
        assert!(
            matches!(&err, PresetError::BadOption { option, message, .. }
                if option == "policy" && message.contains("takes no options")),
            "{err:?}"
        );
    }
}
