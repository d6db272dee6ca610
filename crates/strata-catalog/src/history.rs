//! An image's release history: its earlier builds as the registry holds them, found by the
//! shape of its unique tag, and what changed from each build to the next.

use regex::Regex;
use serde::Serialize;
use strata_inspect::{Change, ImageFacts};

use strata_inspect::{BASE_DIGEST_LABEL, REVISION_LABEL};

/// A build of an image, as read from its registry.
pub struct PastBuild {
    /// The tags it is found under that are shaped like a unique build tag.
    pub tags: Vec<String>,
    pub facts: ImageFacts,
}

/// One release of an image in the catalogue, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct Release {
    /// Its unique tags (usually one).
    pub tags: Vec<String>,
    pub digest: Option<String>,
    pub created: Option<String>,
    pub revision: Option<String>,
    pub base_digest: Option<String>,
    /// Whether its base digest differs from the release before it.
    pub base_moved: bool,
    /// What changed since the release before it; `None` for the oldest one shown.
    pub changes: Option<Vec<Change>>,
}

/// Which tags of a repository are an image's unique build tags: shaped like `unique_tag` (the
/// tag part) with its commit hash and the build count before it free. `None` when the tag does
/// not name the commit `revision` (then builds cannot be told apart from moving tags).
pub fn build_tag_pattern(unique_tag: &str, revision: &str) -> Option<Regex> {
    if revision.len() < 7 || !revision.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return None;
    }
    let (position, length) = (7..=revision.len())
        .rev()
        .find_map(|length| Some((unique_tag.find(&revision[..length])?, length)))?;
    let before = &unique_tag[..position];
    let after = &unique_tag[position + length..];
    // SciServer's `<version>-<count>-<hash>`: the count grows with every commit.
    let count = Regex::new(r"(\d+)-$").ok()?;
    let before = match count.find(before) {
        Some(found) => format!("{}([0-9]+)-", regex::escape(&before[..found.start()])),
        None => regex::escape(before),
    };
    Regex::new(&format!(
        "^{before}[0-9a-f]{{{length}}}{}$",
        regex::escape(after)
    ))
    .ok()
}

/// The releases of `builds` (newest first), each with what changed since the one after it.
pub fn releases(builds: &[PastBuild]) -> Vec<Release> {
    builds
        .iter()
        .enumerate()
        .map(|(position, build)| {
            let labels = &build.facts.image.labels;
            let base_digest = labels.get(BASE_DIGEST_LABEL).cloned();
            let older = builds.get(position + 1);
            Release {
                tags: build.tags.clone(),
                digest: build.facts.image.digests.first().cloned(),
                created: build.facts.image.created.clone(),
                revision: labels.get(REVISION_LABEL).cloned(),
                base_moved: older.is_some_and(|older| {
                    older.facts.image.labels.get(BASE_DIGEST_LABEL) != base_digest.as_ref()
                }),
                base_digest,
                changes: older.map(|older| strata_inspect::diff(&older.facts, &build.facts)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const REVISION: &str = "180bce4ea96cd015f581eaedfb03d153c3469c1d";

    #[test]
    fn sciserver_build_tags_free_their_count_and_commit() {
        let pattern = build_tag_pattern("2.0-14-180bce4", REVISION).unwrap();
        assert!(pattern.is_match("2.0-14-180bce4"));
        assert!(pattern.is_match("2.0-9-0a1b2c3"));
        assert!(!pattern.is_match("2.0"), "the moving tag");
        assert!(!pattern.is_match("1.0-9-0a1b2c3"), "another version");
        assert!(
            !pattern.is_match("2.0-9-0a1b2c3-amd64"),
            "a platform's own tag"
        );
        // The count is captured, so builds can be ordered by it.
        let count = pattern
            .captures("2.0-9-0a1b2c3")
            .and_then(|found| found.get(1));
        assert_eq!(count.map(|count| count.as_str()), Some("9"));
    }

    #[test]
    fn docker_stacks_and_template_tags_free_their_commit() {
        let stacks = build_tag_pattern("180bce4ea96c", REVISION).unwrap();
        assert!(stacks.is_match("0123456789ab"));
        assert!(!stacks.is_match("latest"));
        let variant = build_tag_pattern("cuda-180bce4ea96c", REVISION).unwrap();
        assert!(variant.is_match("cuda-0123456789ab"));
        assert!(!variant.is_match("0123456789ab"));
        let templated = build_tag_pattern("py3.11-180bce4", REVISION).unwrap();
        assert!(templated.is_match("py3.11-0a1b2c3"));
        assert!(!templated.is_match("py3x11-0a1b2c3"), "dots are literal");
    }

    #[test]
    fn a_tag_without_the_commit_has_no_history() {
        assert!(build_tag_pattern("latest", REVISION).is_none());
        assert!(build_tag_pattern("2.0-1-180bce4", "not-a-hash").is_none());
    }
}
