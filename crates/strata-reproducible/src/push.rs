//! Pushing a normalised image with strata's own registry client: every blob the repository
//! lacks (a `HEAD` first, so nothing is sent twice; a blob pushed before to another repository
//! of the registry is mounted from there, as the engine's own push does), then the manifest,
//! byte for byte, under the tag. The digest the registry reports is the manifest's, the same on
//! every machine.

use bytes::Bytes;
use futures_util::StreamExt;
use strata_registry::{
    parse_reference, repository_name, Digest, Manifest, Reference, RegistryClient, DOCKER_MANIFEST,
};

use crate::error::ReproducibleError;
use crate::image::Reproduced;
use crate::store::BlobStore;

/// What pushing one tag did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedTag {
    pub reference: String,
    pub digest: strata_registry::Digest,
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
        if mounted(client, store, &target, &digest).await {
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
        remember(store, &target, &digest);
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

fn remember(store: &BlobStore, target: &Reference, digest: &Digest) {
    if let Err(error) = store.put_pushed_to(digest, &repository_name(target)) {
        tracing::debug!("cannot record where {digest} was pushed: {error}");
    }
}

/// Link the blob into `target`'s repository from the repository of the same registry it was
/// pushed to before. `false` (the caller uploads) when there is none or the registry declines.
async fn mounted(
    client: &RegistryClient,
    store: &BlobStore,
    target: &Reference,
    digest: &Digest,
) -> bool {
    let Some(source) = store.pushed_to(digest) else {
        return false;
    };
    let Ok(source) = parse_reference(&source) else {
        return false;
    };
    if source.registry() != target.registry() || source.repository() == target.repository() {
        return false;
    }
    match client.mount_blob(target, &source, digest).await {
        Ok(true) => {
            remember(store, target, digest);
            true
        }
        Ok(false) => false,
        Err(error) => {
            tracing::debug!("mounting {digest} from {source} failed ({error}); sending it");
            false
        }
    }
}
