//! One module per subcommand.

mod build;
mod graph;
mod plan;

pub use build::build;
pub use graph::graph;
pub use plan::plan;
