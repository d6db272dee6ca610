//! `strata build --check-reproducible`: build the selected images twice from scratch,
//! reproducibly, and where the two digests differ say which files of which layer differ.

use std::fmt::Write;
use std::sync::Arc;

use serde::Serialize;
use strata_build::{check_reproducible, ImageCheck, ReproducibleCheck, RunOptions};
use strata_session::Session;

use super::Reporting;
use crate::exit_status::ExitStatus;
use crate::printer::Printer;
use strata_cli::settings::BuildSettings;

/// Bumped when a field of the `--check-reproducible --json` report changes meaning.
pub const CHECK_SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct CheckReport<'a> {
    schema_version: u32,
    epoch: u64,
    images: &'a [ImageCheck],
}

pub fn check(
    settings: &BuildSettings,
    session: &Session,
    repository: &Arc<strata_repo::Repository>,
    plan: &Arc<strata_plan::Plan>,
    options: &RunOptions,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let epoch = options
        .reproducible
        .as_ref()
        .map_or(0, |reproducible| reproducible.epoch);
    // stdout holds the comparison only: progress on stderr even with `--json`.
    let outcome = check_reproducible(
        session,
        repository,
        plan,
        options,
        settings.builder,
        &settings.logs,
        &mut Reporting::new(printer, false),
    )?;
    let checks = match outcome {
        ReproducibleCheck::DidNotBuild { build, run } => {
            printer.info(&format!(
                "`{build}` did not build in run {run}: nothing to compare"
            ));
            return Ok(ExitStatus::BuildFailed);
        }
        ReproducibleCheck::Compared(checks) => checks,
    };
    let same = checks.iter().all(|check| check.reproducible);
    if settings.json {
        let report = CheckReport {
            schema_version: CHECK_SCHEMA_VERSION,
            epoch,
            images: &checks,
        };
        printer.data(&format!("{}\n", serde_json::to_string_pretty(&report)?));
    } else {
        printer.data(&render(&checks));
        printer.info(&format!(
            "{} of {} images reproducible (SOURCE_DATE_EPOCH={epoch})",
            checks.iter().filter(|check| check.reproducible).count(),
            checks.len(),
        ));
    }
    Ok(if same {
        ExitStatus::Success
    } else {
        ExitStatus::Problems
    })
}

fn render(checks: &[ImageCheck]) -> String {
    let mut output = String::new();
    for check in checks {
        if check.reproducible {
            let _ = writeln!(
                output,
                "reproducible  {}  {}",
                check.build, check.digests[0]
            );
            continue;
        }
        let _ = writeln!(
            output,
            "DIFFERS       {}  {} vs {}",
            check.build, check.digests[0], check.digests[1]
        );
        output.push_str(&strata_reproducible::render_layers(&check.layers));
        for field in &check.config {
            let _ = writeln!(output, "  config: {field}");
        }
    }
    output
}
