//! Running a plan on an engine: builds start as soon as everything they depend on succeeded, up
//! to `jobs` at a time; a failure skips everything that depends on it while independent builds
//! go on. A build is tagged only after it succeeds, and pushed only after it is tagged.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use strata_diagnostic::Diagnostic as _;

use strata_engine::{BuildOutput, BuildRequest, Engine, PushCredentials};
use strata_plan::{Build, BuildKind, Plan};
use strata_repo::Repository;
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};
use tokio::task::JoinSet;

use crate::alias::{redirect, unique_alias};
use crate::assemble::build_context;
use crate::events::BuildEvent;
use crate::inputs::INPUTS_LABEL;
use crate::platforms::{
    label as platform_label, platform_build, suffix_for, target_arguments, with_suffix, Engines,
};
use crate::published::{build_inputs, resolve_base};

/// How to run the builds.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Builds at once (at least 1).
    pub jobs: usize,
    pub push: bool,
    pub no_cache: bool,
    pub pull: bool,
    pub platform: Option<String>,
    pub network: Option<String>,
    /// `--build-arg`s, over the plan's.
    pub build_args: BTreeMap<String, String>,
    /// Where inspected layers are cached; without it built images are not inspected, so
    /// neither taggers nor manifests run.
    pub cache: Option<strata_inspect::LayerCache>,
    /// Where build manifests and histories go; `None` writes none.
    pub manifests: Option<std::path::PathBuf>,
    /// For external bases the engine does not have yet: their identity in their registry.
    pub registry: strata_registry::RegistryClient,
    /// How pushes that fail for a reason that may pass are tried again.
    pub push_retry: strata_registry::RetryPolicy,
    /// Skip the images' tests (`--no-test`).
    pub no_test: bool,
    /// `--reproducible`: normalise every built image and push it with strata's registry client.
    pub reproducible: Option<Reproducible>,
}

/// How reproducible builds are made.
#[derive(Debug, Clone)]
pub struct Reproducible {
    /// `SOURCE_DATE_EPOCH`: the commit's time unless the variable is set.
    pub epoch: u64,
    /// Where normalised layers and manifests are kept.
    pub store: strata_reproducible::BlobStore,
}

/// How one build ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Built,
    UpToDate,
    Failed(String),
    Skipped(String),
}

/// The result of one build of the plan.
#[derive(Debug, Clone)]
pub struct BuildResult {
    pub name: String,
    /// The platform built, when one was asked for (a build for several platforms has one
    /// result per platform).
    pub platform: Option<String>,
    pub outcome: Outcome,
    pub seconds: f64,
    pub image: Option<String>,
    pub size: u64,
    /// `(tag, digest)` of every pushed tag.
    pub pushed: Vec<(String, Option<String>)>,
    /// Tags that could not be pushed, with the error.
    pub push_failures: Vec<(String, String)>,
    /// Tags the taggers computed (full references).
    pub tagger_tags: Vec<String>,
    /// The Markdown build manifest, when one was written.
    pub manifest: Option<std::path::PathBuf>,
    /// The image's tests, when they ran.
    pub tests: Vec<crate::image_tests::TestResult>,
    /// `--reproducible`: the normalised image.
    pub reproduced: Option<strata_reproducible::Reproduced>,
}

impl BuildResult {
    pub(crate) fn new(name: &str, outcome: Outcome) -> Self {
        Self {
            name: name.to_string(),
            platform: None,
            outcome,
            seconds: 0.0,
            image: None,
            size: 0,
            pushed: Vec::new(),
            push_failures: Vec::new(),
            tagger_tags: Vec::new(),
            manifest: None,
            tests: Vec::new(),
            reproduced: None,
        }
    }

    /// Whether the image exists, so builds on it can go ahead.
    pub fn succeeded(&self) -> bool {
        matches!(self.outcome, Outcome::Built | Outcome::UpToDate)
    }
}

/// Run every build of the plan, once per platform it is built for. Results come back in plan
/// order (a build's platforms in the order it lists them).
///
/// # Panics
///
/// When a build task panics (a bug in strata), the panic is passed on.
pub async fn run_plan<E: Engine + 'static>(
    engines: Arc<Engines<E>>,
    repository: Arc<Repository>,
    plan: Arc<Plan>,
    options: Arc<RunOptions>,
    events: UnboundedSender<BuildEvent>,
) -> Vec<BuildResult> {
    // One node per build and platform.
    let nodes: Vec<(usize, Option<String>)> = plan
        .builds
        .iter()
        .enumerate()
        .flat_map(|(position, build)| {
            if build.platforms.is_empty() {
                vec![(position, options.platform.clone())]
            } else {
                build
                    .platforms
                    .iter()
                    .map(|platform| (position, Some(platform.clone())))
                    .collect()
            }
        })
        .collect();
    let node_builds: Vec<Arc<Build>> = nodes
        .iter()
        .map(|(position, platform)| {
            Arc::new(platform_build(&plan.builds[*position], platform.as_deref()))
        })
        .collect();
    // The nodes of `name` a node on `platform` builds on: the same platform's, else them all.
    let nodes_of = |name: &str, platform: &Option<String>| -> Vec<usize> {
        let all: Vec<usize> = (0..nodes.len())
            .filter(|node| plan.builds[nodes[*node].0].name == name)
            .collect();
        let same: Vec<usize> = all
            .iter()
            .copied()
            .filter(|node| nodes[*node].1 == *platform)
            .collect();
        if same.is_empty() {
            all
        } else {
            same
        }
    };
    let count = nodes.len();
    let dependencies: Vec<Vec<usize>> = nodes
        .iter()
        .map(|(position, platform)| {
            plan.builds[*position]
                .depends_on
                .iter()
                .flat_map(|name| nodes_of(name, platform))
                .collect()
        })
        .collect();
    let parents: Vec<Option<usize>> = nodes
        .iter()
        .map(|(position, platform)| {
            let parent = plan.builds[*position].parent.as_ref()?;
            nodes_of(&parent.name, platform).first().copied()
        })
        .collect();
    let mut results: Vec<Option<BuildResult>> = vec![None; count];
    let mut started = vec![false; count];
    let mut images: HashMap<usize, String> = HashMap::new();
    // The digest each node's moving tag was pushed as, for its children's base labels.
    let mut digests: HashMap<usize, String> = HashMap::new();
    let mut running = JoinSet::new();
    let jobs = options.jobs.max(1);
    // Tests of every build share `jobs` slots.
    let test_permits = Arc::new(tokio::sync::Semaphore::new(jobs));
    loop {
        for node in 0..count {
            if started[node] || running.len() >= jobs {
                continue;
            }
            let (position, platform) = &nodes[node];
            let build = &plan.builds[*position];
            let label = platform_label(build, platform.as_deref());
            if let Some(blocker) = dependencies[node].iter().find(|dependency| {
                results[**dependency]
                    .as_ref()
                    .is_some_and(|result| !result.succeeded())
            }) {
                let blocker_build = &plan.builds[nodes[*blocker].0];
                let because = format!(
                    "`{}` {}",
                    platform_label(blocker_build, nodes[*blocker].1.as_deref()),
                    match results[*blocker].as_ref().map(|result| &result.outcome) {
                        Some(Outcome::Skipped(_)) => "was skipped",
                        _ => "failed",
                    }
                );
                started[node] = true;
                let _ = events.send(BuildEvent::Skipped {
                    build: label.clone(),
                    because: because.clone(),
                });
                let mut result = BuildResult::new(&build.name, Outcome::Skipped(because));
                result.platform.clone_from(platform);
                results[node] = Some(result);
                continue;
            }
            if dependencies[node]
                .iter()
                .all(|dependency| results[*dependency].is_some())
            {
                started[node] = true;
                let parent_image = parents[node].and_then(|parent| images.get(&parent).cloned());
                let parent_digest = parents[node].and_then(|parent| digests.get(&parent).cloned());
                let task = BuildTask {
                    engine: engines.for_platform(platform.as_deref()),
                    repository: Arc::clone(&repository),
                    build: Arc::clone(&node_builds[node]),
                    platform: platform.clone(),
                    label,
                    options: Arc::clone(&options),
                    events: events.clone(),
                    parent_image,
                    parent_digest,
                    test_permits: Arc::clone(&test_permits),
                };
                running.spawn(async move { (node, task.run().await) });
            }
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (node, result) = match joined {
            Ok(done) => done,
            Err(error) => std::panic::resume_unwind(error.into_panic()),
        };
        if let Some(image) = &result.image {
            images.insert(node, image.clone());
        }
        let moving_tag = node_builds[node].tags.last();
        if let Some(digest) = result
            .pushed
            .iter()
            .find(|(tag, _)| Some(tag) == moving_tag)
            .and_then(|(_, digest)| digest.clone())
        {
            digests.insert(node, digest);
        }
        results[node] = Some(result);
    }
    results.into_iter().flatten().collect()
}

struct BuildTask<E> {
    engine: Arc<E>,
    repository: Arc<Repository>,
    /// The build as this platform makes it (its tags and its parent's are the platform's).
    build: Arc<Build>,
    /// The platform built, when one is asked for.
    platform: Option<String>,
    /// How events name this build: `base`, or `base (linux/arm64)` for one of several platforms.
    label: String,
    options: Arc<RunOptions>,
    events: UnboundedSender<BuildEvent>,
    /// The image id of the parent when this plan built it.
    parent_image: Option<String>,
    /// The digest the parent's moving tag was pushed as by this plan.
    parent_digest: Option<String>,
    /// Slots for running tests, shared by every build of the plan.
    test_permits: Arc<tokio::sync::Semaphore>,
}

impl<E: Engine + 'static> BuildTask<E> {
    fn build(&self) -> &Build {
        &self.build
    }

    /// A result of this build on its platform.
    fn result(&self, outcome: Outcome) -> BuildResult {
        let mut result = BuildResult::new(&self.build.name, outcome);
        result.platform.clone_from(&self.platform);
        result
    }

    async fn run(self) -> BuildResult {
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
                let error = match error.hint() {
                    Some(hint) => format!("{} (hint: {hint})", render_error(&error)),
                    None => render_error(&error),
                };
                let seconds = started.elapsed().as_secs_f64();
                let _ = self.events.send(BuildEvent::Failed {
                    build: name.clone(),
                    error: error.clone(),
                    seconds,
                });
                let mut result = self.result(Outcome::Failed(error));
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
    async fn after_build(&self, result: &mut BuildResult) -> Result<(), crate::error::BuildError> {
        let build = self.build();
        let (Some(cache), Some(image)) = (&self.options.cache, result.image.clone()) else {
            return Ok(());
        };
        if build.taggers.is_empty() && self.options.manifests.is_none() {
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
        // the plain ones become indexes when every platform agrees (`crate::index`).
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
            let dockerfile = match build.kind {
                BuildKind::Compat => {
                    strata_plan::compat_dockerfile(&self.repository, build).unwrap_or_default()
                }
                _ => fs_err::read_to_string(self.repository.root.join(&build.dockerfile))?,
            };
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
        Ok(())
    }

    async fn build_image(&self) -> Result<BuildResult, crate::error::BuildError> {
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
        let parent_id = match (&self.parent_image, &build.parent) {
            (Some(id), _) => Some(id.clone()),
            (None, Some(parent)) => self.published_parent(&parent.tag).await?,
            (None, None) => None,
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
            if build.from != parent.tag {
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
        if let Some(alias) = alias {
            if let Err(error) = self.engine.untag(&alias).await {
                tracing::debug!("cannot remove the build's alias `{alias}`: {error}");
            }
        }
        result
    }

    async fn build_with(
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
        // buildah (Podman) can lose a race with another build's image removal while it looks
        // for cached layers ("layer not known"): nothing was built, so building again is safe.
        if matches!(&engine_result, Err(strata_engine::EngineError::BuildFailed { message }) if message.contains("layer not known"))
        {
            tracing::info!("the engine lost track of a cached layer; building again");
            engine_result = self.engine.build(request, sender).await;
        } else {
            drop(sender);
        }
        let _ = forward.await;
        let mut image = engine_result?;
        let reproduced = match &self.options.reproducible {
            Some(reproducible) => {
                let reproduced = self.normalise(reproducible, &image.id, Some(base)).await?;
                image.id.clone_from(&reproduced.image_id);
                Some(reproduced)
            }
            None => None,
        };
        let (tests, alias) = self.test_image(&image.id).await?;
        let tagged = self.tag_all(&image.id).await;
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
            inputs,
            seconds: started.elapsed().as_secs_f64(),
            size,
        });
        let mut result = self.result(Outcome::Built);
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
    async fn normalise(
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
            keep: base.map(|base| base.layers).unwrap_or_default(),
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
            image: reproduced.image_id.clone(),
            digest: reproduced.manifest_digest.clone(),
            rewritten: reproduced.rewritten,
            scrubbed: reproduced.scrubbed.clone(),
        });
        Ok(reproduced)
    }

    /// `org.opencontainers.image.base.name` and `.base.digest`: the image the build starts
    /// from, by the name it is published under and its manifest digest when known (pinned in
    /// the Dockerfile, pushed by this run, or recorded by the engine when it pulled or pushed
    /// the image).
    async fn base_labels(&self) -> Result<BTreeMap<String, String>, crate::error::BuildError> {
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
            digest = self.recorded_digest(&name).await?;
        }
        labels.insert(BASE_NAME_LABEL.to_string(), name);
        if let Some(digest) = digest {
            labels.insert(BASE_DIGEST_LABEL.to_string(), digest);
        }
        Ok(labels)
    }

    /// The digest the engine recorded for `reference`'s repository (`RepoDigests`), if any.
    async fn recorded_digest(
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

    /// A parent this run did not build: the local image of its published tag, pulled first
    /// when this machine does not have it (a CI runner building only what changed).
    async fn published_parent(
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

    /// Run the build's tests on the new, still untagged image. Host tests see it under a tag
    /// unique to this run, returned so the caller removes it once the image has its own tags.
    /// Any failure fails the build (and the failed image loses that tag).
    async fn test_image(
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

    async fn tag_all(&self, image: &str) -> Result<(), crate::error::BuildError> {
        for tag in &self.build().tags {
            self.engine.tag(image, tag).await?;
        }
        Ok(())
    }

    async fn push(&self, result: &mut BuildResult) {
        let build = self.build();
        let tags: Vec<String> = build
            .tags
            .iter()
            .chain(&result.tagger_tags)
            .cloned()
            .collect();
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
    }

    /// Push the normalised image with strata's registry client (blobs the registry lacks, then
    /// the manifest), trying again as `push_with_retries` does. An image that was up to date
    /// comes from the store, or is normalised now.
    async fn push_reproduced(
        &self,
        reproducible: &Reproducible,
        result: &mut BuildResult,
        tag: &str,
    ) -> Result<String, crate::error::BuildError> {
        if result.reproduced.is_none() {
            if let Some(image) = result.image.clone() {
                let reproduced = if let Some(stored) =
                    strata_reproducible::stored(&reproducible.store, &image)
                {
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
    async fn push_with_retries(
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

    fn push_failed(&self, result: &mut BuildResult, tag: &str, error: String) {
        let _ = self.events.send(BuildEvent::PushFailed {
            build: self.label.clone(),
            tag: tag.to_string(),
            error: error.clone(),
        });
        result.push_failures.push((tag.to_string(), error));
    }
}

/// The OCI label naming the image a build starts from.
pub const BASE_NAME_LABEL: &str = "org.opencontainers.image.base.name";
/// The OCI label holding that image's manifest digest.
pub const BASE_DIGEST_LABEL: &str = "org.opencontainers.image.base.digest";

/// The labels that say when a build ran: SciServer's `buildtime` breadcrumbs (seconds since the
/// epoch, as image-builder writes them) and `org.opencontainers.image.created`.
fn build_time_labels(build: &Build, epoch: Option<u64>) -> BTreeMap<String, String> {
    let now = match epoch {
        Some(epoch) => SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(epoch),
        None => SystemTime::now(),
    };
    let seconds = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |duration| duration.as_secs_f64());
    let mut labels = BTreeMap::new();
    labels.insert(
        "org.opencontainers.image.created".to_string(),
        humantime::format_rfc3339_seconds(now).to_string(),
    );
    match build.kind {
        BuildKind::Science => {
            labels.insert(
                format!("org.sciserver.science.{}.buildtime", build.name),
                format!("{seconds:.6}"),
            );
        }
        BuildKind::Compat => {
            labels.insert(
                "org.sciserver.compat.buildtime".to_string(),
                format!("{seconds:.6}"),
            );
        }
        BuildKind::Image => {}
    }
    labels
}

/// The credentials the user's Docker config has for the registry of `reference`.
fn registry_credentials(
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

/// An error and its causes on one line.
fn render_error(error: &dyn std::error::Error) -> String {
    strata_repo::join_chain(error, ": ")
}
