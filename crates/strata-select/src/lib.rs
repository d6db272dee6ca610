//! Which builds a command works on: the repository is opened, git (or the registry, with
//! `--since registry`) says what changed, SciServer versions that would be left without a
//! final layer are refused, and the plan is made. `plan`, `build`, `test`, `promote` and
//! `outdated` all select through here, so they agree on what "changed" means.

mod error;
mod namespace;
mod select;
mod trust;

pub use error::SelectError;
pub use namespace::{platform_list, tag_namespace, SCISERVER_DEFAULT_REPO};
pub use select::{open_and_plan, pin_revisions, published_orphans, registry_comparison};
pub use trust::{check_bases, check_bases_with, TrustPolicy, TrustedBase};

use std::collections::BTreeMap;
use std::path::PathBuf;

/// The default `--since`: the commit before `HEAD`, compared with the work tree, as
/// SciServer's image-builder does.
pub const DEFAULT_SINCE: &str = "HEAD^";

/// `--since registry`: compare with what the registry holds instead of a git reference.
pub use strata_plan::SINCE_REGISTRY;

/// Where a plan's changes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeSource {
    /// `git diff <REF>`.
    Git(String),
    /// Each image's inputs against the `org.strata.inputs` label of its published tag.
    Registry,
}

/// Which builds to select (shared by the commands that plan).
#[derive(Debug, Clone)]
pub struct SelectRequest {
    pub root: PathBuf,
    pub all: bool,
    pub since: ChangeSource,
    /// Root-relative directories.
    pub include: Vec<String>,
    pub ignore: Vec<String>,
    pub untracked: bool,
    /// `--repo` / `STRATA_REPO`; `None` means `strata.toml` or the layout's default.
    pub repo: Option<String>,
    /// Plan even when a SciServer version is left without a final layer.
    pub allow_orphan: bool,
    /// `--build-arg`s and `--platform` of a build: part of the inputs `--since registry`
    /// compares.
    pub build_args: BTreeMap<String, String>,
    pub platform: Option<String>,
}

impl SelectRequest {
    /// Every image of the repository at `root`, tagged under `repo` (else `strata.toml`'s):
    /// what `strata catalog` and a family `strata audit` read.
    pub fn every_image(root: PathBuf, repo: Option<String>) -> Self {
        Self {
            root,
            all: true,
            since: ChangeSource::Git(DEFAULT_SINCE.to_string()),
            include: Vec::new(),
            ignore: Vec::new(),
            untracked: false,
            repo,
            allow_orphan: true,
            build_args: BTreeMap::new(),
            platform: None,
        }
    }

    /// Every image of the repository at `root`, compared with the registry under `repo`: what
    /// `strata outdated` asks.
    pub fn everything_against_registry(root: PathBuf, repo: String) -> Self {
        Self {
            root,
            all: true,
            since: ChangeSource::Registry,
            include: Vec::new(),
            ignore: Vec::new(),
            untracked: false,
            repo: Some(repo),
            allow_orphan: true,
            build_args: BTreeMap::new(),
            platform: None,
        }
    }
}
