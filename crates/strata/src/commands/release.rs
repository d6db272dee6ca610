//! `strata release --pipeline ID`: move the tags a CI pipeline's build jobs staged.

use serde::Serialize;
use strata_build::Pipeline;
use strata_release::pipeline::{release_pipeline, PipelineRelease};
use strata_session::Session;

use crate::exit_status::ExitStatus;
use crate::printer::Printer;
use strata_cli::settings::ReleaseSettings;

/// Bumped when a field of `release --json` changes meaning or disappears.
pub const RELEASE_SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Report<'a> {
    schema_version: u32,
    #[serde(flatten)]
    release: &'a PipelineRelease,
}

pub fn release(
    settings: &ReleaseSettings,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let (repository, plan) = strata_select::open_and_plan(session, &settings.select)?;
    printer.warn_each(&repository.warnings);
    let pipeline = Pipeline::new(
        &settings.pipeline,
        plan.builds.iter().map(|build| build.name.clone()),
    )?;
    if plan.builds.is_empty() {
        printer.info("nothing to release: the plan builds nothing");
        return Ok(ExitStatus::Success);
    }
    let spinner = printer.spinner(&format!(
        "releasing pipeline `{}`: {} build(s)",
        pipeline.id(),
        plan.builds.len()
    ));
    let released = session.block_on(release_pipeline(session.registry(), &plan, &pipeline))?;
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    let released = released?;
    for warning in &released.warnings {
        printer.warn(warning);
    }
    if settings.json {
        let mut text = serde_json::to_string_pretty(&Report {
            schema_version: RELEASE_SCHEMA_VERSION,
            release: &released,
        })?;
        text.push('\n');
        printer.data(&text);
    } else {
        printer.data(&strata_release::promote::promotions_table(
            &released.promotions,
        ));
        if !released.indexes.is_empty() {
            printer.data(&strata_build::index_table(&released.indexes));
        }
    }
    printer.info(&format!(
        "released pipeline `{}`: {} staged image(s), {}; {} staging reference(s) removed",
        pipeline.id(),
        released.staged.len(),
        strata_release::promote::promotions_summary(&released.promotions),
        released.removed.len()
    ));
    Ok(ExitStatus::Success)
}
