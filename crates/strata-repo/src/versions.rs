//! Protected SciServer versions. Compute points at `rel/<image>:<version>` and always pulls
//! it, so a version that loses its final layer — its layer's version bumped in place, its
//! directory deleted — silently stops getting compat updates (the SciServer README's
//! "orphaned image"). Every `image:version` a `science/*/sciserver-image.json` ever defined in
//! `HEAD`'s history must still have a layer, unless `strata.toml` retires it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{Read, Write};
use std::process::{Command, Stdio};

use crate::changes::{Git, GitError, Pending};
use crate::model::Repository;
pub use crate::orphans::OrphanedVersion;
use crate::sciserver::{definition_version, DEFINITION_FILE};

/// One change to a definition file in one commit.
struct Change {
    commit: String,
    path: String,
    old_blob: Option<String>,
    new_blob: Option<String>,
}

const NO_BLOB: &str = "0000000000000000000000000000000000000000";

/// [`Git::start_definition_history`]'s call under way.
#[derive(Debug)]
pub struct PendingHistory(Pending);

impl Git {
    /// Start reading every change to a `science/*/sciserver-image.json` in `HEAD`'s history:
    /// started before the repository is read, it costs nothing while the tree is read.
    pub fn start_definition_history(&self) -> Result<PendingHistory, GitError> {
        let pathspec = format!(":(glob)science/*/{DEFINITION_FILE}");
        Ok(PendingHistory(self.start(&[
            "log",
            "--format=commit %H",
            "--raw",
            "--no-abbrev",
            "--no-renames",
            "--relative",
            "HEAD",
            "--",
            &pathspec,
        ])?))
    }
}

impl PendingHistory {
    /// Every change, newest first.
    fn finish(self) -> Result<Vec<Change>, GitError> {
        let output = self.0.finish()?;
        let mut changes = Vec::new();
        let mut commit = String::new();
        for line in String::from_utf8_lossy(&output).lines() {
            if let Some(hash) = line.strip_prefix("commit ") {
                // `--no-abbrev` (for the blob ids) also lengthens `%h`: shorten by hand.
                commit = hash.chars().take(7).collect();
                continue;
            }
            let Some(raw) = line.strip_prefix(':') else {
                continue;
            };
            let Some((fields, path)) = raw.split_once('\t') else {
                continue;
            };
            let parts: Vec<&str> = fields.split(' ').collect();
            let is_definition = path
                .strip_prefix("science/")
                .and_then(|rest| rest.strip_suffix(&format!("/{DEFINITION_FILE}")))
                .is_some_and(|directory| !directory.contains('/'));
            if parts.len() < 4 || !is_definition {
                continue;
            }
            let blob = |id: &str| (id != NO_BLOB).then(|| id.to_string());
            changes.push(Change {
                commit: commit.clone(),
                path: path.to_string(),
                old_blob: blob(parts[2]),
                new_blob: blob(parts[3]),
            });
        }
        Ok(changes)
    }
}

impl Git {
    /// The contents of blobs, by id, read with one `git cat-file --batch`.
    fn blobs(&self, ids: &BTreeSet<String>) -> Result<BTreeMap<String, Vec<u8>>, GitError> {
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let mut child = Command::new("git")
            .arg("-C")
            .arg(self.root())
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(GitError::Spawn)?;
        let mut input = String::new();
        for id in ids {
            input.push_str(id);
            input.push('\n');
        }
        let mut stdin = child.stdin.take().ok_or_else(|| GitError::Failed {
            arguments: "cat-file --batch".to_string(),
            stderr: "no standard input".to_string(),
        })?;
        // Write from another thread: git answers while it reads, and a full pipe would block.
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let mut output = Vec::new();
        if let Some(mut stdout) = child.stdout.take() {
            stdout.read_to_end(&mut output).map_err(GitError::Spawn)?;
        }
        let _ = writer.join();
        let _ = child.wait();
        let mut blobs = BTreeMap::new();
        let mut rest = output.as_slice();
        while let Some(newline) = rest.iter().position(|byte| *byte == b'\n') {
            let header = String::from_utf8_lossy(&rest[..newline]).to_string();
            rest = &rest[newline + 1..];
            let mut fields = header.split(' ');
            let (Some(id), Some(_kind), Some(size)) = (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let Ok(size) = size.parse::<usize>() else {
                continue;
            };
            let Some(content) = rest.get(..size) else {
                break;
            };
            blobs.insert(id.to_string(), content.to_vec());
            rest = rest.get(size + 1..).unwrap_or_default();
        }
        Ok(blobs)
    }
}

/// The `image:version` of each blob: known from the layers read (by their files' blob ids),
/// else from the contents git gave.
struct BlobVersions {
    known: HashMap<String, String>,
    read: BTreeMap<String, Vec<u8>>,
}

impl BlobVersions {
    fn version(&self, blob: Option<&String>) -> Option<String> {
        let blob = blob?;
        if let Some(version) = self.known.get(blob) {
            return Some(version.clone());
        }
        definition_version(self.read.get(blob)?)
    }
}

impl Repository {
    /// The `image:version`s history defined that no science layer has now, not retired in
    /// `strata.toml`. Empty outside the SciServer layout.
    pub fn orphaned_versions(&self, git: &Git) -> Result<Vec<OrphanedVersion>, GitError> {
        if !self.layouts.contains(&crate::config::LayoutKind::Sciserver) {
            return Ok(Vec::new());
        }
        self.orphaned_versions_from(git, git.start_definition_history()?)
    }

    /// [`Repository::orphaned_versions`] from a history read started earlier. Only the
    /// definitions that differ from every file of the work tree are read from git: in a
    /// repository whose versions were never changed in place, none.
    pub fn orphaned_versions_from(
        &self,
        git: &Git,
        history: PendingHistory,
    ) -> Result<Vec<OrphanedVersion>, GitError> {
        let changes = history.finish()?;
        if !self.layouts.contains(&crate::config::LayoutKind::Sciserver) {
            return Ok(Vec::new());
        }
        let known: HashMap<String, String> = self
            .layers
            .iter()
            .filter_map(|layer| layer.science())
            .map(|science| {
                (
                    science.definition_blob.clone(),
                    format!("{}:{}", science.image, science.version),
                )
            })
            .collect();
        let unknown: BTreeSet<String> = changes
            .iter()
            .flat_map(|change| change.old_blob.iter().chain(&change.new_blob))
            .filter(|blob| !known.contains_key(*blob))
            .cloned()
            .collect();
        let blobs = BlobVersions {
            known,
            read: git.blobs(&unknown)?,
        };
        let mut orphans: BTreeMap<String, OrphanedVersion> = BTreeMap::new();
        // Oldest first, so the last event for each version wins.
        for change in changes.iter().rev() {
            let before = blobs.version(change.old_blob.as_ref());
            let after = blobs.version(change.new_blob.as_ref());
            let directory = change
                .path
                .strip_suffix(&format!("/{DEFINITION_FILE}"))
                .unwrap_or(&change.path)
                .to_string();
            if let Some(after) = &after {
                orphans.insert(
                    after.clone(),
                    OrphanedVersion {
                        version: after.clone(),
                        directory: Some(directory),
                        defined_in: Some(change.commit.clone()),
                        changed_in: None,
                        published_as: None,
                    },
                );
            }
            if let Some(before) = before.filter(|before| Some(before) != after.as_ref()) {
                if let Some(orphan) = orphans.get_mut(&before) {
                    if orphan.changed_in.is_none() {
                        orphan.changed_in = Some(change.commit.clone());
                    }
                }
            }
        }
        Ok(orphans
            .into_values()
            .filter(|orphan| !self.keeps_version(&orphan.version))
            .collect())
    }

    /// Whether `image:version` has a science layer now, or is retired in `strata.toml`.
    pub fn keeps_version(&self, version: &str) -> bool {
        self.config.retired.iter().any(|retired| retired == version)
            || self
                .layers
                .iter()
                .filter_map(|layer| layer.science())
                .any(|science| {
                    version.split_once(':').is_some_and(|(image, number)| {
                        science.image == image && science.version == number
                    })
                })
    }

    /// The SciServer images (`image` of any science layer, now or in `orphans`).
    pub fn science_images<'a>(&'a self, orphans: &'a [OrphanedVersion]) -> BTreeSet<&'a str> {
        self.layers
            .iter()
            .filter_map(|layer| layer.science())
            .map(|science| science.image.as_str())
            .chain(
                orphans
                    .iter()
                    .filter_map(|orphan| orphan.version.split_once(':').map(|(image, _)| image)),
            )
            .collect()
    }
}
