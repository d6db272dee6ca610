//! The per-layer cache: one JSON record per layer, keyed by its uncompressed digest, under
//! strata's cache directory. Written atomically; a record of another format version is treated
//! as absent.

use std::path::{Path, PathBuf};

use crate::error::InspectError;
use crate::records::{LayerRecord, RECORD_VERSION};

#[derive(Debug, Clone)]
pub struct LayerCache {
    directory: PathBuf,
}

impl LayerCache {
    pub fn new(directory: &Path) -> Self {
        Self {
            directory: directory.join("layers").join(format!("v{RECORD_VERSION}")),
        }
    }

    fn path_of(&self, diff_id: &str) -> Option<PathBuf> {
        let hex = diff_id.strip_prefix("sha256:")?;
        (hex.len() == 64 && hex.bytes().all(|byte| byte.is_ascii_hexdigit()))
            .then(|| self.directory.join(format!("{hex}.json")))
    }

    pub fn get(&self, diff_id: &str) -> Option<LayerRecord> {
        let text = fs_err::read(self.path_of(diff_id)?).ok()?;
        let record: LayerRecord = serde_json::from_slice(&text).ok()?;
        (record.version == RECORD_VERSION && record.diff_id == diff_id).then_some(record)
    }

    /// Whether the cache holds the layer (the format version is part of the directory, the
    /// digest of the file name, so the file's presence says it all).
    pub fn contains(&self, diff_id: &str) -> bool {
        self.path_of(diff_id).is_some_and(|path| path.is_file())
    }

    pub fn put(&self, record: &LayerRecord) -> Result<(), InspectError> {
        let Some(path) = self.path_of(&record.diff_id) else {
            return Ok(());
        };
        let cache_error = |source| InspectError::Cache {
            path: self.directory.clone(),
            source,
        };
        let text = serde_json::to_vec(record)
            .map_err(|error| cache_error(std::io::Error::other(error)))?;
        strata_fs::write_cache_file(&path, &text)
            .map_err(|error| cache_error(std::io::Error::other(error)))?;
        Ok(())
    }
}
