//! `strata promote`: more tags for published images, set inside the registry.

use anyhow::Context;
use serde::Serialize;
use strata_registry::{Promotion, PromotionResult};
use strata_release::promote::{by_plan, by_references, is_bare_tag, record_histories, Histories};

use crate::exit_status::ExitStatus;
use crate::printer::Printer;
use strata_cli::settings::{PromoteMode, PromoteSettings};
use strata_session::Session;

/// Bumped when a field of `promote --json` changes meaning or disappears.
pub const PROMOTE_SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Report<'a> {
    schema_version: u32,
    promotions: &'a [PromotionResult],
}

pub fn promote(
    settings: &PromoteSettings,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let planned = match &settings.mode {
        PromoteMode::References {
            source,
            targets,
            repo,
        } => by_references(
            session,
            &Histories {
                root: &settings.root,
                manifests: settings.manifests.as_deref(),
            },
            source,
            targets,
            repo.as_deref(),
            &mut |warning| printer.warn(&warning),
        )?,
        PromoteMode::Plan { select, tags } => {
            if let Some(bad) = tags.iter().find(|tag| !is_bare_tag(tag)) {
                anyhow::bail!("`--tag {bad}` must be a bare tag (letters, digits, `_`, `.`, `-`), applied in each image's own repository");
            }
            let (repository, plan) = strata_select::open_and_plan(session, select)?;
            printer.warn_each(&repository.warnings);
            by_plan(&repository, &plan, tags)?
        }
    };
    if planned.is_empty() {
        printer.info("nothing to promote: the plan has no final images");
        return Ok(ExitStatus::Success);
    }
    let promotions: Vec<Promotion> = planned.iter().map(|item| item.promotion.clone()).collect();
    let spinner = printer.spinner(&format!("promoting {} tag(s)", promotions.len()));
    let results = session.block_on(strata_registry::promote(
        session.registry(),
        &promotions,
        settings.force,
    ))?;
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    let results = results.context("nothing was promoted")?;
    // Signed images stay verifiable in the repositories they were promoted into.
    let (signatures, warnings) = session.block_on(strata_release::promote::carry_signatures(
        session.registry(),
        &results,
    ))?;
    for warning in &warnings {
        printer.warn(warning);
    }
    if !signatures.is_empty() {
        printer.info(&format!(
            "copied {} signature artifact(s) beside the promoted images",
            signatures.len()
        ));
    }

    if let Some(directory) = &settings.manifests {
        let date = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        let date = date.get(..10).unwrap_or(&date).to_string();
        for (build, recorded) in record_histories(directory, &planned, &results, &date) {
            match recorded {
                Ok(path) => printer.info(&format!("recorded in `{}`", path.display())),
                Err(error) => printer.warn(&format!(
                    "promoted, but cannot record it in the history of `{build}`: {error}"
                )),
            }
        }
    }

    if settings.json {
        let mut text = serde_json::to_string_pretty(&Report {
            schema_version: PROMOTE_SCHEMA_VERSION,
            promotions: &results,
        })?;
        text.push('\n');
        printer.data(&text);
    } else {
        printer.data(&strata_release::promote::promotions_table(&results));
    }
    printer.info(&strata_release::promote::promotions_summary(&results));
    Ok(ExitStatus::Success)
}
