//! The identity links of the chain: the cluster's issuer, the IAM OIDC provider for it (exact
//! URL, client ids, thumbprint), the service account's role annotation, the role, and its trust
//! policy evaluated by the policy engine for a token of this service account. A denied trust is
//! classified by the first thing that fails in the statements that could have allowed it
//! (provider, action, `sub`, `aud`), with the engine's explanation as evidence.

use iam_policy::document::PolicyDocument;
use iam_policy::eval::{self, Applies};
use iam_policy::lint::{self, LintOptions, PolicyKind, Severity};
use iam_policy::trust::{self, TokenClaims};

use super::rules::*;
use super::{ClusterFacts, DoctorInput, Finding, RoleFacts, Subject, Thumbprint};
use crate::desired::{self, DEFAULT_AUDIENCE};
use crate::render::ROLE_ARN_ANNOTATION;
use crate::snapshot::issuer_host_path;
use crate::steps::Step;
use crate::verify::{self, AnnotationProblem};

/// The share of IAM's trust policy quota above which doctor warns.
const TRUST_SIZE_WARNING: f64 = 0.9;

pub(crate) fn check_cluster(
    input: &DoctorInput<'_>,
    out: &mut Vec<Finding>,
) -> Option<ClusterFacts> {
    let snapshot = input.snapshot;
    let Some(issuer) = snapshot.cluster.as_ref().and_then(|c| c.issuer_url.clone()) else {
        out.push(
            Finding::new(&CLUSTER_NO_ISSUER, None, format!("EKS cluster `{}` reports no OIDC issuer, so no service-account token can be exchanged for AWS credentials", input.cluster))
                .fix("EKS clusters have an issuer from creation; check the cluster name and region")
                .command(format!("aws eks describe-cluster --name {} --query cluster.identity.oidc.issuer", input.cluster)),
        );
        return None;
    };
    let provider_arn = desired::oidc_provider_arn(&snapshot.partition, &snapshot.account, &issuer)
        .unwrap_or_else(|_| {
            format!(
                "arn:{}:iam::{}:oidc-provider/{}",
                snapshot.partition,
                snapshot.account,
                issuer_host_path(&issuer)
            )
        });
    let provider = snapshot.provider_for_issuer(&issuer);
    Some(ClusterFacts {
        provider_exists: provider.is_some(),
        client_ids: provider.map(|p| p.client_ids.clone()).unwrap_or_default(),
        issuer,
        provider_arn,
    })
}

/// The audiences the IRSA subjects' tokens carry (annotation `eks.amazonaws.com/audience`,
/// default `sts.amazonaws.com`), without duplicates.
fn audiences(input: &DoctorInput<'_>) -> Vec<String> {
    let mut out = vec![DEFAULT_AUDIENCE.to_string()];
    let irsa_subjects = input
        .subjects
        .iter()
        .filter(|s| super::mechanism_of(input.snapshot, s) == crate::identity::Kind::Irsa);
    for subject in irsa_subjects {
        if let Some(sa) = input
            .snapshot
            .service_account(&subject.namespace, &subject.name)
        {
            let audience = verify::audience_of(sa).to_string();
            if !out.contains(&audience) {
                out.push(audience);
            }
        }
    }
    out
}

pub(crate) fn check_provider(
    input: &DoctorInput<'_>,
    cluster: &ClusterFacts,
    out: &mut Vec<Finding>,
) {
    let audiences = audiences(input);
    if !cluster.provider_exists {
        let thumbprints: Vec<String> = match input.thumbprint {
            Thumbprint::Expected(t) => vec![t.clone()],
            Thumbprint::NotChecked(_) => Vec::new(),
        };
        let mut finding = Finding::new(
            &PROVIDER_MISSING,
            None,
            format!("account {} has no IAM OIDC provider for {}: STS rejects every token of this cluster (InvalidIdentityToken)", input.snapshot.account, cluster.issuer),
        )
        .evidence(format!("cluster issuer: {}", cluster.issuer))
        .evidence(format!("expected provider: {}", cluster.provider_arn));
        let wanted_id = issuer_id(&cluster.issuer);
        for provider in &input.snapshot.oidc_providers {
            let near = issuer_id(&provider.url).eq_ignore_ascii_case(wanted_id);
            finding = finding.evidence(format!(
                "provider in the account: {}{}",
                provider.url,
                if near {
                    " (same cluster id, different URL: IAM matches the issuer URL exactly)"
                } else {
                    ""
                }
            ));
        }
        let mut command = format!(
            "aws iam create-open-id-connect-provider --url {} --client-id-list {}",
            cluster.issuer,
            audiences.join(" ")
        );
        if !thumbprints.is_empty() {
            command.push_str(&format!(" --thumbprint-list {}", thumbprints.join(" ")));
        }
        out.push(
            finding
                .fix("create (re-associate) the IAM OIDC provider for the cluster's issuer")
                .command(command)
                .step(Step::CreateOidcProvider {
                    url: cluster.issuer.clone(),
                    client_ids: audiences,
                    thumbprints,
                    tags: desired::ownership_tags(input.cluster),
                }),
        );
        return;
    }
    for audience in audiences.iter().filter(|a| !cluster.client_ids.contains(a)) {
        out.push(
            Finding::new(&PROVIDER_CLIENT_ID, None, format!("the provider does not list `{audience}` as a client id: STS rejects tokens with that audience (InvalidIdentityToken: Incorrect token audience)"))
                .evidence(format!("provider: {}", cluster.provider_arn))
                .evidence(format!("client ids: [{}]", cluster.client_ids.join(", ")))
                .fix(format!("add `{audience}` to the provider's client ids"))
                .command(format!("aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn {} --client-id {audience}", cluster.provider_arn))
                .step(Step::AddOidcClientId { provider_arn: cluster.provider_arn.clone(), client_id: audience.clone() }),
        );
    }
    if let Thumbprint::Expected(expected) = input.thumbprint {
        let provider = input.snapshot.provider_for_issuer(&cluster.issuer);
        let thumbprints = provider
            .map(|p| p.thumbprints.as_slice())
            .unwrap_or_default();
        if !thumbprints.is_empty() && !thumbprints.iter().any(|t| t.eq_ignore_ascii_case(expected))
        {
            out.push(
                Finding::new(&PROVIDER_THUMBPRINT, None, "the provider's thumbprints do not match the issuer's certificate chain; AWS no longer uses them for EKS issuers, other tools report the difference as drift")
                    .evidence(format!("issuer chain's top certificate SHA-1: {expected}"))
                    .evidence(format!("provider thumbprints: [{}]", thumbprints.join(", ")))
                    .fix("update the thumbprint list")
                    .command(format!("aws iam update-open-id-connect-provider-thumbprint --open-id-connect-provider-arn {} --thumbprint-list {expected}", cluster.provider_arn)),
            );
        }
    }
}

/// The `id/<ID>` tail of an issuer URL (what identifies the cluster).
fn issuer_id(url: &str) -> &str {
    let host_path = issuer_host_path(url);
    host_path.rsplit('/').next().unwrap_or(host_path)
}

/// Checks the service account and its annotation; returns the role to follow (the annotated one,
/// else the spec's), with whether it exists.
pub(crate) fn check_service_account(
    input: &DoctorInput<'_>,
    subject: &Subject,
    out: &mut Vec<Finding>,
) -> Option<RoleFacts> {
    let snapshot = input.snapshot;
    let label = subject.label();
    let Some(sa) = snapshot.service_account(&subject.namespace, &subject.name) else {
        let mut finding = Finding::new(
            &SA_MISSING,
            Some(subject),
            format!("service account {label} does not exist, so pods cannot run as it"),
        );
        finding = match (&subject.addon, &subject.expected_role_arn) {
            (Some(addon), _) => finding.fix(format!("the EKS add-on {addon} creates it; install the add-on (`irsa apply`)")),
            (None, Some(role)) => finding
                .fix("create it annotated with its role (`irsa apply -f <spec>` does)")
                .command(format!("kubectl create serviceaccount {} -n {} && kubectl annotate serviceaccount {} -n {} {ROLE_ARN_ANNOTATION}={role}", subject.name, subject.namespace, subject.name, subject.namespace)),
            (None, None) => finding.fix("create it, or point the workload at the right service account"),
        };
        out.push(finding);
        return subject
            .expected_role_arn
            .as_ref()
            .map(|arn| role_facts(input, arn, DEFAULT_AUDIENCE));
    };
    let audience = verify::audience_of(sa).to_string();
    let annotate = |role: &str| {
        format!(
            "kubectl annotate serviceaccount {} -n {} --overwrite {ROLE_ARN_ANNOTATION}={role}",
            subject.name, subject.namespace
        )
    };
    let annotate_step = |role: &str| Step::ApplyServiceAccount {
        namespace: subject.namespace.clone(),
        name: subject.name.clone(),
        create: false,
        labels: Vec::new(),
        annotations: vec![(ROLE_ARN_ANNOTATION.to_string(), Some(role.to_string()))],
    };
    match verify::annotated_role_arn(sa, snapshot) {
        Ok(role_arn) => {
            if let Some(expected) = subject
                .expected_role_arn
                .as_ref()
                .filter(|e| **e != role_arn)
            {
                out.push(
                    Finding::new(
                        &SA_UNEXPECTED_ROLE,
                        Some(subject),
                        format!("{label} is annotated with another role than the spec's"),
                    )
                    .evidence(format!("{ROLE_ARN_ANNOTATION}: {role_arn}"))
                    .evidence(format!("spec: {expected}"))
                    .fix("annotate it with the spec's role (then restart its pods)")
                    .command(annotate(expected))
                    .step(annotate_step(expected)),
                );
            }
            Some(role_facts(input, &role_arn, &audience))
        }
        Err(problem) => {
            let rule = match &problem {
                AnnotationProblem::Missing => &SA_NO_ANNOTATION,
                AnnotationProblem::NotAnArn(_) | AnnotationProblem::NotARole(_) => {
                    &SA_BAD_ANNOTATION
                }
                AnnotationProblem::OtherAccount { .. }
                | AnnotationProblem::OtherPartition { .. } => &SA_OTHER_ACCOUNT,
            };
            let mut finding = Finding::new(rule, Some(subject), format!("{label}: {problem}"));
            if let Some(value) = verify::annotated_role(sa) {
                finding = finding.evidence(format!("{ROLE_ARN_ANNOTATION}: {value}"));
            }
            finding = match (&subject.addon, &subject.expected_role_arn) {
                (Some(addon), _) => finding.fix(format!("set the role as the {addon} add-on's serviceAccountRoleArn (`irsa apply`); EKS annotates the service account")),
                (None, Some(expected)) => finding.fix("annotate it with the spec's role").command(annotate(expected)).step(annotate_step(expected)),
                (None, None) => finding.fix("annotate it with the ARN of the role its workload should use").command(annotate(&format!("arn:{}:iam::{}:role/<role-name>", snapshot.partition, snapshot.account))),
            };
            out.push(finding);
            subject
                .expected_role_arn
                .as_ref()
                .map(|arn| role_facts(input, arn, &audience))
        }
    }
}

pub(crate) fn role_facts(input: &DoctorInput<'_>, role_arn: &str, audience: &str) -> RoleFacts {
    let name = verify::role_name_of(role_arn).unwrap_or_default();
    RoleFacts {
        arn: role_arn.to_string(),
        role: input.snapshot.role(&name).cloned(),
        name,
        audience: audience.to_string(),
        session_policy: None,
    }
}

/// The role exists and its trust policy lets this service account's tokens in, and only them.
pub(crate) fn check_trust(
    input: &DoctorInput<'_>,
    cluster: &ClusterFacts,
    subject: &Subject,
    facts: &RoleFacts,
    out: &mut Vec<Finding>,
) {
    let label = subject.label();
    let Some(role) = &facts.role else {
        out.push(
            Finding::new(&ROLE_MISSING, Some(subject), format!("role `{}` does not exist in account {}: STS answers AccessDenied (Not authorized to perform sts:AssumeRoleWithWebIdentity)", facts.name, input.snapshot.account))
                .evidence(format!("role: {}", facts.arn))
                .fix("create the role with a web-identity trust for this service account (`irsa apply -f <spec>` with a binding for it)")
                .command(format!("irsa apply --cluster {} --region {}", input.cluster, input.snapshot.region)),
        );
        return;
    };
    let text = role.trust_policy.to_string();
    let document = match PolicyDocument::from_value(&role.trust_policy) {
        Ok(d) => d,
        Err(e) => {
            out.push(
                Finding::new(
                    &TRUST_DENIED,
                    Some(subject),
                    format!("the trust policy of `{}` does not parse: {e}", role.name),
                )
                .evidence(text)
                .fix("rewrite the trust policy"),
            );
            return;
        }
    };
    let claims =
        TokenClaims::for_service_account(&subject.namespace, &subject.name, &facts.audience);
    let check = match trust::check_web_identity(&document, &cluster.provider_arn, &claims) {
        Ok(c) => c,
        Err(e) => {
            out.push(
                Finding::new(&TRUST_DENIED, Some(subject), e.to_string())
                    .fix("check the account's partition"),
            );
            return;
        }
    };
    let lints = lint::lint_text(
        &text,
        &LintOptions {
            account: Some(input.snapshot.account.clone()),
            kind: Some(PolicyKind::Trust),
        },
    );
    let repair = repair_step(input, cluster, subject, facts, role);
    if !check.allowed {
        let (rule, message) =
            classify_denial(&document, &cluster.provider_arn, &claims, &cluster.issuer);
        let mut finding = Finding::new(
            rule,
            Some(subject),
            format!("role `{}` does not trust {label}: {message}", role.name),
        )
        .evidence(format!(
            "token: sub {} aud {} from {}",
            claims.sub, facts.audience, cluster.provider_arn
        ));
        for reason in &check.reasons {
            finding = finding.evidence(reason.clone());
        }
        finding = finding.evidence(format!("trust policy: {text}"));
        out.push(with_trust_fix(finding, role, repair.as_ref()));
    } else {
        for l in &lints {
            let rule = match l.rule {
                "IRSA001" | "IRSA002" | "IRSA005" => &TRUST_TOO_BROAD,
                "IRSA004" => &TRUST_NO_AUDIENCE,
                "IRSA003" => &TRUST_EQUALS_WILDCARD,
                _ => continue,
            };
            let finding = Finding::new(
                rule,
                Some(subject),
                format!("role `{}`: {}", role.name, l.message),
            )
            .severity(if rule.id == TRUST_EQUALS_WILDCARD.id {
                Severity::Medium
            } else {
                rule.severity
            })
            .evidence(format!(
                "{}: {}",
                if l.location.is_empty() {
                    "policy"
                } else {
                    &l.location
                },
                text
            ));
            // Adding a statement cannot narrow a trust: only an owned role's is replaced.
            let narrowing = repair.as_ref().filter(|_| desired::is_owned(&role.tags));
            out.push(with_trust_fix(finding, role, narrowing));
        }
    }
    let chars = lint::chars_without_whitespace(&text);
    if chars as f64 >= lint::TRUST_POLICY_MAX_CHARS as f64 * TRUST_SIZE_WARNING {
        let over = chars > lint::TRUST_POLICY_MAX_CHARS;
        out.push(
            Finding::new(&TRUST_SIZE, Some(subject), format!("the trust policy of `{}` is {chars} characters (white space not counted), {} IAM's default quota of {}", role.name, if over { "over" } else { "near" }, lint::TRUST_POLICY_MAX_CHARS))
                .severity(if over { Severity::High } else { Severity::Medium })
                .fix("use one role per service account (or per cluster) instead of one trust policy for many, or request a quota increase"),
        );
    }
}

/// The first thing that fails for the statements that could allow the token.
fn classify_denial(
    document: &PolicyDocument,
    provider_arn: &str,
    claims: &TokenClaims,
    issuer: &str,
) -> (&'static Rule, String) {
    let issuer = issuer_host_path(issuer);
    let ctx = trust::web_identity_context(issuer, claims);
    let request = trust::web_identity_request(provider_arn, &ctx);
    let variables = document.variables_enabled();
    let allows: Vec<_> = document
        .statements
        .iter()
        .filter(|s| s.effect == iam_policy::document::Effect::Allow)
        .collect();
    let mut verdicts: Vec<(&iam_policy::document::Statement, Applies)> = allows
        .iter()
        .map(|s| (*s, eval::statement_applies(s, &request, variables)))
        .collect();
    if verdicts.iter().all(|(_, v)| matches!(v, Applies::Yes)) && !verdicts.is_empty() {
        return (
            &TRUST_DENIED,
            "a Deny statement matches the token".to_string(),
        );
    }
    verdicts.retain(|(_, v)| !matches!(v, Applies::PrincipalMismatch));
    if verdicts.is_empty() {
        let named: Vec<&str> = document
            .statements
            .iter()
            .flat_map(trust::web_identity_provider_arns)
            .collect();
        return (
            &TRUST_WRONG_PROVIDER,
            if named.is_empty() {
                format!("no Allow statement names the Federated principal {provider_arn}")
            } else {
                format!(
                    "it trusts {} instead of this cluster's provider {provider_arn}",
                    named.join(", ")
                )
            },
        );
    }
    if verdicts
        .iter()
        .all(|(_, v)| matches!(v, Applies::ActionMismatch))
    {
        return (
            &TRUST_WRONG_ACTION,
            format!(
                "its statements for this provider do not allow {}",
                trust::ASSUME_ROLE_WITH_WEB_IDENTITY
            ),
        );
    }
    for (statement, verdict) in &verdicts {
        let Applies::ConditionFailed(i) = verdict else {
            continue;
        };
        let condition = &statement.conditions[*i];
        let key = condition.key.to_ascii_lowercase();
        let values: Vec<&str> = condition.values.iter().map(|v| v.text.as_str()).collect();
        if key.ends_with(":sub") {
            if condition.operator.kind.is_exact_string() && values.iter().any(|v| v.contains('*')) {
                return (
                    &TRUST_EQUALS_WILDCARD,
                    format!(
                        "{} {} = {:?}: under {} the `*` is literal, so it matches no service account; use StringLike",
                        condition.operator.name(),
                        condition.key,
                        values,
                        condition.operator.name()
                    ),
                );
            }
            return (
                &TRUST_SUBJECT,
                format!(
                    "{} {} is {:?}, the token's sub is {}",
                    condition.operator.name(),
                    condition.key,
                    values,
                    claims.sub
                ),
            );
        }
        if key.ends_with(":aud") {
            return (
                &TRUST_AUDIENCE,
                format!(
                    "{} {} is {:?}, the token's aud is {}",
                    condition.operator.name(),
                    condition.key,
                    values,
                    claims.aud.join(", ")
                ),
            );
        }
        return (
            &TRUST_DENIED,
            format!(
                "condition {} {} does not hold",
                condition.operator.name(),
                condition.key
            ),
        );
    }
    (&TRUST_DENIED, "no statement allows the token".to_string())
}

/// A trust policy that keeps every statement and adds the exact one for this service account, as
/// a step, when irsa may change the role (it owns it, or `--adopt`).
fn repair_step(
    input: &DoctorInput<'_>,
    cluster: &ClusterFacts,
    subject: &Subject,
    facts: &RoleFacts,
    role: &crate::snapshot::Role,
) -> Option<Step> {
    if !(desired::is_owned(&role.tags) || input.adopt) {
        return None;
    }
    let exact = desired::trust_policy(
        &input.snapshot.partition,
        &input.snapshot.account,
        &cluster.issuer,
        &subject.namespace,
        &subject.name,
        &facts.audience,
    )
    .ok()?;
    Some(trust_repair(role, exact))
}

/// The trust update that gives `role` the statement of `exact` (a one-statement trust policy):
/// an irsa-owned role is for one service account, so its whole trust is replaced; an adopted
/// role keeps its other statements.
pub(crate) fn trust_repair(role: &crate::snapshot::Role, exact: serde_json::Value) -> Step {
    let trust_policy = if desired::is_owned(&role.tags) {
        exact
    } else {
        let mut merged = role.trust_policy.clone();
        let statement = exact["Statement"][0].clone();
        match merged.get_mut("Statement") {
            Some(serde_json::Value::Array(list)) => list.push(statement),
            Some(single) => *single = serde_json::Value::Array(vec![single.clone(), statement]),
            None => merged["Statement"] = serde_json::Value::Array(vec![statement]),
        }
        merged
    };
    Step::UpdateTrustPolicy {
        role_name: role.name.clone(),
        trust_policy,
    }
}

fn with_trust_fix(
    finding: Finding,
    role: &crate::snapshot::Role,
    repair: Option<&Step>,
) -> Finding {
    let finding = finding.command(format!(
        "aws iam update-assume-role-policy --role-name {} --policy-document file://trust.json",
        role.name
    ));
    match repair {
        Some(step) => {
            let document = match step {
                Step::UpdateTrustPolicy { trust_policy, .. } => trust_policy.to_string(),
                _ => String::new(),
            };
            finding.fix(format!("give the role the exact web-identity trust for this service account; trust.json: {document}")).step(step.clone())
        }
        None => finding.fix("add a statement with StringEquals on <issuer>:sub = system:serviceaccount:<namespace>:<name> and <issuer>:aud = sts.amazonaws.com (irsa changes only roles it created, or with --adopt)"),
    }
}
