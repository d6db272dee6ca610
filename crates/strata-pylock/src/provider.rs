//! The PubGrub dependency provider: packages are projects, plus one virtual package per
//! requested extra (`name[extra]`, which depends on `name` at the same version and on the
//! extra's requirements). Versions are chosen highest first among installable releases, with
//! preferences (pins kept by `--upgrade-package`) first; markers are evaluated for the target.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use pep440_rs::Version;
use pep508_rs::{
    ExtraName, MarkerEnvironment, PackageName, Requirement, VerbatimUrl, VersionOrUrl,
};
use pubgrub::{Dependencies, DependencyProvider, PackageResolutionStatistics, Ranges};

use crate::candidates::{Release, Selection};
use crate::error::LockError;
use crate::source::PackageSource;

/// A PubGrub package.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PubPackage {
    Root,
    Package(PackageName),
    Extra(PackageName, ExtraName),
}

impl fmt::Display for PubPackage {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Root => formatter.write_str("your requirements"),
            Self::Package(name) => write!(formatter, "{name}"),
            Self::Extra(name, extra) => write!(formatter, "{name}[{extra}]"),
        }
    }
}

pub(crate) fn root_version() -> Version {
    Version::new([0])
}

/// The version range a requirement allows.
pub(crate) fn requirement_range(
    requirement: &Requirement<VerbatimUrl>,
    url_versions: &HashMap<PackageName, Version>,
) -> Ranges<Version> {
    match &requirement.version_or_url {
        None => Ranges::full(),
        Some(VersionOrUrl::VersionSpecifier(specifiers)) => Ranges::from(specifiers.clone()),
        Some(VersionOrUrl::Url(_)) => url_versions
            .get(&requirement.name)
            .map_or_else(Ranges::full, |version| Ranges::singleton(version.clone())),
    }
}

pub(crate) struct Provider<'a> {
    pub source: &'a dyn PackageSource,
    pub selection: &'a Selection,
    pub environment: MarkerEnvironment,
    pub root: Vec<Requirement<VerbatimUrl>>,
    /// `-c` constraints and `--base` pins, intersected into every requirement on a package.
    pub constraints: HashMap<PackageName, Ranges<Version>>,
    pub preferences: HashMap<PackageName, Version>,
    /// Packages a requirement names a pre-release of.
    pub explicit_prereleases: HashSet<PackageName>,
    /// Direct URL requirements: the single release each allows.
    pub url_releases: HashMap<PackageName, Release>,
    pub url_versions: HashMap<PackageName, Version>,
    releases: RefCell<HashMap<PackageName, Arc<Vec<Release>>>>,
    discovered: RefCell<HashMap<PubPackage, usize>>,
}

impl<'a> Provider<'a> {
    pub fn new(
        source: &'a dyn PackageSource,
        selection: &'a Selection,
        root: Vec<Requirement<VerbatimUrl>>,
    ) -> Self {
        Self {
            source,
            selection,
            environment: selection.target.marker_environment(),
            root,
            constraints: HashMap::new(),
            preferences: HashMap::new(),
            explicit_prereleases: HashSet::new(),
            url_releases: HashMap::new(),
            url_versions: HashMap::new(),
            releases: RefCell::default(),
            discovered: RefCell::default(),
        }
    }

    /// The releases of a project, highest first.
    pub fn releases(&self, name: &PackageName) -> Result<Arc<Vec<Release>>, LockError> {
        if let Some(release) = self.url_releases.get(name) {
            return Ok(Arc::new(vec![release.clone()]));
        }
        if let Some(releases) = self.releases.borrow().get(name) {
            return Ok(Arc::clone(releases));
        }
        let releases = match self.source.project(name)? {
            Some(page) => Arc::new(self.selection.releases(name, &page)?),
            None => Arc::new(Vec::new()),
        };
        self.releases
            .borrow_mut()
            .insert(name.clone(), Arc::clone(&releases));
        Ok(releases)
    }

    pub fn release(
        &self,
        name: &PackageName,
        version: &Version,
    ) -> Result<Option<Release>, LockError> {
        Ok(self
            .releases(name)?
            .iter()
            .find(|release| &release.version == version)
            .cloned())
    }

    /// The requirements of a release that apply to the target (with `extras` active).
    pub fn requirements_of(
        &self,
        name: &PackageName,
        version: &Version,
        extras: &[ExtraName],
    ) -> Result<Result<Vec<Requirement<VerbatimUrl>>, String>, LockError> {
        let Some(release) = self.release(name, version)? else {
            return Ok(Err(format!("({name} {version} is not on the index)")));
        };
        if let Some(reason) = &release.unusable {
            return Ok(Err(format!("(it has {reason})")));
        }
        let Some(file) = &release.install else {
            return Ok(Err("(it has no installable file)".to_string()));
        };
        let metadata = self.source.metadata(file)?;
        if let Some(requires) = &metadata.requires_python {
            if !requires.contains(&self.selection.target.python_full()) {
                return Ok(Err(format!("(it requires Python {requires})")));
            }
        }
        Ok(Ok(metadata
            .requires_dist
            .iter()
            .filter(|requirement| requirement.marker.evaluate(&self.environment, extras))
            .cloned()
            .collect()))
    }

    fn add(
        &self,
        constraints: &mut BTreeMap<PubPackage, Ranges<Version>>,
        package: PubPackage,
        range: Ranges<Version>,
    ) {
        let range = match constraints.get(&package) {
            Some(existing) => existing.intersection(&range),
            None => range,
        };
        let count = self.discovered.borrow().len();
        self.discovered
            .borrow_mut()
            .entry(package.clone())
            .or_insert(count);
        constraints.insert(package, range);
    }

    fn dependencies_of(
        &self,
        requirements: &[Requirement<VerbatimUrl>],
        parent: Option<&PackageName>,
    ) -> BTreeMap<PubPackage, Ranges<Version>> {
        let mut constraints = BTreeMap::new();
        for requirement in requirements {
            if parent == Some(&requirement.name) && requirement.extras.is_empty() {
                continue;
            }
            let mut range = requirement_range(requirement, &self.url_versions);
            if let Some(constraint) = self.constraints.get(&requirement.name) {
                range = range.intersection(constraint);
            }
            if parent != Some(&requirement.name) {
                self.add(
                    &mut constraints,
                    PubPackage::Package(requirement.name.clone()),
                    range.clone(),
                );
            }
            for extra in &requirement.extras {
                self.add(
                    &mut constraints,
                    PubPackage::Extra(requirement.name.clone(), extra.clone()),
                    range.clone(),
                );
            }
            self.source.prefetch(&requirement.name);
        }
        constraints
    }

    fn prerelease_allowed(&self, name: &PackageName) -> bool {
        self.selection
            .allows_prerelease(self.explicit_prereleases.contains(name))
    }
}

impl DependencyProvider for Provider<'_> {
    type P = PubPackage;
    type V = Version;
    type VS = Ranges<Version>;
    type M = String;
    type Priority = (u32, Reverse<usize>);
    type Err = LockError;

    fn prioritize(
        &self,
        package: &PubPackage,
        _range: &Ranges<Version>,
        statistics: &PackageResolutionStatistics,
    ) -> Self::Priority {
        let order = self
            .discovered
            .borrow()
            .get(package)
            .copied()
            .unwrap_or(usize::MAX);
        (statistics.conflict_count(), Reverse(order))
    }

    fn choose_version(
        &self,
        package: &PubPackage,
        range: &Ranges<Version>,
    ) -> Result<Option<Version>, LockError> {
        let name = match package {
            PubPackage::Root => return Ok(Some(root_version())),
            PubPackage::Package(name) | PubPackage::Extra(name, _) => name,
        };
        let releases = self.releases(name)?;
        if let Some(preferred) = self.preferences.get(name) {
            if range.contains(preferred)
                && releases
                    .iter()
                    .any(|release| &release.version == preferred && release.unusable.is_none())
            {
                return Ok(Some(preferred.clone()));
            }
        }
        let pinned_exactly = |version: &Version| range.as_singleton() == Some(version);
        let pick = |allow_prerelease: bool| {
            releases
                .iter()
                .filter(|release| range.contains(&release.version))
                .filter(|release| !release.yanked || pinned_exactly(&release.version))
                .find(|release| allow_prerelease || !release.version.any_prerelease())
                .map(|release| release.version.clone())
        };
        // Pre-releases only when asked for, or when nothing else satisfies (pip's rule).
        Ok(pick(self.prerelease_allowed(name)).or_else(|| pick(true)))
    }

    fn get_dependencies(
        &self,
        package: &PubPackage,
        version: &Version,
    ) -> Result<Dependencies<PubPackage, Ranges<Version>, String>, LockError> {
        match package {
            PubPackage::Root => {
                let active: Vec<Requirement<VerbatimUrl>> = self
                    .root
                    .iter()
                    .filter(|requirement| requirement.marker.evaluate(&self.environment, &[]))
                    .cloned()
                    .collect();
                Ok(Dependencies::Available(
                    self.dependencies_of(&active, None).into_iter().collect(),
                ))
            }
            PubPackage::Package(name) => match self.requirements_of(name, version, &[])? {
                Ok(requirements) => Ok(Dependencies::Available(
                    self.dependencies_of(&requirements, Some(name))
                        .into_iter()
                        .collect(),
                )),
                Err(reason) => Ok(Dependencies::Unavailable(reason)),
            },
            PubPackage::Extra(name, extra) => {
                match self.requirements_of(name, version, std::slice::from_ref(extra))? {
                    Ok(requirements) => {
                        let mut constraints = self.dependencies_of(&requirements, Some(name));
                        constraints.insert(
                            PubPackage::Package(name.clone()),
                            Ranges::singleton(version.clone()),
                        );
                        Ok(Dependencies::Available(constraints.into_iter().collect()))
                    }
                    Err(reason) => Ok(Dependencies::Unavailable(reason)),
                }
            }
        }
    }
}
