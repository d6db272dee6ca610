//! `strata pin`: external base images pinned by digest, drift seen, pins moved.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::Path;

use anyhow::Context;
use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;
use strata_dockerfile::{apply_edits, Edit, ReferenceKind};
use strata_registry::parse_reference;
use strata_repo::{pin_file, pinned_reference, ImageReference, PinFile, PinSite, RepoError};

use crate::exit_status::ExitStatus;
use crate::printer::Printer;
use crate::settings::PinSettings;
use strata_session::Session;

/// Bumped when a field of `pin --json` changes meaning or disappears.
pub const PIN_SCHEMA_VERSION: u32 = 1;

/// What a reference is, against what its registry says now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PinStatus {
    /// `name:tag@digest`, and the tag still points there.
    Pinned,
    /// `name:tag@digest`, and the tag now points elsewhere.
    Drifted,
    /// `name@digest`: pinned, but there is no tag to see drift with.
    PinnedWithoutTag,
    /// No digest; strata can write one.
    Unpinned,
    /// No digest, and strata will not write one (see `reason`).
    CannotPin,
}

/// What this run did to a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PinAction {
    Pinned,
    Updated,
}

#[derive(Debug, Clone, Serialize)]
pub struct PinReport {
    pub file: String,
    pub line: usize,
    pub kind: &'static str,
    pub reference: String,
    pub status: PinStatus,
    /// The digest written in the file, if any.
    pub digest: Option<String>,
    /// The digest the tag points at now.
    pub current: Option<String>,
    /// Where the pin is (or would be) written, when not on `line` (an `ARG` default).
    pub written_on_line: Option<usize>,
    pub reason: Option<String>,
    pub action: Option<PinAction>,
}

#[derive(Serialize)]
struct Report<'a> {
    schema_version: u32,
    references: &'a [PinReport],
    written: &'a [String],
}

fn kind_name(kind: ReferenceKind) -> &'static str {
    match kind {
        ReferenceKind::From => "from",
        ReferenceKind::CopyFrom => "copy-from",
        ReferenceKind::MountFrom => "mount-from",
    }
}

/// The tag reference a site's drift or pin is resolved through: the reference without its
/// digest (with `latest` when no tag is written); `None` for a digest-only reference.
fn tag_reference(reference: &str) -> Option<String> {
    let parsed = ImageReference::parse(reference);
    match (parsed.tag, parsed.digest) {
        (None, Some(_)) => None,
        (tag, _) => Some(format!("{}:{}", parsed.repository, tag.unwrap_or("latest"))),
    }
}

/// The Dockerfiles to pin: a repository's, a single file, or a directory's `Dockerfile`.
fn pin_files(path: &Path) -> anyhow::Result<Vec<PinFile>> {
    if path.is_file() {
        return Ok(vec![pin_file(path)?]);
    }
    match strata_repo::open(path) {
        Ok(repository) => Ok(repository.pin_files()?),
        Err(RepoError::NotFound { .. }) if path.join("Dockerfile").is_file() => {
            Ok(vec![pin_file(&path.join("Dockerfile"))?])
        }
        Err(error) => Err(anyhow::Error::new(error).context(format!(
            "cannot read the image repository at `{}`",
            path.display()
        ))),
    }
}

pub fn pin(
    settings: &PinSettings,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let files = pin_files(&settings.path)?;
    let wanted: BTreeSet<String> = files
        .iter()
        .flat_map(|file| &file.sites)
        .filter_map(|site| tag_reference(&site.reference))
        .collect();
    let spinner = printer.spinner(&format!("resolving {} image tag(s)", wanted.len()));
    let client = session.registry();
    let resolved: anyhow::Result<BTreeMap<String, String>> = session.block_on(async {
        futures_util::stream::iter(wanted)
            .map(|reference| {
                let client = client.clone();
                async move {
                    let parsed = parse_reference(&reference)?;
                    let descriptor = client.resolve(&parsed).await?.ok_or_else(|| {
                        strata_registry::RegistryError::NotFound {
                            reference: reference.clone(),
                            registry: parsed.registry().to_string(),
                        }
                    })?;
                    anyhow::Ok((reference, descriptor.digest))
                }
            })
            .buffer_unordered(8)
            .try_collect()
            .await
    })?;
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    let resolved = resolved.context("cannot resolve the base images' digests")?;

    let mut reports = Vec::new();
    let mut written = Vec::new();
    for file in &files {
        let mut edits: BTreeMap<(usize, usize), Edit> = BTreeMap::new();
        for site in &file.sites {
            let report = classify(file, site, &resolved, settings);
            if let (Some(_), Ok(edit), Some(current)) = (report.action, &site.edit, &report.current)
            {
                edits.insert(
                    (edit.span.start, edit.span.end),
                    Edit {
                        span: edit.span,
                        text: pinned_reference(&site.reference, current),
                    },
                );
            }
            reports.push(report);
        }
        if !edits.is_empty() {
            let edits: Vec<Edit> = edits.into_values().collect();
            let text = apply_edits(&file.text, &edits);
            strata_fs::write_atomically(&file.path, text.as_bytes())?;
            written.push(file.display.clone());
        }
    }

    if settings.json {
        let mut text = serde_json::to_string_pretty(&Report {
            schema_version: PIN_SCHEMA_VERSION,
            references: &reports,
            written: &written,
        })?;
        text.push('\n');
        printer.data(&text);
    } else {
        printer.data(&render(&reports, settings.check));
    }
    let count = |status: PinStatus| {
        reports
            .iter()
            .filter(|report| report.status == status)
            .count()
    };
    let pinned_now = reports
        .iter()
        .filter(|report| report.action == Some(PinAction::Pinned))
        .count();
    let updated = reports
        .iter()
        .filter(|report| report.action == Some(PinAction::Updated))
        .count();
    let mut summary = format!("{} external image reference(s)", reports.len());
    if settings.check {
        let _ = write!(
            summary,
            ": {} unpinned, {} drifted, {} cannot be pinned by strata",
            count(PinStatus::Unpinned),
            count(PinStatus::Drifted),
            count(PinStatus::CannotPin)
        );
    } else {
        let _ = write!(summary, ": pinned {pinned_now}, updated {updated}");
        if !written.is_empty() {
            let _ = write!(summary, " (wrote {})", written.join(", "));
        }
        let drifted = count(PinStatus::Drifted) - updated;
        if drifted > 0 {
            let _ = write!(
                summary,
                "; {drifted} pin(s) drifted (`strata pin --update` moves them)"
            );
        }
        if count(PinStatus::CannotPin) > 0 {
            let _ = write!(
                summary,
                "; {} cannot be pinned by strata (see the reasons)",
                count(PinStatus::CannotPin)
            );
        }
    }
    printer.info(&summary);
    let problems =
        count(PinStatus::Unpinned) + count(PinStatus::Drifted) + count(PinStatus::CannotPin);
    Ok(if settings.check && problems > 0 {
        ExitStatus::Problems
    } else {
        ExitStatus::Success
    })
}

fn classify(
    file: &PinFile,
    site: &PinSite,
    resolved: &BTreeMap<String, String>,
    settings: &PinSettings,
) -> PinReport {
    let digest = site.digest().map(str::to_string);
    let current = tag_reference(&site.reference).and_then(|tag| resolved.get(&tag).cloned());
    let (status, reason) = match (&digest, &current, &site.edit) {
        (Some(_), None, _) => (PinStatus::PinnedWithoutTag, None),
        (Some(digest), Some(current), _) if digest == current => (PinStatus::Pinned, None),
        (Some(_), Some(_), _) => (PinStatus::Drifted, None),
        (None, _, Ok(_)) => (PinStatus::Unpinned, None),
        (None, _, Err(reason)) => (PinStatus::CannotPin, Some(reason.clone())),
    };
    let editable = site.edit.is_ok() && !settings.check;
    let action = match status {
        PinStatus::Unpinned if editable => Some(PinAction::Pinned),
        PinStatus::Drifted if editable && settings.update => Some(PinAction::Updated),
        _ => None,
    };
    let written_on_line = site
        .edit
        .as_ref()
        .ok()
        .map(|edit| edit.line)
        .filter(|line| *line != site.line);
    PinReport {
        file: file.display.clone(),
        line: site.line,
        kind: kind_name(site.kind),
        reference: site.reference.clone(),
        status,
        digest,
        current,
        written_on_line,
        reason,
        action,
    }
}

fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

/// One line per reference: where, what, and what happened or is wrong.
fn render(reports: &[PinReport], check: bool) -> String {
    let mut output = String::new();
    for report in reports {
        let place = match report.written_on_line {
            Some(line) => format!("{}:{} (ARG on line {line})", report.file, report.line),
            None => format!("{}:{}", report.file, report.line),
        };
        let current = report.current.as_deref().map(short).unwrap_or_default();
        let text = match (report.status, report.action) {
            (_, Some(PinAction::Pinned)) => format!("pinned    {} @ {current}", report.reference),
            (_, Some(PinAction::Updated)) => format!("updated   {} → {current}", report.reference),
            (PinStatus::Pinned, None) => format!("pinned    {}", report.reference),
            (PinStatus::PinnedWithoutTag, None) => {
                format!(
                    "pinned    {} (no tag: drift cannot be seen)",
                    report.reference
                )
            }
            (PinStatus::Drifted, None) => format!(
                "drifted   {}: the tag now points at {current}",
                report.reference
            ),
            (PinStatus::Unpinned, None) if check => {
                format!("unpinned  {} (now {current})", report.reference)
            }
            (PinStatus::Unpinned, None) => format!("unpinned  {}", report.reference),
            (PinStatus::CannotPin, None) => format!(
                "unpinned  {}: {}",
                report.reference,
                report.reason.as_deref().unwrap_or_default()
            ),
        };
        let _ = writeln!(output, "{place}: {text}");
    }
    output
}
