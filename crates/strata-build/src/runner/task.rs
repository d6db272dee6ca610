//! One build's life on its engine: started, built, inspected for taggers and manifests,
//! tested before any tag moves, tagged, and pushed.

use std::collections::BTreeMap;
use std::time::Instant;

use strata_engine::Engine;
use strata_plan::{Build, BuildKind};

use crate::alias::unique_alias;
use crate::events::BuildEvent;
use crate::platforms::{suffix_for, with_suffix};

use super::labels::{BASE_DIGEST_LABEL, BASE_NAME_LABEL};
use super::pushing::registry_credentials;
use super::{render_error, BuildFailure, BuildResult, BuildTask, Outcome};

impl<E: Engine + 'static> BuildTask<E> {
    pub(super) fn build(&self) -> &Build {
        &self.build
    }
    /// A result of this build on its platform.
    pub(super) fn result(&self, outcome: Outcome) -> BuildResult {
        let mut result = BuildResult::new(&self.build.name, outcome);
        result.platform.clone_from(&self.platform);
        result
    }
    pub(super) async fn run(self) -> BuildResult {
        let name = self.label.clone();
        let _ = self.events.send(BuildEvent::Started {
            build: name.clone(),
        });
        let started = Instant::now();
        let mut result = match self.build_image().await {
            Ok(result) => result,
            Err(error) => {
                let tests = match &error {
                    crate::error::BuildError::TestsFailed { results, .. } => results.clone(),
                    _ => Vec::new(),
                };
                let failure = BuildFailure::new(error);
                let seconds = started.elapsed().as_secs_f64();
                let _ = self.events.send(BuildEvent::Failed {
                    build: name.clone(),
                    error: failure.to_string(),
                    seconds,
                });
                let mut result = self.result(Outcome::Failed(failure));
                result.seconds = seconds;
                result.tests = tests;
                return result;
            }
        };
        if let Err(error) = self.after_build(&mut result).await {
            let _ = self.events.send(BuildEvent::Warning {
                build: name.clone(),
                message: format!(
                    "cannot inspect the image for taggers and manifests: {}",
                    render_error(&error)
                ),
            });
        }
        result.seconds = started.elapsed().as_secs_f64();
        if self.options.push {
            self.push(&mut result).await;
        }
        result
    }
    /// Inspect the image, apply the taggers' tags, write the build manifest.
    pub(super) async fn after_build(
        &self,
        result: &mut BuildResult,
    ) -> Result<(), crate::error::BuildError> {
        let build = self.build();
        let (Some(cache), Some(image)) = (&self.options.cache, result.image.clone()) else {
            return Ok(());
        };
        // A signed image (or a pipeline's, signed at the release) is attested with its SBOM:
        // inspected even without taggers or manifests.
        let attested = self.options.sign.is_some() || self.options.pipeline.is_some();
        if build.taggers.is_empty() && self.options.manifests.is_none() && !attested {
            return Ok(());
        }
        // An image already up to date was tagged and described when it was built; its tagger
        // tags are only needed again to push them.
        if result.outcome == Outcome::UpToDate && !self.options.push {
            return Ok(());
        }
        let facts = crate::manifests::inspect_built(&*self.engine, build, &image, cache).await?;
        let (tags, warnings) =
            crate::manifests::tagger_tags(&*self.engine, build, &image, &facts).await;
        // One of several platforms: its tagger tags are the platform's, like its own tags;
        // the plain ones become indexes when every platform agrees (the `index` module).
        let tags: Vec<String> = match suffix_for(&build.platforms, self.platform.as_deref()) {
            Some(suffix) => tags.iter().map(|tag| with_suffix(tag, &suffix)).collect(),
            None => tags,
        };
        for message in warnings {
            let _ = self.events.send(BuildEvent::Warning {
                build: self.label.clone(),
                message,
            });
        }
        for tag in &tags {
            self.engine.tag(&image, tag).await?;
        }
        if !tags.is_empty() {
            let _ = self.events.send(BuildEvent::Tagged {
                build: self.label.clone(),
                tags: tags.clone(),
            });
        }
        if let Some(directory) = &self.options.manifests {
            let dockerfile = self.dockerfile_text()?;
            let new_build = result.outcome == Outcome::Built;
            let path = crate::manifests::write_manifest(
                directory,
                build,
                &facts,
                &dockerfile,
                &tags,
                new_build,
            )?;
            let _ = self.events.send(BuildEvent::Manifest {
                build: self.label.clone(),
                path: path.display().to_string(),
            });
            result.manifest = Some(path);
        }
        result.tagger_tags = tags;
        if attested {
            result.facts = Some(std::sync::Arc::new(facts));
        }
        Ok(())
    }
    /// The Dockerfile the build sends to the engine (a compat build's is generated).
    pub(super) fn dockerfile_text(&self) -> Result<String, crate::error::BuildError> {
        let build = self.build();
        Ok(match build.kind {
            BuildKind::Compat => {
                strata_plan::compat_dockerfile(&self.repository, build).unwrap_or_default()
            }
            _ => fs_err::read_to_string(self.repository.root.join(&build.dockerfile))?,
        })
    }
    /// `org.opencontainers.image.base.name` and `.base.digest`: the image the build starts
    /// from, by the name it is published under and its manifest digest when known (pinned in
    /// the Dockerfile, pushed by this run, or recorded by the engine when it pulled or pushed
    /// the image).
    pub(super) async fn base_labels(
        &self,
    ) -> Result<BTreeMap<String, String>, crate::error::BuildError> {
        let build = self.build();
        let mut labels = BTreeMap::new();
        let (name, mut digest) = if let Some(parent) = &build.parent {
            (parent.tag.clone(), self.parent_digest.clone())
        } else {
            let reference = strata_repo::ImageReference::parse(&build.from);
            match reference.digest {
                Some(digest) => (
                    format!(
                        "{}:{}",
                        reference.repository,
                        reference.tag.unwrap_or("latest")
                    ),
                    Some(digest.to_string()),
                ),
                None => (build.from.clone(), None),
            }
        };
        if name == "scratch" {
            return Ok(labels);
        }
        if digest.is_none() {
            // A parent this pipeline staged: the digest it was staged as.
            let staged = match (&build.parent, &self.options.pipeline) {
                (Some(parent), Some(pipeline)) if pipeline.plans(&parent.name) => {
                    Some(pipeline.staging_reference(
                        &parent.tag,
                        &parent.platforms,
                        self.platform.as_deref(),
                    ))
                }
                _ => None,
            };
            digest = match (&staged, &build.parent) {
                (Some(staged), Some(parent)) => {
                    Some(self.staged_digest(&parent.name, staged).await?.to_string())
                }
                _ => self.recorded_digest(&name).await?,
            };
        }
        labels.insert(BASE_NAME_LABEL.to_string(), name);
        if let Some(digest) = digest {
            labels.insert(BASE_DIGEST_LABEL.to_string(), digest);
        }
        Ok(labels)
    }
    /// The digest the engine recorded for `reference`'s repository (`RepoDigests`), if any.
    pub(super) async fn recorded_digest(
        &self,
        reference: &str,
    ) -> Result<Option<String>, crate::error::BuildError> {
        let Some(image) = self.engine.image(reference).await? else {
            return Ok(None);
        };
        let Ok(wanted) = strata_registry::parse_reference(reference) else {
            return Ok(None);
        };
        let wanted = strata_registry::repository_name(&wanted);
        Ok(image.repo_digests.iter().find_map(|recorded| {
            let (repository, digest) = recorded.split_once('@')?;
            let repository = strata_registry::parse_reference(repository).ok()?;
            (strata_registry::repository_name(&repository) == wanted).then(|| digest.to_string())
        }))
    }
    /// The digest the registry holds a staging reference as: what the job that staged it pushed
    /// (the engine's own record of a digest can be another, for an image it built itself).
    pub(super) async fn staged_digest(
        &self,
        parent: &str,
        staged: &str,
    ) -> Result<strata_registry::Digest, crate::error::BuildError> {
        let missing = || crate::error::BuildError::NotStaged {
            parent: parent.to_string(),
            reference: staged.to_string(),
        };
        let reference = strata_registry::parse_reference(staged)?;
        let descriptor = self.options.registry.resolve(&reference).await?;
        descriptor
            .map(|descriptor| descriptor.digest)
            .ok_or_else(missing)
    }
    /// A parent another job of this pipeline built: its staging reference, pulled by the digest
    /// the registry gives (always: a local image under that name may be an older run's).
    pub(super) async fn staged_parent(
        &self,
        parent: &str,
        staged: &str,
    ) -> Result<String, crate::error::BuildError> {
        let digest = self.staged_digest(parent, staged).await?;
        let repository = staged
            .rsplit_once(':')
            .map_or(staged, |(repository, _)| repository);
        let exact = format!("{repository}@{digest}");
        let _ = self.events.send(BuildEvent::Step {
            build: self.label.clone(),
            step: format!("pulling `{parent}` as this pipeline staged it (`{exact}`)"),
        });
        let missing = || crate::error::BuildError::NotStaged {
            parent: parent.to_string(),
            reference: staged.to_string(),
        };
        if !self
            .engine
            .pull(&exact, registry_credentials(staged)?)
            .await?
        {
            return Err(missing());
        }
        self.engine
            .image(&exact)
            .await?
            .map(|image| image.id)
            .ok_or_else(missing)
    }
    /// A parent this run did not build: the local image of its published tag, pulled first
    /// when this machine does not have it (a CI runner building only what changed).
    pub(super) async fn published_parent(
        &self,
        tag: &str,
    ) -> Result<Option<String>, crate::error::BuildError> {
        if let Some(image) = self.engine.image(tag).await? {
            return Ok(Some(image.id));
        }
        let _ = self.events.send(BuildEvent::Step {
            build: self.label.clone(),
            step: format!("pulling the parent `{tag}`"),
        });
        if !self.engine.pull(tag, registry_credentials(tag)?).await? {
            return Ok(None);
        }
        Ok(self.engine.image(tag).await?.map(|image| image.id))
    }
    /// Audit the new, still untagged image's packages (`--audit`): a finding at least as severe
    /// as the gate's fails the build, naming each.
    pub(super) async fn audit_image(&self, image: &str) -> Result<(), crate::error::BuildError> {
        let (Some(gate), Some(cache)) = (&self.options.audit, &self.options.cache) else {
            return Ok(());
        };
        let _ = self.events.send(BuildEvent::Step {
            build: self.label.clone(),
            step: format!(
                "auditing the image's packages (--audit {})",
                gate.fail_on.as_str()
            ),
        });
        let facts =
            crate::manifests::inspect_built(&*self.engine, self.build(), image, cache).await?;
        let findings: Vec<String> = strata_audit::audit(&facts, &gate.store)?
            .into_iter()
            .filter(|finding| finding.severity >= gate.fail_on)
            .map(|finding| {
                let fixed = finding.fixed.as_deref().map_or_else(
                    || "no fix yet".to_string(),
                    |fixed| format!("fixed in {fixed}"),
                );
                format!(
                    "{} in {} {} ({}, {fixed})",
                    finding.id,
                    finding.package,
                    finding.version,
                    finding.severity.as_str()
                )
            })
            .collect();
        if findings.is_empty() {
            return Ok(());
        }
        Err(crate::error::BuildError::AuditFailed {
            threshold: gate.fail_on.as_str().to_string(),
            findings,
        })
    }
    /// Run the build's tests on the new, still untagged image. Host tests see it under a tag
    /// unique to this run, returned so the caller removes it once the image has its own tags.
    /// Any failure fails the build (and the failed image loses that tag).
    pub(super) async fn test_image(
        &self,
        image: &str,
    ) -> Result<(Vec<crate::image_tests::TestResult>, Option<String>), crate::error::BuildError>
    {
        let build = self.build();
        if self.options.no_test || build.tests.is_empty() {
            return Ok((Vec::new(), None));
        }
        let needs_reference = build
            .tests
            .iter()
            .any(|test| matches!(test.kind, strata_repo::ImageTestKind::Host { .. }));
        let reference = if needs_reference {
            let alias = unique_alias().replace(":parent", ":test");
            self.engine.tag(image, &alias).await?;
            alias
        } else {
            image.to_string()
        };
        let target = crate::image_tests::TestTarget {
            build: &self.label,
            image,
            reference: &reference,
            cache: self.options.cache.as_ref(),
        };
        let results = crate::image_tests::run_image_tests(
            &*self.engine,
            &self.repository.root,
            &target,
            &build.tests,
            &self.test_permits,
            &self.events,
        )
        .await;
        let failed: Vec<String> = results
            .iter()
            .filter(|result| !result.passed)
            .map(|result| format!("`{}`", result.test))
            .collect();
        let alias = needs_reference.then_some(reference);
        if failed.is_empty() {
            return Ok((results, alias));
        }
        if let Some(alias) = alias {
            if let Err(error) = self.engine.untag(&alias).await {
                tracing::debug!("cannot remove the test alias `{alias}`: {error}");
            }
        }
        Err(crate::error::BuildError::TestsFailed { failed, results })
    }
    pub(super) async fn tag_all(&self, image: &str) -> Result<(), crate::error::BuildError> {
        for tag in &self.build().tags {
            self.engine.tag(image, tag).await?;
        }
        Ok(())
    }
}
