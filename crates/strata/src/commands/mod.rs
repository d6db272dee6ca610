//! One module per subcommand.

mod audit;
mod build;
mod catalog;
mod ci;
mod freeze;
mod graph;
mod init;
mod inspect;
mod lint;
mod lock;
mod outdated;
mod pin;
mod plan;
mod promote;
mod release;
mod sign;
mod signing;
mod test;

pub use audit::audit;
pub use build::build;
pub use catalog::catalog;
pub use ci::ci;
pub use freeze::freeze;
pub use graph::graph;
pub use init::init;
pub use inspect::{diff, inspect};
pub use lint::lint;
pub use lock::lock;
pub use outdated::outdated;
pub use pin::pin;
pub use plan::plan;
pub use promote::promote;
pub use release::release;
pub use sign::{key, verify};
pub use test::test;
