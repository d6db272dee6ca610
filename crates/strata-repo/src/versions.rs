//! Protected SciServer versions. Compute points at `rel/<image>:<version>` and always pulls
//! it, so a version that loses its final layer — its layer's version bumped in place, its
//! directory deleted — silently stops getting compat updates (the SciServer README's
//! "orphaned image"). Every `image:version` a `science/*/sciserver-image.json` ever defined in
//! `HEAD`'s history must still have a layer, unless `strata.toml` retires it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::changes::{Git, GitError, Pending};
use crate::model::Repository;
pub use crate::orphans::OrphanedVersion;
use crate::sciserver::{definition_version, DEFINITION_FILE};

/// One change to a definition file in one commit.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Change {
    commit: String,
    path: String,
    old_blob: Option<String>,
    new_blob: Option<String>,
}

const NO_BLOB: &str = "0000000000000000000000000000000000000000";

/// [`Git::start_definition_history`]'s call under way, or its answer kept from a run at the
/// same commit.
#[derive(Debug)]
pub struct PendingHistory {
    source: HistorySource,
    /// Where the answer is kept, and for which commit.
    cache: Option<(PathBuf, String)>,
}

#[derive(Debug)]
enum HistorySource {
    Git(Pending),
    Kept(KeptHistory),
}

/// What the definition history of one commit says, kept between runs: `HEAD`'s history does
/// not change while `HEAD` does not, so a second plan at the same commit asks git nothing.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct KeptHistory {
    /// The commit whose history this is: its full hash and commit count.
    head: String,
    /// Every change, newest first.
    changes: Vec<Change>,
    /// The `image:version` each blob read from git defines (`None`: it defines none).
    blob_versions: BTreeMap<String, Option<String>>,
}

const KEPT_HISTORY_FORMAT: &str = "strata definition history 1";

impl KeptHistory {
    fn load(file: &Path, head: &str) -> Option<Self> {
        let text = std::fs::read_to_string(file).ok()?;
        let (format, json) = text.split_once('\n')?;
        if format != KEPT_HISTORY_FORMAT {
            return None;
        }
        let kept: Self = serde_json::from_str(json).ok()?;
        (kept.head == head).then_some(kept)
    }

    /// Keep for the next run; a cache that cannot be written only costs that run a git call.
    fn save(&self, file: &Path) {
        let Ok(json) = serde_json::to_string(self) else {
            return;
        };
        if let Some(parent) = file.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        if let Err(error) =
            strata_fs::write_cache_file(file, format!("{KEPT_HISTORY_FORMAT}\n{json}").as_bytes())
        {
            tracing::debug!("cannot keep the definition history: {error}");
        }
    }
}

impl Git {
    /// Start reading every change to a `science/*/sciserver-image.json` in `HEAD`'s history:
    /// started before the repository is read, it costs nothing while the tree is read.
    pub fn start_definition_history(&self) -> Result<PendingHistory, GitError> {
        Ok(PendingHistory {
            source: HistorySource::Git(self.start_history_log()?),
            cache: None,
        })
    }

    /// [`Git::start_definition_history`] for the commit `head` (its full hash and the number of
    /// commits git reaches from it: a shallow clone deepened later has the same hash and more
    /// history), answered from `cache_file` when it holds that history, and kept there
    /// otherwise.
    pub fn start_definition_history_kept(
        &self,
        head: &str,
        cache_file: &Path,
    ) -> Result<PendingHistory, GitError> {
        let source = match KeptHistory::load(cache_file, head) {
            Some(kept) => HistorySource::Kept(kept),
            None => HistorySource::Git(self.start_history_log()?),
        };
        Ok(PendingHistory {
            source,
            cache: Some((cache_file.to_path_buf(), head.to_string())),
        })
    }

    fn start_history_log(&self) -> Result<Pending, GitError> {
        let pathspec = format!(":(glob)science/*/{DEFINITION_FILE}");
        self.start(&[
            "log",
            "--format=commit %H",
            "--raw",
            "--no-abbrev",
            "--no-renames",
            "--relative",
            "HEAD",
            "--",
            &pathspec,
        ])
    }
}

impl PendingHistory {
    /// The history: every change, newest first, with the blob versions known from earlier.
    /// Also where it is kept, and whether git was asked (so it is to be kept).
    fn finish(self) -> Result<(KeptHistory, Option<PathBuf>, bool), GitError> {
        let (file, head) = self.cache.unzip();
        let pending = match self.source {
            HistorySource::Kept(kept) => return Ok((kept, file, false)),
            HistorySource::Git(pending) => pending,
        };
        let kept = KeptHistory {
            head: head.unwrap_or_default(),
            changes: parse_history(&pending.finish()?),
            blob_versions: BTreeMap::new(),
        };
        Ok((kept, file, true))
    }
}

/// The changes `git log --raw` printed, newest first.
fn parse_history(output: &[u8]) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut commit = String::new();
    for line in String::from_utf8_lossy(output).lines() {
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
    changes
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
/// else from the contents git gave (now or in a run kept).
struct BlobVersions<'a> {
    known: HashMap<String, String>,
    read: &'a BTreeMap<String, Option<String>>,
}

impl BlobVersions<'_> {
    fn version(&self, blob: Option<&String>) -> Option<String> {
        let blob = blob?;
        if let Some(version) = self.known.get(blob) {
            return Some(version.clone());
        }
        self.read.get(blob)?.clone()
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
        let (mut kept, cache_file, asked_git) = history.finish()?;
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
        let unknown: BTreeSet<String> = kept
            .changes
            .iter()
            .flat_map(|change| change.old_blob.iter().chain(&change.new_blob))
            .filter(|blob| !known.contains_key(*blob) && !kept.blob_versions.contains_key(*blob))
            .cloned()
            .collect();
        let read = git.blobs(&unknown)?;
        let learned = !read.is_empty();
        kept.blob_versions.extend(
            read.into_iter()
                .map(|(blob, contents)| (blob, definition_version(&contents))),
        );
        if let Some(file) = cache_file.filter(|_| asked_git || learned) {
            kept.save(&file);
        }
        let changes = &kept.changes;
        let blobs = BlobVersions {
            known,
            read: &kept.blob_versions,
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
