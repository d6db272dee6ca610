//! One module per subcommand.

mod build;
mod graph;
mod inspect;
mod plan;

pub use build::build;
pub use graph::graph;
pub use inspect::{diff, inspect};
pub use plan::plan;
