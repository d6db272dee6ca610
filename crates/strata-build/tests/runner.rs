//! The build runner against the fake engine: what it skips after a failure, when it builds
//! nothing, and how it retries and reports pushes. The real-daemon tests (in `strata`) stay.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use strata_build::{run_plan, BuildEvent, BuildResult, Outcome, RunOptions};
use strata_engine::TransferFailure;
use strata_plan::{Plan, PlanRequest, Selection};
use strata_registry::{RegistryClient, RetryPolicy};
use strata_repo::{CommitInfo, Repository};
use strata_test::{runtime, FakeEngine};

const REPO: &str = "registry.test/owner";

/// A docker-stacks repository: `a` ← `b` ← `c`, and `d` on its own. `failing` images run
/// `RUN false`.
fn repository(root: &Path, failing: &[&str]) -> Repository {
    let write = |name: &str, from: &str| {
        let directory = root.join("images").join(name);
        fs_err::create_dir_all(&directory).unwrap();
        let run = if failing.contains(&name) {
            "RUN false"
        } else {
            "RUN true"
        };
        fs_err::write(
            directory.join("Dockerfile"),
            format!("FROM {from}\n{run}\n"),
        )
        .unwrap();
    };
    write("a", "base/busybox:latest");
    write("b", "owner/a:latest");
    write("c", "owner/b:latest");
    write("d", "base/busybox:latest");
    fs_err::write(root.join("strata.toml"), format!("repo = \"{REPO}\"\n")).unwrap();
    strata_repo::open(root).unwrap()
}

fn plan_all(repository: &Repository) -> Plan {
    strata_plan::plan(&PlanRequest {
        repository,
        commit: &CommitInfo {
            hash: "0123456789abcdef0123456789abcdef01234567".to_string(),
            short_hash: "0123456".to_string(),
            count: 1,
        },
        repo: REPO,
        source_url: None,
        selection: Selection::All,
    })
    .unwrap()
}

fn options(push: bool) -> RunOptions {
    RunOptions {
        jobs: 2,
        push,
        registry: RegistryClient::new(),
        push_retry: RetryPolicy {
            attempts: 3,
            first_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(10),
        },
        ..RunOptions::default()
    }
}

fn run(
    engine: &Arc<FakeEngine>,
    repository: Repository,
    push: bool,
) -> (Vec<BuildResult>, Vec<BuildEvent>) {
    let plan = Arc::new(plan_all(&repository));
    runtime().block_on(async {
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
        let results = run_plan(
            Arc::new(strata_build::Engines::single(Arc::clone(engine))),
            Arc::new(repository),
            plan,
            Arc::new(options(push)),
            sender,
        )
        .await;
        let mut events = Vec::new();
        while let Ok(event) = receiver.try_recv() {
            events.push(event);
        }
        (results, events)
    })
}

fn outcomes(results: &[BuildResult]) -> BTreeMap<&str, &Outcome> {
    results
        .iter()
        .map(|result| (result.name.as_str(), &result.outcome))
        .collect()
}

#[test]
fn a_failure_skips_what_is_built_on_it_and_tags_nothing_of_it() {
    let directory = tempfile::tempdir().unwrap();
    let engine = Arc::new(FakeEngine::new());
    engine.add_image("base/busybox:latest");
    let (results, events) = run(&engine, repository(directory.path(), &["a"]), false);
    let outcomes = outcomes(&results);
    assert!(matches!(outcomes["a"], Outcome::Failed(message) if message.contains("exit code: 1")));
    assert_eq!(outcomes["b"], &Outcome::Skipped("`a` failed".to_string()));
    assert_eq!(
        outcomes["c"],
        &Outcome::Skipped("`b` was skipped".to_string())
    );
    assert_eq!(outcomes["d"], &Outcome::Built);
    assert_eq!(engine.builds(), 1, "only `d` was built");
    for image in ["a", "b", "c"] {
        assert_eq!(
            engine.tagged(&format!("{REPO}/{image}:latest")),
            None,
            "{image}"
        );
    }
    assert!(engine.tagged(&format!("{REPO}/d:latest")).is_some());
    assert!(events
        .iter()
        .any(|event| matches!(event, BuildEvent::Skipped { build, .. } if build == "c")));
}

#[test]
fn a_failure_on_one_platform_skips_only_that_platform_of_what_is_built_on_it() {
    let directory = tempfile::tempdir().unwrap();
    let root = directory.path();
    let write = |name: &str, dockerfile: &str| {
        let path = root.join("images").join(name);
        fs_err::create_dir_all(&path).unwrap();
        fs_err::write(path.join("Dockerfile"), dockerfile).unwrap();
    };
    write(
        "a",
        "FROM base/busybox:latest\nRUN test \"$TARGETARCH\" != arm64\n",
    );
    write("b", "FROM owner/a:latest\nRUN true\n");
    write("d", "FROM base/busybox:latest\nRUN true\n");
    fs_err::write(
        root.join("strata.toml"),
        format!("repo = \"{REPO}\"\nplatforms = [\"linux/amd64\", \"linux/arm64\"]\n"),
    )
    .unwrap();
    let engine = Arc::new(FakeEngine::new());
    engine.add_image("base/busybox:latest");
    let (results, events) = run(&engine, strata_repo::open(root).unwrap(), false);
    let outcomes: BTreeMap<(&str, &str), &Outcome> = results
        .iter()
        .map(|result| {
            (
                (result.name.as_str(), result.platform.as_deref().unwrap()),
                &result.outcome,
            )
        })
        .collect();
    assert_eq!(outcomes[&("a", "linux/amd64")], &Outcome::Built);
    assert!(matches!(
        outcomes[&("a", "linux/arm64")],
        Outcome::Failed(_)
    ));
    assert_eq!(outcomes[&("b", "linux/amd64")], &Outcome::Built);
    assert_eq!(
        outcomes[&("b", "linux/arm64")],
        &Outcome::Skipped("`a (linux/arm64)` failed".to_string())
    );
    assert_eq!(outcomes[&("d", "linux/amd64")], &Outcome::Built);
    assert_eq!(outcomes[&("d", "linux/arm64")], &Outcome::Built);
    // Each platform's tags are its own; the plain tags are left for the index.
    assert!(engine.tagged(&format!("{REPO}/b:latest-amd64")).is_some());
    assert_eq!(engine.tagged(&format!("{REPO}/b:latest-arm64")), None);
    assert_eq!(engine.tagged(&format!("{REPO}/a:latest")), None);
    assert!(events.iter().any(
        |event| matches!(event, BuildEvent::Skipped { build, .. } if build == "b (linux/arm64)")
    ));
}

#[test]
fn a_second_run_with_the_same_inputs_builds_nothing() {
    let directory = tempfile::tempdir().unwrap();
    let engine = Arc::new(FakeEngine::new());
    engine.add_image("base/busybox:latest");
    let (first, _) = run(&engine, repository(directory.path(), &[]), false);
    assert!(first.iter().all(|result| result.outcome == Outcome::Built));
    assert_eq!(engine.builds(), 4);
    let (second, _) = run(&engine, strata_repo::open(directory.path()).unwrap(), false);
    assert!(
        second
            .iter()
            .all(|result| result.outcome == Outcome::UpToDate),
        "{second:?}"
    );
    assert_eq!(engine.builds(), 4, "nothing was built again");
    // A changed input rebuilds that image and what is built on it (its parent's id changed).
    fs_err::write(directory.path().join("images/b/extra"), "x").unwrap();
    let (third, _) = run(&engine, strata_repo::open(directory.path()).unwrap(), false);
    let outcomes = outcomes(&third);
    assert_eq!(outcomes["a"], &Outcome::UpToDate);
    assert_eq!(outcomes["b"], &Outcome::Built);
    assert_eq!(outcomes["c"], &Outcome::Built);
    assert_eq!(outcomes["d"], &Outcome::UpToDate);
}

#[test]
fn transient_push_failures_are_retried_and_permanent_ones_reported_at_once() {
    let directory = tempfile::tempdir().unwrap();
    let engine = Arc::new(FakeEngine::new());
    engine.add_image("base/busybox:latest");
    let flaky = format!("{REPO}/a:latest");
    let refused = format!("{REPO}/d:latest");
    engine.fail_pushes(
        &flaky,
        &[TransferFailure::Unavailable, TransferFailure::Unavailable],
    );
    engine.fail_pushes(&refused, &[TransferFailure::Unauthorized]);
    let (results, _) = run(&engine, repository(directory.path(), &[]), true);
    let result = |name: &str| results.iter().find(|result| result.name == name).unwrap();
    assert_eq!(
        engine.push_attempts(&flaky),
        3,
        "two failures, then success"
    );
    assert!(result("a")
        .pushed
        .iter()
        .any(|(tag, digest)| tag == &flaky && digest.is_some()));
    assert!(result("a").push_failures.is_empty());
    assert_eq!(
        engine.push_attempts(&refused),
        1,
        "credentials will not appear by waiting"
    );
    let (tag, error) = &result("d").push_failures[0];
    assert_eq!(tag, &refused);
    assert!(error.contains("Unauthorized"), "{error}");
    assert!(result("d").succeeded(), "the build itself succeeded");
}

/// A pipeline's job asks the engine to reuse the layers of the image's last published build
/// (when the registry has it: BuildKit fails a build whose cache image is missing) and to write
/// inline cache metadata for the next one; a plain build does neither.
#[test]
fn a_pipeline_job_builds_with_the_published_image_as_its_cache() {
    let registry = strata_test::FakeRegistry::start();
    let directory = tempfile::tempdir().unwrap();
    let root = directory.path();
    for (name, from) in [("a", "base/busybox:latest"), ("d", "base/busybox:latest")] {
        let image = root.join("images").join(name);
        fs_err::create_dir_all(&image).unwrap();
        fs_err::write(image.join("Dockerfile"), format!("FROM {from}\nRUN true\n")).unwrap();
    }
    let repo = format!("{}/owner", registry.address());
    fs_err::write(root.join("strata.toml"), format!("repo = \"{repo}\"\n")).unwrap();
    // `a` was published before; `d` never was.
    registry.put_image("owner/a", "latest", &[b"a layer"]);
    let repository = strata_repo::open(root).unwrap();
    let plan = strata_plan::plan(&PlanRequest {
        repository: &repository,
        commit: &CommitInfo {
            hash: "0123456789abcdef0123456789abcdef01234567".to_string(),
            short_hash: "0123456".to_string(),
            count: 1,
        },
        repo: &repo,
        source_url: None,
        selection: Selection::All,
    })
    .unwrap();
    let names: Vec<String> = plan.builds.iter().map(|build| build.name.clone()).collect();
    let run = |pipeline: Option<strata_build::Pipeline>| {
        let engine = Arc::new(FakeEngine::new());
        let mut run_options = options(true);
        run_options.pipeline = pipeline;
        let results = runtime().block_on(run_plan(
            Arc::new(strata_build::Engines::single(Arc::clone(&engine))),
            Arc::new(strata_repo::open(root).unwrap()),
            Arc::new(plan.clone()),
            Arc::new(run_options),
            tokio::sync::mpsc::unbounded_channel().0,
        ));
        assert!(results.iter().all(BuildResult::succeeded), "{results:?}");
        engine.caches()
    };
    let job = run(Some(strata_build::Pipeline::new("p1", names).unwrap()));
    assert!(
        job.contains(&(vec![format!("{repo}/a:latest")], true)),
        "{job:?}"
    );
    assert!(
        job.contains(&(Vec::new(), true)),
        "`d` has no published image: {job:?}"
    );
    let without_pipeline = run(None);
    assert!(
        without_pipeline
            .iter()
            .all(|cache| *cache == (Vec::new(), false)),
        "{without_pipeline:?}"
    );
}

#[test]
fn a_build_that_lost_a_cached_layer_to_another_client_is_sent_again_up_to_three_times() {
    let directory = tempfile::tempdir().unwrap();
    let engine = Arc::new(FakeEngine::new());
    engine.add_image("base/busybox:latest");
    // Three losses, however they fall on the builds: each is sent again and every image built.
    engine.lose_cached_layers(3);
    let (results, _) = run(&engine, repository(directory.path(), &[]), false);
    assert!(
        outcomes(&results)
            .values()
            .all(|outcome| **outcome == Outcome::Built),
        "{results:?}"
    );
    assert_eq!(engine.builds(), 4);
    assert_eq!(engine.caches().len(), 4 + 3, "three builds sent again");
    // An engine that keeps losing: each build is sent four times in all, then fails naming why.
    let directory = tempfile::tempdir().unwrap();
    let engine = Arc::new(FakeEngine::new());
    engine.add_image("base/busybox:latest");
    engine.lose_cached_layers(usize::MAX);
    let (results, _) = run(&engine, repository(directory.path(), &[]), false);
    let outcomes = outcomes(&results);
    for root in ["a", "d"] {
        assert!(
            matches!(outcomes[root], Outcome::Failed(message) if message.contains("layer not known")),
            "{root}: {:?}",
            outcomes[root]
        );
    }
    assert_eq!(engine.caches().len(), 2 * 4, "a and d, four times each");
}
