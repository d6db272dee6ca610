//! What git says about the repository: the commit being built (hash and commit count, which go
//! into tags) and the paths changed since a reference. A constant number of git calls however
//! many images there are.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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

impl strata_diagnostic::Diagnostic for GitError {
    fn exit_class(&self) -> Option<strata_diagnostic::ExitClass> {
        Some(strata_diagnostic::ExitClass::Input)
    }

    fn hint(&self) -> Option<String> {
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
        self.start(arguments)?.finish()
    }

    /// Start `git <arguments>` and return at once: its output is collected by a thread while
    /// strata goes on (reading the tree, the other git calls), and [`Pending::finish`] waits.
    pub(crate) fn start(&self, arguments: &[&str]) -> Result<Pending, GitError> {
        let child = Command::new("git")
            .arg("-C")
            .arg(&self.root)
            .args(arguments)
            .env("GIT_OPTIONAL_LOCKS", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(GitError::Spawn)?;
        Ok(Pending {
            root: self.root.clone(),
            arguments: arguments.iter().map(ToString::to_string).collect(),
            output: std::thread::spawn(move || child.wait_with_output()),
        })
    }

    /// The full hash of the commit `revision` names (`HEAD^`, a branch, a tag).
    pub fn commit_of(&self, revision: &str) -> Result<String, GitError> {
        let spec = format!("{revision}^{{commit}}");
        let output = self.run(&["rev-parse", "--verify", "--end-of-options", &spec])?;
        Ok(String::from_utf8_lossy(&output).trim().to_string())
    }

    /// The `HEAD` commit: hash, abbreviated hash and commit count.
    pub fn commit_info(&self) -> Result<CommitInfo, GitError> {
        self.start_commit_info()?.finish()
    }

    /// [`Git::commit_info`], its two git calls started side by side.
    pub fn start_commit_info(&self) -> Result<PendingCommit, GitError> {
        Ok(PendingCommit {
            log: self.start(&["log", "-n1", "--format=%H %h", "HEAD"])?,
            count: self.start(&["rev-list", "--count", "HEAD"])?,
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
        self.start_changed_paths(since)?.finish()
    }

    /// [`Git::changed_paths`], started.
    pub fn start_changed_paths(&self, since: &str) -> Result<PendingPaths, GitError> {
        Ok(PendingPaths {
            since: Some(since.to_string()),
            pending: self.start(&[
                "diff",
                "--name-only",
                "--no-renames",
                "--relative",
                "-z",
                since,
                "--",
            ])?,
        })
    }

    /// Untracked, not ignored paths under the root.
    pub fn untracked_paths(&self) -> Result<Vec<String>, GitError> {
        self.start_untracked_paths()?.finish()
    }

    /// [`Git::untracked_paths`], started.
    pub fn start_untracked_paths(&self) -> Result<PendingPaths, GitError> {
        Ok(PendingPaths {
            since: None,
            pending: self.start(&["ls-files", "--others", "--exclude-standard", "-z"])?,
        })
    }

    /// The URL of the `origin` remote (or the first remote), without credentials.
    pub fn remote_url(&self) -> Option<String> {
        self.start_remote_url().ok()?.finish()
    }

    /// [`Git::remote_url`], started: one `git config` call lists every remote's URL.
    pub fn start_remote_url(&self) -> Result<PendingRemote, GitError> {
        Ok(PendingRemote(self.start(&[
            "config",
            "--get-regexp",
            r"^remote\..*\.url$",
        ])?))
    }
}

/// A git call under way.
#[derive(Debug)]
pub struct Pending {
    root: PathBuf,
    arguments: Vec<String>,
    output: std::thread::JoinHandle<std::io::Result<std::process::Output>>,
}

impl Pending {
    /// Wait for git; its standard output, or the error it reported.
    pub(crate) fn finish(self) -> Result<Vec<u8>, GitError> {
        let output = self
            .output
            .join()
            .map_err(|_| GitError::Spawn(std::io::Error::other("the git reader stopped")))?
            .map_err(GitError::Spawn)?;
        if output.status.success() {
            return Ok(output.stdout);
        }
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
        if stderr.contains("not a git repository") {
            return Err(GitError::NotARepository { root: self.root });
        }
        if stderr.contains("unknown revision") && self.arguments.iter().any(|a| a == "HEAD") {
            return Err(GitError::NoCommits { root: self.root });
        }
        Err(GitError::Failed {
            arguments: self.arguments.join(" "),
            stderr: stderr.lines().next().unwrap_or_default().to_string(),
        })
    }
}

/// [`Git::start_commit_info`]'s calls under way.
#[derive(Debug)]
pub struct PendingCommit {
    log: Pending,
    count: Pending,
}

impl PendingCommit {
    pub fn finish(self) -> Result<CommitInfo, GitError> {
        let log = self.log.finish();
        let count = self.count.finish();
        let log = log?;
        let log = String::from_utf8_lossy(&log);
        let (hash, short_hash) = log
            .trim()
            .split_once(' ')
            .unwrap_or((log.trim(), log.trim()));
        let count = String::from_utf8_lossy(&count?).trim().parse().unwrap_or(0);
        Ok(CommitInfo {
            hash: hash.to_string(),
            short_hash: short_hash.to_string(),
            count,
        })
    }
}

/// A list of paths under way: changed since a reference, or untracked.
#[derive(Debug)]
pub struct PendingPaths {
    since: Option<String>,
    pending: Pending,
}

impl PendingPaths {
    pub fn finish(self) -> Result<Vec<String>, GitError> {
        let since = self.since;
        let output = self
            .pending
            .finish()
            .map_err(|error| match (error, since) {
                (GitError::Failed { stderr, .. }, Some(since))
                    if stderr.contains("bad revision") || stderr.contains("unknown revision") =>
                {
                    GitError::BadRevision { reference: since }
                }
                (other, _) => other,
            })?;
        Ok(split_nul(&output))
    }
}

/// The remote URL under way.
#[derive(Debug)]
pub struct PendingRemote(Pending);

impl PendingRemote {
    /// `origin`'s URL, else the first remote's; `None` without remotes (or git).
    pub fn finish(self) -> Option<String> {
        let output = self.0.finish().ok()?;
        let output = String::from_utf8_lossy(&output);
        let urls: Vec<(&str, &str)> = output
            .lines()
            .filter_map(|line| line.split_once(' '))
            .collect();
        let (_, url) = urls
            .iter()
            .find(|(key, _)| *key == "remote.origin.url")
            .or_else(|| urls.first())?;
        let url = url.trim();
        (!url.is_empty()).then(|| strip_credentials(url))
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
