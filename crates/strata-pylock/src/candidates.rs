//! Which releases of a project can be installed on the target: files grouped by version, with
//! `--exclude-newer`, `Requires-Python`, yanks, wheel tags, pre-releases and `--no-binary`
//! applied. Shared by the resolver and by prefetching, which guesses the release the resolver
//! will pick.

use std::collections::BTreeMap;
use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::PackageName;

use crate::error::LockError;
use crate::simple::{IndexFile, ProjectPage};
use crate::target::Target;
use crate::wheel::{parse_filename, DistributionFile};

/// What decides which files are usable.
#[derive(Debug, Clone)]
pub struct Selection {
    pub target: Target,
    /// Packages allowed to resolve from a source distribution (`:all:` for every one).
    pub no_binary: std::collections::BTreeSet<String>,
    /// Allow pre-releases everywhere.
    pub pre: bool,
    /// Ignore files uploaded after this RFC 3339 time.
    pub exclude_newer: Option<String>,
}

/// A release of a project and its files.
#[derive(Debug, Clone)]
pub struct Release {
    pub version: Version,
    /// Every file of the release (the lock's hashes), after `--exclude-newer`.
    pub files: Vec<IndexFile>,
    /// The file to read metadata from and to install: the best wheel, or the sdist.
    pub install: Option<IndexFile>,
    pub yanked: bool,
    /// Why the release cannot be installed, when it cannot.
    pub unusable: Option<String>,
}

impl Selection {
    fn allows_sdist(&self, name: &PackageName) -> bool {
        self.no_binary.contains(":all:") || self.no_binary.contains(name.as_ref())
    }

    fn python_matches(&self, requires_python: Option<&str>) -> bool {
        let Some(requires) = requires_python else {
            return true;
        };
        VersionSpecifiers::from_str(requires).map_or(true, |specifiers| {
            specifiers.contains(&self.target.python_full())
        })
    }

    /// The releases of `name` in `page`, highest version first.
    pub fn releases(
        &self,
        name: &PackageName,
        page: &ProjectPage,
    ) -> Result<Vec<Release>, LockError> {
        let supported = self.target.supported_tags();
        let mut by_version: BTreeMap<Version, Vec<(IndexFile, Option<DistributionFile>)>> =
            BTreeMap::new();
        for file in &page.files {
            if let Some(cutoff) = &self.exclude_newer {
                match file
                    .upload_time
                    .as_deref()
                    .map(crate::dates::normalize_date)
                {
                    Some(Ok(uploaded)) if uploaded.as_str() > cutoff.as_str() => continue,
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => {
                        return Err(LockError::NoUploadTimes {
                            url: file.url.clone(),
                        })
                    }
                }
            }
            let parsed = parse_filename(&file.filename);
            let version = match &parsed {
                Some(DistributionFile::Wheel(wheel)) if &wheel.name == name => {
                    wheel.version.clone()
                }
                Some(DistributionFile::Sdist {
                    name: sdist_name,
                    version,
                }) if sdist_name == name => version.clone(),
                _ => continue,
            };
            by_version
                .entry(version)
                .or_default()
                .push((file.clone(), parsed));
        }
        let mut releases = Vec::with_capacity(by_version.len());
        for (version, files) in by_version.into_iter().rev() {
            let yanked = files.iter().all(|(file, _)| file.yanked);
            let mut best: Option<(usize, &IndexFile)> = None;
            let mut sdist = None;
            let mut python_excluded = false;
            for (file, parsed) in &files {
                if !self.python_matches(file.requires_python.as_deref()) {
                    python_excluded = true;
                    continue;
                }
                match parsed {
                    Some(DistributionFile::Wheel(wheel)) => {
                        if let Some(priority) = supported.priority(wheel) {
                            if best.is_none_or(|(current, _)| priority < current) {
                                best = Some((priority, file));
                            }
                        }
                    }
                    Some(DistributionFile::Sdist { .. }) => sdist = Some(file),
                    None => {}
                }
            }
            let install = best
                .map(|(_, file)| file.clone())
                .or_else(|| sdist.filter(|_| self.allows_sdist(name)).cloned());
            let unusable = if install.is_some() {
                None
            } else if let Some(sdist) = sdist {
                Some(format!(
                    "only a source distribution, `{}`; pass `--no-binary {name}` to allow it",
                    sdist.filename
                ))
            } else if python_excluded {
                Some(format!(
                    "requires a Python other than {}",
                    self.target.python
                ))
            } else {
                Some(format!("no wheel for {}", self.target))
            };
            releases.push(Release {
                version,
                files: files.into_iter().map(|(file, _)| file).collect(),
                install,
                yanked,
                unusable,
            });
        }
        Ok(releases)
    }

    /// Whether pre-releases of `name` may be chosen.
    pub fn allows_prerelease(&self, explicit: bool) -> bool {
        self.pre || explicit
    }
}
