//! `strata build`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::SelectArgs;

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Builds to run at once (default: the number of cores).
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Push every tag of each image after it builds. Without it nothing leaves this machine.
    #[arg(long)]
    pub push: bool,
    /// Build only these builds of the plan (names as `strata plan` prints them, repeatable or
    /// comma-separated); a parent the plan builds but this run does not is taken from the
    /// registry (with `--pipeline`, from this pipeline's staging reference).
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub only: Vec<String>,
    /// Of builds for several platforms, build only this platform (its own tags, `1.0-arm64`;
    /// the multi-platform tags wait for every platform: `strata release` writes them).
    #[arg(long, value_name = "PLATFORM")]
    pub only_platform: Option<String>,
    /// Run as one job of the CI pipeline ID: push each image to the pipeline's staging reference
    /// (`<repository>/strata-staging:ID[-platform]`) instead of its tags, and take parents other
    /// jobs built from theirs. No tag moves until `strata release --pipeline ID`. Implies `--push`.
    #[arg(long, value_name = "ID", conflicts_with_all = ["check_reproducible", "emit_context"])]
    pub pipeline: Option<String>,
    /// Sign every manifest and multi-platform index pushed, cosign's way (`sha256-<digest>.sig`
    /// beside the image), with this private key (over `[sign] key` in `strata.toml`); its
    /// password from `STRATA_SIGN_PASSWORD` or the terminal. Needs `--push`.
    #[arg(long, value_name = "KEY")]
    pub sign: Option<PathBuf>,
    /// Audit every built image's packages against known vulnerabilities (the store of
    /// `--audit-db`) before any tag moves: a finding at least this severe fails the build
    /// (exit 3), as a failing test does.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub audit: Option<crate::AuditSeverity>,
    /// The advisory store `strata audit import` wrote (or an export, imported once into the
    /// cache), for `--audit`.
    #[arg(long, env = crate::STRATA_AUDIT_DB, value_name = "DIR")]
    pub audit_db: Option<PathBuf>,
    /// A build argument for every image, over those of the plan (repeatable).
    #[arg(long = "build-arg", value_name = "NAME=VALUE")]
    pub build_args: Vec<String>,
    /// Target platforms, comma-separated (`linux/amd64,linux/arm64`), over `platforms` in
    /// `strata.toml`; the engine's own by default. With several, each image is built once per
    /// platform and each tag becomes a multi-platform index once every platform built.
    #[arg(long, value_name = "PLATFORM[,PLATFORM...]")]
    pub platform: Option<String>,
    /// Build without the engine's cache, and rebuild even when an image with the same inputs exists.
    #[arg(long)]
    pub no_cache: bool,
    /// Pull newer versions of external base images.
    #[arg(long)]
    pub pull: bool,
    /// Network for `RUN` steps (`host`, `none`, ...).
    #[arg(long, value_name = "MODE")]
    pub network: Option<String>,
    /// Which of the engine's builders to use.
    #[arg(long, value_enum, default_value_t = BuilderArg::Buildkit)]
    pub builder: BuilderArg,
    /// Write the generated compat build contexts to DIR (one directory per build) instead of building.
    #[arg(long, value_name = "DIR")]
    pub emit_context: Option<PathBuf>,
    /// Where build manifests go: per image, Markdown and JSON facts of each build and a
    /// `history.md` table (relative to the repository).
    #[arg(long, value_name = "DIR", default_value = ".strata/manifests")]
    pub manifests: PathBuf,
    /// Do not inspect built images: no manifests (taggers still run for images that have them).
    #[arg(long)]
    pub no_manifests: bool,
    /// Where full build logs go, one file per image (relative to the repository).
    #[arg(long, value_name = "DIR", default_value = ".strata/logs")]
    pub logs: PathBuf,
    /// Lint the planned images' Dockerfiles first (with `[lint]` settings) and build nothing
    /// when an error-level finding remains.
    #[arg(long)]
    pub lint: bool,
    /// Do not run the images' tests before tagging them.
    #[arg(long)]
    pub no_test: bool,
    /// Make every image reproducible: times from `SOURCE_DATE_EPOCH` (the commit's time unless
    /// set), layers normalised after the build, pushed by strata's registry client, so the same
    /// commit gives the same digest (also `reproducible = true` in strata.toml).
    #[arg(long)]
    pub reproducible: bool,
    /// Build each selected image twice from scratch, reproducibly, and list per layer the files
    /// that differ when the digests do. Nothing is pushed.
    #[arg(long, conflicts_with_all = ["push", "emit_context"])]
    pub check_reproducible: bool,
    /// Write the tests' results as `JUnit` XML to FILE, for CI systems.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Stream build events as JSON lines on stdout instead of the progress display and summary table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BuilderArg {
    /// BuildKit, through the Engine API's session protocol (`RUN --mount`; heredocs on Docker 23+
    /// or with a `# syntax=` directive).
    Buildkit,
    /// The engine's legacy builder.
    Legacy,
}
