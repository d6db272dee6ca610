//! Known vulnerabilities of an image's packages, offline. OSV records (osv.dev's per-ecosystem
//! exports, or any files in its schema) are imported once into a local store; an audit looks up
//! each package an image holds there and matches its version against the advisory's ranges as
//! the OSV schema defines them, in the ecosystem's own version order. Nothing is fetched.

mod audit;
mod error;
pub mod osv;
mod ranges;
mod store;
mod version;

pub use audit::{attribute_layers, audit, distribution_ecosystem, Finding, LayerOrigin};
pub use error::AuditError;
pub use osv::Severity;
pub use ranges::affected;
pub use store::{import, store_name, Advisory, ImportSummary, Store};
pub use version::Scheme;
