//! `strata ci`: the CI pipeline that builds the plan.

use anyhow::Context;
use strata_cli::settings::CiSettings;
use strata_session::Session;

use crate::exit_status::ExitStatus;
use crate::printer::Printer;

/// Bumped when a field of `ci --json` changes meaning or disappears.
pub const CI_SCHEMA_VERSION: u32 = 1;

pub fn ci(
    settings: &CiSettings,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    // Jobs repeat the selection with its revisions as commits: they plan what this plan is.
    let select = strata_select::pin_revisions(&settings.select)?;
    let (repository, plan) = strata_select::open_and_plan(session, &select)?;
    printer.warn_each(&repository.warnings);
    let written = strata_ci::write(
        settings.format,
        &strata_ci::Request {
            plan: &plan,
            config: &repository.config.ci,
            selection: strata_cli::settings::selection_arguments(&select),
            path: settings.path.clone(),
        },
    );
    if let Some(path) = &settings.output {
        strata_fs::write_atomically(path, written.text.as_bytes())
            .with_context(|| format!("cannot write the pipeline to `{}`", path.display()))?;
    }
    if settings.json {
        let mut report = serde_json::to_value(&written)?;
        report["schema_version"] = CI_SCHEMA_VERSION.into();
        report["output"] = settings
            .output
            .as_ref()
            .map(|path| path.display().to_string())
            .into();
        if settings.output.is_none() {
            report["text"] = written.text.clone().into();
        }
        printer.data(&format!("{}\n", serde_json::to_string_pretty(&report)?));
    } else if settings.output.is_none() {
        printer.data(&written.text);
    }
    for note in &written.notes {
        printer.info(note);
    }
    printer.info(&format!(
        "{} job(s) for {} build(s){}",
        written.jobs,
        plan.builds.len(),
        settings
            .output
            .as_ref()
            .map(|path| format!(", written to `{}`", path.display()))
            .unwrap_or_default()
    ));
    Ok(ExitStatus::Success)
}
