//! `strata promote`: more tags for published images, set inside the registry.

use std::fmt::Write;

use anyhow::Context;
use serde::Serialize;
use strata_build::{record_promotions, PromotionRecord};
use strata_plan::{Build, BuildKind, Plan};
use strata_registry::{
    parse_reference, repository_name, with_tag, PromoteOutcome, Promotion, PromotionResult,
    Reference,
};
use strata_repo::Repository;

use crate::exit_status::ExitStatus;
use crate::printer::Printer;
use crate::settings::{ChangeSource, PromoteMode, PromoteSettings, SelectSettings};
use strata_session::Session;

/// Bumped when a field of `promote --json` changes meaning or disappears.
pub const PROMOTE_SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Report<'a> {
    schema_version: u32,
    promotions: &'a [PromotionResult],
}

/// A promotion and the build whose history records it.
struct Planned {
    promotion: Promotion,
    history: Option<String>,
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
        } => by_references(settings, session, source, targets, repo.as_deref(), printer)?,
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
        let mut by_build: std::collections::BTreeMap<&str, Vec<PromotionRecord>> =
            std::collections::BTreeMap::new();
        for (item, result) in planned.iter().zip(&results) {
            if result.outcome == PromoteOutcome::AlreadyThere {
                continue;
            }
            if let Some(build) = &item.history {
                by_build.entry(build).or_default().push(PromotionRecord {
                    date: date.clone(),
                    target: result.target.clone(),
                    source: result.source.clone(),
                    digest: result.digest.clone(),
                    previous: result.previous.clone(),
                });
            }
        }
        for (build, records) in by_build {
            match record_promotions(directory, build, &records) {
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

/// `SOURCE TAG…`: bare tags stay in the source's repository.
fn by_references(
    settings: &PromoteSettings,
    session: &Session,
    source: &str,
    targets: &[String],
    repo: Option<&str>,
    printer: &Printer,
) -> anyhow::Result<Vec<Planned>> {
    let source_reference = parse_reference(source)?;
    let history = history_owner(settings, session, &source_reference, repo, printer);
    targets
        .iter()
        .map(|target| {
            let target_reference = if is_bare_tag(target) {
                with_tag(&source_reference, target)
            } else {
                parse_reference(target)?
            };
            Ok(Planned {
                promotion: Promotion {
                    source: source_reference.clone(),
                    target: target_reference,
                },
                history: history.clone(),
            })
        })
        .collect()
}

/// A tag as `docker tag` takes it: no `/`, no `:`, at most 128 characters of `[A-Za-z0-9_.-]`,
/// not starting with `.` or `-`.
fn is_bare_tag(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 128
        && !text.starts_with(['.', '-'])
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-'))
}

/// The build of the repository at `--repository` whose tags the source is one of (or, failing
/// that, whose repository it is in). The directory is read only when it says it is an image
/// repository without being walked: a `strata.toml`, the SciServer or docker-stacks folders, or
/// the manifests directory. Any other directory (a home, a temporary one, a Rust checkout) is
/// not searched for Dockerfiles: a promotion given registry references reads no working tree.
fn history_owner(
    settings: &PromoteSettings,
    session: &Session,
    source: &Reference,
    repo: Option<&str>,
    printer: &Printer,
) -> Option<String> {
    let manifests = settings.manifests.as_ref()?;
    let is_repository = manifests.is_dir()
        || settings.root.join(strata_repo::CONFIG_FILE).is_file()
        || settings.root.join("science").is_dir()
        || settings.root.join(strata_repo::DEFAULT_IMAGES_DIR).is_dir();
    if !is_repository {
        tracing::debug!(
            "`{}` is no image repository: the promotion is recorded in no history",
            settings.root.display()
        );
        return None;
    }
    let select = SelectSettings {
        root: settings.root.clone(),
        all: true,
        since: ChangeSource::Git(crate::settings::DEFAULT_SINCE.to_string()),
        include: Vec::new(),
        ignore: Vec::new(),
        untracked: false,
        repo: repo.map(str::to_string),
        allow_orphan: true,
        build_args: std::collections::BTreeMap::new(),
        platform: None,
    };
    let plan = match strata_select::open_and_plan(session, &select) {
        Ok((_, plan)) => plan,
        Err(error) => {
            printer.warn(&format!(
                "the promotion is recorded in no history: the image repository `{}` cannot be planned: {}",
                settings.root.display(),
                strata_repo::join_chain(&error, ": ")
            ));
            return None;
        }
    };
    let source_text = source.whole();
    let same_repository = |tag: &String| {
        parse_reference(tag).is_ok_and(|tag| repository_name(&tag) == repository_name(source))
    };
    plan.builds
        .iter()
        .find(|build| {
            build
                .tags
                .iter()
                .any(|tag| parse_reference(tag).is_ok_and(|tag| tag.whole() == source_text))
        })
        .or_else(|| {
            plan.builds
                .iter()
                .find(|build| build.tags.iter().any(same_repository))
        })
        .map(|build| build.name.clone())
}

/// Whether a build is an image people use, not an intermediate layer: compat builds and
/// docker-stacks images, and final science layers without a compat layer.
fn is_final_image(repository: &Repository, build: &Build) -> bool {
    match build.kind {
        BuildKind::Compat | BuildKind::Image => true,
        BuildKind::Science => repository
            .layers
            .iter()
            .find(|layer| layer.name == build.name)
            .and_then(|layer| layer.science())
            .is_some_and(|science| science.is_final && science.compat.is_none()),
    }
}

/// `--tag TAG…` for every final image of the plan: from its moving tag to `TAG` (prefixed by
/// the variant, as its other tags are) in the same repository.
fn by_plan(repository: &Repository, plan: &Plan, tags: &[String]) -> anyhow::Result<Vec<Planned>> {
    let mut planned = Vec::new();
    for build in plan
        .builds
        .iter()
        .filter(|build| is_final_image(repository, build))
    {
        let moving = build
            .tags
            .last()
            .with_context(|| format!("the build `{}` has no tags", build.name))?;
        let source = parse_reference(moving).with_context(|| {
            format!(
                "cannot promote `{}`: its tag is not a registry reference (set `--repo`)",
                build.name
            )
        })?;
        let prefix = build
            .variant
            .as_ref()
            .map(|variant| format!("{variant}-"))
            .unwrap_or_default();
        for tag in tags {
            planned.push(Planned {
                promotion: Promotion {
                    target: with_tag(&source, &format!("{prefix}{tag}")),
                    source: source.clone(),
                },
                history: Some(build.name.clone()),
            });
        }
    }
    Ok(planned)
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

#[cfg(test)]
mod tests {
    use super::is_bare_tag;

    #[test]
    fn bare_tags_and_references() {
        for tag in ["spring-2022", "1.0", "latest", "v2_rc.1"] {
            assert!(is_bare_tag(tag), "{tag}");
        }
        for reference in ["r/img:tag", "python:3.12", "", "-x", ".x", "a b"] {
            assert!(!is_bare_tag(reference), "{reference}");
        }
    }
}
