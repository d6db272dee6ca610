//! A build that is one job of a CI pipeline (`strata build --pipeline ID`): the image goes to a
//! staging reference of that pipeline, never to its tags, and a parent another job of the same
//! pipeline built is taken from its staging reference, by digest. `strata release --pipeline
//! ID` moves the tags once every job passed.
//!
//! A staging reference lives in a repository of its own beside the image's,
//! `<repository>/strata-staging:<pipeline>[-<platform>]`: deleting it after the release (the
//! registry deletes manifests, not tags) cannot take the published tags' manifests with it.

use std::collections::BTreeSet;

use crate::platforms::suffix_for;

/// The repository component staging references are kept under.
pub const STAGING_REPOSITORY: &str = "strata-staging";

/// One pipeline: its id and every build its plan holds (built by this job or by another).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    id: String,
    planned: BTreeSet<String>,
}

impl Pipeline {
    /// The pipeline `id` whose plan holds `planned` (build names).
    pub fn new(
        id: &str,
        planned: impl IntoIterator<Item = String>,
    ) -> Result<Self, crate::BuildError> {
        let valid = (1..=64).contains(&id.len())
            && id
                .bytes()
                .next()
                .is_some_and(|byte| byte.is_ascii_alphanumeric())
            && id
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-'));
        if !valid {
            return Err(crate::BuildError::InvalidPipelineId { id: id.to_string() });
        }
        Ok(Self {
            id: id.to_string(),
            planned: planned.into_iter().collect(),
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether the build `name` is one of the pipeline's (so its image is staged, not published).
    pub fn plans(&self, name: &str) -> bool {
        self.planned.contains(name)
    }

    /// Where the job of the build tagged `tag` (any of its tags) stages its image for
    /// `platform`: `<repository>/strata-staging:<pipeline>`, with the platform's suffix when
    /// the build is for several `platforms` (as its tags have).
    pub fn staging_reference(
        &self,
        tag: &str,
        platforms: &[String],
        platform: Option<&str>,
    ) -> String {
        let repository = repository_of(tag);
        match suffix_for(platforms, platform) {
            Some(suffix) => format!(
                "{repository}/{STAGING_REPOSITORY}:{}-{}",
                self.id,
                suffix.trim_start_matches('-')
            ),
            None => format!("{repository}/{STAGING_REPOSITORY}:{}", self.id),
        }
    }
}

/// The reference an image staged with `inputs` (an `org.strata.inputs` hash) is also kept
/// under, beside the staging references of the build tagged `tag`: a later pipeline's job with
/// the same inputs (the fix of a failed pipeline, built on its own commit) takes that image
/// instead of building. The inputs name the platform, so one reference serves every platform.
pub fn inputs_reference(tag: &str, inputs: &str) -> Option<String> {
    let hex = inputs.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|byte| byte.is_ascii_hexdigit()))
        .then(|| format!("{}/{STAGING_REPOSITORY}:inputs-{hex}", repository_of(tag)))
}

/// Whether a tag of the staging repository is an inputs reference (kept for reuse, never a
/// pipeline's own).
pub fn is_inputs_tag(tag: &str) -> bool {
    tag.starts_with("inputs-")
}

/// The artifact type, and annotation, of the tags a job's taggers computed for its image.
const TAGS_ARTIFACT: &str = "application/vnd.strata.tags.v1+json";
const TAGS_ANNOTATION: &str = "org.strata.tags";
const TAGS_IMAGE_ANNOTATION: &str = "org.strata.image";

/// Where the tags the taggers computed for the image staged as `staged` are kept (the release
/// moves them with the build's own tags): an artifact tagged `<staged tag>.tags`.
pub fn tags_reference(staged: &str) -> String {
    format!("{staged}.tags")
}

/// Keep the taggers' `tags` (full references) of the image staged as `staged` (`image`, its
/// digest, is recorded too: two images' tag lists are never one artifact, which the release
/// of one pipeline would delete from under the other).
pub async fn stage_tags(
    registry: &strata_registry::RegistryClient,
    staged: &str,
    image: &strata_registry::Digest,
    tags: &[String],
) -> Result<(), strata_registry::RegistryError> {
    let target = strata_registry::parse_reference(&tags_reference(staged))?;
    let text = serde_json::to_string(tags).unwrap_or_default();
    let annotations = std::collections::BTreeMap::from([
        (TAGS_ANNOTATION.to_string(), text),
        (TAGS_IMAGE_ANNOTATION.to_string(), image.to_string()),
    ]);
    registry
        .push_artifact(&target, TAGS_ARTIFACT, &annotations, &[])
        .await?;
    Ok(())
}

/// The taggers' tags kept for the image staged as `staged` (none when its job kept none).
pub async fn staged_tags(
    registry: &strata_registry::RegistryClient,
    staged: &str,
) -> Result<Vec<String>, strata_registry::RegistryError> {
    let reference = strata_registry::parse_reference(&tags_reference(staged))?;
    let Some(artifact) = registry.artifact(&reference).await? else {
        return Ok(Vec::new());
    };
    let text = artifact
        .annotations
        .get(TAGS_ANNOTATION)
        .map_or("[]", String::as_str);
    serde_json::from_str(text).map_err(|error| strata_registry::RegistryError::Invalid {
        reference: reference.whole(),
        message: format!("the staged tags are not a list of tags: {error}"),
    })
}

/// The artifact type, and layer media type, of what a job found out about its image for the
/// release to attest: one layer per predicate (an SBOM, a provenance), its type annotated.
const STATEMENTS_ARTIFACT: &str = "application/vnd.strata.predicates.v1";
const PREDICATE_MEDIA_TYPE: &str = "application/json";
const PREDICATE_TYPE_ANNOTATION: &str = "predicateType";

/// Where the predicates a job made about the image staged as `staged` are kept (the release
/// signs them, as in-toto statements about the published image): `<staged tag>.statements`.
pub fn statements_reference(staged: &str) -> String {
    format!("{staged}.statements")
}

/// Keep `predicates` (type, body) about the image `image` staged as `staged`.
pub async fn stage_statements(
    registry: &strata_registry::RegistryClient,
    staged: &str,
    image: &strata_registry::Digest,
    predicates: &[(String, serde_json::Value)],
) -> Result<(), strata_registry::RegistryError> {
    let target = strata_registry::parse_reference(&statements_reference(staged))?;
    let layers: Vec<strata_registry::ArtifactLayer> = predicates
        .iter()
        .map(
            |(predicate_type, predicate)| strata_registry::ArtifactLayer {
                media_type: PREDICATE_MEDIA_TYPE.to_string(),
                bytes: serde_json::to_vec(predicate).unwrap_or_default().into(),
                annotations: std::collections::BTreeMap::from([(
                    PREDICATE_TYPE_ANNOTATION.to_string(),
                    predicate_type.clone(),
                )]),
            },
        )
        .collect();
    let annotations =
        std::collections::BTreeMap::from([(TAGS_IMAGE_ANNOTATION.to_string(), image.to_string())]);
    registry
        .push_artifact(&target, STATEMENTS_ARTIFACT, &annotations, &layers)
        .await?;
    Ok(())
}

/// The predicates kept for the image staged as `staged` (none when its job kept none).
pub async fn staged_statements(
    registry: &strata_registry::RegistryClient,
    staged: &str,
) -> Result<Vec<(String, serde_json::Value)>, strata_registry::RegistryError> {
    let reference = strata_registry::parse_reference(&statements_reference(staged))?;
    let Some(artifact) = registry.artifact(&reference).await? else {
        return Ok(Vec::new());
    };
    artifact
        .layers
        .iter()
        .map(|layer| {
            let predicate_type = layer
                .annotations
                .get(PREDICATE_TYPE_ANNOTATION)
                .cloned()
                .unwrap_or_default();
            serde_json::from_slice(&layer.bytes)
                .map(|predicate| (predicate_type, predicate))
                .map_err(|error| strata_registry::RegistryError::Invalid {
                    reference: reference.whole(),
                    message: format!("a staged predicate is not JSON: {error}"),
                })
        })
        .collect()
}

/// Copy what is kept beside the staging reference `from` (tags, predicates) to beside `to`,
/// inside the registry (the same repository: manifests only).
pub async fn copy_beside(
    registry: &strata_registry::RegistryClient,
    from: &str,
    to: &str,
) -> Result<(), strata_registry::RegistryError> {
    for (source, target) in [
        (tags_reference(from), tags_reference(to)),
        (statements_reference(from), statements_reference(to)),
    ] {
        let source = strata_registry::parse_reference(&source)?;
        if let Some(manifest) = registry.manifest_if_exists(&source).await? {
            registry
                .put_manifest(&strata_registry::parse_reference(&target)?, &manifest)
                .await?;
        }
    }
    Ok(())
}

/// Keep only the builds of `plan` named in `only` (all of them when it is empty), in plan
/// order. A name the plan does not build is an error naming what it does build.
pub fn keep_only(plan: &mut strata_plan::Plan, only: &[String]) -> Result<(), crate::BuildError> {
    if only.is_empty() {
        return Ok(());
    }
    if let Some(missing) = only
        .iter()
        .find(|name| !plan.builds.iter().any(|build| &build.name == *name))
    {
        return Err(crate::BuildError::NotPlanned {
            name: missing.clone(),
            planned: plan.builds.iter().map(|build| build.name.clone()).collect(),
        });
    }
    plan.builds.retain(|build| only.contains(&build.name));
    Ok(())
}

/// The repository of a reference (`registry/name` of `registry/name:tag` or `name@digest`).
fn repository_of(reference: &str) -> &str {
    let without_digest = reference.split('@').next().unwrap_or(reference);
    match without_digest.rsplit_once(':') {
        // A colon after the last slash starts the tag; one before it is a registry's port.
        Some((repository, tag)) if !tag.contains('/') => repository,
        _ => without_digest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_references_sit_beside_the_image_in_a_repository_of_their_own() {
        let pipeline = Pipeline::new("1234", ["base".to_string()]).unwrap();
        assert_eq!(
            pipeline.staging_reference("localhost:5000/sci/base:1.0-3-abc1234", &[], None),
            "localhost:5000/sci/base/strata-staging:1234"
        );
        let platforms = ["linux/amd64".to_string(), "linux/arm64/v8".to_string()];
        assert_eq!(
            pipeline.staging_reference(
                "localhost:5000/base:1.0",
                &platforms,
                Some("linux/arm64/v8")
            ),
            "localhost:5000/base/strata-staging:1234-arm64v8"
        );
        // One platform asked for: no suffix, as the tags have none.
        assert_eq!(
            pipeline.staging_reference("base", &platforms[..1], Some("linux/amd64")),
            "base/strata-staging:1234"
        );
        assert!(pipeline.plans("base"));
        assert!(!pipeline.plans("child"));
    }

    #[test]
    fn inputs_and_tags_references_are_tags_of_the_staging_repository() {
        let inputs = format!("sha256:{}", "ab".repeat(32));
        let by_inputs = inputs_reference("localhost:5000/sci/base:1.0-3-abc1234", &inputs);
        assert_eq!(
            by_inputs.as_deref(),
            Some(
                format!(
                    "localhost:5000/sci/base/strata-staging:inputs-{}",
                    "ab".repeat(32)
                )
                .as_str()
            )
        );
        let tag = by_inputs.unwrap();
        let tag = tag.rsplit(':').next().unwrap();
        assert!(is_inputs_tag(tag) && tag.len() <= 128);
        // Not a sha256 hash: no reference (a tag must not carry arbitrary text).
        assert_eq!(inputs_reference("base:1", "sha256:zz"), None);
        assert_eq!(inputs_reference("base:1", "md5:abc"), None);
        assert_eq!(
            tags_reference("localhost:5000/base/strata-staging:7-arm64v8"),
            "localhost:5000/base/strata-staging:7-arm64v8.tags"
        );
    }

    #[test]
    fn ids_that_cannot_be_part_of_a_tag_are_refused() {
        for id in ["", "-1", "a b", "a/b", "ü", &"9".repeat(65)] {
            assert!(Pipeline::new(id, []).is_err(), "{id:?}");
        }
        for id in ["1", "gitlab-123456", "run_7.2"] {
            assert!(Pipeline::new(id, []).is_ok(), "{id:?}");
        }
    }
}
