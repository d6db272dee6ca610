//! `strata pin`: external base images pinned by digest, drift seen, pins moved.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;
use strata_dockerfile::{apply_edits, Edit, ReferenceKind};
use strata_registry::parse_reference;
use strata_repo::{pin_file, pinned_reference, ImageReference, PinFile, PinSite, RepoError};
use strata_session::Session;

use crate::ReleaseError;

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

/// What a run may do.
#[derive(Debug, Clone, Copy, Default)]
pub struct PinRequest {
    /// Report only; write nothing.
    pub check: bool,
    /// Move drifted pins to where their tags point now.
    pub update: bool,
}

/// What a run found and wrote.
#[derive(Debug, Clone, Default)]
pub struct PinRun {
    pub reports: Vec<PinReport>,
    /// The files rewritten, as shown.
    pub written: Vec<String>,
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
pub fn tag_reference(reference: &str) -> Option<String> {
    let parsed = ImageReference::parse(reference);
    match (parsed.tag, parsed.digest) {
        (None, Some(_)) => None,
        (tag, _) => Some(format!("{}:{}", parsed.repository, tag.unwrap_or("latest"))),
    }
}

/// The Dockerfiles to pin: a repository's, a single file, or a directory's `Dockerfile`.
pub fn pin_files(path: &Path) -> Result<Vec<PinFile>, ReleaseError> {
    if path.is_file() {
        return Ok(vec![pin_file(path)?]);
    }
    match strata_repo::open(path) {
        Ok(repository) => Ok(repository.pin_files()?),
        Err(RepoError::NotFound { .. }) if path.join("Dockerfile").is_file() => {
            Ok(vec![pin_file(&path.join("Dockerfile"))?])
        }
        Err(error) => Err(ReleaseError::Open {
            root: path.to_path_buf(),
            source: Box::new(error),
        }),
    }
}

/// The tags the files' references are resolved through, each once.
pub fn tags_to_resolve(files: &[PinFile]) -> BTreeSet<String> {
    files
        .iter()
        .flat_map(|file| &file.sites)
        .filter_map(|site| tag_reference(&site.reference))
        .collect()
}

/// Each tag's digest in its registry now, 8 asked at a time.
pub fn resolve_tags(
    session: &Session,
    tags: BTreeSet<String>,
) -> Result<BTreeMap<String, String>, ReleaseError> {
    let client = session.registry();
    let resolved = session.block_on(async {
        futures_util::stream::iter(tags)
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
                    Ok::<_, strata_registry::RegistryError>((
                        reference,
                        descriptor.digest.to_string(),
                    ))
                }
            })
            .buffer_unordered(8)
            .try_collect()
            .await
    })?;
    resolved.map_err(|source| ReleaseError::Resolve {
        source: Box::new(source),
    })
}

/// Classify every reference of `files` against `resolved`, and (unless checking) write the
/// pins and updates asked for, each file atomically.
pub fn apply_pins(
    files: &[PinFile],
    resolved: &BTreeMap<String, String>,
    request: PinRequest,
) -> Result<PinRun, ReleaseError> {
    let mut run = PinRun::default();
    for file in files {
        let mut edits: BTreeMap<(usize, usize), Edit> = BTreeMap::new();
        for site in &file.sites {
            let report = classify(file, site, resolved, request);
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
            run.reports.push(report);
        }
        if !edits.is_empty() {
            let edits: Vec<Edit> = edits.into_values().collect();
            let text = apply_edits(&file.text, &edits);
            strata_fs::write_atomically(&file.path, text.as_bytes())?;
            run.written.push(file.display.clone());
        }
    }
    Ok(run)
}

fn classify(
    file: &PinFile,
    site: &PinSite,
    resolved: &BTreeMap<String, String>,
    request: PinRequest,
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
    let editable = site.edit.is_ok() && !request.check;
    let action = match status {
        PinStatus::Unpinned if editable => Some(PinAction::Pinned),
        PinStatus::Drifted if editable && request.update => Some(PinAction::Updated),
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
