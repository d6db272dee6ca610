//! Making an engine's image reproducible: normalise the layers the store does not already hold
//! normalised — read from the engine's overlay2 directories when this process can, from the
//! exported image otherwise — rewrite the config (times from `SOURCE_DATE_EPOCH`, the build
//! container's traces removed, new `diff_ids`), write the manifest, and load the result back
//! into the engine (without the layers it has), where it gets the tags. Layers of a parent that
//! was normalised before are recognised by their `diff_id` and reused untouched.

use std::collections::{HashMap, HashSet};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use serde_json::Value;
use strata_engine::{Engine, EngineError};
use strata_registry::Digest;

use crate::error::ReproducibleError;
use crate::normalise::{normalise_directory, Scrub};
use crate::store::{BlobStore, LayerBlob};

mod archive;
mod config;
mod load;

use archive::{blob_of, keep_normalised, scan_archive, Scan};
pub(crate) use archive::{decompressed, resolve_link};
use config::ArchiveManifest;
pub use config::{epoch_text, image_manifest, normalise_config};
use load::load;

/// The media type of strata's gzip layers (Docker's, which every engine pulls).
pub const LAYER_MEDIA_TYPE: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// The media type of the image config.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.docker.container.image.v1+json";
/// What to make reproducible, and how.
#[derive(Debug, Clone)]
pub struct Normalisation {
    /// `SOURCE_DATE_EPOCH`: no time in the image is later.
    pub epoch: u64,
    pub scrub: Scrub,
    /// Layers (`diff_id`s) kept byte for byte, only compressed: the base image's.
    pub keep: Vec<Digest>,
}
/// A normalised image, loaded into the engine and held in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reproduced {
    /// The image id in the engine: its config's digest.
    pub image_id: Digest,
    /// The manifest's digest: what the registry will report for every tag.
    pub manifest_digest: strata_registry::Digest,
    /// Its layers, bottom first.
    pub layers: Vec<LayerBlob>,
    /// How many layers were rewritten now (the rest were normalised already).
    pub rewritten: usize,
    /// Paths dropped by the scrub list.
    pub scrubbed: Vec<String>,
    /// The rewritten layers were read from the engine's overlay2 directories, not an export.
    pub from_storage: bool,
}
/// The normalised image the store holds for an image id, when it holds one (the image was
/// normalised before).
pub fn stored(store: &BlobStore, image_id: &Digest) -> Option<Reproduced> {
    let manifest_digest = store.image_manifest(image_id)?;
    let manifest: Value = serde_json::from_slice(&store.read_blob(&manifest_digest).ok()?).ok()?;
    let config: Value = serde_json::from_slice(&store.read_blob(image_id).ok()?).ok()?;
    let diff_ids = config["rootfs"]["diff_ids"].as_array()?;
    let layers = manifest["layers"].as_array()?;
    if diff_ids.len() != layers.len() {
        return None;
    }
    let layers = diff_ids
        .iter()
        .zip(layers)
        .map(|(diff_id, layer)| {
            Some(LayerBlob {
                diff_id: Digest::parse(diff_id.as_str()?).ok()?,
                digest: Digest::parse(layer["digest"].as_str()?).ok()?,
                size: layer["size"].as_u64()?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    layers
        .iter()
        .all(|layer| store.has_blob(&layer.digest))
        .then(|| Reproduced {
            image_id: image_id.clone(),
            manifest_digest,
            layers,
            rewritten: 0,
            scrubbed: Vec::new(),
            from_storage: false,
        })
}
/// Normalise the engine's image `image` (an id or a reference) and load the result into the
/// engine. An image normalised before comes back from the store as it is.
pub async fn reproduce<E: Engine>(
    engine: &E,
    image: &str,
    store: &BlobStore,
    normalisation: &Normalisation,
) -> Result<Reproduced, ReproducibleError> {
    let details = engine
        .image(image)
        .await?
        .ok_or_else(|| EngineError::NoSuchImage {
            reference: image.to_string(),
        })?;
    let image_id = Digest::parse(&details.id).ok();
    if let Some(done) = image_id.as_ref().and_then(|id| stored(store, id)) {
        return Ok(done);
    }
    if let Some(prepared) = from_storage(&details, image_id.as_ref(), store, normalisation).await? {
        return finish(
            engine,
            image,
            prepared,
            &details.layers,
            store,
            normalisation,
        )
        .await;
    }
    // Layers normalised before are only hashed when their size says they may be one of them.
    let mut known_sizes = HashSet::new();
    for diff_id in details
        .layers
        .iter()
        .filter_map(|id| Digest::parse(id).ok())
    {
        if store.layer(&diff_id).is_some() {
            if let Some(size) = layer_tar_size(store, &diff_id) {
                known_sizes.insert(size);
            }
        }
    }
    let mut scan = None;
    for guess in [true, false] {
        let sizes = if guess {
            known_sizes.clone()
        } else {
            HashSet::new()
        };
        let task_store = store.clone();
        let task_normalisation = normalisation.clone();
        let pass = strata_inspect::read_stream(engine.export(image), move |reader| {
            Ok(scan_archive(
                reader,
                &task_store,
                &task_normalisation,
                &sizes,
            ))
        })
        .await
        .map_err(|error| ReproducibleError::Export {
            image: image.to_string(),
            message: strata_repo::join_chain(&error, ": "),
        })??;
        if !pass.guessed_wrong {
            scan = Some(pass);
            break;
        }
    }
    let scan = scan.ok_or_else(|| ReproducibleError::Export {
        image: image.to_string(),
        message: "the archive's layers changed between two exports".to_string(),
    })?;
    let prepared = prepare_from_scan(image, &scan, store, normalisation)?;
    finish(
        engine,
        image,
        prepared,
        &details.layers,
        store,
        normalisation,
    )
    .await
}
/// An image ready to be written: its engine's config and, per layer, the normalised blob.
struct Prepared {
    config: Vec<u8>,
    layers: Vec<LayerBlob>,
    /// Layers rewritten now (each once, however often it appears).
    rewritten: usize,
    scrubbed: Vec<String>,
    from_storage: bool,
}
/// Where the engine keeps an image's config, found from one of its layer directories, and read
/// only when its digest is the image id. Docker's overlay2 (`<root>/overlay2/<id>/diff` →
/// `<root>/image/overlay2/imagedb/content/sha256/<hex>`) or Podman's containers/storage
/// (`<root>/overlay/<id>/diff` → `<root>/overlay-images/<hex>/=<base64 of "sha256:<hex>">`).
fn engine_config(layer_directory: &Path, image_id: &Digest) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let root = layer_directory.parent()?.parent()?.parent()?;
    if image_id.algorithm() != "sha256" {
        return None;
    }
    let hex = image_id.encoded();
    let docker = root.join("image/overlay2/imagedb/content/sha256").join(hex);
    let podman = root.join("overlay-images").join(hex).join(format!(
        "={}",
        base64::engine::general_purpose::STANDARD.encode(image_id.as_bytes())
    ));
    [docker, podman].into_iter().find_map(|path| {
        let bytes = std::fs::read(path).ok()?;
        (Digest::sha256(&bytes) == *image_id).then_some(bytes)
    })
}
/// Read the layers to rewrite straight from the engine's overlay2 directories, as `strata
/// inspect` does: only the build's own files, no export of the whole image. `None` when this
/// process cannot (another driver, a remote engine, no permission, a layer overlay keeps partly
/// elsewhere, a base layer not yet compressed into the store): the caller exports the image.
async fn from_storage(
    details: &strata_engine::ImageDetails,
    image_id: Option<&Digest>,
    store: &BlobStore,
    normalisation: &Normalisation,
) -> Result<Option<Prepared>, ReproducibleError> {
    let directories = &details.layer_directories;
    let Some(diff_ids) = details
        .layers
        .iter()
        .map(|diff_id| Digest::parse(diff_id).ok())
        .collect::<Option<Vec<_>>>()
    else {
        return Ok(None);
    };
    if directories.is_empty() || directories.len() != diff_ids.len() {
        return Ok(None);
    }
    // A base layer is kept byte for byte: only the engine's tar of it has those bytes.
    if diff_ids
        .iter()
        .any(|diff_id| normalisation.keep.contains(diff_id) && store.layer(diff_id).is_none())
    {
        return Ok(None);
    }
    let Some(config) = image_id.and_then(|id| engine_config(&directories[0], id)) else {
        return Ok(None);
    };
    let (store, normalisation) = (store.clone(), normalisation.clone());
    let layers: Vec<(PathBuf, Digest)> = directories.iter().cloned().zip(diff_ids).collect();
    tokio::task::spawn_blocking(move || {
        let mut done: HashMap<Digest, LayerBlob> = HashMap::new();
        let mut prepared = Prepared {
            config,
            layers: Vec::new(),
            rewritten: 0,
            scrubbed: Vec::new(),
            from_storage: true,
        };
        let scratch = store.scratch()?;
        for (directory, diff_id) in layers {
            if let Some(blob) = done.get(&diff_id).cloned().or_else(|| store.layer(&diff_id)) {
                prepared.layers.push(blob);
                continue;
            }
            let mut output = tempfile::NamedTempFile::new_in(&scratch).map_err(|source| {
                ReproducibleError::Store {
                    path: scratch.clone(),
                    source,
                }
            })?;
            let normalised = match normalise_directory(
                &directory,
                output.as_file_mut(),
                normalisation.epoch,
                &normalisation.scrub,
                &diff_id,
            ) {
                Ok(normalised) => normalised,
                Err(error) => {
                    tracing::debug!(
                        "reading the layer {diff_id} from {} failed ({error}); exporting the image instead",
                        directory.display()
                    );
                    return Ok(None);
                }
            };
            keep_normalised(&store, output, &normalised)?;
            prepared.rewritten += 1;
            prepared.scrubbed.extend(normalised.scrubbed.iter().cloned());
            let blob = blob_of(&normalised);
            done.insert(diff_id, blob.clone());
            prepared.layers.push(blob);
        }
        Ok(Some(prepared))
    })
    .await
    .map_err(|error| ReproducibleError::Export {
        image: details.id.clone(),
        message: error.to_string(),
    })?
}
/// The uncompressed size of a normalised layer, for recognising it in an archive.
fn layer_tar_size(store: &BlobStore, diff_id: &Digest) -> Option<u64> {
    if let Some(size) = store.layer_size(diff_id) {
        return Some(size);
    }
    let layer = store.layer(diff_id)?;
    let file = fs_err::File::open(store.blob_path(&layer.digest)).ok()?;
    let mut counted = 0u64;
    let mut decoder = flate2::read::GzDecoder::new(BufReader::new(file));
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        match decoder.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => counted += read as u64,
            Err(_) => return None,
        }
    }
    let _ = store.put_layer_size(diff_id, counted);
    Some(counted)
}
/// Match the exported archive's layers to its config, and each to its normalised blob.
fn prepare_from_scan(
    image: &str,
    scan: &Scan,
    store: &BlobStore,
    normalisation: &Normalisation,
) -> Result<Prepared, ReproducibleError> {
    let invalid = |message: String| ReproducibleError::Export {
        image: image.to_string(),
        message,
    };
    let manifest = scan
        .files
        .get("manifest.json")
        .ok_or_else(|| invalid("the archive has no `manifest.json`".to_string()))?;
    let manifests: Vec<ArchiveManifest> = serde_json::from_slice(manifest)
        .map_err(|error| invalid(format!("`manifest.json`: {error}")))?;
    let manifest = manifests
        .into_iter()
        .next()
        .ok_or_else(|| invalid("`manifest.json` lists no image".to_string()))?;
    let config = scan.files.get(&manifest.config).ok_or_else(|| {
        invalid(format!(
            "the archive lacks the config `{}`",
            manifest.config
        ))
    })?;
    let original: Value = serde_json::from_slice(config)
        .map_err(|error| invalid(format!("`{}`: {error}", manifest.config)))?;
    let original_diff_ids = strata_inspect::config_diff_ids(&original);
    if original_diff_ids.len() != manifest.layers.len() {
        return Err(invalid(format!(
            "the config has {} layers and `manifest.json` {}",
            original_diff_ids.len(),
            manifest.layers.len()
        )));
    }
    let mut layers = Vec::new();
    let mut rewritten = 0;
    let mut scrubbed = Vec::new();
    let mut counted = HashSet::new();
    for (name, expected) in manifest.layers.iter().zip(&original_diff_ids) {
        let (diff_id, normalised) = scan
            .layers
            .get(name)
            .or_else(|| {
                scan.aliases
                    .get(name)
                    .and_then(|target| scan.layers.get(target))
            })
            .ok_or_else(|| invalid(format!("the archive lacks the layer `{name}`")))?;
        if *diff_id != *expected {
            return Err(invalid(format!(
                "the layer `{name}` is `{diff_id}`, the config says `{expected}`"
            )));
        }
        let blob = match normalised {
            Some(normalised) => {
                if counted.insert(name.clone()) && !normalisation.keep.contains(diff_id) {
                    rewritten += 1;
                    scrubbed.extend(normalised.scrubbed.iter().cloned());
                }
                LayerBlob {
                    diff_id: normalised.diff_id.clone(),
                    digest: normalised.digest.clone(),
                    size: normalised.size,
                }
            }
            None => store
                .layer(diff_id)
                .ok_or_else(|| invalid(format!("the store lost the layer `{diff_id}`")))?,
        };
        layers.push(blob);
    }
    Ok(Prepared {
        config: config.clone(),
        layers,
        rewritten,
        scrubbed,
        from_storage: false,
    })
}
/// Write the config and manifest of a prepared image into the store and load the image into the
/// engine (unless it has it). `engine_layers` are the `diff_id`s of the engine's image: the
/// leading layers normalising left as they were are in the engine already, and the load
/// archive leaves them out.
async fn finish<E: Engine>(
    engine: &E,
    image: &str,
    prepared: Prepared,
    engine_layers: &[String],
    store: &BlobStore,
    normalisation: &Normalisation,
) -> Result<Reproduced, ReproducibleError> {
    let Prepared {
        config,
        layers,
        rewritten,
        scrubbed,
        from_storage,
    } = prepared;
    let diff_ids: Vec<String> = layers
        .iter()
        .map(|layer| layer.diff_id.to_string())
        .collect();
    let config = normalise_config(&config, normalisation.epoch, &diff_ids)?;
    let config_digest = store.put_bytes(&config)?;
    let manifest_bytes = image_manifest(&config_digest, config.len() as u64, &layers);
    let manifest_digest = store.put_bytes(&manifest_bytes)?;
    if engine.image(&config_digest).await?.is_none() {
        let present = layers
            .iter()
            .zip(engine_layers)
            .take_while(|(layer, engine_layer)| layer.diff_id == **engine_layer)
            .count();
        if present > 0 {
            if let Err(error) = load(engine, store, &config_digest, &layers, present).await {
                tracing::debug!(
                    "loading without the layers the engine has failed ({error}); loading them all"
                );
                load(engine, store, &config_digest, &layers, 0).await?;
            }
        } else {
            load(engine, store, &config_digest, &layers, 0).await?;
        }
        if engine.image(&config_digest).await?.is_none() {
            return Err(ReproducibleError::Export {
                image: image.to_string(),
                message: format!("the engine loaded the normalised image but has no `{config_digest}`: it computes image ids another way"),
            });
        }
    }
    store.put_image(&config_digest, &manifest_digest)?;
    Ok(Reproduced {
        image_id: config_digest,
        manifest_digest,
        layers,
        rewritten,
        scrubbed,
        from_storage,
    })
}
#[cfg(test)]
mod tests {
    use super::{normalise_config, resolve_link};

    /// Two Podman (buildah) builds of one Dockerfile: the traces that differ between them are
    /// gone, what the image runs with is kept.
    #[test]
    fn buildah_build_traces_are_removed() {
        let (a, b) = (
            "/bin/sh -c #(nop) LABEL \"a\"=\"1\"",
            "/bin/sh -c #(nop) LABEL \"b\"=\"2\"",
        );
        let config = |hostname: &str, parent: &str, intermediate: &str, labels: [&str; 2]| {
            let [first_label, second_label] = labels;
            serde_json::to_vec(&serde_json::json!({
                "created": "2026-11-22T14:04:14.147027992Z",
                "parent": parent,
                "config": {"Hostname": hostname, "Env": ["PATH=/bin"], "Cmd": ["/bin/sh"]},
                "history": [
                    {"created": "2020-01-01T00:00:00Z", "comment": "Imported from -"},
                    {"created": "2026-11-22T14:04:13Z", "created_by": "/bin/sh -c echo a", "comment": "FROM localhost/base:latest"},
                    {"created": "2026-11-22T14:04:14Z", "created_by": "/bin/sh -c echo b", "comment": format!("FROM {intermediate}")},
                    {"created": "2026-11-22T14:04:14Z", "created_by": first_label, "empty_layer": true},
                    {"created": "2026-11-22T14:04:14Z", "created_by": second_label, "empty_layer": true},
                ],
            }))
            .unwrap()
        };
        let diff_ids = ["sha256:aa".to_string()];
        let first = normalise_config(
            &config("b7fecc6e1302", "sha256:1", "c18ac2cb8ebb", [a, b]),
            1_700_000_000,
            &diff_ids,
        )
        .unwrap();
        let second = normalise_config(
            &config("a5fd4760fdeb", "sha256:2", "9ede1fb14e9b", [b, a]),
            1_700_000_000,
            &diff_ids,
        )
        .unwrap();
        assert_eq!(first, second);
        let value: serde_json::Value = serde_json::from_slice(&first).unwrap();
        assert_eq!(value["config"]["Cmd"][0], "/bin/sh");
        assert_eq!(value["history"][0]["comment"], "Imported from -");
        assert!(value["history"][1].get("comment").is_none());
        assert!(value.get("parent").is_none());
        assert_eq!(value["history"][3]["created_by"], a);
    }

    #[test]
    fn archive_links_resolve_to_archive_paths() {
        assert_eq!(resolve_link("a/layer.tar", "../b/layer.tar"), "b/layer.tar");
        assert_eq!(resolve_link("a/layer.tar", "c.tar"), "a/c.tar");
        assert_eq!(resolve_link("layer.tar", "./blobs/x"), "blobs/x");
    }
}
