//! `strata build`: run the plan on the engine, report progress, keep logs, summarise.

mod reproducible;

use std::sync::Arc;

use anyhow::Context;
use strata_build::{
    emit_contexts, event_line, finished_line, index_table, keep_only, run_and_report,
    summary_table, tests_summary, write_junit, BuildEvent, Pipeline, Reproducible, RunOptions,
    RunReporter,
};
use strata_session::Session;

use crate::exit_status::ExitStatus;
use crate::printer::Printer;
use crate::reporters::BuildReporter;
use strata_cli::settings::BuildSettings;

pub fn build(
    settings: &BuildSettings,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let (repository, mut plan) = strata_select::open_and_plan(session, &settings.select)?;
    printer.warn_each(&repository.warnings);
    // `[trust]`: checked before the engine is touched.
    let trusted = strata_select::check_bases(session, &repository, &plan)?;
    super::signing::report_trusted(&trusted, printer);
    // The pipeline knows every build of the plan, this job's or another's.
    // A pool of engines hands images on through the registry, as a pipeline's jobs do: the
    // run stages every image, and releases them all once every build passed.
    let pool = !repository.config.engines.pool.is_empty() && settings.pipeline.is_none();
    if pool && !settings.push {
        anyhow::bail!(
            "`[engines] pool` in `{}` spreads the builds over several engines, which hand images on through the registry: add `--push`",
            repository.config.display_path().display()
        );
    }
    let names = |plan: &strata_plan::Plan| {
        plan.builds
            .iter()
            .map(|build| build.name.clone())
            .collect::<Vec<_>>()
    };
    // A CI pipeline is the whole plan, whichever builds this job makes; a pool's run stages
    // only what it builds (a parent `--only` leaves out is the published one).
    let mut pipeline = match settings.pipeline.as_deref() {
        Some(id) => Some(Pipeline::new(id, names(&plan))?),
        None => None,
    };
    keep_only(&mut plan, &settings.only)?;
    if pool {
        pipeline = Some(Pipeline::new(&pool_run_id(), names(&plan))?);
    }
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
    // A missing or broken advisory store is found before anything is built.
    let audit = match &settings.audit {
        Some((severity, db)) => Some(strata_build::AuditGate {
            store: Arc::new(strata_audit::open_or_import(db, session.caches().root())?),
            fail_on: super::audit::severity(*severity),
        }),
        None => None,
    };
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
    // A pipeline's job stages; its release signs what it publishes.
    let sign = if settings.pipeline.is_some() {
        if settings.sign.is_some() {
            anyhow::bail!("a pipeline's job publishes nothing to sign: sign at the release, `strata release --pipeline ID --sign KEY`");
        }
        None
    } else {
        super::signing::signing_key(settings.sign.as_deref(), &repository)?
    };
    if sign.is_some() && !settings.push {
        anyhow::bail!(
            "signing is of what is pushed: add `--push` (or leave out `--sign` and `[sign] key`)"
        );
    }
    let repository = Arc::new(repository);
    let plan = Arc::new(plan);
    let mut options = run_options(settings, session, reproducible);
    // A pool's run signs at its release, as a pipeline does.
    if !pool {
        options.sign.clone_from(&sign);
    }
    options.pipeline.clone_from(&pipeline);
    options.only_platform.clone_from(&settings.only_platform);
    options.audit = audit;
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
    if let (true, Some(pipeline)) = (pool, &pipeline) {
        let everything_staged = results
            .iter()
            .all(|result| result.succeeded() && result.push_failures.is_empty());
        if everything_staged {
            let released = session.block_on(strata_release::pipeline::release_pipeline(
                session.registry(),
                &plan,
                pipeline,
                sign.as_deref(),
            ))??;
            for warning in &released.warnings {
                printer.warn(warning);
            }
            printer.info(&format!(
                "the pool's builds released: {}",
                strata_release::promote::promotions_summary(&released.promotions)
            ));
        } else {
            printer.warn(&format!(
                "nothing released: with a pool of engines, tags move once every build passed; what was built is staged as `…/strata-staging:{}`",
                pipeline.id()
            ));
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
    if let Some(pipeline) = &settings.pipeline {
        if built > 0 {
            printer.info(&format!("staged for pipeline `{pipeline}`: no tag moved; `strata release --pipeline {pipeline}` (with this selection) moves them once every job passed"));
        }
    } else if !settings.push && built > 0 {
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

/// The id of one run's staging references when it spreads over a pool of engines.
fn pool_run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    format!("pool-{}-{nanos:x}", std::process::id())
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
        pipeline: None,
        only_platform: None,
        sign: None,
        audit: None,
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

/// `--lint`: the planned images' Dockerfiles (and the compat layers of compat builds) with the
/// repository's `[lint]` settings; findings go to stderr. False when an error remains.
fn lint_planned(
    repository: &strata_repo::Repository,
    plan: &strata_plan::Plan,
    printer: &Printer,
) -> anyhow::Result<bool> {
    let planned = plan
        .builds
        .iter()
        .map(|build| build.dockerfile.as_str())
        .collect();
    let compat = plan
        .builds
        .iter()
        .any(|build| build.kind == strata_plan::BuildKind::Compat);
    let lint = strata_lint::lint_planned(repository, &planned, compat)?;
    let errors = lint.errors().count();
    for finding in lint.errors() {
        printer.error(&strata_lint::render_finding(finding));
    }
    if errors == 0 {
        printer.info(&format!(
            "lint: {} Dockerfile(s), no errors ({} other finding(s); `strata lint` shows them)",
            lint.files,
            lint.findings.len()
        ));
    } else {
        printer.warn(&format!(
            "lint: {errors} error(s) in the planned images' Dockerfiles; nothing was built"
        ));
    }
    Ok(errors == 0)
}
