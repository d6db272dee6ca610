//! `strata plan`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::SelectArgs;

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Output format: a table, the plan as JSON, or a `docker buildx bake` file.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Shorthand for `--format json`.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Write the output to this file (replaced atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Bake format: where compat builds with includes find their assembled contexts
    /// (`strata build --emit-context DIR` writes them), relative to the repository.
    #[arg(long, value_name = "DIR", default_value = ".strata/contexts")]
    pub contexts_dir: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
    Bake,
}
