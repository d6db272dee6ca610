//! `strata lock environment.yml`: a conda environment solved for the image's platform into an
//! explicit, hash-pinned lock, its `pip:` section into a companion pip lock; `--check --image`
//! compares a built image's environment with the lock.

use std::path::Path;

use anyhow::Context;
use strata_lock::check::{check_image_against_lock, ImageLockCheck};
use strata_lock::conventions::{pip_lock_path, pip_requirements, wheel_platform};
use strata_lock::images::{
    choose_environment, conda_platform, glibc_of, image_facts, installed_packages,
};
use strata_lock::repodata_client;

use super::{run_one, LockReport, LockResult, LOCK_SCHEMA_VERSION};
use crate::exit_status::ExitStatus;
use crate::printer::Printer;
use crate::settings::LockRunSettings;
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
    } = check_image_against_lock(session, output, image, options.registry)?;
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
    if options.python_version.is_some() || !options.no_binary.is_empty() {
        anyhow::bail!("`--python-version` and `--no-binary` apply to requirements files, not to the conda environment `{}`: the solve chooses Python", environment.display());
    }
    let output = options
        .output
        .clone()
        .unwrap_or_else(|| environment.with_extension("lock"));
    if let (true, Some(image)) = (options.check, options.image.as_deref()) {
        return check_image(options, session, &output, image, printer);
    }
    let existing = strata_conda::read_lock(&output).ok();
    let base = options
        .base
        .clone()
        .or_else(|| existing.as_ref().and_then(|lock| lock.header.base.clone()))
        .map(|base| -> anyhow::Result<_> {
            let facts = image_facts(session, &base, options.registry)?;
            let packages = installed_packages(choose_environment(&facts, None)?);
            Ok((base, packages))
        })
        .transpose()?;
    let image = options
        .image
        .as_deref()
        .map(|image| -> anyhow::Result<_> {
            let facts = image_facts(session, image, options.registry)?;
            Ok((conda_platform(&facts).to_string(), glibc_of(&facts)))
        })
        .transpose()?;
    let platform = options
        .platform
        .clone()
        .or_else(|| image.as_ref().map(|(platform, _)| platform.clone()))
        .or_else(|| {
            existing
                .as_ref()
                .map(|lock| lock.header.platform.clone())
                .filter(|platform| !platform.is_empty())
        })
        .unwrap_or_else(|| "linux-64".to_string());
    let glibc = options
        .glibc
        .clone()
        .or_else(|| image.as_ref().and_then(|(_, glibc)| glibc.clone()))
        .or_else(|| existing.as_ref().and_then(|lock| lock.header.glibc.clone()));
    let cuda = options
        .cuda
        .clone()
        .or_else(|| existing.as_ref().and_then(|lock| lock.header.cuda.clone()));
    let target = strata_conda::CondaTarget::new(&platform, glibc.as_deref(), cuda.as_deref())?;
    let settings = strata_conda::CondaLockSettings {
        environment: environment.to_path_buf(),
        output,
        target,
        exclude_newer: options.exclude_newer.clone(),
        upgrade: options.upgrade.clone(),
        base: base.map(|(image, packages)| (strata_conda::BaseOrigin::Image(image), packages)),
        regenerate: None,
    };
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
    let entries = strata_conda::read_environment(environment)?.pip;
    let output = pip_lock_path(&settings.output);
    if entries.is_empty() {
        return Ok(false);
    }
    let Some(python) = &locked.python else {
        if matches!(locked.outcome, strata_conda::CondaOutcome::Drifted(_))
            && !settings.output.exists()
        {
            return Ok(true);
        }
        anyhow::bail!(
            "`{}` has a `pip:` section but its packages do not include `python`: add `python` (and `pip`) to `dependencies`",
            environment.display()
        );
    };
    let mut fixed = python.distributions.clone();
    if let Some((_, packages)) = &settings.base {
        for package in packages {
            fixed
                .entry(strata_conda::pypi_name(&package.name))
                .or_insert_with(|| package.version.clone());
        }
    }
    let pip_settings = strata_pylock::LockSettings {
        requirements: environment.to_path_buf(),
        output,
        target: strata_pylock::Target::new(&python.version, &wheel_platform(&settings.target)?)?,
        exclude_newer: options.exclude_newer.clone(),
        no_binary: std::collections::BTreeSet::new(),
        upgrade: options.upgrade.clone(),
        base: fixed,
        base_sources: Vec::new(),
        base_image: None,
        index_url: options.index_url.clone(),
        requirements_text: Some(pip_requirements(environment, &entries)),
        command: Some(format!("strata lock {}", environment.display())),
    };
    run_one(&pip_settings, options, session, printer)
}
