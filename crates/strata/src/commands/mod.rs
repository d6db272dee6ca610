//! One module per subcommand.

mod graph;
mod plan;

pub use graph::graph;
pub use plan::plan;
