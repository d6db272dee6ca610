//! Solving an environment file for a target and writing (or checking) its lock.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use rattler_conda_types::{PackageRecord, RepoDataRecord};
use rattler_solve::{resolvo::Solver, SolveError, SolverImpl, SolverTask};
use url::Url;

use crate::environment::{read_environment, Environment};
use crate::error::CondaError;
use crate::explicit::{read_lock, write_lock, CondaLock, LockHeader};
use crate::installed::InstalledPackage;
use crate::python::{python_of, CondaPython};
use crate::repodata::{RepodataClient, SparseRepodata};
use crate::target::CondaTarget;

/// Which pins of an existing lock may move: the same choice as for Python locks.
pub use strata_pylock::Upgrade;

/// One lock to make or check.
#[derive(Debug, Clone)]
pub struct CondaLockSettings {
    pub environment: PathBuf,
    pub output: PathBuf,
    pub target: CondaTarget,
    /// Ignore packages uploaded after this date (`2024-05-01` or RFC 3339).
    pub exclude_newer: Option<String>,
    pub upgrade: Upgrade,
    /// `--base`: what this environment is installed on top of (a parent image's environment,
    /// or in a repository the parent image's lock), and its packages, which the solve keeps
    /// exactly and the lock leaves out.
    pub base: Option<(BaseOrigin, Vec<InstalledPackage>)>,
    /// The command that regenerates the lock, when not `strata lock <environment>`.
    pub regenerate: Option<String>,
}

/// Where the packages a lock is solved on top of come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseOrigin {
    /// A built image (`--base IMAGE`).
    Image(String),
    /// The parent image's lock file, as the lock names it (repository mode).
    Lock(String),
}

/// What locking or checking did, and the Python the solve chose (for the `pip:` section).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locked {
    pub outcome: CondaOutcome,
    pub python: Option<CondaPython>,
}

/// What locking did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CondaOutcome {
    /// The lock was written: how many packages, and what changed from the previous lock.
    Written {
        packages: usize,
        changes: Vec<String>,
    },
    /// `--check`: the lock is what solving gives now.
    UpToDate,
    /// `--check`: what differs.
    Drifted(Vec<String>),
}

/// A date or time a user gave (`2024-05-01`, or RFC 3339), read by the one date reader strata
/// has (strata-pylock's, as `--exclude-newer` of requirements locks reads it).
fn parse_date(text: &str) -> Result<jiff::Timestamp, CondaError> {
    let error = || CondaError::Date {
        text: text.to_string(),
    };
    let normalized = strata_pylock::normalize_date(text).map_err(|_| error())?;
    normalized.parse::<jiff::Timestamp>().map_err(|_| error())
}

/// The records the environment's channels offer for the target, one list per channel, in
/// priority order: those of every name the specs (and `also`, the names of a base or of the
/// previous lock) reach through dependencies, in any channel.
fn available(
    environment: &Environment,
    target: &CondaTarget,
    client: &RepodataClient,
    also: impl IntoIterator<Item = String>,
) -> Result<Vec<Vec<RepoDataRecord>>, CondaError> {
    let channels: Vec<Vec<SparseRepodata>> = client.runtime().block_on(async {
        let fetches = environment
            .channels
            .iter()
            .map(|channel| client.records(channel, target.platform));
        futures_util::future::join_all(fetches)
            .await
            .into_iter()
            .collect::<Result<_, _>>()
    })?;
    let mut reached: BTreeSet<String> = also.into_iter().collect();
    for spec in &environment.specs {
        match spec.name.as_exact() {
            Some(name) => {
                reached.insert(name.as_normalized().to_string());
            }
            // A glob or regex: every name of the channels it matches.
            None => reached.extend(
                channels
                    .iter()
                    .flatten()
                    .flat_map(SparseRepodata::names)
                    .filter(|name| {
                        rattler_conda_types::PackageName::try_from(name.as_str())
                            .is_ok_and(|name| spec.name.matches(&name))
                    })
                    .cloned(),
            ),
        }
    }
    let mut queue: Vec<String> = reached.iter().cloned().collect();
    while let Some(name) = queue.pop() {
        for subdir in channels.iter().flatten() {
            for dependency in subdir.dependencies_of(&name)? {
                if !dependency.starts_with("__") && reached.insert(dependency.clone()) {
                    queue.push(dependency);
                }
            }
        }
    }
    channels
        .iter()
        .map(|subdirs| {
            let mut records = Vec::new();
            for subdir in subdirs {
                records.extend(subdir.select(&reached)?);
            }
            Ok(records)
        })
        .collect()
}

/// Solve the environment; `previous` are the pins to keep where the specs allow. Returns every
/// record of the solution, the base image's included.
fn solve(
    environment: &Environment,
    settings: &CondaLockSettings,
    previous: &CondaLock,
    client: &RepodataClient,
) -> Result<Vec<RepoDataRecord>, CondaError> {
    let also: Vec<String> = previous
        .packages
        .iter()
        .map(|url| {
            let label = CondaLock::package_label(url);
            label.rsplitn(3, '-').nth(2).unwrap_or_default().to_string()
        })
        .chain(
            settings
                .base
                .iter()
                .flat_map(|(_, packages)| packages)
                .map(|package| package.name.clone()),
        )
        .collect();
    let channels = available(environment, &settings.target, client, also)?;
    // The channel's own record when it has the package (full dependencies), else the record
    // the image or lock gives.
    let by_url: BTreeMap<String, &RepoDataRecord> = channels
        .iter()
        .flatten()
        .map(|record| (without_fragment(&record.url), record))
        .collect();
    let base: Vec<RepoDataRecord> = settings
        .base
        .iter()
        .flat_map(|(_, packages)| packages)
        .map(|package| {
            match package
                .url
                .as_deref()
                .and_then(|url| Url::parse(url).ok())
                .and_then(|url| by_url.get(&without_fragment(&url)))
            {
                Some(record) => Ok(RepoDataRecord::clone(record)),
                None => package.to_record(),
            }
        })
        .collect::<Result<_, _>>()?;
    let previous_urls: BTreeSet<String> = previous.packages.iter().map(without_fragment).collect();
    let keep = |record: &RepoDataRecord| match &settings.upgrade {
        Upgrade::All => false,
        Upgrade::Nothing => true,
        Upgrade::Packages(names) => !names.contains(record.package_record.name.as_normalized()),
    };
    let locked: Vec<&RepoDataRecord> = channels
        .iter()
        .flatten()
        .filter(|record| previous_urls.contains(&without_fragment(&record.url)) && keep(record))
        .collect();
    let mut task: SolverTask<_> = channels
        .iter()
        .map(|records| records.iter().collect::<Vec<_>>())
        .chain(std::iter::once(base.iter().collect()))
        .collect();
    task.specs.clone_from(&environment.specs);
    // The base's packages are installed already: each stays exactly as it is.
    for record in &base {
        let spec = format!(
            "{} =={} {}",
            record.package_record.name.as_normalized(),
            record.package_record.version,
            record.package_record.build
        );
        task.specs.push(
            rattler_conda_types::MatchSpec::from_str(
                &spec,
                rattler_conda_types::ParseStrictness::Lenient,
            )
            .map_err(|error| CondaError::Installed {
                package: spec.clone(),
                message: error.to_string(),
            })?,
        );
    }
    task.pinned_packages = base.iter().collect();
    task.virtual_packages = settings.target.virtual_packages()?;
    task.locked_packages = locked;
    if let Some(date) = &settings.exclude_newer {
        task.exclude_newer = Some(parse_date(date)?.into());
    }
    let solved = Solver.solve(task).map_err(|error| match error {
        SolveError::Unsolvable(conflict) => CondaError::Unsolvable {
            target: settings.target.describe(),
            conflict: conflict.join("\n"),
        },
        other => CondaError::Solver {
            message: other.to_string(),
        },
    })?;
    Ok(PackageRecord::sort_topologically(solved.records))
}

fn without_fragment(url: &Url) -> String {
    let mut url = url.clone();
    url.set_fragment(None);
    url.to_string()
}

fn header(settings: &CondaLockSettings) -> LockHeader {
    LockHeader {
        environment: settings.environment.display().to_string(),
        platform: settings.target.platform.to_string(),
        glibc: settings.target.glibc.clone(),
        cuda: settings.target.cuda.clone(),
        exclude_newer: settings.exclude_newer.clone(),
        base: match &settings.base {
            Some((BaseOrigin::Image(image), _)) => Some(image.clone()),
            _ => None,
        },
        base_lock: match &settings.base {
            Some((BaseOrigin::Lock(lock), _)) => Some(lock.clone()),
            _ => None,
        },
        regenerate: settings.regenerate.clone(),
    }
}

/// `python 3.11.6 → 3.11.7`, `+ numpy 1.26.4`, `- six 1.16.0`: the packages that differ.
fn differences(before: &CondaLock, after: &CondaLock) -> Vec<String> {
    let versions = |lock: &CondaLock| -> BTreeMap<String, String> {
        lock.packages
            .iter()
            .map(|url| {
                let label = CondaLock::package_label(url);
                // name-version-build: the name may hold dashes, version and build do not.
                let mut parts = label.rsplitn(3, '-');
                let build = parts.next().unwrap_or_default();
                let version = parts.next().unwrap_or_default();
                let name = parts.next().unwrap_or_default();
                (name.to_string(), format!("{version} ({build})"))
            })
            .collect()
    };
    let (old, new) = (versions(before), versions(after));
    let mut changes = Vec::new();
    for (name, version) in &new {
        match old.get(name) {
            None => changes.push(format!("+ {name} {version}")),
            Some(previous) if previous != version => {
                changes.push(format!("{name} {previous} → {version}"));
            }
            Some(_) => {}
        }
    }
    for (name, version) in &old {
        if !new.contains_key(name) {
            changes.push(format!("- {name} {version}"));
        }
    }
    // Same packages from another URL (a channel moved) or with another hash.
    let urls = |lock: &CondaLock| -> BTreeSet<String> {
        lock.packages.iter().map(ToString::to_string).collect()
    };
    if changes.is_empty() && urls(before) != urls(after) {
        for url in urls(after).difference(&urls(before)) {
            changes.push(format!("~ {url}"));
        }
    }
    if before.header.platform != after.header.platform || before.header.glibc != after.header.glibc
    {
        changes.push(format!(
            "target {}{} → {}{}",
            before.header.platform,
            before
                .header
                .glibc
                .as_ref()
                .map(|glibc| format!(" (glibc {glibc})"))
                .unwrap_or_default(),
            after.header.platform,
            after
                .header
                .glibc
                .as_ref()
                .map(|glibc| format!(" (glibc {glibc})"))
                .unwrap_or_default(),
        ));
    }
    changes
}

fn relock(
    settings: &CondaLockSettings,
    client: &RepodataClient,
) -> Result<(CondaLock, CondaLock, Option<CondaPython>), CondaError> {
    let environment = read_environment(&settings.environment)?;
    let previous = if settings.output.exists() {
        read_lock(&settings.output)?
    } else {
        CondaLock::default()
    };
    let records = solve(&environment, settings, &previous, client)?;
    let python = python_of(records.iter().map(|record| &record.package_record));
    let in_base: BTreeSet<String> = settings
        .base
        .iter()
        .flat_map(|(_, packages)| packages)
        .map(InstalledPackage::label)
        .collect();
    let lock = CondaLock {
        header: header(settings),
        packages: records
            .iter()
            .filter(|record| {
                let package = &record.package_record;
                !in_base.contains(&format!(
                    "{}-{}-{}",
                    package.name.as_normalized(),
                    package.version,
                    package.build
                ))
            })
            .map(CondaLock::package_url)
            .collect(),
    };
    Ok((previous, lock, python))
}

/// Solve and write the lock (atomically).
pub fn lock(
    settings: &CondaLockSettings,
    client: &RepodataClient,
) -> Result<CondaOutcome, CondaError> {
    lock_environment(settings, client).map(|locked| locked.outcome)
}

/// Solve keeping the lock's pins and say whether the lock is what that gives; writes nothing.
pub fn check(
    settings: &CondaLockSettings,
    client: &RepodataClient,
) -> Result<CondaOutcome, CondaError> {
    check_environment(settings, client).map(|locked| locked.outcome)
}

/// [`lock`], also giving the Python the solve chose.
pub fn lock_environment(
    settings: &CondaLockSettings,
    client: &RepodataClient,
) -> Result<Locked, CondaError> {
    let (previous, lock, python) = relock(settings, client)?;
    let changes = if previous.packages.is_empty() {
        Vec::new()
    } else {
        differences(&previous, &lock)
    };
    write_lock(&settings.output, &lock)?;
    Ok(Locked {
        outcome: CondaOutcome::Written {
            packages: lock.packages.len(),
            changes,
        },
        python,
    })
}

/// [`check`], also giving the Python the solve chose.
pub fn check_environment(
    settings: &CondaLockSettings,
    client: &RepodataClient,
) -> Result<Locked, CondaError> {
    if !settings.output.exists() {
        return Ok(Locked {
            outcome: CondaOutcome::Drifted(vec![format!(
                "`{}` does not exist",
                settings.output.display()
            )]),
            python: None,
        });
    }
    let (previous, lock, python) = relock(settings, client)?;
    let drift = differences(&previous, &lock);
    Ok(Locked {
        outcome: if drift.is_empty() {
            CondaOutcome::UpToDate
        } else {
            CondaOutcome::Drifted(drift)
        },
        python,
    })
}
