//! The release of a CI pipeline (`strata release --pipeline ID`), run once every build job of
//! it passed: every image its plan builds must be staged (`strata build --pipeline ID`), each
//! child on the very image its parent's job staged; then every tag moves inside the registry
//! (all or nothing, no layer byte sent), multi-platform tags become indexes of the platforms'
//! images, and the staging references are deleted. Until then no published tag moved, so a
//! pipeline with a failed job leaves the registry's tags as they were.

use std::collections::HashMap;

use strata_build::{BuildResult, IndexPush, Outcome, Pipeline, INPUTS_LABEL};
use strata_plan::{Build, Plan};
use strata_registry::{
    parse_reference, platform_suffix, promote, with_digest, with_suffix, Digest, Promotion,
    PromotionResult, Reference, RegistryClient,
};

use strata_inspect::BASE_DIGEST_LABEL;

use crate::error::ReleaseError;

/// One image a build job staged.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StagedImage {
    pub build: String,
    /// `None`: the build's only platform (the engine's, or the one asked for).
    pub platform: Option<String>,
    pub reference: String,
    pub digest: Digest,
    /// The tags the job's taggers computed (moved with the build's own).
    pub tagger_tags: Vec<String>,
}

/// What the release did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PipelineRelease {
    pub pipeline: String,
    pub staged: Vec<StagedImage>,
    pub promotions: Vec<PromotionResult>,
    pub indexes: Vec<IndexPush>,
    /// Signatures pushed for what was published (`--sign`).
    pub signatures: Vec<strata_sign::Signed>,
    /// Staging references deleted after the tags moved.
    pub removed: Vec<String>,
    /// What could not be cleaned up (the tags moved all the same).
    pub warnings: Vec<String>,
}

/// Release what the pipeline's jobs staged for `plan` (the plan the pipeline was made from:
/// the same selection, on the same commit).
pub async fn release_pipeline(
    registry: &RegistryClient,
    plan: &Plan,
    pipeline: &Pipeline,
    sign: Option<&strata_sign::SigningKey>,
) -> Result<PipelineRelease, ReleaseError> {
    let staged = find_staged(registry, plan, pipeline).await?;
    check_parents(registry, plan, &staged).await?;
    check_published_versions(registry, plan, &staged).await?;

    let mut promotions = Vec::new();
    for build in &plan.builds {
        for (platform, image) in staged_of(&staged, &build.name) {
            let source = with_digest(&parsed(&image.reference)?, &image.digest);
            for tag in &build.tags {
                let target = match platform {
                    Some(platform) if build.platforms.len() > 1 => {
                        with_suffix(tag, &platform_suffix(platform))
                    }
                    _ => tag.clone(),
                };
                promotions.push(Promotion {
                    source: source.clone(),
                    target: parsed(&target)?,
                });
            }
            // The taggers' tags carry their platform's suffix already, as the job made them.
            for tag in &image.tagger_tags {
                promotions.push(Promotion {
                    source: source.clone(),
                    target: parsed(tag)?,
                });
            }
        }
    }
    // Moving tags move (they point at the last release); unique tags were checked above.
    let promoted = promote(registry, &promotions, true)
        .await
        .map_err(|source| ReleaseError::Promote {
            pipeline: pipeline.id().to_string(),
            source: Box::new(source),
        })?;

    let indexes = push_indexes(registry, plan, &staged).await;
    if let Some(failed) = indexes.iter().find(|index| index.error.is_some()) {
        return Err(ReleaseError::Index {
            tag: failed.tag.clone(),
            message: failed.error.clone().unwrap_or_default(),
        });
    }

    let signatures = match sign {
        Some(key) => {
            let signed = sign_published(registry, &promoted, &indexes, key).await?;
            attest_published(registry, plan, &staged, key).await?;
            signed
        }
        None => Vec::new(),
    };
    let (removed, warnings) = remove_staged(registry, pipeline, &staged).await;
    Ok(PipelineRelease {
        pipeline: pipeline.id().to_string(),
        staged,
        signatures,
        promotions: promoted,
        indexes,
        removed,
        warnings,
    })
}

/// Sign each published manifest (once per repository and digest) and each index. The tags
/// have moved: a signature that cannot be pushed is an error saying so (the release run
/// again signs what is left; tags already in place count as done).
async fn sign_published(
    registry: &RegistryClient,
    promoted: &[PromotionResult],
    indexes: &[IndexPush],
    key: &strata_sign::SigningKey,
) -> Result<Vec<strata_sign::Signed>, ReleaseError> {
    let mut targets: Vec<(Reference, Digest)> = Vec::new();
    for promotion in promoted {
        targets.push((parsed(&promotion.target)?, promotion.digest.clone()));
    }
    for index in indexes {
        if let Some(digest) = &index.digest {
            targets.push((parsed(&index.tag)?, digest.clone()));
        }
    }
    let mut done = std::collections::BTreeSet::new();
    let mut signed = Vec::new();
    for (reference, digest) in targets {
        if !done.insert((strata_registry::repository_name(&reference), digest.clone())) {
            continue;
        }
        let signature = strata_sign::sign_image(registry, &reference, &digest, key)
            .await
            .map_err(|source| ReleaseError::Sign {
                image: format!("{}@{digest}", strata_registry::repository_name(&reference)),
                source: Box::new(source),
            })?;
        signed.push(signature);
    }
    Ok(signed)
}

/// Attest each published image manifest with what its job kept beside its staging reference
/// (its SBOM and provenance), as in-toto statements about the published repository's image,
/// signed with `key`.
async fn attest_published(
    registry: &RegistryClient,
    plan: &Plan,
    staged: &[StagedImage],
    key: &strata_sign::SigningKey,
) -> Result<(), ReleaseError> {
    for image in staged {
        let Some(unique) = plan_build(plan, &image.build).and_then(|build| build.tags.first())
        else {
            continue;
        };
        let repository = parsed(unique)?;
        let predicates = strata_build::staged_statements(registry, &image.reference).await?;
        for (predicate_type, predicate) in predicates {
            strata_sign::attest(
                registry,
                &repository,
                &image.digest,
                &predicate_type,
                predicate,
                key,
            )
            .await
            .map_err(|source| ReleaseError::Sign {
                image: format!(
                    "{}@{} ({predicate_type})",
                    strata_registry::repository_name(&repository),
                    image.digest
                ),
                source: Box::new(source),
            })?;
        }
    }
    Ok(())
}

/// Delete what the pipeline staged (images, and the taggers' tags beside them). The registry
/// deletes a manifest with every tag of the repository on it, so an image another pipeline
/// staged too (its job reused this one's) loses only this pipeline's tags.
async fn remove_staged(
    registry: &RegistryClient,
    pipeline: &Pipeline,
    staged: &[StagedImage],
) -> (Vec<String>, Vec<String>) {
    let mut removed = Vec::new();
    let mut warnings = Vec::new();
    let mut others: HashMap<String, HashMap<Digest, String>> = HashMap::new();
    for image in staged {
        let Ok(repository) = parsed(&image.reference) else {
            continue;
        };
        let name = strata_registry::repository_name(&repository);
        if !others.contains_key(&name) {
            let held = other_pipelines(registry, pipeline, &repository).await;
            others.insert(name.clone(), held);
        }
        let shared = others
            .get(&name)
            .and_then(|held| held.get(&image.digest))
            .is_some();
        let mut references = vec![image.reference.clone()];
        if !image.tagger_tags.is_empty() {
            references.push(strata_build::tags_reference(&image.reference));
        }
        references.push(strata_build::statements_reference(&image.reference));
        for reference in references {
            let outcome = match parsed(&reference) {
                Ok(parsed) if shared => match registry.resolve(&parsed).await {
                    Ok(Some(_)) => registry.remove_tag(&parsed).await.map(|()| true),
                    Ok(None) => Ok(false),
                    Err(error) => Err(error),
                },
                Ok(parsed) => match registry.resolve(&parsed).await {
                    Ok(Some(found)) => registry.delete_manifest(&repository, &found.digest).await,
                    Ok(None) => Ok(false),
                    Err(error) => Err(error),
                },
                Err(_) => continue,
            };
            match outcome {
                Ok(true) => removed.push(reference),
                Ok(false) => {}
                Err(error) => warnings.push(format!(
                    "the staging reference `{reference}` is left in the registry: {}",
                    strata_repo::join_chain(&error, ": ")
                )),
            }
        }
    }
    (removed, warnings)
}

/// The images other pipelines have staged in `repository`'s staging repository (digest →
/// one of their tags). Inputs references are not a pipeline's: they go with the image.
async fn other_pipelines(
    registry: &RegistryClient,
    pipeline: &Pipeline,
    repository: &Reference,
) -> HashMap<Digest, String> {
    let mut held = HashMap::new();
    let Ok(tags) = registry.tags(repository).await else {
        return held;
    };
    let own = |tag: &str| tag == pipeline.id() || tag.starts_with(&format!("{}-", pipeline.id()));
    for tag in tags {
        // What is kept beside a staged image is not an image a pipeline staged.
        let beside = tag.ends_with(".tags") || tag.ends_with(".statements");
        if own(&tag) || strata_build::is_inputs_tag(&tag) || beside {
            continue;
        }
        let reference = strata_registry::with_tag(repository, &tag);
        if let Ok(Some(found)) = registry.resolve(&reference).await {
            held.insert(found.digest, tag);
        }
    }
    held
}

fn parsed(reference: &str) -> Result<Reference, ReleaseError> {
    Ok(parse_reference(reference)?)
}

/// Every (build, platform) of the plan with the digest its job staged; an error naming every
/// one that is missing.
async fn find_staged(
    registry: &RegistryClient,
    plan: &Plan,
    pipeline: &Pipeline,
) -> Result<Vec<StagedImage>, ReleaseError> {
    let (staged, missing) = staged_images(registry, plan, pipeline).await?;
    if !missing.is_empty() {
        return Err(ReleaseError::NotStaged {
            pipeline: pipeline.id().to_string(),
            missing,
        });
    }
    Ok(staged)
}

/// Remove what a pipeline that will not be released (failed, cancelled) staged: its images,
/// and the taggers' tags beside them. No tag moves; an image another pipeline staged too is
/// kept (said in the warnings). Images it staged under their inputs go with them, so a later
/// pipeline builds them again.
pub async fn discard_pipeline(
    registry: &RegistryClient,
    plan: &Plan,
    pipeline: &Pipeline,
) -> Result<PipelineRelease, ReleaseError> {
    let (staged, _) = staged_images(registry, plan, pipeline).await?;
    let (removed, warnings) = remove_staged(registry, pipeline, &staged).await;
    Ok(PipelineRelease {
        pipeline: pipeline.id().to_string(),
        staged,
        signatures: Vec::new(),
        promotions: Vec::new(),
        indexes: Vec::new(),
        removed,
        warnings,
    })
}

/// What the pipeline's jobs staged of the plan, and the builds (with platform) not staged.
async fn staged_images(
    registry: &RegistryClient,
    plan: &Plan,
    pipeline: &Pipeline,
) -> Result<(Vec<StagedImage>, Vec<String>), ReleaseError> {
    let mut staged = Vec::new();
    let mut missing = Vec::new();
    for build in &plan.builds {
        let unique = build.tags.first().ok_or_else(|| ReleaseError::NoTags {
            build: build.name.clone(),
        })?;
        let platforms: Vec<Option<String>> = if build.platforms.len() > 1 {
            build.platforms.iter().cloned().map(Some).collect()
        } else {
            vec![None]
        };
        for platform in platforms {
            let reference =
                pipeline.staging_reference(unique, &build.platforms, platform.as_deref());
            match registry.resolve(&parsed(&reference)?).await? {
                Some(descriptor) => staged.push(StagedImage {
                    build: build.name.clone(),
                    platform,
                    tagger_tags: strata_build::staged_tags(registry, &reference).await?,
                    reference,
                    digest: descriptor.digest,
                }),
                None => missing.push(match &platform {
                    Some(platform) => format!("{} ({platform})", build.name),
                    None => build.name.clone(),
                }),
            }
        }
    }
    Ok((staged, missing))
}

fn staged_of<'a>(
    staged: &'a [StagedImage],
    build: &'a str,
) -> impl Iterator<Item = (Option<&'a str>, &'a StagedImage)> {
    staged
        .iter()
        .filter(move |image| image.build == build)
        .map(|image| (image.platform.as_deref(), image))
}

/// Each staged child was built on the image its parent's job staged (its base digest label),
/// and carries strata's inputs label: a job re-run out of order, or an image staged by hand,
/// is refused before any tag moves.
async fn check_parents(
    registry: &RegistryClient,
    plan: &Plan,
    staged: &[StagedImage],
) -> Result<(), ReleaseError> {
    let digests: HashMap<(&str, Option<&str>), &Digest> = staged
        .iter()
        .map(|image| {
            (
                (image.build.as_str(), image.platform.as_deref()),
                &image.digest,
            )
        })
        .collect();
    for image in staged {
        let build = plan_build(plan, &image.build);
        let reference = with_digest(&parsed(&image.reference)?, &image.digest);
        let platform = image
            .platform
            .as_deref()
            .and_then(strata_registry::Platform::parse);
        let remote = registry.image(&reference, platform.as_ref()).await?;
        let labels = &remote.config["config"]["Labels"];
        if labels[INPUTS_LABEL].as_str().is_none() {
            return Err(ReleaseError::NotStrataStaged {
                reference: image.reference.clone(),
            });
        }
        let Some(parent) = build.and_then(|build| build.parent.as_ref()) else {
            continue;
        };
        let parent_platform = if parent.platforms.len() > 1 {
            image.platform.as_deref()
        } else {
            None
        };
        let Some(expected) = digests.get(&(parent.name.as_str(), parent_platform)) else {
            continue; // The parent is published, not built by this pipeline.
        };
        let recorded = labels[BASE_DIGEST_LABEL].as_str().unwrap_or_default();
        if **expected != *recorded {
            return Err(ReleaseError::StaleChild {
                build: image.build.clone(),
                parent: parent.name.clone(),
                recorded: recorded.to_string(),
                staged: (*expected).clone(),
            });
        }
    }
    Ok(())
}

fn plan_build<'a>(plan: &'a Plan, name: &str) -> Option<&'a Build> {
    plan.builds.iter().find(|build| build.name == name)
}

/// A build's first tag is its unique, never-moving one: when the registry has it already, it
/// must be this very image (a re-run of the release), never another.
async fn check_published_versions(
    registry: &RegistryClient,
    plan: &Plan,
    staged: &[StagedImage],
) -> Result<(), ReleaseError> {
    for build in &plan.builds {
        let Some(unique) = build.tags.first() else {
            continue;
        };
        for (platform, image) in staged_of(staged, &build.name) {
            // One of several platforms: its own unique tag, as the release would set it.
            let unique = match platform {
                Some(platform) if build.platforms.len() > 1 => {
                    with_suffix(unique, &platform_suffix(platform))
                }
                _ => unique.clone(),
            };
            if let Some(published) = registry.resolve(&parsed(&unique)?).await? {
                if published.digest != image.digest {
                    return Err(ReleaseError::PublishedVersion {
                        tag: unique,
                        published: published.digest,
                        staged: image.digest.clone(),
                    });
                }
            }
        }
    }
    Ok(())
}

/// The multi-platform builds' indexes, from the platform tags the promotion just set.
async fn push_indexes(
    registry: &RegistryClient,
    plan: &Plan,
    staged: &[StagedImage],
) -> Vec<IndexPush> {
    let results: Vec<BuildResult> = plan
        .builds
        .iter()
        .filter(|build| build.platforms.len() > 1)
        .flat_map(|build| {
            staged_of(staged, &build.name).map(move |(platform, image)| {
                let unique = build.tags.first().cloned().unwrap_or_default();
                let suffix = platform.map(platform_suffix).unwrap_or_default();
                BuildResult {
                    name: build.name.clone(),
                    platform: platform.map(str::to_string),
                    outcome: Outcome::Built,
                    seconds: 0.0,
                    image: None,
                    size: 0,
                    pushed: vec![(with_suffix(&unique, &suffix), Some(image.digest.clone()))],
                    push_failures: Vec::new(),
                    tagger_tags: image.tagger_tags.clone(),
                    manifest: None,
                    tests: Vec::new(),
                    reproduced: None,
                    inputs: None,
                    signatures: Vec::new(),
                    attestations: Vec::new(),
                    facts: None,
                }
            })
        })
        .collect();
    if results.is_empty() {
        return Vec::new();
    }
    let (sender, _receiver) = tokio::sync::mpsc::unbounded_channel();
    strata_build::push_indexes(registry, plan, &results, &sender).await
}
