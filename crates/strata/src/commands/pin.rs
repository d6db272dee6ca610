//! `strata pin`: external base images pinned by digest, drift seen, pins moved.

use std::fmt::Write;

use serde::Serialize;
use strata_release::pin::{
    apply_pins, pin_files, resolve_tags, tags_to_resolve, PinAction, PinReport, PinRequest, PinRun,
    PinStatus,
};

use crate::exit_status::ExitStatus;
use crate::printer::Printer;
use strata_cli::settings::PinSettings;
use strata_session::Session;

/// Bumped when a field of `pin --json` changes meaning or disappears.
pub const PIN_SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Report<'a> {
    schema_version: u32,
    references: &'a [PinReport],
    written: &'a [String],
}

pub fn pin(
    settings: &PinSettings,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let files = pin_files(&settings.path)?;
    let tags = tags_to_resolve(&files);
    let spinner = printer.spinner(&format!("resolving {} image tag(s)", tags.len()));
    let resolved = resolve_tags(session, tags);
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    let resolved = resolved?;
    // `[trust]`: each digest about to be recorded is the one verified (a tag can move).
    let (config, root) = repository_config(&settings.path)?;
    let bases = resolved
        .iter()
        .map(|(tag, digest)| {
            let exact = match tag.rsplit_once(':') {
                Some((name, tag)) if !tag.contains('/') => format!("{name}:{tag}@{digest}"),
                _ => format!("{tag}@{digest}"),
            };
            (exact, Vec::new())
        })
        .collect();
    let trusted = strata_select::check_bases_with(session, &config, &root, &bases)?;
    super::signing::report_trusted(&trusted, printer);
    let PinRun { reports, written } = apply_pins(
        &files,
        &resolved,
        PinRequest {
            check: settings.check,
            update: settings.update,
        },
    )?;

    if settings.json {
        let mut text = serde_json::to_string_pretty(&Report {
            schema_version: PIN_SCHEMA_VERSION,
            references: &reports,
            written: &written,
        })?;
        text.push('\n');
        printer.data(&text);
    } else {
        printer.data(&render(&reports, settings.check));
    }
    let count = |status: PinStatus| {
        reports
            .iter()
            .filter(|report| report.status == status)
            .count()
    };
    let pinned_now = reports
        .iter()
        .filter(|report| report.action == Some(PinAction::Pinned))
        .count();
    let updated = reports
        .iter()
        .filter(|report| report.action == Some(PinAction::Updated))
        .count();
    let mut summary = format!("{} external image reference(s)", reports.len());
    if settings.check {
        let _ = write!(
            summary,
            ": {} unpinned, {} drifted, {} cannot be pinned by strata",
            count(PinStatus::Unpinned),
            count(PinStatus::Drifted),
            count(PinStatus::CannotPin)
        );
    } else {
        let _ = write!(summary, ": pinned {pinned_now}, updated {updated}");
        if !written.is_empty() {
            let _ = write!(summary, " (wrote {})", written.join(", "));
        }
        let drifted = count(PinStatus::Drifted) - updated;
        if drifted > 0 {
            let _ = write!(
                summary,
                "; {drifted} pin(s) drifted (`strata pin --update` moves them)"
            );
        }
        if count(PinStatus::CannotPin) > 0 {
            let _ = write!(
                summary,
                "; {} cannot be pinned by strata (see the reasons)",
                count(PinStatus::CannotPin)
            );
        }
    }
    printer.info(&summary);
    let problems =
        count(PinStatus::Unpinned) + count(PinStatus::Drifted) + count(PinStatus::CannotPin);
    Ok(if settings.check && problems > 0 {
        ExitStatus::Problems
    } else {
        ExitStatus::Success
    })
}

fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

/// One line per reference: where, what, and what happened or is wrong.
fn render(reports: &[PinReport], check: bool) -> String {
    let mut output = String::new();
    for report in reports {
        let place = match report.written_on_line {
            Some(line) => format!("{}:{} (ARG on line {line})", report.file, report.line),
            None => format!("{}:{}", report.file, report.line),
        };
        let current = report.current.as_deref().map(short).unwrap_or_default();
        let text = match (report.status, report.action) {
            (_, Some(PinAction::Pinned)) => format!("pinned    {} @ {current}", report.reference),
            (_, Some(PinAction::Updated)) => format!("updated   {} → {current}", report.reference),
            (PinStatus::Pinned, None) => format!("pinned    {}", report.reference),
            (PinStatus::PinnedWithoutTag, None) => {
                format!(
                    "pinned    {} (no tag: drift cannot be seen)",
                    report.reference
                )
            }
            (PinStatus::Drifted, None) => format!(
                "drifted   {}: the tag now points at {current}",
                report.reference
            ),
            (PinStatus::Unpinned, None) if check => {
                format!("unpinned  {} (now {current})", report.reference)
            }
            (PinStatus::Unpinned, None) => format!("unpinned  {}", report.reference),
            (PinStatus::CannotPin, None) => format!(
                "unpinned  {}: {}",
                report.reference,
                report.reason.as_deref().unwrap_or_default()
            ),
        };
        let _ = writeln!(output, "{place}: {text}");
    }
    output
}

/// The `strata.toml` that governs `path` (a directory or a Dockerfile): the nearest one at or
/// above it, with the directory it is in; none is the default settings.
fn repository_config(
    path: &std::path::Path,
) -> anyhow::Result<(strata_repo::Config, std::path::PathBuf)> {
    let start = if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .map_or_else(
                || std::path::PathBuf::from("."),
                std::path::Path::to_path_buf,
            )
    };
    for directory in start.ancestors() {
        if directory.join(strata_repo::CONFIG_FILE).is_file() {
            return Ok((
                strata_repo::Config::load(directory)?,
                directory.to_path_buf(),
            ));
        }
    }
    Ok((strata_repo::Config::default(), start))
}
