//! What can stop a lint: input that cannot be read, and settings that name unknown rules or
//! severities.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LintError {
    #[error("cannot read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` is not UTF-8 text", path.display())]
    NotText { path: PathBuf },
    /// A file given that cannot be read as text: the error names it, and the line of a byte
    /// that is not UTF-8.
    #[error(transparent)]
    Input(#[from] strata_fs::InputError),
    #[error("`{}` line {line}: {source}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        #[source]
        source: strata_dockerfile::SyntaxError,
    },
    #[error("unknown lint rule `{rule}`")]
    UnknownRule { rule: String },
    #[error("unknown severity `{severity}` for `{rule}`: expected `error`, `warning` or `info`")]
    UnknownSeverity { rule: String, severity: String },
    #[error("in the lint settings of `{}` or the command line", config.display())]
    Settings {
        config: PathBuf,
        #[source]
        source: Box<LintError>,
    },
    #[error("`{}`: `[lint] fail-level = \"{value}\"` is not a severity: expected `error`, `warning` or `info`", config.display())]
    FailLevel { config: PathBuf, value: String },
    #[error(transparent)]
    Write(#[from] strata_fs::WriteError),
    #[error("cannot lint `{}`", path.display())]
    Missing {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the image repository at `{}`", root.display())]
    Repository {
        root: PathBuf,
        #[source]
        source: Box<strata_repo::RepoError>,
    },
    #[error("cannot read `strata.toml`")]
    Config {
        #[source]
        source: Box<strata_repo::ConfigError>,
    },
}

impl strata_diagnostic::Diagnostic for LintError {
    fn exit_class(&self) -> Option<strata_diagnostic::ExitClass> {
        match self {
            Self::Write(error) => strata_diagnostic::Diagnostic::exit_class(error),
            // Boxed, the source is in the chain as its box: asked here.
            Self::Repository { source, .. } => {
                strata_diagnostic::Diagnostic::exit_class(source.as_ref())
            }
            Self::Config { source } => strata_diagnostic::Diagnostic::exit_class(source.as_ref()),
            _ => Some(strata_diagnostic::ExitClass::Input),
        }
    }

    /// What to do next.
    fn hint(&self) -> Option<String> {
        match self {
            Self::UnknownRule { .. } => Some(
                "`strata lint --list-rules` lists every rule's code, name and category".to_string(),
            ),
            Self::Syntax { .. } => {
                Some("BuildKit would refuse this file too; correct it and lint again".to_string())
            }
            Self::Input(error) => strata_diagnostic::Diagnostic::hint(error),
            Self::Settings { source, .. } => strata_diagnostic::Diagnostic::hint(source.as_ref()),
            Self::Write(error) => strata_diagnostic::Diagnostic::hint(error),
            Self::Repository { source, .. } => strata_diagnostic::Diagnostic::hint(source.as_ref()),
            Self::Config { source } => strata_diagnostic::Diagnostic::hint(source.as_ref()),
            Self::Read { .. }
            | Self::NotText { .. }
            | Self::UnknownSeverity { .. }
            | Self::FailLevel { .. } => None,
            Self::Missing { .. } => Some(
                "give a Dockerfile, a directory holding one, or an image repository".to_string(),
            ),
        }
    }
}
