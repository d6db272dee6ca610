//! `strata lock environment.yml`: a conda environment solved for the image's platform into an
//! explicit, hash-pinned lock, its `pip:` section into a companion pip lock; `--check --image`
//! compares a built image's environment with the lock.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use strata_inspect::{CondaEnvironment, ImageFacts};

use crate::commands::lock::{inspect, run_one, LockReport, LockResult, LOCK_SCHEMA_VERSION};
use crate::exit_status::ExitStatus;
use crate::printer::Printer;
use crate::settings::LockRunSettings;
use strata_session::Session;

/// The conda platform of a built image (`amd64` → `linux-64`).
pub(crate) fn conda_platform(facts: &ImageFacts) -> &'static str {
    match facts.image.architecture.as_deref() {
        Some("arm64" | "aarch64") => "linux-aarch64",
        Some("ppc64le") => "linux-ppc64le",
        Some("s390x") => "linux-s390x",
        _ => "linux-64",
    }
}

/// The glibc of a built image: libc6's version (`2.36`).
pub(crate) fn glibc_of(facts: &ImageFacts) -> Option<String> {
    facts
        .deb_packages
        .iter()
        .find(|package| package.name == "libc6")
        .and_then(|package| {
            let mut parts = package.version.split(['.', '-', '+', '~']);
            Some(format!("{}.{}", parts.next()?, parts.next()?))
        })
}

/// The conda platform and glibc of a built image.
fn image_target(
    session: &Session,
    reference: &str,
    registry: bool,
) -> anyhow::Result<(String, Option<String>)> {
    let facts = inspect(session, reference, registry)?;
    Ok((conda_platform(&facts).to_string(), glibc_of(&facts)))
}

/// The environment of an image a command means: the one named (`base`, the directory under
/// `envs/`, or its path), else the only one, else `base`.
pub(crate) fn choose_environment<'a>(
    facts: &'a ImageFacts,
    name: Option<&str>,
) -> anyhow::Result<&'a CondaEnvironment> {
    let reference = &facts.image.reference;
    let names = || {
        facts
            .conda
            .iter()
            .map(|environment| format!("{} ({})", environment.name(), environment.path()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if facts.conda.is_empty() {
        anyhow::bail!("`{reference}` holds no conda environment (no `conda-meta/*.json` records)");
    }
    if let Some(name) = name {
        let path = format!("/{}", name.trim_matches('/'));
        return facts
            .conda
            .iter()
            .find(|environment| environment.name() == name || environment.path() == path)
            .with_context(|| {
                format!(
                    "`{reference}` has no conda environment `{name}`; it has: {}",
                    names()
                )
            });
    }
    if let [only] = facts.conda.as_slice() {
        return Ok(only);
    }
    facts
        .conda
        .iter()
        .find(|environment| environment.name() == "base")
        .with_context(|| {
            format!(
                "`{reference}` has several conda environments; name one with `--env`: {}",
                names()
            )
        })
}

/// An image environment's packages, as strata-conda takes them.
pub(crate) fn installed_packages(
    environment: &CondaEnvironment,
) -> Vec<strata_conda::InstalledPackage> {
    environment
        .packages
        .iter()
        .map(|package| strata_conda::InstalledPackage {
            name: package.name.clone(),
            version: package.version.clone(),
            build: package.build.clone().unwrap_or_default(),
            build_number: package.build_number.unwrap_or_default(),
            subdir: package.subdir.clone(),
            url: package.url.clone(),
            sha256: package.sha256.clone(),
            md5: package.md5.clone(),
            depends: package.depends.clone(),
        })
        .collect()
}

/// The Python distributions conda's packages install into an environment (from the
/// `*.dist-info` directories their records list): normalized name → version.
pub(crate) fn conda_distributions(
    environment: &CondaEnvironment,
) -> std::collections::BTreeMap<String, String> {
    environment
        .packages
        .iter()
        .flat_map(|package| &package.python_distributions)
        .filter_map(|directory| {
            let stem = directory
                .strip_suffix(".dist-info")
                .or_else(|| directory.strip_suffix(".egg-info"))?;
            let (name, version) = stem.split_once('-')?;
            let version = version.split('-').next().unwrap_or(version);
            Some((strata_conda::normalize(name), version.to_string()))
        })
        .collect()
}

/// The Python distributions of an environment pip installed (not conda): those of its
/// `site-packages` no conda record owns.
pub(crate) fn pip_installed(
    facts: &ImageFacts,
    environment: &CondaEnvironment,
) -> Vec<strata_inspect::PythonPackage> {
    let owned = conda_distributions(environment);
    let site = format!("{}/lib/", environment.path());
    facts
        .python
        .environments
        .iter()
        .filter(|python| {
            python.path.starts_with(&site) && !python.path[site.len()..].contains("/envs/")
        })
        .flat_map(|python| &python.packages)
        .filter(|package| {
            owned.get(&strata_conda::normalize(&package.name)) != Some(&package.version)
        })
        .cloned()
        .collect()
}

/// The wheel platform (`manylinux_2_28_x86_64`) of a conda target, for its `pip:` section.
pub(crate) fn wheel_platform(target: &strata_conda::CondaTarget) -> anyhow::Result<String> {
    let architecture = match target.platform.to_string().as_str() {
        "linux-64" => "x86_64",
        "linux-aarch64" => "aarch64",
        other => anyhow::bail!(
            "the `pip:` section can be locked for `linux-64` and `linux-aarch64`, not `{other}`"
        ),
    };
    let glibc = target
        .glibc
        .as_deref()
        .unwrap_or(strata_conda::DEFAULT_GLIBC);
    let minor = glibc.split('.').nth(1).unwrap_or("28");
    Ok(format!("manylinux_2_{minor}_{architecture}"))
}

/// `environment.lock` → `environment.pip.lock`.
pub(crate) fn pip_lock_path(lock: &Path) -> PathBuf {
    lock.with_extension("pip.lock")
}

/// The `pip:` section as a requirements file's text; `-r`/`-c` paths made absolute (they are
/// relative to the environment file).
fn pip_requirements(environment: &Path, entries: &[String]) -> String {
    let directory = environment.parent().unwrap_or(Path::new(""));
    let directory = std::path::absolute(directory).unwrap_or_else(|_| directory.to_path_buf());
    let mut text = String::new();
    for entry in entries {
        let entry = entry.trim();
        let flagged = ["-r ", "-c ", "--requirement ", "--constraint "]
            .iter()
            .find_map(|flag| Some((flag, entry.strip_prefix(flag)?)));
        match flagged {
            Some((flag, path)) => {
                let _ = writeln!(text, "{flag}{}", directory.join(path.trim()).display());
            }
            None => {
                let _ = writeln!(text, "{entry}");
            }
        }
    }
    text
}

/// `strata lock --check --image IMAGE environment.yml`: whether the image's environment holds
/// exactly the lock (and, with `--base`, its base's packages).
fn check_image(
    options: &LockRunSettings,
    session: &Session,
    output: &Path,
    image: &str,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let lock = strata_conda::read_lock(output)
        .with_context(|| format!("cannot check `{image}` against its lock"))?;
    let facts = inspect(session, image, options.registry)?;
    let base: std::collections::BTreeSet<String> = match &lock.header.base {
        Some(base) => {
            let base_facts = inspect(session, base, options.registry)?;
            base_facts
                .conda
                .iter()
                .flat_map(installed_packages)
                .map(|package| package.label())
                .collect()
        }
        None => std::collections::BTreeSet::new(),
    };
    let mut base = base;
    let mut below = lock
        .header
        .base_lock
        .clone()
        .map(|relative| output.parent().unwrap_or(Path::new("")).join(relative));
    while let Some(path) = below {
        let lower = strata_conda::read_lock(&path)?;
        base.extend(
            strata_conda::locked_packages(&lower)
                .iter()
                .map(strata_conda::InstalledPackage::label),
        );
        below = lower
            .header
            .base_lock
            .clone()
            .map(|relative| path.parent().unwrap_or(Path::new("")).join(relative));
    }
    if facts.conda.is_empty() {
        anyhow::bail!("`{image}` holds no conda environment (no `conda-meta/*.json` records)");
    }
    // The environment closest to the lock.
    let (environment, mut changes) = facts
        .conda
        .iter()
        .map(|environment| {
            let packages: Vec<_> = installed_packages(environment)
                .into_iter()
                .filter(|package| !base.contains(&package.label()))
                .collect();
            (environment, strata_conda::compare(&lock, &packages))
        })
        .min_by_key(|(_, changes)| changes.len())
        .expect("at least one environment");
    // What pip installed, against the `pip:` section's lock when there is one.
    let pip_lock = pip_lock_path(output);
    if let Some(locked) = strata_pylock::read_lock_if_present(&pip_lock)? {
        let locked: std::collections::BTreeSet<(String, String)> = locked
            .pins
            .into_iter()
            .map(|pin| (strata_conda::normalize(&pin.name), pin.version))
            .collect();
        let installed: std::collections::BTreeSet<(String, String)> =
            pip_installed(&facts, environment)
                .into_iter()
                .map(|package| (strata_conda::normalize(&package.name), package.version))
                .collect();
        for (name, version) in installed.difference(&locked) {
            changes.push(format!(
                "+ pip {name}=={version} is installed but not in `{}`",
                pip_lock.display()
            ));
        }
        for (name, version) in locked.difference(&installed) {
            changes.push(format!(
                "- pip {name}=={version} is in `{}` but not installed",
                pip_lock.display()
            ));
        }
    }
    let lock_path = output.display().to_string();
    if changes.is_empty() {
        printer.info(&format!(
            "`{image}` holds exactly `{lock_path}` in {}",
            environment.path()
        ));
    } else {
        printer.info(&format!(
            "`{image}` does not hold `{lock_path}` ({} in {}):",
            crate::output::counted(changes.len(), "difference", "differences"),
            environment.path()
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
            let facts = inspect(session, &base, options.registry)?;
            let packages = installed_packages(choose_environment(&facts, None)?);
            Ok((base, packages))
        })
        .transpose()?;
    let image = options
        .image
        .as_deref()
        .map(|image| image_target(session, image, options.registry))
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
    let client = strata_conda::RepodataClient::new(
        session.caches().conda_channels(),
        options.offline,
        session.handle()?,
    )?;
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

/// The conda lock settings of image `id` from `[images.NAME.conda]`, or `None` when it has
/// none: solved on top of its nearest ancestor's conda lock.
pub(crate) fn layer_conda_settings(
    repository: &strata_repo::Repository,
    id: usize,
    options: &LockRunSettings,
) -> anyhow::Result<Option<(PathBuf, strata_conda::CondaLockSettings)>> {
    let config = |id: usize| {
        repository
            .config
            .images
            .get(&repository.layers[id].name)
            .and_then(|image| image.conda.clone())
    };
    let Some(conda) = config(id) else {
        return Ok(None);
    };
    let paths = |id: usize, conda: &strata_repo::CondaLockConfig| {
        let directory = repository.root.join(&repository.layers[id].directory);
        let environment = directory.join(&conda.environment);
        let output = conda.output.as_ref().map_or_else(
            || environment.with_extension("lock"),
            |output| directory.join(output),
        );
        (environment, output)
    };
    let (environment, output) = paths(id, &conda);
    let mut base = None;
    let mut ancestor = repository.layers[id].parent;
    while let Some(parent) = ancestor {
        if let Some(parent_config) = config(parent) {
            let (_, parent_lock) = paths(parent, &parent_config);
            let lock = strata_conda::read_lock(&parent_lock).with_context(|| {
                format!(
                    "`{}` is solved on top of its parent `{}`'s lock: lock the parent first",
                    repository.layers[id].name, repository.layers[parent].name
                )
            })?;
            let mut packages = strata_conda::locked_packages(&lock);
            // The parent's own base, recursively named by its header.
            let mut below = lock
                .header
                .base_lock
                .clone()
                .map(|relative| parent_lock.parent().unwrap_or(Path::new("")).join(relative));
            while let Some(path) = below {
                let lower = strata_conda::read_lock(&path)?;
                packages.extend(strata_conda::locked_packages(&lower));
                below = lower
                    .header
                    .base_lock
                    .clone()
                    .map(|relative| path.parent().unwrap_or(Path::new("")).join(relative));
            }
            let relative = pathdiff(&parent_lock, output.parent().unwrap_or(Path::new("")));
            base = Some((strata_conda::BaseOrigin::Lock(relative), packages));
            break;
        }
        ancestor = repository.layers[parent].parent;
    }
    let target = strata_conda::CondaTarget::new(
        conda.platform.as_deref().unwrap_or("linux-64"),
        conda.glibc.as_deref(),
        conda.cuda.as_deref(),
    )?;
    Ok(Some((
        environment.clone(),
        strata_conda::CondaLockSettings {
            environment,
            output,
            target,
            exclude_newer: conda
                .exclude_newer
                .clone()
                .or_else(|| options.exclude_newer.clone()),
            upgrade: options.upgrade.clone(),
            base,
            regenerate: Some(
                "strata lock (in the repository: strata.toml's [images.NAME.conda])".to_string(),
            ),
        },
    )))
}

/// `path` relative to `directory` (both under the repository), `/`-separated.
fn pathdiff(path: &Path, directory: &Path) -> String {
    let path: Vec<_> = path.components().collect();
    let directory: Vec<_> = directory.components().collect();
    let common = path
        .iter()
        .zip(&directory)
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<String> = vec!["..".to_string(); directory.len() - common];
    parts.extend(
        path[common..]
            .iter()
            .map(|component| component.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
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
