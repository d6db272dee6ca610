//! OCI distribution: which credentials a registry gets (from the user's Docker config and
//! credential helpers), and reading an image's manifest and config straight from a registry.

mod credentials;
mod error;
mod remote;

pub use credentials::{credentials_for, registry_host, Credentials};
pub use error::RegistryError;
pub use remote::{fetch_image, Registry, RemoteImage, RemoteLayer};
