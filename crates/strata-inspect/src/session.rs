//! Inspecting as a command does, on the session's engine or registry: one image's facts (one
//! platform of a multi-platform tag when asked), or every platform of an index.

use strata_registry::Platform;
use strata_session::Session;

use crate::{inspect_local, inspect_registry_platform, ImageFacts, InspectError, LayerCache};

/// The facts of `reference` on the session's engine, or (`registry`) in its registry.
/// `platform` picks one platform of a multi-platform tag in the registry; on the engine, which
/// holds one platform of a tag, it is checked that the image is that platform's.
pub async fn image_facts(
    session: &Session,
    reference: &str,
    registry: bool,
    platform: Option<&str>,
) -> Result<ImageFacts, InspectError> {
    let wanted = platform
        .map(|text| {
            Platform::parse(text).ok_or_else(|| InspectError::PlatformSyntax {
                text: text.to_string(),
            })
        })
        .transpose()?;
    let cache = LayerCache::new(session.caches().root());
    let facts = if registry {
        inspect_registry_platform(session.registry(), reference, wanted.as_ref(), &cache).await
    } else {
        let engine = session.engine(strata_engine::BuilderKind::BuildKit).await?;
        inspect_local(&*engine, reference, &cache).await
    };
    let facts = facts.map_err(|source| InspectError::Image {
        reference: reference.to_string(),
        source: Box::new(source),
    })?;
    if let (false, Some(wanted)) = (registry, &wanted) {
        let image = &facts.image;
        if image.architecture.as_deref() != Some(wanted.architecture.as_str()) {
            return Err(InspectError::OtherPlatform {
                reference: reference.to_string(),
                here: format!(
                    "{}/{}",
                    image.os.as_deref().unwrap_or("?"),
                    image.architecture.as_deref().unwrap_or("?")
                ),
                wanted: wanted.to_string(),
                platform_tag: strata_registry::with_suffix(
                    reference,
                    &strata_registry::platform_suffix(&wanted.to_string()),
                ),
            });
        }
    }
    Ok(facts)
}

/// Every platform of the multi-platform tag `reference` (attestations left out), read from its
/// registry: each platform's name and facts, in the index's order.
pub async fn index_platforms(
    session: &Session,
    reference: &str,
) -> Result<Vec<(String, ImageFacts)>, InspectError> {
    let client = session.registry();
    let cache = LayerCache::new(session.caches().root());
    let parsed = strata_registry::parse_reference(reference)?;
    let manifest = client
        .manifest(&parsed)
        .await
        .map_err(|source| InspectError::IndexRead {
            reference: reference.to_string(),
            source: Box::new(source),
        })?;
    if !manifest.is_index() {
        return Err(InspectError::NotAnIndex {
            reference: reference.to_string(),
        });
    }
    let mut images = Vec::new();
    for child in manifest.children(reference)? {
        let Some(platform) = child.platform else {
            continue;
        };
        // Attestation manifests (`unknown/unknown`) are not platforms.
        if platform.os == "unknown" {
            continue;
        }
        let facts = inspect_registry_platform(client, reference, Some(&platform), &cache)
            .await
            .map_err(|source| InspectError::PlatformImage {
                platform: platform.to_string(),
                reference: reference.to_string(),
                source: Box::new(source),
            })?;
        images.push((platform.to_string(), facts));
    }
    Ok(images)
}
