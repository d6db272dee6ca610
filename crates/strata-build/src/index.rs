//! Multi-platform indexes: after every platform of a build has built, passed its tests and been
//! pushed under its own tags (`1.0-amd64`, `1.0-arm64`), one OCI image index per plain tag names
//! each platform's manifest by digest. A build with any platform failed, skipped or unpushed
//! writes no index: its tags keep the index they had.

use std::collections::BTreeSet;
use strata_registry::Digest;

use serde_json::json;
use strata_plan::{Build, Plan};
use strata_registry::{parse_reference, with_digest, Manifest, Platform, RegistryClient};
use tokio::sync::mpsc::UnboundedSender;

use crate::events::BuildEvent;
use crate::platforms::{platform_suffix, with_suffix};
use crate::runner::BuildResult;

/// One index written (or not) under a tag.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct IndexPush {
    pub build: String,
    pub tag: String,
    /// The index's digest, when it was written.
    pub digest: Option<Digest>,
    pub platforms: Vec<String>,
    /// Why it could not be written.
    pub error: Option<String>,
    /// Seconds spent assembling and writing it (reading each platform's manifest, then the
    /// `PUT`), shared by the build's tags.
    pub seconds: f64,
}

/// Sign every index written (once per repository and digest); a signature that cannot be
/// pushed is the index's error (it is published, unsigned).
pub async fn sign_indexes(
    registry: &RegistryClient,
    indexes: &mut [IndexPush],
    key: &strata_sign::SigningKey,
    events: &UnboundedSender<BuildEvent>,
) {
    let mut done = std::collections::BTreeSet::new();
    for index in indexes.iter_mut() {
        let Some(digest) = index.digest.clone() else {
            continue;
        };
        let Ok(reference) = strata_registry::parse_reference(&index.tag) else {
            continue;
        };
        if !done.insert((strata_registry::repository_name(&reference), digest.clone())) {
            continue;
        }
        match strata_sign::sign_image(registry, &reference, &digest, key).await {
            Ok(signed) => {
                let _ = events.send(BuildEvent::Step {
                    build: index.build.clone(),
                    step: format!("signed the index `{}`", signed.image),
                });
            }
            Err(error) => {
                let message = format!(
                    "written, but not signed: {}",
                    strata_repo::join_chain(&error, ": ")
                );
                let _ = events.send(BuildEvent::PushFailed {
                    build: index.build.clone(),
                    tag: index.tag.clone(),
                    error: message.clone(),
                });
                index.error = Some(message);
            }
        }
    }
}

/// Write the index of every tag of every multi-platform build whose platforms all succeeded
/// and were pushed. Taggers' tags are indexed only when every platform computed them.
pub async fn push_indexes(
    registry: &RegistryClient,
    plan: &Plan,
    results: &[BuildResult],
    events: &UnboundedSender<BuildEvent>,
) -> Vec<IndexPush> {
    let mut pushes = Vec::new();
    for build in plan.builds.iter().filter(|build| build.platforms.len() > 1) {
        let platforms: Vec<&BuildResult> = results
            .iter()
            .filter(|result| result.name == build.name && result.platform.is_some())
            .collect();
        let warn = |message: String| {
            let _ = events.send(BuildEvent::Warning {
                build: build.name.clone(),
                message,
            });
        };
        if let Some(unfinished) = platforms.iter().find(|result| !result.succeeded()) {
            warn(format!(
                "no multi-platform index: {} {}; its tags keep the index they had",
                unfinished.platform.as_deref().unwrap_or_default(),
                match unfinished.outcome {
                    crate::Outcome::Skipped(_) => "was skipped",
                    _ => "failed",
                }
            ));
            continue;
        }
        let started = std::time::Instant::now();
        match index_manifest(registry, build, &platforms).await {
            Ok(manifest) => {
                let assembled = started.elapsed().as_secs_f64();
                for tag in index_tags(build, &platforms, &warn) {
                    let written = std::time::Instant::now();
                    let mut push = put_index(registry, build, &tag, &manifest, events).await;
                    push.seconds = assembled + written.elapsed().as_secs_f64();
                    pushes.push(push);
                }
            }
            Err(message) => {
                let _ = events.send(BuildEvent::PushFailed {
                    build: build.name.clone(),
                    tag: build.tags.first().cloned().unwrap_or_default(),
                    error: message.clone(),
                });
                pushes.push(IndexPush {
                    build: build.name.clone(),
                    tag: build.tags.first().cloned().unwrap_or_default(),
                    digest: None,
                    platforms: build.platforms.clone(),
                    error: Some(message),
                    seconds: started.elapsed().as_secs_f64(),
                });
            }
        }
    }
    pushes
}

/// The index naming each platform's pushed manifest, in the build's platform order.
async fn index_manifest(
    registry: &RegistryClient,
    build: &Build,
    results: &[&BuildResult],
) -> Result<Manifest, String> {
    let unique = build.tags.first().cloned().unwrap_or_default();
    let mut entries = Vec::new();
    for platform in &build.platforms {
        let platform_tag = with_suffix(&unique, &platform_suffix(platform));
        let digest = results
            .iter()
            .filter(|result| result.platform.as_deref() == Some(platform.as_str()))
            .flat_map(|result| &result.pushed)
            .find(|(tag, _)| *tag == platform_tag)
            .and_then(|(_, digest)| digest.clone())
            .ok_or_else(|| {
                format!("no multi-platform index: `{platform_tag}` ({platform}) was not pushed")
            })?;
        let reference = parse_reference(&platform_tag).map_err(|error| error.to_string())?;
        let descriptor = registry
            .resolve(&with_digest(&reference, &digest))
            .await
            .map_err(|error| strata_repo::join_chain(&error, ": "))?
            .ok_or_else(|| format!("the registry does not have `{platform_tag}` ({digest})"))?;
        let parsed = Platform::parse(platform)
            .ok_or_else(|| format!("`{platform}` is not `os/architecture[/variant]`"))?;
        let mut platform_json = json!({"os": parsed.os, "architecture": parsed.architecture});
        if let Some(variant) = parsed.variant {
            platform_json["variant"] = json!(variant);
        }
        entries.push(json!({
            "mediaType": descriptor.media_type,
            "digest": digest,
            "size": descriptor.size,
            "platform": platform_json,
        }));
    }
    let index = json!({
        "schemaVersion": 2,
        "mediaType": strata_registry::OCI_INDEX,
        "manifests": entries,
    });
    let bytes = serde_json::to_vec_pretty(&index).map_err(|error| error.to_string())?;
    Ok(Manifest::new(
        bytes.into(),
        Some(strata_registry::OCI_INDEX),
    ))
}

/// The build's own tags, then the taggers' tags every platform computed. A tag some platforms
/// computed and others did not is left out, saying which.
fn index_tags(build: &Build, results: &[&BuildResult], warn: &dyn Fn(String)) -> Vec<String> {
    let computed: Vec<(String, BTreeSet<String>)> = results
        .iter()
        .map(|result| {
            let platform = result.platform.clone().unwrap_or_default();
            let suffix = platform_suffix(&platform);
            let tags = result
                .tagger_tags
                .iter()
                .map(|tag| tag.strip_suffix(&suffix).unwrap_or(tag).to_string())
                .collect();
            (platform, tags)
        })
        .collect();
    let mut tags = build.tags.clone();
    let every: BTreeSet<&String> = computed.iter().flat_map(|(_, tags)| tags).collect();
    for tag in every {
        let missing: Vec<&str> = computed
            .iter()
            .filter(|(_, tags)| !tags.contains(tag))
            .map(|(platform, _)| platform.as_str())
            .collect();
        if missing.is_empty() {
            if !tags.contains(tag) {
                tags.push(tag.clone());
            }
        } else {
            warn(format!(
                "tagger tag `{tag}` not applied: {} computed other tags (the platforms must agree)",
                missing.join(", ")
            ));
        }
    }
    tags
}

async fn put_index(
    registry: &RegistryClient,
    build: &Build,
    tag: &str,
    manifest: &Manifest,
    events: &UnboundedSender<BuildEvent>,
) -> IndexPush {
    let written = match parse_reference(tag) {
        Ok(reference) => registry
            .put_manifest(&reference, manifest)
            .await
            .map_err(|error| strata_repo::join_chain(&error, ": ")),
        Err(error) => Err(error.to_string()),
    };
    let mut push = IndexPush {
        build: build.name.clone(),
        tag: tag.to_string(),
        digest: None,
        platforms: build.platforms.clone(),
        error: None,
        seconds: 0.0,
    };
    match written {
        Ok(()) => {
            let _ = events.send(BuildEvent::IndexPushed {
                build: build.name.clone(),
                tag: tag.to_string(),
                digest: manifest.digest.clone(),
                platforms: build.platforms.clone(),
            });
            push.digest = Some(manifest.digest.clone());
        }
        Err(error) => {
            let _ = events.send(BuildEvent::PushFailed {
                build: build.name.clone(),
                tag: tag.to_string(),
                error: error.clone(),
            });
            push.error = Some(error);
        }
    }
    push
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Outcome;

    fn built(platform: &str, tagger_tags: &[&str]) -> BuildResult {
        let mut result = BuildResult::new("lab", Outcome::Built);
        result.platform = Some(platform.to_string());
        result.tagger_tags = tagger_tags.iter().map(|tag| (*tag).to_string()).collect();
        result
    }

    #[test]
    fn tagger_tags_are_indexed_only_when_every_platform_computed_them() {
        let build = Build {
            kind: strata_plan::BuildKind::Image,
            name: "lab".to_string(),
            image: "lab".to_string(),
            version: None,
            variant: None,
            context: "images/lab".to_string(),
            dockerfile: "images/lab/Dockerfile".to_string(),
            from: "debian".to_string(),
            parent: None,
            tags: vec![
                "r.test/o/lab:abc1234".to_string(),
                "r.test/o/lab:latest".to_string(),
            ],
            depends_on: Vec::new(),
            reason: strata_plan::Reason::Included,
            triggered_by: None,
            compat_layers: Vec::new(),
            build_args: std::collections::BTreeMap::new(),
            labels: std::collections::BTreeMap::new(),
            taggers: Vec::new(),
            tests: Vec::new(),
            platforms: vec!["linux/amd64".to_string(), "linux/arm64".to_string()],
            reads: Vec::new(),
        };
        let amd64 = built(
            "linux/amd64",
            &[
                "r.test/o/lab:python-3.12.1-amd64",
                "r.test/o/lab:numpy-2.1-amd64",
            ],
        );
        let arm64 = built(
            "linux/arm64",
            &[
                "r.test/o/lab:python-3.12.1-arm64",
                "r.test/o/lab:numpy-2.0-arm64",
            ],
        );
        let warnings = std::cell::RefCell::new(Vec::new());
        let tags = index_tags(&build, &[&amd64, &arm64], &|message| {
            warnings.borrow_mut().push(message);
        });
        assert_eq!(
            tags,
            [
                "r.test/o/lab:abc1234",
                "r.test/o/lab:latest",
                "r.test/o/lab:python-3.12.1"
            ]
        );
        assert_eq!(
            warnings.into_inner(),
            [
                "tagger tag `r.test/o/lab:numpy-2.0` not applied: linux/amd64 computed other tags (the platforms must agree)",
                "tagger tag `r.test/o/lab:numpy-2.1` not applied: linux/arm64 computed other tags (the platforms must agree)",
            ]
        );
    }
}
