//! `strata lock`: hash-pinned Python locks for one requirements file, or for every image of a
//! repository that configures `[images.NAME.lock]`; `strata lock fetch`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use strata_pylock::{ClientOptions, IndexClient, LockOutcome, LockSettings, Target, Upgrade};

use crate::exit_status::ExitStatus;
use crate::printer::Printer;
use crate::settings::{FetchSettings, LockCommandSettings, LockRunSettings};
use strata_session::Session;

/// The default platform when neither a flag, an image nor an existing lock says.
const DEFAULT_PLATFORM: &str = "manylinux_2_28_x86_64";

pub fn lock(
    settings: &LockCommandSettings,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    match settings {
        LockCommandSettings::Fetch(fetch_settings) => fetch(fetch_settings, session, printer),
        LockCommandSettings::Lock(options) => match &options.requirements {
            Some(requirements) if is_environment_file(requirements) => {
                crate::commands::conda::lock_environment(options, session, requirements, printer)
            }
            Some(requirements) => lock_one(options, session, requirements.clone(), printer),
            None => match lone_lock(&options.repository) {
                Some(file) if is_environment_file(&file) => {
                    crate::commands::conda::lock_environment(options, session, &file, printer)
                }
                Some(file) => lock_one(options, session, file, printer),
                None => lock_repository(options, session, printer),
            },
        },
    }
}

/// Outside a repository (no `strata.toml`), the input of the one lock a directory holds:
/// `requirements.txt` beside `requirements.lock` (the phys-398 layout), else `environment.yml`
/// beside `environment.lock`.
fn lone_lock(directory: &Path) -> Option<PathBuf> {
    if directory.join("strata.toml").exists() {
        return None;
    }
    [
        ("requirements.txt", "requirements.lock"),
        ("environment.yml", "environment.lock"),
    ]
    .iter()
    .find(|(input, lock)| directory.join(input).is_file() && directory.join(lock).is_file())
    .map(|(input, _)| {
        if directory == Path::new(".") {
            PathBuf::from(input)
        } else {
            directory.join(input)
        }
    })
}

pub fn client(session: &Session, offline: bool) -> anyhow::Result<IndexClient> {
    Ok(IndexClient::new(ClientOptions {
        runtime: session.handle()?,
        cache_dir: Some(session.caches().package_index()),
        offline,
        concurrency: 32,
    })?)
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

/// A conda environment file (`environment.yml`), not a requirements file.
fn is_environment_file(path: &Path) -> bool {
    path.extension()
        .is_some_and(|extension| extension == "yml" || extension == "yaml")
}

/// `requirements.txt` → `requirements.lock`.
pub fn default_output(requirements: &Path) -> PathBuf {
    requirements.with_extension("lock")
}

/// The target: flags, then `--image`, then the existing lock's header.
fn resolve_target(
    options: &LockRunSettings,
    output: &Path,
    image: Option<&ImageTarget>,
) -> anyhow::Result<Target> {
    let existing = strata_pylock::read_lock_if_present(output)?;
    let python = options
        .python_version
        .clone()
        .or_else(|| image.map(|image| image.python.clone()))
        .or_else(|| {
            existing
                .as_ref()
                .map(|lock| lock.header.python.clone())
                .filter(|python| !python.is_empty())
        })
        .ok_or_else(|| match &existing {
            Some(_) => strata_pylock::LockError::NoTarget {
                path: output.to_path_buf(),
            },
            None => strata_pylock::LockError::UnknownPython,
        })?;
    let platform = options
        .platform
        .clone()
        .or_else(|| image.map(|image| image.platform.clone()))
        .or_else(|| {
            existing
                .as_ref()
                .map(|lock| lock.header.platform.clone())
                .filter(|platform| !platform.is_empty())
        })
        .unwrap_or_else(|| DEFAULT_PLATFORM.to_string());
    Ok(Target::new(&python, &platform)?)
}

/// What an image says about its Python: interpreter version and platform.
struct ImageTarget {
    python: String,
    platform: String,
}

pub fn inspect(
    session: &Session,
    reference: &str,
    registry: bool,
) -> anyhow::Result<strata_inspect::ImageFacts> {
    let cache = session.caches().layers();
    session.block_on(async {
        let facts = if registry {
            strata_inspect::inspect_registry_with(session.registry(), reference, &cache).await
        } else {
            let engine = session.engine(strata_engine::BuilderKind::BuildKit).await?;
            strata_inspect::inspect_local(&*engine, reference, &cache).await
        };
        facts.with_context(|| format!("cannot inspect `{reference}`"))
    })?
}

/// The interpreter, C library and architecture of a built image.
fn image_target(session: &Session, reference: &str, registry: bool) -> anyhow::Result<ImageTarget> {
    let facts = inspect(session, reference, registry)?;
    let python = facts
        .python
        .default
        .as_ref()
        .map(|python| python.version.clone())
        .with_context(|| format!("`{reference}` has no `python3` or `python` on its PATH"))?;
    let libc6 = facts
        .deb_packages
        .iter()
        .find(|package| package.name == "libc6")
        .map(|package| package.version.as_str());
    let platform = strata_pylock::image_platform(
        facts.image.architecture.as_deref(),
        libc6,
        facts.os_release.as_ref().map(|os| os.id.as_str()),
    );
    Ok(ImageTarget { python, platform })
}

/// (normalized name, site directory) in the base interpreter's search order.
type BaseSources = Vec<(String, String)>;

/// What the base image's default interpreter imports (normalized name to version), and where
/// each comes from, in its `sys.path` order: the first directory holding a distribution wins.
fn base_distributions(
    session: &Session,
    reference: &str,
    registry: bool,
) -> anyhow::Result<(BTreeMap<String, String>, BaseSources)> {
    let facts = inspect(session, reference, registry)?;
    let mut distributions = BTreeMap::new();
    let mut sources = Vec::new();
    for found in facts.python.importable() {
        let name = strata_inspect::normalize_python_name(&found.package.name);
        distributions.insert(name.clone(), found.package.version.clone());
        sources.push((name, found.directory.to_string()));
    }
    Ok((distributions, sources))
}

/// Lock or check one file; returns whether it drifted (for `--check`).
pub(crate) fn run_one(
    settings: &LockSettings,
    options: &LockRunSettings,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<bool> {
    let (check, json) = (options.check, options.json);
    let client = client(session, options.offline)?;
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
    let output = options
        .output
        .clone()
        .unwrap_or_else(|| default_output(&requirements));
    let image = options
        .image
        .as_deref()
        .map(|image| image_target(session, image, options.registry))
        .transpose()?;
    let target = resolve_target(options, &output, image.as_ref())?;
    // `--base`, else the base the existing lock was made on (so `--check` needs no flags).
    let base_image = match &options.base {
        Some(base) => Some(base.clone()),
        None => {
            strata_pylock::read_lock_if_present(&output)?.and_then(|lock| lock.header.base_image)
        }
    };
    let (base, base_sources) = base_image
        .as_deref()
        .map(|base| base_distributions(session, base, options.registry))
        .transpose()?
        .unwrap_or_default();
    let settings = LockSettings {
        requirements,
        output,
        target,
        exclude_newer: options.exclude_newer.clone(),
        no_binary: options.no_binary.iter().cloned().collect(),
        upgrade: options.upgrade.clone(),
        base,
        base_sources,
        base_image,
        index_url: options.index_url.clone(),
        requirements_text: None,
        command: None,
    };
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
    let depth = |mut id: usize| {
        let mut depth = 0;
        while let Some(parent) = repository.layers[id].parent {
            depth += 1;
            id = parent;
        }
        depth
    };
    let mut order: Vec<usize> = (0..repository.layers.len()).collect();
    order.sort_by_key(|id| (depth(*id), *id));
    let configured = |id: usize| {
        repository
            .config
            .images
            .get(&repository.layers[id].name)
            .is_some_and(|image| image.lock.is_some() || image.conda.is_some())
    };
    if !order.iter().any(|id| configured(*id)) {
        anyhow::bail!(
            "no image of `{}` configures `[images.NAME.lock]` or `[images.NAME.conda]` in `strata.toml`; give a requirements or environment file",
            options.repository.display()
        );
    }
    let mut any_drift = false;
    for id in order {
        if let Some((environment, settings)) =
            crate::commands::conda::layer_conda_settings(&repository, id, options)?
        {
            any_drift |= crate::commands::conda::run_environment(
                options,
                session,
                &environment,
                &settings,
                printer,
            )
            .with_context(|| format!("in image `{}`", repository.layers[id].name))?;
        }
        let Some(settings) = layer_lock_settings(
            &repository,
            id,
            &LockDefaults {
                exclude_newer: options.exclude_newer.clone(),
                no_binary: options.no_binary.clone(),
                index_url: options.index_url.clone(),
                upgrade: options.upgrade.clone(),
            },
        )?
        else {
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

/// What the command line adds to every configured lock.
pub struct LockDefaults {
    pub exclude_newer: Option<String>,
    pub no_binary: Vec<String>,
    pub index_url: Option<String>,
    pub upgrade: Upgrade,
}

/// The lock settings of image `id` from `[images.NAME.lock]`, or `None` when it has none. What
/// its nearest locked ancestor's lock file pins (and that lock's own base) is installed
/// already: the base of this lock. Parents must be locked first for that file to be current.
pub fn layer_lock_settings(
    repository: &strata_repo::Repository,
    id: usize,
    defaults: &LockDefaults,
) -> anyhow::Result<Option<LockSettings>> {
    let config = |id: usize| {
        repository
            .config
            .images
            .get(&repository.layers[id].name)
            .and_then(|image| image.lock.clone())
    };
    let Some(lock_config) = config(id) else {
        return Ok(None);
    };
    let output_of = |id: usize, lock_config: &strata_repo::LockConfig| {
        let directory = repository.root.join(&repository.layers[id].directory);
        let requirements = directory.join(&lock_config.requirements);
        let output = lock_config.output.as_ref().map_or_else(
            || default_output(&requirements),
            |output| directory.join(output),
        );
        (requirements, output)
    };
    let (requirements, output) = output_of(id, &lock_config);
    let mut base = BTreeMap::new();
    let mut base_sources = Vec::new();
    let mut ancestor = repository.layers[id].parent;
    while let Some(parent) = ancestor {
        if let Some(parent_config) = config(parent) {
            let (_, parent_lock_path) = output_of(parent, &parent_config);
            if let Some(parent_lock) = strata_pylock::read_lock_if_present(&parent_lock_path)? {
                let shown = parent_lock_path
                    .strip_prefix(&repository.root)
                    .unwrap_or(&parent_lock_path)
                    .display()
                    .to_string();
                base_sources.extend(
                    parent_lock
                        .pins
                        .iter()
                        .map(|pin| (pin.name.clone(), shown.clone())),
                );
                base_sources.extend(parent_lock.header.base_sources);
                base.extend(parent_lock.base);
                base.extend(
                    parent_lock
                        .pins
                        .into_iter()
                        .map(|pin| (pin.name, pin.version)),
                );
            }
            break;
        }
        ancestor = repository.layers[parent].parent;
    }
    Ok(Some(LockSettings {
        requirements,
        output,
        target: Target::new(&lock_config.python, &lock_config.platform)?,
        exclude_newer: lock_config
            .exclude_newer
            .clone()
            .or_else(|| defaults.exclude_newer.clone()),
        no_binary: lock_config
            .no_binary
            .iter()
            .chain(&defaults.no_binary)
            .cloned()
            .collect(),
        upgrade: defaults.upgrade.clone(),
        base,
        base_sources,
        base_image: None,
        index_url: defaults.index_url.clone(),
        requirements_text: None,
        command: None,
    }))
}

fn fetch(
    arguments: &FetchSettings,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let client = client(session, arguments.offline)?;
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
