//! SARIF 2.1.0, the format code-scanning tools (GitHub, GitLab, IDEs) read: the rules as the
//! tool's driver, each finding as a result with its file, line and column. Typed and borrowed
//! from the findings, so a log of 100,000 findings costs its text, not a tree of values.

use serde::Serialize;

use crate::finding::Finding;
use crate::rules::{Rule, Severity, RULES};

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A SARIF log of one run.
#[derive(Serialize)]
pub struct SarifLog<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool<'a>,
    column_kind: &'static str,
    results: Vec<SarifResult<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    original_uri_base_ids: Option<UriBases>,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'static str,
    version: &'a str,
    information_uri: &'static str,
    rules: Vec<SarifRule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifRule {
    id: &'static str,
    name: &'static str,
    short_description: Text<&'static str>,
    full_description: Text<&'static str>,
    help: Text<&'static str>,
    default_configuration: Configuration,
    properties: Properties,
}

#[derive(Serialize)]
struct Text<T> {
    text: T,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct Properties {
    category: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'static str,
    rule_index: usize,
    level: &'static str,
    message: Text<String>,
    locations: [Location<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    physical_location: PhysicalLocation<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation<'a> {
    artifact_location: ArtifactLocation<'a>,
    region: Region,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation<'a> {
    uri: std::borrow::Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    start_column: usize,
}

#[derive(Serialize)]
struct UriBases {
    #[serde(rename = "SRCROOT")]
    source_root: Uri,
}

#[derive(Serialize)]
struct Uri {
    uri: String,
}

impl From<&Rule> for SarifRule {
    fn from(rule: &Rule) -> Self {
        Self {
            id: rule.code,
            name: rule.name,
            short_description: Text { text: rule.summary },
            full_description: Text {
                text: rule.explanation,
            },
            help: Text { text: rule.fix },
            default_configuration: Configuration {
                level: level(rule.severity),
            },
            properties: Properties {
                category: rule.category(),
            },
        }
    }
}

/// A SARIF log of one run. `uri_base` is the directory file paths are relative to.
pub fn sarif<'a>(
    findings: &'a [Finding],
    version: &'a str,
    uri_base: Option<&str>,
) -> SarifLog<'a> {
    let results = findings
        .iter()
        .map(|finding| SarifResult {
            rule_id: finding.rule,
            rule_index: RULES
                .iter()
                .position(|rule| rule.code == finding.rule)
                .unwrap_or_default(),
            level: level(finding.severity),
            message: Text {
                text: format!("{} (fix: {})", finding.message, finding.fix),
            },
            locations: [Location {
                physical_location: PhysicalLocation {
                    artifact_location: ArtifactLocation {
                        uri: if finding.file.contains('\\') {
                            finding.file.replace('\\', "/").into()
                        } else {
                            finding.file.as_str().into()
                        },
                        uri_base_id: uri_base.map(|_| "SRCROOT"),
                    },
                    region: Region {
                        start_line: finding.line,
                        start_column: finding.column,
                    },
                },
            }],
        })
        .collect();
    let original_uri_base_ids = uri_base.map(|base| UriBases {
        source_root: Uri {
            uri: format!(
                "file://{base}{}",
                if base.ends_with('/') { "" } else { "/" }
            ),
        },
    });
    SarifLog {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: "strata",
                    version,
                    information_uri: "https://github.com/strata-images/strata",
                    rules: RULES.iter().map(SarifRule::from).collect(),
                },
            },
            column_kind: "unicodeCodePoints",
            results,
            original_uri_base_ids,
        }],
    }
}
