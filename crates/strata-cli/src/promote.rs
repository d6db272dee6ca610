//! `strata promote`.

use std::path::PathBuf;

use clap::Args;

use crate::SelectionArgs;

#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The image to promote (`registry/name:latest`), then the tags to give it: a bare tag
    /// (`spring-2022`, no `/` or `:`) in the same repository, or a full reference in another
    /// repository.
    #[arg(value_name = "SOURCE TAG", num_args = 0..)]
    pub references: Vec<String>,
    /// Promote every final image of a plan (selected as for `plan`, e.g. `--all`) from its
    /// moving tag to this tag (repeatable; variants prefix it as their tags are).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// The image repository the plan and the manifests' histories belong to.
    #[arg(
        short = 'C',
        long = "repository",
        value_name = "PATH",
        default_value = "."
    )]
    pub repository: PathBuf,
    /// Move tags that already point at another image (they are refused otherwise).
    #[arg(long)]
    pub force: bool,
    /// Where the manifests' `history.md` files are (relative to the repository); each
    /// promotion is recorded in its image's history.
    #[arg(long, value_name = "DIR", default_value = ".strata/manifests")]
    pub manifests: PathBuf,
    /// Record nothing in the manifests' histories.
    #[arg(long)]
    pub no_manifests: bool,
    /// Print the promotions as JSON.
    #[arg(long)]
    pub json: bool,
}
