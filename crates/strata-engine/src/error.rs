//! Engine errors: each says which image or tag and what the engine said.

/// An error from the container engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot connect to the container engine at `{host}`")]
    Connect {
        host: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("cannot reach the engine at `{host}` over ssh: {message}")]
    SshTunnel { host: String, message: String },
    #[error("the build failed: {message}")]
    BuildFailed { message: String },
    #[error("the engine finished the build without reporting an image id")]
    NoImageId,
    #[error("cannot tag `{image}` as `{reference}`")]
    Tag {
        image: String,
        reference: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("cannot remove the tag `{reference}`")]
    Untag {
        reference: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("cannot pull `{reference}`: {message}")]
    Pull {
        reference: String,
        message: String,
        failure: TransferFailure,
    },
    #[error("cannot push `{reference}`: {message}")]
    Push {
        reference: String,
        message: String,
        failure: TransferFailure,
    },
    #[error("the engine could not load the image archive: {message}")]
    Load { message: String },
    #[error("no image `{reference}` in the engine")]
    NoSuchImage { reference: String },
    #[error("cannot run `{command}` in `{image}`")]
    Run {
        image: String,
        command: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("the engine failed: {0}")]
    Api(#[from] bollard::errors::Error),
}

/// A request the engine answered 400 (a malformed name) or 404 (no such thing) was the user's
/// input; any other failure is the engine's.
fn class_of_response(error: &bollard::errors::Error) -> strata_diagnostic::ExitClass {
    match error {
        bollard::errors::Error::DockerResponseServerError {
            status_code: 400 | 404,
            ..
        } => strata_diagnostic::ExitClass::Input,
        _ => strata_diagnostic::ExitClass::Unavailable,
    }
}

/// Why a push or pull failed, classified once from what the engine reported, so retries and
/// hints follow the kind of failure rather than the wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferFailure {
    /// The registry wants credentials, or refused them.
    Unauthorized,
    /// The credentials are fine but lack permission.
    Denied,
    /// No such repository or tag.
    NotFound,
    /// The registry could not be reached, or failed: worth trying again.
    Unavailable,
}

impl TransferFailure {
    /// Classify the engine's message (Docker's and Podman's wordings).
    pub fn classify(message: &str) -> Self {
        let message = message.to_ascii_lowercase();
        if [
            "unauthorized",
            "authentication required",
            "no basic auth credentials",
            "401",
        ]
        .iter()
        .any(|needle| message.contains(needle))
        {
            Self::Unauthorized
        } else if ["denied", "forbidden", "403"]
            .iter()
            .any(|needle| message.contains(needle))
        {
            Self::Denied
        } else if ["not found", "manifest unknown", "name unknown", "404"]
            .iter()
            .any(|needle| message.contains(needle))
        {
            Self::NotFound
        } else {
            Self::Unavailable
        }
    }

    /// Whether trying again cannot help.
    pub fn is_permanent(self) -> bool {
        !matches!(self, Self::Unavailable)
    }
}

impl EngineError {
    /// Whether the engine's answer broke off before it said how the request ended (the
    /// connection closed, a JSON line cut short, no image id at the end): the request itself
    /// may well succeed when sent again.
    pub fn is_broken_stream(&self) -> bool {
        matches!(
            self,
            Self::NoImageId
                | Self::Api(
                    bollard::errors::Error::IOError { .. }
                        | bollard::errors::Error::HyperResponseError { .. }
                        | bollard::errors::Error::RequestTimeoutError
                )
        )
    }

    /// Whether the same request cannot succeed if tried again.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::Push { failure, .. } | Self::Pull { failure, .. } => failure.is_permanent(),
            Self::Connect { .. } | Self::Api(_) => false,
            _ => true,
        }
    }
}

impl strata_diagnostic::Diagnostic for EngineError {
    /// A missing image or tag is a name that does not exist (2); everything else the engine
    /// could not be reached for, refused or failed (5). A failed build is its runner's to
    /// report (3).
    fn exit_class(&self) -> Option<strata_diagnostic::ExitClass> {
        use strata_diagnostic::ExitClass;
        Some(match self {
            Self::NoSuchImage { .. }
            | Self::Pull {
                failure: TransferFailure::NotFound,
                ..
            } => ExitClass::Input,
            Self::BuildFailed { .. } | Self::NoImageId => ExitClass::BuildFailed,
            Self::Push { .. } => ExitClass::PushFailed,
            Self::Api(source)
            | Self::Tag { source, .. }
            | Self::Untag { source, .. }
            | Self::Run { source, .. } => class_of_response(source),
            _ => ExitClass::Unavailable,
        })
    }

    fn hint(&self) -> Option<String> {
        match self {
            Self::Connect { .. } => Some(
                "start a Docker daemon (or Podman's API service) and point `DOCKER_HOST` at it; in this repository, `. \"$(scripts/dev-env.sh up)\"` starts one and exports `DOCKER_HOST` to this shell".to_string(),
            ),
            Self::SshTunnel { .. } => Some(
                "strata runs `ssh -L` to forward the remote engine's socket (`ssh://user@host[:port][/socket]`, default `/var/run/docker.sock`): check that `ssh user@host` logs in without a password prompt (keys or an agent), that the remote user may open the socket, and set `STRATA_SSH_COMMAND` for other ssh options (`ssh -F FILE`)".to_string(),
            ),
            Self::NoSuchImage { .. } => Some("check the name with `docker images`, or read the image from its registry with `--registry`".to_string()),
            Self::Push { failure: TransferFailure::Unauthorized, .. }
            | Self::Pull { failure: TransferFailure::Unauthorized, .. } => Some(
                "log in to the registry (`docker login REGISTRY`) so `~/.docker/config.json` (or `DOCKER_CONFIG`) has credentials".to_string(),
            ),
            Self::Push { failure: TransferFailure::Denied, .. }
            | Self::Pull { failure: TransferFailure::Denied, .. } => Some(
                "the account logged in to the registry lacks permission for this repository".to_string(),
            ),
            _ => None,
        }
    }
}
