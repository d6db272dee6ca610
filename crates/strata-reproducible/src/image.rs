//! Making an engine's image reproducible: normalise the layers the store does not already hold
//! normalised — read from the engine's overlay2 directories when this process can, from the
//! exported image otherwise — rewrite the config (times from `SOURCE_DATE_EPOCH`, the build
//! container's traces removed, new `diff_ids`), write the manifest, and load the result back
//! into the engine (without the layers it has), where it gets the tags. Layers of a parent that
//! was normalised before are recognised by their `diff_id` and reused untouched.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde_json::Value;
use strata_engine::{Engine, EngineError};
use strata_registry::DOCKER_MANIFEST;

use crate::error::ReproducibleError;
use crate::normalise::{
    compress_layer, hash, normalise_directory, normalise_layer, spool, NormalisedLayer, Scrub,
};
use crate::store::{BlobStore, LayerBlob};

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
    pub keep: Vec<String>,
}

/// A normalised image, loaded into the engine and held in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reproduced {
    /// The image id in the engine: its config's digest.
    pub image_id: String,
    /// The manifest's digest: what the registry will report for every tag.
    pub manifest_digest: String,
    /// Its layers, bottom first.
    pub layers: Vec<LayerBlob>,
    /// How many layers were rewritten now (the rest were normalised already).
    pub rewritten: usize,
    /// Paths dropped by the scrub list.
    pub scrubbed: Vec<String>,
    /// The rewritten layers were read from the engine's overlay2 directories, not an export.
    pub from_storage: bool,
}

/// What a pass over the exported archive found.
#[derive(Debug, Default)]
struct Scan {
    /// Per layer file of the archive: the engine's `diff_id` and, when rewritten now, the
    /// normalised layer.
    layers: HashMap<String, (String, Option<NormalisedLayer>)>,
    /// The small files (`manifest.json`, the config).
    files: HashMap<String, Vec<u8>>,
    /// Layer files that are symlinks to another (Docker writes a layer that appears twice in an
    /// image once, and links the second name to it): name → the name it links to.
    aliases: HashMap<String, String>,
    /// A layer was only hashed, on the guess that it was normalised before, and was not.
    guessed_wrong: bool,
}

/// `docker save` archives name layers `<id>/layer.tar` (Docker 20.10), `<digest>.tar`
/// (Podman) or `blobs/sha256/<digest>` (OCI layout, where configs are blobs too).
fn is_layer_name(name: &str) -> bool {
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

fn scan_archive<R: Read>(
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
fn record_layer<R: Read>(
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
fn keep_normalised(
    store: &BlobStore,
    blob: tempfile::NamedTempFile,
    normalised: &NormalisedLayer,
) -> Result<(), ReproducibleError> {
    store.adopt(blob, &normalised.digest)?;
    store.put_layer_size(&normalised.diff_id, normalised.uncompressed_size)?;
    store.put_layer(&blob_of(normalised))
}

fn blob_of(normalised: &NormalisedLayer) -> LayerBlob {
    LayerBlob {
        diff_id: normalised.diff_id.clone(),
        digest: normalised.digest.clone(),
        size: normalised.size,
    }
}

/// `docker save`'s `manifest.json`: the config and layer files of each image.
#[derive(serde::Deserialize)]
struct ArchiveManifest {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

/// RFC 3339, seconds, UTC: how strata writes every time it sets.
pub fn epoch_text(epoch: u64) -> String {
    humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + Duration::from_secs(epoch))
        .to_string()
}

/// The config with no time after `epoch`, the build container's traces removed and the new
/// layers: `created` is the epoch, history entries later than it are clamped to it.
pub fn normalise_config(
    config: &[u8],
    epoch: u64,
    diff_ids: &[String],
) -> Result<Vec<u8>, ReproducibleError> {
    let mut config: Value =
        serde_json::from_slice(config).map_err(|error| ReproducibleError::Config {
            message: error.to_string(),
        })?;
    let Some(object) = config.as_object_mut() else {
        return Err(ReproducibleError::Config {
            message: "the image config is not a JSON object".to_string(),
        });
    };
    let epoch_value = Value::String(epoch_text(epoch));
    // The legacy builder's record of the container the last step ran in: an id and a host
    // name that differ on every build, and no part of the image anyone runs.
    object.remove("container");
    object.remove("container_config");
    // Buildah's (Podman's) trace of the intermediate image the last step started from.
    object.remove("parent");
    if let Some(Value::Object(run)) = object.get_mut("config") {
        // Buildah names the build container's host; no part of what runs.
        if run
            .get("Hostname")
            .is_some_and(|hostname| hostname.as_str() != Some(""))
        {
            run.remove("Hostname");
        }
        // The legacy builder's intermediate image of the previous step: a new id each build.
        if run
            .get("Image")
            .is_some_and(|image| image.as_str() != Some(""))
        {
            run.insert("Image".to_string(), Value::String(String::new()));
        }
    }
    object.insert("created".to_string(), epoch_value.clone());
    if let Some(Value::Array(history)) = object.get_mut("history") {
        sort_label_runs(history);
        for entry in history {
            // Buildah's `FROM <image>` comments name the intermediate image of the previous
            // step (a new id on every build) or the parent by the name this run gave it.
            if entry
                .get("comment")
                .and_then(Value::as_str)
                .is_some_and(|comment| comment.starts_with("FROM "))
            {
                if let Some(entry) = entry.as_object_mut() {
                    entry.remove("comment");
                }
            }
            if let Some(Value::String(created)) = entry.get("created") {
                let later = humantime::parse_rfc3339_weak(created.trim_end_matches('Z'))
                    .or_else(|_| humantime::parse_rfc3339(created))
                    .map_or(true, |time| {
                        time > SystemTime::UNIX_EPOCH + Duration::from_secs(epoch)
                    });
                if later {
                    entry["created"] = epoch_value.clone();
                }
            }
        }
    }
    let rootfs = object
        .entry("rootfs")
        .or_insert_with(|| serde_json::json!({"type": "layers"}));
    rootfs["diff_ids"] = Value::Array(diff_ids.iter().cloned().map(Value::String).collect());
    Ok(serde_json::to_vec(&config).unwrap_or_default())
}

/// Buildah (Podman) records each `--label` of a build as its own `LABEL` step, in the random
/// order of a Go map: runs of such steps are sorted, which changes nothing they mean (labels are
/// a set, and the steps make no layer).
fn sort_label_runs(history: &mut [Value]) {
    let is_label = |entry: &Value| {
        entry.get("empty_layer").and_then(Value::as_bool) == Some(true)
            && entry
                .get("created_by")
                .and_then(Value::as_str)
                .is_some_and(|command| command.contains("#(nop) LABEL "))
    };
    let mut start = 0;
    while start < history.len() {
        if !is_label(&history[start]) {
            start += 1;
            continue;
        }
        let mut end = start;
        while end < history.len() && is_label(&history[end]) {
            end += 1;
        }
        history[start..end].sort_by(|a, b| a["created_by"].as_str().cmp(&b["created_by"].as_str()));
        start = end;
    }
}

/// The image manifest (Docker schema 2) of a config and its layers, serialised the same way
/// every time.
pub fn image_manifest(config_digest: &str, config_size: u64, layers: &[LayerBlob]) -> Vec<u8> {
    let value = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {
            "mediaType": CONFIG_MEDIA_TYPE,
            "size": config_size,
            "digest": config_digest,
        },
        "layers": layers.iter().map(|layer| serde_json::json!({
            "mediaType": LAYER_MEDIA_TYPE,
            "size": layer.size,
            "digest": layer.digest,
        })).collect::<Vec<_>>(),
    });
    serde_json::to_vec(&value).unwrap_or_default()
}

/// The normalised image the store holds for an image id, when it holds one (the image was
/// normalised before).
pub fn stored(store: &BlobStore, image_id: &str) -> Option<Reproduced> {
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
                diff_id: diff_id.as_str()?.to_string(),
                digest: layer["digest"].as_str()?.to_string(),
                size: layer["size"].as_u64()?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    layers
        .iter()
        .all(|layer| store.has_blob(&layer.digest))
        .then(|| Reproduced {
            image_id: image_id.to_string(),
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
    if let Some(done) = stored(store, &details.id) {
        return Ok(done);
    }
    if let Some(prepared) = from_storage(&details, store, normalisation).await? {
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
    for diff_id in &details.layers {
        if store.layer(diff_id).is_some() {
            if let Some(size) = layer_tar_size(store, diff_id) {
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
fn engine_config(layer_directory: &Path, image_id: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let root = layer_directory.parent()?.parent()?.parent()?;
    let hex = image_id.strip_prefix("sha256:")?;
    let docker = root.join("image/overlay2/imagedb/content/sha256").join(hex);
    let podman = root.join("overlay-images").join(hex).join(format!(
        "={}",
        base64::engine::general_purpose::STANDARD.encode(image_id)
    ));
    [docker, podman].into_iter().find_map(|path| {
        let bytes = std::fs::read(path).ok()?;
        (strata_registry::sha256_digest(&bytes) == image_id).then_some(bytes)
    })
}

/// Read the layers to rewrite straight from the engine's overlay2 directories, as `strata
/// inspect` does: only the build's own files, no export of the whole image. `None` when this
/// process cannot (another driver, a remote engine, no permission, a layer overlay keeps partly
/// elsewhere, a base layer not yet compressed into the store): the caller exports the image.
async fn from_storage(
    details: &strata_engine::ImageDetails,
    store: &BlobStore,
    normalisation: &Normalisation,
) -> Result<Option<Prepared>, ReproducibleError> {
    let directories = &details.layer_directories;
    if directories.is_empty() || directories.len() != details.layers.len() {
        return Ok(None);
    }
    // A base layer is kept byte for byte: only the engine's tar of it has those bytes.
    if details
        .layers
        .iter()
        .any(|diff_id| normalisation.keep.contains(diff_id) && store.layer(diff_id).is_none())
    {
        return Ok(None);
    }
    let Some(config) = engine_config(&directories[0], &details.id) else {
        return Ok(None);
    };
    let (store, normalisation) = (store.clone(), normalisation.clone());
    let layers: Vec<(PathBuf, String)> = directories
        .iter()
        .cloned()
        .zip(details.layers.iter().cloned())
        .collect();
    tokio::task::spawn_blocking(move || {
        let mut done: HashMap<String, LayerBlob> = HashMap::new();
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
fn layer_tar_size(store: &BlobStore, diff_id: &str) -> Option<u64> {
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
    let original_diff_ids: Vec<String> = original["rootfs"]["diff_ids"]
        .as_array()
        .map(|ids| {
            ids.iter()
                .filter_map(|id| id.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
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
        if diff_id != expected {
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
    let diff_ids: Vec<String> = layers.iter().map(|layer| layer.diff_id.clone()).collect();
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

/// A `docker load` archive of the normalised image, written on a blocking thread and streamed.
/// The first `present` layers are in the engine already (with the same layers below them): the
/// archive names them in its manifest but leaves their files out, which Docker accepts.
async fn load<E: Engine>(
    engine: &E,
    store: &BlobStore,
    config_digest: &str,
    layers: &[LayerBlob],
    present: usize,
) -> Result<(), ReproducibleError> {
    let (sender, receiver) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(8);
    let writer_store = store.clone();
    let config_digest = config_digest.to_string();
    let layers = layers.to_vec();
    let writer = tokio::task::spawn_blocking(move || {
        let output = std::io::BufWriter::with_capacity(
            1 << 20,
            ChannelWriter {
                sender: sender.clone(),
            },
        );
        let result = write_load_archive(output, &writer_store, &config_digest, &layers, present);
        if let Err(error) = &result {
            let _ = sender.blocking_send(Err(std::io::Error::other(error.to_string())));
        }
        result
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    let loaded = engine.load(Box::pin(stream)).await;
    let written = writer.await.map_err(|error| ReproducibleError::Export {
        image: "the normalised image".to_string(),
        message: error.to_string(),
    })?;
    written?;
    loaded?;
    Ok(())
}

fn write_load_archive<W: std::io::Write>(
    output: W,
    store: &BlobStore,
    config_digest: &str,
    layers: &[LayerBlob],
    present: usize,
) -> Result<(), ReproducibleError> {
    let io = |source| ReproducibleError::Store {
        path: store.root().to_path_buf(),
        source,
    };
    let hex = |digest: &str| digest.strip_prefix("sha256:").unwrap_or(digest).to_string();
    let mut builder = tar::Builder::new(output);
    let mut seen = std::collections::BTreeSet::new();
    for layer in &layers[present.min(layers.len())..] {
        let name = format!("{}.tar.gz", hex(&layer.digest));
        if !seen.insert(name.clone()) {
            continue;
        }
        let path = store.blob_path(&layer.digest);
        let mut file = fs_err::File::open(&path).map_err(io)?;
        let mut header = tar::Header::new_ustar();
        header.set_mode(0o644);
        header.set_size(layer.size);
        builder
            .append_data(&mut header, &name, &mut file)
            .map_err(io)?;
    }
    let config = store.read_blob(config_digest)?;
    let config_name = format!("{}.json", hex(config_digest));
    let manifest = serde_json::json!([{
        "Config": config_name,
        "RepoTags": Value::Null,
        "Layers": layers.iter().map(|layer| format!("{}.tar.gz", hex(&layer.digest))).collect::<Vec<_>>(),
    }]);
    let manifest = serde_json::to_vec(&manifest).unwrap_or_default();
    for (name, bytes) in [
        (config_name.as_str(), &config[..]),
        ("manifest.json", &manifest[..]),
    ] {
        let mut header = tar::Header::new_ustar();
        header.set_mode(0o644);
        header.set_size(bytes.len() as u64);
        builder.append_data(&mut header, name, bytes).map_err(io)?;
    }
    builder.into_inner().map_err(io)?.flush().map_err(io)?;
    Ok(())
}

/// A `Write` that sends what is written, in chunks, down a channel.
struct ChannelWriter {
    sender: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
}

impl std::io::Write for ChannelWriter {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        self.sender
            .blocking_send(Ok(Bytes::copy_from_slice(buffer)))
            .map_err(|_| std::io::Error::other("the engine stopped reading the image archive"))?;
        Ok(buffer.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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
