//! Reproducible images. After the engine builds, strata rewrites the image so that the same
//! inputs give the same digest: layers normalised (canonical entry order, times clamped to
//! `SOURCE_DATE_EPOCH`, deterministic gzip, scrubbed paths dropped), the config's times and the
//! build container's traces set or removed, and the result loaded back into the engine and
//! pushed blob by blob with strata's registry client. When two builds still differ, the layers
//! are compared file by file.

mod compare;
mod error;
mod image;
mod layers;
mod normalise;
mod push;
mod store;

pub use compare::{
    archive_layers, compare_files, compare_layers, hint_for, layer_commands, layer_files,
    render_layers, FileDifference, FileState, LayerDifference, LayerFiles,
};
pub use error::ReproducibleError;
pub use image::{
    epoch_text, image_manifest, normalise_config, reproduce, stored, Normalisation, Reproduced,
    CONFIG_MEDIA_TYPE, LAYER_MEDIA_TYPE,
};
pub use layers::{image_layers, ImageLayers};
pub use normalise::{
    canonical_order, clean_path, normalise_layer, NormalisedLayer, Scrub, GZIP_LEVEL,
};
pub use push::{push_reproduced, PushedTag};
pub use store::{BlobStore, LayerBlob};

/// The environment variable that fixes every time strata writes.
pub const SOURCE_DATE_EPOCH: &str = "SOURCE_DATE_EPOCH";

/// `SOURCE_DATE_EPOCH` when it is set, else the commit's time.
pub fn source_date_epoch(commit_time: u64) -> Result<u64, ReproducibleError> {
    match std::env::var(SOURCE_DATE_EPOCH) {
        Ok(value) if !value.trim().is_empty() => value
            .trim()
            .parse()
            .map_err(|_| ReproducibleError::Epoch { value }),
        _ => Ok(commit_time),
    }
}
