//! `strata outdated`.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
pub struct OutdatedArgs {
    /// The image repository, or a directory with a `Dockerfile` and a `requirements.lock`
    /// (default: the current directory).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Registry and namespace the repository's images are published under (default: `repo` in
    /// `strata.toml`, else SciServer's `containers.repo.sciserver.org/compute-images` for the
    /// SciServer layout, bare names otherwise).
    #[arg(long, env = crate::STRATA_REPO, value_name = "REPO")]
    pub repo: Option<String>,
    /// Exit 1 when anything is out of date.
    #[arg(long)]
    pub check: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Locks: use only the package index cache.
    #[arg(long)]
    pub offline: bool,
}
