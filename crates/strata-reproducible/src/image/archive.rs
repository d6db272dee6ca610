//! Reading an image archive (`docker save`): its layers found, normalised and kept in the
//! store as they stream by.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};

use serde_json::Value;

use super::Normalisation;
use strata_registry::Digest;

use crate::error::ReproducibleError;
use crate::normalise::{compress_layer, hash, normalise_layer, spool, NormalisedLayer};
use crate::store::{BlobStore, LayerBlob};

/// What a pass over the exported archive found.
#[derive(Debug, Default)]
pub(super) struct Scan {
    /// Per layer file of the archive: the engine's `diff_id` and, when rewritten now, the
    /// normalised layer.
    pub(super) layers: HashMap<String, (Digest, Option<NormalisedLayer>)>,
    /// The small files (`manifest.json`, the config).
    pub(super) files: HashMap<String, Vec<u8>>,
    /// Layer files that are symlinks to another (Docker writes a layer that appears twice in an
    /// image once, and links the second name to it): name → the name it links to.
    pub(super) aliases: HashMap<String, String>,
    /// A layer was only hashed, on the guess that it was normalised before, and was not.
    pub(super) guessed_wrong: bool,
}
/// `docker save` archives name layers `<id>/layer.tar` (Docker 20.10), `<digest>.tar`
/// (Podman) or `blobs/sha256/<digest>` (OCI layout, where configs are blobs too).
pub(super) fn is_layer_name(name: &str) -> bool {
    name.ends_with(".tar") || name.starts_with("blobs/")
}
/// `reader`, gunzipped when it starts like gzip (the check consumes nothing).
pub(crate) fn decompressed<'a, R: Read + 'a>(reader: R) -> std::io::Result<Box<dyn Read + 'a>> {
    let mut buffered = BufReader::with_capacity(1 << 16, reader);
    let gzip = buffered.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(buffered))
    } else {
        Box::new(buffered)
    })
}
pub(super) fn scan_archive<R: Read>(
    reader: R,
    store: &BlobStore,
    normalisation: &Normalisation,
    known_sizes: &HashSet<u64>,
) -> Result<Scan, ReproducibleError> {
    let archive_error = |source| ReproducibleError::Layer {
        layer: "the exported image".to_string(),
        source,
    };
    let scratch = store.scratch()?;
    let mut scan = Scan::default();
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries().map_err(archive_error)? {
        let mut entry = entry.map_err(archive_error)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if entry.header().entry_type().is_symlink() {
            if let Some(target) = entry.link_name_bytes() {
                let target = resolve_link(&name, &String::from_utf8_lossy(&target));
                scan.aliases.insert(name, target);
            }
            continue;
        }
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let size = entry.size();
        let is_blob = name.starts_with("blobs/");
        if !is_layer_name(&name) || (is_blob && size < 1 << 20) {
            // Metadata (and, in the OCI layout, small blobs that may be configs or layers).
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(archive_error)?;
            if is_blob && serde_json::from_slice::<Value>(&bytes).is_err() {
                record_layer(&mut scan, &name, &bytes[..], store, normalisation, &scratch)?;
            } else {
                scan.files.insert(name, bytes);
            }
            continue;
        }
        if known_sizes.contains(&size) && !is_blob {
            // Probably a layer normalised before: hashing it is enough to know.
            let diff_id = hash(&mut entry).map_err(archive_error)?;
            if store.layer(&diff_id).is_none() {
                scan.guessed_wrong = true;
            }
            scan.layers.insert(name, (diff_id, None));
            continue;
        }
        record_layer(&mut scan, &name, entry, store, normalisation, &scratch)?;
    }
    Ok(scan)
}
/// Where a symlink inside an archive points, as an archive path (`a/layer.tar` linking to
/// `../b/layer.tar` points at `b/layer.tar`).
pub(crate) fn resolve_link(name: &str, target: &str) -> String {
    let mut parts: Vec<&str> = if target.starts_with('/') {
        Vec::new()
    } else {
        name.split('/').collect()
    };
    parts.pop();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}
/// Spool one layer, and normalise it unless it is normalised already.
pub(super) fn record_layer<R: Read>(
    scan: &mut Scan,
    name: &str,
    reader: R,
    store: &BlobStore,
    normalisation: &Normalisation,
    scratch: &std::path::Path,
) -> Result<(), ReproducibleError> {
    let layer_error = |source| ReproducibleError::Layer {
        layer: name.to_string(),
        source,
    };
    let mut input = tempfile::tempfile_in(scratch).map_err(layer_error)?;
    let diff_id =
        spool(decompressed(reader).map_err(layer_error)?, &mut input).map_err(layer_error)?;
    if store.layer(&diff_id).is_some() {
        scan.layers.insert(name.to_string(), (diff_id, None));
        return Ok(());
    }
    let mut output = tempfile::NamedTempFile::new_in(scratch).map_err(layer_error)?;
    let normalised = if normalisation.keep.contains(&diff_id) {
        compress_layer(&mut input, output.as_file_mut(), &diff_id)?
    } else {
        normalise_layer(
            &mut input,
            output.as_file_mut(),
            normalisation.epoch,
            &normalisation.scrub,
            &diff_id,
        )?
    };
    keep_normalised(store, output, &normalised)?;
    scan.layers
        .insert(name.to_string(), (diff_id, Some(normalised)));
    Ok(())
}
/// Move a layer just normalised into the store, under its blob digest and its `diff_id`.
pub(super) fn keep_normalised(
    store: &BlobStore,
    blob: tempfile::NamedTempFile,
    normalised: &NormalisedLayer,
) -> Result<(), ReproducibleError> {
    store.adopt(blob, &normalised.digest)?;
    store.put_layer_size(&normalised.diff_id, normalised.uncompressed_size)?;
    store.put_layer(&blob_of(normalised))
}
pub(super) fn blob_of(normalised: &NormalisedLayer) -> LayerBlob {
    LayerBlob {
        diff_id: normalised.diff_id.clone(),
        digest: normalised.digest.clone(),
        size: normalised.size,
    }
}
