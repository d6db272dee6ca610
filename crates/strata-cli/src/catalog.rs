//! `strata catalog`.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// The image repository.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Read each image from its registry (by its tags) instead of the local engine.
    #[arg(long)]
    pub registry: bool,
    /// The directory to write: `catalog.json` and `images/<name>.md`.
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// Print what was written as JSON.
    #[arg(long)]
    pub json: bool,
}
