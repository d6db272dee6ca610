//! `strata freeze IMAGE`: the explicit lock of a conda environment as a built image holds it,
//! from its `conda-meta` records, without a container; what pip installed into it, hash-pinned,
//! beside it.

use anyhow::Context;

use crate::exit_status::ExitStatus;
use crate::output::counted;
use crate::printer::Printer;
use strata_cli::settings::FreezeSettings;
use strata_lock::conventions::pip_lock_path;
use strata_lock::freeze::{FreezeRequest, Frozen};
use strata_lock::index_client;
use strata_session::Session;

/// Bumped when a field of `freeze --json` changes meaning or disappears.
pub const FREEZE_SCHEMA_VERSION: u32 = 1;

#[derive(serde::Serialize)]
struct FreezeReport<'a> {
    schema_version: u32,
    image: &'a str,
    environment: String,
    platform: String,
    packages: usize,
    /// Where the lock went (`null`: stdout).
    lock: Option<String>,
    /// What pip installed into the environment, `name==version`.
    pip: Vec<String>,
    pip_lock: Option<String>,
    warnings: &'a [String],
}

pub fn freeze(
    settings: &FreezeSettings,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let frozen = strata_lock::freeze::freeze(
        session,
        &FreezeRequest {
            image: &settings.image,
            env: settings.env.as_deref(),
            output: settings.output.as_deref(),
            registry: settings.registry,
        },
    )?;
    let mut warnings = frozen.warnings.clone();
    let lock = &frozen.lock;
    let mut pip_lock = None;
    if let Some(output) = &settings.output {
        strata_conda::write_lock(output, lock)?;
        printer.info(&format!(
            "wrote `{}`: {} of {} in `{}`",
            output.display(),
            counted(lock.packages.len(), "package", "packages"),
            frozen.environment,
            settings.image
        ));
        if !frozen.pip_pins.is_empty() {
            let path = pip_lock_path(output);
            lock_pip_pins(settings, session, &frozen, &path, printer)?;
            pip_lock = Some(path.display().to_string());
        }
    } else {
        if !settings.json {
            printer.data(&lock.render());
        }
        if !frozen.pip_pins.is_empty() {
            warnings.push(format!(
                "pip installed {} into {} ({}); give `-o FILE` to lock them, hash-pinned, beside the conda lock",
                counted(frozen.pip_pins.len(), "package", "packages"),
                frozen.environment,
                frozen.pip_pins.join(", ")
            ));
        }
    }
    for warning in &warnings {
        printer.warn(warning);
    }
    if settings.json {
        let report = FreezeReport {
            schema_version: FREEZE_SCHEMA_VERSION,
            image: &settings.image,
            environment: frozen.environment.clone(),
            platform: frozen.platform.clone(),
            packages: lock.packages.len(),
            lock: settings
                .output
                .as_ref()
                .map(|output| output.display().to_string()),
            pip: frozen.pip_pins.clone(),
            pip_lock,
            warnings: &warnings,
        };
        printer.data(&format!("{}\n", serde_json::to_string_pretty(&report)?));
    }
    Ok(ExitStatus::Success)
}

/// Lock what pip installed into `path`, and say so.
fn lock_pip_pins(
    settings: &FreezeSettings,
    session: &Session,
    frozen: &Frozen,
    path: &std::path::Path,
    printer: &Printer,
) -> anyhow::Result<()> {
    let lock_settings = frozen.pip_lock_settings(&settings.image, path)?;
    let client = index_client(session, settings.offline)?;
    let outcome = strata_pylock::lock(&lock_settings, &client).with_context(|| {
        format!(
            "cannot lock what pip installed into {} of `{}`",
            frozen.environment, settings.image
        )
    })?;
    if let strata_pylock::LockOutcome::Written { pins, .. } = outcome {
        printer.info(&format!(
            "wrote `{}`: {} pip installed, for Python {}",
            path.display(),
            counted(pins, "package", "packages"),
            frozen.python().unwrap_or_default(),
        ));
    }
    Ok(())
}
