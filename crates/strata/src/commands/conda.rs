//! `strata lock environment.yml`: a conda environment solved for the image's platform into an
//! explicit, hash-pinned lock.

use std::path::Path;

use anyhow::Context;

use crate::commands::lock::{inspect, LockReport, LockResult, LOCK_SCHEMA_VERSION};
use crate::exit_status::ExitStatus;
use crate::printer::Printer;
use crate::settings::{cache_root, LockRunSettings};

/// The conda platform and glibc of a built image (`amd64` → `linux-64`, libc6's version).
fn image_target(reference: &str, registry: bool) -> anyhow::Result<(String, Option<String>)> {
    let facts = inspect(reference, registry)?;
    let platform = match facts.image.architecture.as_deref() {
        Some("arm64" | "aarch64") => "linux-aarch64",
        Some("ppc64le") => "linux-ppc64le",
        Some("s390x") => "linux-s390x",
        _ => "linux-64",
    };
    let glibc = facts
        .deb_packages
        .iter()
        .find(|package| package.name == "libc6")
        .and_then(|package| {
            let mut parts = package.version.split(['.', '-', '+', '~']);
            Some(format!("{}.{}", parts.next()?, parts.next()?))
        });
    Ok((platform.to_string(), glibc))
}

pub fn lock_environment(
    options: &LockRunSettings,
    environment: &Path,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    if options.base.is_some()
        || options.python_version.is_some()
        || !options.no_binary.is_empty()
        || options.index_url.is_some()
    {
        anyhow::bail!("`--base`, `--python-version`, `--no-binary` and `--index-url` apply to requirements files, not to the conda environment `{}`", environment.display());
    }
    let output = options
        .output
        .clone()
        .unwrap_or_else(|| environment.with_extension("lock"));
    let existing = strata_conda::read_lock(&output).ok();
    let image = options
        .image
        .as_deref()
        .map(|image| image_target(image, options.registry))
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
    };
    let client = strata_conda::RepodataClient::new(cache_root().join("conda"), options.offline)?;
    let spinner = printer.spinner(&format!(
        "solving `{}` for {}",
        environment.display(),
        settings.target
    ));
    let outcome = if options.check {
        strata_conda::check(&settings, &client)
    } else {
        strata_conda::lock(&settings, &client)
    };
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    let outcome = outcome.with_context(|| format!("cannot lock `{}`", environment.display()))?;
    let pip = strata_conda::read_environment(environment)
        .map(|environment| environment.pip)
        .unwrap_or_default();
    if !pip.is_empty() {
        printer.warn(&format!(
            "the `pip:` section ({}) is not locked by this command yet: lock it from a requirements file with `strata lock requirements.txt`",
            crate::output::counted(pip.len(), "entry", "entries")
        ));
    }
    let lock_path = settings.output.display().to_string();
    let (drifted, result, packages, changes) = match &outcome {
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
    Ok(if drifted {
        ExitStatus::Problems
    } else {
        ExitStatus::Success
    })
}
