//! `strata audit`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: Option<AuditCommand>,
    /// Images to audit (`name:tag`): read from the local engine, or with `--registry` from
    /// their registries. None, or one directory: the images of that repository (default `.`;
    /// every image, or those a selection names), each by its tags, a base's findings reported
    /// once, at the base.
    pub images: Vec<String>,
    /// For a repository: which images (default: every one) and the namespace they are
    /// published under.
    #[command(flatten)]
    pub selection: crate::SelectionArgs,
    /// The advisory store `strata audit import` wrote, or an export itself (osv.dev's
    /// `all.zip`): imported once into the cache directory, kept while the file is unchanged.
    #[arg(long, env = crate::STRATA_AUDIT_DB, value_name = "DIR|ZIP")]
    pub db: Option<PathBuf>,
    /// The platforms to audit a multi-platform image for (`linux/amd64,linux/arm64`; default:
    /// this machine's). Each platform's image is reported on its own.
    #[arg(long, value_name = "PLATFORM[,PLATFORM...]", value_delimiter = ',')]
    pub platform: Vec<String>,
    /// Read the images from their registries instead of the local engine; with it, an external
    /// base whose tag moved since the build is read too, to say whether the new one fixes a
    /// finding.
    #[arg(long)]
    pub registry: bool,
    /// Print the findings as JSON.
    #[arg(long, conflicts_with_all = ["sarif", "cyclonedx"])]
    pub json: bool,
    /// Print the findings as a SARIF 2.1.0 log (for code-scanning dashboards).
    #[arg(long, conflicts_with = "cyclonedx")]
    pub sarif: bool,
    /// Print a CycloneDX 1.5 document: the image's SBOM with its findings as `vulnerabilities`
    /// (several images: one document, an image a component).
    #[arg(long)]
    pub cyclonedx: bool,
    /// Write the report to FILE (replaced whole) instead of printing it.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a finding is at least this severe (default: findings are reported, exit 0).
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<AuditSeverity>,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Import OSV advisories into a local store, once: osv.dev's exports (`all.zip` per
    /// ecosystem, e.g. `Debian/all.zip`, `PyPI/all.zip`, `CRAN/all.zip`), or directories or
    /// files of OSV JSON. The store at `--db` is replaced whole; nothing is fetched.
    Import(AuditImportArgs),
    /// The advisory store: `strata audit db import` is `strata audit import`.
    Db {
        #[command(subcommand)]
        command: AuditDbCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditDbCommand {
    /// Import OSV advisories into a local store, once (as `strata audit import`).
    Import(AuditImportArgs),
}

#[derive(Debug, Args)]
pub struct AuditImportArgs {
    /// The exports: zip files, directories of JSON, or JSON files.
    #[arg(required = true, value_name = "EXPORT")]
    pub inputs: Vec<PathBuf>,
    /// The store to write.
    #[arg(long, value_name = "DIR")]
    pub db: PathBuf,
    /// Print what was imported as JSON.
    #[arg(long)]
    pub json: bool,
}

/// A severity to fail on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditSeverity {
    Low,
    Medium,
    High,
    Critical,
}
