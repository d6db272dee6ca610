//! Running a plan on an engine: builds start as soon as everything they depend on succeeded, up
//! to `jobs` at a time; a failure skips everything that depends on it while independent builds
//! go on. A build is tagged only after it succeeds, and pushed only after it is tagged.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use strata_engine::Engine;
use strata_plan::{Build, Plan};
use strata_repo::Repository;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinSet;

use crate::events::BuildEvent;
use crate::platforms::{label as platform_label, platform_build, Engines};

mod building;
mod labels;
mod pushing;
mod task;

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
    /// `--pipeline ID`: this run is one job of a CI pipeline. Images are pushed (with `push`)
    /// to the pipeline's staging references only, and a parent another job of it built comes
    /// from its staging reference; no tag moves until `strata release --pipeline ID`.
    pub pipeline: Option<crate::pipeline::Pipeline>,
    /// `--only-platform`: of builds for several platforms, build only this one (a pipeline's
    /// job per platform). The tags stay the platform's own (`1.0-arm64`).
    pub only_platform: Option<String>,
    /// `--sign KEY`: sign every manifest pushed (and every index), cosign's way.
    pub sign: Option<Arc<strata_sign::SigningKey>>,
    /// `--audit SEVERITY`: audit every built image's packages before any tag moves; a finding
    /// at least that severe fails the build.
    pub audit: Option<AuditGate>,
}

/// The advisories every built image is audited against, and the severity that fails a build.
#[derive(Clone)]
pub struct AuditGate {
    pub store: Arc<strata_audit::Store>,
    pub fail_on: strata_audit::Severity,
}

impl std::fmt::Debug for AuditGate {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("AuditGate")
            .field("fail_on", &self.fail_on)
            .finish_non_exhaustive()
    }
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
    /// The build failed: the error, kept typed.
    Failed(BuildFailure),
    /// Not built because what it needs failed or was skipped: why.
    Skipped(String),
}

/// Why a build failed: the error itself (its exit class and hint intact, for whoever reports
/// it) and its one-line text, causes and hint included, as events and summaries show it.
#[derive(Debug, Clone)]
pub struct BuildFailure {
    error: Arc<crate::error::BuildError>,
    text: String,
}

impl BuildFailure {
    pub fn new(error: crate::error::BuildError) -> Self {
        let text = match strata_diagnostic::Diagnostic::hint(&error) {
            Some(hint) => format!("{} (hint: {hint})", render_error(&error)),
            None => render_error(&error),
        };
        Self {
            error: Arc::new(error),
            text,
        }
    }

    /// The error the build failed with.
    pub fn error(&self) -> &crate::error::BuildError {
        &self.error
    }

    /// The error, its causes and its hint on one line.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl std::ops::Deref for BuildFailure {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Display for BuildFailure {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.text)
    }
}

/// Two failures are the same when they read the same.
impl PartialEq for BuildFailure {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
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
    pub pushed: Vec<(String, Option<strata_registry::Digest>)>,
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
    /// The inputs hash of the image (built, or found up to date in a pipeline's staging).
    pub inputs: Option<String>,
    /// The signatures pushed for its manifests (`--sign`).
    pub signatures: Vec<strata_sign::Signed>,
    /// The attestations pushed beside them (`--sign`: SBOM and provenance).
    pub attestations: Vec<String>,
    /// What inspecting the image found (kept for the SBOM a signed image is attested with).
    pub facts: Option<Arc<strata_inspect::ImageFacts>>,
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
            inputs: None,
            signatures: Vec::new(),
            attestations: Vec::new(),
            facts: None,
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
        .filter(|(_, platform)| {
            options.only_platform.is_none()
                || platform.is_none()
                || *platform == options.only_platform
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
    // With a pool, which of its engines each node runs on, and how many builds each runs now.
    let mut slots: Vec<Option<usize>> = vec![None; count];
    let mut busy: Vec<usize> = vec![0; engines.pool.len()];
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
                let engine = if engines.pool.is_empty() || engines.has_own(platform.as_deref()) {
                    engines.for_platform(platform.as_deref())
                } else {
                    let slot = (0..busy.len()).min_by_key(|slot| busy[*slot]).unwrap_or(0);
                    busy[slot] += 1;
                    slots[node] = Some(slot);
                    Arc::clone(&engines.pool[slot])
                };
                // An image another engine built is not here: the build takes it from the
                // registry (the pipeline's staging reference) instead.
                let here = |other: usize| slots[other] == slots[node];
                let parent_image = parents[node]
                    .filter(|parent| here(*parent))
                    .and_then(|parent| images.get(&parent).cloned());
                // The other images of this run the build reads, as this platform built them.
                let read_images = node_builds[node]
                    .reads
                    .iter()
                    .filter_map(|read| {
                        let read_node = nodes_of(&read.name, platform).first().copied()?;
                        if !here(read_node) {
                            return None;
                        }
                        Some((read.name.clone(), images.get(&read_node)?.clone()))
                    })
                    .collect();
                let parent_digest = parents[node].and_then(|parent| digests.get(&parent).cloned());
                let task = BuildTask {
                    engine,
                    repository: Arc::clone(&repository),
                    build: Arc::clone(&node_builds[node]),
                    platform: platform.clone(),
                    label,
                    options: Arc::clone(&options),
                    events: events.clone(),
                    parent_image,
                    parent_digest,
                    read_images,
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
        if let Some(slot) = slots[node] {
            busy[slot] -= 1;
        }
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
            digests.insert(node, digest.to_string());
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
    /// Images this run built that the build reads besides its parent, by build name.
    read_images: HashMap<String, String>,
    /// Slots for running tests, shared by every build of the plan.
    test_permits: Arc<tokio::sync::Semaphore>,
}

/// An error and its causes on one line.
fn render_error(error: &dyn std::error::Error) -> String {
    strata_repo::join_chain(error, ": ")
}
