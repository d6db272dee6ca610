//! `strata inspect` and `strata diff`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The image: a local name or id, or with `--registry` a registry reference.
    pub image: String,
    /// Read the image from its registry instead of the local engine (nothing is pulled).
    #[arg(long)]
    pub registry: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = InspectFormat::Text)]
    pub format: InspectFormat,
    /// Shorthand for `--format json`.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Write the output to this file (replaced atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// One platform of a multi-platform tag (`linux/arm64`); with `--registry` that platform's
    /// image of the index, else a check that the local image is that platform's.
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,
    /// With `--registry`: say who signed the image, checking its signatures against these
    /// public keys (repeatable); without it the signatures are only counted.
    #[arg(long, value_name = "PUB", requires = "registry")]
    pub key: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InspectFormat {
    /// A readable summary.
    Text,
    /// Every fact, as JSON.
    Json,
    /// A build manifest in the style of docker-stacks' wiki pages.
    Markdown,
    /// A CycloneDX 1.5 JSON SBOM.
    Cyclonedx,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The image before (local, or with `--registry` a registry reference).
    pub before: String,
    /// The image after (not with `--platforms`).
    #[arg(required_unless_present = "platforms")]
    pub after: Option<String>,
    /// Read both images from their registries.
    #[arg(long)]
    pub registry: bool,
    /// Compare files instead of packages: per layer (paired by position), the paths whose
    /// content, mode, owner, type or link target differ (times are ignored), with hints for the
    /// usual causes of irreproducible builds.
    #[arg(long)]
    pub files: bool,
    /// Print the differences as JSON.
    #[arg(long)]
    pub json: bool,
    /// Compare both images for this platform of their multi-platform tags (`linux/arm64`).
    #[arg(long, value_name = "PLATFORM", conflicts_with = "platforms")]
    pub platform: Option<String>,
    /// Compare the platforms of one multi-platform tag, read from its registry: the packages
    /// whose versions are not the same on every platform (`strata diff --platforms IMAGE`).
    #[arg(long, conflicts_with_all = ["after", "files"])]
    pub platforms: bool,
}
