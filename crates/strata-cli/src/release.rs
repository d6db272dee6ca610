//! `strata release`.

use std::path::PathBuf;

use clap::Args;

use crate::{PlanInputArgs, SelectArgs};

#[derive(Debug, Args)]
pub struct ReleaseArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// The CI pipeline whose staged images to release: what its `strata build --pipeline ID`
    /// jobs pushed to their staging references.
    #[arg(long, value_name = "ID")]
    pub pipeline: String,
    /// Remove what the pipeline staged instead of releasing it (a pipeline that failed or was
    /// cancelled): no tag moves. Every image is looked at, whatever the selection.
    #[arg(long)]
    pub discard: bool,
    /// Sign every manifest and index the release publishes (cosign's way) with this private
    /// key, over `[sign] key` in `strata.toml`; its password from `STRATA_SIGN_PASSWORD`.
    #[arg(long, value_name = "KEY", conflicts_with = "discard")]
    pub sign: Option<PathBuf>,
    #[command(flatten)]
    pub inputs: PlanInputArgs,
    /// Print what was released as JSON.
    #[arg(long)]
    pub json: bool,
}
