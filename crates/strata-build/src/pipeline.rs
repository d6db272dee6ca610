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
    fn ids_that_cannot_be_part_of_a_tag_are_refused() {
        for id in ["", "-1", "a b", "a/b", "ü", &"9".repeat(65)] {
            assert!(Pipeline::new(id, []).is_err(), "{id:?}");
        }
        for id in ["1", "gitlab-123456", "run_7.2"] {
            assert!(Pipeline::new(id, []).is_ok(), "{id:?}");
        }
    }
}
