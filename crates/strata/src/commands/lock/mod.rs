//! `strata lock`: hash-pinned Python locks for one requirements file, or for every image of a
//! repository that configures `[images.NAME.lock]`; `strata lock fetch`.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use strata_lock::conventions::{is_environment_file, lone_lock};
use strata_lock::index_client;
use strata_lock::inheritance::{
    layer_conda_settings, layer_lock_settings, locked_images_parents_first, LockDefaults,
};
use strata_lock::requests::requirements_settings;
use strata_pylock::{IndexClient, LockOutcome, LockSettings};

use crate::exit_status::ExitStatus;
use crate::printer::Printer;
use strata_cli::settings::{FetchSettings, LockCommandSettings, LockRunSettings};
use strata_session::Session;

mod conda;

pub fn lock(
    settings: &LockCommandSettings,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    match settings {
        LockCommandSettings::Fetch(fetch_settings) => fetch(fetch_settings, session, printer),
        LockCommandSettings::Lock(options) => match &options.requirements {
            Some(requirements) if is_environment_file(requirements) => {
                conda::lock_environment(options, session, requirements, printer)
            }
            Some(requirements) => lock_one(options, session, requirements.clone(), printer),
            None => match lone_lock(&options.repository) {
                Some(file) if is_environment_file(&file) => {
                    conda::lock_environment(options, session, &file, printer)
                }
                Some(file) => lock_one(options, session, file, printer),
                None => lock_repository(options, session, printer),
            },
        },
    }
}

/// Show the client's counters on a spinner while `work` runs.
fn with_progress<T>(
    client: &IndexClient,
    printer: &Printer,
    message: &str,
    work: impl FnOnce() -> T,
) -> T {
    let spinner = printer.spinner(message);
    let stats = Arc::clone(&client.stats);
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ticker = spinner.clone().map(|spinner| {
        let done = Arc::clone(&done);
        let message = message.to_string();
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                spinner.set_message(format!(
                    "{message}: {} pages, {} metadata fetched, {} from cache",
                    stats.pages.load(Ordering::Relaxed),
                    stats.metadata.load(Ordering::Relaxed),
                    stats.from_cache.load(Ordering::Relaxed)
                ));
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    });
    let result = work();
    done.store(true, Ordering::Relaxed);
    if let Some(ticker) = ticker {
        let _ = ticker.join();
    }
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    result
}

/// Lock or check one file; returns whether it drifted (for `--check`).
pub(crate) fn run_one(
    settings: &LockSettings,
    options: &LockRunSettings,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<bool> {
    let (check, json) = (options.check, options.json);
    let client = index_client(session, options.offline)?;
    let label = format!(
        "locking `{}` for {}",
        settings.requirements.display(),
        settings.target
    );
    let outcome = with_progress(&client, printer, &label, || {
        if check {
            strata_pylock::check(settings, &client)
        } else {
            strata_pylock::lock(settings, &client)
        }
    })
    .with_context(|| format!("cannot lock `{}`", settings.requirements.display()))?;
    let lock_path = settings.output.display().to_string();
    let (drifted, report) = match &outcome {
        LockOutcome::Written { pins, changed } => {
            printer.info(&format!(
                "wrote `{lock_path}`: {} for {}",
                crate::output::counted(*pins, "package", "packages"),
                settings.target
            ));
            for change in changed {
                printer.info(&format!("  {change}"));
            }
            (
                false,
                LockReport {
                    schema_version: LOCK_SCHEMA_VERSION,
                    lock: &lock_path,
                    result: LockResult::Written,
                    packages: Some(*pins),
                    changes: changed,
                },
            )
        }
        LockOutcome::UpToDate => {
            printer.info(&format!(
                "`{lock_path}` is up to date for {}",
                settings.target
            ));
            (
                false,
                LockReport {
                    schema_version: LOCK_SCHEMA_VERSION,
                    lock: &lock_path,
                    result: LockResult::UpToDate,
                    packages: None,
                    changes: &[],
                },
            )
        }
        LockOutcome::Drifted(changes) => {
            printer.info(&format!(
                "`{lock_path}` no longer matches its requirements or target:"
            ));
            for change in changes {
                printer.info(&format!("  {change}"));
            }
            printer.info(&format!(
                "hint: run `strata lock {}` to update it",
                settings.requirements.display()
            ));
            (
                true,
                LockReport {
                    schema_version: LOCK_SCHEMA_VERSION,
                    lock: &lock_path,
                    result: LockResult::Drifted,
                    packages: None,
                    changes,
                },
            )
        }
    };
    if json {
        printer.data(&format!("{}\n", serde_json::to_string(&report)?));
    }
    Ok(drifted)
}

/// Bumped when a field of `lock --json` changes meaning or disappears.
pub const LOCK_SCHEMA_VERSION: u32 = 1;

/// One line of `lock --json`: one lock.
#[derive(serde::Serialize)]
pub struct LockReport<'a> {
    pub schema_version: u32,
    pub lock: &'a str,
    pub result: LockResult,
    /// Packages pinned, when the lock was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packages: Option<usize>,
    pub changes: &'a [String],
}

#[derive(serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LockResult {
    Written,
    UpToDate,
    Drifted,
}

fn lock_one(
    options: &LockRunSettings,
    session: &Session,
    requirements: PathBuf,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let settings = requirements_settings(session, &options.request, requirements)?;
    let drifted = run_one(&settings, options, session, printer)?;
    Ok(if drifted {
        ExitStatus::Problems
    } else {
        ExitStatus::Success
    })
}

/// Every image of the repository with `[images.NAME.lock]`, parents first; an image's lock keeps
/// what its parent's lock (and the parent's base) installs.
fn lock_repository(
    options: &LockRunSettings,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let repository = strata_repo::open(&options.repository)
        .with_context(|| format!("cannot read the image repository at `{}`", options.repository.display()))
        .context("give a requirements file, or run in a repository whose `strata.toml` configures `[images.NAME.lock]`")?;
    let order = locked_images_parents_first(&repository);
    if order.is_empty() {
        anyhow::bail!(
            "no image of `{}` configures `[images.NAME.lock]` or `[images.NAME.conda]` in `strata.toml`; give a requirements or environment file",
            options.repository.display()
        );
    }
    let defaults = LockDefaults::from(&options.request);
    let mut any_drift = false;
    for id in order {
        if let Some((environment, settings)) = layer_conda_settings(&repository, id, &defaults)? {
            any_drift |= conda::run_environment(options, session, &environment, &settings, printer)
                .with_context(|| format!("in image `{}`", repository.layers[id].name))?;
        }
        let Some(settings) = layer_lock_settings(&repository, id, &defaults)? else {
            continue;
        };
        any_drift |= run_one(&settings, options, session, printer)
            .with_context(|| format!("in image `{}`", repository.layers[id].name))?;
    }
    Ok(if any_drift {
        ExitStatus::Problems
    } else {
        ExitStatus::Success
    })
}

fn fetch(
    arguments: &FetchSettings,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let client = index_client(session, arguments.offline)?;
    let written = with_progress(&client, printer, "downloading", || {
        strata_pylock::fetch(&arguments.lock, &arguments.directory, &client)
    })
    .with_context(|| format!("cannot fetch the files of `{}`", arguments.lock.display()))?;
    for path in &written {
        printer.data(&format!("{}\n", path.display()));
    }
    printer.info(&format!(
        "{} files in `{}`, each matching the lock's hashes",
        written.len(),
        arguments.directory.display()
    ));
    Ok(ExitStatus::Success)
}
