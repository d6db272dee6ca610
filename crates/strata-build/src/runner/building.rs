//! The engine build itself: the context assembled, the request with its labels and build
//! arguments, a parent built elsewhere pulled, and (`--reproducible`) the image normalised.

use std::collections::BTreeMap;
use std::time::Instant;

use strata_engine::{BuildOutput, BuildRequest, Engine};
use strata_plan::Build;
use tokio::sync::mpsc::unbounded_channel;

use crate::alias::{redirect, unique_alias};
use crate::assemble::build_context;
use crate::events::BuildEvent;
use crate::inputs::INPUTS_LABEL;
use crate::platforms::target_arguments;
use crate::published::{build_inputs, resolve_base};

use super::labels::build_time_labels;
use super::{BuildResult, BuildTask, Outcome, Reproducible};

/// How many times a build is sent again when buildah lost a cached layer to another client.
const LOST_LAYER_RETRIES: u32 = 3;

impl<E: Engine + 'static> BuildTask<E> {
    pub(super) async fn build_image(&self) -> Result<BuildResult, crate::error::BuildError> {
        let started = Instant::now();
        let build = self.build();
        let mut context = build_context(&self.repository, build)?;
        let mut build_args = build.build_args.clone();
        build_args.extend(self.options.build_args.clone());
        if let Some(reproducible) = &self.options.reproducible {
            // Declared by `ARG SOURCE_DATE_EPOCH`, it reaches pip and py_compile; it also makes
            // the inputs of a reproducible build differ from a plain one's.
            build_args
                .entry(strata_reproducible::SOURCE_DATE_EPOCH.to_string())
                .or_insert_with(|| reproducible.epoch.to_string());
        }

        // The parent: the image this plan built, else the parent's published tag (pulled when
        // this machine lacks it).
        // In a pipeline, a parent another job of it built is its staging reference.
        let staged_parent = match (&self.parent_image, &build.parent, &self.options.pipeline) {
            (None, Some(parent), Some(pipeline)) if pipeline.plans(&parent.name) => {
                Some(pipeline.staging_reference(
                    &parent.tag,
                    &parent.platforms,
                    self.platform.as_deref(),
                ))
            }
            _ => None,
        };
        let parent_id = match (&self.parent_image, &build.parent, &staged_parent) {
            (Some(id), _, _) => Some(id.clone()),
            (None, Some(parent), Some(staged)) => {
                Some(self.staged_parent(&parent.name, staged).await?)
            }
            (None, Some(parent), None) => self.published_parent(&parent.tag).await?,
            (None, None, _) => None,
        };
        let mut pinned_base = None;
        let parent = if let Some(id) = parent_id.clone() {
            id
        } else {
            let resolved = resolve_base(
                Some(&*self.engine),
                &self.options.registry,
                &build.from,
                self.platform.as_deref(),
            )
            .await?;
            pinned_base = resolved.pinned;
            resolved.identity
        };
        let inputs = build_inputs(
            &self.repository,
            build,
            &context,
            &build_args,
            &parent,
            self.platform.as_deref(),
        )?;

        let unique_tag = build.tags.first().cloned().unwrap_or_default();
        // A pipeline's job run again (a retried job, a matrix entry that passed before): the
        // image this pipeline staged with these very inputs is the build.
        if let (Some(pipeline), false) = (&self.options.pipeline, self.options.no_cache) {
            let staged =
                pipeline.staging_reference(&unique_tag, &build.platforms, self.platform.as_deref());
            let reused = match self.staged_with_inputs(&staged, &inputs).await {
                Some(digest) => Some(digest),
                None => self.reuse_elsewhere(&unique_tag, &inputs, &staged).await,
            };
            if let Some(digest) = reused {
                let _ = self.events.send(BuildEvent::UpToDate {
                    build: self.label.clone(),
                    image: digest.to_string(),
                    inputs: inputs.clone(),
                });
                let mut result = self.result(Outcome::UpToDate);
                result.inputs = Some(inputs);
                result.pushed.push((staged, Some(digest)));
                return Ok(result);
            }
        }
        if !self.options.no_cache {
            if let Some(existing) = self.engine.image(&unique_tag).await? {
                if existing.labels.get(INPUTS_LABEL) == Some(&inputs) {
                    self.tag_all(&existing.id).await?;
                    let _ = self.events.send(BuildEvent::UpToDate {
                        build: self.label.clone(),
                        image: existing.id.clone(),
                        inputs,
                    });
                    let mut result = self.result(Outcome::UpToDate);
                    result.size = existing.size;
                    result.image = Some(existing.id);
                    return Ok(result);
                }
            }
        }

        crate::frontend::check(
            &context,
            &build.dockerfile,
            &self.engine.dockerfile_support().await,
        )?;

        // When the FROM line names the parent differently (`sci/base:1.0`), the Dockerfile sent
        // to the engine names a tag unique to this build, pointed at the parent for its duration.
        let mut alias = None;
        if let (Some(id), Some(parent)) = (&parent_id, &build.parent) {
            // A staged parent is not under its tag here (or an older image is): always redirect.
            if build.from != parent.tag || staged_parent.is_some() {
                let unique = unique_alias();
                if redirect(&mut context, &build.from, &unique, &build_args) {
                    self.engine.tag(id, &unique).await?;
                    alias = Some(unique);
                } else {
                    // The reference is not written where strata can rewrite it: point the name
                    // itself at the parent (shared with other runs on this engine).
                    self.engine.tag(id, &build.from).await?;
                }
            }
        }
        // Other images of this repository the Dockerfile reads (`COPY --from=data`): pointed
        // at the image this run built, the one this pipeline staged, or the published one.
        let mut read_aliases = Vec::new();
        for read in &build.reads {
            let image = if let Some(id) = self.read_images.get(&read.name) {
                Some(id.clone())
            } else if let Some(pipeline) =
                (self.options.pipeline.as_ref()).filter(|pipeline| pipeline.plans(&read.name))
            {
                let staged = pipeline.staging_reference(
                    &read.tag,
                    &read.platforms,
                    self.platform.as_deref(),
                );
                Some(self.staged_parent(&read.name, &staged).await?)
            } else {
                // Best effort: a registry that cannot be asked leaves the reference as written.
                self.published_parent(&read.tag)
                    .await
                    .unwrap_or_else(|error| {
                        tracing::debug!(
                            "cannot find `{}` as `{}`: {error}",
                            read.reference,
                            read.tag
                        );
                        None
                    })
            };
            let Some(image) = image else {
                continue; // The engine reports the reference it cannot find.
            };
            let unique = unique_alias();
            if redirect(&mut context, &read.reference, &unique, &build_args) {
                self.engine.tag(&image, &unique).await?;
                read_aliases.push(unique);
            }
        }
        // One platform of an external base the engine lacks: start from that platform's
        // manifest by digest.
        if let Some(pinned) = &pinned_base {
            if redirect(&mut context, &build.from, pinned, &build_args) {
                let _ = self.events.send(BuildEvent::Step {
                    build: self.label.clone(),
                    step: format!(
                        "starting from `{pinned}` (the registry's {} image of `{}`)",
                        self.platform.as_deref().unwrap_or_default(),
                        build.from
                    ),
                });
            }
        }
        // The image the build starts from, whose layers `--reproducible` keeps as they are.
        let base = parent_id
            .clone()
            .or_else(|| pinned_base.clone())
            .unwrap_or_else(|| build.from.clone());
        let result = self
            .build_with(build, context, build_args, inputs, started, &base)
            .await;
        for alias in read_aliases {
            if let Err(error) = self.engine.untag(&alias).await {
                tracing::debug!("cannot remove the build's alias `{alias}`: {error}");
            }
        }
        if let Some(alias) = alias {
            if let Err(error) = self.engine.untag(&alias).await {
                tracing::debug!("cannot remove the build's alias `{alias}`: {error}");
            }
        }
        result
    }
    /// An image with these very inputs staged by another pipeline (one that failed elsewhere,
    /// or an earlier commit's) or published already (a family built before): staged as it is
    /// by a copy inside the registry, with the tags its job computed, so the release finds it.
    async fn reuse_elsewhere(
        &self,
        unique_tag: &str,
        inputs: &str,
        staged: &str,
    ) -> Option<strata_registry::Digest> {
        let by_inputs = crate::pipeline::inputs_reference(unique_tag, inputs)?;
        if let Some(digest) = self.staged_with_inputs(&by_inputs, inputs).await {
            let copied = self.copy_in_registry(&by_inputs, &digest, staged).await?;
            let registry = &self.options.registry;
            if let Err(error) = crate::pipeline::copy_beside(registry, &by_inputs, staged).await {
                tracing::debug!("cannot copy what is kept beside `{by_inputs}`: {error}");
                return None;
            }
            let _ = self.events.send(BuildEvent::Step {
                build: self.label.clone(),
                step: format!("staged as another pipeline staged it (`{by_inputs}`)"),
            });
            return Some(copied);
        }
        let digest = self.staged_with_inputs(unique_tag, inputs).await?;
        self.copy_in_registry(unique_tag, &digest, staged).await
    }
    /// Copy `digest` of `source`'s repository to the reference `target`, inside the registry;
    /// `None` (the job builds) when the registry refuses.
    async fn copy_in_registry(
        &self,
        source: &str,
        digest: &strata_registry::Digest,
        target: &str,
    ) -> Option<strata_registry::Digest> {
        let parsed = strata_registry::parse_reference(source).ok()?;
        let promotion = strata_registry::Promotion {
            source: strata_registry::with_digest(&parsed, digest),
            target: strata_registry::parse_reference(target).ok()?,
        };
        match strata_registry::promote(&self.options.registry, &[promotion], true).await {
            Ok(_) => Some(digest.clone()),
            Err(error) => {
                tracing::debug!("cannot copy `{source}` to `{target}`: {error}");
                None
            }
        }
    }
    /// The digest of `staged` when the registry has it and its inputs are `inputs`.
    async fn staged_with_inputs(
        &self,
        staged: &str,
        inputs: &str,
    ) -> Option<strata_registry::Digest> {
        let reference = strata_registry::parse_reference(staged).ok()?;
        let platform = self
            .platform
            .as_deref()
            .and_then(strata_registry::Platform::parse);
        let image = match self
            .options
            .registry
            .image(&reference, platform.as_ref())
            .await
        {
            Ok(image) => image,
            Err(error) => {
                tracing::debug!("`{staged}` is not reused: {error}");
                return None;
            }
        };
        (image.config["config"]["Labels"][INPUTS_LABEL].as_str() == Some(inputs))
            .then_some(image.digest)
    }
    /// The build's last published image, as the cache of a pipeline's job: its moving tag,
    /// when the registry has it (BuildKit fails a build whose cache image is missing).
    async fn published_cache(&self, build: &Build) -> Vec<String> {
        let Some(tag) = build.tags.last() else {
            return Vec::new();
        };
        let Ok(reference) = strata_registry::parse_reference(tag) else {
            return Vec::new();
        };
        match self.options.registry.resolve(&reference).await {
            Ok(Some(_)) => vec![tag.clone()],
            Ok(None) => Vec::new(),
            Err(error) => {
                tracing::debug!("no cache from `{tag}`: {error}");
                Vec::new()
            }
        }
    }
    pub(super) async fn build_with(
        &self,
        build: &Build,
        context: crate::context::BuildContext,
        build_args: BTreeMap<String, String>,
        inputs: String,
        started: Instant,
        base: &str,
    ) -> Result<BuildResult, crate::error::BuildError> {
        let mut labels = build.labels.clone();
        labels.extend(build_time_labels(
            build,
            self.options
                .reproducible
                .as_ref()
                .map(|reproducible| reproducible.epoch),
        ));
        labels.extend(self.base_labels().await?);
        labels.insert(INPUTS_LABEL.to_string(), inputs.clone());
        let mut build_args = build_args;
        if let Some(platform) = &self.platform {
            for (name, value) in target_arguments(platform) {
                build_args.entry(name).or_insert(value);
            }
        }
        let request = BuildRequest {
            context: context.to_tar()?.into(),
            dockerfile: context.dockerfile.clone(),
            build_args,
            labels,
            platform: self.platform.clone(),
            no_cache: self.options.no_cache,
            // `--pull` refreshes external bases; a parent of this repository is the image this
            // run built or the local copy of its published tag, never a registry's.
            pull: self.options.pull && build.parent.is_none(),
            network: self.options.network.clone(),
            // A pipeline's job runs on a runner that may hold nothing: steps whose inputs are
            // the last published build's come from its layers (inline cache metadata, which
            // every image a pipeline stages carries for the next one).
            cache_from: match &self.options.pipeline {
                Some(_) => self.published_cache(build).await,
                None => Vec::new(),
            },
            inline_cache: self.options.pipeline.is_some(),
        };
        let (sender, mut receiver) = unbounded_channel();
        let events = self.events.clone();
        let build_name = self.label.clone();
        let forward = tokio::spawn(async move {
            while let Some(output) = receiver.recv().await {
                let event = match output {
                    BuildOutput::Step(step) => BuildEvent::Step {
                        build: build_name.clone(),
                        step,
                    },
                    BuildOutput::Line(line) => BuildEvent::Output {
                        build: build_name.clone(),
                        line,
                    },
                };
                let _ = events.send(event);
            }
        });
        let mut engine_result = self.engine.build(request.clone(), sender.clone()).await;
        // buildah (Podman) can lose a race with another client's image removal while it looks
        // for cached layers ("layer not known"): nothing was built, so building again is safe.
        // The race can repeat while the other client is still removing: up to three more
        // tries, a moment apart.
        for attempt in 1..=LOST_LAYER_RETRIES {
            let lost_layer = matches!(&engine_result, Err(strata_engine::EngineError::BuildFailed { message }) if message.contains("layer not known"));
            if !lost_layer {
                break;
            }
            tracing::info!(
                "the engine lost track of a cached layer; building again ({attempt} of {LOST_LAYER_RETRIES})"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(attempt))).await;
            engine_result = self.engine.build(request.clone(), sender.clone()).await;
        }
        drop(sender);
        let _ = forward.await;
        let mut image = engine_result?;
        let reproduced = match &self.options.reproducible {
            Some(reproducible) => {
                let reproduced = self.normalise(reproducible, &image.id, Some(base)).await?;
                image.id = reproduced.image_id.to_string();
                Some(reproduced)
            }
            None => None,
        };
        let (tests, alias) = self.test_image(&image.id).await?;
        // Audited like tested: before any tag moves.
        let tagged = match self.audit_image(&image.id).await {
            Ok(()) => self.tag_all(&image.id).await,
            Err(error) => Err(error),
        };
        // Only now: an image whose one tag is removed is deleted.
        if let Some(alias) = alias {
            if let Err(error) = self.engine.untag(&alias).await {
                tracing::debug!("cannot remove the test alias `{alias}`: {error}");
            }
        }
        tagged?;
        let size = self
            .engine
            .image(&image.id)
            .await?
            .map_or(0, |details| details.size);
        let _ = self.events.send(BuildEvent::Built {
            build: self.label.clone(),
            image: image.id.clone(),
            inputs: inputs.clone(),
            seconds: started.elapsed().as_secs_f64(),
            size,
        });
        let mut result = self.result(Outcome::Built);
        result.inputs = Some(inputs);
        result.image = Some(image.id);
        result.size = size;
        result.tests = tests;
        result.reproduced = reproduced;
        Ok(result)
    }
    /// Normalise the engine's image; the normalised one is loaded into the engine. The layers of
    /// `base`, the image the build started from, are kept as they are: only the build's own
    /// layers are rewritten (a parent normalised before is already reproducible, and an external
    /// base is what its digest says).
    pub(super) async fn normalise(
        &self,
        reproducible: &Reproducible,
        image: &str,
        base: Option<&str>,
    ) -> Result<strata_reproducible::Reproduced, crate::error::BuildError> {
        let build = self.build();
        let _ = self.events.send(BuildEvent::Step {
            build: self.label.clone(),
            step: "normalising the image's layers (--reproducible)".to_string(),
        });
        let scrub = self
            .repository
            .config
            .images
            .get(&build.name)
            .map(|config| config.scrub.clone())
            .unwrap_or_default();
        let base = match base {
            Some(base) if base != "scratch" => self.engine.image(base).await?,
            _ => None,
        };
        let normalisation = strata_reproducible::Normalisation {
            epoch: reproducible.epoch,
            scrub: strata_reproducible::Scrub::new(&scrub)?,
            keep: base
                .iter()
                .flat_map(|base| &base.layers)
                .filter_map(|diff_id| strata_registry::Digest::parse(diff_id).ok())
                .collect(),
        };
        let reproduced = strata_reproducible::reproduce(
            &*self.engine,
            image,
            &reproducible.store,
            &normalisation,
        )
        .await?;
        let _ = self.events.send(BuildEvent::Normalised {
            build: self.label.clone(),
            image: reproduced.image_id.to_string(),
            digest: reproduced.manifest_digest.clone(),
            rewritten: reproduced.rewritten,
            scrubbed: reproduced.scrubbed.clone(),
        });
        Ok(reproduced)
    }
}
