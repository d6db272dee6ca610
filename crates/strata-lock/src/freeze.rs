//! `strata freeze IMAGE`: a conda environment as a built image holds it, as an explicit lock
//! read from its `conda-meta` records, and what pip installed into it, to be locked beside.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use strata_session::Session;

use crate::conventions::wheel_platform;
use crate::images::{
    choose_environment, conda_distributions, conda_platform, glibc_of, image_facts,
    installed_packages, pip_installed,
};
use crate::LockingError;

/// What `strata freeze` is asked.
#[derive(Debug, Clone, Copy)]
pub struct FreezeRequest<'a> {
    pub image: &'a str,
    /// `--env`: which environment (default: the only one, else `base`).
    pub env: Option<&'a str>,
    /// `-o`: where the lock goes (it is named in the lock's regenerate line).
    pub output: Option<&'a Path>,
    pub registry: bool,
}

/// An environment as the image holds it.
#[derive(Debug)]
pub struct Frozen {
    /// The explicit conda lock of the environment.
    pub lock: strata_conda::CondaLock,
    /// What the lock could not record exactly.
    pub warnings: Vec<String>,
    /// The environment's path in the image.
    pub environment: String,
    environment_name: String,
    /// The conda platform and glibc it was built for.
    pub platform: String,
    pub glibc: Option<String>,
    /// What pip installed into it, `name==version`.
    pub pip_pins: Vec<String>,
    /// The environment's Python, when it has one.
    python: Option<String>,
    /// The Python distributions conda's packages installed (held fixed for pip's lock).
    conda_distributions: BTreeMap<String, String>,
}

/// Read the environment `request` names from the image.
pub fn freeze(session: &Session, request: &FreezeRequest<'_>) -> Result<Frozen, LockingError> {
    let facts = image_facts(session, request.image, request.registry)?;
    let environment = choose_environment(&facts, request.env)?;
    let packages = installed_packages(environment);
    let platform = packages
        .iter()
        .filter_map(|package| package.subdir.clone())
        .find(|subdir| subdir != "noarch")
        .unwrap_or_else(|| conda_platform(&facts).to_string());
    let glibc = glibc_of(&facts);
    let mut regenerate = format!("strata freeze {}", request.image);
    if request.env.is_some() || facts.conda.len() > 1 {
        let _ = write!(regenerate, " --env {}", environment.name());
    }
    if let Some(output) = request.output {
        let _ = write!(regenerate, " -o {}", output.display());
    }
    if request.registry {
        regenerate.push_str(" --registry");
    }
    let header = strata_conda::LockHeader {
        environment: format!("{} in {}", environment.path(), request.image),
        platform: platform.clone(),
        glibc: glibc.clone(),
        regenerate: Some(regenerate),
        ..strata_conda::LockHeader::default()
    };
    let (lock, warnings) =
        strata_conda::freeze(&packages, header).map_err(|source| LockingError::Freeze {
            environment: environment.path().clone(),
            image: request.image.to_string(),
            source: Box::new(source),
        })?;
    let pip_pins = pip_installed(&facts, environment)
        .iter()
        .map(|package| format!("{}=={}", package.name, package.version))
        .collect();
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
        });
    Ok(Frozen {
        lock,
        warnings,
        environment: environment.path().clone(),
        environment_name: environment.name().to_string(),
        platform,
        glibc,
        pip_pins,
        python,
        conda_distributions: conda_distributions(environment),
    })
}

impl Frozen {
    /// The environment's Python version, as the image records it.
    pub fn python(&self) -> Option<&str> {
        self.python.as_deref()
    }

    /// The lock of what pip installed, written to `output`: for the environment's Python and
    /// platform, with conda's Python distributions held fixed — the lock `strata lock` writes
    /// for a `pip:` section.
    pub fn pip_lock_settings(
        &self,
        image: &str,
        output: &Path,
    ) -> Result<strata_pylock::LockSettings, LockingError> {
        let python = self
            .python
            .clone()
            .ok_or_else(|| LockingError::NoPythonForPip {
                environment: self.environment.clone(),
            })?;
        let target = strata_conda::CondaTarget::new(&self.platform, self.glibc.as_deref(), None)?;
        let text = self
            .pip_pins
            .iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .fold(String::new(), |text, pin| text + pin + "\n");
        Ok(strata_pylock::LockSettings {
            requirements: PathBuf::from("pip-installed.txt"),
            output: output.to_path_buf(),
            target: strata_pylock::Target::new(&python, &wheel_platform(&target)?)?,
            exclude_newer: None,
            no_binary: BTreeSet::new(),
            upgrade: strata_pylock::Upgrade::All,
            base: self.conda_distributions.clone(),
            base_sources: Vec::new(),
            base_image: None,
            index_url: None,
            requirements_text: Some(text),
            command: Some(format!(
                "strata freeze {image} --env {} -o {}",
                self.environment_name,
                output.with_extension("").with_extension("lock").display()
            )),
        })
    }
}
