//! SARIF 2.1.0, the format code-scanning tools (GitHub, GitLab, IDEs) read: the rules as the
//! tool's driver, each finding as a result with its file, line and column.

use serde_json::{json, Value};

use crate::finding::Finding;
use crate::rules::{Severity, RULES};

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A SARIF log of one run. `uri_base` is the directory file paths are relative to.
pub fn sarif(findings: &[Finding], version: &str, uri_base: Option<&str>) -> Value {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|rule| {
            json!({
                "id": rule.code,
                "name": rule.name,
                "shortDescription": { "text": rule.summary },
                "fullDescription": { "text": rule.explanation },
                "help": { "text": rule.fix },
                "defaultConfiguration": { "level": level(rule.severity) },
                "properties": { "category": rule.category() },
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|finding| {
            let index = RULES
                .iter()
                .position(|rule| rule.code == finding.rule)
                .unwrap_or_default();
            let mut artifact = json!({ "uri": finding.file.replace('\\', "/") });
            if uri_base.is_some() {
                artifact["uriBaseId"] = json!("SRCROOT");
            }
            json!({
                "ruleId": finding.rule,
                "ruleIndex": index,
                "level": level(finding.severity),
                "message": { "text": format!("{} (fix: {})", finding.message, finding.fix) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": artifact,
                        "region": { "startLine": finding.line, "startColumn": finding.column },
                    }
                }],
            })
        })
        .collect();
    let mut run = json!({
        "tool": {
            "driver": {
                "name": "strata",
                "version": version,
                "informationUri": "https://github.com/strata-images/strata",
                "rules": rules,
            }
        },
        "columnKind": "unicodeCodePoints",
        "results": results,
    });
    if let Some(base) = uri_base {
        let base = if base.ends_with('/') {
            base.to_string()
        } else {
            format!("{base}/")
        };
        run["originalUriBaseIds"] = json!({ "SRCROOT": { "uri": format!("file://{base}") } });
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [run],
    })
}
