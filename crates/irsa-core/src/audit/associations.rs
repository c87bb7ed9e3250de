//! EKS Pod Identity associations against the dump (AUD018): an association names its role (and
//! maybe a target role) by ARN, and EKS does not follow a role's deletion, so an association can
//! outlive its role. A role of the association's own account that the dump does not hold is
//! reported; target roles of other accounts are not judged (the dump is one account's). Roles
//! are compared by account and name, case-insensitively as IAM compares role names, so a path
//! written differently in the association does not read as a deletion.

use std::collections::{BTreeMap, BTreeSet};

use crate::snapshot::PodIdentityAssociation;
use crate::usage::role_name_of_arn;

use super::finding::Finding;
use super::model::AccountAuthorizationDetails;
use super::rules;
use super::trust::account_of;

/// `(account, lower-case role name)` of a role ARN.
fn role_key(arn: &str) -> Option<(String, String)> {
    Some((
        account_of(arn)?.to_string(),
        role_name_of_arn(arn)?.to_ascii_lowercase(),
    ))
}

/// AUD018 for every association, per cluster, whose role or same-account target role is gone.
pub(crate) fn check_associations(
    details: &AccountAuthorizationDetails,
    associations: &BTreeMap<String, Vec<PodIdentityAssociation>>,
    findings: &mut Vec<Finding>,
) {
    let roles: BTreeSet<(String, String)> = details
        .role_detail_list
        .iter()
        .filter_map(|r| role_key(&r.arn))
        .collect();
    for (cluster, list) in associations {
        for association in list {
            let own_account = account_of(&association.association_arn);
            let named = [
                ("role", Some(&association.role_arn)),
                ("target role", association.target_role_arn.as_ref()),
            ];
            for (what, arn) in named {
                let Some(arn) = arn else { continue };
                let Some(key) = role_key(arn) else { continue };
                let judged = own_account.is_none_or(|a| a == key.0);
                if judged && !roles.contains(&key) {
                    findings.push(missing(cluster, association, what, arn));
                }
            }
        }
    }
}

fn missing(cluster: &str, association: &PodIdentityAssociation, what: &str, arn: &str) -> Finding {
    Finding::new(
        rules::ASSOCIATION_ROLE_MISSING,
        &association.association_arn,
        format!(
            "the association of {}/{} in cluster {cluster} names the {what} {arn}, which does not exist in the account: its pods get no credentials",
            association.namespace, association.service_account
        ),
        format!(
            "association {} {}Arn {arn}",
            association.association_id,
            if what == "role" { "role" } else { "targetRole" }
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn association(id: &str, role: &str, target: Option<&str>) -> PodIdentityAssociation {
        PodIdentityAssociation {
            association_id: id.into(),
            association_arn: format!(
                "arn:aws:eks:us-east-1:111122223333:podidentityassociation/prod/{id}"
            ),
            namespace: "kube-system".into(),
            service_account: "ebs-csi-controller-sa".into(),
            role_arn: role.into(),
            target_role_arn: target.map(str::to_string),
            ..PodIdentityAssociation::default()
        }
    }

    #[test]
    fn gone_roles_and_same_account_targets_are_reported() {
        let details = AccountAuthorizationDetails::from_json(
            r#"{"RoleDetailList":[{"Path":"/eks/","RoleName":"Live","Arn":"arn:aws:iam::111122223333:role/eks/Live"}]}"#,
        )
        .unwrap();
        let live = "arn:aws:iam::111122223333:role/live";
        let associations = BTreeMap::from([(
            "prod".to_string(),
            vec![
                association("a-1", live, None),
                association("a-2", "arn:aws:iam::111122223333:role/gone", None),
                association(
                    "a-3",
                    live,
                    Some("arn:aws:iam::111122223333:role/gone-target"),
                ),
                association(
                    "a-4",
                    live,
                    Some("arn:aws:iam::444455556666:role/elsewhere"),
                ),
            ],
        )]);
        let mut findings = Vec::new();
        check_associations(&details, &associations, &mut findings);
        let got: Vec<(&str, &str)> = findings
            .iter()
            .map(|f| (f.resource.rsplit('/').next().unwrap(), f.evidence.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "a-2",
                    "association a-2 roleArn arn:aws:iam::111122223333:role/gone"
                ),
                (
                    "a-3",
                    "association a-3 targetRoleArn arn:aws:iam::111122223333:role/gone-target"
                ),
            ]
        );
        assert!(
            findings[0]
                .message
                .contains("kube-system/ebs-csi-controller-sa in cluster prod")
        );
    }
}
