//! `strata audit`: images' packages against an offline store of OSV advisories.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use strata_audit::{AuditTarget, ImageReport, Report, Severity, AUDIT_SCHEMA_VERSION};
use strata_cli::{AuditArgs, AuditCommand, AuditDbCommand, AuditImportArgs, AuditSeverity};
use strata_session::Session;

use crate::exit_status::ExitStatus;
use crate::printer::Printer;

pub fn audit(
    arguments: &AuditArgs,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    if let Some(
        AuditCommand::Import(import)
        | AuditCommand::Db {
            command: AuditDbCommand::Import(import),
        },
    ) = &arguments.command
    {
        return import_store(import, printer);
    }
    let Some(db) = &arguments.db else {
        anyhow::bail!(
            "`strata audit` needs the advisory store: `--db DIR` or `STRATA_AUDIT_DB` (write one with `strata audit import --db DIR all.zip...`)"
        );
    };
    let store = strata_audit::open_or_import(db, session.caches().root())?;
    let (targets, root) = targets(arguments, session, printer)?;
    let run = strata_audit::audit_images(
        session,
        &store,
        &strata_audit::AuditRequest {
            targets: &targets,
            root: root.as_deref(),
            registry: arguments.registry,
            platforms: &arguments.platform,
        },
    )?;
    printer.warn_each(&run.warnings);
    let reports = run.reports;
    let text = if arguments.json {
        let mut text = serde_json::to_string_pretty(&Report {
            schema_version: AUDIT_SCHEMA_VERSION,
            images: &reports,
            work: run.work,
        })?;
        text.push('\n');
        text
    } else if arguments.sarif {
        let dockerfiles = root
            .as_deref()
            .map(|root| dockerfile_texts(root, &reports))
            .unwrap_or_default();
        let mut text = serde_json::to_string_pretty(&strata_audit::sarif(&reports, &dockerfiles))?;
        text.push('\n');
        text
    } else if arguments.cyclonedx {
        let mut text = serde_json::to_string_pretty(&strata_audit::cyclonedx(&reports))?;
        text.push('\n');
        text
    } else {
        strata_audit::render(&reports)
    };
    match &arguments.output {
        Some(path) => {
            strata_fs::write_atomically(path, text.as_bytes())?;
            printer.info(&format!("wrote `{}`", path.display()));
        }
        None => printer.data(&text),
    }
    let threshold = arguments.fail_on.map(severity);
    Ok(
        if threshold.is_some_and(|threshold| strata_audit::any_at_least(&reports, threshold)) {
            ExitStatus::Problems
        } else {
            ExitStatus::Success
        },
    )
}

pub fn severity(severity: AuditSeverity) -> Severity {
    match severity {
        AuditSeverity::Low => Severity::Low,
        AuditSeverity::Medium => Severity::Medium,
        AuditSeverity::High => Severity::High,
        AuditSeverity::Critical => Severity::Critical,
    }
}

/// The Dockerfiles of a family's reports, by their repository paths, for SARIF's regions.
fn dockerfile_texts(root: &Path, reports: &[ImageReport]) -> BTreeMap<String, String> {
    reports
        .iter()
        .filter_map(|report| report.dockerfile.as_ref())
        .filter_map(|path| {
            std::fs::read_to_string(root.join(path))
                .ok()
                .map(|text| (path.clone(), text))
        })
        .collect()
}

/// The images named, or with none (or one directory) the images of that repository a
/// selection names (every one by default), parents first; and the repository root.
fn targets(
    arguments: &AuditArgs,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<(Vec<AuditTarget>, Option<PathBuf>)> {
    let directory = match arguments.images.as_slice() {
        [] => Some(PathBuf::from(".")),
        [only] if Path::new(only).is_dir() => Some(PathBuf::from(only)),
        _ => None,
    };
    let Some(root) = directory else {
        let targets = arguments
            .images
            .iter()
            .map(|image| AuditTarget {
                references: vec![image.clone()],
                ..AuditTarget::default()
            })
            .collect();
        return Ok((targets, None));
    };
    let selection = &arguments.selection;
    let everything = selection.since.as_deref().is_none_or(str::is_empty)
        && selection.include.is_empty()
        && !selection.untracked;
    let mut select = strata_cli::settings::selection_settings(root.clone(), selection.clone())?;
    select.all |= everything;
    select.allow_orphan = true;
    let (repository, plan) = strata_select::open_and_plan(session, &select)?;
    printer.warn_each(&repository.warnings);
    let targets = plan
        .builds
        .iter()
        .map(|build| AuditTarget {
            // The moving tags first (what users pull), then the build's own.
            references: build.tags.iter().rev().cloned().collect(),
            name: Some(build.name.clone()),
            parent: build.parent.as_ref().and_then(|parent| {
                plan.builds
                    .iter()
                    .position(|other| other.name == parent.name)
            }),
            dockerfile: Some(build.dockerfile.clone()),
            directory: Some(root.join(&build.context)),
        })
        .collect();
    Ok((targets, Some(root)))
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
