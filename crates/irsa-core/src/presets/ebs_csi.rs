//! Amazon EBS CSI driver controller (`kube-system/ebs-csi-controller-sa`), installed as the EKS
//! add-on `aws-ebs-csi-driver`, which creates the service account itself: irsa creates the role
//! only. The role gets an AWS managed policy: `service-role/AmazonEBSCSIDriverPolicy` by default,
//! or with `policy: v2` the newer `AmazonEBSCSIDriverPolicyV2` (published April 2026, every
//! mutation limited to driver-tagged volumes and snapshots; its ARN has no `service-role/` path,
//! per the AWS Managed Policy Reference). Neither grants KMS access; `kmsKeyArns` adds a
//! customer-managed document with the grant and data-key statements the EKS user guide
//! ("Create an Amazon EBS CSI driver IAM role") documents for volumes encrypted with a customer
//! managed key. Driver docs: kubernetes-sigs/aws-ebs-csi-driver `docs/install.md`.

use serde_json::json;

use super::common::{
    choice_option, document, list_option, managed_policy_arn, partition, reject_unknown_options,
};
use super::{Install, Preset, PresetError, PresetOption, PresetParams, PresetPolicies, Source};

pub(crate) const NAME: &str = "ebs-csi";

const OPTIONS: &[PresetOption] = &[
    PresetOption {
        name: "policy",
        help: "`v1` (default): AWS managed service-role/AmazonEBSCSIDriverPolicy; `v2`: AWS managed \
               AmazonEBSCSIDriverPolicyV2 (mutations limited to driver-tagged resources)",
    },
    PresetOption {
        name: "kmsKeyArns",
        help: "list of KMS key ARNs (arn:<partition>:kms:<region>:<account>:key/<id>) used to encrypt volumes; \
               adds a customer-managed policy allowing grants and data-key use on exactly these keys",
    },
];

const POLICY_CHOICES: &[&str] = &["v1", "v2"];

/// Paths and names of the AWS managed policies under `arn:<partition>:iam::aws:policy/`.
const MANAGED_POLICY_V1: &str = "service-role/AmazonEBSCSIDriverPolicy";
/// Confirmed in the AWS Managed Policy Reference: `arn:aws:iam::aws:policy/AmazonEBSCSIDriverPolicyV2`.
const MANAGED_POLICY_V2: &str = "AmazonEBSCSIDriverPolicyV2";

pub(crate) const PRESET: Preset = Preset {
    name: NAME,
    summary: "Amazon EBS CSI driver controller: AWS managed policy (v1 or v2), optional KMS keys; role only",
    namespace: "kube-system",
    service_account: "ebs-csi-controller-sa",
    source: Source {
        url: "https://docs.aws.amazon.com/eks/latest/userguide/csi-iam-role.html",
        checked: "2026-11-29",
    },
    install: Install::EksAddon {
        name: "aws-ebs-csi-driver",
    },
    options: OPTIONS,
    render,
    helm_service_account_path: Some("controller.serviceAccount"),
    notes: &[
        "The EKS add-on creates kube-system/ebs-csi-controller-sa; pass the role as serviceAccountRoleArn.",
        "Managed policies: https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonEBSCSIDriverPolicy.html \
         and .../AmazonEBSCSIDriverPolicyV2.html",
    ],
    eksctl_well_known: Some("ebsCSIController"),
    example_options: &[],
};

fn render(params: &PresetParams) -> Result<PresetPolicies, PresetError> {
    reject_unknown_options(NAME, params, OPTIONS)?;
    let partition = partition(params);
    let managed = match choice_option(NAME, params, "policy", POLICY_CHOICES, "v1")? {
        "v2" => MANAGED_POLICY_V2,
        _ => MANAGED_POLICY_V1,
    };
    let keys = list_option(NAME, params, "kmsKeyArns")?;
    for key in &keys {
        check_kms_key_arn(partition, key)?;
    }
    let mut documents = Vec::new();
    if !keys.is_empty() {
        documents.push((
            format!("{NAME}-kms"),
            document(vec![
                json!({
                    "Sid": "CreateGrantsForAwsResources",
                    "Effect": "Allow",
                    "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                    "Resource": keys,
                    "Condition": { "Bool": { "kms:GrantIsForAWSResource": "true" } },
                }),
                json!({
                    "Sid": "UseKeysForVolumes",
                    "Effect": "Allow",
                    "Action": [
                        "kms:Encrypt",
                        "kms:Decrypt",
                        "kms:ReEncrypt*",
                        "kms:GenerateDataKey*",
                        "kms:DescribeKey",
                    ],
                    "Resource": keys,
                }),
            ]),
        ));
    }
    Ok(PresetPolicies {
        managed_arns: vec![managed_policy_arn(partition, managed)],
        documents,
    })
}

/// Accepts `arn:<partition>:kms:<region>:<12 digits>:key/<key id>` in the params' partition.
///
/// Alias ARNs (`alias/…`) are refused: IAM does not resolve an alias in a statement's `Resource`
/// to its key, so a policy naming the alias would not let the driver use the key.
fn check_kms_key_arn(partition: &str, arn: &str) -> Result<(), PresetError> {
    let bad = |why: String| PresetError::BadOption {
        preset: NAME,
        option: "kmsKeyArns".to_string(),
        message: format!("`{arn}` {why}"),
    };
    let shape =
        "is not a KMS key ARN (arn:<partition>:kms:<region>:<12-digit account>:key/<key id>)";
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [
        arn_prefix,
        arn_partition,
        service,
        region,
        account,
        resource,
    ] = parts[..]
    else {
        return Err(bad(shape.to_string()));
    };
    let region_ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    if arn_prefix != "arn" || service != "kms" || !region_ok || !account_ok {
        return Err(bad(shape.to_string()));
    }
    if resource.starts_with("alias/") {
        return Err(bad(
            "is an alias ARN; IAM policies must name the key ARN (key/<key id>), an alias in Resource \
             does not grant use of its key"
                .to_string(),
        ));
    }
    let key_id_ok = resource.strip_prefix("key/").is_some_and(|id| {
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    if !key_id_ok {
        return Err(bad(shape.to_string()));
    }
    if arn_partition != partition {
        return Err(bad(format!(
            "is in partition `{arn_partition}`, but the cluster is in `{partition}`"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{actions, find, params_with, sids, statements};
    use super::*;

    const KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const MRK: &str = "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab";

    #[test]
    fn default_is_v1_managed_policy_only() {
        let policies = (PRESET.render)(&params_with(None, &[])).unwrap();
        assert_eq!(
            policies.managed_arns,
            ["arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"]
        );
        assert!(policies.documents.is_empty());
        assert_eq!(
            PRESET.install,
            Install::EksAddon {
                name: "aws-ebs-csi-driver"
            }
        );
    }

    #[test]
    fn v2_uses_the_v2_managed_policy() {
        let mut params = params_with(None, &[("policy", &["v2"])]);
        let policies = (PRESET.render)(&params).unwrap();
        assert_eq!(
            policies.managed_arns,
            ["arn:aws:iam::aws:policy/AmazonEBSCSIDriverPolicyV2"]
        );
        assert!(policies.documents.is_empty());

        params.partition = Some("aws-cn".into());
        let policies = (PRESET.render)(&params).unwrap();
        assert_eq!(
            policies.managed_arns,
            ["arn:aws-cn:iam::aws:policy/AmazonEBSCSIDriverPolicyV2"]
        );
    }

    #[test]
    fn kms_keys_add_a_document_scoped_to_the_keys() {
        let policies = (PRESET.render)(&params_with(
            None,
            &[("policy", &["v2"]), ("kmsKeyArns", &[KEY, MRK, KEY])],
        ))
        .unwrap();
        assert_eq!(
            policies.managed_arns,
            ["arn:aws:iam::aws:policy/AmazonEBSCSIDriverPolicyV2"]
        );
        assert_eq!(policies.documents.len(), 1);
        let (suffix, doc) = &policies.documents[0];
        assert_eq!(suffix, "ebs-csi-kms");
        assert_eq!(
            sids(doc),
            ["CreateGrantsForAwsResources", "UseKeysForVolumes"]
        );

        let stmts = statements(doc);
        let grants = find(&stmts, "CreateGrantsForAwsResources");
        assert_eq!(
            actions(grants),
            ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]
        );
        assert_eq!(
            grants["Resource"],
            json!([KEY, MRK]),
            "keys in order, duplicates removed"
        );
        assert_eq!(
            grants["Condition"]["Bool"]["kms:GrantIsForAWSResource"],
            "true"
        );

        let use_keys = find(&stmts, "UseKeysForVolumes");
        assert_eq!(
            actions(use_keys),
            [
                "kms:Encrypt",
                "kms:Decrypt",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:DescribeKey"
            ]
        );
        assert_eq!(use_keys["Resource"], json!([KEY, MRK]));
        assert!(use_keys.get("Condition").is_none());
    }

    #[test]
    fn bad_kms_arns_are_rejected() {
        for bad in [
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:eu-west-1:11112222333:key/abc",
            "arn:aws:kms:eu-west-1:111122223333:key/",
            "arn:aws:kms:eu-west-1:111122223333:key/*",
            "arn:aws:kms::111122223333:key/abc",
            "arn:aws:s3:eu-west-1:111122223333:key/abc",
            "arn:aws:kms:eu-west-1:111122223333:alias/ebs",
            "arn:aws-cn:kms:cn-north-1:111122223333:key/abc",
            "arn:aws:kms:EU-WEST-1:111122223333:key/abc",
        ] {
            let err = (PRESET.render)(&params_with(None, &[("kmsKeyArns", &[bad])])).unwrap_err();
            assert!(
                matches!(&err, PresetError::BadOption { preset: "ebs-csi", option, message }
                    if option == "kmsKeyArns" && message.contains(bad)),
                "{bad}: {err:?}"
            );
        }
        let err = (PRESET.render)(&params_with(
            None,
            &[(
                "kmsKeyArns",
                &["arn:aws:kms:eu-west-1:111122223333:alias/ebs"],
            )],
        ))
        .unwrap_err();
        assert!(err.to_string().contains("alias ARN"), "{err}");
    }

    #[test]
    fn kms_arn_partition_follows_params() {
        let mut params = params_with(
            None,
            &[(
                "kmsKeyArns",
                &["arn:aws-cn:kms:cn-north-1:111122223333:key/abc"],
            )],
        );
        params.partition = Some("aws-cn".into());
        let policies = (PRESET.render)(&params).unwrap();
        assert_eq!(
            policies.managed_arns,
            ["arn:aws-cn:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"]
        );
        assert_eq!(policies.documents.len(), 1);
    }

    #[test]
    fn rejects_bad_policy_and_unknown_options() {
        let err = (PRESET.render)(&params_with(None, &[("policy", &["v3"])])).unwrap_err();
        assert!(
            err.to_string().contains("`v3` is not one of: v1, v2"),
            "{err}"
        );
        let err = (PRESET.render)(&params_with(None, &[("kmsKeys", &[KEY])])).unwrap_err();
        assert!(
            matches!(&err, PresetError::BadOption { option, message, .. }
                if option == "kmsKeys" && message.contains("policy, kmsKeyArns")),
            "{err:?}"
        );
    }
}
