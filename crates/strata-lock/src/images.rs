//! What a built image says about a lock: its Python and platform, what its base installed,
//! its conda environments. Images are read with strata-inspect, on the session's engine or
//! registry, their layers cached.

use std::collections::BTreeMap;

use strata_inspect::{CondaEnvironment, ImageFacts};
use strata_session::Session;

use crate::LockingError;

/// The facts of an image on the session's engine, or (`registry`) in its registry.
pub fn image_facts(
    session: &Session,
    reference: &str,
    registry: bool,
) -> Result<ImageFacts, LockingError> {
    Ok(session.block_on(strata_inspect::image_facts(
        session, reference, registry, None,
    ))??)
}

/// What an image says about its Python: interpreter version and wheel platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageTarget {
    pub python: String,
    pub platform: String,
}

/// The interpreter, C library and architecture of the image `reference` names.
pub fn python_target(reference: &str, facts: &ImageFacts) -> Result<ImageTarget, LockingError> {
    let python = facts
        .python
        .default
        .as_ref()
        .map(|python| python.version.clone())
        .ok_or_else(|| LockingError::NoPython {
            reference: reference.to_string(),
        })?;
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
pub type BaseSources = Vec<(String, String)>;

/// What an image's default interpreter imports (normalized name to version), and where each
/// comes from, in its `sys.path` order: the first directory holding a distribution wins.
pub fn importable_distributions(facts: &ImageFacts) -> (BTreeMap<String, String>, BaseSources) {
    let mut distributions = BTreeMap::new();
    let mut sources = Vec::new();
    for found in facts.python.importable() {
        let name = strata_inspect::normalize_python_name(&found.package.name);
        distributions.insert(name.clone(), found.package.version.clone());
        sources.push((name, found.directory.to_string()));
    }
    (distributions, sources)
}

/// The conda platform of a built image (`amd64` → `linux-64`).
pub fn conda_platform(facts: &ImageFacts) -> &'static str {
    match facts.image.architecture.as_deref() {
        Some("arm64" | "aarch64") => "linux-aarch64",
        Some("ppc64le") => "linux-ppc64le",
        Some("s390x") => "linux-s390x",
        _ => "linux-64",
    }
}

/// The glibc of a built image: libc6's version (`2.36`).
pub fn glibc_of(facts: &ImageFacts) -> Option<String> {
    facts
        .deb_packages
        .iter()
        .find(|package| package.name == "libc6")
        .and_then(|package| {
            let mut parts = package.version.split(['.', '-', '+', '~']);
            Some(format!("{}.{}", parts.next()?, parts.next()?))
        })
}

/// The environment of an image a command means: the one named (`base`, the directory under
/// `envs/`, or its path), else the only one, else `base`.
pub fn choose_environment<'a>(
    facts: &'a ImageFacts,
    name: Option<&str>,
) -> Result<&'a CondaEnvironment, LockingError> {
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
        return Err(LockingError::NoCondaEnvironment {
            reference: reference.clone(),
        });
    }
    if let Some(name) = name {
        let path = format!("/{}", name.trim_matches('/'));
        return facts
            .conda
            .iter()
            .find(|environment| environment.name() == name || environment.path() == path)
            .ok_or_else(|| LockingError::NoSuchEnvironment {
                reference: reference.clone(),
                name: name.to_string(),
                names: names(),
            });
    }
    if let [only] = facts.conda.as_slice() {
        return Ok(only);
    }
    facts
        .conda
        .iter()
        .find(|environment| environment.name() == "base")
        .ok_or_else(|| LockingError::SeveralEnvironments {
            reference: reference.clone(),
            names: names(),
        })
}

/// An image environment's packages, as strata-conda takes them.
pub fn installed_packages(environment: &CondaEnvironment) -> Vec<strata_conda::InstalledPackage> {
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
pub fn conda_distributions(
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
pub fn pip_installed(
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
