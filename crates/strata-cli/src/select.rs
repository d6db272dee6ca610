//! Selecting what to build: the repository, the change, and the tag namespace. Shared by
//! `plan` and the commands that run a plan.

use std::path::PathBuf;

use clap::Args;

/// The repository as a positional path, then the selection.
#[derive(Debug, Args)]
pub struct SelectArgs {
    /// The image repository (default: the current directory).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    #[command(flatten)]
    pub selection: SelectionArgs,
}

/// Which images a plan covers and the namespace its tags are under.
#[derive(Debug, Clone, Args)]
pub struct SelectionArgs {
    /// Git reference to compare the work tree with (`A..B` compares two commits), or
    /// `registry`: rebuild each image whose inputs differ from its published tag's.
    #[arg(long, env = crate::STRATA_SINCE, value_name = "REF", conflicts_with = "all")]
    pub since: Option<String>,
    /// Plan every image, parents first, whatever changed.
    #[arg(long)]
    pub all: bool,
    /// Treat only these image directories as changed (git is not asked).
    #[arg(long, num_args = 1.., value_name = "DIR", conflicts_with = "all")]
    pub include: Vec<PathBuf>,
    /// Never treat these image directories as changed (they are still rebuilt when a parent is).
    #[arg(long, num_args = 1.., value_name = "DIR", conflicts_with = "all")]
    pub ignore: Vec<PathBuf>,
    /// Also treat layers whose definition git does not track yet as changed.
    #[arg(long, conflicts_with = "all")]
    pub untracked: bool,
    /// Registry and namespace to tag under, e.g. `localhost:5000/compute-images` (default: `repo`
    /// in `strata.toml`, else SciServer's `containers.repo.sciserver.org/compute-images` for the
    /// SciServer layout, bare names otherwise).
    #[arg(long, env = crate::STRATA_REPO, value_name = "REPO")]
    pub repo: Option<String>,
    /// Go on when a SciServer `image:version` that history (or, with `--since registry`, the
    /// registry) has is left without a final layer; better: list it under `retired` in
    /// `strata.toml`.
    #[arg(long)]
    pub allow_orphan: bool,
}

/// What else a plan depends on besides the change: the platforms and build arguments the
/// builds get (with `--since registry`, inputs are compared, and these are part of them).
/// Commands that must plan as a build did (`ci`, `release`) take them as `build` does.
#[derive(Debug, Args)]
pub struct PlanInputArgs {
    /// Target platforms, comma-separated, as `build --platform` takes them.
    #[arg(long, value_name = "PLATFORM[,PLATFORM...]")]
    pub platform: Option<String>,
    /// A build argument for every image, as `build --build-arg` takes it (repeatable).
    #[arg(long = "build-arg", value_name = "NAME=VALUE")]
    pub build_args: Vec<String>,
}
