//! One module per subcommand.

mod build;
mod conda;
mod freeze;
mod graph;
mod init;
mod inspect;
pub(crate) mod lint;
mod lock;
mod outdated;
mod pin;
mod plan;
mod promote;
pub(crate) mod reproducible;
mod test;

pub use build::build;
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
pub use test::test;

/// The multi-threaded runtime a command's engine and registry work runs on.
pub(crate) fn async_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
