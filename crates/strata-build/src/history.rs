//! `<manifests>/<image>/history.md`: the builds of an image, newest first, and the promotions
//! of its tags, newest first — what docker-stacks keeps on its wiki and course maintainers keep
//! by hand.

use std::path::{Path, PathBuf};
use strata_registry::Digest;

use crate::error::BuildError;

const BUILDS_HEADER: &str = "| Date | Tags | Manifest | Dockerfile |\n|:--|:--|:--|:--|\n";
const PROMOTIONS_TITLE: &str = "## Promotions\n\n";
const PROMOTIONS_HEADER: &str =
    "| Date | Tag | Source | Digest | Before |\n|:--|:--|:--|:--|:--|\n";

/// A file name for any build name or tag (`essentials:1.0` → `essentials_1.0`).
pub(crate) fn file_name(text: &str) -> String {
    text.chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() || matches!(character, '-' | '_' | '.') {
                character
            } else {
                '_'
            }
        })
        .collect()
}

/// Replace a history file whole (strata-fs's writer).
pub(crate) fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), BuildError> {
    Ok(strata_fs::write_atomically(path, contents)?)
}

/// The history of one image, as rows of its two tables.
struct History {
    build: String,
    builds: Vec<String>,
    promotions: Vec<String>,
}

impl History {
    fn title(build: &str) -> String {
        format!("# Build history of `{build}`\n\n")
    }

    fn read(path: &Path, build: &str) -> Self {
        let text = fs_err::read_to_string(path).unwrap_or_default();
        let rows = |section: &str, header: &str| -> Vec<String> {
            section
                .strip_prefix(header)
                .unwrap_or("")
                .lines()
                .filter(|line| line.starts_with('|'))
                .map(str::to_string)
                .collect()
        };
        let body = text.strip_prefix(&Self::title(build)).unwrap_or("");
        let (builds, promotions) = match body.split_once(PROMOTIONS_TITLE) {
            Some((builds, promotions)) => (builds.trim_end_matches('\n'), promotions),
            None => (body, ""),
        };
        let builds = rows(
            &format!("{}\n", builds.trim_end_matches('\n')),
            BUILDS_HEADER,
        );
        Self {
            build: build.to_string(),
            builds,
            promotions: rows(promotions, PROMOTIONS_HEADER),
        }
    }

    fn render(&self) -> String {
        let mut text = Self::title(&self.build);
        text.push_str(BUILDS_HEADER);
        for row in &self.builds {
            text.push_str(row);
            text.push('\n');
        }
        if !self.promotions.is_empty() {
            text.push('\n');
            text.push_str(PROMOTIONS_TITLE);
            text.push_str(PROMOTIONS_HEADER);
            for row in &self.promotions {
                text.push_str(row);
                text.push('\n');
            }
        }
        text
    }
}

fn history_path(directory: &Path, build: &str) -> PathBuf {
    directory.join(file_name(build)).join("history.md")
}

/// Put a build row at the top of the build table.
pub(crate) fn record_build(directory: &Path, build: &str, row: String) -> Result<(), BuildError> {
    let path = history_path(directory, build);
    let mut history = History::read(&path, build);
    history.builds.insert(0, row);
    write_atomically(&path, history.render().as_bytes())
}

/// One promotion, as `history.md` records it.
#[derive(Debug, Clone)]
pub struct PromotionRecord {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// The full target reference.
    pub target: String,
    pub source: String,
    pub digest: Digest,
    pub previous: Option<Digest>,
}

/// Put promotion rows at the top of an image's promotion table. Returns the file written.
pub fn record_promotions(
    directory: &Path,
    build: &str,
    records: &[PromotionRecord],
) -> Result<PathBuf, BuildError> {
    let path = history_path(directory, build);
    let mut history = History::read(&path, build);
    for record in records {
        let before = record.previous.as_deref().map_or_else(
            || "new tag".to_string(),
            |digest| format!("`{}`", short(digest)),
        );
        history.promotions.insert(
            0,
            format!(
                "| {} | `{}` | `{}` | `{}` | {before} |",
                record.date,
                record.target,
                record.source,
                short(&record.digest)
            ),
        );
    }
    write_atomically(&path, history.render().as_bytes())?;
    Ok(path)
}

/// `sha256:` and the first 12 hex digits.
fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_promotions_keep_their_own_tables() {
        let directory = tempfile::tempdir().unwrap();
        record_build(
            directory.path(),
            "base:1.0",
            "| 2024-01-01 | `1.0` | m | d |".into(),
        )
        .unwrap();
        let record = PromotionRecord {
            date: "2024-01-02".into(),
            target: "r/base:stable".into(),
            source: "r/base:1.0".into(),
            digest: Digest::from_sha256_hex(&"a".repeat(64)).unwrap(),
            previous: None,
        };
        record_promotions(directory.path(), "base:1.0", std::slice::from_ref(&record)).unwrap();
        record_build(
            directory.path(),
            "base:1.0",
            "| 2024-01-03 | `1.0` | m2 | d2 |".into(),
        )
        .unwrap();
        let moved = PromotionRecord {
            date: "2024-01-04".into(),
            previous: Some(record.digest.clone()),
            digest: Digest::from_sha256_hex(&"b".repeat(64)).unwrap(),
            ..record
        };
        let path = record_promotions(directory.path(), "base:1.0", &[moved]).unwrap();
        let text = fs_err::read_to_string(path).unwrap();
        insta::assert_snapshot!(text, @r"
        # Build history of `base:1.0`

        | Date | Tags | Manifest | Dockerfile |
        |:--|:--|:--|:--|
        | 2024-01-03 | `1.0` | m2 | d2 |
        | 2024-01-01 | `1.0` | m | d |

        ## Promotions

        | Date | Tag | Source | Digest | Before |
        |:--|:--|:--|:--|:--|
        | 2024-01-04 | `r/base:stable` | `r/base:1.0` | `sha256:bbbbbbbbbbbb` | `sha256:aaaaaaaaaaaa` |
        | 2024-01-02 | `r/base:stable` | `r/base:1.0` | `sha256:aaaaaaaaaaaa` | new tag |
        ");
        // The newest build and promotion are first in their tables.
        assert!(text.find("2024-01-03").unwrap() < text.find("2024-01-01").unwrap());
        assert!(text.find("2024-01-04").unwrap() < text.find("2024-01-02").unwrap());
    }
}
