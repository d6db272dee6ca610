//! `strata lint`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

#[derive(Debug, Args)]
pub struct LintArgs {
    /// The image repository (default: the current directory), or Dockerfiles to lint on their
    /// own; a directory with no repository layout lints its `Dockerfile`.
    pub paths: Vec<PathBuf>,
    /// Output: text (file, line, column and the line itself), json, or sarif (SARIF 2.1.0, for
    /// code-scanning tools).
    #[arg(long, value_enum, default_value_t = LintFormat::Text)]
    pub format: LintFormat,
    /// Same as `--format json`.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Only these rules: codes (`APT004`), names (`apt-lists-not-removed`) or categories
    /// (`apt`, `pip`, `conda`, `base`, `gen`); comma-separated or repeated.
    #[arg(long, value_delimiter = ',', value_name = "RULE")]
    pub select: Vec<String>,
    /// Never report these rules, names or categories.
    #[arg(long, value_delimiter = ',', value_name = "RULE")]
    pub ignore: Vec<String>,
    /// Base images not pinned by digest (`BASE002`) are errors.
    #[arg(long)]
    pub strict: bool,
    /// Rewrite the Dockerfiles with every safe fix (each file replaced atomically, every other
    /// byte kept), then report what is left.
    #[arg(long)]
    pub fix: bool,
    /// The lowest severity that makes the run fail (exit 1); default `warning`, or `[lint]
    /// fail-level` in `strata.toml`.
    #[arg(long, value_enum)]
    pub fail_level: Option<FailLevel>,
    /// List every rule: code, severity, name, what it checks.
    #[arg(long, conflicts_with_all = ["paths", "fix", "explain"])]
    pub list_rules: bool,
    /// Explain one rule: why it matters and what to do.
    #[arg(long, value_name = "RULE", conflicts_with_all = ["paths", "fix"])]
    pub explain: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    Text,
    Json,
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailLevel {
    Error,
    Warning,
    Info,
}
