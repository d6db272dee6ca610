//! Reading a `docker save` archive: the legacy layout Docker 20.10 writes, with
//! `<id>/layer.tar`; the OCI layout of newer engines, with `blobs/sha256/<digest>`; and Podman's
//! (containers/image's docker-archive), with `<diff-id hex>.tar` at the top and `<id>/layer.tar`
//! as symlinks to them. Layers the cache lacks are read into records and stored; layers it has
//! are skipped (OCI and Podman layouts) or only hashed to confirm the archive holds them in the
//! expected order (legacy layout).

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
        // Podman's `<id>/layer.tar` links to the top-level file holding the layer.
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if let Some(stem) = name.strip_suffix(".tar").filter(|stem| !stem.contains('/')) {
            // Named by its diff id when uncompressed; otherwise (a compressed layer) known only
            // once read.
            let named = format!("sha256:{stem}");
            if layers.contains(&named) && (pass.found.contains(&named) || cache.contains(&named)) {
                pass.found.insert(named);
                continue;
            }
            let record = read_layer(entry, &name)?;
            if layers.contains(&record.diff_id) {
                cache.put(&record)?;
                pass.found.insert(record.diff_id);
            }
        } else if let Some(hex) = name.strip_prefix("blobs/sha256/") {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::tests::layer;

    /// Podman's `docker save`: `<diff-id hex>.tar` at the top, `<id>/layer.tar` symlinks to it.
    #[test]
    fn podman_archives_are_read_by_their_top_level_layer_files() {
        let first = layer(&[("etc/os-release", b"ID=debian\n")], &[]);
        let second = layer(&[("base", b"base\n")], &[]);
        let digest =
            |bytes: &[u8]| format!("sha256:{:x}", <sha2::Sha256 as sha2::Digest>::digest(bytes));
        let layers = [digest(&first), digest(&second)];
        let mut builder = tar::Builder::new(Vec::new());
        for (diff_id, bytes) in layers.iter().zip([&first, &second]) {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o444);
            header.set_entry_type(tar::EntryType::Regular);
            let name = format!("{}.tar", diff_id.trim_start_matches("sha256:"));
            builder
                .append_data(&mut header, &name, bytes.as_slice())
                .unwrap();
        }
        for (index, diff_id) in layers.iter().enumerate() {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_size(0);
            let target = format!("../{}.tar", diff_id.trim_start_matches("sha256:"));
            builder
                .append_link(&mut header, format!("{index:064}/layer.tar"), target)
                .unwrap();
        }
        let archive = builder.into_inner().unwrap();
        let directory = tempfile::tempdir().unwrap();
        let cache = LayerCache::new(directory.path());
        let pass = read_archive(archive.as_slice(), &layers, &cache, true).unwrap();
        assert_eq!(pass.found.len(), 2);
        assert!(!pass.order_mismatch);
        assert!(layers.iter().all(|diff_id| cache.contains(diff_id)));
        assert!(cache.get(&layers[1]).unwrap().entries.is_empty());
        assert!(cache
            .get(&layers[0])
            .unwrap()
            .entries
            .contains_key("etc/os-release"));
        // Read again with everything cached: found without reading.
        let again = read_archive(archive.as_slice(), &layers, &cache, true).unwrap();
        assert_eq!(again.found.len(), 2);
    }
}
