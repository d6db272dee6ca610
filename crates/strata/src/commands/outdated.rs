//! `strata outdated`: what has moved on since the last release — pinned bases whose tag moved
//! (and what changed inside), locked packages with newer compatible releases, published images
//! whose inputs no longer match the repository, and orphaned SciServer versions.

use std::fmt::Write;

use anyhow::Context;
use serde::Serialize;
use strata_release::outdated::{moved_bases, published_state, ChangedImage, MovedBase};
use strata_repo::{pin_file, OrphanedVersion, RepoError};
use strata_session::Session;

use crate::exit_status::ExitStatus;
use crate::printer::Printer;
use crate::settings::OutdatedSettings;
use strata_lock::index_client;
use strata_lock::inheritance::existing_locks;

/// Bumped when a field of `outdated --json` changes meaning or disappears.
pub const OUTDATED_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
struct Report {
    schema_version: u32,
    bases: Vec<MovedBase>,
    locks: Vec<OutdatedLock>,
    images: Vec<ChangedImage>,
    orphans: Vec<OrphanedVersion>,
}

#[derive(Debug, Serialize)]
struct OutdatedLock {
    lock: String,
    updates: Vec<strata_pylock::PinUpdate>,
}

impl Report {
    fn is_empty(&self) -> bool {
        self.bases.is_empty()
            && self.locks.is_empty()
            && self.images.is_empty()
            && self.orphans.is_empty()
    }
}

pub fn outdated(
    settings: &OutdatedSettings,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let repository = match strata_repo::open(&settings.path) {
        Ok(repository) => Some(repository),
        Err(RepoError::NotFound { .. }) if settings.path.is_dir() => None,
        Err(error) => {
            return Err(anyhow::Error::new(error).context(format!(
                "cannot read the image repository at `{}`",
                settings.path.display()
            )))
        }
    };

    let files = match &repository {
        Some(repository) => repository.pin_files()?,
        None if settings.path.join("Dockerfile").is_file() => {
            vec![pin_file(&settings.path.join("Dockerfile"))?]
        }
        None => Vec::new(),
    };
    let spinner = printer.spinner("comparing pinned bases with their tags");
    let bases = session.block_on(moved_bases(session, &files))?;
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    let bases = bases?;

    let locks = outdated_locks(settings, session, repository.as_ref(), printer)?;

    let (images, orphans) = match &repository {
        Some(repository) => published_state(
            session,
            repository,
            settings.repo.as_deref(),
            &mut |warning| printer.warn(&warning),
        )?,
        None => (Vec::new(), Vec::new()),
    };
    let report = Report {
        schema_version: OUTDATED_SCHEMA_VERSION,
        bases,
        locks,
        images,
        orphans,
    };
    if settings.json {
        let mut text = serde_json::to_string_pretty(&report)?;
        text.push('\n');
        printer.data(&text);
    } else {
        printer.data(&render(&report));
    }
    printer.info(&format!(
        "outdated: {} moved base(s), {} lock(s) with newer releases, {} published image(s) differing, {} orphaned version(s)",
        report.bases.len(),
        report.locks.len(),
        report.images.len(),
        report.orphans.len()
    ));
    Ok(if settings.check && !report.is_empty() {
        ExitStatus::Problems
    } else {
        ExitStatus::Success
    })
}

/// Locks with newer releases their requirements and target allow: every
/// `[images.NAME.lock]` of a repository, or a directory's `requirements.lock`.
fn outdated_locks(
    settings: &OutdatedSettings,
    session: &Session,
    repository: Option<&strata_repo::Repository>,
    printer: &Printer,
) -> anyhow::Result<Vec<OutdatedLock>> {
    let all_settings = existing_locks(repository, &settings.path)?;
    if all_settings.is_empty() {
        return Ok(Vec::new());
    }
    let client = index_client(session, settings.offline)?;
    let spinner = printer.spinner("looking for newer releases of locked packages");
    let mut locks = Vec::new();
    for lock in all_settings {
        let updates = strata_pylock::outdated(&lock, &client).with_context(|| {
            format!(
                "cannot check `{}` for newer releases",
                lock.output.display()
            )
        })?;
        if !updates.is_empty() {
            locks.push(OutdatedLock {
                lock: lock.output.display().to_string(),
                updates,
            });
        }
    }
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    Ok(locks)
}

fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

fn render(report: &Report) -> String {
    let mut output = String::new();
    if !report.bases.is_empty() {
        output.push_str("pinned bases whose tag moved\n");
        for base in &report.bases {
            let _ = writeln!(
                output,
                "  {}:{}  {}  {} → {}",
                base.file,
                base.line,
                base.reference,
                short(&base.pinned),
                short(&base.current)
            );
            if base.changes.is_empty() {
                output.push_str("    no package changed\n");
            }
            for change in &base.changes {
                let text = match (&change.before, &change.after) {
                    (Some(before), Some(after)) => format!("{} {before} → {after}", change.name),
                    (None, Some(after)) => format!("+ {} {after}", change.name),
                    (Some(before), None) => format!("- {} {before}", change.name),
                    (None, None) => change.name.clone(),
                };
                let _ = writeln!(output, "    {:<15} {text}", change.ecosystem);
            }
        }
    }
    if !report.locks.is_empty() {
        output.push_str("locks with newer compatible releases\n");
        for lock in &report.locks {
            let _ = writeln!(output, "  {}", lock.lock);
            for update in &lock.updates {
                let _ = writeln!(
                    output,
                    "    {} {} → {}",
                    update.name, update.locked, update.available
                );
            }
        }
    }
    if !report.images.is_empty() {
        output.push_str("published images that differ from the repository\n");
        for image in &report.images {
            let why = match (&image.because_of, image.reason) {
                (Some(cause), reason) => format!("{} ({cause})", reason.as_str()),
                (None, reason) => reason.as_str().to_string(),
            };
            let _ = writeln!(output, "  {}  {}  {why}", image.build, image.tag);
        }
    }
    if !report.orphans.is_empty() {
        output.push_str("versions without a final layer\n");
        for orphan in &report.orphans {
            let _ = writeln!(output, "  {orphan}");
        }
    }
    output
}
