//! Matching a `FROM` to the image of the tree it names: by tag, by name under a namespace,
//! the nearest of several candidates, near misses reported.

use std::collections::{BTreeSet, HashMap};

use strata_dockerfile::ImageReference;

use super::tags::known_tags;
use super::ReadImage;
use crate::config::{Config, ParentSetting};
use crate::error::{ConfigError, RepoError};
use crate::model::{Layer, LayerDetails, LayerId, NearMiss};

/// One way an image of the repository can be named in a `FROM` line.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) id: LayerId,
    /// Its directory, for nearness.
    pub(super) directory: String,
    /// The repository path it is tagged under, without a registry (`heasoft`, `sci/base`).
    pub(super) path: String,
    /// The tag, when one is known without a commit.
    pub(super) tag: Option<String>,
}
/// Matches `FROM` references to images of the repository.
///
/// 1. A digest-pinned reference is external.
/// 2. Candidates are the images tagged under a repository path that ends the reference's
///    repository at a `/` (`heasoft` for `heasoft:latest`; `sciserver-rstudio` for
///    `containers.repo.sciserver.org/sciserver-rstudio:2021.09.2_382`).
/// 3. A registry path (`registry/name:tag`) matches only images carrying its tag (`latest`
///    when it has none), the nearest in the tree winning: the ones sharing the deepest
///    directory with the referring image. Two at that depth are ambiguous.
/// 4. A bare name (`sciserver-base`, `heasoft:latest`) is looked for nearest first: in the
///    directories the referrer shares with candidates, deepest first. At each depth an image
///    carrying the tag wins; failing that, below the root, the one image of that name
///    (`FROM sciserver-base:ubuntu-20.04` in `ubuntu-20.04/`). Two at one depth are
///    ambiguous. At the root only the tag matches. Otherwise the reference is external.
pub(crate) struct Matcher {
    pub(super) entries: Vec<Entry>,
    /// Entries by the last component of their path: a reference can only match an entry whose
    /// path ends it, so each lookup reads its few candidates, not every entry.
    pub(super) by_name: HashMap<String, Vec<usize>>,
}
/// An ambiguous reference: the candidates, by layer name.
#[derive(Debug)]
pub(crate) struct Ambiguous(pub Vec<LayerId>);
pub(super) fn common_depth(a: &str, b: &str) -> usize {
    let components = |path: &str| -> Vec<String> {
        path.split('/')
            .filter(|component| !component.is_empty() && *component != ".")
            .map(str::to_string)
            .collect()
    };
    components(a)
        .iter()
        .zip(components(b).iter())
        .take_while(|(x, y)| x == y)
        .count()
}
impl Matcher {
    /// Every image of `layers` (all families), as its tags name it.
    pub fn new(layers: &[Layer]) -> Self {
        let mut entries = Vec::new();
        for (id, layer) in layers.iter().enumerate() {
            match &layer.details {
                LayerDetails::Generic(image) => {
                    for (path, tag) in known_tags(image) {
                        entries.push(Entry {
                            id,
                            directory: layer.directory.clone(),
                            path,
                            tag: Some(tag),
                        });
                    }
                    // The name alone, for rule 4.
                    entries.push(Entry {
                        id,
                        directory: layer.directory.clone(),
                        path: image.image.clone(),
                        tag: None,
                    });
                }
                LayerDetails::Science(science) => entries.push(Entry {
                    id,
                    directory: layer.directory.clone(),
                    path: format!("sci/{}", science.target),
                    tag: Some(science.version.clone()),
                }),
                LayerDetails::Stacks(stacks) => entries.push(Entry {
                    id,
                    directory: layer.directory.clone(),
                    path: stacks.image.clone(),
                    tag: Some(match &stacks.variant {
                        Some(variant) => format!("{variant}-latest"),
                        None => "latest".to_string(),
                    }),
                }),
            }
        }
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, entry) in entries.iter().enumerate() {
            let name = entry.path.rsplit('/').next().unwrap_or(&entry.path);
            by_name.entry(name.to_string()).or_default().push(index);
        }
        Self { entries, by_name }
    }

    /// The image `reference`, written in the Dockerfile in `directory` of image `own`, names.
    pub fn resolve(
        &self,
        reference: &str,
        directory: &str,
        own: LayerId,
    ) -> Result<Option<LayerId>, Ambiguous> {
        let parsed = ImageReference::parse(reference);
        if parsed.digest.is_some() {
            return Ok(None);
        }
        let repository = parsed.repository;
        let tag = parsed.tag.unwrap_or("latest");
        let names_path = |path: &str| {
            repository == path
                || repository
                    .strip_suffix(path)
                    .is_some_and(|prefix| prefix.ends_with('/'))
        };
        let name = repository.rsplit('/').next().unwrap_or(repository);
        let candidates: Vec<&Entry> = self
            .by_name
            .get(name)
            .into_iter()
            .flatten()
            .map(|index| &self.entries[*index])
            .filter(|entry| entry.id != own && names_path(&entry.path))
            .collect();
        let exact: Vec<&Entry> = candidates
            .iter()
            .copied()
            .filter(|entry| entry.tag.as_deref() == Some(tag))
            .collect();
        if repository.contains('/') {
            // A registry path names a published tag: only an image carrying it matches.
            return nearest(&exact, directory, 0);
        }
        // A bare name: nearest in the tree first; at each depth an image carrying the tag
        // wins, and below the root one image of the name matches whatever the tag.
        let depths: BTreeSet<usize> = candidates
            .iter()
            .map(|entry| common_depth(&entry.directory, directory))
            .collect();
        for depth in depths.into_iter().rev() {
            let at = |entries: &[&Entry]| -> BTreeSet<LayerId> {
                entries
                    .iter()
                    .filter(|entry| common_depth(&entry.directory, directory) == depth)
                    .map(|entry| entry.id)
                    .collect()
            };
            let exact_here = at(&exact);
            let here = if exact_here.is_empty() && depth > 0 {
                at(&candidates)
            } else {
                exact_here
            };
            match here.len() {
                0 => {}
                1 => return Ok(here.into_iter().next()),
                _ => return Err(Ambiguous(here.into_iter().collect())),
            }
        }
        Ok(None)
    }
}
/// The one image among `entries` sharing the deepest directory with `directory`, at least
/// `minimum_depth` components deep.
pub(super) fn nearest(
    entries: &[&Entry],
    directory: &str,
    minimum_depth: usize,
) -> Result<Option<LayerId>, Ambiguous> {
    let Some(depth) = entries
        .iter()
        .map(|entry| common_depth(&entry.directory, directory))
        .max()
    else {
        return Ok(None);
    };
    if depth < minimum_depth {
        return Ok(None);
    }
    let ids: BTreeSet<LayerId> = entries
        .iter()
        .filter(|entry| common_depth(&entry.directory, directory) == depth)
        .map(|entry| entry.id)
        .collect();
    match ids.len() {
        1 => Ok(ids.into_iter().next()),
        _ => Err(Ambiguous(ids.into_iter().collect())),
    }
}
/// Whether a reference names a generic image of `layers`.
pub(crate) fn names_image(reference: &str, layers: &[Layer]) -> bool {
    let matcher = Matcher::new(layers);
    let parsed = ImageReference::parse(reference);
    matcher.entries.iter().any(|entry| {
        layers[entry.id].generic().is_some()
            && entry.tag.as_deref() == Some(parsed.tag.unwrap_or("latest"))
            && (parsed.repository == entry.path
                || parsed
                    .repository
                    .strip_suffix(entry.path.as_str())
                    .is_some_and(|prefix| prefix.ends_with('/')))
    }) && parsed.digest.is_none()
}
/// Generic images left on an external base written `namespace/<name>:<tag>` where `<name>` is
/// one of the repository's generic images (not the image itself, not pinned by digest, no
/// `parent` configured).
pub(super) fn near_misses(config: &Config, others: &[Layer], layers: &[Layer]) -> Vec<NearMiss> {
    let offset = others.len();
    let mut misses = Vec::new();
    for (index, layer) in layers.iter().enumerate() {
        let configured = config
            .images
            .get(&layer.name)
            .is_some_and(|image| image.parent.is_some());
        if layer.parent.is_some() || configured || layer.generic().is_none() {
            continue;
        }
        let parsed = ImageReference::parse(&layer.base);
        let name = parsed.name();
        if parsed.digest.is_some() || !parsed.has_namespace() {
            continue;
        }
        let candidates: Vec<LayerId> = layers
            .iter()
            .enumerate()
            .filter(|(other, candidate)| {
                *other != index && candidate.generic().is_some_and(|image| image.image == name)
            })
            .map(|(other, _)| offset + other)
            .collect();
        if candidates.is_empty() {
            continue;
        }
        let namespace = parsed
            .repository
            .strip_suffix(name)
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string();
        misses.push(NearMiss {
            image: layer.name.clone(),
            dockerfile: layer.dockerfile.clone(),
            reference: layer.base.clone(),
            namespace,
            tag: parsed.tag.unwrap_or("latest").to_string(),
            candidates,
        });
    }
    misses
}
pub(super) fn link_parents(
    read_images: Vec<ReadImage>,
    config: &Config,
    others: &[Layer],
) -> Result<Vec<Layer>, RepoError> {
    let offset = others.len();
    let mut all: Vec<Layer> = others.to_vec();
    all.extend(read_images.iter().map(|read| read.layer.clone()));
    let matcher = Matcher::new(&all);
    let mut layers = Vec::with_capacity(read_images.len());
    for (index, read) in read_images.into_iter().enumerate() {
        let id = offset + index;
        let mut layer = read.layer;
        let ambiguous = |reference: &str, candidates: Ambiguous| RepoError::AmbiguousParent {
            image: layer.name.clone(),
            dockerfile: layer.dockerfile.clone(),
            reference: reference.to_string(),
            candidates: candidates
                .0
                .iter()
                .map(|id| all[*id].name.clone())
                .collect(),
        };
        let configured = config
            .images
            .get(&layer.name)
            .and_then(|image| image.parent.clone());
        layer.parent = match configured {
            Some(ParentSetting::External) => None,
            Some(ParentSetting::Image(parent)) => Some(
                all.iter()
                    .position(|other| other.name == parent)
                    .ok_or_else(|| ConfigError::UnknownParent {
                        path: config.display_path(),
                        name: layer.name.clone(),
                        parent: parent.clone(),
                    })?,
            ),
            None => matcher
                .resolve(&layer.base, &layer.directory, id)
                .map_err(|candidates| ambiguous(&layer.base, candidates))?,
        };
        let mut reads = Vec::new();
        for reference in &read.other_references {
            if let Some(dependency) = matcher
                .resolve(reference, &layer.directory, id)
                .map_err(|candidates| ambiguous(reference, candidates))?
            {
                reads.push((reference.clone(), dependency));
            }
        }
        let mut also_needs: Vec<LayerId> = reads
            .iter()
            .map(|(_, dependency)| *dependency)
            .filter(|dependency| Some(*dependency) != layer.parent)
            .collect();
        also_needs.sort_unstable();
        also_needs.dedup();
        layer.reads = reads;
        layer.also_needs = also_needs;
        layers.push(layer);
    }
    Ok(layers)
}
