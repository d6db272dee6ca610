//! Releasing an image family, between the command line and the registry:
//!
//! - [`pin`]: external bases pinned by digest in the Dockerfiles, drift seen, pins moved;
//! - [`promote`]: which tags a promotion sets (given references, or every final image of a
//!   plan), and the build histories that record it;
//! - [`outdated`]: what moved since the last release — pinned bases whose tag moved (with the
//!   packages that changed) and published images whose inputs differ from the repository's.

mod error;
pub mod outdated;
pub mod pin;
pub mod promote;

pub use error::ReleaseError;
