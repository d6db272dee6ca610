//! `strata audit`: images' packages against an offline store of OSV advisories.

use std::fmt::Write as _;

use serde::Serialize;
use strata_audit::{Finding, Severity, Store};
use strata_cli::{AuditArgs, AuditCommand, AuditImportArgs, AuditSeverity};
use strata_session::Session;

use crate::exit_status::ExitStatus;
use crate::printer::Printer;

/// Bumped when a field of `audit --json` changes meaning or disappears.
const AUDIT_SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Report<'a> {
    schema_version: u32,
    images: Vec<ImageReport<'a>>,
}

#[derive(Serialize)]
struct ImageReport<'a> {
    image: &'a str,
    /// The OSV ecosystem its distribution packages were matched in.
    distribution: Option<String>,
    findings: Vec<Finding>,
}

pub fn audit(
    arguments: &AuditArgs,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    if let Some(AuditCommand::Import(import)) = &arguments.command {
        return import_store(import, printer);
    }
    let Some(db) = &arguments.db else {
        anyhow::bail!(
            "`strata audit` needs the advisory store: `--db DIR` (write one with `strata audit import --db DIR all.zip...`)"
        );
    };
    if arguments.images.is_empty() {
        anyhow::bail!("name the images to audit: `strata audit IMAGE... --db DIR`");
    }
    let store = Store::open(db)?;
    let mut reports = Vec::new();
    for image in &arguments.images {
        let facts = session.block_on(strata_inspect::image_facts(
            session,
            image,
            arguments.registry,
            None,
        ))??;
        let distribution = strata_audit::distribution_ecosystem(&facts);
        if let Some(ecosystem) = &distribution {
            if !facts.deb_packages.is_empty() && !store.has_ecosystem(ecosystem) {
                printer.warn(&format!(
                    "`{image}`: the store has no `{ecosystem}` advisories, so its system packages were not checked (import osv.dev's `{}/all.zip`)",
                    ecosystem.split(':').next().unwrap_or(ecosystem)
                ));
            }
        }
        let mut findings = strata_audit::audit(&facts, &store)?;
        // Which layer brought each package in, from the layer records inspecting just cached.
        let cache = strata_inspect::LayerCache::new(session.caches().root());
        let records: Option<Vec<_>> = facts
            .image
            .layers
            .iter()
            .map(|layer| cache.get(&layer.diff_id))
            .collect();
        if let Some(records) = records {
            strata_audit::attribute_layers(&mut findings, &facts, &records);
        }
        reports.push(ImageReport {
            image,
            distribution,
            findings,
        });
    }
    if arguments.json {
        let mut text = serde_json::to_string_pretty(&Report {
            schema_version: AUDIT_SCHEMA_VERSION,
            images: reports
                .iter()
                .map(|report| ImageReport {
                    image: report.image,
                    distribution: report.distribution.clone(),
                    findings: report.findings.clone(),
                })
                .collect(),
        })?;
        text.push('\n');
        printer.data(&text);
    } else {
        let mut text = String::new();
        for report in &reports {
            let _ = writeln!(
                text,
                "{}: {} finding(s)",
                report.image,
                report.findings.len()
            );
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
            }
        }
        printer.data(&text);
    }
    let threshold = arguments.fail_on.map(|severity| match severity {
        AuditSeverity::Low => Severity::Low,
        AuditSeverity::Medium => Severity::Medium,
        AuditSeverity::High => Severity::High,
        AuditSeverity::Critical => Severity::Critical,
    });
    let failing = threshold.is_some_and(|threshold| {
        reports
            .iter()
            .flat_map(|report| &report.findings)
            .any(|finding| finding.severity >= threshold)
    });
    Ok(if failing {
        ExitStatus::Problems
    } else {
        ExitStatus::Success
    })
}

fn import_store(arguments: &AuditImportArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let summary = strata_audit::import(&arguments.inputs, &arguments.db)?;
    if arguments.json {
        let mut text = serde_json::to_string_pretty(&summary)?;
        text.push('\n');
        printer.data(&text);
    }
    printer.info(&format!(
        "imported {} advisories ({} withdrawn, left out) for {} packages into `{}`: {}",
        summary.records,
        summary.withdrawn,
        summary.packages,
        arguments.db.display(),
        summary.ecosystems.join(", ")
    ));
    Ok(ExitStatus::Success)
}
