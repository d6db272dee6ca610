//! Audit errors: each names the file or record.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot read `{path}`", path = path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{origin}` is not an OSV record")]
    Record {
        origin: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("`{path}` is not a readable zip archive", path = path.display())]
    Zip {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("`{origin}` is larger than an OSV record can be (16 MiB)")]
    TooLarge { origin: String },
    #[error("`{path}` is not an advisory store", path = path.display())]
    NoStore { path: PathBuf },
    #[error("no OSV advisories in {inputs}")]
    NoAdvisories { inputs: String },
    #[error("`{path}` was imported by an older strata", path = path.display())]
    OldStore { path: PathBuf },
    #[error("cannot write the advisory store")]
    Write(#[source] strata_fs::WriteError),
    /// Boxed: an inspection error is large, and every build's error holds an audit's.
    #[error(transparent)]
    Inspect(Box<strata_inspect::InspectError>),
    #[error(transparent)]
    Session(#[from] strata_session::SessionError),
}

impl From<strata_inspect::InspectError> for AuditError {
    fn from(error: strata_inspect::InspectError) -> Self {
        Self::Inspect(Box::new(error))
    }
}

impl strata_diagnostic::Diagnostic for AuditError {
    fn exit_class(&self) -> Option<strata_diagnostic::ExitClass> {
        Some(match self {
            Self::Inspect(error) => return error.exit_class(),
            Self::Session(error) => return error.exit_class(),
            Self::Write(_) => strata_diagnostic::ExitClass::Unavailable,
            _ => strata_diagnostic::ExitClass::Input,
        })
    }

    fn hint(&self) -> Option<String> {
        match self {
            Self::Inspect(error) => error.hint(),
            Self::NoStore { .. } | Self::OldStore { .. } => Some(
                "import the OSV exports first: `strata audit import --db DIR all.zip...` (osv.dev publishes one `all.zip` per ecosystem, e.g. `Debian/all.zip`, `PyPI/all.zip`)".to_string(),
            ),
            Self::Record { .. }
            | Self::Zip { .. }
            | Self::TooLarge { .. }
            | Self::NoAdvisories { .. } => Some(
                "give osv.dev's exports as they are published: `all.zip` per ecosystem, or directories of its JSON files".to_string(),
            ),
            _ => None,
        }
    }
}
