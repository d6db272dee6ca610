//! `strata freeze IMAGE`: the explicit lock of a conda environment as a built image holds it,
//! from its `conda-meta` records, without a container; what pip installed into it, hash-pinned,
//! beside it.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use anyhow::Context;

use crate::exit_status::ExitStatus;
use crate::output::counted;
use crate::printer::Printer;
use crate::settings::FreezeSettings;
use strata_lock::conventions::{pip_lock_path, wheel_platform};
use strata_lock::images::{
    choose_environment, conda_distributions, conda_platform, glibc_of, image_facts,
    installed_packages, pip_installed,
};
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
    let facts = image_facts(session, &settings.image, settings.registry)?;
    let environment = choose_environment(&facts, settings.env.as_deref())?;
    let packages = installed_packages(environment);
    let platform = packages
        .iter()
        .filter_map(|package| package.subdir.clone())
        .find(|subdir| subdir != "noarch")
        .unwrap_or_else(|| conda_platform(&facts).to_string());
    let glibc = glibc_of(&facts);
    let mut regenerate = format!("strata freeze {}", settings.image);
    if settings.env.is_some() || facts.conda.len() > 1 {
        let _ = write!(regenerate, " --env {}", environment.name());
    }
    if let Some(output) = &settings.output {
        let _ = write!(regenerate, " -o {}", output.display());
    }
    if settings.registry {
        regenerate.push_str(" --registry");
    }
    let header = strata_conda::LockHeader {
        environment: format!("{} in {}", environment.path(), settings.image),
        platform: platform.clone(),
        glibc: glibc.clone(),
        regenerate: Some(regenerate),
        ..strata_conda::LockHeader::default()
    };
    let (lock, mut warnings) = strata_conda::freeze(&packages, header).with_context(|| {
        format!(
            "cannot freeze {} of `{}`",
            environment.path(),
            settings.image
        )
    })?;
    let pip = pip_installed(&facts, environment);
    let pip_pins: Vec<String> = pip
        .iter()
        .map(|package| format!("{}=={}", package.name, package.version))
        .collect();
    let mut pip_lock = None;
    if let Some(output) = &settings.output {
        strata_conda::write_lock(output, &lock)?;
        printer.info(&format!(
            "wrote `{}`: {} of {} in `{}`",
            output.display(),
            counted(lock.packages.len(), "package", "packages"),
            environment.path(),
            settings.image
        ));
        if !pip_pins.is_empty() {
            let path = pip_lock_path(output);
            let pip_target = PipTarget {
                platform: &platform,
                glibc: glibc.as_deref(),
                output: &path,
            };
            lock_pip_pins(
                settings,
                session,
                &facts,
                environment,
                &pip_pins,
                &pip_target,
                printer,
            )?;
            pip_lock = Some(path.display().to_string());
        }
    } else {
        if !settings.json {
            printer.data(&lock.render());
        }
        if !pip_pins.is_empty() {
            warnings.push(format!(
                "pip installed {} into {} ({}); give `-o FILE` to lock them, hash-pinned, beside the conda lock",
                counted(pip_pins.len(), "package", "packages"),
                environment.path(),
                pip_pins.join(", ")
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
            environment: environment.path(),
            platform,
            packages: lock.packages.len(),
            lock: settings
                .output
                .as_ref()
                .map(|output| output.display().to_string()),
            pip: pip_pins,
            pip_lock,
            warnings: &warnings,
        };
        printer.data(&format!("{}\n", serde_json::to_string_pretty(&report)?));
    }
    Ok(ExitStatus::Success)
}

/// Lock the pins pip installed, for the environment's Python, with conda's Python
/// distributions held fixed: the same lock `strata lock` writes for a `pip:` section.
/// The conda platform and glibc pip's packages are locked for, and the lock written.
struct PipTarget<'a> {
    platform: &'a str,
    glibc: Option<&'a str>,
    output: &'a std::path::Path,
}

fn lock_pip_pins(
    settings: &FreezeSettings,
    session: &Session,
    facts: &strata_inspect::ImageFacts,
    environment: &strata_inspect::CondaEnvironment,
    pins: &[String],
    pip_target: &PipTarget<'_>,
    printer: &Printer,
) -> anyhow::Result<()> {
    let output = pip_target.output;
    let python = environment
        .packages
        .iter()
        .find(|package| package.name == "python")
        .map(|package| package.version.clone())
        .or_else(|| {
            let site = format!("{}/lib/", environment.path());
            facts
                .python
                .environments
                .iter()
                .find(|python| python.path.starts_with(&site))
                .and_then(|python| python.python_version.clone())
        })
        .with_context(|| {
            format!(
                "pip installed packages into {} but strata finds no Python there",
                environment.path()
            )
        })?;
    let target = strata_conda::CondaTarget::new(pip_target.platform, pip_target.glibc, None)?;
    let fixed = conda_distributions(environment);
    let scratch = tempfile::tempdir().context("cannot make a scratch directory")?;
    let requirements = scratch.path().join("pip-installed.txt");
    let text = pins
        .iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .fold(String::new(), |text, pin| text + pin + "\n");
    let lock_settings = strata_pylock::LockSettings {
        requirements,
        output: output.to_path_buf(),
        target: strata_pylock::Target::new(&python, &wheel_platform(&target)?)?,
        exclude_newer: None,
        no_binary: BTreeSet::new(),
        upgrade: strata_pylock::Upgrade::All,
        base: fixed,
        base_sources: Vec::new(),
        base_image: None,
        index_url: None,
        requirements_text: Some(text),
        command: Some(format!(
            "strata freeze {} --env {} -o {}",
            settings.image,
            environment.name(),
            output.with_extension("").with_extension("lock").display()
        )),
    };
    let client = index_client(session, settings.offline)?;
    let outcome = strata_pylock::lock(&lock_settings, &client).with_context(|| {
        format!(
            "cannot lock what pip installed into {} of `{}`",
            environment.path(),
            settings.image
        )
    })?;
    if let strata_pylock::LockOutcome::Written { pins, .. } = outcome {
        printer.info(&format!(
            "wrote `{}`: {} pip installed, for Python {python}",
            output.display(),
            counted(pins, "package", "packages"),
        ));
    }
    Ok(())
}
