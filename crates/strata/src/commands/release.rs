//! `strata release --pipeline ID`: move the tags a CI pipeline's build jobs staged (or, with
//! `--discard`, remove what they staged).

use serde::Serialize;
use strata_build::Pipeline;
use strata_release::pipeline::{discard_pipeline, release_pipeline, PipelineRelease};
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
    // A discard removes what the pipeline staged of any image: every image is looked at,
    // whatever selection the pipeline was planned with (or on which commit).
    let mut select = settings.select.clone();
    if settings.discard {
        select.all = true;
        select.allow_orphan = true;
    }
    let (repository, plan) = strata_select::open_and_plan(session, &select)?;
    printer.warn_each(&repository.warnings);
    let pipeline = Pipeline::new(
        &settings.pipeline,
        plan.builds.iter().map(|build| build.name.clone()),
    )?;
    if plan.builds.is_empty() {
        printer.info("nothing to release: the plan builds nothing");
        return Ok(ExitStatus::Success);
    }
    let verb = if settings.discard {
        "discarding"
    } else {
        "releasing"
    };
    let spinner = printer.spinner(&format!(
        "{verb} pipeline `{}`: {} build(s)",
        pipeline.id(),
        plan.builds.len()
    ));
    let sign = if settings.discard {
        None
    } else {
        super::signing::signing_key(settings.sign.as_deref(), &repository)?
    };
    let released = session.block_on(async {
        if settings.discard {
            discard_pipeline(session.registry(), &plan, &pipeline).await
        } else {
            release_pipeline(session.registry(), &plan, &pipeline, sign.as_deref()).await
        }
    })?;
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
    } else if !settings.discard {
        printer.data(&strata_release::promote::promotions_table(
            &released.promotions,
        ));
        if !released.indexes.is_empty() {
            printer.data(&strata_build::index_table(&released.indexes));
        }
    }
    if settings.discard {
        printer.info(&format!(
            "discarded pipeline `{}`: no tag moved; {} staged image(s), {} staging reference(s) removed",
            pipeline.id(),
            released.staged.len(),
            released.removed.len()
        ));
        return Ok(ExitStatus::Success);
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
