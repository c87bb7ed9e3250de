//! The text of an imported irsa.yaml: a comment header saying where and when it was observed
//! and what was left out, then the `cluster` and one binding per service account, each headed
//! by a comment saying where it was found and what will not round-trip. Strings are written
//! double-quoted (JSON escapes are valid YAML), policy documents as one-line JSON (a YAML flow
//! mapping), so any name or document reads back as written.

use std::fmt::Write as _;

use super::{Imported, ImportedBinding};
use crate::identity::Mechanism;
use crate::spec::{API_VERSION, KIND};

/// The whole file.
pub fn write(imported: &Imported) -> String {
    let mut out = String::new();
    header(&mut out, imported);
    let _ = writeln!(out, "apiVersion: {API_VERSION}");
    let _ = writeln!(out, "kind: {KIND}");
    let _ = writeln!(out, "cluster:");
    let _ = writeln!(out, "  name: {}", quote(&imported.cluster));
    let _ = writeln!(out, "  region: {}", quote(&imported.region));
    let _ = writeln!(out, "  account: {}", quote(&imported.account));
    if imported.bindings.is_empty() {
        let _ = writeln!(out, "bindings: []");
    } else {
        let _ = writeln!(out, "bindings:");
    }
    for b in &imported.bindings {
        binding(&mut out, b);
    }
    out
}

fn header(out: &mut String, imported: &Imported) {
    let _ = writeln!(
        out,
        "# Written by `irsa import` from EKS cluster {} ({}, account {}), observed {}.",
        imported.cluster, imported.region, imported.account, imported.observed_at
    );
    let _ = writeln!(
        out,
        "# `irsa plan -f THIS_FILE --adopt` shows only irsa's ownership tags and labels to add,"
    );
    let _ = writeln!(out, "# except where a comment below says otherwise.");
    if !imported.skipped.is_empty() {
        let _ = writeln!(out, "# Not imported:");
        for s in &imported.skipped {
            let _ = writeln!(out, "#   - {}", one_line(s));
        }
    }
}

fn binding(out: &mut String, b: &ImportedBinding) {
    let _ = writeln!(
        out,
        "  # {}/{}: found through the {}",
        b.namespace, b.service_account, b.found
    );
    for note in &b.notes {
        let _ = writeln!(out, "  # {}", one_line(note));
    }
    let subject = format!("{}/{}", b.namespace, b.service_account);
    let _ = writeln!(out, "  - serviceAccount: {}", quote(&subject));
    let _ = writeln!(out, "    identity: {}", b.mechanism.kind().as_str());
    if let Some(preset) = b.permissions.preset {
        let _ = writeln!(out, "    preset: {preset}");
    }
    mechanism_options(out, &b.mechanism);
    let _ = writeln!(out, "    role:");
    let _ = writeln!(out, "      name: {}", quote(&b.role_name));
    if b.role_path != "/" {
        let _ = writeln!(out, "      path: {}", quote(&b.role_path));
    }
    if let Some(boundary) = &b.permissions_boundary {
        let _ = writeln!(out, "      permissionsBoundary: {}", quote(boundary));
    }
    policies(out, b);
    if let Some(addon) = &b.addon {
        let _ = writeln!(out, "    install: {{addon: {}}}", quote(addon));
    }
}

fn mechanism_options(out: &mut String, mechanism: &Mechanism) {
    match mechanism {
        Mechanism::Irsa(irsa) if !irsa.has_default_audience() => {
            let _ = writeln!(out, "    audience: {}", quote(&irsa.audience));
        }
        Mechanism::Irsa(_) => {}
        Mechanism::PodIdentity(p) => {
            if let Some(target) = &p.target_role_arn {
                let _ = writeln!(out, "    targetRoleArn: {}", quote(target));
            }
            if p.disable_session_tags {
                let _ = writeln!(out, "    disableSessionTags: true");
            }
            if let Some(policy) = &p.session_policy {
                // EKS keeps the session policy as JSON text: written as the document it is.
                let document = serde_json::from_str::<serde_json::Value>(policy)
                    .map_or_else(|_| quote(policy), |v| v.to_string());
                let _ = writeln!(out, "    sessionPolicy: {document}");
            }
        }
    }
}

fn policies(out: &mut String, b: &ImportedBinding) {
    let p = &b.permissions;
    if p.managed.is_empty() && p.inline.is_empty() {
        return;
    }
    let _ = writeln!(out, "    policies:");
    if !p.managed.is_empty() {
        let _ = writeln!(out, "      managed:");
        for arn in &p.managed {
            let _ = writeln!(out, "        - {}", quote(arn));
        }
    }
    if !p.inline.is_empty() {
        let _ = writeln!(out, "      inline:");
        for document in &p.inline {
            let _ = writeln!(out, "        - {document}");
        }
    }
}

/// A double-quoted YAML scalar (JSON string syntax, which YAML reads the same).
fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

/// A comment must stay on its line.
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}
