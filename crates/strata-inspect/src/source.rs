//! Where images come from: the local engine (metadata from its inspect API, layers from its
//! export) or a registry (manifest, config and only the layer blobs the cache lacks). Either way
//! the layers end up as records in the cache, and the facts are computed from them.

use strata_engine::{Engine, EngineError};
use strata_registry::{parse_reference, RegistryClient};

use crate::archive::read_archive;
use crate::bridge::read_stream;
use crate::cache::LayerCache;
use crate::directory::read_layer_directory;
use crate::error::InspectError;
use crate::facts::{compute, ImageFacts, ImageMetadata};
use crate::layer::read_layer;
use crate::records::LayerRecord;

/// Inspect an image of the local engine.
pub async fn inspect_local<E: Engine>(
    engine: &E,
    reference: &str,
    cache: &LayerCache,
) -> Result<ImageFacts, InspectError> {
    // A name no engine could hold is the user's mistake, whatever the engine answers for it
    // (Docker a 400, Podman a 500).
    strata_registry::parse_reference(reference)?;
    let details = engine
        .image(reference)
        .await?
        .ok_or_else(|| EngineError::NoSuchImage {
            reference: reference.to_string(),
        })?;
    if details.layers.iter().any(|layer| !cache.contains(layer))
        && !read_from_storage(&details, cache).await?
    {
        read_local_layers(engine, reference, &details.layers, cache).await?;
    }
    let records = cached_records(reference, &details.layers, cache)?;
    let metadata = ImageMetadata {
        reference: reference.to_string(),
        id: details.id,
        digests: details.repo_digests,
        created: details.created,
        architecture: details.architecture,
        os: details.os,
        size: details.size,
        compressed_size: None,
        env: details.env,
        entrypoint: details.entrypoint,
        cmd: details.cmd,
        shell: details.shell,
        user: details.user,
        labels: details.labels,
        layers: Vec::new(),
    };
    Ok(compute(metadata, &records))
}

/// Read the layers the cache lacks straight from the engine's storage (overlay2 `diff`
/// directories) when this process can: a few files per layer instead of the whole image.
/// `false` when the storage is not usable here (another driver, a remote engine, no
/// permission): the caller exports the image instead.
async fn read_from_storage(
    details: &strata_engine::ImageDetails,
    cache: &LayerCache,
) -> Result<bool, InspectError> {
    if details.layer_directories.len() != details.layers.len() {
        return Ok(false);
    }
    for (directory, diff_id) in details.layer_directories.iter().zip(&details.layers) {
        if cache.contains(diff_id) {
            continue;
        }
        let (directory, label) = (directory.clone(), diff_id.clone());
        let read = tokio::task::spawn_blocking(move || read_layer_directory(&directory, &label))
            .await
            .map_err(InspectError::Reader)?;
        match read {
            Ok(record) => cache.put(&record)?,
            Err(error) => {
                tracing::debug!("reading the layer from the engine's storage failed ({error}); exporting the image instead");
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Export the image and read the layers the cache lacks. The first pass trusts the archive's
/// layer order to skip parsing cached layers; if that guess fails, a second pass reads all.
async fn read_local_layers<E: Engine>(
    engine: &E,
    reference: &str,
    layers: &[String],
    cache: &LayerCache,
) -> Result<(), InspectError> {
    for predict_order in [true, false] {
        let expected = layers.to_vec();
        let task_cache = cache.clone();
        let pass = read_stream(engine.export(reference), move |reader| {
            read_archive(reader, &expected, &task_cache, predict_order)
        })
        .await?;
        if layers.iter().all(|layer| cache.contains(layer)) {
            return Ok(());
        }
        if !pass.order_mismatch {
            break;
        }
    }
    let missing = layers
        .iter()
        .find(|layer| !cache.contains(layer))
        .cloned()
        .unwrap_or_default();
    Err(InspectError::MissingLayer {
        reference: reference.to_string(),
        layer: missing,
    })
}

fn cached_records(
    reference: &str,
    layers: &[String],
    cache: &LayerCache,
) -> Result<Vec<LayerRecord>, InspectError> {
    layers
        .iter()
        .map(|layer| {
            cache.get(layer).ok_or_else(|| InspectError::MissingLayer {
                reference: reference.to_string(),
                layer: layer.clone(),
            })
        })
        .collect()
}

/// Inspect an image in its registry without pulling it into an engine: only the layer blobs
/// the cache lacks are downloaded, each checked against the config's `rootfs.diff_ids`.
pub async fn inspect_registry(
    reference: &str,
    cache: &LayerCache,
) -> Result<ImageFacts, InspectError> {
    inspect_registry_with(&RegistryClient::new(), reference, cache).await
}

/// [`inspect_registry`] with a client shared with other registry work (its tokens and
/// connections are reused).
pub async fn inspect_registry_with(
    client: &RegistryClient,
    reference: &str,
    cache: &LayerCache,
) -> Result<ImageFacts, InspectError> {
    inspect_registry_platform(client, reference, None, cache).await
}

/// The layers' diff ids an image config lists (`rootfs.diff_ids`), bottom first; empty when
/// it lists none.
pub fn config_diff_ids(config: &serde_json::Value) -> Vec<String> {
    config["rootfs"]["diff_ids"]
        .as_array()
        .map(|ids| {
            ids.iter()
                .filter_map(|id| id.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// [`inspect_registry_with`] for one platform of a multi-platform tag (`None`: this machine's).
pub async fn inspect_registry_platform(
    client: &RegistryClient,
    reference: &str,
    platform: Option<&strata_registry::Platform>,
    cache: &LayerCache,
) -> Result<ImageFacts, InspectError> {
    let parsed = parse_reference(reference)?;
    let image = client.image(&parsed, platform).await?;
    let diff_ids = config_diff_ids(&image.config);
    if diff_ids.len() != image.layers.len() || diff_ids.is_empty() {
        return Err(InspectError::NoLayers {
            reference: reference.to_string(),
        });
    }
    for (layer, diff_id) in image.layers.iter().zip(&diff_ids) {
        if cache.contains(diff_id) {
            continue;
        }
        let stream = client.blob_stream(&parsed, &layer.digest).await?;
        let label = diff_id.clone();
        let record = read_stream(stream, move |reader| read_layer(reader, &label)).await?;
        if &record.diff_id != diff_id {
            return Err(InspectError::DigestMismatch {
                reference: reference.to_string(),
                expected: diff_id.clone(),
                actual: record.diff_id,
            });
        }
        cache.put(&record)?;
    }
    let records = cached_records(reference, &diff_ids, cache)?;
    let config = &image.config;
    let text = |value: &serde_json::Value| value.as_str().map(str::to_string);
    let metadata = ImageMetadata {
        reference: reference.to_string(),
        id: image.config_digest.to_string(),
        digests: vec![image.digest.to_string()],
        created: text(&config["created"]),
        architecture: text(&config["architecture"]),
        os: text(&config["os"]),
        // Uncompressed: summed from the layers as read, by `compute`.
        size: 0,
        compressed_size: Some(image.layers.iter().map(|layer| layer.size).sum()),
        env: config["config"]["Env"]
            .as_array()
            .map(|variables| {
                variables
                    .iter()
                    .filter_map(|variable| variable.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        entrypoint: strings(&config["config"]["Entrypoint"]),
        cmd: strings(&config["config"]["Cmd"]),
        shell: strings(&config["config"]["Shell"]),
        user: config["config"]["User"]
            .as_str()
            .filter(|user| !user.is_empty())
            .map(str::to_string),
        labels: config["config"]["Labels"]
            .as_object()
            .map(|labels| {
                labels
                    .iter()
                    .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default(),
        layers: Vec::new(),
    };
    let mut facts = compute(metadata, &records);
    let steps = layer_steps(config, image.layers.len());
    for ((summary, layer), step) in facts.image.layers.iter_mut().zip(&image.layers).zip(steps) {
        summary.compressed_size = Some(layer.size);
        summary.step = step;
    }
    Ok(facts)
}

/// The build step behind each layer, from the config's `history` (its entries that made a
/// layer, in order); none when the history does not have one entry per layer.
fn layer_steps(config: &serde_json::Value, layers: usize) -> Vec<Option<String>> {
    let steps: Vec<Option<String>> = config["history"]
        .as_array()
        .map(|history| {
            history
                .iter()
                .filter(|entry| entry["empty_layer"].as_bool() != Some(true))
                .map(|entry| entry["created_by"].as_str().map(readable_step))
                .collect()
        })
        .unwrap_or_default();
    if steps.len() == layers {
        steps
    } else {
        vec![None; layers]
    }
}

/// A history entry as the Dockerfile said it: without the legacy builder's `/bin/sh -c #(nop) `
/// and BuildKit's `# buildkit` marks.
fn readable_step(created_by: &str) -> String {
    let step = created_by.trim();
    let step = step.strip_prefix("/bin/sh -c #(nop) ").unwrap_or(step);
    let step = step.strip_suffix("# buildkit").unwrap_or(step).trim_end();
    match step.strip_prefix("/bin/sh -c ") {
        Some(command) => format!("RUN {command}"),
        None => step.to_string(),
    }
}

/// A JSON array of strings (`Entrypoint`, `Cmd`, `Shell`); empty when absent.
fn strings(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_are_named_by_the_steps_that_made_them() {
        let config = serde_json::json!({"history": [
            {"created_by": "/bin/sh -c #(nop) ADD file:abc in / "},
            {"created_by": "/bin/sh -c #(nop)  CMD [\"bash\"]", "empty_layer": true},
            {"created_by": "COPY motd /etc/motd # buildkit"},
            {"created_by": "RUN /bin/sh -c apt-get update # buildkit"},
            {"created_by": "/bin/sh -c pip install numpy"},
        ]});
        assert_eq!(
            layer_steps(&config, 4),
            vec![
                Some("ADD file:abc in /".to_string()),
                Some("COPY motd /etc/motd".to_string()),
                Some("RUN /bin/sh -c apt-get update".to_string()),
                Some("RUN pip install numpy".to_string()),
            ]
        );
        // A history that does not match the layers names none of them.
        assert_eq!(layer_steps(&config, 5), vec![None; 5]);
    }
}
