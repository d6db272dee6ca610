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

use crate::error::ReleaseError;

/// The label a child's job records its parent's digest in.
const BASE_DIGEST_LABEL: &str = "org.opencontainers.image.base.digest";

/// One image a build job staged.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StagedImage {
    pub build: String,
    /// `None`: the build's only platform (the engine's, or the one asked for).
    pub platform: Option<String>,
    pub reference: String,
    pub digest: Digest,
}

/// What the release did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PipelineRelease {
    pub pipeline: String,
    pub staged: Vec<StagedImage>,
    pub promotions: Vec<PromotionResult>,
    pub indexes: Vec<IndexPush>,
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

    let mut removed = Vec::new();
    let mut warnings = Vec::new();
    for image in &staged {
        let repository = parsed(&image.reference)?;
        match registry.delete_manifest(&repository, &image.digest).await {
            Ok(_) => removed.push(image.reference.clone()),
            Err(error) => warnings.push(format!(
                "the staging reference `{}` is left in the registry: {}",
                image.reference,
                strata_repo::join_chain(&error, ": ")
            )),
        }
    }
    Ok(PipelineRelease {
        pipeline: pipeline.id().to_string(),
        staged,
        promotions: promoted,
        indexes,
        removed,
        warnings,
    })
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
    if !missing.is_empty() {
        return Err(ReleaseError::NotStaged {
            pipeline: pipeline.id().to_string(),
            missing,
        });
    }
    Ok(staged)
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
    for build in plan
        .builds
        .iter()
        .filter(|build| build.platforms.len() <= 1)
    {
        let Some(unique) = build.tags.first() else {
            continue;
        };
        let Some((_, image)) = staged_of(staged, &build.name).next() else {
            continue;
        };
        if let Some(published) = registry.resolve(&parsed(unique)?).await? {
            if published.digest != image.digest {
                return Err(ReleaseError::PublishedVersion {
                    tag: unique.clone(),
                    published: published.digest,
                    staged: image.digest.clone(),
                });
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
                    tagger_tags: Vec::new(),
                    manifest: None,
                    tests: Vec::new(),
                    reproduced: None,
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
