//! Each image's lock settings from `strata.toml`, on top of its nearest locked ancestor: what
//! the parent's lock pins is installed already, so the child's lock keeps it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use strata_pylock::{LockSettings, Target, Upgrade};

use crate::LockingError;

/// What the command line adds to every configured lock.
pub struct LockDefaults {
    pub exclude_newer: Option<String>,
    pub no_binary: Vec<String>,
    pub index_url: Option<String>,
    pub upgrade: Upgrade,
}

impl From<&crate::requests::LockRequest> for LockDefaults {
    fn from(request: &crate::requests::LockRequest) -> Self {
        Self {
            exclude_newer: request.exclude_newer.clone(),
            no_binary: request.no_binary.clone(),
            index_url: request.index_url.clone(),
            upgrade: request.upgrade.clone(),
        }
    }
}

/// The lock settings of image `id` from `[images.NAME.lock]`, or `None` when it has none. What
/// its nearest locked ancestor's lock file pins (and that lock's own base) is installed
/// already: the base of this lock. Parents must be locked first for that file to be current.
pub fn layer_lock_settings(
    repository: &strata_repo::Repository,
    id: usize,
    defaults: &LockDefaults,
) -> Result<Option<LockSettings>, LockingError> {
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
            || crate::conventions::default_output(&requirements),
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

/// The conda lock settings of image `id` from `[images.NAME.conda]`, or `None` when it has
/// none: solved on top of its nearest ancestor's conda lock.
pub fn layer_conda_settings(
    repository: &strata_repo::Repository,
    id: usize,
    defaults: &LockDefaults,
) -> Result<Option<(PathBuf, strata_conda::CondaLockSettings)>, LockingError> {
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
            let lock = strata_conda::read_lock(&parent_lock).map_err(|source| {
                LockingError::ParentNotLocked {
                    image: repository.layers[id].name.clone(),
                    parent: repository.layers[parent].name.clone(),
                    source: Box::new(source),
                }
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
            let relative = crate::conventions::relative_path(
                &parent_lock,
                output.parent().unwrap_or(Path::new("")),
            );
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
                .or_else(|| defaults.exclude_newer.clone()),
            upgrade: defaults.upgrade.clone(),
            base,
            regenerate: Some(
                "strata lock (in the repository: strata.toml's [images.NAME.conda])".to_string(),
            ),
        },
    )))
}

/// The images with `[images.NAME.lock]` or `[images.NAME.conda]`, parents before children (so
/// each parent's lock is current when its children are locked on top of it).
pub fn locked_images_parents_first(repository: &strata_repo::Repository) -> Vec<usize> {
    let depth = |mut id: usize| {
        let mut depth = 0;
        while let Some(parent) = repository.layers[id].parent {
            depth += 1;
            id = parent;
        }
        depth
    };
    let configured = |id: &usize| {
        repository
            .config
            .images
            .get(&repository.layers[*id].name)
            .is_some_and(|image| image.lock.is_some() || image.conda.is_some())
    };
    let mut order: Vec<usize> = (0..repository.layers.len()).filter(configured).collect();
    order.sort_by_key(|id| (depth(*id), *id));
    order
}

/// The requirements locks that exist, as `strata outdated` checks them: every configured
/// `[images.NAME.lock]` whose lock file is there, else a `requirements.lock` beside an image's
/// `requirements.txt`; outside a repository, the one in `directory`. Nothing is upgraded
/// beyond what each lock's own settings allow.
pub fn existing_locks(
    repository: Option<&strata_repo::Repository>,
    directory: &Path,
) -> Result<Vec<LockSettings>, LockingError> {
    let mut locks = Vec::new();
    let defaults = LockDefaults {
        exclude_newer: None,
        no_binary: Vec::new(),
        index_url: None,
        upgrade: Upgrade::All,
    };
    let Some(repository) = repository else {
        let requirements = directory.join("requirements.txt");
        return Ok(lock_beside(&requirements)?.into_iter().collect());
    };
    for id in 0..repository.layers.len() {
        if let Some(lock) = layer_lock_settings(repository, id, &defaults)? {
            if lock.output.is_file() {
                locks.push(lock);
            }
        } else {
            // No lock configured: a `requirements.lock` beside the image's
            // `requirements.txt` says its own target.
            let requirements = repository
                .root
                .join(&repository.layers[id].directory)
                .join("requirements.txt");
            locks.extend(lock_beside(&requirements)?);
        }
    }
    Ok(locks)
}

/// A `requirements.lock` beside its `requirements.txt`: its header says its target.
fn lock_beside(requirements: &Path) -> Result<Option<LockSettings>, LockingError> {
    let output = crate::conventions::default_output(requirements);
    if !requirements.is_file() || !output.is_file() {
        return Ok(None);
    }
    let Some(lock) = strata_pylock::read_lock_if_present(&output)? else {
        return Ok(None);
    };
    if lock.header.python.is_empty() {
        return Ok(None);
    }
    Ok(Some(LockSettings {
        requirements: requirements.to_path_buf(),
        output,
        target: Target::new(&lock.header.python, &lock.header.platform)?,
        exclude_newer: None,
        no_binary: lock.header.no_binary.iter().cloned().collect(),
        upgrade: Upgrade::All,
        base: lock.base.into_iter().collect(),
        base_sources: lock.header.base_sources,
        base_image: lock.header.base_image,
        index_url: lock.header.index_url.clone(),
        requirements_text: None,
        command: None,
    }))
}
