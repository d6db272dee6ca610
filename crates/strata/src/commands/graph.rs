//! `strata graph`: the image hierarchy.

use anyhow::Context;

use crate::exit_status::ExitStatus;
use crate::printer::Printer;
use strata_cli::settings::GraphSettings;

pub fn graph(settings: &GraphSettings, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let repository = strata_repo::open(&settings.root).with_context(|| {
        format!(
            "cannot read the image repository at `{}`",
            settings.root.display()
        )
    })?;
    for warning in &repository.warnings {
        printer.warn(warning);
    }
    printer.data(&strata_plan::render_graph(&repository, settings.format));
    Ok(ExitStatus::Success)
}
