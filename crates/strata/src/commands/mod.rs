//! One module per subcommand.

mod build;
mod graph;
mod inspect;
mod lock;
mod outdated;
mod pin;
mod plan;
mod promote;

pub use build::build;
pub use graph::graph;
pub use inspect::{diff, inspect};
pub use lock::lock;
pub use outdated::outdated;
pub use pin::pin;
pub use plan::plan;
pub use promote::promote;
