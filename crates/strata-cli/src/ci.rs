//! `strata ci`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::{PlanInputArgs, SelectArgs};

#[derive(Debug, Args)]
pub struct CiArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// The CI system to write the pipeline for.
    #[arg(long, value_enum)]
    pub format: CiFormatArg,
    /// Write the pipeline to this file (replaced atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub inputs: PlanInputArgs,
    /// Print the jobs and how the system's limits were met as JSON (the pipeline itself goes
    /// to `--output`, or is in the JSON's `text`).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CiFormatArg {
    /// GitLab CI: a `.gitlab-ci.yml`, or a dynamic child pipeline.
    Gitlab,
    /// GitHub Actions: a workflow file (`.github/workflows/images.yml`).
    Github,
}
