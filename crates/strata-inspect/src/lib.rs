//! Reading what is inside an image without running it: its layers, applied in order with
//! whiteouts honoured, give the OS, Debian packages, Python interpreters and distributions,
//! conda and R packages. Facts are cached per layer. From them: tags, Markdown build manifests,
//! CycloneDX SBOMs and package diffs.

mod archive;
mod bridge;
mod cache;
mod diff;
mod directory;
mod error;
mod facts;
mod filesystem;
mod labels;
mod layer;
mod manifest;
mod parsers;
mod records;
mod render;
mod sbom;
mod session;
mod source;
mod taggers;

pub use bridge::read_stream;
pub use cache::LayerCache;
pub use diff::{diff, package_list, platform_differences, Change, Package, PlatformDifference};
pub use directory::read_layer_directory;
pub use error::InspectError;
pub use facts::{
    compute, ActivationCheck, Breadcrumb, CondaEnvironment, ImageFacts, ImageMetadata, Interpreter,
    LayerSummary, OsRelease, PythonEnvironment, PythonFacts, RLibrary, FACTS_SCHEMA_VERSION,
};
pub use labels::{BASE_DIGEST_LABEL, BASE_NAME_LABEL, DESCRIPTION_LABEL, REVISION_LABEL};
pub use layer::read_layer;
pub use manifest::{human_size, markdown, size_text};
pub use records::{
    ActivationVariable, CondaPackage, DebPackage, FileFacts, LayerRecord, Node, PythonPackage,
    RPackage, RECORD_VERSION,
};
pub use render::{
    package_changes, package_changes_summary, platform_differences_text, platforms_summary, summary,
};
pub use sbom::{cyclonedx, normalize_python_name};
pub use session::{image_facts, index_platforms};
pub use source::{
    config_diff_ids, inspect_local, inspect_registry, inspect_registry_platform,
    inspect_registry_with,
};
pub use taggers::{compute_tags, sanitize_tag, Tags};
