use strata_diagnostic::{Diagnostic, ExitClass};

/// Why a lock could not be prepared or checked.
#[derive(Debug, thiserror::Error)]
pub enum LockingError {
    #[error(transparent)]
    Inspect(Box<strata_inspect::InspectError>),
    #[error("cannot freeze {environment} of `{image}`")]
    Freeze {
        environment: String,
        image: String,
        #[source]
        source: Box<strata_conda::CondaError>,
    },
    #[error("pip installed packages into {environment} but strata finds no Python there")]
    NoPythonForPip { environment: String },
    #[error("`--python-version` and `--no-binary` apply to requirements files, not to the conda environment `{}`: the solve chooses Python", environment.display())]
    RequirementsFlags { environment: std::path::PathBuf },
    #[error("`{}` has a `pip:` section but its packages do not include `python`: add `python` (and `pip`) to `dependencies`", environment.display())]
    PipWithoutPython { environment: std::path::PathBuf },
    #[error("`{reference}` has no `python3` or `python` on its PATH")]
    NoPython { reference: String },
    #[error("`{reference}` holds no conda environment (no `conda-meta/*.json` records)")]
    NoCondaEnvironment { reference: String },
    #[error("`{reference}` has no conda environment `{name}`; it has: {names}")]
    NoSuchEnvironment {
        reference: String,
        name: String,
        names: String,
    },
    #[error("`{reference}` has several conda environments; name one with `--env`: {names}")]
    SeveralEnvironments { reference: String, names: String },
    #[error(
        "the `pip:` section can be locked for `linux-64` and `linux-aarch64`, not `{platform}`"
    )]
    PipPlatform { platform: String },
    #[error("`{image}` is solved on top of its parent `{parent}`'s lock: lock the parent first")]
    ParentNotLocked {
        image: String,
        parent: String,
        #[source]
        source: Box<strata_conda::CondaError>,
    },
    #[error("cannot check `{image}` against its lock")]
    CheckImage {
        image: String,
        #[source]
        source: Box<strata_conda::CondaError>,
    },
    #[error("cannot check `{}` for newer releases", lock.display())]
    Outdated {
        lock: std::path::PathBuf,
        #[source]
        source: Box<strata_pylock::LockError>,
    },
    #[error(transparent)]
    Lock(Box<strata_pylock::LockError>),
    #[error(transparent)]
    Conda(Box<strata_conda::CondaError>),
    #[error(transparent)]
    Session(#[from] strata_session::SessionError),
}

impl From<strata_inspect::InspectError> for LockingError {
    fn from(error: strata_inspect::InspectError) -> Self {
        Self::Inspect(Box::new(error))
    }
}

impl From<strata_pylock::LockError> for LockingError {
    fn from(error: strata_pylock::LockError) -> Self {
        Self::Lock(Box::new(error))
    }
}

impl From<strata_conda::CondaError> for LockingError {
    fn from(error: strata_conda::CondaError) -> Self {
        Self::Conda(Box::new(error))
    }
}

impl Diagnostic for LockingError {
    fn exit_class(&self) -> Option<ExitClass> {
        // Boxed and transparent sources are not found in the chain as themselves: asked here.
        match self {
            Self::Inspect(error) => error.exit_class(),
            Self::ParentNotLocked { source, .. }
            | Self::CheckImage { source, .. }
            | Self::Freeze { source, .. } => source.exit_class(),
            Self::Lock(error) | Self::Outdated { source: error, .. } => error.exit_class(),
            Self::Conda(error) => error.exit_class(),
            Self::Session(error) => error.exit_class(),
            Self::NoPython { .. }
            | Self::NoCondaEnvironment { .. }
            | Self::NoSuchEnvironment { .. }
            | Self::SeveralEnvironments { .. }
            | Self::PipPlatform { .. }
            | Self::NoPythonForPip { .. }
            | Self::RequirementsFlags { .. }
            | Self::PipWithoutPython { .. } => Some(ExitClass::Input),
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            Self::Inspect(error) => error.hint(),
            Self::ParentNotLocked { source, .. }
            | Self::CheckImage { source, .. }
            | Self::Freeze { source, .. } => source.hint(),
            Self::Lock(error) | Self::Outdated { source: error, .. } => error.hint(),
            Self::Conda(error) => error.hint(),
            Self::Session(error) => error.hint(),
            _ => None,
        }
    }
}
