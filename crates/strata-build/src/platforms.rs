//! Building one image for several platforms: each platform is its own build (on its own engine
//! when `[engines]` names one), under per-platform tags (`1.0-arm64`); the plain tags become
//! multi-platform indexes once every platform built and passed its tests (the `index` module).

use std::collections::BTreeMap;
use std::sync::Arc;

use strata_plan::Build;

/// The engines of a run: one per platform that has its own, and the default for the rest —
/// or, when `[engines] pool` names several, the pool's least busy one for each build.
pub struct Engines<E> {
    pub default: Arc<E>,
    pub by_platform: BTreeMap<String, Arc<E>>,
    /// Engines a run spreads its builds over (images pass between them through the registry).
    pub pool: Vec<Arc<E>>,
}

impl<E> Engines<E> {
    /// Every platform on one engine.
    pub fn single(engine: Arc<E>) -> Self {
        Self {
            default: engine,
            by_platform: BTreeMap::new(),
            pool: Vec::new(),
        }
    }

    /// Whether `platform` builds on an engine of its own (not the pool's).
    pub fn has_own(&self, platform: Option<&str>) -> bool {
        platform.is_some_and(|platform| self.by_platform.contains_key(platform))
    }

    /// The engine that builds `platform`.
    pub fn for_platform(&self, platform: Option<&str>) -> Arc<E> {
        platform
            .and_then(|platform| self.by_platform.get(platform))
            .unwrap_or(&self.default)
            .clone()
    }
}

pub use strata_registry::{platform_suffix, with_suffix};

/// The suffix a build's tags get on `platform`: only when the build is for several platforms.
pub(crate) fn suffix_for(platforms: &[String], platform: Option<&str>) -> Option<String> {
    match platform {
        Some(platform) if platforms.len() > 1 => Some(platform_suffix(platform)),
        _ => None,
    }
}

/// The build of one platform: its tags, and its parent's, as that platform's.
pub(crate) fn platform_build(build: &Build, platform: Option<&str>) -> Build {
    let mut node = build.clone();
    if let Some(suffix) = suffix_for(&build.platforms, platform) {
        node.tags = build
            .tags
            .iter()
            .map(|tag| with_suffix(tag, &suffix))
            .collect();
    }
    if let Some(parent) = &mut node.parent {
        if let Some(suffix) = suffix_for(&parent.platforms, platform) {
            parent.tag = with_suffix(&parent.tag, &suffix);
        }
    }
    for read in &mut node.reads {
        if let Some(suffix) = suffix_for(&read.platforms, platform) {
            read.tag = with_suffix(&read.tag, &suffix);
        }
    }
    node
}

/// The build arguments BuildKit sets for the target platform (`TARGETPLATFORM`, `TARGETOS`,
/// `TARGETARCH`, `TARGETVARIANT`), so every builder sees them.
pub(crate) fn target_arguments(platform: &str) -> BTreeMap<String, String> {
    let mut parts = platform.split('/');
    let os = parts.next().unwrap_or_default();
    let architecture = parts.next().unwrap_or_default();
    let variant = parts.next().unwrap_or_default();
    BTreeMap::from([
        ("TARGETPLATFORM".to_string(), platform.to_string()),
        ("TARGETOS".to_string(), os.to_string()),
        ("TARGETARCH".to_string(), architecture.to_string()),
        ("TARGETVARIANT".to_string(), variant.to_string()),
    ])
}

/// How a build of one platform is named in events and summaries: `base (linux/arm64)`.
pub(crate) fn label(build: &Build, platform: Option<&str>) -> String {
    match platform {
        Some(platform) if build.platforms.len() > 1 => format!("{} ({platform})", build.name),
        _ => build.name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_name_the_architecture_and_variant() {
        assert_eq!(platform_suffix("linux/arm64"), "-arm64");
        assert_eq!(platform_suffix("linux/arm/v7"), "-armv7");
        assert_eq!(platform_suffix("windows/amd64"), "-windows-amd64");
        assert_eq!(
            with_suffix("127.0.0.1:5000/a/b:1.0", "-arm64"),
            "127.0.0.1:5000/a/b:1.0-arm64"
        );
        assert_eq!(
            with_suffix("127.0.0.1:5000/a/b", "-arm64"),
            "127.0.0.1:5000/a/b:latest-arm64"
        );
        assert_eq!(
            target_arguments("linux/arm/v7")["TARGETVARIANT"],
            "v7".to_string()
        );
        assert_eq!(target_arguments("linux/arm64")["TARGETARCH"], "arm64");
        assert_eq!(
            suffix_for(&["linux/amd64".to_string()], Some("linux/amd64")),
            None
        );
    }
}
