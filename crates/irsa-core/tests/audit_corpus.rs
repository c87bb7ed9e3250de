//! The planted-misconfiguration corpus (`fixtures/audit/planted.json`, a dump in the shape
//! `aws iam get-account-authorization-details` writes): every resource named `planted-audNNN-…`
//! must raise exactly rule AUDNNN, and every `clean-…` role (IRSA roles, service roles, a GitHub
//! Actions OIDC role, scoped EKS Pod Identity roles) and the service-linked role must raise
//! nothing. Account-level rules (AUD000, AUD011) are checked by varying the context. AUD018 is
//! about an association whose role is gone, so its planted case is an association of the
//! context (a dump holds none), with an id named like the planted roles.

use std::collections::{BTreeMap, BTreeSet};

use irsa_core::snapshot::PodIdentityAssociation;

use irsa_core::audit::{
    AccountAuthorizationDetails, AuditContext, CloudTrailStatus, Finding, KnownCluster, Severity,
    TrailState, audit,
};

const ACCOUNT: &str = "111122223333";
const ROOT: &str = "arn:aws:iam::111122223333:root";

fn details() -> AccountAuthorizationDetails {
    let text = include_str!("fixtures/audit/planted.json");
    AccountAuthorizationDetails::from_json(text).expect("the corpus parses")
}

fn provider(id: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/{id}")
}

fn trail(logging: bool) -> TrailState {
    TrailState {
        name: "org".into(),
        arn: format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/org"),
        home_region: "us-east-1".into(),
        multi_region: true,
        logging,
    }
}

fn association(id: &str, service_account: &str, role: &str) -> PodIdentityAssociation {
    PodIdentityAssociation {
        association_id: id.into(),
        association_arn: format!(
            "arn:aws:eks:us-east-1:{ACCOUNT}:podidentityassociation/prod/{id}"
        ),
        namespace: "kube-system".into(),
        service_account: service_account.into(),
        role_arn: format!("arn:aws:iam::{ACCOUNT}:role/{role}"),
        ..PodIdentityAssociation::default()
    }
}

/// Everything known: two clusters, their providers plus an orphan one, a logging trail, the
/// Pod Identity associations of `prod` (one to a live role, one to a deleted one).
fn full_context() -> AuditContext {
    AuditContext {
        clusters: Some(vec![
            KnownCluster::new(
                "prod",
                "https://oidc.eks.us-east-1.amazonaws.com/id/CLUSTERA",
            ),
            KnownCluster::new(
                "staging",
                "https://oidc.eks.us-east-1.amazonaws.com/id/CLUSTERB/",
            ),
        ]),
        region: Some("us-east-1".into()),
        oidc_provider_arns: Some(vec![
            provider("CLUSTERA"),
            provider("CLUSTERB"),
            provider("ORPHAN"),
            format!("arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"),
        ]),
        cloudtrail: Some(CloudTrailStatus {
            region: "us-east-1".into(),
            trails: vec![trail(true)],
        }),
        pod_identity_associations: Some(BTreeMap::from([(
            "prod".to_string(),
            vec![
                association(
                    "a-clean0ebs0csi0001",
                    "ebs-csi-controller-sa",
                    "clean-pod-identity-ebs-csi",
                ),
                association(
                    "planted-aud018-role-deleted",
                    "efs-csi-controller-sa",
                    "efs-csi-role-deleted-since",
                ),
            ],
        )])),
        now_ms: iam_policy::condition::parse_date("2026-11-29T00:00:00Z"),
        unused_days: 90,
        required_tags: vec!["owner".into()],
    }
}

fn rules_by_resource(findings: &[Finding]) -> BTreeMap<String, BTreeSet<&'static str>> {
    let mut map: BTreeMap<String, BTreeSet<&'static str>> = BTreeMap::new();
    for f in findings {
        map.entry(f.resource.rsplit('/').next().unwrap_or("").to_string())
            .or_default()
            .insert(f.rule);
    }
    map
}

/// `planted-aud007-action-star` → `AUD007`.
fn expected_rule(name: &str) -> Option<String> {
    let rest = name.strip_prefix("planted-aud")?;
    Some(format!("AUD{}", &rest[..3]))
}

#[test]
fn each_planted_resource_raises_exactly_its_rule_and_clean_ones_nothing() {
    let details = details();
    let findings = audit(&details, &full_context());
    let by_resource = rules_by_resource(&findings);
    let mut planted = details
        .role_detail_list
        .iter()
        .map(|r| r.role_name.clone())
        .chain(details.policies.iter().map(|p| p.policy_name.clone()))
        .filter(|n| n.starts_with("planted-"))
        .collect::<Vec<_>>();
    planted.sort();
    assert!(planted.len() >= 17, "{planted:?}");
    for name in &planted {
        let expected = expected_rule(name).unwrap();
        let got = by_resource.get(name).cloned().unwrap_or_default();
        assert_eq!(
            got,
            BTreeSet::from([expected.as_str()]),
            "{name}: {:#?}",
            findings
                .iter()
                .filter(|f| f.resource.ends_with(name.as_str()))
                .collect::<Vec<_>>()
        );
    }
    for (resource, rules) in &by_resource {
        assert!(
            resource.starts_with("planted-"),
            "{resource} raised {rules:?} but only planted resources may: {:#?}",
            findings
                .iter()
                .filter(|f| f.resource.ends_with(resource.as_str()))
                .collect::<Vec<_>>()
        );
    }
    // Every rule except the account-level ones is planted.
    let covered: BTreeSet<&str> = findings.iter().map(|f| f.rule).collect();
    for rule in irsa_core::audit::RULES {
        if !["AUD000", "AUD011"].contains(&rule.id) {
            assert!(covered.contains(rule.id), "no planted case for {}", rule.id);
        }
    }
}

#[test]
fn findings_say_what_and_where() {
    let findings = audit(&details(), &full_context());
    for f in &findings {
        println!(
            "{:?} {} {} | {} | {}",
            f.severity, f.rule, f.resource, f.message, f.evidence
        );
        assert!(!f.message.is_empty() && !f.evidence.is_empty() && !f.fix.is_empty());
    }
    let admin = findings
        .iter()
        .find(|f| {
            f.resource
                .ends_with("planted-aud007-attached-administrator")
        })
        .unwrap();
    assert_eq!(
        admin.evidence,
        "attached policy arn:aws:iam::aws:policy/AdministratorAccess"
    );
    let invalid = findings
        .iter()
        .find(|f| f.resource.ends_with("policy/planted-aud012-invalid-policy"))
        .unwrap();
    assert!(invalid.message.contains("Statement"), "{}", invalid.message);
}

// A permissions policy with `Principal` is refused by IAM ("Has prohibited field Principal"):
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html.
// The audit reports it as an invalid document with the place, rather than evaluating it with
// the Deny dropped.
#[test]
fn a_principal_in_a_permissions_policy_is_an_invalid_document() {
    let findings = audit(&details(), &full_context());
    let invalid = findings
        .iter()
        .find(|f| {
            f.resource
                .ends_with("role/planted-aud012-principal-in-inline")
        })
        .unwrap();
    assert_eq!(invalid.rule, "AUD012");
    assert!(
        invalid.message.contains("Statement[1].Principal")
            && invalid.message.contains("prohibited field"),
        "{}",
        invalid.message
    );
}

#[test]
fn severities_follow_the_evidence() {
    let findings = audit(&details(), &full_context());
    let severity = |role: &str| {
        findings
            .iter()
            .find(|f| f.resource.ends_with(role))
            .map(|f| f.severity)
            .unwrap()
    };
    // A deleted provider is worse than a provider of no known cluster.
    assert_eq!(severity("planted-aud005-deleted-provider"), Severity::High);
    assert_eq!(severity("planted-aud005-orphan-provider"), Severity::Medium);
    // Principal * without conditions: anyone can assume the role.
    assert_eq!(severity("planted-aud013-everyone"), Severity::Critical);
    // `kube-system:*` is one namespace's accounts: medium (the lint's rule).
    assert_eq!(
        severity("planted-aud002-wildcard-subject"),
        Severity::Medium
    );
    // Sorted most severe first, deterministically.
    assert_eq!(findings[0].severity, Severity::Critical);
    assert_eq!(findings, audit(&details(), &full_context()));
}

// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
// (StringEquals is an exact match; wildcards only with StringLike): `*` in StringEquals is literal.
#[test]
fn string_equals_star_is_called_literal() {
    let findings = audit(&details(), &full_context());
    let f = findings
        .iter()
        .find(|f| f.resource.ends_with("planted-aud003-string-equals-star"))
        .unwrap();
    assert!(f.message.contains("compares literally"), "{}", f.message);
    assert!(
        f.evidence
            .starts_with("trust policy Statement[0].Condition.StringEquals"),
        "{}",
        f.evidence
    );
}

#[test]
fn snapshot_alone_says_which_checks_could_not_run() {
    let ctx = AuditContext {
        clusters: None,
        oidc_provider_arns: None,
        cloudtrail: None,
        pod_identity_associations: None,
        ..full_context()
    };
    let findings = audit(&details(), &ctx);
    let not_run: Vec<&Finding> = findings.iter().filter(|f| f.rule == "AUD000").collect();
    assert_eq!(not_run.len(), 3, "{not_run:#?}");
    assert!(
        not_run
            .iter()
            .all(|f| f.resource == ROOT && f.severity == Severity::Info)
    );
    assert!(
        not_run
            .iter()
            .any(|f| f.message.contains("OIDC provider check did not run"))
    );
    assert!(
        not_run
            .iter()
            .any(|f| f.message.contains("CloudTrail check did not run"))
    );
    assert!(not_run.iter().any(|f| {
        f.message
            .contains("association check did not run (4 role(s)")
    }));
    // Without providers and clusters nothing can be said about AUD005; the rest is unchanged.
    assert!(!findings.iter().any(|f| f.rule == "AUD005"));
    assert!(findings.iter().any(|f| f.rule == "AUD001"));
}

#[test]
fn clusters_without_provider_list_still_find_stale_trust() {
    let ctx = AuditContext {
        oidc_provider_arns: None,
        ..full_context()
    };
    let findings = audit(&details(), &ctx);
    let stale: Vec<&Finding> = findings.iter().filter(|f| f.rule == "AUD005").collect();
    // Both the deleted and the orphan provider's issuers belong to no known cluster.
    assert_eq!(stale.len(), 2, "{stale:#?}");
    assert!(
        stale
            .iter()
            .all(|f| f.severity == Severity::Medium && f.message.contains("were not listed"))
    );
}

#[test]
fn cloudtrail_not_logging_is_reported_on_the_trail() {
    let ctx = AuditContext {
        cloudtrail: Some(CloudTrailStatus {
            region: "us-east-1".into(),
            trails: vec![trail(false)],
        }),
        ..full_context()
    };
    let findings = audit(&details(), &ctx);
    let f: Vec<&Finding> = findings.iter().filter(|f| f.rule == "AUD011").collect();
    assert_eq!(f.len(), 1);
    assert_eq!(
        f[0].resource,
        format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/org")
    );
    assert!(f[0].evidence.contains("not logging"), "{}", f[0].evidence);
    let none = AuditContext {
        cloudtrail: Some(CloudTrailStatus {
            region: "eu-west-1".into(),
            trails: vec![],
        }),
        ..full_context()
    };
    let findings = audit(&details(), &none);
    let f = findings.iter().find(|f| f.rule == "AUD011").unwrap();
    assert_eq!(f.resource, ROOT);
}

#[test]
fn a_permissions_boundary_lowers_broad_permissions_one_level() {
    let mut details = details();
    let role = details
        .role_detail_list
        .iter_mut()
        .find(|r| r.role_name == "planted-aud007-action-star")
        .unwrap();
    role.permissions_boundary = Some(irsa_core::audit::model::PermissionsBoundary {
        permissions_boundary_arn: Some(format!("arn:aws:iam::{ACCOUNT}:policy/boundary")),
    });
    let findings = audit(&details, &full_context());
    let f = findings
        .iter()
        .find(|f| f.resource.ends_with("planted-aud007-action-star"))
        .unwrap();
    assert_eq!(f.severity, Severity::Medium);
    assert!(f.message.contains("capped by the permissions boundary"));
}

// Amazon EKS User Guide, "Create IAM role with trust policy required by EKS Pod Identity"
// (pod-id-role.html): the trust without Condition admits every association; the guide scopes it
// with aws:RequestTag/kubernetes-namespace and …/kubernetes-service-account.
#[test]
fn pod_identity_findings_name_the_statement_and_the_association() {
    let findings = audit(&details(), &full_context());
    let find = |suffix: &str| {
        findings
            .iter()
            .find(|f| f.resource.ends_with(suffix))
            .unwrap_or_else(|| panic!("no finding on {suffix}"))
    };
    let unscoped = find("planted-aud016-pod-identity-unscoped");
    assert_eq!(unscoped.severity, Severity::Medium);
    assert_eq!(
        unscoped.evidence,
        "trust policy Statement[0] (Sid \"AllowEksAuthToAssumeRoleForPodIdentity\")"
    );
    let both = find("planted-aud017-both-mechanisms");
    assert_eq!(both.severity, Severity::Info);
    assert!(
        both.message
            .contains("oidc.eks.us-east-1.amazonaws.com/id/CLUSTERA")
    );
    let gone = find("planted-aud018-role-deleted");
    assert_eq!(gone.severity, Severity::High);
    assert!(
        gone.message
            .contains("kube-system/efs-csi-controller-sa in cluster prod"),
        "{}",
        gone.message
    );
}

#[test]
fn sarif_carries_the_pod_identity_rules() {
    let findings = audit(&details(), &full_context());
    let log = irsa_core::audit::sarif::to_sarif(&findings, "0.1.0", Some("planted.json"));
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    for (id, name, level) in [
        ("AUD016", "pod-identity-trust-unscoped", "warning"),
        ("AUD017", "trust-both-identity-mechanisms", "note"),
        ("AUD018", "pod-identity-association-role-missing", "error"),
    ] {
        let index = rules.iter().position(|r| r["id"] == id).unwrap();
        assert_eq!(rules[index]["name"], name);
        let result = results
            .iter()
            .find(|r| r["ruleId"] == id)
            .unwrap_or_else(|| panic!("no {id} result"));
        assert_eq!(result["ruleIndex"], index);
        assert_eq!(result["level"], level);
    }
}
