//! `strata outdated`: what has moved on since the last release — pinned bases whose tag moved
//! (and what changed inside), locked packages with newer compatible releases, published images
//! whose inputs no longer match the repository, and orphaned SciServer versions.

use strata_lock::outdated::outdated_locks;
use strata_release::outdated::{
    moved_bases, outdated_targets, published_state, render, OutdatedReport, OUTDATED_SCHEMA_VERSION,
};
use strata_session::Session;

use crate::exit_status::ExitStatus;
use crate::printer::Printer;
use strata_cli::settings::OutdatedSettings;

pub fn outdated(
    settings: &OutdatedSettings,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let (repository, files) = outdated_targets(&settings.path)?;
    // `[trust]`'s keys say whose signature a moved base carries.
    let trust = match &repository {
        Some(repository) if !repository.config.trust.is_empty() => Some(
            strata_select::TrustPolicy::read(&repository.config, &repository.root)?,
        ),
        _ => None,
    };
    let spinner = printer.spinner("comparing pinned bases with their tags");
    let bases = session.block_on(moved_bases(session, &files, trust.as_ref()))?;
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    let bases = bases?;

    let spinner = printer.spinner("looking for newer releases of locked packages");
    let locks = outdated_locks(
        session,
        repository.as_ref(),
        &settings.path,
        settings.offline,
    );
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    let locks = locks?;

    let (images, orphans) = match &repository {
        Some(repository) => published_state(
            session,
            repository,
            settings.repo.as_deref(),
            &mut |warning| printer.warn(&warning),
        )?,
        None => (Vec::new(), Vec::new()),
    };
    let report = OutdatedReport {
        schema_version: OUTDATED_SCHEMA_VERSION,
        bases,
        locks,
        images,
        orphans,
    };
    if settings.json {
        printer.data(&format!("{}\n", serde_json::to_string_pretty(&report)?));
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
