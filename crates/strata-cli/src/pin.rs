//! `strata pin`.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
pub struct PinArgs {
    /// The image repository, or a single Dockerfile (default: the current directory; a
    /// directory with no repository layout but a `Dockerfile` pins that file).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Write nothing; exit 1 listing unpinned references and pins whose tag moved (drift).
    #[arg(long, conflicts_with = "update")]
    pub check: bool,
    /// Also move existing pins to their tag's current digest.
    #[arg(long)]
    pub update: bool,
    /// Print the references as JSON.
    #[arg(long)]
    pub json: bool,
}
