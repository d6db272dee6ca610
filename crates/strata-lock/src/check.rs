//! `strata lock --check --image`: whether a built image's conda environment holds exactly its
//! lock, beside what its base installed, and what pip installed against the `pip:` lock.

use std::collections::BTreeSet;
use std::path::Path;

use strata_session::Session;

use crate::conventions::pip_lock_path;
use crate::images::{image_facts, installed_packages, pip_installed};
use crate::LockingError;

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageLockCheck {
    /// The image's environment closest to the lock.
    pub environment: String,
    /// `+`/`-` lines: packages not as the lock says; empty when the image holds the lock.
    pub changes: Vec<String>,
}

/// Compare the image `image` (on the session's engine, or its registry with `registry`) with
/// the conda lock at `lock_path` and its `pip:` lock beside it.
pub fn check_image_against_lock(
    session: &Session,
    lock_path: &Path,
    image: &str,
    registry: bool,
) -> Result<ImageLockCheck, LockingError> {
    let lock = strata_conda::read_lock(lock_path).map_err(|source| LockingError::CheckImage {
        image: image.to_string(),
        source: Box::new(source),
    })?;
    let facts = image_facts(session, image, registry)?;
    let mut base: BTreeSet<String> = match &lock.header.base {
        Some(base) => image_facts(session, base, registry)?
            .conda
            .iter()
            .flat_map(installed_packages)
            .map(|package| package.label())
            .collect(),
        None => BTreeSet::new(),
    };
    let mut below = lock
        .header
        .base_lock
        .clone()
        .map(|relative| lock_path.parent().unwrap_or(Path::new("")).join(relative));
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
    // The environment closest to the lock.
    let Some((environment, mut changes)) = facts
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
    else {
        return Err(LockingError::NoCondaEnvironment {
            reference: image.to_string(),
        });
    };
    // What pip installed, against the `pip:` section's lock when there is one.
    let pip_lock = pip_lock_path(lock_path);
    if let Some(locked) = strata_pylock::read_lock_if_present(&pip_lock)? {
        let locked: BTreeSet<(String, String)> = locked
            .pins
            .into_iter()
            .map(|pin| (strata_conda::normalize(&pin.name), pin.version))
            .collect();
        let installed: BTreeSet<(String, String)> = pip_installed(&facts, environment)
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
    Ok(ImageLockCheck {
        environment: environment.path().clone(),
        changes,
    })
}
