//! After a build: inspect the image, apply the taggers' tags, and keep the build manifest
//! (Markdown and JSON facts, and the Dockerfile used) with a build-history table per image, as
//! docker-stacks keeps its wiki pages.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use strata_engine::Engine;
use strata_inspect::{compute_tags, ImageFacts, LayerCache};
use strata_plan::Build;
use strata_repo::TaggerConfig;

use crate::error::BuildError;
use crate::history::{file_name, write_atomically};

/// The repository part of a build's unique tag, and the prefix its variant puts on tags.
pub(crate) fn tag_namespace(build: &Build) -> (String, String) {
    let unique = build.tags.first().cloned().unwrap_or_default();
    let repository = strata_dockerfile::ImageReference::parse(&unique)
        .repository
        .to_string();
    let prefix = build
        .variant
        .as_ref()
        .map(|variant| format!("{variant}-"))
        .unwrap_or_default();
    (repository, prefix)
}

/// Inspect the built image and compute the taggers' tags (full references).
pub(crate) async fn tagger_tags<E: Engine>(
    engine: &E,
    build: &Build,
    image: &str,
    facts: &ImageFacts,
) -> (Vec<String>, Vec<String>) {
    let mut outputs = BTreeMap::new();
    let mut warnings = Vec::new();
    for tagger in &build.taggers {
        if let TaggerConfig::Command { command, .. } = tagger {
            match engine.run(image, command).await {
                Ok(output) => {
                    outputs.insert(
                        command.clone(),
                        format!("{}{}", output.stdout, output.stderr),
                    );
                }
                Err(error) => warnings.push(format!(
                    "command tagger: cannot run `{}`: {error}",
                    command.join(" ")
                )),
            }
        }
    }
    let computed = compute_tags(&build.taggers, facts, &outputs);
    warnings.extend(computed.warnings);
    let (repository, prefix) = tag_namespace(build);
    let tags = computed
        .tags
        .iter()
        .map(|tag| format!("{repository}:{prefix}{tag}"))
        .collect();
    (tags, warnings)
}

/// The facts of a built image, named by its unique tag.
pub(crate) async fn inspect_built<E: Engine>(
    engine: &E,
    build: &Build,
    image: &str,
    cache: &LayerCache,
) -> Result<ImageFacts, BuildError> {
    let mut facts = strata_inspect::inspect_local(engine, image, cache).await?;
    if let Some(unique) = build.tags.first() {
        facts.image.reference.clone_from(unique);
    }
    Ok(facts)
}

/// Write `<dir>/<build>/<tag>.md`, `.json` and `.Dockerfile`, and (for a new build) a row at the
/// top of `<dir>/<build>/history.md`. Returns the Markdown manifest's path.
pub(crate) fn write_manifest(
    directory: &Path,
    build: &Build,
    facts: &ImageFacts,
    dockerfile: &str,
    extra_tags: &[String],
    new_build: bool,
) -> Result<PathBuf, BuildError> {
    let image_directory = directory.join(file_name(&build.name));
    let unique = build.tags.first().cloned().unwrap_or_default();
    let tag = unique.rsplit(':').next().unwrap_or("latest");
    let stem = file_name(tag);
    let markdown_path = image_directory.join(format!("{stem}.md"));
    write_atomically(&markdown_path, strata_inspect::markdown(facts).as_bytes())?;
    let json = serde_json::to_vec_pretty(facts).map_err(std::io::Error::other)?;
    write_atomically(&image_directory.join(format!("{stem}.json")), &json)?;
    write_atomically(
        &image_directory.join(format!("{stem}.Dockerfile")),
        dockerfile.as_bytes(),
    )?;
    if new_build {
        let tags: Vec<String> = build
            .tags
            .iter()
            .chain(extra_tags)
            .map(|tag| format!("`{}`", tag.rsplit(':').next().unwrap_or(tag)))
            .collect();
        let date = facts
            .image
            .created
            .as_deref()
            .and_then(|created| created.get(..10))
            .unwrap_or("unknown");
        let row = format!(
            "| {date} | {} | [manifest]({stem}.md) | [Dockerfile]({stem}.Dockerfile) |",
            tags.join(", ")
        );
        crate::history::record_build(directory, &build.name, row)?;
    }
    Ok(markdown_path)
}
