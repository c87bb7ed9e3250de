//! SARIF 2.1.0 for code-scanning tools: one run whose `tool.driver` lists every audit rule (id,
//! name, short description, help, default level and a `security-severity` property for GitHub),
//! and one result per finding with its rule id and index, level (`error` for high and critical,
//! `warning` for medium, `note` for low and info), message, a logical location naming the ARN and,
//! when the audit read a file, a physical location pointing at it (GitHub code scanning shows
//! results only with one). Pure: returns a `serde_json::Value`.

use serde_json::{Value, json};

use super::finding::Finding;
use super::rules::{RULES, Severity};

pub const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The SARIF level of a severity.
pub fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's `security-severity` score (0.0–10.0; ≥ 9 critical, ≥ 7 high, ≥ 4 medium).
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// The SARIF log. `artifact`: the file the findings come from (the snapshot), as a URI or path.
pub fn to_sarif(findings: &[Finding], tool_version: &str, artifact: Option<&str>) -> Value {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.name,
                "shortDescription": { "text": r.title },
                "fullDescription": { "text": r.help },
                "help": { "text": r.help },
                "defaultConfiguration": { "level": level(r.severity) },
                "properties": {
                    "security-severity": security_severity(r.severity),
                    "tags": ["security", "iam", "irsa"],
                },
            })
        })
        .collect();
    let results: Vec<Value> = findings.iter().map(|f| result(f, artifact)).collect();
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "irsa",
                "version": tool_version,
                "informationUri": "https://example.invalid/irsa",
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

fn result(finding: &Finding, artifact: Option<&str>) -> Value {
    let rule_index = RULES.iter().position(|r| r.id == finding.rule);
    let mut location = json!({
        "logicalLocations": [{
            "name": finding.resource.rsplit('/').next().unwrap_or(&finding.resource),
            "fullyQualifiedName": finding.resource,
            "kind": "resource",
        }],
    });
    if let Some(uri) = artifact {
        location["physicalLocation"] = json!({
            "artifactLocation": { "uri": uri },
            "region": { "startLine": 1 },
        });
    }
    let mut value = json!({
        "ruleId": finding.rule,
        "level": level(finding.severity),
        "message": { "text": format!("{} ({})", finding.message, finding.resource) },
        "locations": [location],
        "partialFingerprints": {
            "irsaFinding/v1": format!("{}|{}|{}", finding.rule, finding.resource, finding.evidence),
        },
        "properties": {
            "severity": finding.severity.as_str(),
            "evidence": finding.evidence,
            "fix": finding.fix,
        },
    });
    if let Some(index) = rule_index {
        value["ruleIndex"] = json!(index);
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::rules;

    #[test]
    fn log_has_the_sarif_shape() {
        let finding = Finding::new(
            rules::TRUST_NO_SUBJECT,
            "arn:aws:iam::123456789012:role/r",
            "no sub",
            "trust policy Statement[0].Condition",
        );
        let log = to_sarif(&[finding], "0.1.0", Some("dump.json"));
        assert_eq!(log["version"], "2.1.0");
        assert_eq!(log["$schema"], SARIF_SCHEMA);
        let run = &log["runs"][0];
        assert_eq!(run["tool"]["driver"]["name"], "irsa");
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), RULES.len());
        assert_eq!(rules[1]["id"], "AUD001");
        assert_eq!(rules[1]["defaultConfiguration"]["level"], "error");
        assert!(rules[1]["shortDescription"]["text"].is_string());
        let result = &run["results"][0];
        assert_eq!(result["ruleId"], "AUD001");
        assert_eq!(result["ruleIndex"], 1);
        assert_eq!(result["level"], "error");
        assert_eq!(
            result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            "arn:aws:iam::123456789012:role/r"
        );
        assert_eq!(
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "dump.json"
        );
    }

    #[test]
    fn levels() {
        assert_eq!(level(Severity::Critical), "error");
        assert_eq!(level(Severity::Medium), "warning");
        assert_eq!(level(Severity::Info), "note");
    }
}
