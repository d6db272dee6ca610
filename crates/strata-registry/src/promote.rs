//! Promotion: give an image another tag, in its own repository or another one, inside the
//! registry. The manifest is copied byte for byte (so the digest is the source's), blobs are
//! linked with cross-repository mounts (no layer byte passes through strata) or, between
//! registries, streamed. Every target is checked before any is written; a failure while moving
//! tags puts the tags already moved back where they were.

use std::collections::HashSet;
use std::fmt::Write;

use futures_util::{StreamExt, TryStreamExt};

use crate::client::RegistryClient;
use crate::error::RegistryError;
use crate::manifest::{Descriptor, Manifest};
use crate::reference::{with_digest, Reference};
use strata_digest::Digest;

/// One tag to set: `target` gets whatever `source` points at now.
#[derive(Debug, Clone)]
pub struct Promotion {
    pub source: Reference,
    /// A tag reference (not a digest).
    pub target: Reference,
}

/// What happened to a target tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PromoteOutcome {
    /// The tag did not exist.
    Created,
    /// The tag pointed at another image (`--force`).
    Moved,
    /// The tag already pointed at the source's digest.
    AlreadyThere,
}

/// The result of one promotion.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PromotionResult {
    pub source: String,
    pub target: String,
    /// The digest the target now has: the source's.
    pub digest: Digest,
    /// The digest the target had before, if it existed.
    pub previous: Option<Digest>,
    pub outcome: PromoteOutcome,
    /// Blobs the registry linked into the target repository without a transfer.
    pub blobs_mounted: usize,
    /// Blobs streamed through strata (between registries, or where a mount was declined).
    pub blobs_copied: usize,
    pub bytes_copied: u64,
}

/// A target that already points at another image.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Conflict {
    pub target: String,
    pub current: String,
    pub wanted: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PromoteError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("`{target}` is a digest; promote to a tag")]
    TargetIsDigest { target: String },
    #[error("{}", conflicts_message(.conflicts))]
    Conflicts { conflicts: Vec<Conflict> },
    #[error("promoting to `{target}` failed; {}", interrupted_message(.rolled_back, .kept))]
    Interrupted {
        target: String,
        #[source]
        source: RegistryError,
        /// Tags moved by this run and put back where they were.
        rolled_back: Vec<String>,
        /// Tags this run created (or could not put back), left at the new digest.
        kept: Vec<String>,
    },
}

fn conflicts_message(conflicts: &[Conflict]) -> String {
    let mut message = String::from(if conflicts.len() == 1 {
        "a target tag already points at another image"
    } else {
        "target tags already point at other images"
    });
    for conflict in conflicts {
        let _ = write!(
            message,
            "\n`{}` is `{}`, the source is `{}`",
            conflict.target, conflict.current, conflict.wanted
        );
    }
    message
}

fn interrupted_message(rolled_back: &[String], kept: &[String]) -> String {
    let mut parts = Vec::new();
    if !rolled_back.is_empty() {
        parts.push(format!(
            "put back where they were: {}",
            quoted_list(rolled_back)
        ));
    }
    if !kept.is_empty() {
        parts.push(format!("already at the new digest: {}", quoted_list(kept)));
    }
    if parts.is_empty() {
        "no tag was changed".to_string()
    } else {
        parts.join("; ")
    }
}

fn quoted_list(items: &[String]) -> String {
    items
        .iter()
        .map(|item| format!("`{item}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl strata_diagnostic::Diagnostic for PromoteError {
    /// A refused promotion is a check that found problems (1).
    fn exit_class(&self) -> Option<strata_diagnostic::ExitClass> {
        use strata_diagnostic::ExitClass;
        match self {
            Self::Registry(error) | Self::Interrupted { source: error, .. } => error.exit_class(),
            Self::TargetIsDigest { .. } => Some(ExitClass::Input),
            Self::Conflicts { .. } => Some(ExitClass::Problems),
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            Self::Conflicts { .. } => Some(
                "published tags are protected: promote to a new tag, or pass `--force` to move them"
                    .to_string(),
            ),
            Self::Interrupted { .. } => Some(
                "run the same promote again: tags already at the new digest count as done".to_string(),
            ),
            Self::Registry(error) => error.hint(),
            Self::TargetIsDigest { .. } => None,
        }
    }
}

/// What phase one learned about a promotion.
struct Checked {
    promotion: Promotion,
    manifest: Manifest,
    /// The target's current manifest when it points elsewhere (kept to put it back).
    previous: Option<Manifest>,
    outcome: PromoteOutcome,
}

/// Promote every pair, all or nothing: targets are checked first (a conflict without `force`
/// refuses them all), then content is linked into the target repositories, then tags are set.
pub async fn promote(
    client: &RegistryClient,
    promotions: &[Promotion],
    force: bool,
) -> Result<Vec<PromotionResult>, PromoteError> {
    for promotion in promotions {
        if promotion.target.digest().is_some() {
            return Err(PromoteError::TargetIsDigest {
                target: promotion.target.whole(),
            });
        }
    }
    let checked: Vec<Checked> = futures_util::stream::iter(promotions.iter().cloned())
        .map(|promotion| check(client, promotion))
        .buffered(8)
        .try_collect()
        .await?;
    let conflicts: Vec<Conflict> = checked
        .iter()
        .filter(|checked| checked.outcome == PromoteOutcome::Moved && !force)
        .map(|checked| Conflict {
            target: checked.promotion.target.whole(),
            current: checked
                .previous
                .as_ref()
                .map(|previous| previous.digest.to_string())
                .unwrap_or_default(),
            wanted: checked.manifest.digest.to_string(),
        })
        .collect();
    if !conflicts.is_empty() {
        return Err(PromoteError::Conflicts { conflicts });
    }

    let mut results = Vec::with_capacity(checked.len());
    let mut linked: HashSet<(String, String, Digest)> = HashSet::new();
    for item in &checked {
        let mut result = PromotionResult {
            source: item.promotion.source.whole(),
            target: item.promotion.target.whole(),
            digest: item.manifest.digest.clone(),
            previous: item
                .previous
                .as_ref()
                .map(|previous| previous.digest.clone())
                .or_else(|| {
                    (item.outcome == PromoteOutcome::AlreadyThere)
                        .then(|| item.manifest.digest.clone())
                }),
            outcome: item.outcome,
            blobs_mounted: 0,
            blobs_copied: 0,
            bytes_copied: 0,
        };
        if item.outcome != PromoteOutcome::AlreadyThere {
            link_content(
                client,
                &item.promotion,
                &item.manifest,
                &mut linked,
                &mut result,
            )
            .await?;
        }
        results.push(result);
    }

    let mut moved: Vec<&Checked> = Vec::new();
    for item in checked
        .iter()
        .filter(|item| item.outcome != PromoteOutcome::AlreadyThere)
    {
        if let Err(source) = client
            .put_manifest(&item.promotion.target, &item.manifest)
            .await
        {
            let mut rolled_back = Vec::new();
            let mut kept = Vec::new();
            for done in moved {
                let target = done.promotion.target.whole();
                match &done.previous {
                    Some(previous)
                        if client
                            .put_manifest(&done.promotion.target, previous)
                            .await
                            .is_ok() =>
                    {
                        rolled_back.push(target);
                    }
                    _ => kept.push(target),
                }
            }
            return Err(PromoteError::Interrupted {
                target: item.promotion.target.whole(),
                source,
                rolled_back,
                kept,
            });
        }
        moved.push(item);
    }
    Ok(results)
}

async fn check(client: &RegistryClient, promotion: Promotion) -> Result<Checked, PromoteError> {
    let manifest = client.manifest(&promotion.source).await?;
    let current = client.resolve(&promotion.target).await?;
    let (previous, outcome) = match current {
        None => (None, PromoteOutcome::Created),
        Some(current) if current.digest == manifest.digest => (None, PromoteOutcome::AlreadyThere),
        Some(current) => {
            let previous = client
                .manifest(&with_digest(&promotion.target, &current.digest))
                .await?;
            (Some(previous), PromoteOutcome::Moved)
        }
    };
    Ok(Checked {
        promotion,
        manifest,
        previous,
        outcome,
    })
}

fn same_repository(left: &Reference, right: &Reference) -> bool {
    left.registry() == right.registry() && left.repository() == right.repository()
}

/// Make everything the manifest names exist in the target's repository: nothing to do in the
/// same repository; platform manifests of an index by digest; blobs by mount, else by copy.
async fn link_content(
    client: &RegistryClient,
    promotion: &Promotion,
    manifest: &Manifest,
    linked: &mut HashSet<(String, String, Digest)>,
    result: &mut PromotionResult,
) -> Result<(), RegistryError> {
    let (source, target) = (&promotion.source, &promotion.target);
    if same_repository(source, target) {
        return Ok(());
    }
    let text = source.whole();
    let images: Vec<(Manifest, Option<Descriptor>)> = if manifest.is_index() {
        let mut children = Vec::new();
        for child in manifest.children(&text)? {
            let child_manifest = client.manifest(&with_digest(source, &child.digest)).await?;
            children.push((child_manifest, Some(child)));
        }
        children
    } else {
        vec![(manifest.clone(), None)]
    };
    for (image, child) in images {
        for blob in image.blobs(&text)? {
            let key = (
                target.registry().to_string(),
                target.repository().to_string(),
                blob.digest.clone(),
            );
            if linked.contains(&key) || client.blob_exists(target, &blob.digest).await? {
                linked.insert(key);
                continue;
            }
            let mounted = source.registry() == target.registry()
                && client.mount_blob(target, source, &blob.digest).await?;
            if mounted {
                result.blobs_mounted += 1;
            } else {
                result.bytes_copied += copy_with_retries(client, source, target, &blob).await?;
                result.blobs_copied += 1;
            }
            linked.insert(key);
        }
        if let Some(child) = child {
            client
                .put_manifest(&with_digest(target, &child.digest), &image)
                .await?;
        }
    }
    Ok(())
}

/// A streamed copy cannot be retried request by request; retry it whole, three times.
async fn copy_with_retries(
    client: &RegistryClient,
    source: &Reference,
    target: &Reference,
    blob: &Descriptor,
) -> Result<u64, RegistryError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match client.copy_blob(source, target, blob).await {
            Ok(bytes) => return Ok(bytes),
            Err(error @ RegistryError::Unreachable { .. }) if attempt < 3 => {
                tracing::debug!("copying `{}` failed ({error}); trying again", blob.digest);
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            Err(error) => return Err(error),
        }
    }
}
