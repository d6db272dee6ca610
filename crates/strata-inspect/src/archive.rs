//! Reading a `docker save` archive (the legacy layout Docker 20.10 writes, with
//! `<id>/layer.tar`, and the OCI layout of newer engines, with `blobs/sha256/<digest>`). Layers
//! the cache lacks are read into records and stored; layers it has are skipped (OCI layout) or
//! only hashed to confirm the archive holds them in the expected order (legacy layout).

use std::collections::BTreeSet;
use std::io::Read;

use crate::cache::LayerCache;
use crate::error::InspectError;
use crate::layer::{hash_layer, read_layer};

/// What a pass over an archive found.
#[derive(Debug, Default)]
pub struct ArchivePass {
    /// Digests of the layers now in the cache.
    pub found: BTreeSet<String>,
    /// A hashed layer was not the one its position predicted: read again without predicting.
    pub order_mismatch: bool,
}

/// Read the layers of an archive whose image has `layers` (diff ids, bottom first).
/// With `predict_order`, legacy-layout layers whose predicted digest is cached are only hashed.
pub fn read_archive<R: Read>(
    reader: R,
    layers: &[String],
    cache: &LayerCache,
    predict_order: bool,
) -> Result<ArchivePass, InspectError> {
    let archive_error = |source| InspectError::Layer {
        layer: "image archive".to_string(),
        source,
    };
    let mut unique: Vec<&String> = Vec::new();
    for layer in layers {
        if !unique.contains(&layer) {
            unique.push(layer);
        }
    }
    let mut pass = ArchivePass::default();
    let mut position = 0;
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries().map_err(archive_error)? {
        let entry = entry.map_err(archive_error)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if let Some(hex) = name.strip_prefix("blobs/sha256/") {
            let digest = format!("sha256:{hex}");
            if !layers.contains(&digest) || pass.found.contains(&digest) {
                continue;
            }
            if !cache.contains(&digest) {
                let record = read_layer(entry, &digest)?;
                if record.diff_id != digest {
                    return Err(InspectError::DigestMismatch {
                        reference: "image archive".to_string(),
                        expected: digest,
                        actual: record.diff_id,
                    });
                }
                cache.put(&record)?;
            }
            pass.found.insert(digest);
        } else if name.ends_with("/layer.tar") {
            let predicted = unique.get(position).map(|digest| digest.as_str());
            position += 1;
            match predicted {
                Some(predicted) if predict_order && cache.contains(predicted) => {
                    let (digest, _) = hash_layer(entry, predicted)?;
                    if digest == predicted {
                        pass.found.insert(digest);
                    } else {
                        pass.order_mismatch = true;
                    }
                }
                _ => {
                    let record = read_layer(entry, predicted.unwrap_or(&name))?;
                    cache.put(&record)?;
                    pass.found.insert(record.diff_id);
                }
            }
        }
    }
    Ok(pass)
}
