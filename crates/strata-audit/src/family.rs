//! A whole audit run: the images named, or a family's (parents first), each read from the
//! engine or its registry for each platform asked, matched once per package, its findings
//! placed in their layers, given a fix, and those of a layer the image it is built on has too
//! reported there, once. External bases are read once and reported as bases of the family.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use strata_inspect::ImageFacts;
use strata_session::Session;

use crate::{AuditError, AuditWork, Auditor, BaseLayers, Finding, ImageReport, Provenance, Store};

/// What to audit: an image by its references (the first that is there), and in a family audit
/// its name, the image of the family it is built on, and where its definition lives.
#[derive(Debug, Clone, Default)]
pub struct AuditTarget {
    pub references: Vec<String>,
    pub name: Option<String>,
    /// The index of the target it is built on.
    pub parent: Option<usize>,
    /// Its Dockerfile, relative to the repository root.
    pub dockerfile: Option<String>,
    /// Its directory, for the lock files a fix names.
    pub directory: Option<PathBuf>,
}

/// One audit run.
#[derive(Debug, Clone, Copy)]
pub struct AuditRequest<'a> {
    /// Parents before children.
    pub targets: &'a [AuditTarget],
    /// The repository root of a family audit (`None`: images named by reference, whose
    /// external bases are read to tell their layers apart but not reported).
    pub root: Option<&'a Path>,
    /// Read images from their registries, not the local engine.
    pub registry: bool,
    /// The platforms to read (empty: the image's own, or this machine's).
    pub platforms: &'a [String],
}

/// What an audit run found.
#[derive(Debug)]
pub struct AuditRun {
    pub reports: Vec<ImageReport>,
    pub work: AuditWork,
    /// What the user should know: images not found under any tag, stores without an image's
    /// distribution.
    pub warnings: Vec<String>,
}

/// An image audited: its facts and every finding, inherited ones included (for the images
/// built on it).
struct Audited {
    facts: Arc<ImageFacts>,
    every_finding: Vec<Finding>,
}

/// Audit `request`'s images against `store`.
pub fn audit_images(
    session: &Session,
    store: &Store,
    request: &AuditRequest<'_>,
) -> Result<AuditRun, AuditError> {
    let family = request.root.is_some();
    let mut warnings = Vec::new();
    let mut auditor = Auditor::new(store);
    let mut reports: Vec<ImageReport> = Vec::new();
    // External bases read once (per platform): by reference, the index of their report and
    // what was audited.
    // (An image audited by reference reads its base too, to tell the base's layers from its
    // own; only a family audit reports the base.)
    let mut bases: BTreeMap<String, Option<(Option<usize>, Audited)>> = BTreeMap::new();
    // Newer images of external bases' tags, read once (with `--registry`).
    let mut newer: BTreeMap<String, Option<Arc<ImageFacts>>> = BTreeMap::new();
    let platforms: Vec<Option<&str>> = if request.platforms.is_empty() {
        vec![None]
    } else {
        request
            .platforms
            .iter()
            .map(|platform| Some(platform.as_str()))
            .collect()
    };
    for platform in platforms {
        // Per target, the index of its report and what was audited.
        let mut audited: Vec<Option<(usize, Audited)>> = Vec::new();
        for target in request.targets {
            let Some(facts) =
                read_target(target, request.registry, platform, session, &mut warnings)?
            else {
                audited.push(None);
                continue;
            };
            warn_without_ecosystem(&facts, store, &mut warnings);
            // The image it is built on: a family image audited before it, else (a family audit)
            // the external base its label names, audited once for every image on it.
            let parent = target
                .parent
                .and_then(|parent| audited.get(parent).and_then(Option::as_ref));
            let base_name = facts
                .image
                .labels
                .get(strata_inspect::BASE_NAME_LABEL)
                .cloned();
            let base_reference = base_name.as_ref().map(|name| {
                match facts.image.labels.get(strata_inspect::BASE_DIGEST_LABEL) {
                    Some(digest) if !name.contains('@') => {
                        format!("{}@{digest}", strip_tag(name))
                    }
                    _ => name.clone(),
                }
            });
            let base_key = base_reference
                .as_ref()
                .map(|reference| format!("{reference} {}", platform.unwrap_or_default()));
            if parent.is_none() {
                if let (Some(name), Some(reference), Some(key)) =
                    (&base_name, &base_reference, &base_key)
                {
                    if !bases.contains_key(key) {
                        let base = audit_base(
                            &mut auditor,
                            &[reference.clone(), name.clone()],
                            request.registry,
                            platform,
                            session,
                        )?;
                        let entry = base.map(|(report, base)| {
                            if family {
                                reports.push(report);
                                (Some(reports.len() - 1), base)
                            } else {
                                (None, base)
                            }
                        });
                        bases.insert(key.clone(), entry);
                    }
                }
            }
            let (built_on, built_on_index, in_family, built_on_name) =
                if let Some((index, parent)) = parent {
                    (
                        Some(&parent.facts),
                        Some(*index),
                        true,
                        reports[*index].shown().to_string(),
                    )
                } else {
                    let base = base_key
                        .as_ref()
                        .and_then(|key| bases.get(key))
                        .and_then(Option::as_ref);
                    (
                        base.map(|(_, base)| &base.facts),
                        base.and_then(|(index, _)| *index),
                        false,
                        base_name.clone().unwrap_or_default(),
                    )
                };
            let shared = built_on.map_or(0, |base| crate::shared_layers(&facts, base));
            // An external base whose tag moved since the build: does the new image fix it?
            let newer_base = match (&base_name, parent, request.registry) {
                (Some(name), None, true) => newer
                    .entry(format!("{name} {}", platform.unwrap_or_default()))
                    .or_insert_with(|| moved_base(name, &facts, platform, session))
                    .clone(),
                _ => None,
            };
            let mut findings = auditor.audit(&facts)?;
            place_findings(&mut auditor, &mut findings, &facts, session);
            let locks = target
                .directory
                .as_deref()
                .map(|directory| lock_files(directory, request.root))
                .unwrap_or_default();
            let provenance = Provenance {
                base: (shared > 0 || base_name.is_some()).then_some(BaseLayers {
                    reference: &built_on_name,
                    layers: shared,
                    in_family,
                    newer: newer_base.as_deref(),
                }),
                locks: &locks,
            };
            let this_image = target
                .name
                .clone()
                .unwrap_or_else(|| facts.image.reference.clone());
            for finding in &mut findings {
                finding.fix = crate::suggest_fix(finding, &provenance);
                finding.introduced_by = finding.layer.as_ref().map(|layer| {
                    if layer.index <= shared {
                        built_on_name.clone()
                    } else {
                        this_image.clone()
                    }
                });
            }
            // A finding of a layer the image it is built on has too is reported there, once
            // (without layer records: a finding that image has too).
            let every_finding = findings.clone();
            let mut inherited = 0;
            let mut inherited_from = None;
            if let Some(index) = built_on_index {
                let theirs_too = parent
                    .map(|(_, parent)| parent.every_finding.as_slice())
                    .or_else(|| {
                        base_key
                            .as_ref()
                            .and_then(|key| bases.get(key))
                            .and_then(Option::as_ref)
                            .map(|(_, base)| base.every_finding.as_slice())
                    })
                    .unwrap_or_default();
                findings.retain(|finding| {
                    let theirs = match &finding.layer {
                        Some(layer) => layer.index <= shared,
                        None => theirs_too.iter().any(|known| {
                            known.id == finding.id
                                && known.package == finding.package
                                && known.version == finding.version
                                && known.location == finding.location
                        }),
                    };
                    inherited += usize::from(theirs);
                    !theirs
                });
                if inherited > 0 {
                    inherited_from = Some(reports[index].shown().to_string());
                }
            }
            reports.push(image_report(
                &facts,
                target,
                findings,
                inherited,
                inherited_from,
            ));
            audited.push(Some((
                reports.len() - 1,
                Audited {
                    facts,
                    every_finding,
                },
            )));
        }
    }
    Ok(AuditRun {
        reports,
        work: auditor.work(),
        warnings,
    })
}

fn image_report(
    facts: &Arc<ImageFacts>,
    target: &AuditTarget,
    findings: Vec<Finding>,
    inherited: usize,
    inherited_from: Option<String>,
) -> ImageReport {
    ImageReport {
        image: facts.image.reference.clone(),
        name: target.name.clone(),
        dockerfile: target.dockerfile.clone(),
        base: false,
        platform: ImageReport::platform_of(facts),
        distribution: crate::distribution_ecosystem(facts),
        findings,
        inherited,
        inherited_from,
        facts: Some(Arc::clone(facts)),
    }
}

/// `name:tag` without its tag (`localhost:5000/a/b:1` → `localhost:5000/a/b`).
fn strip_tag(reference: &str) -> &str {
    match reference.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => name,
        _ => reference,
    }
}

/// The facts of a target, from the first of its references that is there (a family image
/// published under none is warned about and left out).
fn read_target(
    target: &AuditTarget,
    registry: bool,
    platform: Option<&str>,
    session: &Session,
    warnings: &mut Vec<String>,
) -> Result<Option<Arc<ImageFacts>>, AuditError> {
    let mut problems = Vec::new();
    for reference in &target.references {
        match session.block_on(strata_inspect::image_facts(
            session, reference, registry, platform,
        ))? {
            Ok(facts) => return Ok(Some(Arc::new(facts))),
            Err(error) if target.name.is_some() => {
                problems.push(strata_repo::join_chain(&error, ": "));
            }
            Err(error) => return Err(error.into()),
        }
    }
    warnings.push(format!(
        "`{}` is not published under any of its tags: not audited ({})",
        target.name.as_deref().unwrap_or_default(),
        problems.last().map_or("no tags", String::as_str)
    ));
    Ok(None)
}

fn warn_without_ecosystem(facts: &ImageFacts, store: &Store, warnings: &mut Vec<String>) {
    let Some(ecosystem) = crate::distribution_ecosystem(facts) else {
        return;
    };
    if !facts.deb_packages.is_empty() && !store.has_ecosystem(&ecosystem) {
        warnings.push(format!(
            "`{}`: the store has no `{ecosystem}` advisories, so its system packages were not checked (import osv.dev's `{}/all.zip`)",
            facts.image.reference,
            ecosystem.split(':').next().unwrap_or(&ecosystem)
        ));
    }
}

/// Name the layer that brought each finding's package in, from the layer records inspecting
/// just cached (a layer stack several images share is read once).
pub fn place_findings(
    auditor: &mut Auditor<'_>,
    findings: &mut [Finding],
    facts: &ImageFacts,
    session: &Session,
) {
    let cache = strata_inspect::LayerCache::new(session.caches().root());
    let records: Option<Vec<_>> = facts
        .image
        .layers
        .iter()
        .map(|layer| cache.get(&layer.diff_id))
        .collect();
    if let Some(records) = records {
        auditor.attribute_layers(findings, facts, &records);
    }
}

/// Audit an external base the family is built on (by digest first, then by name), once:
/// from the local engine (which built on it), with `--registry` else from its registry.
fn audit_base(
    auditor: &mut Auditor<'_>,
    references: &[String],
    registry: bool,
    platform: Option<&str>,
    session: &Session,
) -> Result<Option<(ImageReport, Audited)>, AuditError> {
    let sources = if registry {
        &[false, true][..]
    } else {
        &[false][..]
    };
    let attempts = sources.iter().flat_map(|from_registry| {
        references
            .iter()
            .map(move |reference| (reference, *from_registry))
    });
    for (reference, from_registry) in attempts {
        let Ok(facts) = session.block_on(strata_inspect::image_facts(
            session,
            reference,
            from_registry,
            platform,
        ))?
        else {
            continue;
        };
        let facts = Arc::new(facts);
        let mut findings = auditor.audit(&facts)?;
        place_findings(auditor, &mut findings, &facts, session);
        // Every layer is the base's: its findings are fixed by a newer base.
        let provenance = Provenance {
            base: Some(BaseLayers {
                reference,
                layers: facts.image.layers.len(),
                in_family: false,
                newer: None,
            }),
            locks: &[],
        };
        for finding in &mut findings {
            finding.fix = crate::suggest_fix(finding, &provenance);
            finding.introduced_by = Some(reference.clone());
        }
        let every_finding = findings.clone();
        let report = ImageReport {
            image: reference.clone(),
            name: None,
            dockerfile: None,
            base: true,
            platform: ImageReport::platform_of(&facts),
            distribution: crate::distribution_ecosystem(&facts),
            findings,
            inherited: 0,
            inherited_from: None,
            facts: Some(Arc::clone(&facts)),
        };
        return Ok(Some((
            report,
            Audited {
                facts,
                every_finding,
            },
        )));
    }
    Ok(None)
}

/// The image an external base's tag names in its registry now, when that is not the one
/// `image` was built on (its base digest label says which); `None` when it did not move or
/// cannot be read.
fn moved_base(
    name: &str,
    image: &ImageFacts,
    platform: Option<&str>,
    session: &Session,
) -> Option<Arc<ImageFacts>> {
    let built_on = image.image.labels.get(strata_inspect::BASE_DIGEST_LABEL)?;
    let now = session
        .block_on(strata_inspect::image_facts(session, name, true, platform))
        .ok()?
        .ok()?;
    (!now.image.digests.iter().any(|digest| digest == built_on)).then(|| Arc::new(now))
}

/// The lock files of an image's directory (`*.lock`, `pylock.toml`, `pylock.*.toml`), shown
/// relative to the repository root; none over 8 MiB is read.
fn lock_files(directory: &Path, root: Option<&Path>) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return Vec::new();
    };
    let mut locks: Vec<(String, String)> = entries
        .flatten()
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            name.ends_with(".lock") || (name.starts_with("pylock.") && name.ends_with(".toml"))
        })
        .filter(|entry| {
            entry
                .metadata()
                .is_ok_and(|meta| meta.is_file() && meta.len() <= 8 << 20)
        })
        .filter_map(|entry| {
            let path = entry.path();
            let text = std::fs::read_to_string(&path).ok()?;
            let shown = root
                .and_then(|root| path.strip_prefix(root).ok())
                .unwrap_or(&path)
                .display()
                .to_string();
            Some((shown, text))
        })
        .collect();
    locks.sort();
    locks
}
