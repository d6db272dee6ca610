//! `strata promote`: more tags for published images, set inside the registry.

use std::fmt::Write;

use anyhow::Context;
use serde::Serialize;
use strata_registry::{PromoteOutcome, Promotion, PromotionResult};
use strata_release::promote::{by_plan, by_references, is_bare_tag, record_histories, Histories};

use crate::exit_status::ExitStatus;
use crate::printer::Printer;
use crate::settings::{PromoteMode, PromoteSettings};
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
        printer.data(&render_table(&results));
    }
    printer.info(&summary(&results));
    Ok(ExitStatus::Success)
}

fn outcome_text(result: &PromotionResult) -> String {
    match (result.outcome, &result.previous) {
        (PromoteOutcome::Created, _) => "created".to_string(),
        (PromoteOutcome::Moved, Some(previous)) => {
            format!("moved (was {})", previous.get(..19).unwrap_or(previous))
        }
        (PromoteOutcome::Moved, None) => "moved".to_string(),
        (PromoteOutcome::AlreadyThere, _) => "already there".to_string(),
    }
}

fn render_table(results: &[PromotionResult]) -> String {
    let rows: Vec<[String; 3]> = results
        .iter()
        .map(|result| {
            [
                result.target.clone(),
                result
                    .digest
                    .get(..19)
                    .unwrap_or(&result.digest)
                    .to_string(),
                outcome_text(result),
            ]
        })
        .collect();
    crate::table::render(["TARGET", "DIGEST", "RESULT"], &rows)
}

fn summary(results: &[PromotionResult]) -> String {
    let done = results
        .iter()
        .filter(|result| result.outcome != PromoteOutcome::AlreadyThere)
        .count();
    let already = results.len() - done;
    let mounted: usize = results.iter().map(|result| result.blobs_mounted).sum();
    let copied: u64 = results.iter().map(|result| result.bytes_copied).sum();
    let mut text = format!("promoted {done} {}", if done == 1 { "tag" } else { "tags" });
    if already > 0 {
        let _ = write!(text, ", {already} already there");
    }
    if mounted > 0 {
        let _ = write!(text, "; {mounted} blob(s) linked by the registry");
    }
    let _ = write!(text, "; {copied} layer bytes sent");
    text
}
