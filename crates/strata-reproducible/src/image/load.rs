//! Loading a reproducible image back into the engine: an archive of the layers it lacks.

use bytes::Bytes;
use serde_json::Value;
use strata_engine::Engine;
use strata_registry::Digest;

use crate::error::ReproducibleError;
use crate::store::{BlobStore, LayerBlob};

/// A `docker load` archive of the normalised image, written on a blocking thread and streamed.
/// The first `present` layers are in the engine already (with the same layers below them): the
/// archive names them in its manifest but leaves their files out, which Docker accepts.
pub(super) async fn load<E: Engine>(
    engine: &E,
    store: &BlobStore,
    config_digest: &Digest,
    layers: &[LayerBlob],
    present: usize,
) -> Result<(), ReproducibleError> {
    let (sender, receiver) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(8);
    let writer_store = store.clone();
    let config_digest = config_digest.clone();
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
pub(super) fn write_load_archive<W: std::io::Write>(
    output: W,
    store: &BlobStore,
    config_digest: &Digest,
    layers: &[LayerBlob],
    present: usize,
) -> Result<(), ReproducibleError> {
    let io = |source| ReproducibleError::Store {
        path: store.root().to_path_buf(),
        source,
    };
    let mut builder = tar::Builder::new(output);
    let mut seen = std::collections::BTreeSet::new();
    for layer in &layers[present.min(layers.len())..] {
        let name = format!("{}.tar.gz", layer.digest.encoded());
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
    let config_name = format!("{}.json", config_digest.encoded());
    let manifest = serde_json::json!([{
        "Config": config_name,
        "RepoTags": Value::Null,
        "Layers": layers.iter().map(|layer| format!("{}.tar.gz", layer.digest.encoded())).collect::<Vec<_>>(),
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
pub(super) struct ChannelWriter {
    pub(super) sender: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
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
