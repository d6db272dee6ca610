//! The container engine: the `Engine` trait strata builds, tags and pushes through, and its
//! Docker Engine API implementation (Podman's compatible API works too), with BuildKit through
//! the API's session protocol.

mod docker;
mod engine;
mod error;
mod ssh_tunnel;

pub use docker::{BuilderKind, DockerEngine};
pub use engine::{
    BuildOutput, BuildRequest, BuiltImage, DockerfileSupport, Engine, ImageDetails,
    PushCredentials, Pushed, RunOutput, RunRequest, TIMED_OUT_EXIT_CODE,
};
pub use error::{EngineError, TransferFailure};
