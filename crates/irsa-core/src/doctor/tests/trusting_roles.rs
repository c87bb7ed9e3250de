//! A service account that lost its annotation, or names a role that does not exist, with no
//! spec: the roles of the account (as ListRoles returns them) whose trust names it.

use super::*;
use crate::snapshot::RoleTrust;

fn listed(name: &str, trust_policy: serde_json::Value) -> RoleTrust {
    RoleTrust {
        name: name.into(),
        arn: role_arn(name),
        trust_policy,
    }
}

/// The healthy world with `shop/app` stripped of its annotation, its role deleted from the
/// snapshot, and the account's roles as ListRoles lists them.
fn lost(role_trusts: Vec<RoleTrust>) -> World {
    let mut world = healthy();
    sa_mut(&mut world, "app").annotations.clear();
    world.snapshot.role_trusts = Some(role_trusts);
    world
}

fn finding<'a>(findings: &'a [Finding], rule: &str) -> &'a Finding {
    findings
        .iter()
        .find(|f| f.rule == rule)
        .unwrap_or_else(|| panic!("no {rule}: {findings:#?}"))
}

fn annotates_with(f: &Finding) -> Option<String> {
    match &f.fix.action {
        Some(FixAction::Step {
            step: Step::ApplyServiceAccount { annotations, .. },
        }) => annotations[0].1.clone(),
        _ => None,
    }
}

#[test]
fn the_one_role_that_trusts_it_is_the_fix() {
    let world = lost(vec![
        listed("app", trust("shop", "app")),
        listed("autoscaler", trust("kube-system", "cluster-autoscaler")),
    ]);
    let findings = run(&world);
    let f = finding(&findings, "DOC021");
    assert_eq!(annotates_with(f), Some(role_arn("app")), "{f:#?}");
    assert!(
        f.fix.summary.contains("app, the one role that trusts it"),
        "{f:#?}"
    );
    assert_eq!(
        f.fix.command.as_deref(),
        Some(
            "kubectl annotate serviceaccount app -n shop --overwrite eks.amazonaws.com/role-arn=arn:aws:iam::123456789012:role/app"
        )
    );
}

#[test]
fn several_roles_are_listed_and_nothing_is_done() {
    let world = lost(vec![
        listed("app", trust("shop", "app")),
        listed("app-copy", trust("shop", "app")),
    ]);
    let findings = run(&world);
    let f = finding(&findings, "DOC021");
    assert_eq!(f.fix.action, None, "{f:#?}");
    assert!(
        f.fix.summary.starts_with("2 roles trust shop/app"),
        "{f:#?}"
    );
    for name in ["app", "app-copy"] {
        assert!(
            f.evidence.iter().any(|e| e.ends_with(&role_arn(name))),
            "{f:#?}"
        );
    }
}

/// A trust with only the audience condition admits every service account of the cluster
/// (REFERENCE: what peers get wrong): it names nobody, so it is no candidate.
#[test]
fn a_trust_that_admits_everyone_names_nobody() {
    let world = lost(vec![listed("everyone", trust_keeping(":aud"))]);
    let findings = run(&world);
    let f = finding(&findings, "DOC021");
    assert_eq!(f.fix.action, None);
    assert!(
        f.evidence
            .iter()
            .any(|e| e.starts_with("no role of the account (1 searched)")),
        "{f:#?}"
    );
}

/// A role of another cluster's provider, or the right sub with the wrong audience, is not one.
#[test]
fn only_this_clusters_provider_and_audience_count() {
    let other = trust("shop", "app")
        .to_string()
        .replace("ABCDEF0123456789", "OTHERCLUSTER0000");
    let mut wrong_audience = trust("shop", "app");
    wrong_audience["Statement"][0]["Condition"]["StringEquals"]["oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123456789:aud"] =
        json!("vault");
    let roles = vec![
        listed("other-cluster", serde_json::from_str(&other).unwrap()),
        listed("vault", wrong_audience),
    ];
    assert!(roles_trusting(&roles, PROVIDER, "shop", "app", "sts.amazonaws.com").is_empty());
    let found: Vec<&str> = roles_trusting(&roles, PROVIDER, "shop", "app", "vault")
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(found, vec!["vault"]);
}

#[test]
fn an_annotation_naming_a_deleted_role_gets_the_role_that_trusts_it() {
    let mut world = healthy();
    sa_mut(&mut world, "app")
        .annotations
        .insert(ROLE_ARN_ANNOTATION.to_string(), role_arn("app-deleted"));
    world.snapshot.role_trusts = Some(vec![listed("app", trust("shop", "app"))]);
    assert!(needs_role_trusts(&world.snapshot, &world.subjects));
    let findings = run(&world);
    let f = finding(&findings, "DOC030");
    assert_eq!(annotates_with(f), Some(role_arn("app")), "{f:#?}");
}

#[test]
fn a_spec_or_an_add_on_decides_and_the_roles_are_read_only_when_needed() {
    let world = healthy();
    assert!(!needs_role_trusts(&world.snapshot, &world.subjects));

    let mut world = lost(vec![listed("app", trust("shop", "app"))]);
    assert!(needs_role_trusts(&world.snapshot, &world.subjects));
    world.subjects[0].expected_role_arn = Some(role_arn("app-from-spec"));
    assert!(!needs_role_trusts(&world.snapshot, &world.subjects));
    let findings = run(&world);
    let f = finding(&findings, "DOC021");
    assert_eq!(
        annotates_with(f),
        Some(role_arn("app-from-spec")),
        "the spec's role wins"
    );

    // Without the ListRoles walk, the fix stays the generic one.
    let mut world = lost(vec![]);
    world.snapshot.role_trusts = None;
    let f = run(&world)
        .into_iter()
        .find(|f| f.rule == "DOC021")
        .unwrap();
    assert_eq!(f.fix.action, None);
}
