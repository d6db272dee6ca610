//! Errors in what the user asked the planner for.

/// A selection the repository cannot satisfy.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("`{directory}` is not an image directory of this repository")]
    UnknownDirectory {
        directory: String,
        known: Vec<String>,
    },
}

impl strata_diagnostic::Diagnostic for PlanError {
    fn exit_class(&self) -> Option<strata_diagnostic::ExitClass> {
        Some(strata_diagnostic::ExitClass::Input)
    }

    fn hint(&self) -> Option<String> {
        match self {
            Self::UnknownDirectory { known, .. } => {
                let shown: Vec<&str> = known.iter().take(8).map(String::as_str).collect();
                let more = if known.len() > shown.len() {
                    ", …"
                } else {
                    ""
                };
                Some(format!(
                    "`--include` and `--ignore` take image directories, relative to the current directory or the repository root: {}{more}",
                    shown.join(", ")
                ))
            }
        }
    }
}
