//! Resolving a requirements file for a target: PubGrub over the provider, then the pins of
//! the lock — each package's version, every file's hash, and what it is required by — or a
//! plain-words explanation of why no set of versions works.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::str::FromStr;

use pep440_rs::Version;
use pep508_rs::{PackageName, Requirement, VerbatimUrl, VersionOrUrl};
use pubgrub::{DefaultStringReporter, PubGrubError, Ranges, Reporter};

use crate::candidates::{Release, Selection};
use crate::error::LockError;
use crate::provider::{requirement_range, root_version, Provider, PubPackage};
use crate::requirements::{RequirementsFile, SourcedRequirement};
use crate::simple::IndexFile;
use crate::source::PackageSource;
use crate::wheel::{parse_filename, DistributionFile};

/// What to resolve, beyond the requirements file.
#[derive(Debug, Clone, Default)]
pub struct ResolveOptions {
    /// Versions to keep when they still satisfy (the existing lock's pins).
    pub preferences: HashMap<PackageName, Version>,
    /// Versions that must be chosen (distributions installed in the base image). They are not
    /// part of the lock.
    pub fixed: BTreeMap<PackageName, Version>,
    /// Where the base image has each fixed distribution (a site directory), for conflicts.
    pub fixed_sources: BTreeMap<PackageName, String>,
    /// Direct URL requirements' files, found beforehand (their hash needs a download).
    pub url_files: HashMap<PackageName, IndexFile>,
}

/// One locked package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    pub name: PackageName,
    pub version: Version,
    /// Extras requested of it.
    pub extras: BTreeSet<String>,
    /// `sha256:<hex>` of every file of the release, sorted.
    pub hashes: Vec<String>,
    /// What requires it: package names and `-r file` / `-c file`.
    pub via: Vec<String>,
    /// A direct URL requirement's URL.
    pub url: Option<String>,
}

/// A resolution: pins sorted by name, and the base image's distributions that were kept.
#[derive(Debug, Clone, Default)]
pub struct Resolution {
    pub pins: Vec<Pin>,
    pub fixed: BTreeMap<PackageName, Version>,
}

/// A requirement (or constraint) of the file itself that the base image's copy of `name` does
/// not satisfy: the conflict, named, instead of a resolver's derivation.
fn base_conflict(
    requirements: &RequirementsFile,
    provider: &Provider<'_>,
    options: &ResolveOptions,
    name: &PackageName,
    version: &Version,
) -> Result<(), LockError> {
    for SourcedRequirement { requirement, .. } in requirements
        .requirements
        .iter()
        .chain(&requirements.constraints)
    {
        if &requirement.name != name || !requirement.marker.evaluate(&provider.environment, &[]) {
            continue;
        }
        let range = requirement_range(requirement, &provider.url_versions);
        if range.contains(version) {
            continue;
        }
        let wanted = match range.bounding_range() {
            Some((lower, _)) if bound_above(lower, version) => "a newer",
            Some((_, upper)) if bound_below(upper, version) => "an older",
            _ => "another",
        };
        return Err(LockError::BaseConflict {
            requirement: requirement.to_string(),
            package: name.to_string(),
            wanted,
            version: version.to_string(),
            source_of: options
                .fixed_sources
                .get(name)
                .cloned()
                .unwrap_or_else(|| "its environment".to_string()),
        });
    }
    Ok(())
}

/// Every version the lower bound admits is above `version`.
fn bound_above(lower: std::ops::Bound<&Version>, version: &Version) -> bool {
    match lower {
        std::ops::Bound::Included(bound) => bound > version,
        std::ops::Bound::Excluded(bound) => bound >= version,
        std::ops::Bound::Unbounded => false,
    }
}

/// Every version the upper bound admits is below `version`.
fn bound_below(upper: std::ops::Bound<&Version>, version: &Version) -> bool {
    match upper {
        std::ops::Bound::Included(bound) => bound < version,
        std::ops::Bound::Excluded(bound) => bound <= version,
        std::ops::Bound::Unbounded => false,
    }
}

fn url_release(
    requirement: &Requirement<VerbatimUrl>,
    file: &IndexFile,
) -> Result<Release, LockError> {
    let version = match parse_filename(&file.filename) {
        Some(DistributionFile::Wheel(wheel)) => wheel.version,
        Some(DistributionFile::Sdist { version, .. }) => version,
        None => {
            return Err(LockError::Metadata {
                file: file.filename.clone(),
                message: format!(
                    "the URL of `{}` is not a wheel or source distribution",
                    requirement.name
                ),
            })
        }
    };
    Ok(Release {
        version,
        files: vec![file.clone()],
        install: Some(file.clone()),
        yanked: false,
        unusable: None,
    })
}

/// Resolve `requirements` for the selection's target.
pub fn resolve(
    source: &dyn PackageSource,
    requirements: &RequirementsFile,
    selection: &Selection,
    options: &ResolveOptions,
) -> Result<Resolution, LockError> {
    // A requirements file's `--pre` allows pre-releases as the command-line flag does.
    let with_pre;
    let selection = if requirements.pre && !selection.pre {
        with_pre = Selection {
            pre: true,
            ..selection.clone()
        };
        &with_pre
    } else {
        selection
    };
    let root: Vec<Requirement<VerbatimUrl>> = requirements
        .requirements
        .iter()
        .map(|sourced| sourced.requirement.clone())
        .collect();
    let mut provider = Provider::new(source, selection, root.clone());
    for sourced in &requirements.requirements {
        let requirement = &sourced.requirement;
        if let Some(VersionOrUrl::Url(_)) = &requirement.version_or_url {
            let file =
                options
                    .url_files
                    .get(&requirement.name)
                    .ok_or_else(|| LockError::Metadata {
                        file: requirement.name.to_string(),
                        message: "the direct URL was not downloaded".to_string(),
                    })?;
            let release = url_release(requirement, file)?;
            provider
                .url_versions
                .insert(requirement.name.clone(), release.version.clone());
            provider
                .url_releases
                .insert(requirement.name.clone(), release);
        }
        if let Some(VersionOrUrl::VersionSpecifier(specifiers)) = &requirement.version_or_url {
            if specifiers
                .iter()
                .any(|specifier| specifier.version().any_prerelease())
            {
                provider
                    .explicit_prereleases
                    .insert(requirement.name.clone());
            }
        }
    }
    for SourcedRequirement { requirement, .. } in &requirements.constraints {
        if requirement.marker.evaluate(&provider.environment, &[]) {
            let range = requirement_range(requirement, &provider.url_versions);
            let entry = provider
                .constraints
                .entry(requirement.name.clone())
                .or_insert_with(Ranges::full);
            *entry = entry.intersection(&range);
        }
    }
    for (name, version) in &options.fixed {
        base_conflict(requirements, &provider, options, name, version)?;
        let entry = provider
            .constraints
            .entry(name.clone())
            .or_insert_with(Ranges::full);
        *entry = entry.intersection(&Ranges::singleton(version.clone()));
    }
    provider.preferences.clone_from(&options.preferences);

    let selected = match pubgrub::resolve(&provider, PubPackage::Root, root_version()) {
        Ok(selected) => selected,
        Err(PubGrubError::NoSolution(mut tree)) => {
            tree.collapse_no_versions();
            let mut explanation = plain_words(&DefaultStringReporter::report(&tree));
            // Say which of the packages in the way the base image fixes, and where.
            for (name, version) in &options.fixed {
                let mentioned = explanation
                    .split(|character: char| {
                        !(character.is_ascii_alphanumeric() || "-_.".contains(character))
                    })
                    .any(|word| word == name.as_ref());
                if mentioned {
                    let source = options
                        .fixed_sources
                        .get(name)
                        .map_or(String::new(), |source| format!(" in {source}"));
                    let _ = write!(
                        explanation,
                        "\n{name} {version} is installed in the base image{source}; a lock on top of it cannot replace it."
                    );
                }
            }
            return Err(LockError::NoSolution {
                target: selection.target.to_string(),
                explanation,
            });
        }
        Err(
            PubGrubError::ErrorRetrievingDependencies { source, .. }
            | PubGrubError::ErrorChoosingVersion { source, .. }
            | PubGrubError::ErrorInShouldCancel(source),
        ) => return Err(source),
    };

    let mut versions: BTreeMap<PackageName, Version> = BTreeMap::new();
    let mut extras: BTreeMap<PackageName, BTreeSet<String>> = BTreeMap::new();
    for (package, version) in selected.iter() {
        match package {
            PubPackage::Root => {}
            PubPackage::Package(name) => {
                versions.insert(name.clone(), version.clone());
            }
            PubPackage::Extra(name, extra) => {
                extras
                    .entry(name.clone())
                    .or_default()
                    .insert(extra.to_string());
            }
        }
    }

    // Who requires what: root requirements by origin, then each package's active requirements.
    let mut via: BTreeMap<PackageName, BTreeSet<String>> = BTreeMap::new();
    for sourced in requirements
        .requirements
        .iter()
        .chain(&requirements.constraints)
    {
        if sourced
            .requirement
            .marker
            .evaluate(&provider.environment, &[])
            && versions.contains_key(&sourced.requirement.name)
        {
            via.entry(sourced.requirement.name.clone())
                .or_default()
                .insert(sourced.origin.clone());
        }
    }
    for (name, version) in &versions {
        let active_extras: Vec<pep508_rs::ExtraName> = extras
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|extra| pep508_rs::ExtraName::from_str(extra).ok())
            .collect();
        if let Ok(requirements) = provider.requirements_of(name, version, &active_extras)? {
            for requirement in requirements {
                if &requirement.name != name && versions.contains_key(&requirement.name) {
                    via.entry(requirement.name.clone())
                        .or_default()
                        .insert(name.to_string());
                }
            }
        }
    }

    let mut pins = Vec::new();
    for (name, version) in versions {
        if options.fixed.contains_key(&name) {
            continue;
        }
        let release = provider
            .release(&name, &version)?
            .ok_or_else(|| LockError::Metadata {
                file: name.to_string(),
                message: format!("{version} vanished from the index during resolution"),
            })?;
        let mut hashes: Vec<String> = release
            .files
            .iter()
            .filter_map(|file| file.sha256.as_ref())
            .map(|sha256| format!("sha256:{sha256}"))
            .collect();
        hashes.sort();
        hashes.dedup();
        let url = provider
            .url_releases
            .get(&name)
            .and_then(|release| release.install.as_ref())
            .map(|file| file.url.clone());
        pins.push(Pin {
            extras: extras.remove(&name).unwrap_or_default(),
            via: via
                .remove(&name)
                .map(|origins| origins.into_iter().collect())
                .unwrap_or_default(),
            name,
            version,
            hashes,
            url,
        });
    }
    Ok(Resolution {
        pins,
        fixed: options.fixed.clone(),
    })
}

/// PubGrub's report, with the root package spoken of as the user's requirements.
fn plain_words(report: &str) -> String {
    report
        .replace("your requirements 0 depends on", "you require")
        .replace(
            "your requirements 0 is forbidden",
            "your requirements cannot all be met",
        )
        .replace("your requirements 0", "your requirements")
        .replace(" *", " (any version)")
}
