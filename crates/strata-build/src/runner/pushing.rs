//! Pushing a built image's tags (or its reproducible form), with retries, each failure kept
//! on the result.

use strata_diagnostic::Diagnostic as _;

use strata_engine::{Engine, PushCredentials};

use crate::events::BuildEvent;

use super::{render_error, BuildResult, BuildTask, Reproducible};

impl<E: Engine + 'static> BuildTask<E> {
    pub(super) async fn push(&self, result: &mut BuildResult) {
        let build = self.build();
        // Staged already by an earlier run of this job, with the same inputs.
        if self.options.pipeline.is_some() && !result.pushed.is_empty() {
            return;
        }
        let tags: Vec<String> = if let Some(pipeline) = &self.options.pipeline {
            // One job of a pipeline: the image goes to its staging reference only; the tags
            // move at the release, once every job passed.
            let unique = build.tags.first().cloned().unwrap_or_default();
            let staging =
                pipeline.staging_reference(&unique, &build.platforms, self.platform.as_deref());
            if self.options.reproducible.is_none() {
                if let Some(image) = &result.image {
                    if let Err(error) = self.engine.tag(image, &staging).await {
                        self.push_failed(
                            result,
                            &staging,
                            render_error(&crate::error::BuildError::from(error)),
                        );
                        return;
                    }
                }
            }
            vec![staging]
        } else {
            build
                .tags
                .iter()
                .chain(&result.tagger_tags)
                .cloned()
                .collect()
        };
        for tag in &tags {
            let credentials = match registry_credentials(tag) {
                Ok(credentials) => credentials,
                Err(error) => {
                    self.push_failed(result, tag, render_error(&error));
                    continue;
                }
            };
            if let Some(reproducible) = &self.options.reproducible {
                match self.push_reproduced(reproducible, result, tag).await {
                    Ok(digest) => {
                        let _ = self.events.send(BuildEvent::Pushed {
                            build: self.label.clone(),
                            tag: tag.clone(),
                            digest: Some(digest.clone()),
                        });
                        result.pushed.push((tag.clone(), Some(digest)));
                    }
                    Err(error) => {
                        let message = match error.hint() {
                            Some(hint) => format!("{} (hint: {hint})", render_error(&error)),
                            None => render_error(&error),
                        };
                        self.push_failed(result, tag, message);
                    }
                }
                continue;
            }
            match self.push_with_retries(tag, credentials).await {
                Ok(pushed) => {
                    let _ = self.events.send(BuildEvent::Pushed {
                        build: self.label.clone(),
                        tag: tag.clone(),
                        digest: pushed.digest.clone(),
                    });
                    result.pushed.push((tag.clone(), pushed.digest));
                }
                Err(error) => self.push_failed(result, tag, render_error(&error)),
            }
        }
        if self.options.pipeline.is_some() {
            self.keep_staged(result).await;
        } else if let Some(key) = self.options.sign.clone() {
            self.sign_pushed(&key, result).await;
        }
    }
    /// Attest the image's SBOM (when it was inspected) and its provenance, signed with `key`,
    /// beside the manifest `digest` of `reference`'s repository.
    async fn attest(
        &self,
        key: &strata_sign::SigningKey,
        result: &mut BuildResult,
        reference: &strata_registry::Reference,
        digest: &strata_registry::Digest,
    ) -> Result<(), crate::error::BuildError> {
        let registry = &self.options.registry;
        for (predicate_type, predicate) in self.predicates(result).await? {
            let written =
                strata_sign::attest(registry, reference, digest, &predicate_type, predicate, key)
                    .await
                    .map_err(|error| crate::error::BuildError::Attest {
                        image: format!("{}@{digest}", strata_registry::repository_name(reference)),
                        source: Box::new(error),
                    })?;
            if !result.attestations.contains(&written) {
                result.attestations.push(written);
            }
        }
        Ok(())
    }
    /// What the image is attested with: its SBOM (when it was inspected) and its provenance.
    async fn predicates(
        &self,
        result: &BuildResult,
    ) -> Result<Vec<(String, serde_json::Value)>, crate::error::BuildError> {
        use strata_sign::attestation::{CYCLONEDX, SLSA_PROVENANCE};
        let build = self.build();
        let mut build_args = build.build_args.clone();
        build_args.extend(self.options.build_args.clone());
        let dockerfile = self.dockerfile_text()?;
        let base = self.base_labels().await?;
        let provenance = crate::provenance::predicate(&crate::provenance::ProvenanceInputs {
            build,
            platform: result.platform.as_deref(),
            inputs: result.inputs.as_deref(),
            tests: &result.tests,
            dockerfile: dockerfile.as_bytes(),
            build_args: &build_args,
            base: &base,
        });
        let mut predicates = vec![(SLSA_PROVENANCE.to_string(), provenance)];
        if let Some(facts) = &result.facts {
            predicates.insert(0, (CYCLONEDX.to_string(), strata_inspect::cyclonedx(facts)));
        }
        Ok(predicates)
    }
    /// Sign each manifest the build pushed, once per repository: the signature goes beside
    /// it (`sha256-<digest>.sig`). A signature that cannot be pushed is a push failure (the
    /// image is published unsigned; a run again signs it).
    async fn sign_pushed(&self, key: &strata_sign::SigningKey, result: &mut BuildResult) {
        let mut done = std::collections::BTreeSet::new();
        for (tag, digest) in result.pushed.clone() {
            let Ok(reference) = strata_registry::parse_reference(&tag) else {
                continue;
            };
            let digest = match digest {
                Some(digest) => Some(digest),
                None => self
                    .options
                    .registry
                    .resolve(&reference)
                    .await
                    .ok()
                    .flatten()
                    .map(|found| found.digest),
            };
            let Some(digest) = digest else {
                let message = "pushed, but its digest is unknown: not signed".to_string();
                self.push_failed(result, &tag, message);
                continue;
            };
            if !done.insert((strata_registry::repository_name(&reference), digest.clone())) {
                continue;
            }
            match strata_sign::sign_image(&self.options.registry, &reference, &digest, key).await {
                Ok(signed) => {
                    let _ = self.events.send(BuildEvent::Step {
                        build: self.label.clone(),
                        step: format!("signed `{}` (`{}`)", signed.image, signed.signature),
                    });
                    result.signatures.push(signed);
                    if let Err(error) = self.attest(key, result, &reference, &digest).await {
                        let message = format!(
                            "pushed and signed, but not attested: {}",
                            strata_repo::join_chain(&error, ": ")
                        );
                        self.push_failed(result, &tag, message);
                    }
                }
                Err(error) => {
                    let message = format!(
                        "pushed, but not signed: {}",
                        strata_repo::join_chain(&error, ": ")
                    );
                    self.push_failed(result, &tag, message);
                }
            }
        }
    }
    /// After a pipeline's job staged its image: the taggers' tags and the SBOM and provenance
    /// beside it (the release moves the tags and attests with the rest), and the image, with
    /// both, under its inputs reference for later pipelines to reuse (best effort: a job that
    /// cannot keep it still staged its image). A failure to keep the tags or the predicates
    /// fails the push: the release would publish less than the job made.
    async fn keep_staged(&self, result: &mut BuildResult) {
        let Some((staged, Some(digest))) = result.pushed.first().cloned() else {
            return;
        };
        let registry = &self.options.registry;
        if !result.tagger_tags.is_empty() {
            if let Err(error) =
                crate::pipeline::stage_tags(registry, &staged, &digest, &result.tagger_tags).await
            {
                let reference = crate::pipeline::tags_reference(&staged);
                let message = strata_repo::join_chain(&error, ": ");
                self.push_failed(result, &reference, message);
                return;
            }
        }
        // What the release attests when it signs: made here, where the image is.
        let predicates = match self.predicates(result).await {
            Ok(predicates) => predicates,
            Err(error) => {
                let reference = crate::pipeline::statements_reference(&staged);
                self.push_failed(result, &reference, render_error(&error));
                return;
            }
        };
        if let Err(error) =
            crate::pipeline::stage_statements(registry, &staged, &digest, &predicates).await
        {
            let reference = crate::pipeline::statements_reference(&staged);
            let message = strata_repo::join_chain(&error, ": ");
            self.push_failed(result, &reference, message);
            return;
        }
        let unique = self.build().tags.first().cloned().unwrap_or_default();
        let Some(by_inputs) = (result.inputs.as_deref())
            .and_then(|inputs| crate::pipeline::inputs_reference(&unique, inputs))
        else {
            return;
        };
        let copy = async {
            let source = strata_registry::parse_reference(&staged)?;
            let promotion = strata_registry::Promotion {
                source: strata_registry::with_digest(&source, &digest),
                target: strata_registry::parse_reference(&by_inputs)?,
            };
            strata_registry::promote(registry, &[promotion], true)
                .await
                .map_err(|error| strata_registry::RegistryError::Invalid {
                    reference: by_inputs.clone(),
                    message: error.to_string(),
                })?;
            crate::pipeline::copy_beside(registry, &staged, &by_inputs).await?;
            Ok::<_, strata_registry::RegistryError>(())
        };
        if let Err(error) = copy.await {
            tracing::debug!("cannot keep `{staged}` as `{by_inputs}`: {error}");
        }
    }
    /// Push the normalised image with strata's registry client (blobs the registry lacks, then
    /// the manifest), trying again as `push_with_retries` does. An image that was up to date
    /// comes from the store, or is normalised now.
    pub(super) async fn push_reproduced(
        &self,
        reproducible: &Reproducible,
        result: &mut BuildResult,
        tag: &str,
    ) -> Result<strata_registry::Digest, crate::error::BuildError> {
        if result.reproduced.is_none() {
            if let Some(image) = result.image.clone() {
                let stored = strata_registry::Digest::parse(&image)
                    .ok()
                    .and_then(|id| strata_reproducible::stored(&reproducible.store, &id));
                let reproduced = if let Some(stored) = stored {
                    stored
                } else {
                    // The store was emptied since the image was built: normalise it again,
                    // keeping its base's layers as the build did.
                    let build = self.build();
                    let base = self
                        .parent_image
                        .clone()
                        .or_else(|| build.parent.as_ref().map(|parent| parent.tag.clone()))
                        .unwrap_or_else(|| build.from.clone());
                    self.normalise(reproducible, &image, Some(&base)).await?
                };
                result.reproduced = Some(reproduced);
            }
        }
        let Some(reproduced) = result.reproduced.clone() else {
            return Err(crate::error::BuildError::Reproducible(
                strata_reproducible::ReproducibleError::Export {
                    image: self.label.clone(),
                    message: "the build has no image to push".to_string(),
                },
            ));
        };
        let policy = self.options.push_retry;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match strata_reproducible::push_reproduced(
                &self.options.registry,
                &reproducible.store,
                &reproduced,
                tag,
            )
            .await
            {
                Ok(pushed) => return Ok(pushed.digest),
                Err(strata_reproducible::ReproducibleError::Push { source, .. })
                    if matches!(*source, strata_registry::RegistryError::Unreachable { .. })
                        && attempt < policy.attempts =>
                {
                    let delay = policy.delay(attempt);
                    tracing::info!("push of `{tag}` failed ({source}); trying again in {delay:?}");
                    tokio::time::sleep(delay).await;
                }
                Err(error) => return Err(error.into()),
            }
        }
    }
    /// Push, trying again (`RunOptions::push_retry`) when the failure may pass.
    pub(super) async fn push_with_retries(
        &self,
        tag: &str,
        credentials: Option<PushCredentials>,
    ) -> Result<strata_engine::Pushed, strata_engine::EngineError> {
        let policy = self.options.push_retry;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.engine.push(tag, credentials.clone()).await {
                Ok(pushed) => return Ok(pushed),
                Err(error) if !error.is_permanent() && attempt < policy.attempts => {
                    let delay = policy.delay(attempt);
                    tracing::info!("push of `{tag}` failed ({error}); trying again in {delay:?}");
                    tokio::time::sleep(delay).await;
                }
                Err(error) => return Err(error),
            }
        }
    }
    pub(super) fn push_failed(&self, result: &mut BuildResult, tag: &str, error: String) {
        let _ = self.events.send(BuildEvent::PushFailed {
            build: self.label.clone(),
            tag: tag.to_string(),
            error: error.clone(),
        });
        result.push_failures.push((tag.to_string(), error));
    }
}

/// The credentials the user's Docker config has for the registry of `reference`.
pub(super) fn registry_credentials(
    reference: &str,
) -> Result<Option<PushCredentials>, strata_registry::RegistryError> {
    Ok(
        strata_registry::credentials_for(reference)?.map(|credentials| match credentials {
            strata_registry::Credentials::UsernamePassword { username, password } => {
                PushCredentials::UsernamePassword { username, password }
            }
            strata_registry::Credentials::IdentityToken(token) => {
                PushCredentials::IdentityToken(token)
            }
        }),
    )
}
