//! What the registry holds against what the repository would build: each image's inputs hash
//! computed without building (its context, arguments, platform and parent identity) compared
//! with the `org.strata.inputs` label of its published moving tag. This is `--since
//! registry`: a fresh checkout rebuilds exactly what differs from the registry.

use std::collections::{BTreeMap, HashMap};
use strata_registry::Digest;

use futures_util::StreamExt;
use serde::Serialize;
use strata_engine::Engine;
use strata_plan::{Build, BuildKind, Plan, Reason};
use strata_registry::{parse_reference, Platform, RegistryClient, RegistryError};
use strata_repo::Repository;

use crate::assemble::{build_context, inputs_context};
use crate::context::BuildContext;
use crate::error::BuildError;
use crate::inputs::{inputs_hash, INPUTS_LABEL};

/// The image a build starts from, as the inputs hash names it: the engine's image id when the
/// engine has the image (for the platform asked for), else the config digest the registry
/// serves for the platform (the id the engine will give it once pulled), else the reference
/// itself.
pub(crate) async fn base_identity<E: Engine>(
    engine: Option<&E>,
    client: &RegistryClient,
    reference: &str,
    platform: Option<&str>,
) -> Result<String, BuildError> {
    Ok(resolve_base(engine, client, reference, platform)
        .await?
        .identity)
}

/// An external base as one platform's build starts from it.
pub(crate) struct ResolvedBase {
    /// What the inputs hash names (see `base_identity`).
    pub identity: String,
    /// For a platform the engine has no image of: the registry's manifest of that platform by
    /// digest (`repository@sha256:…`), which the build starts from instead of the tag, so no
    /// builder picks the local image of another platform or the host's entry of an index.
    pub pinned: Option<String>,
}

pub(crate) async fn resolve_base<E: Engine>(
    engine: Option<&E>,
    client: &RegistryClient,
    reference: &str,
    platform: Option<&str>,
) -> Result<ResolvedBase, BuildError> {
    let wanted = platform.and_then(Platform::parse);
    if let Some(engine) = engine {
        if let Some(image) = engine.image(reference).await? {
            let matches = match (&wanted, &image.architecture) {
                (Some(wanted), Some(architecture)) => *architecture == wanted.architecture,
                _ => true,
            };
            if matches {
                return Ok(ResolvedBase {
                    identity: image.id,
                    pinned: None,
                });
            }
        }
    }
    let unresolved = || ResolvedBase {
        identity: reference.to_string(),
        pinned: None,
    };
    let Ok(parsed) = parse_reference(reference) else {
        return Ok(unresolved());
    };
    match client.image(&parsed, wanted.as_ref()).await {
        Ok(image) => Ok(ResolvedBase {
            identity: image.config_digest.to_string(),
            pinned: wanted.map(|_| {
                format!(
                    "{}@{}",
                    strata_registry::repository_name(&parsed),
                    image.manifest_digest
                )
            }),
        }),
        Err(error) => {
            tracing::debug!("`{reference}` has no identity in its registry ({error})");
            Ok(unresolved())
        }
    }
}

/// The inputs hash of a build whose context is `context` (a compat build's generated
/// Dockerfile is rendered without the commit first).
pub(crate) fn build_inputs(
    repository: &Repository,
    build: &Build,
    context: &BuildContext,
    build_args: &BTreeMap<String, String>,
    parent: &str,
    platform: Option<&str>,
) -> Result<String, BuildError> {
    if build.kind == BuildKind::Compat {
        let stable = inputs_context(repository, build)?;
        return Ok(inputs_hash(&stable, build_args, parent, platform));
    }
    Ok(inputs_hash(context, build_args, parent, platform))
}

/// One image of the repository against its published tag.
#[derive(Debug, Clone, Serialize)]
pub struct PublishedImage {
    pub build: String,
    /// The moving tag looked up.
    pub tag: String,
    /// The inputs hash the repository gives the image now; `None` when it was not computed
    /// because an image it is built on differs already.
    pub inputs: Option<String>,
    /// The `org.strata.inputs` label of the published image; `None` when the tag is missing or
    /// has no label.
    pub published_inputs: Option<String>,
    /// The published image's manifest digest.
    pub digest: Option<Digest>,
    /// Why it differs, when it does.
    pub reason: Option<Reason>,
    /// The image it is built on that differs, when that is why.
    pub because_of: Option<String>,
}

/// The comparison, ready for the planner: per layer, its own build's reason; per layer, its
/// compat build's.
#[derive(Debug, Clone, Default)]
pub struct RegistryComparison {
    pub layers: Vec<Option<Reason>>,
    pub compat: Vec<Option<Reason>>,
    pub images: Vec<PublishedImage>,
}

/// What a published moving tag holds.
struct Published {
    config_digest: Digest,
    digest: Digest,
    inputs: Option<String>,
}

/// Compare every build of `plan` (planned with `--all`) with its published moving tag.
/// `build_args` are the `--build-arg`s a build would add.
pub async fn compare_with_registry<E: Engine>(
    repository: &Repository,
    plan: &Plan,
    engine: Option<&E>,
    client: &RegistryClient,
    build_args: &BTreeMap<String, String>,
    platform: Option<&str>,
) -> Result<RegistryComparison, BuildError> {
    // Each build's platforms: its own list, else the one asked for (or the registry's default).
    let platforms_of = |build: &Build| -> Vec<Option<String>> {
        if build.platforms.is_empty() {
            vec![platform.map(str::to_string)]
        } else {
            build.platforms.iter().cloned().map(Some).collect()
        }
    };
    // Ask the registry about every moving tag, for every platform, at once.
    let lookups = plan.builds.iter().flat_map(|build| {
        let tag = build.tags.last().cloned().unwrap_or_default();
        platforms_of(build).into_iter().map(move |wanted| {
            let client = client.clone();
            let tag = tag.clone();
            async move {
                let parsed = wanted.as_deref().and_then(Platform::parse);
                let published = published(&client, &tag, parsed.as_ref()).await;
                ((build.name.clone(), wanted), published)
            }
        })
    });
    let mut published: HashMap<(String, Option<String>), Option<Published>> = HashMap::new();
    let mut results = futures_util::stream::iter(lookups).buffer_unordered(16);
    while let Some((key, result)) = results.next().await {
        published.insert(key, result?);
    }
    drop(results);

    let layer_index: HashMap<&str, usize> = repository
        .layers
        .iter()
        .enumerate()
        .map(|(id, layer)| (layer.name.as_str(), id))
        .collect();
    let mut comparison = RegistryComparison {
        layers: vec![None; repository.layers.len()],
        compat: vec![None; repository.layers.len()],
        images: Vec::new(),
    };
    let mut differs: HashMap<&str, bool> = HashMap::new();
    let mut bases: HashMap<(String, Option<String>), String> = HashMap::new();
    for build in &plan.builds {
        let tag = build.tags.last().cloned().unwrap_or_default();
        let changed_dependency = build
            .depends_on
            .iter()
            .find(|dependency| differs.get(dependency.as_str()).copied().unwrap_or(false));
        let context = if changed_dependency.is_some() {
            None
        } else if build.kind == BuildKind::Compat {
            Some(inputs_context(repository, build)?)
        } else {
            Some(build_context(repository, build)?)
        };
        // One comparison per platform; the build differs when any platform does (the first
        // that differs is reported).
        let mut image: Option<PublishedImage> = None;
        for wanted in platforms_of(build) {
            let mine = published
                .get(&(build.name.clone(), wanted.clone()))
                .and_then(Option::as_ref);
            let mut candidate = PublishedImage {
                build: build.name.clone(),
                tag: tag.clone(),
                inputs: None,
                published_inputs: mine.and_then(|published| published.inputs.clone()),
                digest: mine.map(|published| published.digest.clone()),
                reason: None,
                because_of: None,
            };
            if let Some(dependency) = changed_dependency {
                // Rebuilt with what it is built on; its inputs cannot be known before that build.
                candidate.reason = Some(match build.kind {
                    BuildKind::Compat => Reason::ScienceRebuilt,
                    _ => Reason::ParentChanged,
                });
                candidate.because_of = Some(dependency.clone());
            } else if let Some(context) = &context {
                let parent = if let Some(parent) = &build.parent {
                    published
                        .get(&(parent.name.clone(), wanted.clone()))
                        .or_else(|| published.get(&(parent.name.clone(), None)))
                        .and_then(Option::as_ref)
                        .map_or_else(
                            || parent.tag.clone(),
                            |published| published.config_digest.to_string(),
                        )
                } else {
                    let key = (build.from.clone(), wanted.clone());
                    if let Some(identity) = bases.get(&key) {
                        identity.clone()
                    } else {
                        let identity =
                            base_identity(engine, client, &build.from, wanted.as_deref()).await?;
                        bases.insert(key, identity.clone());
                        identity
                    }
                };
                let mut arguments = build.build_args.clone();
                arguments.extend(build_args.clone());
                let inputs = inputs_hash(context, &arguments, &parent, wanted.as_deref());
                candidate.reason = match &candidate.published_inputs {
                    _ if mine.is_none() => Some(Reason::Unpublished),
                    Some(published) if *published == inputs => None,
                    _ => Some(Reason::InputsChanged),
                };
                candidate.inputs = Some(inputs);
            }
            let differs_here = candidate.reason.is_some();
            if image.is_none() || differs_here {
                image = Some(candidate);
            }
            if differs_here {
                break;
            }
        }
        let Some(image) = image else { continue };
        differs.insert(build.name.as_str(), image.reason.is_some());
        let own_reason = image
            .reason
            .filter(|reason| matches!(reason, Reason::InputsChanged | Reason::Unpublished));
        match build.kind {
            BuildKind::Compat => {
                if let Some(id) = build
                    .parent
                    .as_ref()
                    .and_then(|parent| layer_index.get(parent.name.as_str()))
                {
                    comparison.compat[*id] = own_reason;
                }
            }
            _ => {
                if let Some(id) = layer_index.get(build.name.as_str()) {
                    comparison.layers[*id] = own_reason;
                }
            }
        }
        comparison.images.push(image);
    }
    Ok(comparison)
}

/// The published image of a tag: `None` when the registry has no such tag.
async fn published(
    client: &RegistryClient,
    tag: &str,
    platform: Option<&Platform>,
) -> Result<Option<Published>, BuildError> {
    let reference = parse_reference(tag)?;
    match client.image(&reference, platform).await {
        Ok(image) => Ok(Some(Published {
            config_digest: image.config_digest,
            digest: image.digest,
            inputs: image.config["config"]["Labels"][INPUTS_LABEL]
                .as_str()
                .map(str::to_string),
        })),
        Err(RegistryError::NotFound { .. }) => Ok(None),
        Err(error) => Err(error.into()),
    }
}
