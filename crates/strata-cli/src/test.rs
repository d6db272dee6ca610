//! `strata test` and `strata init`.

use std::path::PathBuf;

use clap::Args;

use crate::SelectArgs;

#[derive(Debug, Args)]
pub struct TestArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Tests to run at once (default: the number of cores).
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Write the results as `JUnit` XML to FILE, for CI systems.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The repository to write `strata.toml` for (default: the current directory).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Print the settings instead of writing them.
    #[arg(long)]
    pub dry_run: bool,
    /// Replace an existing `strata.toml`.
    #[arg(long)]
    pub force: bool,
}
