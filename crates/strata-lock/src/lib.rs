//! Locks as strata's commands take them, between the command line and the resolvers
//! (strata-pylock for requirements, strata-conda for environments):
//!
//! - [`conventions`]: where locks live and what they are locked for — the one place the file
//!   names (`requirements.lock`, `environment.pip.lock`), the default platform and the wheel
//!   platform of a conda target are decided;
//! - [`images`]: what a built image says about a lock's target (Python, platform, glibc), what
//!   its base already installed, and its conda environments;
//! - [`inheritance`]: each image's `[images.NAME.lock]` and `[images.NAME.conda]` settings,
//!   solved on top of its nearest locked ancestor;
//! - [`requests`]: a lock's settings from the command line, `--image` and the existing lock;
//! - [`check`]: whether a built image holds exactly its conda lock (and its `pip:` lock);
//! - [`outdated`]: locks with newer compatible releases.

pub mod check;
pub mod conventions;
mod error;
pub mod freeze;
pub mod images;
pub mod inheritance;
pub mod outdated;
pub mod requests;

pub use error::LockingError;

use strata_session::Session;

/// The Python package index client, its cache under the session's.
pub fn index_client(
    session: &Session,
    offline: bool,
) -> Result<strata_pylock::IndexClient, LockingError> {
    Ok(strata_pylock::IndexClient::new(
        strata_pylock::ClientOptions {
            runtime: session.handle()?,
            cache_dir: Some(session.caches().package_index()),
            offline,
            concurrency: 32,
        },
    )?)
}

/// The conda channels' client, its cache under the session's.
pub fn repodata_client(
    session: &Session,
    offline: bool,
) -> Result<strata_conda::RepodataClient, LockingError> {
    Ok(strata_conda::RepodataClient::new(
        session.caches().conda_channels(),
        offline,
        session.handle()?,
    )?)
}
