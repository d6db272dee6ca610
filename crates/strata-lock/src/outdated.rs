//! Locks with newer releases than they pin, within what their requirements and target allow:
//! `strata outdated`'s lock section.

use std::path::Path;

use serde::Serialize;
use strata_session::Session;

use crate::inheritance::existing_locks;
use crate::LockingError;

/// One lock and the pins it could move.
#[derive(Debug, Serialize)]
pub struct OutdatedLock {
    pub lock: String,
    pub updates: Vec<strata_pylock::PinUpdate>,
}

/// Every `[images.NAME.lock]` of `repository`, or `directory`'s `requirements.lock` without
/// one, that has newer compatible releases (none when there are no locks; the index is asked
/// only when there are).
pub fn outdated_locks(
    session: &Session,
    repository: Option<&strata_repo::Repository>,
    directory: &Path,
    offline: bool,
) -> Result<Vec<OutdatedLock>, LockingError> {
    let locks = existing_locks(repository, directory)?;
    if locks.is_empty() {
        return Ok(Vec::new());
    }
    let client = crate::index_client(session, offline)?;
    let mut outdated = Vec::new();
    for lock in locks {
        let updates =
            strata_pylock::outdated(&lock, &client).map_err(|source| LockingError::Outdated {
                lock: lock.output.clone(),
                source: Box::new(source),
            })?;
        if !updates.is_empty() {
            outdated.push(OutdatedLock {
                lock: lock.output.display().to_string(),
                updates,
            });
        }
    }
    Ok(outdated)
}
