//! Every Dockerfile of a repository with its context from the model: which references are the
//! repository's own images (and what those set up, parents first), which name one the wrong
//! way, which images are final, and the compat layers as fragments of the images they finish.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use strata_dockerfile::{parse, ImageReference, Stages};
use strata_repo::{LayerId, LayoutKind, Repository};

use crate::context::{Facts, ImageContext};
use crate::model::{item_facts, File};

/// One Dockerfile to lint.
#[derive(Debug, Clone)]
pub struct Target {
    /// Where to read (and, with `--fix`, write) it.
    pub path: PathBuf,
    /// The path findings name: relative to the repository root.
    pub display: PathBuf,
    /// What the rules know about it beyond its text.
    pub context: ImageContext,
    /// Rules the repository's settings silence for this file.
    pub ignore: Vec<String>,
}

/// The Dockerfiles of a repository, each with its context.
pub fn repository_targets(repository: &Repository) -> Vec<Target> {
    let texts: Vec<Option<String>> = repository
        .layers
        .iter()
        .map(|layer| fs_err::read_to_string(repository.root.join(&layer.dockerfile)).ok())
        .collect();
    let mut facts: Vec<Option<Facts>> = vec![None; repository.layers.len()];
    for id in 0..repository.layers.len() {
        layer_facts(repository, &texts, id, &mut facts, 0);
    }
    let dependents = repository.dependents();
    let mut targets = Vec::new();
    for (id, layer) in repository.layers.iter().enumerate() {
        let mut context = layer_context(repository, &texts, id, &mut facts);
        let finished_by_compat = layer
            .science()
            .is_some_and(|science| science.compat.is_some());
        context.is_final = dependents[id].is_empty() && !finished_by_compat;
        targets.push(Target {
            path: repository.root.join(&layer.dockerfile),
            display: PathBuf::from(&layer.dockerfile),
            context,
            ignore: image_ignores(repository, &layer.name),
        });
    }
    for compat in &repository.compat_layers {
        // A compat layer finishes the final science layers that name it: what every one of
        // them sets up (their parents' `CMD`, `ENV LANG`), then what its includes add.
        let mut users = repository.layers.iter().enumerate().filter(|(_, layer)| {
            layer.science().is_some_and(|science| {
                science.is_final && science.compat.as_deref() == Some(compat.name.as_str())
            })
        });
        let mut fragment_facts = users.next().map_or_else(Facts::default, |(first, _)| {
            let mut common = facts[first].clone().unwrap_or_default();
            for (other, _) in users {
                common.intersect(&facts[other].clone().unwrap_or_default());
            }
            common
        });
        for included in &compat.expanded_includes {
            if let Some(other) = repository.compat_layer(included) {
                fragment_facts.merge(&fragment_own_facts(&other.dockerfile_text));
            }
        }
        let used = repository.layers.iter().any(|layer| {
            layer
                .science()
                .and_then(|science| science.compat.as_deref())
                == Some(compat.name.as_str())
        });
        let display = Path::new(&compat.directory).join("Dockerfile");
        targets.push(Target {
            path: repository.root.join(&display),
            display,
            context: ImageContext {
                image: Some(compat.name.clone()),
                is_final: used,
                fragment: true,
                context_directory: Some(repository.root.join(&compat.directory)),
                fragment_facts,
                ..ImageContext::default()
            },
            ignore: image_ignores(repository, &compat.name),
        });
    }
    targets
}

fn image_ignores(repository: &Repository, name: &str) -> Vec<String> {
    repository
        .config
        .images
        .get(name)
        .map(|config| config.lint.ignore.clone())
        .unwrap_or_default()
}

fn fragment_own_facts(text: &str) -> Facts {
    let Ok(dockerfile) = parse(text) else {
        return Facts::default();
    };
    let context = ImageContext {
        fragment: true,
        ..ImageContext::default()
    };
    let file = File::read(&dockerfile, &context);
    let mut facts = Facts::default();
    for item in file.stages.iter().flat_map(|stage| &stage.items) {
        facts.merge(&item_facts(item));
    }
    facts
}

/// What an image sets up for images built on it: its final stage's facts, parents first.
fn layer_facts(
    repository: &Repository,
    texts: &[Option<String>],
    id: LayerId,
    facts: &mut Vec<Option<Facts>>,
    depth: usize,
) -> Facts {
    if let Some(known) = &facts[id] {
        return known.clone();
    }
    // The model has no cycles; the depth guard only keeps a bug from overflowing the stack.
    if depth > repository.layers.len() {
        return Facts::default();
    }
    let layer = &repository.layers[id];
    let internal = internal_references(repository, texts, id, facts, depth + 1);
    let context = ImageContext {
        build_args: layer.build_args.clone(),
        internal,
        ..ImageContext::default()
    };
    let own = texts[id]
        .as_deref()
        .and_then(|text| parse(text).ok())
        .map(|dockerfile| {
            let file = File::read(&dockerfile, &context);
            file.stages
                .len()
                .checked_sub(1)
                .map(|last| file.facts_until(last, usize::MAX))
                .unwrap_or_default()
        })
        .unwrap_or_default();
    facts[id] = Some(own.clone());
    own
}

/// The references a layer's Dockerfile makes to the repository's images (its parent's base and
/// what it reads), with what each of those sets up.
fn internal_references(
    repository: &Repository,
    texts: &[Option<String>],
    id: LayerId,
    facts: &mut Vec<Option<Facts>>,
    depth: usize,
) -> BTreeMap<String, Facts> {
    let layer = &repository.layers[id];
    let linked = layer
        .parent
        .map(|parent| (&layer.base, parent))
        .into_iter()
        .chain(
            layer
                .reads
                .iter()
                .map(|(reference, other)| (reference, *other)),
        );
    let mut internal = BTreeMap::new();
    for (reference, other) in linked {
        let other_facts = layer_facts(repository, texts, other, facts, depth);
        internal.insert(reference.clone(), other_facts);
    }
    internal
}

fn layer_context(
    repository: &Repository,
    texts: &[Option<String>],
    id: LayerId,
    facts: &mut Vec<Option<Facts>>,
) -> ImageContext {
    let layer = &repository.layers[id];
    let internal = internal_references(repository, texts, id, facts, 0);
    let mut misreferenced = BTreeMap::new();
    if let Some(dockerfile) = texts[id].as_deref().and_then(|text| parse(text).ok()) {
        if let Ok(stages) = Stages::read(&dockerfile, &layer.build_args) {
            for site in stages.external_references() {
                if internal.contains_key(&site.expanded) {
                    continue;
                }
                if let Some(advice) = misreference(repository, id, &site.expanded) {
                    misreferenced.insert(site.expanded.clone(), advice);
                }
            }
        }
    }
    ImageContext {
        image: Some(layer.name.clone()),
        is_final: true,
        fragment: false,
        build_args: layer.build_args.clone(),
        internal,
        misreferenced,
        context_directory: Some(repository.root.join(&layer.directory)),
        fragment_facts: Facts::default(),
    }
}

/// Why a reference the model did not link names one of the repository's images the wrong way.
fn misreference(repository: &Repository, id: LayerId, reference: &str) -> Option<String> {
    let parsed = ImageReference::parse(reference);
    let name = parsed.name();
    if repository.layouts.contains(&LayoutKind::Sciserver) {
        let path = parsed.repository;
        if path == format!("sci/{name}") || path.ends_with(&format!("/sci/{name}")) {
            let target = repository.layers.iter().find(|layer| {
                layer
                    .science()
                    .is_some_and(|science| science.target == name)
            })?;
            let science = target.science()?;
            if target.name == repository.layers[id].name {
                return None;
            }
            let written = match (parsed.tag, parsed.digest) {
                (_, Some(digest)) => format!("a digest (`@{digest}`)"),
                (None, None) => "no tag".to_string(),
                (Some(tag), None) if tag.starts_with(&format!("{}-", science.version)) => {
                    format!("a build tag (`:{tag}`), which never moves")
                }
                (Some(tag), None) => {
                    format!("a version this repository does not define (`:{tag}`)")
                }
            };
            return Some(format!(
                "names science layer `{name}` by {written}; refer to it as `sci/{name}:{}` so strata builds it first",
                science.version
            ));
        }
        if path == format!("rel/{name}") || path.ends_with(&format!("/rel/{name}")) {
            let finals: Vec<String> = repository
                .layers
                .iter()
                .filter_map(|layer| layer.science())
                .filter(|science| science.image == name && science.is_final)
                .filter(|science| {
                    parsed.tag.is_none_or(|tag| {
                        tag == science.version || tag.starts_with(&format!("{}-", science.version))
                    })
                })
                .map(|science| format!("`sci/{}:{}`", science.target, science.version))
                .collect();
            if finals.is_empty() {
                return None;
            }
            return Some(format!(
                "is a compat build of `{name}`: it brings compat files that only take space; build on the science layer {}",
                finals.join(" or ")
            ));
        }
    }
    if parsed.digest.is_some() {
        let without_digest = match parsed.tag {
            Some(tag) => format!("{}:{tag}", parsed.repository),
            None => parsed.repository.to_string(),
        };
        if repository.names_image(&without_digest) {
            return Some(format!(
                "pins an image this repository builds by digest: strata treats it as external and will not build it first; refer to it as `{without_digest}`"
            ));
        }
    }
    None
}
