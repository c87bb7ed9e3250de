//! `irsa list` and `irsa verify`: which service accounts have IRSA roles, and proof that each
//! one can assume its role.
//!
//! The token proof asks the Kubernetes TokenRequest API for a short-lived token, checks it
//! locally the way STS will (issuer, provider, audience, signature against the issuer's JWKS
//! served by the API server, expiry, trust policy with its reason), then calls
//! `AssumeRoleWithWebIdentity` and `GetCallerIdentity` with it. `--pod` runs the guide's test pod
//! as well. Tokens and credentials are never printed or written.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use iam_policy::context::Context;
use iam_policy::document::PolicyDocument;
use iam_policy::eval::{self, Decision, Request};
use iam_policy::trust::{self, TokenClaims};
use irsa_core::snapshot::{ServiceAccount, Snapshot};
use irsa_core::verify::{self, Check};
use serde::Serialize;

use crate::cli::{ListArgs, VerifyArgs};
use crate::connection::{self, Connection};
use crate::exit::{CliError, Code, failed_while};
use crate::output::{Format, print_json};
use crate::style::{self, count, counted};
use crate::token;

/// The verdict for one service account.
#[derive(Debug, Serialize)]
pub struct Verdict {
    pub namespace: String,
    pub name: String,
    pub role_arn: Option<String>,
    pub assumed_arn: Option<String>,
    pub ok: bool,
    pub steps: Vec<Check>,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

#[derive(Serialize)]
struct ListEntry {
    namespace: String,
    name: String,
    role_arn: String,
    role_exists: bool,
    trust_allows: bool,
    trust_reasons: Vec<String>,
    policies: Vec<String>,
    pods: usize,
    pods_with_credentials: usize,
}

pub fn list(args: ListArgs) -> Result<Code, CliError> {
    connection::runtime()?.block_on(async {
        let (conn, cluster) =
            connection::connect(&args.cluster, args.output == Format::Text).await?;
        let sas = irsa_kube::list_role_service_accounts(&conn.kube, args.namespace.as_deref())
            .await
            .map_err(failed_while("listing service accounts"))?;
        let snapshot = connection::observe_cluster(
            &conn,
            &cluster,
            connection::annotated_role_names(&sas),
            Vec::new(),
        )
        .await?;
        let provider = snapshot
            .cluster
            .as_ref()
            .and_then(|c| c.issuer_url.as_deref())
            .and_then(|i| snapshot.provider_for_issuer(i));
        let mut entries = Vec::new();
        for sa in &sas {
            let role_arn = verify::annotated_role(sa).unwrap_or_default().to_string();
            let role = verify::role_name_of(&role_arn).and_then(|n| snapshot.role(&n));
            let (trust_allows, trust_reasons) = match (role, provider) {
                (Some(role), Some(provider)) => {
                    match PolicyDocument::from_value(&role.trust_policy) {
                        Ok(doc) => match trust::check_web_identity(
                            &doc,
                            &provider.arn,
                            &TokenClaims::for_service_account(
                                &sa.namespace,
                                &sa.name,
                                verify::audience_of(sa),
                            ),
                        ) {
                            Ok(t) => (t.allowed, t.reasons),
                            Err(e) => (false, vec![e.to_string()]),
                        },
                        Err(e) => (false, vec![format!("invalid trust policy: {e}")]),
                    }
                }
                (None, _) => (false, vec!["the role does not exist".to_string()]),
                (_, None) => (
                    false,
                    vec!["the cluster's issuer has no IAM OIDC provider".to_string()],
                ),
            };
            let pods = irsa_kube::pods_of(&conn.kube, &sa.namespace, &sa.name)
                .await
                .map_err(failed_while("listing pods"))?;
            let with_credentials = pods.iter().filter(|p| pod_has_role(p, &role_arn)).count();
            entries.push(ListEntry {
                namespace: sa.namespace.clone(),
                name: sa.name.clone(),
                role_exists: role.is_some(),
                policies: role
                    .map(|r| r.attached_policy_arns.clone())
                    .unwrap_or_default(),
                role_arn,
                trust_allows,
                trust_reasons,
                pods: pods.len(),
                pods_with_credentials: with_credentials,
            });
        }
        match args.output {
            Format::Json => print_json(&entries),
            Format::Text => {
                if entries.is_empty() {
                    println!(
                        "No service account has an {} annotation.",
                        irsa_core::render::ROLE_ARN_ANNOTATION
                    );
                }
                for e in &entries {
                    let verdict = if e.role_exists && e.trust_allows {
                        "ok"
                    } else {
                        "BROKEN"
                    };
                    println!(
                        "{:<6} {}/{}  →  {}",
                        verdict, e.namespace, e.name, e.role_arn
                    );
                    println!(
                        "       role {}, trust {}, {}, pods {}/{} with credentials",
                        if e.role_exists { "exists" } else { "MISSING" },
                        if e.trust_allows { "allows" } else { "DENIES" },
                        count(e.policies.len(), "policy", "policies"),
                        e.pods_with_credentials,
                        e.pods
                    );
                    if !e.trust_allows {
                        for r in &e.trust_reasons {
                            println!("       {r}");
                        }
                    }
                }
            }
        }
        Ok(Code::Ok)
    })
}

fn pod_has_role(pod: &irsa_kube::PodCredentials, role_arn: &str) -> bool {
    !pod.containers.is_empty()
        && pod
            .containers
            .iter()
            .all(|c| c.role_arn_env.as_deref() == Some(role_arn) && c.token_file_env.is_some())
}

/// Options of a verification run.
pub struct VerifyOptions {
    pub pod: bool,
    pub image: String,
    pub action: Option<(String, String)>,
}

pub fn verify(args: VerifyArgs) -> Result<Code, CliError> {
    connection::runtime()?.block_on(async {
        let single = args.subjects.single().map_err(CliError::input)?;
        let (conn, cluster) =
            connection::connect(&args.subjects.cluster, args.output == Format::Text).await?;
        let targets: Vec<(String, String)> = if let Some(single) = single {
            vec![single]
        } else if args.subjects.all {
            irsa_kube::list_role_service_accounts(&conn.kube, None)
                .await
                .map_err(failed_while("listing service accounts"))?
                .into_iter()
                .map(|sa| (sa.namespace, sa.name))
                .collect()
        } else if args.subjects.cluster.file.is_some() {
            connection::spec_service_accounts(&args.subjects.cluster)?
        } else {
            return Err(CliError::input(
                "say what to verify: -f FILE, --namespace NS --service-account NAME, or --all",
            ));
        };
        let options = VerifyOptions {
            pod: args.pod,
            image: args.image.clone(),
            action: args.action.clone().zip(args.resource.clone()),
        };
        let verdicts = verify_all(&conn, &cluster, &targets, &options).await?;
        print_verdicts(&verdicts, args.output);
        Ok(if verdicts.iter().all(|v| v.ok) {
            Code::Ok
        } else {
            Code::Negative
        })
    })
}

pub fn print_verdicts(verdicts: &[Verdict], format: Format) {
    match format {
        Format::Json => print_json(&verdicts),
        Format::Text => {
            for v in verdicts {
                println!(
                    "{} {}/{}",
                    if v.ok { "✓" } else { "✗" },
                    v.namespace,
                    v.name
                );
                for s in &v.steps {
                    println!(
                        "    {} {:<14} {}",
                        style::verdict(s.ok, "ok  ", "FAIL"),
                        s.name,
                        s.detail
                    );
                }
            }
            let failed = verdicts.iter().filter(|v| !v.ok).count();
            println!(
                "{} checked, {failed} failed.",
                counted(verdicts.len(), "service account")
            );
        }
    }
}

/// Verifies every `(namespace, name)`; one observation of AWS for all of them.
pub async fn verify_all(
    conn: &Connection,
    cluster: &str,
    targets: &[(String, String)],
    options: &VerifyOptions,
) -> Result<Vec<Verdict>, CliError> {
    let request = irsa_kube::KubeObserveRequest {
        namespaces: Vec::new(),
        service_accounts: targets.to_vec(),
    };
    let (_, found) = irsa_kube::observe(&conn.kube, &request)
        .await
        .map_err(failed_while("reading service accounts"))?;
    let mut snapshot = connection::observe_cluster(
        conn,
        cluster,
        connection::annotated_role_names(&found),
        Vec::new(),
    )
    .await?;
    if options.action.is_some() {
        // The policies' documents are needed to evaluate the action: a second, targeted look.
        let arns: Vec<String> = snapshot
            .roles
            .iter()
            .flat_map(|r| r.attached_policy_arns.clone())
            .collect();
        snapshot.policies = irsa_aws::observe_policies(&conn.aws, &arns)
            .await
            .map_err(failed_while("reading the roles' policies"))?;
    }
    let jwks = irsa_kube::fetch_jwks(&conn.kube)
        .await
        .map_err(|e| e.to_string());
    let mut verdicts = Vec::new();
    for (namespace, name) in targets {
        let mut steps = Vec::new();
        let Some(sa) = found
            .iter()
            .find(|s| s.namespace == *namespace && s.name == *name)
        else {
            steps.push(Check::fail(
                "service-account",
                format!("{namespace}/{name} does not exist"),
            ));
            verdicts.push(Verdict {
                namespace: namespace.clone(),
                name: name.clone(),
                role_arn: None,
                assumed_arn: None,
                ok: false,
                steps,
            });
            continue;
        };
        steps.push(Check::pass(
            "service-account",
            format!("{namespace}/{name} exists"),
        ));
        let role_arn = verify::check_annotation(sa, &snapshot, &mut steps);
        let mut assumed_arn = None;
        if let Some(role_arn) = &role_arn {
            assumed_arn = prove(
                conn,
                sa,
                role_arn,
                &snapshot,
                jwks.as_ref().map_err(Clone::clone),
                options,
                &mut steps,
            )
            .await;
        }
        let ok = steps.iter().filter(|s| s.name != "pods").all(|s| s.ok);
        verdicts.push(Verdict {
            namespace: namespace.clone(),
            name: name.clone(),
            role_arn,
            assumed_arn,
            ok,
            steps,
        });
    }
    Ok(verdicts)
}

/// The token proof (and the pod proof with `--pod`) for one annotated service account.
async fn prove(
    conn: &Connection,
    sa: &ServiceAccount,
    role_arn: &str,
    snapshot: &Snapshot,
    jwks: Result<&serde_json::Value, String>,
    options: &VerifyOptions,
    steps: &mut Vec<Check>,
) -> Option<String> {
    let audience = verify::audience_of(sa);
    let token =
        match irsa_kube::request_token(&conn.kube, &sa.namespace, &sa.name, audience, 600).await {
            Ok(t) => t,
            Err(e) => {
                steps.push(Check::fail("token", format!("TokenRequest failed: {e}")));
                return None;
            }
        };
    steps.push(Check::pass(
        "token",
        format!(
            "short-lived token for audience {audience}, expires {}",
            token.expires_at
        ),
    ));
    let facts = match token::facts(&token.token, jwks) {
        Ok(f) => f,
        Err(e) => {
            steps.push(Check::fail("token", e));
            return None;
        }
    };
    let chain = verify::check_chain(sa, role_arn, &facts, snapshot, now());
    let chain_ok = chain.iter().all(|c| c.ok);
    steps.extend(chain);
    let mut assumed = None;
    if chain_ok {
        let session = format!("irsa-verify-{}", now());
        match irsa_aws::assume_role_with_web_identity(&conn.aws, role_arn, &token.token, &session)
            .await
        {
            Err(e) => steps.push(Check::fail("assume-role", e.to_string())),
            Ok(credentials) => {
                steps.push(Check::pass(
                    "assume-role",
                    format!("AssumeRoleWithWebIdentity succeeded (session {session})"),
                ));
                let expected = verify::assumed_role_arn(role_arn, &session).unwrap_or_default();
                match irsa_aws::caller_identity_with(&conn.aws, &credentials).await {
                    Ok(identity) if identity.arn == expected => {
                        steps.push(Check::pass("caller-identity", identity.arn.clone()));
                        assumed = Some(identity.arn);
                    }
                    Ok(identity) => steps.push(Check::fail(
                        "caller-identity",
                        format!(
                            "GetCallerIdentity says {}, expected {expected}",
                            identity.arn
                        ),
                    )),
                    Err(e) => steps.push(Check::fail("caller-identity", e.to_string())),
                }
                if let Some((action, resource)) = &options.action {
                    steps.push(
                        check_action(conn, role_arn, snapshot, action, resource, &credentials)
                            .await,
                    );
                }
            }
        }
    }
    if options.pod {
        steps.push(pod_proof(conn, sa, role_arn, &options.image).await);
    }
    steps.push(pods_check(conn, sa, role_arn).await);
    assumed
}

/// Local evaluation of the role's policies, then a real call for read-only actions irsa can try.
async fn check_action(
    conn: &Connection,
    role_arn: &str,
    snapshot: &Snapshot,
    action: &str,
    resource: &str,
    credentials: &irsa_aws::TemporaryCredentials,
) -> Check {
    let role = verify::role_name_of(role_arn).and_then(|n| snapshot.role(&n));
    let documents: Vec<PolicyDocument> = role
        .map(|r| {
            r.attached_policy_arns
                .iter()
                .filter_map(|arn| snapshot.policy(arn))
                .filter_map(|p| PolicyDocument::from_value(&p.document).ok())
                .collect()
        })
        .unwrap_or_default();
    let refs: Vec<&PolicyDocument> = documents.iter().collect();
    let ctx = Context::new();
    let decision = eval::decide(
        &refs,
        &Request {
            principal: None,
            action,
            resource: Some(resource),
            context: &ctx,
        },
    );
    let local = match decision {
        Decision::Allow => "allowed by the attached policies",
        Decision::ExplicitDeny => "explicitly denied by an attached policy",
        Decision::ImplicitDeny => "not allowed by any attached policy",
    };
    let live = irsa_aws::try_read_action(&conn.aws, credentials, action, resource).await;
    let (ok, live_text) = match live {
        Ok(Some(true)) => (
            true,
            "; the call succeeded with the role's credentials".to_string(),
        ),
        Ok(Some(false)) => (
            false,
            "; the call was denied with the role's credentials".to_string(),
        ),
        Ok(None) => (decision == Decision::Allow, String::new()),
        Err(e) => (false, format!("; the call failed: {e}")),
    };
    Check {
        name: "action",
        ok: ok && decision == Decision::Allow,
        detail: format!("{action} on {resource}: {local}{live_text}"),
    }
}

/// The guide's test: a pod running `aws sts get-caller-identity` with the service account.
async fn pod_proof(conn: &Connection, sa: &ServiceAccount, role_arn: &str, image: &str) -> Check {
    let name = format!("irsa-verify-{}", now());
    let command = ["aws", "sts", "get-caller-identity", "--output", "json"]
        .map(String::from)
        .to_vec();
    if let Err(e) =
        irsa_kube::run_pod(&conn.kube, &sa.namespace, &name, &sa.name, image, command).await
    {
        return Check::fail("pod", format!("cannot create the test pod: {e}"));
    }
    let outcome = tokio::select! {
        phase = irsa_kube::wait_pod_finished(&conn.kube, &sa.namespace, &name, Duration::from_secs(180)) => Some(phase),
        _ = tokio::signal::ctrl_c() => None,
    };
    let log = irsa_kube::pod_log(&conn.kube, &sa.namespace, &name)
        .await
        .unwrap_or_default();
    let _ = irsa_kube::delete_pod(&conn.kube, &sa.namespace, &name).await;
    let Some(phase) = outcome else {
        return Check::fail("pod", "interrupted; the test pod was deleted".to_string());
    };
    if let Err(e) = phase {
        return Check::fail("pod", format!("the test pod did not finish: {e}"));
    }
    let role_name = verify::role_name_of(role_arn).unwrap_or_default();
    let arn = serde_json::from_str::<serde_json::Value>(&log)
        .ok()
        .and_then(|v| v["Arn"].as_str().map(str::to_string));
    match arn {
        Some(arn) if arn.contains(&format!(":assumed-role/{role_name}/")) => Check::pass(
            "pod",
            format!("aws sts get-caller-identity in a pod: {arn}"),
        ),
        Some(arn) => Check::fail(
            "pod",
            format!("the pod ran as {arn}, not as role {role_name}"),
        ),
        None => Check::fail(
            "pod",
            format!(
                "the pod's output is not the caller identity: {}",
                log.trim()
            ),
        ),
    }
}

/// Pods started before the annotation (or with a stale role) run without the role.
async fn pods_check(conn: &Connection, sa: &ServiceAccount, role_arn: &str) -> Check {
    match irsa_kube::pods_of(&conn.kube, &sa.namespace, &sa.name).await {
        Err(e) => Check::fail("pods", format!("cannot list pods: {e}")),
        Ok(pods) => {
            let stale: Vec<String> = pods
                .iter()
                .filter(|p| !pod_has_role(p, role_arn))
                .map(|p| match &p.owner {
                    Some((kind, owner)) => {
                        format!("{} (restart {} {owner})", p.name, kind.to_lowercase())
                    }
                    None => format!("{} (recreate it)", p.name),
                })
                .collect();
            if stale.is_empty() {
                Check::pass(
                    "pods",
                    format!(
                        "{}, all with the role's credentials",
                        counted(pods.len(), "pod")
                    ),
                )
            } else {
                Check::fail(
                    "pods",
                    format!(
                        "{} without this role's credentials (started before the annotation): {}",
                        counted(stale.len(), "pod"),
                        stale.join(", ")
                    ),
                )
            }
        }
    }
}
