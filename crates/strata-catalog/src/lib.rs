//! A catalogue of an image family, pure: from the plan's builds and each image's inspected
//! facts, the data behind the catalogue's pages (`catalog.json`, its schema versioned), a static
//! web site (the drawn tree, a page per image, a package search in the page) and a Markdown
//! page per image in the shape of docker-stacks' build manifests, for wikis.

mod history;
mod read;
mod site;
mod tree;

use std::collections::BTreeMap;
use std::fmt::Write as _;

pub use history::{build_tag_pattern, releases, PastBuild, Release};
pub use read::{lint_findings, read_images, ReadImage};
pub use site::{site, SiteFile};

use serde::Serialize;
use strata_inspect::{ImageFacts, Package, BASE_DIGEST_LABEL, DESCRIPTION_LABEL, REVISION_LABEL};
use strata_plan::Build;

/// Bumped when a field of `catalog.json` changes meaning or disappears.
pub const CATALOG_SCHEMA_VERSION: u32 = 1;

/// The family.
#[derive(Debug, Clone, Serialize)]
pub struct Catalog {
    pub schema_version: u32,
    /// `strata <version>`.
    pub generated_by: String,
    /// Images in graph order: parents before children.
    pub images: Vec<CatalogImage>,
}

/// One image of the family.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogImage {
    /// Its name in the graph (`strata graph`).
    pub name: String,
    /// The image of the family it is built on; `None` for a root.
    pub parent: Option<String>,
    /// The external base a root is built on.
    pub base: Option<String>,
    /// Its tags, unique first.
    pub tags: Vec<String>,
    /// Whether an image was found under its tags (a page without facts otherwise).
    pub published: bool,
    /// The OCI `description` label (not one it has from its parent), else the first paragraph
    /// of a README beside its Dockerfile.
    pub description: Option<String>,
    /// The reference its facts were read from.
    pub reference: Option<String>,
    pub digest: Option<String>,
    pub created: Option<String>,
    /// `org.opencontainers.image.revision`.
    pub revision: Option<String>,
    /// The digest of the image it was built on (`org.opencontainers.image.base.digest`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_digest: Option<String>,
    /// `ubuntu 24.04`.
    pub os: Option<String>,
    pub python: Option<String>,
    pub architecture: Option<String>,
    pub size: Option<u64>,
    pub compressed_size: Option<u64>,
    /// Packages of every kind.
    pub packages: Vec<Package>,
    /// Its Markdown page, relative to the catalogue's directory.
    pub page: String,
    /// Its web page, relative to the catalogue's directory.
    pub html: String,
    /// Its builds the registry holds, newest first, each with what changed since the one
    /// before (read with `--registry` only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Release>,
    /// The tests its build runs before any tag moves (its ancestors' first), by name.
    pub tests: Vec<ImageTestSummary>,
    /// What `strata lint` finds in its Dockerfile.
    pub lint: Vec<LintFinding>,
    /// Its CycloneDX SBOM, relative to the catalogue's directory (published images only).
    pub sbom: Option<String>,
    /// Its signatures, read from the registry beside it (`--registry` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<SignatureSummary>,
    /// For a multi-platform tag, each platform's image manifest (`--registry` only): `digest` is
    /// then the index's, and the facts are the platform's this machine runs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<PlatformDigest>,
    /// Other tags the registry has on the image read (a tagger's `python-3.12`, a release's),
    /// as references (`--registry` only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also_tagged: Vec<String>,
    /// Its known vulnerabilities (`--audit-db` only), the most severe first, those of layers
    /// its parent has too naming the parent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vulnerabilities: Option<Vec<Vulnerability>>,
}

/// A known vulnerability of an image's package, as its page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Vulnerability {
    pub id: String,
    pub aliases: Vec<String>,
    pub ecosystem: String,
    pub package: String,
    pub version: String,
    /// `low` … `critical`, or `unknown`.
    pub severity: String,
    pub fixed: Option<String>,
    /// The layer that brought the package in (1 for the bottom one).
    pub layer: Option<usize>,
    /// The image of the family it comes from (its parent's layers), when not this one, and
    /// that image's web page (relative to the catalogue's directory).
    pub from: Option<String>,
    pub from_page: Option<String>,
    /// What would fix it, as a sentence.
    pub fix: Option<String>,
}

/// One platform's image of a multi-platform tag.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformDigest {
    /// `linux/arm64`.
    pub platform: String,
    pub digest: String,
}

/// Whether an image is signed, and by which of the keys given.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureSummary {
    /// How many signatures are kept beside it (0: not signed).
    pub signatures: usize,
    /// The given keys that verified one (`name (fingerprint)`).
    pub signed_by: Vec<String>,
    /// Its SLSA provenance predicate, from an attestation one of the keys signed (written
    /// beside the pages, not into `catalog.json`).
    #[serde(skip)]
    pub provenance: Option<serde_json::Value>,
    /// The provenance's file, relative to the catalogue's directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance_file: Option<String>,
}

/// A test of an image, as its page names it.
#[derive(Debug, Clone, Serialize)]
pub struct ImageTestSummary {
    pub name: String,
    /// The image whose directory or settings declare it.
    pub declared_by: String,
}

/// A lint finding in an image's Dockerfile.
#[derive(Debug, Clone, Serialize)]
pub struct LintFinding {
    /// `APT004`.
    pub rule: String,
    pub name: String,
    /// `error`, `warning` or `info`.
    pub severity: String,
    pub line: usize,
    pub message: String,
}

/// What the catalogue is made from for one build: its build, its facts when found, and the
/// README text beside its Dockerfile.
pub struct Entry<'a> {
    pub build: &'a Build,
    pub facts: Option<&'a ImageFacts>,
    pub readme: Option<String>,
    /// Its earlier builds, newest first.
    pub history: &'a [PastBuild],
    /// What `strata lint` found in its Dockerfile.
    pub lint: Vec<LintFinding>,
    /// Its signatures, when read.
    pub signature: Option<SignatureSummary>,
    /// Each platform's manifest, for a multi-platform tag.
    pub platforms: Vec<PlatformDigest>,
    /// Other tags on the image read.
    pub also_tagged: Vec<String>,
    /// Its findings against an advisory store (`--audit-db`), each layer placed.
    pub findings: Option<Vec<strata_audit::Finding>>,
}

/// The Markdown page of an image, relative to the catalogue's directory.
pub fn page_path(name: &str) -> String {
    format!("images/{}.md", file_stem(name))
}

/// The web page of an image, relative to the catalogue's directory.
pub fn html_path(name: &str) -> String {
    format!("images/{}.html", file_stem(name))
}

/// The CycloneDX SBOM of an image, relative to the catalogue's directory.
pub fn sbom_path(name: &str) -> String {
    format!("sbom/{}.cdx.json", file_stem(name))
}

/// An image's name as its files are named (`essentials:1.0` is `essentials_1.0`).
pub(crate) fn file_stem(name: &str) -> String {
    name.chars()
        .map(|character| match character {
            '/' | ':' | '\\' => '_',
            other => other,
        })
        .collect()
}

/// The catalogue of `entries` (in graph order).
pub fn catalog(entries: &[Entry<'_>]) -> Catalog {
    let images = entries
        .iter()
        .map(|entry| {
            let build = entry.build;
            let facts = entry.facts;
            let no_labels = BTreeMap::new();
            let labels = facts.map_or(&no_labels, |facts| &facts.image.labels);
            // A label the image has from its parent describes the parent, not it.
            let parent_description = build
                .parent
                .as_ref()
                .and_then(|parent| entries.iter().find(|other| other.build.name == parent.name))
                .and_then(|parent| parent.facts)
                .and_then(|facts| facts.image.labels.get(DESCRIPTION_LABEL));
            let description = labels
                .get(DESCRIPTION_LABEL)
                .filter(|own| Some(*own) != parent_description)
                .cloned()
                .or_else(|| entry.readme.as_deref().and_then(first_paragraph));
            CatalogImage {
                name: build.name.clone(),
                parent: build.parent.as_ref().map(|parent| parent.name.clone()),
                base: build.parent.is_none().then(|| build.from.clone()),
                tags: build.tags.clone(),
                published: facts.is_some(),
                description,
                reference: facts.map(|facts| facts.image.reference.clone()),
                digest: facts.and_then(|facts| facts.image.digests.first().cloned()),
                created: facts.and_then(|facts| facts.image.created.clone()),
                revision: labels.get(REVISION_LABEL).cloned(),
                base_digest: labels.get(BASE_DIGEST_LABEL).cloned(),
                os: facts.and_then(|facts| {
                    facts.os_release.as_ref().map(|os| {
                        format!("{} {}", os.id, os.version_id.as_deref().unwrap_or(""))
                            .trim()
                            .to_string()
                    })
                }),
                python: facts.and_then(|facts| {
                    facts
                        .python
                        .default
                        .as_ref()
                        .map(|python| python.version.clone())
                }),
                architecture: facts.and_then(|facts| facts.image.architecture.clone()),
                size: facts.map(|facts| facts.image.size),
                compressed_size: facts.and_then(|facts| facts.image.compressed_size),
                packages: facts.map(strata_inspect::package_list).unwrap_or_default(),
                page: page_path(&build.name),
                html: html_path(&build.name),
                history: releases(entry.history),
                tests: build
                    .tests
                    .iter()
                    .map(|test| ImageTestSummary {
                        name: test.name.clone(),
                        declared_by: test.declared_by.clone(),
                    })
                    .collect(),
                lint: entry.lint.clone(),
                sbom: facts.map(|_| sbom_path(&build.name)),
                signature: entry.signature.clone().map(|mut signature| {
                    if signature.provenance.is_some() {
                        signature.provenance_file =
                            Some(format!("provenance/{}.slsa.json", file_stem(&build.name)));
                    }
                    signature
                }),
                platforms: entry.platforms.clone(),
                also_tagged: entry.also_tagged.clone(),
                vulnerabilities: entry
                    .findings
                    .as_ref()
                    .map(|findings| vulnerabilities(entry, entries, findings)),
            }
        })
        .collect();
    Catalog {
        schema_version: CATALOG_SCHEMA_VERSION,
        generated_by: format!("strata {}", env!("CARGO_PKG_VERSION")),
        images,
    }
}

/// An image's findings as its page shows them: those of layers its parent has too name the
/// parent, whose page reports them, and are fixed there.
fn vulnerabilities(
    entry: &Entry<'_>,
    entries: &[Entry<'_>],
    findings: &[strata_audit::Finding],
) -> Vec<Vulnerability> {
    let parent = entry
        .build
        .parent
        .as_ref()
        .and_then(|parent| entries.iter().find(|other| other.build.name == parent.name));
    let shared = match (entry.facts, parent.and_then(|parent| parent.facts)) {
        (Some(facts), Some(parent)) => strata_audit::shared_layers(facts, parent),
        _ => 0,
    };
    let parent_name = parent.map(|parent| parent.build.name.as_str());
    findings
        .iter()
        .map(|finding| {
            let layer = finding.layer.as_ref().map(|layer| layer.index);
            let from = parent_name
                .filter(|_| layer.is_some_and(|index| index <= shared))
                .map(str::to_string);
            let provenance = strata_audit::Provenance {
                base: parent_name.map(|name| strata_audit::BaseLayers {
                    reference: name,
                    layers: shared,
                    in_family: true,
                    newer: None,
                }),
                locks: &[],
            };
            Vulnerability {
                id: finding.id.clone(),
                aliases: finding.aliases.clone(),
                ecosystem: finding.ecosystem.clone(),
                package: finding.package.clone(),
                version: finding.version.clone(),
                severity: finding.severity.as_str().to_string(),
                fixed: finding.fixed.clone(),
                layer,
                from_page: from.as_deref().map(html_path),
                from,
                fix: strata_audit::suggest_fix(finding, &provenance)
                    .map(|fix| fix.describe(finding)),
            }
        })
        .collect()
}

/// An image's Markdown page: docker-stacks' build-manifest shape (its facts' manifest), headed
/// by where it sits in the family; a page saying it is not published when it has no facts.
pub fn markdown_page(image: &CatalogImage, facts: Option<&ImageFacts>) -> String {
    let mut page = format!("# {}\n\n", image.name);
    if let Some(description) = &image.description {
        page.push_str(description);
        page.push_str("\n\n");
    }
    match (&image.parent, &image.base) {
        (Some(parent), _) => {
            let _ = write!(page, "Built on [{parent}]({}).\n\n", relative_page(parent));
        }
        (None, Some(base)) => {
            let _ = write!(page, "Built on `{base}`.\n\n");
        }
        _ => {}
    }
    page.push_str("Tags: ");
    page.push_str(
        &image
            .tags
            .iter()
            .map(|tag| format!("`{tag}`"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    page.push_str("\n\n");
    match facts {
        Some(facts) => page.push_str(&strata_inspect::markdown(facts)),
        None => page.push_str("Not published: no image was found under its tags.\n"),
    }
    page
}

/// A page's link to another image's page (both under `images/`).
fn relative_page(name: &str) -> String {
    page_path(name)
        .strip_prefix("images/")
        .map(str::to_string)
        .unwrap_or_default()
}

/// The first paragraph of a README, its heading lines left out.
fn first_paragraph(readme: &str) -> Option<String> {
    let paragraph: Vec<&str> = readme
        .lines()
        .map(str::trim)
        .skip_while(|line| line.is_empty() || line.starts_with('#'))
        .take_while(|line| !line.is_empty())
        .collect();
    (!paragraph.is_empty()).then(|| paragraph.join(" "))
}

/// An image of a catalogue, published, with nothing read yet: for tests.
#[cfg(test)]
pub(crate) fn test_image(name: &str, parent: Option<&str>) -> CatalogImage {
    CatalogImage {
        name: name.to_string(),
        parent: parent.map(str::to_string),
        base: parent.is_none().then(|| "debian:12".to_string()),
        tags: Vec::new(),
        published: true,
        description: None,
        reference: None,
        digest: None,
        created: None,
        revision: None,
        base_digest: None,
        os: None,
        python: None,
        architecture: None,
        size: None,
        compressed_size: None,
        packages: Vec::new(),
        page: page_path(name),
        html: html_path(name),
        history: Vec::new(),
        tests: Vec::new(),
        lint: Vec::new(),
        sbom: None,
        signature: None,
        platforms: Vec::new(),
        also_tagged: Vec::new(),
        vulnerabilities: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_named_from_image_names_and_readmes_give_a_description() {
        assert_eq!(page_path("essentials:1.0"), "images/essentials_1.0.md");
        assert_eq!(page_path("family/tool"), "images/family_tool.md");
        assert_eq!(
            first_paragraph("# Astro\n\nTools for\nastronomy.\n\nMore.\n").as_deref(),
            Some("Tools for astronomy.")
        );
        assert_eq!(first_paragraph("# Only a heading\n"), None);
    }
}
