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

/// Every difference, sorted by ecosystem, location and name.
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
    changes.sort();
    changes
}
