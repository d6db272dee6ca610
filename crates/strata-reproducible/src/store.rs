//! Where normalised images live between the build and the push: blobs by digest (gzip layers,
//! configs, manifests), which `diff_id`s are normalised layers and what blob holds each, and
//! the manifest of each normalised image by its image id. Files are written whole under a
//! temporary name and renamed, so a reader never sees half a blob.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use strata_registry::Digest;

use crate::error::ReproducibleError;

/// A normalised layer: the same files always give this `diff_id`, held gzip'd in `digest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerBlob {
    pub diff_id: Digest,
    pub digest: Digest,
    pub size: u64,
}

/// The blob store, under strata's cache directory.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

/// `<algorithm>/<encoded>`: where a digest's file lives under a directory of the store. A
/// `Digest` is checked, so no path it gives leaves the store.
fn digest_path(digest: &Digest) -> PathBuf {
    Path::new(digest.algorithm()).join(digest.encoded())
}

impl BlobStore {
    /// The store in `cache_root/reproducible`.
    pub fn new(cache_root: &Path) -> Self {
        Self {
            root: cache_root.join("reproducible"),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn io_error(&self, path: &Path) -> impl Fn(std::io::Error) -> ReproducibleError + '_ {
        let path = path.to_path_buf();
        move |source| ReproducibleError::Store {
            path: path.clone(),
            source,
        }
    }

    /// The directory temporary files are made in (same file system as the blobs).
    pub fn scratch(&self) -> Result<PathBuf, ReproducibleError> {
        let directory = self.root.join("tmp");
        fs_err::create_dir_all(&directory).map_err(self.io_error(&directory))?;
        Ok(directory)
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs").join(digest_path(digest))
    }

    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    /// Move a finished temporary file in as the blob `digest`.
    pub fn adopt(
        &self,
        file: tempfile::NamedTempFile,
        digest: &Digest,
    ) -> Result<(), ReproducibleError> {
        let path = self.blob_path(digest);
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent).map_err(self.io_error(parent))?;
        }
        file.persist(&path)
            .map_err(|error| self.io_error(&path)(error.error))?;
        Ok(())
    }

    /// Store small bytes (a config, a manifest) as a blob; returns its digest.
    pub fn put_bytes(&self, bytes: &[u8]) -> Result<Digest, ReproducibleError> {
        let digest = Digest::sha256(bytes);
        if !self.has_blob(&digest) {
            self.write_atomically(&self.blob_path(&digest), bytes)?;
        }
        Ok(digest)
    }

    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>, ReproducibleError> {
        let path = self.blob_path(digest);
        fs_err::read(&path).map_err(self.io_error(&path))
    }

    fn write_atomically(&self, path: &Path, bytes: &[u8]) -> Result<(), ReproducibleError> {
        strata_fs::write_cache_file(path, bytes)
            .map_err(|error| self.io_error(path)(std::io::Error::other(error)))
    }

    fn layer_path(&self, diff_id: &Digest) -> PathBuf {
        self.root.join("layers").join(digest_path(diff_id))
    }

    /// The blob of a normalised layer, when this store made it and still holds the blob.
    pub fn layer(&self, diff_id: &Digest) -> Option<LayerBlob> {
        let text = fs_err::read_to_string(self.layer_path(diff_id)).ok()?;
        let layer: LayerBlob = serde_json::from_str(&text).ok()?;
        (layer.diff_id == *diff_id && self.has_blob(&layer.digest)).then_some(layer)
    }

    pub fn put_layer(&self, layer: &LayerBlob) -> Result<(), ReproducibleError> {
        let text = serde_json::to_string(layer).unwrap_or_default();
        self.write_atomically(&self.layer_path(&layer.diff_id), text.as_bytes())
    }

    /// The uncompressed size of a normalised layer, recorded when it was made.
    pub fn layer_size(&self, diff_id: &Digest) -> Option<u64> {
        fs_err::read_to_string(self.root.join("sizes").join(digest_path(diff_id)))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    pub fn put_layer_size(&self, diff_id: &Digest, size: u64) -> Result<(), ReproducibleError> {
        self.write_atomically(
            &self.root.join("sizes").join(digest_path(diff_id)),
            size.to_string().as_bytes(),
        )
    }

    fn image_path(&self, image_id: &Digest) -> PathBuf {
        self.root.join("images").join(digest_path(image_id))
    }

    /// The manifest digest of a normalised image, by its image id (its config's digest).
    pub fn image_manifest(&self, image_id: &Digest) -> Option<Digest> {
        let digest = fs_err::read_to_string(self.image_path(image_id)).ok()?;
        let digest = Digest::parse(digest.trim()).ok()?;
        self.has_blob(&digest).then_some(digest)
    }

    pub fn put_image(&self, image_id: &Digest, manifest: &Digest) -> Result<(), ReproducibleError> {
        self.write_atomically(&self.image_path(image_id), manifest.as_bytes())
    }

    fn pushed_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("pushed").join(digest_path(digest))
    }

    /// A repository (`registry/name`) this store's blob was last pushed to: where a push to
    /// another repository of that registry can mount it from instead of sending it again.
    pub fn pushed_to(&self, digest: &Digest) -> Option<String> {
        let text = fs_err::read_to_string(self.pushed_path(digest)).ok()?;
        Some(text.trim().to_string()).filter(|text| !text.is_empty())
    }

    pub fn put_pushed_to(
        &self,
        digest: &Digest,
        repository: &str,
    ) -> Result<(), ReproducibleError> {
        self.write_atomically(&self.pushed_path(digest), repository.as_bytes())
    }
}
