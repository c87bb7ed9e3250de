//! ExternalDNS with the AWS provider (`external-dns/external-dns`): lists hosted zones, their
//! records and tags, and changes records in the hosted zones it manages. Follows the IAM policy
//! in the upstream AWS tutorial (kubernetes-sigs/external-dns, `docs/tutorials/aws.md`):
//! `route53:ChangeResourceRecordSets` on hosted zones, listing actions on `*` (Route 53 list
//! actions take no resource). `hostedZoneIds` narrows the change statement to given zones.

use serde_json::json;

use super::common::{
    document, hosted_zone_arns, hosted_zone_id, list_option, partition, reject_unknown_options,
};
use super::{Install, Preset, PresetError, PresetOption, PresetParams, PresetPolicies, Source};

pub(crate) const NAME: &str = "external-dns";

const OPTIONS: &[PresetOption] = &[PresetOption {
    name: "hostedZoneIds",
    help: "list of Route 53 hosted zone ids (Z…) ExternalDNS may change records in; default: every hosted zone",
}];

pub(crate) const PRESET: Preset = Preset {
    name: NAME,
    summary: "ExternalDNS (AWS provider): manage Route 53 records in all or the given hosted zones",
    namespace: "external-dns",
    service_account: "external-dns",
    source: Source {
        url: "https://github.com/kubernetes-sigs/external-dns/blob/master/docs/tutorials/aws.md",
        checked: "2026-11-29",
    },
    install: Install::Helm {
        repo: "https://kubernetes-sigs.github.io/external-dns/",
        chart: "external-dns",
    },
    options: OPTIONS,
    render,
    helm_service_account_path: Some("serviceAccount"),
    notes: &[
        "Pair hostedZoneIds with ExternalDNS's --zone-id-filter (or --domain-filter) so it does not try other zones.",
    ],
    eksctl_well_known: Some("externalDNS"),
    example_options: &[],
};

fn render(params: &PresetParams) -> Result<PresetPolicies, PresetError> {
    reject_unknown_options(NAME, params, OPTIONS)?;
    let ids = list_option(NAME, params, "hostedZoneIds")?
        .iter()
        .map(|raw| hosted_zone_id(NAME, "hostedZoneIds", raw))
        .collect::<Result<Vec<_>, _>>()?;
    let doc = document(vec![
        json!({
            "Sid": "ChangeRecordsInHostedZones",
            "Effect": "Allow",
            "Action": ["route53:ChangeResourceRecordSets"],
            "Resource": hosted_zone_arns(partition(params), &ids),
        }),
        json!({
            "Sid": "ListZonesRecordsAndTags",
            "Effect": "Allow",
            "Action": [
                "route53:ListHostedZones",
                "route53:ListResourceRecordSets",
                "route53:ListTagsForResources",
            ],
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
    fn default_changes_any_hosted_zone() {
        let policies = (PRESET.render)(&params_with(None, &[])).unwrap();
        assert!(policies.managed_arns.is_empty());
        let (suffix, doc) = &policies.documents[0];
        assert_eq!(suffix, "external-dns");
        assert_eq!(
            sids(doc),
            ["ChangeRecordsInHostedZones", "ListZonesRecordsAndTags"]
        );
        let stmts = statements(doc);
        let change = find(&stmts, "ChangeRecordsInHostedZones");
        assert_eq!(actions(change), ["route53:ChangeResourceRecordSets"]);
        assert_eq!(
            change["Resource"],
            json!(["arn:aws:route53:::hostedzone/*"])
        );
        let list = find(&stmts, "ListZonesRecordsAndTags");
        assert_eq!(
            actions(list),
            [
                "route53:ListHostedZones",
                "route53:ListResourceRecordSets",
                "route53:ListTagsForResources"
            ]
        );
        assert_eq!(list["Resource"], "*");
    }

    #[test]
    fn hosted_zone_ids_narrow_the_change_statement() {
        let mut params = params_with(None, &[("hostedZoneIds", &["Z111", "/hostedzone/Z222"])]);
        params.partition = Some("aws-us-gov".into());
        let policies = (PRESET.render)(&params).unwrap();
        let stmts = statements(&policies.documents[0].1);
        assert_eq!(
            find(&stmts, "ChangeRecordsInHostedZones")["Resource"],
            json!([
                "arn:aws-us-gov:route53:::hostedzone/Z111",
                "arn:aws-us-gov:route53:::hostedzone/Z222"
            ])
        );
    }

    #[test]
    fn rejects_bad_zone_ids_and_unknown_options() {
        let err = (PRESET.render)(&params_with(None, &[("hostedZoneIds", &["*"])])).unwrap_err();
        assert!(
            matches!(&err, PresetError::BadOption { option, .. } if option == "hostedZoneIds"),
            "{err:?}"
        );
        let err = (PRESET.render)(&params_with(None, &[("zones", &["Z1"])])).unwrap_err();
        assert!(
            err.to_string().contains("valid options: hostedZoneIds"),
            "{err}"
        );
    }
}
