//! An image's layers read file by file, for `strata diff --files`: from the engine's export of
//! a local image, or layer by layer from its registry.

use strata_engine::{DockerEngine, Engine};
use strata_registry::RegistryClient;

use crate::compare::{archive_layers, layer_commands, layer_files, LayerFiles};
use crate::error::ReproducibleError;

/// Each layer's diff id and files, bottom first, and the instruction that made each.
pub type ImageLayers = (Vec<(String, LayerFiles)>, Vec<Option<String>>);

/// The layers of `reference`: from the registry when no engine is given (one blob stream per
/// layer, nothing pulled), else from the engine's export of the local image.
pub async fn image_layers(
    registry: &RegistryClient,
    engine: Option<&DockerEngine>,
    reference: &str,
) -> Result<ImageLayers, ReproducibleError> {
    let Some(engine) = engine else {
        return registry_layers(registry, reference).await;
    };
    if engine.image(reference).await?.is_none() {
        return Err(strata_engine::EngineError::NoSuchImage {
            reference: reference.to_string(),
        }
        .into());
    }
    let (layers, config) = strata_inspect::read_stream(engine.export(reference), |reader| {
        Ok(archive_layers(reader))
    })
    .await
    .map_err(unreadable(reference))?
    .map_err(|source| ReproducibleError::Archive {
        image: reference.to_string(),
        source,
    })?;
    Ok((layers, layer_commands(&config)))
}

async fn registry_layers(
    registry: &RegistryClient,
    reference: &str,
) -> Result<ImageLayers, ReproducibleError> {
    let registry_error = |source| ReproducibleError::Registry {
        reference: reference.to_string(),
        source: Box::new(source),
    };
    let parsed = strata_registry::parse_reference(reference).map_err(registry_error)?;
    let image = registry
        .image(&parsed, None)
        .await
        .map_err(registry_error)?;
    let mut layers = Vec::new();
    for layer in &image.layers {
        let stream = registry
            .blob_stream(&parsed, &layer.digest)
            .await
            .map_err(registry_error)?;
        let (files, diff_id) =
            strata_inspect::read_stream(stream, |reader| Ok(layer_files(reader)))
                .await
                .map_err(unreadable(reference))?
                .map_err(|source| ReproducibleError::Layer {
                    layer: layer.digest.to_string(),
                    source,
                })?;
        layers.push((diff_id, files));
    }
    Ok((layers, layer_commands(&image.config)))
}

/// The error for a stream of `image`'s bytes that could not be read.
fn unreadable(image: &str) -> impl Fn(strata_inspect::InspectError) -> ReproducibleError + '_ {
    move |source| ReproducibleError::Read {
        image: image.to_string(),
        source: Box::new(source),
    }
}
