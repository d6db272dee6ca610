//! `strata outdated`: what moved since the last release — pinned bases whose tag moved (and
//! what changed inside), published images whose inputs no longer match the repository, and
//! orphaned SciServer versions.

use std::fmt::Write;

use serde::Serialize;
use strata_plan::Reason;
use strata_registry::{parse_reference, RegistryClient};
use strata_repo::{Git, ImageReference, LayoutKind, OrphanedVersion, PinFile, Repository};
use strata_select::{published_orphans, registry_comparison, tag_namespace, SelectRequest};
use strata_session::Session;

use crate::ReleaseError;

/// A pinned base whose tag now points at another image.
#[derive(Debug, Serialize)]
pub struct MovedBase {
    pub file: String,
    pub line: usize,
    /// The tag (`name:tag`).
    pub reference: String,
    pub pinned: String,
    pub current: String,
    /// Packages added, removed and changed from the pinned image to the current one.
    pub changes: Vec<strata_inspect::Change>,
    /// Whether the image the tag now points at is signed: by which of the keys `[trust]`
    /// names for it, or (with no key to check against) at all.
    pub signature: BaseSignature,
}

/// What the signatures of a moved base's current image say.
#[derive(Debug, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum BaseSignature {
    /// Signed by these keys of `[trust]`.
    Verified { signed_by: Vec<String> },
    /// Signed, but by none of the keys `[trust]` names for it.
    OtherKey { pattern: String },
    /// Signed; no `[trust]` key names it, so by whom is not checked.
    Signed,
    /// No signature beside it.
    Unsigned,
}

/// A published image that differs from what the repository builds now.
#[derive(Debug, Serialize)]
pub struct ChangedImage {
    pub build: String,
    pub tag: String,
    pub reason: Reason,
    pub because_of: Option<String>,
    pub published_inputs: Option<String>,
    pub inputs: Option<String>,
}

/// Pins whose tag moved, with the packages that changed between the two images (read from
/// the registry with `inspect`'s machinery; layers are cached, so a second run reads nothing).
/// Inside the session's runtime.
pub async fn moved_bases(
    session: &Session,
    files: &[PinFile],
    trust: Option<&strata_select::TrustPolicy>,
) -> Result<Vec<MovedBase>, ReleaseError> {
    let client: &RegistryClient = session.registry();
    let cache = strata_inspect::LayerCache::new(session.caches().root());
    let mut moved = Vec::new();
    for file in files {
        for site in &file.sites {
            let parsed = ImageReference::parse(&site.reference);
            let (Some(pinned), Some(tag)) = (parsed.digest, parsed.tag) else {
                continue;
            };
            let tag_reference = format!("{}:{tag}", parsed.repository);
            let current = client
                .resolve(&parse_reference(&tag_reference)?)
                .await?
                .ok_or_else(|| strata_registry::RegistryError::NotFound {
                    registry: strata_registry::registry_host(&tag_reference).to_string(),
                    reference: tag_reference.clone(),
                })?
                .digest;
            if current == pinned {
                continue;
            }
            let before = strata_inspect::inspect_registry_with(
                client,
                &format!("{}@{pinned}", parsed.repository),
                &cache,
            )
            .await
            .map_err(|source| ReleaseError::PinnedImage {
                reference: site.reference.clone(),
                source: Box::new(source),
            })?;
            let after = strata_inspect::inspect_registry_with(
                client,
                &format!("{}@{current}", parsed.repository),
                &cache,
            )
            .await
            .map_err(|source| ReleaseError::CurrentImage {
                reference: tag_reference.clone(),
                source: Box::new(source),
            })?;
            let current_reference = parse_reference(&format!("{}@{current}", parsed.repository))?;
            let signature = base_signature(client, &current_reference, trust).await?;
            moved.push(MovedBase {
                file: file.display.clone(),
                line: site.line,
                reference: tag_reference,
                pinned: pinned.to_string(),
                current: current.to_string(),
                changes: strata_inspect::diff(&before, &after),
                signature,
            });
        }
    }
    Ok(moved)
}

/// Published images against the repository, and orphaned versions (history and registry).
/// `repo` is `--repo` (else the repository's own namespace); `warn` hears what could not be
/// checked.
pub fn published_state(
    session: &Session,
    repository: &Repository,
    repo: Option<&str>,
    warn: &mut dyn FnMut(String),
) -> Result<(Vec<ChangedImage>, Vec<OrphanedVersion>), ReleaseError> {
    let git = Git::new(&repository.root);
    let mut orphans = match repository.orphaned_versions(&git) {
        Ok(orphans) => orphans,
        Err(error) => {
            // The rest of the report does not need the history: say what is missing.
            warn(format!(
                "orphaned versions are not checked: {}",
                strata_repo::join_chain(&error, ": ")
            ));
            Vec::new()
        }
    };
    let repo = tag_namespace(repo, repository);
    if repo.is_empty() {
        // Bare names are no registry's: nothing published to compare with.
        return Ok((Vec::new(), orphans));
    }
    if repository.layouts.contains(&LayoutKind::Sciserver) {
        published_orphans(session, repository, &repo, &mut orphans)?;
    }
    let commit = git.commit_info()?;
    let select = SelectRequest::everything_against_registry(repository.root.clone(), repo.clone());
    let source_url = git.remote_url();
    let comparison = registry_comparison(
        session,
        &select,
        repository,
        &commit,
        &repo,
        source_url.as_deref(),
    )?;
    let images = comparison
        .images
        .into_iter()
        .filter_map(|image| {
            Some(ChangedImage {
                reason: image.reason?,
                build: image.build,
                tag: image.tag,
                because_of: image.because_of,
                published_inputs: image.published_inputs,
                inputs: image.inputs,
            })
        })
        .collect();
    Ok((images, orphans))
}

/// Bumped when a field of `outdated --json` changes meaning or disappears.
pub const OUTDATED_SCHEMA_VERSION: u32 = 1;

/// `strata outdated`'s report (its `--json`).
#[derive(Debug, Serialize)]
pub struct OutdatedReport {
    pub schema_version: u32,
    pub bases: Vec<MovedBase>,
    pub locks: Vec<strata_lock::outdated::OutdatedLock>,
    pub images: Vec<ChangedImage>,
    pub orphans: Vec<OrphanedVersion>,
}

impl OutdatedReport {
    /// Whether nothing moved.
    pub fn is_empty(&self) -> bool {
        self.bases.is_empty()
            && self.locks.is_empty()
            && self.images.is_empty()
            && self.orphans.is_empty()
    }
}

/// What `outdated PATH` looks at: the image repository at `path` and its pinned Dockerfiles,
/// or, in a directory that is no image repository, its own `Dockerfile` (if any).
pub fn outdated_targets(
    path: &std::path::Path,
) -> Result<(Option<Repository>, Vec<PinFile>), ReleaseError> {
    let repository = match strata_repo::open(path) {
        Ok(repository) => Some(repository),
        Err(strata_repo::RepoError::NotFound { .. }) if path.is_dir() => None,
        Err(source) => {
            return Err(ReleaseError::Open {
                root: path.to_path_buf(),
                source: Box::new(source),
            })
        }
    };
    let files = match &repository {
        Some(repository) => repository.pin_files()?,
        None if path.join("Dockerfile").is_file() => {
            vec![strata_repo::pin_file(&path.join("Dockerfile"))?]
        }
        None => Vec::new(),
    };
    Ok((repository, files))
}

/// Whether `reference` (a base's current image) is signed, checked against the keys `[trust]`
/// names for its repository.
async fn base_signature(
    client: &RegistryClient,
    reference: &strata_registry::Reference,
    trust: Option<&strata_select::TrustPolicy>,
) -> Result<BaseSignature, ReleaseError> {
    let name = strata_registry::repository_name(reference);
    let rule = trust.and_then(|policy| policy.keys_for(&name));
    let keys = rule.map(|(_, keys)| keys).unwrap_or_default();
    let verification = strata_sign::verify_image(client, reference, keys)
        .await
        .map_err(|source| ReleaseError::Signature {
            reference: reference.whole(),
            source: Box::new(source),
        })?;
    let Some(top) = verification.manifests.first() else {
        return Ok(BaseSignature::Unsigned);
    };
    if !top.signed_by.is_empty() {
        return Ok(BaseSignature::Verified {
            signed_by: top
                .signed_by
                .iter()
                .map(|signer| signer.key.clone())
                .collect(),
        });
    }
    if top.signatures == 0 {
        return Ok(BaseSignature::Unsigned);
    }
    Ok(match rule {
        Some((pattern, _)) => BaseSignature::OtherKey {
            pattern: pattern.to_string(),
        },
        None => BaseSignature::Signed,
    })
}

fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

/// The report as text, one section per kind of change (empty when nothing moved).
pub fn render(report: &OutdatedReport) -> String {
    let mut output = String::new();
    if !report.bases.is_empty() {
        output.push_str("pinned bases whose tag moved\n");
        for base in &report.bases {
            let _ = writeln!(
                output,
                "  {}:{}  {}  {} → {}",
                base.file,
                base.line,
                base.reference,
                short(&base.pinned),
                short(&base.current)
            );
            let signature = match &base.signature {
                BaseSignature::Verified { signed_by } => {
                    format!("signed by {}", signed_by.join(", "))
                }
                BaseSignature::OtherKey { pattern } => {
                    format!("signed, but by none of the keys `[trust] \"{pattern}\"` names")
                }
                BaseSignature::Signed => "signed (no `[trust]` key names it)".to_string(),
                BaseSignature::Unsigned => "NOT signed".to_string(),
            };
            let _ = writeln!(output, "    {signature}");
            if base.changes.is_empty() {
                output.push_str("    no package changed\n");
            }
            for change in &base.changes {
                let text = match (&change.before, &change.after) {
                    (Some(before), Some(after)) => format!("{} {before} → {after}", change.name),
                    (None, Some(after)) => format!("+ {} {after}", change.name),
                    (Some(before), None) => format!("- {} {before}", change.name),
                    (None, None) => change.name.clone(),
                };
                let _ = writeln!(output, "    {:<15} {text}", change.ecosystem);
            }
        }
    }
    if !report.locks.is_empty() {
        output.push_str("locks with newer compatible releases\n");
        for lock in &report.locks {
            let _ = writeln!(output, "  {}", lock.lock);
            for update in &lock.updates {
                let _ = writeln!(
                    output,
                    "    {} {} → {}",
                    update.name, update.locked, update.available
                );
            }
        }
    }
    if !report.images.is_empty() {
        output.push_str("published images that differ from the repository\n");
        for image in &report.images {
            let why = match (&image.because_of, image.reason) {
                (Some(cause), reason) => format!("{} ({cause})", reason.as_str()),
                (None, reason) => reason.as_str().to_string(),
            };
            let _ = writeln!(output, "  {}  {}  {why}", image.build, image.tag);
        }
    }
    if !report.orphans.is_empty() {
        output.push_str("versions without a final layer\n");
        for orphan in &report.orphans {
            let _ = writeln!(output, "  {orphan}");
        }
    }
    output
}
