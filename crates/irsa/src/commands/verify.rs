//! `irsa list` and `irsa verify`: which service accounts have IRSA roles, and proof that each
//! one can assume its role.
//!
//! The token proof asks the Kubernetes TokenRequest API for a short-lived token, checks it
//! locally the way STS will (issuer, provider, audience, signature against the issuer's JWKS
//! served by the API server, expiry, trust policy with its reason), then calls
//! `AssumeRoleWithWebIdentity` and `GetCallerIdentity` with it. `--pod` runs the guide's test pod
//! as well. Tokens and credentials are never printed or written.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use iam_policy::eval::Decision;

use irsa_core::identity::Kind;
use irsa_core::identity::pod_identity;
use irsa_core::resource_layers::ResourceLayers;
use irsa_core::snapshot::{PodIdentityAssociation, ServiceAccount, Snapshot};
use irsa_core::verify::{self, Check};
use irsa_core::verify_pod_identity::{self as verify_pi, LiveLink};
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
    /// The mechanism proven (`irsa`, `pod-identity`); `None` when the service account has none.
    pub identity: Option<Kind>,
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
    #[serde(flatten)]
    row: irsa_core::list::Row,
    pods: usize,
    pods_with_credentials: usize,
}

pub fn list(args: ListArgs) -> Result<Code, CliError> {
    connection::runtime()?.block_on(async {
        let (conn, cluster) =
            connection::connect(&args.cluster, args.output == Format::Text).await?;
        let (sas, associations) = tokio::join!(
            irsa_kube::list_role_service_accounts(&conn.kube, args.namespace.as_deref()),
            irsa_aws::pod_identity::read_associations(
                &conn.aws,
                &cluster,
                &irsa_aws::pod_identity::AssociationScope::All
            )
        );
        let sas = sas.map_err(failed_while("listing service accounts"))?;
        let associations: Vec<PodIdentityAssociation> =
            associations_or_first_error(&conn, &cluster, &sas, associations)
                .await?
                .into_iter()
                .filter(|a| args.namespace.as_deref().is_none_or(|ns| a.namespace == ns))
                .collect();
        let mut snapshot = connection::observe_cluster(
            &conn,
            &cluster,
            connection::linked_role_names(&sas, &associations),
            Vec::new(),
            false,
        )
        .await?
        .snapshot;
        snapshot.pod_identity_associations = associations;
        let mut entries = Vec::new();
        for row in irsa_core::list::rows(&sas, &snapshot, &cluster) {
            let pods = irsa_kube::pods_of(&conn.kube, &row.namespace, &row.name)
                .await
                .map_err(failed_while("listing pods"))?;
            let with_credentials = pods.iter().filter(|p| pod_is_current(p, &row)).count();
            entries.push(ListEntry {
                row,
                pods: pods.len(),
                pods_with_credentials: with_credentials,
            });
        }
        match args.output {
            Format::Json => print_json(&entries),
            Format::Text => print_list(&entries),
        }
        Ok(Code::Ok)
    })
}

fn print_list(entries: &[ListEntry]) {
    if entries.is_empty() {
        println!(
            "No service account has an {} annotation or an EKS Pod Identity association.",
            irsa_core::render::ROLE_ARN_ANNOTATION
        );
    }
    for e in entries {
        let r = &e.row;
        let verdict = if r.role_exists && r.trust_allows {
            "ok"
        } else {
            "BROKEN"
        };
        let identity = match r.identity {
            irsa_core::list::Linked::Irsa => "IRSA",
            irsa_core::list::Linked::PodIdentity => "Pod Identity",
            irsa_core::list::Linked::Both => "IRSA + Pod Identity (workloads use IRSA)",
        };
        println!(
            "{:<6} {}/{}  →  {}  [{identity}]",
            verdict, r.namespace, r.name, r.role_arn
        );
        println!(
            "       role {}, trust {}, {}, pods {}/{} with credentials",
            if r.role_exists { "exists" } else { "MISSING" },
            if r.trust_allows { "allows" } else { "DENIES" },
            count(r.policies.len(), "policy", "policies"),
            e.pods_with_credentials,
            e.pods
        );
        if !r.trust_allows {
            for reason in &r.trust_reasons {
                println!("       {reason}");
            }
        }
    }
}

/// Whether a pod carries the credentials of the row's effective mechanism.
fn pod_is_current(pod: &irsa_kube::PodCredentials, row: &irsa_core::list::Row) -> bool {
    match row.identity {
        irsa_core::list::Linked::PodIdentity => {
            !pod.containers.is_empty() && pod.containers.iter().all(|c| c.uses_pod_identity())
        }
        irsa_core::list::Linked::Irsa | irsa_core::list::Linked::Both => {
            pod_has_role(pod, &row.role_arn)
        }
    }
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
    /// Prove this mechanism when the service account is linked through both (a migration's
    /// proof before the old link goes); `None`: the one its workloads use.
    pub prefer: Option<Kind>,
}

pub fn verify(args: VerifyArgs) -> Result<Code, CliError> {
    connection::runtime()?.block_on(async {
        let single = args.subjects.single().map_err(CliError::input)?;
        let (conn, cluster) =
            connection::connect(&args.subjects.cluster, args.output == Format::Text).await?;
        let mut listed = Vec::new();
        let mut associations = None;
        let targets: Vec<(String, String)> = if let Some(single) = single {
            vec![single]
        } else if args.subjects.all {
            let linked = every_linked_service_account(&conn, &cluster).await?;
            listed = linked.annotated;
            associations = Some(linked.associations);
            linked.subjects
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
            prefer: None,
        };
        let known = Known {
            service_accounts: &listed,
            associations,
        };
        let verdicts = verify_known(&conn, &cluster, &targets, known, &options).await?;
        print_verdicts(&verdicts, args.output);
        Ok(if verdicts.iter().all(|v| v.ok) {
            Code::Ok
        } else {
            Code::Negative
        })
    })
}

/// What `verify --all` lists first: every service account with an IRSA annotation or an EKS
/// Pod Identity association, sorted, once; the annotated ones as listed and the cluster's
/// associations as described (neither needs a second read).
struct Linked {
    subjects: Vec<(String, String)>,
    annotated: Vec<ServiceAccount>,
    associations: Vec<PodIdentityAssociation>,
}

async fn every_linked_service_account(
    conn: &Connection,
    cluster: &str,
) -> Result<Linked, CliError> {
    let (annotated, associations) = tokio::join!(
        irsa_kube::list_role_service_accounts(&conn.kube, None),
        irsa_aws::pod_identity::read_associations(
            &conn.aws,
            cluster,
            &irsa_aws::pod_identity::AssociationScope::All
        )
    );
    let annotated = annotated.map_err(failed_while("listing service accounts"))?;
    let associations = associations_or_first_error(conn, cluster, &annotated, associations).await?;
    let subjects: std::collections::BTreeSet<(String, String)> = annotated
        .iter()
        .map(|sa| (sa.namespace.clone(), sa.name.clone()))
        .chain(
            associations
                .iter()
                .map(|a| (a.namespace.clone(), a.service_account.clone())),
        )
        .collect();
    Ok(Linked {
        subjects: subjects.into_iter().collect(),
        annotated,
        associations,
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

/// Verifies every `(namespace, name)`; one observation of AWS for all of them, each role (and,
/// with `--action`, its policies) read once. `known`: service accounts already read (listed), not
/// read again.
pub async fn verify_all(
    conn: &Connection,
    cluster: &str,
    targets: &[(String, String)],
    known: &[ServiceAccount],
    options: &VerifyOptions,
) -> Result<Vec<Verdict>, CliError> {
    let known = Known {
        service_accounts: known,
        associations: None,
    };
    verify_known(conn, cluster, targets, known, options).await
}

/// What a verification was given already read.
struct Known<'a> {
    service_accounts: &'a [ServiceAccount],
    /// The cluster's associations, every one described (`verify --all` listed them).
    associations: Option<Vec<PodIdentityAssociation>>,
}

/// [`verify_all`], reading neither the `known` service accounts nor, when given, the associations.
async fn verify_known(
    conn: &Connection,
    cluster: &str,
    targets: &[(String, String)],
    known: Known<'_>,
    options: &VerifyOptions,
) -> Result<Vec<Verdict>, CliError> {
    let Known {
        service_accounts: known,
        associations: known_associations,
    } = known;
    let is_known = |(ns, name): &&(String, String)| {
        known
            .iter()
            .any(|sa| sa.namespace == *ns && sa.name == *name)
    };
    let request = irsa_kube::KubeObserveRequest {
        namespaces: Vec::new(),
        service_accounts: targets.iter().filter(|t| !is_known(t)).cloned().collect(),
    };
    let scope =
        irsa_aws::pod_identity::AssociationScope::Subjects(targets.iter().cloned().collect());
    let read_associations = async {
        match known_associations {
            Some(listed) => Ok(listed
                .into_iter()
                .filter(|a| scope.contains(&a.namespace, &a.service_account))
                .collect()),
            None => irsa_aws::pod_identity::read_associations(&conn.aws, cluster, &scope).await,
        }
    };
    let (read, associations) =
        tokio::join!(irsa_kube::observe(&conn.kube, &request), read_associations);
    let (_, read) = read.map_err(failed_while("reading service accounts"))?;
    let found: Vec<ServiceAccount> = known
        .iter()
        .filter(|sa| {
            targets
                .iter()
                .any(|(ns, name)| sa.namespace == *ns && sa.name == *name)
        })
        .cloned()
        .chain(read)
        .collect();
    let associations = associations_or_first_error(conn, cluster, &found, associations).await?;
    // The policies' documents are needed only to evaluate an action.
    let mut snapshot = connection::observe_cluster(
        conn,
        cluster,
        connection::linked_role_names(&found, &associations),
        Vec::new(),
        options.action.is_some(),
    )
    .await?
    .snapshot;
    snapshot.pod_identity_associations = associations;
    let layers = match &options.action {
        Some((_, resource)) => read_outer_layers(conn, &snapshot, resource).await,
        None => ResourceLayers::default(),
    };
    let seen = Seen {
        snapshot: &snapshot,
        layers: &layers,
    };
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
                identity: None,
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
        let link = LiveLink::of(sa, &snapshot);
        let proven = match options.prefer {
            Some(Kind::PodIdentity) if link.association.is_some() => Some(Kind::PodIdentity),
            Some(Kind::Irsa) if link.annotation.is_some() => Some(Kind::Irsa),
            _ => link.effective(),
        };
        if let (Some(Kind::PodIdentity), Some(association)) = (proven, link.association) {
            let assumed_arn =
                prove_pod_identity(conn, cluster, sa, association, &seen, options, &mut steps)
                    .await;
            verdicts.push(Verdict {
                namespace: namespace.clone(),
                name: name.clone(),
                identity: Some(Kind::PodIdentity),
                role_arn: Some(association.role_arn.clone()),
                assumed_arn,
                ok: steps.iter().filter(|s| s.name != "pods").all(|s| s.ok),
                steps,
            });
            continue;
        }
        if let (true, Some(association), None) = (link.both(), link.association, options.prefer) {
            steps.push(Check::pass(
                "pod-identity",
                format!(
                    "also associated with {} ({}); its workloads use IRSA, since the SDKs find web identity before container credentials (see `irsa doctor`)",
                    association.role_arn, association.association_id
                ),
            ));
        }
        let role_arn = verify::check_annotation(sa, &snapshot, &mut steps);
        let mut assumed_arn = None;
        if let Some(role_arn) = &role_arn {
            assumed_arn = prove(
                conn,
                sa,
                role_arn,
                &seen,
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
            identity: Some(Kind::Irsa),
            role_arn,
            assumed_arn,
            ok,
            steps,
        });
    }
    Ok(verdicts)
}

/// The associations read; when they could not be, the observation of AWS is tried first, so
/// that its error (the caller's credentials, the endpoint: its first call is STS) is the one
/// reported, as before the associations' roles joined that observation.
async fn associations_or_first_error(
    conn: &Connection,
    cluster: &str,
    sas: &[ServiceAccount],
    associations: Result<Vec<PodIdentityAssociation>, irsa_aws::AwsError>,
) -> Result<Vec<PodIdentityAssociation>, CliError> {
    if associations.is_err() {
        let roles = connection::annotated_role_names(sas);
        connection::observe_cluster(conn, cluster, roles, Vec::new(), false).await?;
    }
    associations.map_err(failed_while("reading EKS Pod Identity associations"))
}

/// The Pod Identity proof for one associated service account, as the agent gets credentials:
/// the chain's links, a token with the Pod Identity audience, EKS Auth's
/// `AssumeRoleForPodIdentity`, then `GetCallerIdentity` with the credentials, which must be a
/// session of the association's role (its target role when it names one).
async fn prove_pod_identity(
    conn: &Connection,
    cluster: &str,
    sa: &ServiceAccount,
    association: &PodIdentityAssociation,
    seen: &Seen<'_>,
    options: &VerifyOptions,
    steps: &mut Vec<Check>,
) -> Option<String> {
    let snapshot = seen.snapshot;
    let chain = verify_pi::check_chain(association, snapshot, cluster);
    let chain_ok = chain.iter().all(|c| c.ok);
    steps.extend(chain);
    let expected = verify_pi::expected_role_arn(association).to_string();
    let mut assumed = None;
    if chain_ok {
        let audience = pod_identity::AUDIENCE;
        match irsa_kube::request_token(&conn.kube, &sa.namespace, &sa.name, audience, 600).await {
            Err(e) => steps.push(Check::fail("token", format!("TokenRequest failed: {e}"))),
            Ok(token) => {
                steps.push(Check::pass(
                    "token",
                    format!(
                        "short-lived token for audience {audience}, expires {}",
                        token.expires_at
                    ),
                ));
                assumed = exchange_pod_identity_token(
                    conn,
                    cluster,
                    &token.token,
                    &expected,
                    seen,
                    options,
                    steps,
                )
                .await;
            }
        }
    }
    if options.pod {
        steps.push(pod_proof(conn, sa, &expected, &options.image).await);
    }
    assumed
}

/// EKS Auth's exchange of a Pod Identity token, then `GetCallerIdentity` with what it returned.
async fn exchange_pod_identity_token(
    conn: &Connection,
    cluster: &str,
    token: &str,
    expected_role: &str,
    seen: &Seen<'_>,
    options: &VerifyOptions,
    steps: &mut Vec<Check>,
) -> Option<String> {
    let grant = match irsa_aws::assume_role_for_pod_identity(&conn.aws, cluster, token).await {
        Ok(grant) => grant,
        Err(e) => {
            steps.push(Check::fail("eks-auth", e.to_string()));
            return None;
        }
    };
    steps.push(Check::pass(
        "eks-auth",
        format!(
            "AssumeRoleForPodIdentity succeeded (association {}; session tags are set by EKS and not visible in the credentials)",
            grant.association_id.as_deref().unwrap_or("?")
        ),
    ));
    let identity = match irsa_aws::caller_identity_with(&conn.aws, &grant.credentials).await {
        Ok(identity) => identity,
        Err(e) => {
            steps.push(Check::fail("caller-identity", e.to_string()));
            return None;
        }
    };
    if !verify_pi::is_session_of(&identity.arn, expected_role) {
        steps.push(Check::fail(
            "caller-identity",
            format!(
                "GetCallerIdentity says {}, not a session of {expected_role}",
                identity.arn
            ),
        ));
        return None;
    }
    steps.push(Check::pass("caller-identity", identity.arn.clone()));
    if let Some((action, resource)) = &options.action {
        steps.push(
            check_action(
                conn,
                (expected_role, &identity.arn),
                seen,
                action,
                resource,
                &grant.credentials,
            )
            .await,
        );
    }
    Some(identity.arn)
}

/// The token proof (and the pod proof with `--pod`) for one annotated service account.
async fn prove(
    conn: &Connection,
    sa: &ServiceAccount,
    role_arn: &str,
    seen: &Seen<'_>,
    jwks: Result<&serde_json::Value, String>,
    options: &VerifyOptions,
    steps: &mut Vec<Check>,
) -> Option<String> {
    let snapshot = seen.snapshot;
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
                    let session = assumed.as_deref().unwrap_or(&expected);
                    steps.push(
                        check_action(
                            conn,
                            (role_arn, session),
                            seen,
                            action,
                            resource,
                            &credentials,
                        )
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

/// What verify observed once for every service account: the snapshot, and with `--action` the
/// layers beyond the roles (the resource's key or bucket policy, the SCPs).
struct Seen<'a> {
    snapshot: &'a Snapshot,
    layers: &'a ResourceLayers,
}

/// The layers beyond the roles that `--resource` depends on, read once: its key or bucket
/// policy (KMS keys and S3 buckets or objects; other resources have none irsa reads) and the SCPs
/// over the account.
async fn read_outer_layers(
    conn: &Connection,
    snapshot: &Snapshot,
    resource: &str,
) -> ResourceLayers {
    let holder = irsa_core::resource_layers::policy_holder(resource);
    let service = holder.split(':').nth(2);
    let resources = match service {
        Some("kms") if holder.contains(":key/") => vec![holder.to_string()],
        Some("s3") => vec![holder.to_string()],
        _ => Vec::new(),
    };
    let request = irsa_aws::ResourceLayersRequest {
        resources,
        scps: true,
        account: snapshot.account.clone(),
    };
    irsa_aws::read_resource_layers(&conn.aws, &request).await
}

/// Local evaluation of the role's policies through every layer read, as the role session
/// (GetCallerIdentity's ARN), then a real call for read-only actions irsa can try.
async fn check_action(
    conn: &Connection,
    (role_arn, session_arn): (&str, &str),
    seen: &Seen<'_>,
    action: &str,
    resource: &str,
    credentials: &irsa_aws::TemporaryCredentials,
) -> Check {
    let snapshot = seen.snapshot;
    let role = verify::role_name_of(role_arn).and_then(|n| snapshot.role(&n));
    let document = |arn: &str| snapshot.policy(arn).map(|p| &p.document);
    let attached: Vec<_> = role
        .iter()
        .flat_map(|r| &r.attached_policy_arns)
        .map(|a| (a.as_str(), document(a)))
        .collect();
    let boundary = role
        .and_then(|r| r.permissions_boundary.as_deref())
        .map(|b| (b, document(b)));
    let caller = iam_policy::authorization::Caller::parse(session_arn).ok();
    let outer = caller.as_ref().map(|caller| super::policy::OuterLayers {
        caller,
        partition: &snapshot.partition,
        layers: seen.layers,
    });
    let (decision, local) =
        super::policy::role_decision(&attached, boundary, outer.as_ref(), action, resource)
            .unwrap_or_else(|e| {
                (
                    Decision::ImplicitDeny,
                    format!("the role's policies cannot be evaluated: {e}"),
                )
            });
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
