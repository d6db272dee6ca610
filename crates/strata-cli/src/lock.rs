//! `strata lock` and `strata lock fetch`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LockArgs {
    #[command(subcommand)]
    pub command: Option<LockCommand>,
    #[command(flatten)]
    pub lock: LockOptions,
}

#[derive(Debug, Subcommand)]
pub enum LockCommand {
    /// Download every file a lock pins for its target, each checked against the lock's hashes,
    /// so a build can install offline (`pip install --no-index --find-links DIR ...`).
    Fetch(FetchArgs),
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The lock file.
    pub lock: PathBuf,
    /// Where the files go (created if missing).
    pub directory: PathBuf,
    /// Use only the cache.
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Args)]
pub struct LockOptions {
    /// The requirements file, or a conda `environment.yml` (`.yml`/`.yaml`). Without one, in a repository whose `strata.toml` configures
    /// `[images.NAME.lock]` or `[images.NAME.conda]`, every configured image is locked, parents
    /// first; outside one, `requirements.txt` beside `requirements.lock` (or `environment.yml`
    /// beside `environment.lock`).
    pub requirements: Option<PathBuf>,
    /// The lock file (default: the requirements file with a `.lock` extension).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The image repository, for locking every configured image.
    #[arg(long, value_name = "PATH", default_value = ".")]
    pub repository: PathBuf,
    /// The target CPython version (`3.11`, `3.11.7`); default: the lock's, or `--image`'s.
    #[arg(long, value_name = "VERSION")]
    pub python_version: Option<String>,
    /// The target platform (`manylinux_2_28_x86_64`, `musllinux_1_2_aarch64`; for an
    /// environment file conda's `linux-64`, `linux-aarch64`); default: the lock's, `--image`'s,
    /// or `manylinux_2_28_x86_64` (`linux-64`).
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,
    /// Environment files: the target's glibc (`__glibc`); default: the lock's, `--image`'s, or
    /// 2.28.
    #[arg(long, value_name = "VERSION")]
    pub glibc: Option<String>,
    /// Environment files: the CUDA driver version the solve may assume (`__cuda`).
    #[arg(long, value_name = "VERSION")]
    pub cuda: Option<String>,
    /// Read the target (interpreter, C library, architecture) from a built image. With `--check`
    /// and an environment file: say whether the image's environment holds exactly the lock.
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Keep the Python distributions (for an environment file, the conda packages) installed in
    /// this image as they are: they constrain the resolution and are not locked again.
    #[arg(long, value_name = "IMAGE")]
    pub base: Option<String>,
    /// Read `--image` and `--base` from their registries instead of the local engine.
    #[arg(long)]
    pub registry: bool,
    /// Allow this package to be locked from its source distribution (repeatable; `:all:`).
    #[arg(long = "no-binary", value_name = "NAME")]
    pub no_binary: Vec<String>,
    /// Ignore every file uploaded after this date (`2024-05-01` or RFC 3339).
    #[arg(long, value_name = "DATE")]
    pub exclude_newer: Option<String>,
    /// Exit 1, naming what drifted, when the lock no longer matches its requirements or target.
    #[arg(long)]
    pub check: bool,
    /// Re-resolve every package to its highest version.
    #[arg(long, conflicts_with = "check")]
    pub upgrade: bool,
    /// Re-resolve this package, keeping every other pin (repeatable).
    #[arg(
        long = "upgrade-package",
        value_name = "NAME",
        conflicts_with = "check"
    )]
    pub upgrade_package: Vec<String>,
    /// The package index (replaces the requirements file's `--index-url`).
    #[arg(long, value_name = "URL")]
    pub index_url: Option<String>,
    /// Use only the cache.
    #[arg(long)]
    pub offline: bool,
    /// Report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}
