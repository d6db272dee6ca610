//! `strata build`: run the plan on the engine, report progress, keep logs, summarise.

use std::sync::Arc;

use anyhow::Context;
use strata_build::{
    emit_contexts, push_indexes, run_plan, BuildEvent, BuildResult, Engines, IndexPush, LogWriter,
    Outcome, RunOptions,
};
use strata_engine::DockerEngine;

use crate::commands::plan::make_plan;
use crate::exit_status::ExitStatus;
use crate::printer::Printer;
use crate::reporters::BuildReporter;
use crate::settings::BuildSettings;

/// Bumped when a field of the `--json` event stream changes meaning or disappears.
pub const EVENTS_SCHEMA_VERSION: u32 = 1;

pub fn build(settings: &BuildSettings, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let (repository, plan) = make_plan(&settings.select, printer)?;
    if let Some(directory) = &settings.emit_context {
        let written = emit_contexts(&repository, &plan, directory)
            .with_context(|| format!("cannot write build contexts to `{}`", directory.display()))?;
        for path in &written {
            printer.data(&format!("{}\n", path.display()));
        }
        printer.info(&format!(
            "wrote {} compat build context(s); nothing was built",
            written.len()
        ));
        return Ok(ExitStatus::Success);
    }
    if plan.builds.is_empty() {
        printer.info("nothing to build");
        return Ok(ExitStatus::Success);
    }
    if settings.lint && !lint_planned(&repository, &plan, printer)? {
        return Ok(ExitStatus::Problems);
    }
    let reproducible = if settings.reproducible || repository.config.reproducible {
        // A bad scrub pattern is found before anything is built, not after the build.
        for (image, config) in &repository.config.images {
            strata_reproducible::Scrub::new(&config.scrub).with_context(|| {
                format!("`[images.{image}] scrub` in `strata.toml` cannot be used")
            })?;
        }
        let commit_time = strata_repo::Git::new(&repository.root)
            .commit_time()
            .context("`--reproducible` takes its times from the commit")?;
        Some(strata_build::Reproducible {
            epoch: strata_reproducible::source_date_epoch(commit_time)?,
            store: strata_reproducible::BlobStore::new(&crate::settings::cache_root()),
        })
    } else {
        None
    };
    let repository = Arc::new(repository);
    let plan = Arc::new(plan);
    if settings.check_reproducible {
        return crate::commands::reproducible::check(
            settings,
            &repository,
            &plan,
            reproducible,
            printer,
        );
    }
    let (results, indexes) = run_builds(
        settings,
        &repository,
        &plan,
        RunMode {
            json_events: settings.json,
            push: settings.push,
            no_cache: settings.no_cache,
            reproducible,
        },
        printer,
    )?;
    if settings.json {
        printer.data(&finished_line(&results, &indexes));
    } else {
        printer.data(&summary_table(&results));
        if !indexes.is_empty() {
            printer.data(&index_table(&indexes));
        }
    }
    let tests: Vec<strata_build::TestResult> = results
        .iter()
        .flat_map(|result| result.tests.iter().cloned())
        .collect();
    if settings.no_test {
        printer.info("not tested: `--no-test` skipped every image's tests");
    } else if !tests.is_empty() {
        printer.info(&crate::commands::test::tests_summary(&tests));
    }
    if let Some(path) = &settings.junit {
        crate::commands::test::write_junit(path, &tests)?;
    }
    let built = results.iter().filter(|result| result.succeeded()).count();
    printer.info(&format!("logs: `{}`", settings.logs.display()));
    if let Some(manifests) = &settings.manifests {
        if results.iter().any(|result| result.manifest.is_some()) {
            printer.info(&format!("manifests: `{}`", manifests.display()));
        }
    }
    if !settings.push && built > 0 {
        printer.info("not pushed: nothing left this machine (use `--push` to upload every tag)");
    }
    let status = if results.iter().any(|result| !result.succeeded()) {
        ExitStatus::BuildFailed
    } else if results
        .iter()
        .any(|result| !result.push_failures.is_empty())
        || indexes.iter().any(|index| index.error.is_some())
    {
        ExitStatus::PushFailed
    } else {
        ExitStatus::Success
    };
    Ok(status)
}

/// What differs between the runs of one `strata build` (`--check-reproducible` runs twice).
pub(crate) struct RunMode {
    /// Events as JSON lines on stdout rather than progress on stderr.
    pub json_events: bool,
    pub push: bool,
    pub no_cache: bool,
    pub reproducible: Option<strata_build::Reproducible>,
}

/// Run the plan on the engine, reporting events as they come.
pub(crate) fn run_builds(
    settings: &BuildSettings,
    repository: &Arc<strata_repo::Repository>,
    plan: &Arc<strata_plan::Plan>,
    mode: RunMode,
    printer: &Printer,
) -> anyhow::Result<(Vec<BuildResult>, Vec<IndexPush>)> {
    let runtime = crate::commands::async_runtime()?;
    runtime.block_on(async {
        let engines = Arc::new(connect_engines(settings, repository, plan).await?);
        let options = Arc::new(RunOptions {
            jobs: settings.jobs,
            push: mode.push,
            no_cache: mode.no_cache,
            pull: settings.pull,
            platform: settings
                .platform
                .clone()
                .filter(|platform| !platform.contains(',')),
            network: settings.network.clone(),
            build_args: settings.build_args.clone(),
            cache: Some(strata_inspect::LayerCache::new(
                &crate::settings::cache_root(),
            )),
            manifests: settings.manifests.clone(),
            registry: strata_registry::RegistryClient::new(),
            push_retry: strata_registry::RetryPolicy {
                attempts: 3,
                first_delay: std::time::Duration::from_secs(1),
                max_delay: std::time::Duration::from_secs(3),
            },
            no_test: settings.no_test,
            reproducible: mode.reproducible,
        });
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
        let runner = {
            let repository = Arc::clone(repository);
            let plan = Arc::clone(plan);
            let options = Arc::clone(&options);
            tokio::spawn(async move {
                let results = run_plan(
                    engines,
                    repository,
                    Arc::clone(&plan),
                    Arc::clone(&options),
                    sender.clone(),
                )
                .await;
                // Indexes only after every build ended: each needs all of its platforms.
                let indexes = if options.push {
                    push_indexes(&options.registry, &plan, &results, &sender).await
                } else {
                    Vec::new()
                };
                (results, indexes)
            })
        };
        let mut logs = LogWriter::new(&settings.logs).with_context(|| {
            format!(
                "cannot create the log directory `{}`",
                settings.logs.display()
            )
        })?;
        let mut reporter = BuildReporter::new(printer);
        while let Some(event) = receiver.recv().await {
            if let Err(error) = logs.record(&event) {
                printer.warn(&format!(
                    "cannot write the log of `{}`: {error}",
                    event.build()
                ));
            }
            if mode.json_events {
                printer.data(&event_line(&event));
            } else {
                reporter.on_event(&event);
            }
        }
        reporter.finish();
        let _ = logs.flush();
        let results = runner
            .await
            .context("the build runner stopped unexpectedly")?;
        anyhow::Ok(results)
    })
}

/// The default engine (`DOCKER_HOST`), and the engine of each planned platform `[engines]` in
/// `strata.toml` names.
async fn connect_engines(
    settings: &BuildSettings,
    repository: &strata_repo::Repository,
    plan: &strata_plan::Plan,
) -> anyhow::Result<Engines<DockerEngine>> {
    let default = Arc::new(DockerEngine::connect(settings.builder).await?);
    let mut engines = Engines::single(default);
    let planned: std::collections::BTreeSet<&String> = plan
        .builds
        .iter()
        .flat_map(|build| &build.platforms)
        .collect();
    for (platform, host) in &repository.config.engines {
        if !planned.contains(platform) {
            continue;
        }
        let engine = DockerEngine::connect_to(Some(host), settings.builder)
            .await
            .with_context(|| {
                format!(
                    "cannot reach the engine for {platform} (`[engines]` in `{}`)",
                    repository.config.display_path().display()
                )
            })?;
        engines
            .by_platform
            .insert(platform.clone(), Arc::new(engine));
    }
    Ok(engines)
}

pub(crate) fn event_line(event: &BuildEvent) -> String {
    let mut value = serde_json::to_value(event).unwrap_or_default();
    value["schema_version"] = EVENTS_SCHEMA_VERSION.into();
    format!("{value}\n")
}

fn outcome_word(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Built => "built",
        Outcome::UpToDate => "up to date",
        Outcome::Failed(_) => "failed",
        Outcome::Skipped(_) => "skipped",
    }
}

/// The last line of `build --json`.
#[derive(serde::Serialize)]
struct FinishedEvent<'a> {
    event: &'static str,
    schema_version: u32,
    results: Vec<ResultReport<'a>>,
    /// Multi-platform indexes written (or not) after every platform of a build was pushed.
    indexes: &'a [IndexPush],
}

/// One build's result in the `finished` event.
#[derive(serde::Serialize)]
struct ResultReport<'a> {
    build: &'a str,
    /// The platform built, for a build asked for one or several.
    #[serde(skip_serializing_if = "Option::is_none")]
    platform: Option<&'a str>,
    /// `built`, `up-to-date`, `failed`, `skipped`.
    result: String,
    error: Option<&'a str>,
    seconds: f64,
    image: Option<&'a str>,
    /// Uncompressed bytes.
    size: u64,
    pushed: Vec<TagDigest<'a>>,
    push_failures: Vec<TagError<'a>>,
    tagger_tags: &'a [String],
    manifest: Option<String>,
    tests: &'a [strata_build::TestResult],
}

#[derive(serde::Serialize)]
struct TagDigest<'a> {
    tag: &'a str,
    digest: Option<&'a str>,
}

#[derive(serde::Serialize)]
struct TagError<'a> {
    tag: &'a str,
    error: &'a str,
}

fn finished_line(results: &[BuildResult], indexes: &[IndexPush]) -> String {
    let event = FinishedEvent {
        event: "finished",
        schema_version: EVENTS_SCHEMA_VERSION,
        indexes,
        results: results
            .iter()
            .map(|result| ResultReport {
                build: &result.name,
                platform: result.platform.as_deref(),
                result: outcome_word(&result.outcome).replace(' ', "-"),
                error: match &result.outcome {
                    Outcome::Failed(error) | Outcome::Skipped(error) => Some(error.as_str()),
                    _ => None,
                },
                seconds: result.seconds,
                image: result.image.as_deref(),
                size: result.size,
                pushed: result
                    .pushed
                    .iter()
                    .map(|(tag, digest)| TagDigest {
                        tag,
                        digest: digest.as_deref(),
                    })
                    .collect(),
                push_failures: result
                    .push_failures
                    .iter()
                    .map(|(tag, error)| TagError { tag, error })
                    .collect(),
                tagger_tags: &result.tagger_tags,
                manifest: result
                    .manifest
                    .as_ref()
                    .map(|path| path.display().to_string()),
                tests: &result.tests,
            })
            .collect(),
    };
    format!("{}\n", serde_json::to_string(&event).unwrap_or_default())
}

/// Build, result, duration, size, and the digest each tag was pushed as (or the image id).
fn summary_table(results: &[BuildResult]) -> String {
    let mut rows: Vec<[String; 5]> = Vec::new();
    for result in results {
        let size = if result.size > 0 {
            strata_inspect::human_size(result.size)
        } else {
            String::new()
        };
        let duration = if result.seconds > 0.0 {
            format!("{:.1}s", result.seconds)
        } else {
            String::new()
        };
        let mut result_text = outcome_word(&result.outcome).to_string();
        if !result.push_failures.is_empty() {
            result_text.push_str(", push failed");
        }
        let digest = result
            .pushed
            .first()
            .and_then(|(_, digest)| digest.clone())
            .or_else(|| result.image.clone())
            .map(|digest| digest.chars().take(19).collect())
            .unwrap_or_default();
        let name = match &result.platform {
            Some(platform) => format!("{} ({platform})", result.name),
            None => result.name.clone(),
        };
        rows.push([name, result_text, duration, size, digest]);
    }
    crate::table::render(["IMAGE", "RESULT", "TIME", "UNCOMPRESSED", "DIGEST"], &rows)
}

/// Each multi-platform tag and the index it now points at.
fn index_table(indexes: &[IndexPush]) -> String {
    let rows: Vec<[String; 3]> = indexes
        .iter()
        .map(|index| {
            [
                index.tag.clone(),
                index.platforms.join(", "),
                match (&index.digest, &index.error) {
                    (Some(digest), _) => digest.chars().take(19).collect(),
                    (None, Some(error)) => format!("failed: {error}"),
                    (None, None) => String::new(),
                },
            ]
        })
        .collect();
    crate::table::render(["INDEX", "PLATFORMS", "DIGEST"], &rows)
}

/// `--lint`: the planned images' Dockerfiles (and the compat layers of compat builds) with the
/// repository's `[lint]` settings; findings go to stderr. False when an error remains.
fn lint_planned(
    repository: &strata_repo::Repository,
    plan: &strata_plan::Plan,
    printer: &Printer,
) -> anyhow::Result<bool> {
    let settings = crate::settings::LintSettings {
        fail_level: Some(strata_lint::Severity::Error),
        ..crate::settings::LintSettings::default()
    };
    let (linter, _) = crate::commands::lint::linter(&settings, &repository.config)?;
    let planned: std::collections::BTreeSet<&str> = plan
        .builds
        .iter()
        .map(|build| build.dockerfile.as_str())
        .collect();
    let compat = plan
        .builds
        .iter()
        .any(|build| build.kind == strata_plan::BuildKind::Compat);
    let targets: Vec<strata_lint::Target> = strata_lint::repository_targets(repository)
        .into_iter()
        .filter(|target| {
            planned.contains(target.display.to_string_lossy().as_ref())
                || (compat && target.context.fragment)
        })
        .collect();
    let (findings, _) = crate::commands::lint::lint_targets(&linter, &targets, false)?;
    let errors: Vec<&strata_lint::Finding> = findings
        .iter()
        .filter(|finding| finding.severity == strata_lint::Severity::Error)
        .collect();
    for finding in &errors {
        printer.error(&crate::commands::lint::render_finding(finding));
    }
    if errors.is_empty() {
        printer.info(&format!(
            "lint: {} Dockerfile(s), no errors ({} other finding(s); `strata lint` shows them)",
            targets.len(),
            findings.len()
        ));
        Ok(true)
    } else {
        printer.warn(&format!(
            "lint: {} error(s) in the planned images' Dockerfiles; nothing was built",
            errors.len()
        ));
        Ok(false)
    }
}
