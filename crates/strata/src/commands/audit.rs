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
    images: &'a [ImageReport],
}

#[derive(Serialize)]
struct ImageReport {
    /// The reference its facts were read from.
    image: String,
    /// Its name in the repository's graph (a family audit).
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    /// The OSV ecosystem its distribution packages were matched in.
    distribution: Option<String>,
    findings: Vec<Finding>,
    /// Findings left out because the image it is built on has them too: reported there, once
    /// for the family.
    #[serde(skip_serializing_if = "is_zero")]
    inherited: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    inherited_from: Option<String>,
    /// Its findings with the inherited ones, for the images built on it.
    #[serde(skip)]
    every_finding: Vec<Finding>,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
fn is_zero(count: &usize) -> bool {
    *count == 0
}

/// What to audit: an image by its references (the first that is there), and in a family audit
/// its name and the image it is built on.
struct Target {
    references: Vec<String>,
    name: Option<String>,
    parent: Option<usize>,
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
    let store = Store::open(db)?;
    let targets = targets(arguments, session, printer)?;
    let mut reports: Vec<Option<ImageReport>> = Vec::new();
    for target in &targets {
        let mut found = None;
        let mut problems = Vec::new();
        for reference in &target.references {
            match session.block_on(strata_inspect::image_facts(
                session,
                reference,
                arguments.registry,
                None,
            ))? {
                Ok(facts) => {
                    found = Some(facts);
                    break;
                }
                Err(error) if target.name.is_some() => {
                    problems.push(strata_repo::join_chain(&error, ": "));
                }
                Err(error) => return Err(error.into()),
            }
        }
        let Some(facts) = found else {
            printer.warn(&format!(
                "`{}` is not published under any of its tags: not audited ({})",
                target.name.as_deref().unwrap_or_default(),
                problems.last().map_or("no tags", String::as_str)
            ));
            reports.push(None);
            continue;
        };
        let image = facts.image.reference.clone();
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
        // A family's base package is reported once, at the image that brought it in.
        let parent = target
            .parent
            .and_then(|parent| reports.get(parent).and_then(Option::as_ref));
        let every_finding = findings.clone();
        let mut inherited = 0;
        if let Some(parent) = parent {
            findings.retain(|finding| {
                let theirs = parent.every_finding.iter().any(|known| {
                    known.id == finding.id
                        && known.ecosystem == finding.ecosystem
                        && known.package == finding.package
                        && known.version == finding.version
                        && known.location == finding.location
                });
                if theirs {
                    inherited += 1;
                }
                !theirs
            });
        }
        reports.push(Some(ImageReport {
            image,
            name: target.name.clone(),
            distribution,
            findings,
            every_finding,
            inherited,
            inherited_from: parent
                .filter(|_| inherited > 0)
                .map(|parent| parent.name.clone().unwrap_or_else(|| parent.image.clone())),
        }));
    }
    let reports: Vec<ImageReport> = reports.into_iter().flatten().collect();
    if arguments.json {
        let mut text = serde_json::to_string_pretty(&Report {
            schema_version: AUDIT_SCHEMA_VERSION,
            images: &reports,
        })?;
        text.push('\n');
        printer.data(&text);
    } else {
        printer.data(&render(&reports));
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

/// The images named, or with none (or one directory) every image of that repository, parents
/// first.
fn targets(
    arguments: &AuditArgs,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<Vec<Target>> {
    let directory = match arguments.images.as_slice() {
        [] => Some(std::path::PathBuf::from(".")),
        [only] if std::path::Path::new(only).is_dir() => Some(std::path::PathBuf::from(only)),
        _ => None,
    };
    let Some(root) = directory else {
        return Ok(arguments
            .images
            .iter()
            .map(|image| Target {
                references: vec![image.clone()],
                name: None,
                parent: None,
            })
            .collect());
    };
    let select = strata_select::SelectRequest::every_image(root, arguments.repo.clone());
    let (repository, plan) = strata_select::open_and_plan(session, &select)?;
    printer.warn_each(&repository.warnings);
    Ok(plan
        .builds
        .iter()
        .map(|build| Target {
            // The moving tags first (what users pull), then the build's own.
            references: build.tags.iter().rev().cloned().collect(),
            name: Some(build.name.clone()),
            parent: build.parent.as_ref().and_then(|parent| {
                plan.builds
                    .iter()
                    .position(|other| other.name == parent.name)
            }),
        })
        .collect())
}

fn render(reports: &[ImageReport]) -> String {
    let mut text = String::new();
    for report in reports {
        let shown = report.name.as_deref().unwrap_or(&report.image);
        let _ = write!(text, "{shown}: {} finding(s)", report.findings.len());
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
        }
    }
    text
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
