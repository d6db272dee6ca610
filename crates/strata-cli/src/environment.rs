//! Environment variables a user may set, declared once (the README lists them).

/// Registry and namespace images are tagged under; `--repo` overrides it, it overrides
/// `repo` in `strata.toml`.
pub const STRATA_REPO: &str = "STRATA_REPO";
/// Git reference changes are taken from; `--since` overrides it.
pub const STRATA_SINCE: &str = "STRATA_SINCE";
/// The advisory store `strata audit` and `strata build --audit` read; `--audit-db`/`--db`
/// override it.
pub const STRATA_AUDIT_DB: &str = "STRATA_AUDIT_DB";
/// Set to anything to hide progress bars.
pub const STRATA_NO_PROGRESS: &str = "STRATA_NO_PROGRESS";
/// The standard switch for colour-free output.
pub const NO_COLOR: &str = "NO_COLOR";
/// Diagnostics filter (`info`, `debug`, `trace`), as with `-v`.
pub const RUST_LOG: &str = "RUST_LOG";
/// Where strata caches inspected layers and package-index responses (default
/// `$XDG_CACHE_HOME/strata`, else `~/.cache/strata`).
pub const STRATA_CACHE_DIR: &str = "STRATA_CACHE_DIR";
/// Variables read by strata that are not its own but count as unset when empty too: CI systems
/// export empty variables for settings nobody filled in.
const OTHER_VARIABLES: [&str; 5] = [
    NO_COLOR,
    RUST_LOG,
    "DOCKER_HOST",
    "DOCKER_CONFIG",
    "SOURCE_DATE_EPOCH",
];

/// The variables of `variables` that are set but empty: every `STRATA_*` one, and the others
/// strata reads. Each counts as unset, for argument conflicts too (`STRATA_SINCE=` with
/// `--all`), so [`forget_empty_variables`] removes them before the arguments are parsed.
pub fn empty_variables(
    variables: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> Vec<std::ffi::OsString> {
    variables
        .into_iter()
        .filter(|(name, value)| {
            value.is_empty()
                && name.to_str().is_some_and(|name| {
                    name.starts_with("STRATA_") || OTHER_VARIABLES.contains(&name)
                })
        })
        .map(|(name, _)| name)
        .collect()
}

/// Remove the empty variables [`empty_variables`] names from this process's environment.
/// Call it first in `main`, before any thread starts and before the arguments are parsed.
pub fn forget_empty_variables() {
    for name in empty_variables(std::env::vars_os()) {
        // Edition 2021: safe while this process has one thread, which is the case at start-up.
        std::env::remove_var(name);
    }
}

#[cfg(test)]
mod tests {
    use super::empty_variables;

    #[test]
    fn only_empty_strata_and_known_variables_are_forgotten() {
        let variables = [
            ("STRATA_SINCE", ""),
            ("STRATA_REPO", "registry.example/x"),
            ("STRATA_ANYTHING_NEW", ""),
            ("DOCKER_HOST", ""),
            ("NO_COLOR", ""),
            ("HOME", ""),
            ("PATH", "/bin"),
        ]
        .map(|(name, value)| (name.into(), value.into()));
        assert_eq!(
            empty_variables(variables),
            [
                "STRATA_SINCE",
                "STRATA_ANYTHING_NEW",
                "DOCKER_HOST",
                "NO_COLOR"
            ]
            .map(std::ffi::OsString::from)
        );
    }
}
