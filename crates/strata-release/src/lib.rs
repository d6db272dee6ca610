//! Releasing an image family, between the command line and the registry:
//!
//! - [`pin`]: external bases pinned by digest in the Dockerfiles, drift seen, pins moved;
//! - [`promote`]: which tags a promotion sets (given references, or every final image of a
//!   plan), and the build histories that record it;
//! - [`pipeline`]: a CI pipeline's release — every staged image checked, every tag moved
//!   inside the registry at once, indexes written, staging references deleted;
//! - [`outdated`]: what moved since the last release — pinned bases whose tag moved (with the
//!   packages that changed) and published images whose inputs differ from the repository's.

mod error;
pub mod outdated;
pub mod pin;
pub mod pipeline;
pub mod promote;

pub use error::ReleaseError;
