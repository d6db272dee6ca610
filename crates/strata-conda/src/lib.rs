//! Conda environments for images: an `environment.yml` (channels, match specs) solved with
//! rattler's resolvo solver for the image's platform and virtual packages, written as conda's
//! explicit lock (`@EXPLICIT`, one URL per package with `#sha256:`), which `conda create
//! --file`, `mamba` and `micromamba` install unchanged. Repodata is fetched once and cached
//! (`--offline` reads only the cache).

mod environment;
mod error;
mod explicit;
mod lock;
mod repodata;
mod target;

pub use environment::{read_environment, Environment};
pub use error::CondaError;
pub use explicit::{read_lock, write_lock, CondaLock, LockHeader};
pub use lock::{check, lock, CondaLockSettings, CondaOutcome, Upgrade};
pub use repodata::{RepodataClient, RepodataStats};
pub use target::{CondaTarget, DEFAULT_GLIBC};
