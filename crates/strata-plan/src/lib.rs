//! The build graph and plan: which images to rebuild after a change, in what order, with which
//! tags and labels; the `docker buildx bake` export and the hierarchy renderings. Pure: all I/O
//! happened in `strata-repo`.

mod bake;
mod compat;
mod error;
mod graph;
mod plan;
mod planner;
mod render;
mod select;
mod tags;
#[cfg(test)]
mod tests;

pub use bake::{bake_file, bake_target_name, BakePaths};
pub use compat::{compat_dockerfile, compat_dockerfile_for_inputs};
pub use error::PlanError;
pub use graph::{render_graph, GraphFormat};
pub use plan::{Build, BuildKind, ParentImage, Plan, ReadImage, Reason, PLAN_SCHEMA_VERSION};
pub use planner::{plan, PlanRequest, RegistryChanges, Selection};
pub use render::{render_table, summary, SINCE_REGISTRY};
pub use select::Changes;
