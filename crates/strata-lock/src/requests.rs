//! A lock's settings as the command line, an image and the existing lock decide them: flags
//! first, then what `--image` says, then the existing lock's header.

use std::path::{Path, PathBuf};

use strata_pylock::{LockSettings, Upgrade};
use strata_session::Session;

use crate::conventions::{
    default_output, pip_lock_path, pip_requirements, requirements_target, wheel_platform,
};
use crate::images::{
    choose_environment, conda_platform, glibc_of, image_facts, importable_distributions,
    installed_packages, python_target,
};
use crate::LockingError;

/// What the command line asks of one lock.
#[derive(Debug, Clone)]
pub struct LockRequest {
    /// `-o`: where the lock goes (default: beside its input).
    pub output: Option<PathBuf>,
    pub python_version: Option<String>,
    pub platform: Option<String>,
    pub glibc: Option<String>,
    pub cuda: Option<String>,
    /// `--image`: the target read from a built image.
    pub image: Option<String>,
    /// `--base`: what that image installed is kept as it is.
    pub base: Option<String>,
    /// Images are read from their registry rather than the engine.
    pub registry: bool,
    pub no_binary: Vec<String>,
    pub exclude_newer: Option<String>,
    pub upgrade: Upgrade,
    pub index_url: Option<String>,
}

/// The settings of a requirements file's lock: the target from the flags, `--image` or the
/// existing lock; the base from `--base`, else the base the existing lock was made on (so
/// `--check` needs no flags).
pub fn requirements_settings(
    session: &Session,
    request: &LockRequest,
    requirements: PathBuf,
) -> Result<LockSettings, LockingError> {
    let output = request
        .output
        .clone()
        .unwrap_or_else(|| default_output(&requirements));
    let image = request
        .image
        .as_deref()
        .map(|image| python_target(image, &image_facts(session, image, request.registry)?))
        .transpose()?;
    let target = requirements_target(
        request.python_version.as_deref(),
        request.platform.as_deref(),
        &output,
        image.as_ref(),
    )?;
    let base_image = match &request.base {
        Some(base) => Some(base.clone()),
        None => {
            strata_pylock::read_lock_if_present(&output)?.and_then(|lock| lock.header.base_image)
        }
    };
    let (base, base_sources) = base_image
        .as_deref()
        .map(|base| -> Result<_, LockingError> {
            Ok(importable_distributions(&image_facts(
                session,
                base,
                request.registry,
            )?))
        })
        .transpose()?
        .unwrap_or_default();
    Ok(LockSettings {
        requirements,
        output,
        target,
        exclude_newer: request.exclude_newer.clone(),
        no_binary: request.no_binary.iter().cloned().collect(),
        upgrade: request.upgrade.clone(),
        base,
        base_sources,
        base_image,
        index_url: request.index_url.clone(),
        requirements_text: None,
        command: None,
    })
}

/// Where an environment's lock goes: `-o`, else beside it (`environment.lock`).
pub fn environment_output(request: &LockRequest, environment: &Path) -> PathBuf {
    request
        .output
        .clone()
        .unwrap_or_else(|| environment.with_extension("lock"))
}

/// The settings of a conda environment's lock: platform, glibc and CUDA from the flags, then
/// `--image`, then the existing lock; the base from `--base` or the existing lock's header.
pub fn environment_settings(
    session: &Session,
    request: &LockRequest,
    environment: &Path,
) -> Result<strata_conda::CondaLockSettings, LockingError> {
    if request.python_version.is_some() || !request.no_binary.is_empty() {
        return Err(LockingError::RequirementsFlags {
            environment: environment.to_path_buf(),
        });
    }
    let output = environment_output(request, environment);
    // A lock that cannot be read is made again, as a missing one is.
    let existing = strata_conda::read_lock(&output).ok();
    let base = request
        .base
        .clone()
        .or_else(|| existing.as_ref().and_then(|lock| lock.header.base.clone()))
        .map(|base| -> Result<_, LockingError> {
            let facts = image_facts(session, &base, request.registry)?;
            let packages = installed_packages(choose_environment(&facts, None)?);
            Ok((base, packages))
        })
        .transpose()?;
    let image = request
        .image
        .as_deref()
        .map(|image| -> Result<_, LockingError> {
            let facts = image_facts(session, image, request.registry)?;
            Ok((conda_platform(&facts).to_string(), glibc_of(&facts)))
        })
        .transpose()?;
    let platform = request
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
    let glibc = request
        .glibc
        .clone()
        .or_else(|| image.as_ref().and_then(|(_, glibc)| glibc.clone()))
        .or_else(|| existing.as_ref().and_then(|lock| lock.header.glibc.clone()));
    let cuda = request
        .cuda
        .clone()
        .or_else(|| existing.as_ref().and_then(|lock| lock.header.cuda.clone()));
    let target = strata_conda::CondaTarget::new(&platform, glibc.as_deref(), cuda.as_deref())?;
    Ok(strata_conda::CondaLockSettings {
        environment: environment.to_path_buf(),
        output,
        target,
        exclude_newer: request.exclude_newer.clone(),
        upgrade: request.upgrade.clone(),
        base: base.map(|(image, packages)| (strata_conda::BaseOrigin::Image(image), packages)),
        regenerate: None,
    })
}

/// What an environment's `pip:` section needs after its conda solve.
#[derive(Debug)]
pub enum PipSection {
    /// No `pip:` section.
    None,
    /// `--check` of a conda lock that does not exist yet: the section drifted with it.
    Drifted,
    /// Lock it with these settings: for the Python the solve chose, every Python distribution
    /// conda installs (and the base's) held fixed.
    Lock(Box<LockSettings>),
}

/// The `pip:` section of `environment`, solved by conda as `locked`.
pub fn pip_section_settings(
    request: &LockRequest,
    environment: &Path,
    settings: &strata_conda::CondaLockSettings,
    locked: &strata_conda::Locked,
) -> Result<PipSection, LockingError> {
    let entries = strata_conda::read_environment(environment)?.pip;
    if entries.is_empty() {
        return Ok(PipSection::None);
    }
    let Some(python) = &locked.python else {
        if matches!(locked.outcome, strata_conda::CondaOutcome::Drifted(_))
            && !settings.output.exists()
        {
            return Ok(PipSection::Drifted);
        }
        return Err(LockingError::PipWithoutPython {
            environment: environment.to_path_buf(),
        });
    };
    let mut fixed = python.distributions.clone();
    if let Some((_, packages)) = &settings.base {
        for package in packages {
            fixed
                .entry(strata_conda::pypi_name(&package.name))
                .or_insert_with(|| package.version.clone());
        }
    }
    Ok(PipSection::Lock(Box::new(LockSettings {
        requirements: environment.to_path_buf(),
        output: pip_lock_path(&settings.output),
        target: strata_pylock::Target::new(&python.version, &wheel_platform(&settings.target)?)?,
        exclude_newer: request.exclude_newer.clone(),
        no_binary: std::collections::BTreeSet::new(),
        upgrade: request.upgrade.clone(),
        base: fixed,
        base_sources: Vec::new(),
        base_image: None,
        index_url: request.index_url.clone(),
        requirements_text: Some(pip_requirements(environment, &entries)),
        command: Some(format!("strata lock {}", environment.display())),
    })))
}
