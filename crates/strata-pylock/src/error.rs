//! Errors of locking: each names the requirement, file, package or URL, and `hint()` says what
//! to do next.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("`{platform}` is not a platform strata can lock for")]
    InvalidPlatform { platform: String },
    #[error("which Python to lock for is unknown")]
    UnknownPython,
    #[error("`{path}` records no target (a `# strata-target: python=… platform=…` line): strata did not write it, so which Python it is for is unknown", path = path.display())]
    NoTarget { path: PathBuf },
    #[error("`{python}` is not a CPython 3 version (`3.11` or `3.11.7`)")]
    InvalidPython { python: String },
    #[error("cannot read `{path}`", path = path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file the user gave that cannot be read as text (missing, not a regular file, too
    /// large, not UTF-8: the error names the file and line).
    #[error(transparent)]
    Input(#[from] strata_fs::InputError),
    #[error(transparent)]
    Output(#[from] strata_fs::WriteError),
    #[error("invalid requirement in `{path}` line {line}: {message}\n{snippet}", path = path.display())]
    Requirement {
        path: PathBuf,
        line: usize,
        message: String,
        snippet: String,
    },
    #[error("`{path}` line {line} includes a file already being read: {chain}\n{snippet}", path = path.display())]
    IncludeCycle {
        path: PathBuf,
        line: usize,
        chain: String,
        snippet: String,
    },
    #[error("cannot reach the package index at `{url}`")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("the package index answered `{url}` with HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("`{url}` is not cached and `--offline` forbids fetching it")]
    Offline { url: String },
    #[error("no package `{package}` on the index (`{url}`)")]
    NotFound { package: String, url: String },
    #[error("cannot read the metadata of `{file}`: {message}")]
    Metadata { file: String, message: String },
    #[error("`{package}` {version} has only a source distribution (`{file}`), and only wheels are installed with `--only-binary :all:`")]
    SdistOnly {
        package: String,
        version: String,
        file: String,
    },
    #[error("no solution for the requirements on {target}:\n{explanation}")]
    NoSolution { target: String, explanation: String },
    #[error("`{requirement}` needs {wanted} {package} than the {version} the base image has in {source_of}")]
    BaseConflict {
        requirement: String,
        package: String,
        /// `a newer`, `an older` or `another`.
        wanted: &'static str,
        version: String,
        /// The site directory (or parent lock) the base's copy comes from.
        source_of: String,
    },
    #[error("the sha256 of `{file}` is {actual}, not {expected}: the download is damaged or was tampered with")]
    HashMismatch {
        file: String,
        expected: String,
        actual: String,
    },
    #[error("`{path}` line {line} is not what a lock file holds: {message}\n{snippet}", path = path.display())]
    InvalidLock {
        path: PathBuf,
        line: usize,
        message: String,
        snippet: String,
    },
    #[error(
        "no file of `{package}=={version}` on the index matches the lock's hashes for {target}"
    )]
    NoLockedFile {
        package: String,
        version: String,
        target: String,
    },
    #[error("`{date}` is not a date (`2024-05-01`) or an RFC 3339 time (`2024-05-01T12:00:00Z`)")]
    InvalidDate { date: String },
    #[error("the index gives no upload times, which `--exclude-newer` needs (`{url}`)")]
    NoUploadTimes { url: String },
    #[error("cannot write `{path}`", path = path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
    #[error("preparing the metadata of `{package}` with its build backend failed: {message}")]
    Backend { package: String, message: String },
    /// The build backend could not be run: its work directory, the archive or the metadata it
    /// wrote could not be written or read, or `python3` could not be started.
    #[error("preparing the metadata of `{package}` with its build backend failed")]
    BackendIo {
        package: String,
        #[source]
        source: std::io::Error,
    },
    /// One failure seen by several waiters (concurrent requests for the same page).
    #[error(transparent)]
    Shared(std::sync::Arc<LockError>),
}

/// The line of a file the user wrote, as errors show it: `  12 | numpy==1.26.4 \`.
pub(crate) fn snippet(text: &str, line: usize) -> String {
    format!(
        "  {line} | {}",
        text.lines().nth(line.saturating_sub(1)).unwrap_or_default()
    )
}

impl strata_diagnostic::Diagnostic for LockError {
    /// A package index that cannot be reached, refuses or fails is unavailable (5); a package it
    /// does not have, and everything about the user's files and options, is input (2).
    fn exit_class(&self) -> Option<strata_diagnostic::ExitClass> {
        use strata_diagnostic::ExitClass;
        match self {
            Self::Http { .. } | Self::HashMismatch { .. } => Some(ExitClass::Unavailable),
            Self::Status { status, .. } => Some(ExitClass::of_http_status(*status)),
            Self::Shared(error) => error.exit_class(),
            Self::Input(error) => error.exit_class(),
            Self::Output(error) => error.exit_class(),
            _ => Some(ExitClass::Input),
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            Self::InvalidPlatform { .. } => Some("use `manylinux_2_<glibc minor>_<x86_64|aarch64>` or `musllinux_1_<musl minor>_<x86_64|aarch64>`, for example `manylinux_2_28_x86_64`".to_string()),
            Self::NoTarget { .. } => Some("give `--python-version 3.11` and `--platform`, or `--image IMAGE` to read them from a built image; the lock strata writes records them".to_string()),
            Self::UnknownPython => Some("give `--python-version 3.11` (and `--platform`), or `--image IMAGE` to read them from a built image; `--check` and later locks take them from the lock".to_string()),
            Self::SdistOnly { package, .. } => Some(format!("pass `--no-binary {package}` to lock its source distribution (it is then built in the image)")),
            Self::Offline { .. } => Some("run once without `--offline` to fill the cache".to_string()),
            Self::BaseConflict { package, .. } => Some(format!("a lock on top of a base image cannot replace what the base installed: relax the requirement on {package}, or change {package} in the base image and lock it again")),
            Self::NoSolution { .. } => Some("relax the conflicting requirements, or lock for another Python version with `--python-version`".to_string()),
            Self::Shared(error) => error.hint(),
            Self::Input(error) => error.hint(),
            Self::Http { url, .. } => Some(format!("check that the index at `{url}` is up and reachable from this machine (`--index-url` names another); `--offline` locks from what is cached")),
            Self::NoUploadTimes { .. } => Some("use an index that serves the JSON simple API (PEP 691 with PEP 700 upload times), such as PyPI".to_string()),
            _ => None,
        }
    }
}
