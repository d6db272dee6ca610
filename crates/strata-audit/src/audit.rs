//! An image's findings: each package it holds matched against the store, by the ecosystem OSV
//! files it under (Debian and Ubuntu by source package and release, PyPI, CRAN; conda packages
//! by their PyPI name, marked approximate), one finding per advisory and package however many
//! aliases name it.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use strata_inspect::ImageFacts;

use crate::error::AuditError;
use crate::osv::Severity;
use crate::ranges::affected;
use crate::store::Store;
use crate::version::Scheme;

/// A known vulnerability of a package an image holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The advisory: its CVE when one of its names is a CVE, else its own id.
    pub id: String,
    /// Every name of the advisory (its id and aliases, merged across records).
    pub aliases: Vec<String>,
    /// The OSV ecosystem matched (`Debian:12`, `PyPI`, `CRAN`).
    pub ecosystem: String,
    /// The package as the advisory names it (a Debian source package).
    pub package: String,
    /// What the image installs of it (Debian binary packages; empty otherwise).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub installed: Vec<String>,
    pub version: String,
    /// Where it is installed (a Python environment, a conda prefix, an R library).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub location: String,
    /// The first version that fixes it, when the advisory names one.
    pub fixed: Option<String>,
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// A conda package matched by its PyPI name: the versions may not line up.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub approximate: bool,
    /// The layer that brought the package in at this version (see [`attribute_layers`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<LayerOrigin>,
    /// The image that brought the package in: this one, or the image it is built on when the
    /// layer is that image's (a family image or the external base).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub introduced_by: Option<String>,
    /// What would fix it (see [`crate::suggest_fix`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<crate::Fix>,
}

/// The layer of an image that brought a package in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerOrigin {
    /// 1 for the bottom layer.
    pub index: usize,
    pub diff_id: String,
    /// The build step that made it, when the image's history names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
}

/// One package to look up.
pub(crate) struct Candidate {
    pub(crate) ecosystem: String,
    pub(crate) package: String,
    installed: Vec<String>,
    pub(crate) version: String,
    pub(crate) location: String,
    approximate: bool,
}

/// The OSV ecosystem of an image's Debian or Ubuntu packages (`Debian:12`, `Ubuntu:24.04`).
pub fn distribution_ecosystem(facts: &ImageFacts) -> Option<String> {
    let os = facts.os_release.as_ref()?;
    let version = os.version_id.as_deref()?;
    match os.id.as_str() {
        "debian" => Some(format!(
            "Debian:{}",
            version.split('.').next().unwrap_or(version)
        )),
        "ubuntu" => Some(format!("Ubuntu:{version}")),
        _ => None,
    }
}

pub(crate) fn candidates(facts: &ImageFacts) -> Vec<Candidate> {
    let mut found = Vec::new();
    if let Some(ecosystem) = distribution_ecosystem(facts) {
        // Advisories name source packages: one lookup per source package and version.
        let mut sources: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for package in &facts.deb_packages {
            let source = package
                .source
                .clone()
                .unwrap_or_else(|| package.name.clone());
            sources
                .entry((source, package.version.clone()))
                .or_default()
                .push(package.name.clone());
        }
        for ((source, version), installed) in sources {
            found.push(Candidate {
                ecosystem: ecosystem.clone(),
                package: source,
                installed,
                version,
                location: String::new(),
                approximate: false,
            });
        }
    }
    for environment in &facts.python.environments {
        for package in &environment.packages {
            found.push(Candidate {
                ecosystem: "PyPI".to_string(),
                package: package.name.clone(),
                installed: Vec::new(),
                version: package.version.clone(),
                location: environment.path.clone(),
                approximate: false,
            });
        }
    }
    for environment in &facts.conda {
        for package in &environment.packages {
            // A conda package that installs a Python distribution is that distribution; its
            // version is conda's, which usually but not always is PyPI's.
            if package.python_distributions.is_empty() {
                continue;
            }
            found.push(Candidate {
                ecosystem: "PyPI".to_string(),
                package: package.name.clone(),
                installed: Vec::new(),
                version: package.version.clone(),
                location: environment.prefix.clone(),
                approximate: true,
            });
        }
    }
    for library in &facts.r {
        for package in &library.packages {
            found.push(Candidate {
                ecosystem: "CRAN".to_string(),
                package: package.name.clone(),
                installed: Vec::new(),
                version: package.version.clone(),
                location: library.path.clone(),
                approximate: false,
            });
        }
    }
    found
}

/// A candidate's identity: what makes two images' packages the same lookup.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CandidateKey {
    ecosystem: String,
    package: String,
    version: String,
    location: String,
}

impl CandidateKey {
    fn new(ecosystem: &str, package: &str, version: &str, location: &str) -> Self {
        Self {
            ecosystem: ecosystem.to_string(),
            package: package.to_string(),
            version: version.to_string(),
            location: location.to_string(),
        }
    }
}

impl Candidate {
    fn key(&self) -> CandidateKey {
        CandidateKey::new(
            &self.ecosystem,
            &self.package,
            &self.version,
            &self.location,
        )
    }
}

impl Finding {
    fn key(&self) -> CandidateKey {
        CandidateKey::new(
            &self.ecosystem,
            &self.package,
            &self.version,
            &self.location,
        )
    }
}

/// What an audit of several images did once for all of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AuditWork {
    /// Packages looked up in the store: each distinct package, version and place once.
    pub packages_matched: usize,
    /// Packages the images hold, counted per image.
    pub packages_seen: usize,
    /// Distinct layers whose packages were read to place findings (a layer several images
    /// share, with what is below it, is read once).
    pub layers_read: usize,
}

/// Audits images against one store, doing each piece of work once across them: a package
/// several images hold (at one version, in one place) is matched once, and a stack of layers
/// several images share is read once to place findings.
pub struct Auditor<'a> {
    store: &'a Store,
    matched: HashMap<CandidateKey, Vec<Finding>>,
    /// The packages present up to a layer, by the diff ids up to it.
    stacks: HashMap<String, HashSet<CandidateKey>>,
    work: AuditWork,
}

impl<'a> Auditor<'a> {
    pub fn new(store: &'a Store) -> Self {
        Self {
            store,
            matched: HashMap::new(),
            stacks: HashMap::new(),
            work: AuditWork::default(),
        }
    }

    pub fn work(&self) -> AuditWork {
        self.work
    }

    /// Every finding of `facts`, the most severe first.
    pub fn audit(&mut self, facts: &ImageFacts) -> Result<Vec<Finding>, AuditError> {
        let mut findings: Vec<Finding> = Vec::new();
        for candidate in candidates(facts) {
            self.work.packages_seen += 1;
            let key = candidate.key();
            if !self.matched.contains_key(&key) {
                self.work.packages_matched += 1;
                let found = match_candidate(self.store, &candidate)?;
                self.matched.insert(key.clone(), found);
            }
            findings.extend(self.matched[&key].iter().map(|finding| Finding {
                installed: candidate.installed.clone(),
                ..finding.clone()
            }));
        }
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.package.cmp(&b.package))
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(findings)
    }

    /// Name the layer that brought each finding's package in at its version: the lowest layer
    /// whose image, up to it, holds it so. `records` are the image's layer records, bottom
    /// first (the layer cache's); a finding none of them explains keeps no layer.
    pub fn attribute_layers(
        &mut self,
        findings: &mut [Finding],
        facts: &ImageFacts,
        records: &[strata_inspect::LayerRecord],
    ) {
        let mut stack = String::new();
        for top in 1..=records.len() {
            if findings.iter().all(|finding| finding.layer.is_some()) {
                return;
            }
            stack.push_str(&records[top - 1].diff_id);
            stack.push('\n');
            if !self.stacks.contains_key(&stack) {
                self.work.layers_read += 1;
                let partial = strata_inspect::compute(facts.image.clone(), &records[..top]);
                let present = candidates(&partial).iter().map(Candidate::key).collect();
                self.stacks.insert(stack.clone(), present);
            }
            let present = &self.stacks[&stack];
            for finding in findings
                .iter_mut()
                .filter(|finding| finding.layer.is_none())
            {
                if present.contains(&finding.key()) {
                    let summary = facts.image.layers.get(top - 1);
                    finding.layer = Some(LayerOrigin {
                        index: top,
                        diff_id: records[top - 1].diff_id.clone(),
                        step: summary.and_then(|layer| layer.step.clone()),
                    });
                }
            }
        }
    }
}

/// Every finding of `facts` against `store`, the most severe first.
pub fn audit(facts: &ImageFacts, store: &Store) -> Result<Vec<Finding>, AuditError> {
    Auditor::new(store).audit(facts)
}

/// The findings of one package: one per advisory, two records of one vulnerability (a DSA and
/// its CVE, a GHSA and a PYSEC) merged when they share a name.
fn match_candidate(store: &Store, candidate: &Candidate) -> Result<Vec<Finding>, AuditError> {
    let mut findings: Vec<Finding> = Vec::new();
    let scheme = Scheme::of(&candidate.ecosystem);
    for advisory in store.advisories(&candidate.ecosystem, &candidate.package)? {
        let Some(fixed) = affected(
            scheme,
            &candidate.version,
            &advisory.ranges,
            &advisory.versions,
        ) else {
            continue;
        };
        let mut names: Vec<String> = std::iter::once(advisory.id.clone())
            .chain(advisory.aliases.iter().cloned())
            .collect();
        names.sort();
        names.dedup();
        let same = findings
            .iter_mut()
            .find(|finding| finding.aliases.iter().any(|name| names.contains(name)));
        if let Some(finding) = same {
            finding.aliases.extend(names);
            finding.aliases.sort();
            finding.aliases.dedup();
            finding.id = preferred_id(&finding.aliases, &finding.id);
            finding.severity = finding.severity.max(advisory.severity);
            if finding.fixed.is_none() {
                finding.fixed = fixed;
            }
            continue;
        }
        findings.push(Finding {
            id: preferred_id(&names, &advisory.id),
            aliases: names,
            ecosystem: candidate.ecosystem.clone(),
            package: candidate.package.clone(),
            installed: candidate.installed.clone(),
            version: candidate.version.clone(),
            location: candidate.location.clone(),
            fixed,
            severity: advisory.severity,
            summary: advisory.summary.clone(),
            approximate: candidate.approximate,
            layer: None,
            introduced_by: None,
            fix: None,
        });
    }
    Ok(findings)
}

/// The name to show: a CVE when the advisory has one, else `fallback`.
fn preferred_id(names: &[String], fallback: &str) -> String {
    names
        .iter()
        .find(|name| name.starts_with("CVE-"))
        .cloned()
        .unwrap_or_else(|| fallback.to_string())
}
