use std::path::PathBuf;

/// What can go wrong locking a conda environment; each names the file, channel or package.
#[derive(Debug, thiserror::Error)]
pub enum CondaError {
    #[error("cannot read `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Input(#[from] strata_fs::InputError),
    #[error(transparent)]
    Output(#[from] strata_fs::WriteError),
    #[error("`{path}` line {line}: {message}", path = path.display())]
    EnvironmentLine {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("`{path}` is not a valid environment file: {message}")]
    Environment { path: PathBuf, message: String },
    #[error("`{path}` is not a conda explicit lock: {message}")]
    Lock { path: PathBuf, message: String },
    #[error("unknown platform `{platform}`: conda names platforms `linux-64`, `linux-aarch64`, `osx-arm64`, …")]
    Platform { platform: String },
    #[error("`{value}` is not a version for `{name}`")]
    VirtualPackage { name: String, value: String },
    #[error("`{text}` is not a date: give `2024-05-01` or an RFC 3339 time")]
    Date { text: String },
    #[error("cannot fetch `{url}`")]
    Fetch {
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot fetch `{url}`: the channel answered {status}")]
    FetchStatus { url: String, status: String },
    #[error("there is no conda channel at `{url}`: it has no `{platform}/repodata.json` nor `noarch/repodata.json`")]
    NoChannel { url: String, platform: String },
    #[error("`{url}` is not in the cache and `--offline` forbids fetching it")]
    Offline { url: String },
    #[error("`{url}` is not valid repodata")]
    Repodata {
        url: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("the environment cannot be solved for {target}:\n{conflict}")]
    Unsolvable { target: String, conflict: String },
    #[error("installed package `{package}`: {message}")]
    Installed { package: String, message: String },
    #[error("the solver failed: {message}")]
    Solver { message: String },
    #[error("cannot write `{path}`")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl strata_diagnostic::Diagnostic for CondaError {
    /// A channel that cannot be reached or fails is unavailable (5); everything else, a channel
    /// that does not exist included, is the user's input (2).
    fn exit_class(&self) -> Option<strata_diagnostic::ExitClass> {
        use strata_diagnostic::ExitClass;
        match self {
            Self::Fetch { .. } | Self::FetchStatus { .. } => Some(ExitClass::Unavailable),
            Self::Input(error) => error.exit_class(),
            Self::Output(error) => error.exit_class(),
            _ => Some(ExitClass::Input),
        }
    }

    /// What to do next, when strata knows.
    fn hint(&self) -> Option<String> {
        match self {
            Self::Input(error) => error.hint(),
            Self::Offline { .. } => {
                Some("run once without `--offline` to fill the cache".to_string())
            }
            Self::Unsolvable { .. } => Some(
                "relax the specs named above, or add the channel that has what they need"
                    .to_string(),
            ),
            Self::Fetch { .. } | Self::FetchStatus { .. } | Self::NoChannel { .. } => Some(
                "check the channel URL in the environment file; `--offline` uses what is cached"
                    .to_string(),
            ),
            _ => None,
        }
    }
}
