//! Conda environments for images: an `environment.yml` (channels, match specs) solved with
//! rattler's resolvo solver for the image's platform and virtual packages, written as conda's
//! explicit lock (`@EXPLICIT`, one URL per package with `#sha256:`), which `conda create
//! --file`, `mamba` and `micromamba` install unchanged. Repodata is fetched once and cached
//! (`--offline` reads only the cache).

mod environment;
mod error;
mod explicit;
mod installed;
mod lock;
mod python;
mod repodata;
mod target;

pub use environment::{read_environment, Environment};
pub use error::CondaError;
pub use explicit::{read_lock, write_lock, CondaLock, LockHeader};
pub use installed::{compare, freeze, locked_packages, InstalledPackage};
pub use lock::{
    check, check_environment, lock, lock_environment, BaseOrigin, CondaLockSettings, CondaOutcome,
    Locked, Upgrade,
};
pub use python::{normalize, pypi_name, python_of, CondaPython};
pub use repodata::{RepodataClient, RepodataStats};
pub use target::{CondaTarget, DEFAULT_GLIBC};
