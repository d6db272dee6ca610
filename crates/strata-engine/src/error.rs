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
    #[error("cannot push `{reference}`: {message}")]
    Push { reference: String, message: String },
    #[error("the engine failed: {0}")]
    Api(#[from] bollard::errors::Error),
}

impl EngineError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Connect { .. } => Some(
                "start a Docker daemon (or Podman's API service) and point `DOCKER_HOST` at it; in this repository, `scripts/dev-env.sh up` starts one".to_string(),
            ),
            Self::Push { message, .. } if message.contains("unauthorized") || message.contains("authentication required") => Some(
                "log in to the registry (`docker login REGISTRY`) so `~/.docker/config.json` (or `DOCKER_CONFIG`) has credentials".to_string(),
            ),
            _ => None,
        }
    }
}
