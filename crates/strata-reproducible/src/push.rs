//! Pushing a normalised image with strata's own registry client: every blob the repository
//! lacks (a `HEAD` first, so nothing is sent twice), then the manifest, byte for byte, under the
//! tag. The digest the registry reports is the manifest's, the same on every machine.

use bytes::Bytes;
use futures_util::StreamExt;
use strata_registry::{parse_reference, Manifest, RegistryClient, DOCKER_MANIFEST};

use crate::error::ReproducibleError;
use crate::image::Reproduced;
use crate::store::BlobStore;

/// What pushing one tag did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedTag {
    pub reference: String,
    pub digest: String,
    /// Bytes of blobs sent (blobs the registry had are not).
    pub sent: u64,
}

/// A file as a stream of chunks, for an upload body.
fn file_stream(
    path: std::path::PathBuf,
) -> futures_util::stream::BoxStream<'static, std::io::Result<Bytes>> {
    futures_util::stream::once(async move { tokio::fs::File::open(path).await })
        .map(|opened| {
            let stream = match opened {
                Ok(file) => futures_util::stream::unfold(Some(file), |file| async move {
                    use tokio::io::AsyncReadExt;
                    let mut file = file?;
                    let mut buffer = vec![0u8; 1 << 20];
                    match file.read(&mut buffer).await {
                        Ok(0) => None,
                        Ok(read) => {
                            buffer.truncate(read);
                            Some((Ok(Bytes::from(buffer)), Some(file)))
                        }
                        Err(error) => Some((Err(error), None)),
                    }
                })
                .boxed(),
                Err(error) => futures_util::stream::once(async move { Err(error) }).boxed(),
            };
            stream
        })
        .flatten()
        .boxed()
}

/// Push `image` (held in `store`) as `reference`.
pub async fn push_reproduced(
    client: &RegistryClient,
    store: &BlobStore,
    image: &Reproduced,
    reference: &str,
) -> Result<PushedTag, ReproducibleError> {
    let push_error = |source| ReproducibleError::Push {
        reference: reference.to_string(),
        source: Box::new(source),
    };
    let target = parse_reference(reference).map_err(push_error)?;
    let config_size = store.read_blob(&image.image_id)?.len() as u64;
    let mut sent = 0;
    let blobs = image
        .layers
        .iter()
        .map(|layer| (layer.digest.clone(), layer.size))
        .chain([(image.image_id.clone(), config_size)]);
    let mut done = std::collections::HashSet::new();
    for (digest, size) in blobs {
        if !done.insert(digest.clone())
            || client
                .blob_exists(&target, &digest)
                .await
                .map_err(push_error)?
        {
            continue;
        }
        sent += client
            .upload_blob(
                &target,
                &digest,
                size,
                file_stream(store.blob_path(&digest)),
            )
            .await
            .map_err(push_error)?;
    }
    let bytes = store.read_blob(&image.manifest_digest)?;
    let manifest = Manifest::new(Bytes::from(bytes), Some(DOCKER_MANIFEST));
    client
        .put_manifest(&target, &manifest)
        .await
        .map_err(push_error)?;
    Ok(PushedTag {
        reference: reference.to_string(),
        digest: image.manifest_digest.clone(),
        sent,
    })
}
