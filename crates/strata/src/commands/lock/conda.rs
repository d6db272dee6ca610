//! `strata lock environment.yml`: a conda environment solved for the image's platform into an
//! explicit, hash-pinned lock, its `pip:` section into a companion pip lock; `--check --image`
//! compares a built image's environment with the lock.

use std::path::Path;

use anyhow::Context;
use strata_lock::check::{check_image_against_lock, ImageLockCheck};
use strata_lock::conventions::pip_lock_path;
use strata_lock::repodata_client;
use strata_lock::requests::{
    environment_output, environment_settings, pip_section_settings, PipSection,
};

use super::{run_one, LockReport, LockResult, LOCK_SCHEMA_VERSION};
use crate::exit_status::ExitStatus;
use crate::printer::Printer;
use strata_cli::settings::LockRunSettings;
use strata_session::Session;

/// `strata lock --check --image IMAGE environment.yml`: whether the image's environment holds
/// exactly the lock (and, with `--base`, its base's packages).
fn check_image(
    options: &LockRunSettings,
    session: &Session,
    output: &Path,
    image: &str,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let ImageLockCheck {
        environment,
        changes,
    } = check_image_against_lock(session, output, image, options.request.registry)?;
    let lock_path = output.display().to_string();
    if changes.is_empty() {
        printer.info(&format!(
            "`{image}` holds exactly `{lock_path}` in {environment}"
        ));
    } else {
        printer.info(&format!(
            "`{image}` does not hold `{lock_path}` ({} in {environment}):",
            crate::output::counted(changes.len(), "difference", "differences"),
        ));
        for change in &changes {
            printer.info(&format!("  {change}"));
        }
        printer.info("hint: rebuild the image from the lock, or re-lock with `strata freeze` if the image is right");
    }
    if options.json {
        let report = LockReport {
            schema_version: LOCK_SCHEMA_VERSION,
            lock: &lock_path,
            result: if changes.is_empty() {
                LockResult::UpToDate
            } else {
                LockResult::Drifted
            },
            packages: None,
            changes: &changes,
        };
        printer.data(&format!("{}\n", serde_json::to_string(&report)?));
    }
    Ok(if changes.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Problems
    })
}

pub fn lock_environment(
    options: &LockRunSettings,
    session: &Session,
    environment: &Path,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let request = &options.request;
    if let (true, Some(image)) = (options.check, request.image.as_deref()) {
        let output = environment_output(request, environment);
        return check_image(options, session, &output, image, printer);
    }
    let settings = environment_settings(session, request, environment)?;
    let drifted = run_environment(options, session, environment, &settings, printer)?;
    Ok(if drifted {
        ExitStatus::Problems
    } else {
        ExitStatus::Success
    })
}

/// Lock (or check) one environment and its `pip:` section, and report; whether either drifted.
pub(crate) fn run_environment(
    options: &LockRunSettings,
    session: &Session,
    environment: &Path,
    settings: &strata_conda::CondaLockSettings,
    printer: &Printer,
) -> anyhow::Result<bool> {
    let client = repodata_client(session, options.offline)?;
    // One lock is two files when the environment has a `pip:` section: both are written, or
    // neither is (a `pip:` section that cannot be locked puts the conda lock back).
    let pip_output = pip_lock_path(&settings.output);
    let rollback = strata_fs::Rollback::of(&[&settings.output, &pip_output]);
    let spinner = printer.spinner(&format!(
        "solving `{}` for {}",
        environment.display(),
        settings.target
    ));
    let locked = if options.check {
        strata_conda::check_environment(settings, &client)
    } else {
        strata_conda::lock_environment(settings, &client)
    };
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    let locked = locked.with_context(|| format!("cannot lock `{}`", environment.display()))?;
    let outcome = &locked.outcome;
    let lock_path = settings.output.display().to_string();
    let (drifted, result, packages, changes) = match outcome {
        strata_conda::CondaOutcome::Written { packages, changes } => {
            printer.info(&format!(
                "wrote `{lock_path}`: {} for {}",
                crate::output::counted(*packages, "package", "packages"),
                settings.target
            ));
            for change in changes {
                printer.info(&format!("  {change}"));
            }
            (
                false,
                LockResult::Written,
                Some(*packages),
                changes.as_slice(),
            )
        }
        strata_conda::CondaOutcome::UpToDate => {
            printer.info(&format!(
                "`{lock_path}` is up to date for {}",
                settings.target
            ));
            (false, LockResult::UpToDate, None, &[][..])
        }
        strata_conda::CondaOutcome::Drifted(changes) => {
            printer.info(&format!(
                "`{lock_path}` no longer matches its environment or target:"
            ));
            for change in changes {
                printer.info(&format!("  {change}"));
            }
            printer.info(&format!(
                "hint: run `strata lock {}` to update it",
                environment.display()
            ));
            (true, LockResult::Drifted, None, changes.as_slice())
        }
    };
    if options.json {
        let report = LockReport {
            schema_version: LOCK_SCHEMA_VERSION,
            lock: &lock_path,
            result,
            packages,
            changes,
        };
        printer.data(&format!("{}\n", serde_json::to_string(&report)?));
    }
    let pip_drifted = match lock_pip_section(
        options,
        session,
        environment,
        settings,
        &locked,
        printer,
    ) {
        Ok(drifted) => drifted,
        Err(error) => {
            if !options.check {
                rollback.restore().with_context(|| {
                    format!(
                        "the `pip:` section could not be locked, and `{}` cannot be put back as it was",
                        settings.output.display()
                    )
                })?;
            }
            return Err(error);
        }
    };
    Ok(drifted || pip_drifted)
}

/// Lock (or check) the environment's `pip:` section into the companion pip lock, for the
/// Python the solve chose, with every Python distribution conda installs held fixed.
/// Whether it drifted.
fn lock_pip_section(
    options: &LockRunSettings,
    session: &Session,
    environment: &Path,
    settings: &strata_conda::CondaLockSettings,
    locked: &strata_conda::Locked,
    printer: &Printer,
) -> anyhow::Result<bool> {
    match pip_section_settings(&options.request, environment, settings, locked)? {
        PipSection::None => Ok(false),
        PipSection::Drifted => Ok(true),
        PipSection::Lock(pip_settings) => run_one(&pip_settings, options, session, printer),
    }
}
