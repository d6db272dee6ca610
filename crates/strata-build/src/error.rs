//! Errors running a plan.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("the Dockerfile `{path}` is missing from the build context", path = path.display())]
    MissingDockerfile { path: PathBuf },
    #[error("the Dockerfile `{dockerfile}` is outside the build context `{context}`")]
    DockerfileOutsideContext { dockerfile: String, context: String },
    #[error(transparent)]
    Engine(#[from] strata_engine::EngineError),
    #[error(transparent)]
    Registry(#[from] strata_registry::RegistryError),
    #[error(transparent)]
    Inspect(#[from] strata_inspect::InspectError),
}

impl BuildError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Engine(error) => error.hint(),
            Self::Inspect(error) => error.hint(),
            Self::Registry(error) => error.hint(),
            _ => None,
        }
    }
}
