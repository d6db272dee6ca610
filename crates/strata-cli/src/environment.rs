//! Environment variables a user may set, declared once (the README lists them).

/// Registry and namespace images are tagged under; `--repo` overrides it, it overrides
/// `repo` in `strata.toml`.
pub const STRATA_REPO: &str = "STRATA_REPO";
/// Git reference changes are taken from; `--since` overrides it.
pub const STRATA_SINCE: &str = "STRATA_SINCE";
/// Set to anything to hide progress bars.
pub const STRATA_NO_PROGRESS: &str = "STRATA_NO_PROGRESS";
/// The standard switch for colour-free output.
pub const NO_COLOR: &str = "NO_COLOR";
/// Diagnostics filter (`info`, `debug`, `trace`), as with `-v`.
pub const RUST_LOG: &str = "RUST_LOG";
/// Where strata caches inspected layers and package-index responses (default
/// `$XDG_CACHE_HOME/strata`, else `~/.cache/strata`).
pub const STRATA_CACHE_DIR: &str = "STRATA_CACHE_DIR";
