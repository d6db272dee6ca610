//! An audit's report: per image its findings (a family image's without those of the image it
//! is built on, reported there), as text, as JSON, as SARIF 2.1.0 for code-scanning
//! dashboards, and as CycloneDX 1.5 `vulnerabilities` beside the image's SBOM.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{json, Value};
use strata_inspect::ImageFacts;

use crate::audit::{AuditWork, Finding};
use crate::osv::Severity;

/// Bumped when a field of `audit --json` changes meaning or disappears.
pub const AUDIT_SCHEMA_VERSION: u32 = 1;

/// The whole report (`strata audit --json`).
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    pub schema_version: u32,
    pub images: &'a [ImageReport],
    /// What was done once for every image.
    pub work: AuditWork,
}

/// One image's findings.
#[derive(Debug, Clone, Serialize)]
pub struct ImageReport {
    /// The reference its facts were read from.
    pub image: String,
    /// Its name in the repository's graph (a family audit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// An external image the family is built on (audited once for every image on it).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub base: bool,
    /// The Dockerfile it is built from, relative to the repository (a family audit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    /// The platform of the image read (`linux/amd64`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The OSV ecosystem its distribution packages were matched in.
    pub distribution: Option<String>,
    pub findings: Vec<Finding>,
    /// Findings left out because the image it is built on has them too, in the same layers:
    /// reported there, once for the family.
    #[serde(skip_serializing_if = "is_zero")]
    pub inherited: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inherited_from: Option<String>,
    /// The image's facts, for the SBOM its CycloneDX report extends.
    #[serde(skip)]
    pub facts: Option<std::sync::Arc<ImageFacts>>,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
fn is_zero(count: &usize) -> bool {
    *count == 0
}

impl ImageReport {
    /// The platform of `facts`' image (`linux/arm64/v8`), when its config says.
    pub fn platform_of(facts: &ImageFacts) -> Option<String> {
        let os = facts.image.os.as_deref()?;
        let architecture = facts.image.architecture.as_deref()?;
        Some(format!("{os}/{architecture}"))
    }

    /// The name to show: its name in the graph, else its reference.
    pub fn shown(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.image)
    }
}

/// Whether any finding of `reports` is at least `threshold`.
pub fn any_at_least(reports: &[ImageReport], threshold: Severity) -> bool {
    reports
        .iter()
        .flat_map(|report| &report.findings)
        .any(|finding| finding.severity >= threshold)
}

/// The findings as text, an image a paragraph.
pub fn render(reports: &[ImageReport]) -> String {
    let mut text = String::new();
    // The platform is said when the reports are of several.
    let several = reports
        .iter()
        .filter_map(|report| report.platform.as_deref())
        .collect::<std::collections::BTreeSet<_>>()
        .len()
        > 1;
    for report in reports {
        let _ = write!(text, "{}", report.shown());
        if let Some(platform) = report.platform.as_deref().filter(|_| several) {
            let _ = write!(text, " ({platform})");
        }
        let _ = write!(text, ": {} finding(s)", report.findings.len());
        if let Some(from) = &report.inherited_from {
            let _ = write!(
                text,
                " (and {} from {from}, reported there)",
                report.inherited
            );
        }
        text.push('\n');
        for finding in &report.findings {
            let _ = write!(
                text,
                "  {:<8} {:<20} {} {} ({}",
                finding.severity.as_str(),
                finding.id,
                finding.package,
                finding.version,
                finding.ecosystem
            );
            if !finding.installed.is_empty() {
                let _ = write!(text, ": {}", finding.installed.join(", "));
            }
            if !finding.location.is_empty() {
                let _ = write!(text, " in {}", finding.location);
            }
            text.push(')');
            match &finding.fixed {
                Some(fixed) => {
                    let _ = write!(text, ", fixed in {fixed}");
                }
                None => text.push_str(", no fix yet"),
            }
            if let Some(layer) = &finding.layer {
                let _ = write!(text, "; from layer {}", layer.index);
                if let Some(step) = &layer.step {
                    let _ = write!(text, " ({step})");
                }
            }
            if finding.approximate {
                text.push_str(" [approximate: conda package matched by its PyPI name]");
            }
            text.push('\n');
            if let Some(fix) = &finding.fix {
                let _ = writeln!(text, "           fix: {}", fix.describe(finding));
            }
        }
    }
    text
}

/// SARIF's `security-severity` score for a level (GitHub's bands: critical 9.0 and above,
/// high 7.0–8.9, medium 4.0–6.9, low 0.1–3.9).
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "2.0",
        Severity::Unknown => "0.0",
    }
}

fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Unknown => "note",
    }
}

/// The first line of the instruction of `dockerfile` that made a layer (`RUN`, `COPY`, `ADD`),
/// from the step text the image's history records (`RUN apt-get …`, or `/bin/sh -c apt-get …`),
/// continuation lines joined and whitespace compared loosely; the last instruction that fits.
fn step_line(dockerfile: &str, step: &str) -> Option<usize> {
    let squeeze = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let step = squeeze(step);
    let parsed = strata_dockerfile::parse(dockerfile).ok()?;
    parsed
        .instructions
        .iter()
        .filter(|instruction| matches!(instruction.keyword.as_str(), "RUN" | "COPY" | "ADD"))
        .filter(|instruction| {
            let arguments = squeeze(instruction.arguments());
            !arguments.is_empty() && step.contains(&arguments)
        })
        .map(|instruction| instruction.line)
        .next_back()
}

/// The findings as a SARIF 2.1.0 log: a rule per advisory, a result per finding located at
/// the image's Dockerfile (at the instruction whose layer brought the package in, when the
/// `dockerfiles` texts, by repository path, show it) or, for an image audited by reference,
/// at the reference.
pub fn sarif(reports: &[ImageReport], dockerfiles: &BTreeMap<String, String>) -> Value {
    let mut rules: BTreeMap<String, Value> = BTreeMap::new();
    let mut results = Vec::new();
    for report in reports {
        for finding in &report.findings {
            rules.entry(finding.id.clone()).or_insert_with(|| {
                let summary = finding
                    .summary
                    .clone()
                    .unwrap_or_else(|| format!("{} in {}", finding.id, finding.package));
                json!({
                    "id": finding.id,
                    "name": finding.id,
                    "shortDescription": { "text": summary },
                    "helpUri": format!("https://osv.dev/vulnerability/{}", finding.id),
                    "properties": {
                        "security-severity": security_severity(finding.severity),
                        "tags": ["security", "vulnerability", finding.ecosystem],
                        "aliases": finding.aliases,
                    },
                })
            });
            let uri = report
                .dockerfile
                .clone()
                .unwrap_or_else(|| report.image.clone());
            let line = report
                .dockerfile
                .as_ref()
                .and_then(|path| dockerfiles.get(path))
                .zip(
                    finding
                        .layer
                        .as_ref()
                        .and_then(|layer| layer.step.as_deref()),
                )
                .and_then(|(text, step)| step_line(text, step))
                .unwrap_or(1);
            let mut message = format!(
                "{}: {} {} ({}) is affected by {}",
                report.shown(),
                finding.package,
                finding.version,
                finding.ecosystem,
                finding.id
            );
            match &finding.fixed {
                Some(fixed) => {
                    let _ = write!(message, "; fixed in {fixed}");
                }
                None => message.push_str("; no fix yet"),
            }
            if let Some(fix) = &finding.fix {
                let _ = write!(message, ". Fix: {}", fix.describe(finding));
            }
            results.push(json!({
                "ruleId": finding.id,
                "level": sarif_level(finding.severity),
                "message": { "text": message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri },
                        "region": { "startLine": line },
                    },
                    "logicalLocations": [{ "name": report.shown(), "kind": "module" }],
                }],
                "partialFingerprints": {
                    "strata/v1": format!("{}|{}|{}|{}|{}", report.shown(), finding.id, finding.ecosystem, finding.package, finding.location),
                },
                "properties": {
                    "image": report.image,
                    "fixed": finding.fixed,
                    "layer": finding.layer.as_ref().map(|layer| layer.index),
                },
            }));
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "strata",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules.into_values().collect::<Vec<_>>(),
            }},
            "results": results,
        }],
    })
}

/// The package URL types of an ecosystem's components in strata's SBOM.
fn purl_type(finding: &Finding) -> &'static str {
    match finding.ecosystem.split(':').next().unwrap_or_default() {
        "Debian" | "Ubuntu" => "pkg:deb/",
        "PyPI" if finding.approximate => "pkg:conda/",
        "PyPI" => "pkg:pypi/",
        "CRAN" => "pkg:cran/",
        _ => "pkg:",
    }
}

/// The bom-refs of the SBOM's components a finding is about.
fn affected_refs(components: &[Value], finding: &Finding) -> Vec<String> {
    let prefix = purl_type(finding);
    let names: Vec<String> = if finding.installed.is_empty() {
        vec![strata_inspect::normalize_python_name(&finding.package)]
    } else {
        finding.installed.clone()
    };
    components
        .iter()
        .filter(|component| {
            let purl = component["purl"].as_str().unwrap_or_default();
            let name = component["name"].as_str().unwrap_or_default();
            purl.starts_with(prefix)
                && component["version"] == finding.version.as_str()
                && names.iter().any(|wanted| {
                    wanted == name || *wanted == strata_inspect::normalize_python_name(name)
                })
        })
        .filter_map(|component| component["bom-ref"].as_str().map(str::to_string))
        .collect()
}

fn vulnerability(finding: &Finding, affects: &[String]) -> Value {
    let mut value = json!({
        "bom-ref": format!("{}@{}", finding.id, affects.first().map_or("", String::as_str)),
        "id": finding.id,
        "source": { "name": "OSV", "url": format!("https://osv.dev/vulnerability/{}", finding.id) },
        "ratings": [{ "severity": finding.severity.as_str(), "method": "other" }],
        "affects": affects.iter().map(|reference| json!({ "ref": reference })).collect::<Vec<_>>(),
    });
    let references: Vec<Value> = finding
        .aliases
        .iter()
        .filter(|alias| **alias != finding.id)
        .map(|alias| json!({ "id": alias, "source": { "name": "OSV" } }))
        .collect();
    if !references.is_empty() {
        value["references"] = json!(references);
    }
    if let Some(summary) = &finding.summary {
        value["description"] = json!(summary);
    }
    if let Some(fixed) = &finding.fixed {
        value["recommendation"] = json!(finding.fix.as_ref().map_or_else(
            || format!("upgrade {} to {fixed} or later", finding.package),
            |fix| fix.describe(finding)
        ));
    }
    value
}

/// The CycloneDX 1.5 document of an image's SBOM (`strata inspect --sbom`) with its findings
/// as `vulnerabilities`, each affecting the components it is about. With several images, one
/// document: each image a `container` component holding its packages (bom-refs prefixed with
/// the image, which keeps them unique), and each image's own findings (inherited ones affect
/// the components of the image they are reported at).
pub fn cyclonedx(reports: &[ImageReport]) -> Value {
    let with_facts: Vec<(&ImageReport, &ImageFacts)> = reports
        .iter()
        .filter_map(|report| report.facts.as_deref().map(|facts| (report, facts)))
        .collect();
    if let [(report, facts)] = with_facts.as_slice() {
        let mut document = strata_inspect::cyclonedx(facts);
        let components = document["components"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let vulnerabilities: Vec<Value> = report
            .findings
            .iter()
            .map(|finding| vulnerability(finding, &affected_refs(&components, finding)))
            .collect();
        document["vulnerabilities"] = json!(vulnerabilities);
        return document;
    }
    let mut images = Vec::new();
    let mut vulnerabilities = Vec::new();
    for (report, facts) in with_facts {
        let document = strata_inspect::cyclonedx(facts);
        let prefix = format!("{}#", report.shown());
        let components: Vec<Value> = document["components"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|mut component| {
                let reference = component["bom-ref"].as_str().unwrap_or_default();
                component["bom-ref"] = json!(format!("{prefix}{reference}"));
                component
            })
            .collect();
        for finding in &report.findings {
            vulnerabilities.push(vulnerability(finding, &affected_refs(&components, finding)));
        }
        let mut image = document["metadata"]["component"].clone();
        image["bom-ref"] = json!(report.shown());
        image["components"] = json!(components);
        images.push(image);
    }
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {
            "tools": { "components": [{ "type": "application", "name": "strata", "version": env!("CARGO_PKG_VERSION") }] },
        },
        "components": images,
        "vulnerabilities": vulnerabilities,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layers_step_is_found_in_its_dockerfile() {
        let continued = "FROM debian:bookworm\nENV DEBIAN=1\nRUN apt-get update \\\n    && apt-get install -y debian-keyring\n";
        // The continuation joined; not the FROM line whose image name the command mentions.
        assert_eq!(
            step_line(
                continued,
                "/bin/sh -c apt-get update     && apt-get install -y debian-keyring"
            ),
            Some(3)
        );
        let dockerfile =
            "FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\nCOPY x /x\n";
        assert_eq!(
            step_line(
                dockerfile,
                "/bin/sh -c apt-get update && apt-get install -y curl"
            ),
            Some(2)
        );
        assert_eq!(
            step_line(
                dockerfile,
                "RUN /bin/sh -c apt-get update && apt-get install -y curl # buildkit"
            ),
            Some(2)
        );
        assert_eq!(step_line(dockerfile, "/bin/sh -c echo other"), None);
    }
}
