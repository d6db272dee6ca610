//! `strata build`: run the plan on the engine, report progress, keep logs, summarise.

mod reproducible;

use std::sync::Arc;

use anyhow::Context;
use strata_build::{
    emit_contexts, run_and_report, tests_summary, write_junit, BuildEvent, BuildResult, IndexPush,
    Outcome, Reproducible, RunOptions, RunReporter,
};
use strata_session::Session;

use crate::exit_status::ExitStatus;
use crate::printer::Printer;
use crate::reporters::BuildReporter;
use crate::settings::BuildSettings;

/// Bumped when a field of the `--json` event stream changes meaning or disappears.
pub const EVENTS_SCHEMA_VERSION: u32 = 1;

pub fn build(
    settings: &BuildSettings,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let (repository, plan) = strata_select::open_and_plan(session, &settings.select)?;
    printer.warn_each(&repository.warnings);
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
        Some(Reproducible {
            epoch: strata_reproducible::source_date_epoch(commit_time)?,
            store: strata_reproducible::BlobStore::new(session.caches().root()),
        })
    } else {
        None
    };
    let repository = Arc::new(repository);
    let plan = Arc::new(plan);
    let options = run_options(settings, session, reproducible);
    if settings.check_reproducible {
        return reproducible::check(settings, session, &repository, &plan, &options, printer);
    }
    let (results, indexes) = run_and_report(
        session,
        &repository,
        &plan,
        options,
        settings.builder,
        &settings.logs,
        &mut Reporting::new(printer, settings.json),
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
        printer.info(&tests_summary(&tests));
    }
    if let Some(path) = &settings.junit {
        write_junit(path, &tests)?;
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

/// The options of the run the settings ask for.
fn run_options(
    settings: &BuildSettings,
    session: &Session,
    reproducible: Option<Reproducible>,
) -> RunOptions {
    RunOptions {
        jobs: settings.jobs,
        push: settings.push,
        no_cache: settings.no_cache,
        pull: settings.pull,
        platform: settings
            .platform
            .clone()
            .filter(|platform| !platform.contains(',')),
        network: settings.network.clone(),
        build_args: settings.build_args.clone(),
        cache: Some(strata_inspect::LayerCache::new(session.caches().root())),
        manifests: settings.manifests.clone(),
        registry: session.registry().clone(),
        push_retry: strata_registry::RetryPolicy {
            attempts: 3,
            first_delay: std::time::Duration::from_secs(1),
            max_delay: std::time::Duration::from_secs(3),
        },
        no_test: settings.no_test,
        reproducible,
    }
}

/// Events as JSON lines on stdout, or progress bars on stderr.
pub(crate) struct Reporting<'a> {
    printer: &'a Printer,
    json: bool,
    progress: BuildReporter,
}

impl<'a> Reporting<'a> {
    pub(crate) fn new(printer: &'a Printer, json: bool) -> Self {
        Self {
            printer,
            json,
            progress: BuildReporter::new(printer),
        }
    }
}

impl RunReporter for Reporting<'_> {
    fn event(&mut self, event: &BuildEvent) {
        if self.json {
            self.printer.data(&event_line(event));
        } else {
            self.progress.on_event(event);
        }
    }

    fn warning(&mut self, message: &str) {
        self.printer.warn(message);
    }

    fn run_starting(&mut self, run: usize) {
        self.printer
            .info(&format!("build {run} of 2, from scratch"));
    }

    fn finish(&mut self) {
        self.progress.finish();
        // A second run (`--check-reproducible`) starts with fresh bars.
        self.progress = BuildReporter::new(self.printer);
    }
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
                    Outcome::Failed(failure) => Some(failure.as_str()),
                    Outcome::Skipped(why) => Some(why.as_str()),
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
    let choice = strata_lint::RuleChoice {
        fail_level: Some(strata_lint::Severity::Error),
        ..strata_lint::RuleChoice::default()
    };
    let (linter, _) = strata_lint::configured_linter(&choice, &repository.config)?;
    let planned: std::collections::BTreeSet<&str> = plan
        .builds
        .iter()
        .map(|build| build.dockerfile.as_str())
        .collect();
    let compat = plan
        .builds
        .iter()
        .any(|build| build.kind == strata_plan::BuildKind::Compat);
    let targets = strata_lint::planned_targets(repository, &planned, compat);
    let (findings, _) = strata_lint::lint_targets(&linter, &targets, false)?;
    let errors: Vec<&strata_lint::Finding> = findings
        .iter()
        .filter(|finding| finding.severity == strata_lint::Severity::Error)
        .collect();
    for finding in &errors {
        printer.error(&strata_lint::render_finding(finding));
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
