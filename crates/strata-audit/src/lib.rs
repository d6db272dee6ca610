//! Known vulnerabilities of an image's packages, offline. OSV records (osv.dev's per-ecosystem
//! exports, or any files in its schema) are imported once into a local store; an audit looks up
//! each package an image holds there and matches its version against the advisory's ranges as
//! the OSV schema defines them, in the ecosystem's own version order. Nothing is fetched.

mod audit;
mod error;
mod family;
mod fix;
pub mod osv;
mod ranges;
mod report;
mod store;
mod version;

pub use audit::{audit, distribution_ecosystem, AuditWork, Auditor, Finding, LayerOrigin};
pub use error::AuditError;
pub use family::{audit_images, place_findings, AuditRequest, AuditRun, AuditTarget};
pub use fix::{shared_layers, suggest_fix, BaseLayers, Fix, NewerBase, Provenance};
pub use osv::Severity;
pub use ranges::affected;
pub use report::{
    any_at_least, cyclonedx, render, sarif, ImageReport, Report, AUDIT_SCHEMA_VERSION,
};
pub use store::{import, open_or_import, store_name, Advisory, ImportSummary, Store};
pub use version::Scheme;
