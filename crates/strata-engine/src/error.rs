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
    Pull { reference: String, message: String },
    #[error("cannot push `{reference}`: {message}")]
    Push { reference: String, message: String },
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

impl EngineError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Connect { .. } => Some(
                "start a Docker daemon (or Podman's API service) and point `DOCKER_HOST` at it; in this repository, `scripts/dev-env.sh up` starts one".to_string(),
            ),
            Self::NoSuchImage { .. } => Some("check the name with `docker images`, or read the image from its registry with `--registry`".to_string()),
            Self::Push { message, .. }
                if message.contains("unauthorized") || message.contains("authentication required") || message.contains("no basic auth credentials") =>
            {
                Some(
                    "log in to the registry (`docker login REGISTRY`) so `~/.docker/config.json` (or `DOCKER_CONFIG`) has credentials".to_string(),
                )
            }
            _ => None,
        }
    }
}
