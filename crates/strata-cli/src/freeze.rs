//! `strata freeze`.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
pub struct FreezeArgs {
    /// The image: a local name or id, or with `--registry` a registry reference.
    pub image: String,
    /// The environment: `base`, the directory name under `envs/`, or its path
    /// (default: the only one, else `base`).
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
    /// Write the lock here (replaced atomically) instead of stdout; what pip installed into the
    /// environment goes, hash-pinned, to `<FILE stem>.pip.lock` beside it.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Read the image from its registry instead of the local engine (nothing is pulled).
    #[arg(long)]
    pub registry: bool,
    /// Hash pip's packages from the package index's cache only.
    #[arg(long)]
    pub offline: bool,
    /// Report as JSON.
    #[arg(long)]
    pub json: bool,
}
