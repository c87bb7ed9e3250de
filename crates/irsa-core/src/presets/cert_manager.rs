//! cert-manager solving ACME DNS-01 challenges with Route 53 (`cert-manager/cert-manager`): looks
//! up hosted zones by name, writes TXT records and polls the change until it is in sync. Follows
//! the IAM policy in cert-manager's Route53 DNS01 guide
//! (<https://cert-manager.io/docs/configuration/acme/dns01/route53/>), including its condition
//! that record changes are limited to TXT records. `hostedZoneIds` narrows the record statement
//! to given zones.

use serde_json::json;

use super::common::{
    document, hosted_zone_arns, hosted_zone_id, list_option, partition, reject_unknown_options,
};
use super::{Install, Preset, PresetError, PresetOption, PresetParams, PresetPolicies, Source};

pub(crate) const NAME: &str = "cert-manager";

const OPTIONS: &[PresetOption] = &[PresetOption {
    name: "hostedZoneIds",
    help: "list of Route 53 hosted zone ids (Z…) cert-manager may write challenge records in; default: every hosted zone",
}];

pub(crate) const PRESET: Preset = Preset {
    name: NAME,
    summary: "cert-manager DNS-01 with Route 53: write TXT challenge records, poll changes",
    namespace: "cert-manager",
    service_account: "cert-manager",
    source: Source {
        url: "https://cert-manager.io/docs/configuration/acme/dns01/route53/",
        checked: "2026-11-29",
    },
    install: Install::Helm {
        repo: "https://charts.jetstack.io",
        chart: "cert-manager",
    },
    options: OPTIONS,
    render,
    helm_service_account_path: Some("serviceAccount"),
    notes: &[
        "Ambient (IRSA) credentials apply to ClusterIssuers; namespaced Issuers need cert-manager's \
         --issuer-ambient-credentials flag.",
    ],
    eksctl_well_known: Some("certManager"),
    example_options: &[],
};

fn render(params: &PresetParams) -> Result<PresetPolicies, PresetError> {
    reject_unknown_options(NAME, params, OPTIONS)?;
    let partition = partition(params);
    let ids = list_option(NAME, params, "hostedZoneIds")?
        .iter()
        .map(|raw| hosted_zone_id(NAME, "hostedZoneIds", raw))
        .collect::<Result<Vec<_>, _>>()?;
    let doc = document(vec![
        json!({
            "Sid": "GetChangeStatus",
            "Effect": "Allow",
            "Action": ["route53:GetChange"],
            "Resource": format!("arn:{partition}:route53:::change/*"),
        }),
        json!({
            "Sid": "WriteTxtChallengeRecords",
            "Effect": "Allow",
            "Action": ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"],
            "Resource": hosted_zone_arns(partition, &ids),
            "Condition": {
                "ForAllValues:StringEquals": { "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"] }
            },
        }),
        json!({
            "Sid": "FindHostedZonesByName",
            "Effect": "Allow",
            "Action": ["route53:ListHostedZonesByName"],
            "Resource": "*",
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
    use super::*;

    #[test]
    fn renders_the_dns01_policy() {
        let policies = (PRESET.render)(&params_with(None, &[])).unwrap();
        assert!(policies.managed_arns.is_empty());
        let (suffix, doc) = &policies.documents[0];
        assert_eq!(suffix, "cert-manager");
        assert_eq!(
            sids(doc),
            [
                "GetChangeStatus",
                "WriteTxtChallengeRecords",
                "FindHostedZonesByName"
            ]
        );
        let stmts = statements(doc);
        let change = find(&stmts, "GetChangeStatus");
        assert_eq!(actions(change), ["route53:GetChange"]);
        assert_eq!(change["Resource"], "arn:aws:route53:::change/*");
        let write = find(&stmts, "WriteTxtChallengeRecords");
        assert_eq!(
            actions(write),
            [
                "route53:ChangeResourceRecordSets",
                "route53:ListResourceRecordSets"
            ]
        );
        assert_eq!(write["Resource"], json!(["arn:aws:route53:::hostedzone/*"]));
        assert_eq!(
            write["Condition"]["ForAllValues:StringEquals"]["route53:ChangeResourceRecordSetsRecordTypes"],
            json!(["TXT"])
        );
        let find_zones = find(&stmts, "FindHostedZonesByName");
        assert_eq!(actions(find_zones), ["route53:ListHostedZonesByName"]);
        assert_eq!(find_zones["Resource"], "*");
    }

    #[test]
    fn hosted_zone_ids_and_partition() {
        let mut params = params_with(None, &[("hostedZoneIds", &["Z0ABC"])]);
        params.partition = Some("aws-cn".into());
        let policies = (PRESET.render)(&params).unwrap();
        let stmts = statements(&policies.documents[0].1);
        assert_eq!(
            find(&stmts, "GetChangeStatus")["Resource"],
            "arn:aws-cn:route53:::change/*"
        );
        assert_eq!(
            find(&stmts, "WriteTxtChallengeRecords")["Resource"],
            json!(["arn:aws-cn:route53:::hostedzone/Z0ABC"])
        );
    }

    #[test]
    fn rejects_unknown_options_and_bad_ids() {
        let err = (PRESET.render)(&params_with(None, &[("policy", &["v2"])])).unwrap_err();
        assert!(
            matches!(&err, PresetError::BadOption { preset: "cert-manager", option, message }
                if option == "policy" && message.contains("hostedZoneIds")),
            "{err:?}"
        );
        assert!(
            (PRESET.render)(&params_with(None, &[("hostedZoneIds", &["not-a-zone"])])).is_err()
        );
    }
}
