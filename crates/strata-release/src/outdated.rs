//! `strata outdated`: what moved since the last release — pinned bases whose tag moved (and
//! what changed inside), published images whose inputs no longer match the repository, and
//! orphaned SciServer versions.

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
            moved.push(MovedBase {
                file: file.display.clone(),
                line: site.line,
                reference: tag_reference,
                pinned: pinned.to_string(),
                current,
                changes: strata_inspect::diff(&before, &after),
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
