//! What changed between two images: packages added, removed and changed, per ecosystem and
//! environment, plus the OS and default Python.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::facts::ImageFacts;
use crate::sbom::normalize_python_name;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Change {
    /// `os`, `python`, `deb`, `python-package`, `conda`, `r`.
    pub ecosystem: String,
    /// The environment, library or prefix the package is in (empty for system-wide facts).
    pub location: String,
    pub name: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

type Key = (String, String, String);

fn packages(facts: &ImageFacts) -> BTreeMap<Key, (String, String)> {
    let mut found = BTreeMap::new();
    let mut add = |ecosystem: &str, location: &str, key_name: String, name: &str, version: &str| {
        found.insert(
            (ecosystem.to_string(), location.to_string(), key_name),
            (name.to_string(), version.to_string()),
        );
    };
    if let Some(os) = &facts.os_release {
        add(
            "os",
            "",
            os.id.clone(),
            &os.id,
            os.version_id.as_deref().unwrap_or(""),
        );
    }
    if let Some(python) = &facts.python.default {
        add(
            "python",
            "",
            "python".to_string(),
            "python",
            &python.version,
        );
    }
    for package in &facts.deb_packages {
        let location = package.architecture.clone().unwrap_or_default();
        add(
            "deb",
            &location,
            package.name.clone(),
            &package.name,
            &package.version,
        );
    }
    for environment in &facts.python.environments {
        for package in &environment.packages {
            add(
                "python-package",
                &environment.path,
                normalize_python_name(&package.name),
                &package.name,
                &package.version,
            );
        }
    }
    for environment in &facts.conda {
        for package in &environment.packages {
            add(
                "conda",
                &environment.prefix,
                package.name.clone(),
                &package.name,
                &package.version,
            );
        }
    }
    for library in &facts.r {
        for package in &library.packages {
            add(
                "r",
                &library.path,
                package.name.clone(),
                &package.name,
                &package.version,
            );
        }
    }
    found
}

/// One package an image holds, in any ecosystem (`os` and `python` are the OS and the default
/// interpreter themselves).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Package {
    /// `os`, `python`, `deb`, `python-package`, `conda`, `r`.
    pub ecosystem: String,
    /// The environment, library or prefix it is in (empty for system-wide facts).
    pub location: String,
    pub name: String,
    pub version: String,
    /// Its licence as the package says it (a Debian package's from its machine-readable
    /// copyright file, its licences joined with `, `), when it says one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
}

/// The licence of each package that names one, keyed as [`packages`] keys them.
fn licenses(facts: &ImageFacts) -> BTreeMap<Key, String> {
    let mut found = BTreeMap::new();
    for package in &facts.deb_packages {
        if !package.licenses.is_empty() {
            let location = package.architecture.clone().unwrap_or_default();
            found.insert(
                ("deb".to_string(), location, package.name.clone()),
                package.licenses.join(", "),
            );
        }
    }
    for environment in &facts.python.environments {
        for package in &environment.packages {
            if let Some(license) = &package.license {
                found.insert(
                    (
                        "python-package".to_string(),
                        environment.path.clone(),
                        normalize_python_name(&package.name),
                    ),
                    license.clone(),
                );
            }
        }
    }
    for environment in &facts.conda {
        for package in &environment.packages {
            if let Some(license) = &package.license {
                found.insert(
                    (
                        "conda".to_string(),
                        environment.prefix.clone(),
                        package.name.clone(),
                    ),
                    license.clone(),
                );
            }
        }
    }
    for library in &facts.r {
        for package in &library.packages {
            if let Some(license) = &package.license {
                found.insert(
                    ("r".to_string(), library.path.clone(), package.name.clone()),
                    license.clone(),
                );
            }
        }
    }
    found
}

/// Every package of an image, ordered as a diff orders them.
pub fn package_list(facts: &ImageFacts) -> Vec<Package> {
    let licenses = licenses(facts);
    let mut list: Vec<Package> = packages(facts)
        .into_iter()
        .map(|(key, (name, version))| Package {
            license: licenses.get(&key).cloned(),
            ecosystem: key.0,
            location: key.1,
            name,
            version,
        })
        .collect();
    list.sort_by(|a, b| {
        (ecosystem_rank(&a.ecosystem), &a.location, &a.name).cmp(&(
            ecosystem_rank(&b.ecosystem),
            &b.location,
            &b.name,
        ))
    });
    list
}

/// Where an ecosystem comes in a diff: the OS and the default Python first, then Debian,
/// Python, conda and R packages.
fn ecosystem_rank(ecosystem: &str) -> usize {
    ["os", "python", "deb", "python-package", "conda", "r"]
        .iter()
        .position(|known| *known == ecosystem)
        .unwrap_or(usize::MAX)
}

/// Every difference: by ecosystem (as [`ecosystem_rank`] orders them), then by location (the
/// environment or library; a Debian package's architecture comes after its name), then name.
pub fn diff(before: &ImageFacts, after: &ImageFacts) -> Vec<Change> {
    let old = packages(before);
    let new = packages(after);
    let mut changes = Vec::new();
    for (key, (name, version)) in &old {
        match new.get(key) {
            Some((_, new_version)) if new_version == version => {}
            other => changes.push(Change {
                ecosystem: key.0.clone(),
                location: key.1.clone(),
                name: name.clone(),
                before: Some(version.clone()),
                after: other.map(|(_, version)| version.clone()),
            }),
        }
    }
    for (key, (name, version)) in &new {
        if !old.contains_key(key) {
            changes.push(Change {
                ecosystem: key.0.clone(),
                location: key.1.clone(),
                name: name.clone(),
                before: None,
                after: Some(version.clone()),
            });
        }
    }
    changes.sort_by(|left, right| {
        let key = |change: &Change| {
            let location = if change.ecosystem == "deb" {
                String::new()
            } else {
                change.location.clone()
            };
            (
                ecosystem_rank(&change.ecosystem),
                location,
                change.name.clone(),
                change.location.clone(),
            )
        };
        key(left).cmp(&key(right))
    });
    changes
}

/// A package whose version is not the same on every platform of one tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlatformDifference {
    pub ecosystem: String,
    pub location: String,
    pub name: String,
    /// Each platform's version, in the order the platforms were given (`None`: not installed
    /// there).
    pub versions: Vec<(String, Option<String>)>,
}

/// The packages that differ between the platforms of one image (`diff --platforms`): each
/// package some platform lacks or has in another version, with every platform's version.
/// The `deb` architecture is not a version: `libc6` 2.36-9 on amd64 and arm64 is the same.
pub fn platform_differences(images: &[(String, ImageFacts)]) -> Vec<PlatformDifference> {
    // A Debian package of the platform's own architecture is the same package on every
    // platform: its architecture is left out of the key (`all` and foreign ones stay).
    let inventories: Vec<BTreeMap<Key, (String, String)>> = images
        .iter()
        .map(|(platform, facts)| {
            let architecture = platform.split('/').nth(1).unwrap_or_default();
            packages(facts)
                .into_iter()
                .map(|((ecosystem, location, name), value)| {
                    let location = if ecosystem == "deb" && location == architecture {
                        String::new()
                    } else {
                        location
                    };
                    ((ecosystem, location, name), value)
                })
                .collect()
        })
        .collect();
    let keys: std::collections::BTreeSet<&Key> =
        inventories.iter().flat_map(BTreeMap::keys).collect();
    let mut differences = Vec::new();
    for key in keys {
        let versions: Vec<(String, Option<String>)> = images
            .iter()
            .zip(&inventories)
            .map(|((platform, _), inventory)| {
                (
                    platform.clone(),
                    inventory.get(key).map(|(_, version)| version.clone()),
                )
            })
            .collect();
        let first = &versions[0].1;
        if versions.iter().all(|(_, version)| version == first) {
            continue;
        }
        let name = inventories
            .iter()
            .find_map(|inventory| inventory.get(key).map(|(name, _)| name.clone()))
            .unwrap_or_else(|| key.2.clone());
        differences.push(PlatformDifference {
            ecosystem: key.0.clone(),
            location: key.1.clone(),
            name,
            versions,
        });
    }
    differences.sort_by(|left, right| {
        (ecosystem_rank(&left.ecosystem), &left.location, &left.name).cmp(&(
            ecosystem_rank(&right.ecosystem),
            &right.location,
            &right.name,
        ))
    });
    differences
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{compute, ImageMetadata, OsRelease};
    use crate::records::DebPackage;

    fn facts(os: &str, packages: &[(&str, &str, &str)]) -> ImageFacts {
        let mut facts = compute(ImageMetadata::default(), &[]);
        facts.os_release = Some(OsRelease {
            id: "debian".to_string(),
            version_id: Some(os.to_string()),
            name: None,
            pretty_name: None,
            version_codename: None,
        });
        facts.deb_packages = packages
            .iter()
            .map(|(name, version, architecture)| DebPackage {
                licenses: Vec::new(),
                name: (*name).to_string(),
                version: (*version).to_string(),
                architecture: Some((*architecture).to_string()),
                source: None,
            })
            .collect();
        facts
    }

    #[test]
    fn platforms_differ_only_in_what_is_not_the_same_package_and_version() {
        let amd64 = facts(
            "12",
            &[
                ("libc6", "2.36-9", "amd64"),
                ("bash", "5.2", "amd64"),
                ("only-amd", "1", "amd64"),
            ],
        );
        let arm64 = facts(
            "12",
            &[
                ("libc6", "2.36-9", "arm64"),
                ("bash", "5.2.1", "arm64"),
                ("tzdata", "1", "all"),
            ],
        );
        let mut amd64_with_tzdata = amd64.clone();
        amd64_with_tzdata.deb_packages.push(DebPackage {
            licenses: Vec::new(),
            name: "tzdata".to_string(),
            version: "1".to_string(),
            architecture: Some("all".to_string()),
            source: None,
        });
        let differences = platform_differences(&[
            ("linux/amd64".to_string(), amd64_with_tzdata),
            ("linux/arm64".to_string(), arm64),
        ]);
        let rendered: Vec<(String, Vec<Option<String>>)> = differences
            .iter()
            .map(|difference| {
                (
                    difference.name.clone(),
                    difference
                        .versions
                        .iter()
                        .map(|(_, version)| version.clone())
                        .collect(),
                )
            })
            .collect();
        assert_eq!(
            rendered,
            vec![
                (
                    "bash".to_string(),
                    vec![Some("5.2".to_string()), Some("5.2.1".to_string())]
                ),
                ("only-amd".to_string(), vec![Some("1".to_string()), None]),
            ]
        );
        assert_eq!(differences[0].versions[1].0, "linux/arm64");
    }

    #[test]
    fn the_os_comes_first_and_debian_packages_sort_by_name_before_architecture() {
        let before = facts("11", &[("zlib1g", "1", "amd64"), ("bash", "5.1", "amd64")]);
        let after = facts(
            "12",
            &[
                ("zlib1g", "2", "amd64"),
                ("bash", "5.2", "amd64"),
                ("base-files", "12", "all"),
                ("adduser", "3", "all"),
            ],
        );
        let order: Vec<(String, String)> = diff(&before, &after)
            .into_iter()
            .map(|change| (change.ecosystem, change.name))
            .collect();
        assert_eq!(
            order,
            [
                ("os".to_string(), "debian".to_string()),
                ("deb".to_string(), "adduser".to_string()),
                ("deb".to_string(), "base-files".to_string()),
                ("deb".to_string(), "bash".to_string()),
                ("deb".to_string(), "zlib1g".to_string()),
            ]
        );
    }
}
