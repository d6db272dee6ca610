//! `strata release`.

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
    #[command(flatten)]
    pub inputs: PlanInputArgs,
    /// Print what was released as JSON.
    #[arg(long)]
    pub json: bool,
}
