//! Python locking: requirements files, a PubGrub resolver over PEP 440 versions and PEP 508
//! markers for one interpreter and platform, the package index client (simple API, ranged wheel
//! reads, an HTTP cache), and hash-pinned lock files in pip-compile's format.

mod candidates;
mod client;
mod dates;
mod error;
pub mod header;
mod lock;
mod lockfile;
mod metadata;
mod names;
mod provider;
mod requirements;
mod resolve;
mod sdist;
mod simple;
mod source;
mod target;
#[cfg(test)]
mod tests;
mod warm;
mod wheel;
mod zipread;

pub use candidates::{Release, Selection};
pub use client::{ClientOptions, IndexClient, Stats};
pub use dates::normalize_date;
pub use error::LockError;
pub use lock::{check, fetch, lock, outdated, LockOutcome, LockSettings, PinUpdate, Upgrade};
pub use lockfile::{
    differences, parse as parse_lock, read_if_present as read_lock_if_present,
    render as render_lock, LockFile, LockHeader, LockedPin,
};
pub use metadata::{metadata_fields, CoreMetadata};
pub use names::normalize_name;
pub use requirements::{RequirementsFile, SourcedRequirement, DEFAULT_INDEX};
pub use resolve::{resolve, Pin, Resolution, ResolveOptions};
pub use simple::{parse_page, IndexFile, ProjectPage};
pub use source::{IndexSource, PackageSource, RecordedSource};
pub use target::{image_platform, Architecture, Libc, Platform, Target};
pub use wheel::{parse_filename, DistributionFile, WheelName};
