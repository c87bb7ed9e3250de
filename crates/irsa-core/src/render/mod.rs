//! `irsa render`: the files that set up IRSA by hand or in GitOps, computed from a
//! [`DesiredState`] and the account and OIDC issuer of the cluster. Pure: it returns the files
//! (relative paths and contents) and the caller writes them. Per binding, in
//! `<namespace>.<service-account>/`: one `permission-policy-<suffix>.json` per customer-managed
//! policy, `managed-policies.txt` (ARNs to attach), `trust-policy.json` (web identity, exactly
//! this service account and audience), `service-account.yaml` (when irsa creates the service
//! account), `helm-values.yaml` (Helm installs) or `eks-addon.json` (EKS add-on installs); and
//! a top-level `summary.json` listing every binding. YAML is written with serde-saphyr's
//! serializer, so quoting is always right.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Map, Value, json};

use crate::desired::{Binding, DesiredState, Install, IssuerError, oidc_provider_arn};
use crate::identity::{Kind, Mechanism, TrustError, TrustTarget};
use crate::spec::rules;

/// `summary.json`, at the top of the output directory.
pub const SUMMARY_FILE: &str = "summary.json";
/// Per binding: the web-identity trust policy.
pub const TRUST_POLICY_FILE: &str = "trust-policy.json";
/// Per binding: managed policy ARNs to attach, one a line.
pub const MANAGED_POLICIES_FILE: &str = "managed-policies.txt";
/// Per binding: the annotated ServiceAccount manifest.
pub const SERVICE_ACCOUNT_FILE: &str = "service-account.yaml";
/// Per binding installed with Helm: values pointing the chart at the service account.
pub const HELM_VALUES_FILE: &str = "helm-values.yaml";
/// Per binding installed as an EKS add-on: input for `aws eks create-addon --cli-input-json`.
pub const EKS_ADDON_FILE: &str = "eks-addon.json";
/// Per Pod Identity binding (not an add-on): input for
/// `aws eks create-pod-identity-association --cli-input-json`.
pub const POD_IDENTITY_ASSOCIATION_FILE: &str = "pod-identity-association.json";

pub use crate::identity::irsa::{AUDIENCE_ANNOTATION, ROLE_ARN_ANNOTATION};

/// `permission-policy-<suffix>.json`.
pub fn permission_policy_file(suffix: &str) -> String {
    format!("permission-policy-{suffix}.json")
}

/// The folder of a binding: `<namespace>.<service-account>`.
pub fn binding_dir(b: &Binding) -> String {
    format!("{}.{}", b.namespace, b.service_account)
}

/// Where the roles live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderTarget {
    /// The AWS account (12 digits).
    pub account: String,
    /// The cluster's OIDC issuer URL (`https://oidc.eks.<region>.amazonaws.com/id/<ID>`); IRSA
    /// bindings need it, Pod Identity bindings do not.
    pub issuer_url: Option<String>,
}

/// One file to write, relative to the output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    pub path: PathBuf,
    pub contents: String,
}

/// Why rendering failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Issuer(#[from] IssuerError),
    #[error(
        "IRSA bindings need the cluster's OIDC issuer URL (aws eks describe-cluster --name {0} --query cluster.identity.oidc.issuer)"
    )]
    NoIssuer(String),
    #[error("account: {0}")]
    Account(String),
    #[error(
        "the spec names account {spec} but rendering was asked for account {target}: pass the spec's account or change the spec"
    )]
    AccountMismatch { spec: String, target: String },
    #[error("cannot write {path} as YAML: {message}")]
    Yaml { path: String, message: String },
}

/// Renders every file for `state` in account `target.account` with issuer `target.issuer_url`.
pub fn render(
    state: &DesiredState,
    target: &RenderTarget,
) -> Result<Vec<RenderedFile>, RenderError> {
    rules::account(&target.account).map_err(RenderError::Account)?;
    if let Some(spec) = &state.cluster.account
        && *spec != target.account
    {
        return Err(RenderError::AccountMismatch {
            spec: spec.clone(),
            target: target.account.clone(),
        });
    }
    let partition = state.cluster.partition.as_str();
    let account = target.account.as_str();
    let uses_irsa = state
        .bindings
        .iter()
        .any(|b| b.mechanism.kind() == Kind::Irsa);
    let provider = match (&target.issuer_url, uses_irsa) {
        (Some(issuer), _) => Some(oidc_provider_arn(partition, account, issuer)?),
        (None, true) => return Err(RenderError::NoIssuer(state.cluster.name.clone())),
        (None, false) => None,
    };
    let trust_target = TrustTarget {
        partition,
        account,
        region: &state.cluster.region,
        cluster_name: &state.cluster.name,
        issuer_url: target.issuer_url.as_deref(),
    };

    let mut files = Vec::new();
    let mut summary = Vec::new();
    for b in &state.bindings {
        let dir = binding_dir(b);
        let role_arn = b.role_arn(partition, account);
        let mut names: Vec<String> = Vec::new();
        let mut add = |files: &mut Vec<RenderedFile>, name: String, contents: String| {
            files.push(RenderedFile {
                path: PathBuf::from(&dir).join(&name),
                contents,
            });
            names.push(format!("{dir}/{name}"));
        };

        for p in &b.policies {
            add(
                &mut files,
                permission_policy_file(&p.suffix),
                pretty_json(&p.document),
            );
        }
        if !b.managed_policy_arns.is_empty() {
            let mut text = b.managed_policy_arns.join("\n");
            text.push('\n');
            add(&mut files, MANAGED_POLICIES_FILE.to_string(), text);
        }
        let trust = b.trust_policy(&trust_target).map_err(|e| match e {
            TrustError::Issuer(e) => RenderError::Issuer(e),
            TrustError::NoIssuer(cluster) => RenderError::NoIssuer(cluster),
        })?;
        add(
            &mut files,
            TRUST_POLICY_FILE.to_string(),
            pretty_json(&trust),
        );
        if b.create_service_account {
            let path = format!("{dir}/{SERVICE_ACCOUNT_FILE}");
            add(
                &mut files,
                SERVICE_ACCOUNT_FILE.to_string(),
                yaml(&service_account(b, &role_arn), &path)?,
            );
        }
        match &b.install {
            Some(Install::Helm { .. }) => {
                if let Some(values) = helm_values_yaml(state, b, &role_arn)? {
                    add(&mut files, HELM_VALUES_FILE.to_string(), values);
                }
            }
            Some(Install::EksAddon { name }) => {
                let addon = eks_addon_input(state, b, name, &role_arn);
                add(&mut files, EKS_ADDON_FILE.to_string(), pretty_json(&addon));
            }
            None => {}
        }
        if let (Mechanism::PodIdentity(_), false) = (
            &b.mechanism,
            matches!(b.install, Some(Install::EksAddon { .. })),
        ) {
            let input = association_input(state, b, &role_arn);
            add(
                &mut files,
                POD_IDENTITY_ASSOCIATION_FILE.to_string(),
                pretty_json(&input),
            );
        }

        let install = match &b.install {
            Some(Install::Helm { repo, chart, .. }) => {
                json!({ "helm": { "repo": repo, "chart": chart } })
            }
            Some(Install::EksAddon { name }) => json!({ "eksAddon": name }),
            None => Value::Null,
        };
        summary.push(json!({
            "namespace": b.namespace,
            "serviceAccount": b.service_account,
            "preset": b.preset,
            "roleName": b.role.name,
            "roleArn": role_arn,
            // false: an existing role irsa does not own (its trust file is what it must admit).
            "roleManaged": !b.role.is_external(),
            "subjectPattern": b.subject_pattern,
            "createServiceAccount": b.create_service_account,
            "identity": b.mechanism.kind(),
            "audience": b.mechanism.audience(),
            "managedPolicyArns": b.managed_policy_arns,
            "policies": b.policies.iter().map(|p| json!({
                "name": p.name,
                "file": format!("{dir}/{}", permission_policy_file(&p.suffix)),
            })).collect::<Vec<_>>(),
            "install": install,
            "files": names,
        }));
    }
    let summary = json!({
        "cluster": {
            "name": state.cluster.name,
            "region": state.cluster.region,
            "account": account,
            "partition": partition,
        },
        "issuer": target.issuer_url,
        "oidcProviderArn": provider,
        "bindings": summary,
    });
    files.push(RenderedFile {
        path: PathBuf::from(SUMMARY_FILE),
        contents: pretty_json(&summary),
    });
    Ok(files)
}

/// The `aws eks create-addon --cli-input-json` input: the role as `serviceAccountRoleArn`
/// (IRSA) or as the add-on's `podIdentityAssociations` (Pod Identity).
fn eks_addon_input(state: &DesiredState, b: &Binding, addon: &str, role_arn: &str) -> Value {
    let mut input = json!({ "clusterName": state.cluster.name, "addonName": addon });
    match b.mechanism.kind() {
        Kind::Irsa => input["serviceAccountRoleArn"] = json!(role_arn),
        Kind::PodIdentity => {
            input["podIdentityAssociations"] =
                json!([{ "serviceAccount": b.service_account, "roleArn": role_arn }]);
        }
    }
    let settings = &b.addon_settings;
    for (member, value) in [
        ("addonVersion", &settings.version),
        ("configurationValues", &settings.configuration_values),
        ("resolveConflicts", &settings.resolve_conflicts),
    ] {
        if let Some(value) = value {
            input[member] = json!(value);
        }
    }
    input
}

/// The `aws eks create-pod-identity-association --cli-input-json` input of a Pod Identity
/// binding, with irsa's ownership tags (members as the EKS API names them).
fn association_input(state: &DesiredState, b: &Binding, role_arn: &str) -> Value {
    let mut input = json!({
        "clusterName": state.cluster.name,
        "namespace": b.namespace,
        "serviceAccount": b.service_account,
        "roleArn": role_arn,
        "tags": b.role.tags,
    });
    if let Some(options) = b.mechanism.as_pod_identity() {
        if let Some(target) = &options.target_role_arn {
            input["targetRoleArn"] = json!(target);
        }
        if options.disable_session_tags {
            input["disableSessionTags"] = json!(true);
        }
        if let Some(policy) = &options.session_policy {
            input["policy"] = json!(policy);
        }
    }
    input
}

fn pretty_json(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string());
    s.push('\n');
    s
}

fn yaml(v: &Value, path: &str) -> Result<String, RenderError> {
    serde_saphyr::to_string(v).map_err(|e| RenderError::Yaml {
        path: path.to_string(),
        message: e.to_string(),
    })
}

/// The label irsa puts on the service accounts it creates; its presence is how irsa knows it
/// owns one.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// The value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY_VALUE: &str = "irsa";

/// The labels and annotations irsa sets on a binding's ServiceAccount: its ownership label, the
/// user's labels and annotations, and what the binding's mechanism needs (for IRSA the role ARN
/// and a non-default audience; for Pod Identity nothing: the association carries the role).
pub fn service_account_metadata(
    b: &Binding,
    role_arn: &str,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut labels = b.labels.clone();
    labels.insert(MANAGED_BY_LABEL.to_string(), MANAGED_BY_VALUE.to_string());
    let mut annotations = b.annotations.clone();
    annotations.extend(b.mechanism.service_account_annotations(role_arn));
    (labels, annotations)
}

/// A v1 ServiceAccount annotated with the role (and the audience when not the default).
fn service_account(b: &Binding, role_arn: &str) -> Value {
    let (labels, annotations) = service_account_metadata(b, role_arn);
    json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": b.service_account,
            "namespace": b.namespace,
            "labels": labels,
            "annotations": annotations,
        }
    })
}

/// The Helm values file of a chart-installed binding (`None` for other installs).
pub fn helm_values_yaml(
    state: &DesiredState,
    b: &Binding,
    role_arn: &str,
) -> Result<Option<String>, RenderError> {
    match &b.install {
        Some(Install::Helm {
            service_account_values,
            ..
        }) => {
            let path = format!("{}/{HELM_VALUES_FILE}", binding_dir(b));
            let values = helm_values(state, b, service_account_values, role_arn);
            yaml(&values, &path).map(Some)
        }
        _ => Ok(None),
    }
}

/// Helm values for a chart-installed binding.
///
/// One approach for every chart: irsa creates and annotates the ServiceAccount itself
/// (`service-account.yaml`), so the chart is told `create: false` and the `name` to use. The
/// same block also carries `annotations` with the role ARN: the chart ignores them while
/// `create` is false, and a user who flips `create` to true (letting Helm own the service
/// account) still gets a correctly annotated one. When irsa does not create the service account
/// (`roleOnly: true`), the values say `create: true` so the chart makes it, with the annotation.
/// The Cluster Autoscaler chart additionally gets `autoDiscovery.clusterName` and `awsRegion`.
fn helm_values(state: &DesiredState, b: &Binding, sa_path: &str, role_arn: &str) -> Value {
    let mut root = Map::new();
    if b.preset == Some("cluster-autoscaler") {
        root.insert(
            "autoDiscovery".to_string(),
            json!({ "clusterName": state.cluster.name }),
        );
        root.insert(
            "awsRegion".to_string(),
            Value::String(state.cluster.region.clone()),
        );
    }
    let annotations: Map<String, Value> = b
        .mechanism
        .service_account_annotations(role_arn)
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let block = json!({
        "create": !b.create_service_account,
        "name": b.service_account,
        "annotations": annotations,
    });
    insert_dotted(&mut root, sa_path, block);
    Value::Object(root)
}

/// Puts `value` at the dotted `path` (e.g. `rbac.serviceAccount`), merging into maps on the way.
fn insert_dotted(root: &mut Map<String, Value>, path: &str, value: Value) {
    let mut parts: Vec<&str> = path.split('.').filter(|p| !p.is_empty()).collect();
    let Some(last) = parts.pop() else {
        return;
    };
    let mut cur = root;
    for p in parts {
        let entry = cur
            .entry(p.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(m) = entry else { return };
        cur = m;
    }
    cur.insert(last.to_string(), value);
}

#[cfg(test)]
mod tests;
