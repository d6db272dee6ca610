//! What git says about the repository: the commit being built (hash and commit count, which go
//! into tags) and the paths changed since a reference. A constant number of git calls however
//! many images there are.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

/// The commit a build is made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitInfo {
    /// Full hash.
    pub hash: String,
    /// Abbreviated hash, as `git log --format=%h` prints it.
    pub short_hash: String,
    /// Commits reachable from `HEAD` (`git rev-list --count HEAD`): the build number.
    pub count: u64,
}

/// A failed git call.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot run `git`")]
    Spawn(#[source] std::io::Error),
    #[error("`{root}` is not inside a git repository", root = root.display())]
    NotARepository { root: PathBuf },
    #[error("`{root}` has no commits yet", root = root.display())]
    NoCommits { root: PathBuf },
    #[error("`{reference}` is not a commit of this repository")]
    BadRevision { reference: String },
    #[error("`git {arguments}` failed: {stderr}")]
    Failed { arguments: String, stderr: String },
}

impl GitError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::NotARepository { .. } | Self::NoCommits { .. } => Some(
                "strata tags images with the commit they are built from: commit the repository first".to_string(),
            ),
            Self::BadRevision { .. } => Some(
                "check the `--since` reference (`git log --oneline` lists commits); on a repository with one commit, use `--all`".to_string(),
            ),
            _ => None,
        }
    }
}

/// Git queries rooted at a repository directory (which may be a subdirectory of the work tree).
#[derive(Debug, Clone)]
pub struct Git {
    root: PathBuf,
}

impl Git {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn run(&self, arguments: &[&str]) -> Result<Vec<u8>, GitError> {
        let output = Command::new("git")
            .arg("-C")
            .arg(&self.root)
            .args(arguments)
            .env("GIT_OPTIONAL_LOCKS", "0")
            .output()
            .map_err(GitError::Spawn)?;
        if output.status.success() {
            return Ok(output.stdout);
        }
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
        if stderr.contains("not a git repository") {
            return Err(GitError::NotARepository {
                root: self.root.clone(),
            });
        }
        if stderr.contains("unknown revision") && arguments.contains(&"HEAD") {
            return Err(GitError::NoCommits {
                root: self.root.clone(),
            });
        }
        Err(GitError::Failed {
            arguments: arguments.join(" "),
            stderr: stderr.lines().next().unwrap_or_default().to_string(),
        })
    }

    /// The `HEAD` commit: hash, abbreviated hash and commit count.
    pub fn commit_info(&self) -> Result<CommitInfo, GitError> {
        let log = self.run(&["log", "-n1", "--format=%H %h", "HEAD"])?;
        let log = String::from_utf8_lossy(&log);
        let (hash, short_hash) = log
            .trim()
            .split_once(' ')
            .unwrap_or((log.trim(), log.trim()));
        let count = self.run(&["rev-list", "--count", "HEAD"])?;
        let count = String::from_utf8_lossy(&count).trim().parse().unwrap_or(0);
        Ok(CommitInfo {
            hash: hash.to_string(),
            short_hash: short_hash.to_string(),
            count,
        })
    }

    /// When `HEAD` was committed, in seconds since 1970 (`git log --format=%ct`): the
    /// `SOURCE_DATE_EPOCH` of reproducible builds.
    pub fn commit_time(&self) -> Result<u64, GitError> {
        let time = self.run(&["log", "-n1", "--format=%ct", "HEAD"])?;
        Ok(String::from_utf8_lossy(&time).trim().parse().unwrap_or(0))
    }

    /// Paths (relative to the root, `/`-separated) that differ between `since` and the work
    /// tree, as `git diff <since> -- <dir>` sees them for each directory. Renames count on both
    /// sides. `since` may also be a range (`A..B`).
    pub fn changed_paths(&self, since: &str) -> Result<Vec<String>, GitError> {
        let output = self
            .run(&[
                "diff",
                "--name-only",
                "--no-renames",
                "--relative",
                "-z",
                since,
                "--",
            ])
            .map_err(|error| match error {
                GitError::Failed { stderr, .. }
                    if stderr.contains("bad revision") || stderr.contains("unknown revision") =>
                {
                    GitError::BadRevision {
                        reference: since.to_string(),
                    }
                }
                other => other,
            })?;
        Ok(split_nul(&output))
    }

    /// Untracked, not ignored paths under the root.
    pub fn untracked_paths(&self) -> Result<Vec<String>, GitError> {
        let output = self.run(&["ls-files", "--others", "--exclude-standard", "-z"])?;
        Ok(split_nul(&output))
    }

    /// The URL of the `origin` remote (or the first remote), without credentials.
    pub fn remote_url(&self) -> Option<String> {
        let output = self
            .run(&["remote", "get-url", "origin"])
            .ok()
            .or_else(|| {
                let remotes = self.run(&["remote"]).ok()?;
                let first = String::from_utf8_lossy(&remotes)
                    .lines()
                    .next()?
                    .to_string();
                self.run(&["remote", "get-url", &first]).ok()
            })?;
        let url = String::from_utf8_lossy(&output).trim().to_string();
        (!url.is_empty()).then(|| strip_credentials(&url))
    }
}

fn split_nul(output: &[u8]) -> Vec<String> {
    output
        .split(|byte| *byte == 0)
        .filter(|part| !part.is_empty())
        .map(|part| String::from_utf8_lossy(part).into_owned())
        .collect()
}

/// `https://user:token@host/x` → `https://host/x`.
fn strip_credentials(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        if let Some((credentials, host_and_path)) = rest.split_once('@') {
            if !credentials.contains('/') {
                return format!("{scheme}://{host_and_path}");
            }
        }
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_removed_from_remote_urls() {
        assert_eq!(
            strip_credentials("https://u:t@github.com/o/r.git"),
            "https://github.com/o/r.git"
        );
        assert_eq!(
            strip_credentials("git@github.com:o/r.git"),
            "git@github.com:o/r.git"
        );
        assert_eq!(
            strip_credentials("https://github.com/o/r"),
            "https://github.com/o/r"
        );
    }
}
