//! What strata reads and writes in a registry: manifests (kept as bytes, so digests survive a
//! copy), blobs (checked against their digest as they stream), tags, and an image's config and
//! layers for `inspect`.

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, LINK, LOCATION};
use reqwest::{Method, StatusCode};
use strata_digest::{Digest, DigestWriter};

use crate::auth::Scope;
use crate::client::{status_error, Call, RegistryClient};
use crate::error::RegistryError;
use crate::manifest::{Descriptor, Manifest, Platform, MANIFEST_ACCEPT};
use crate::reference::{parse_reference, Reference};

/// An image as a registry serves it, resolved to one platform.
#[derive(Debug, Clone)]
pub struct RemoteImage {
    /// The digest the reference resolves to: the index digest for a multi-platform tag.
    pub digest: Digest,
    /// The platform image manifest's digest (equal to `digest` for a single-platform image).
    pub manifest_digest: Digest,
    /// The config blob's digest: the image ID an engine gives the image once pulled.
    pub config_digest: Digest,
    /// The image config (`config.Labels`, `rootfs`, `history`, ...).
    pub config: serde_json::Value,
    /// Layer blobs, bottom first.
    pub layers: Vec<RemoteLayer>,
}

/// One layer blob of a manifest.
#[derive(Debug, Clone)]
pub struct RemoteLayer {
    /// Digest of the blob as stored (usually gzip-compressed).
    pub digest: Digest,
    /// Size of the blob as stored (compressed).
    pub size: u64,
    pub media_type: String,
}

const DOCKER_CONTENT_DIGEST: reqwest::header::HeaderName =
    reqwest::header::HeaderName::from_static("docker-content-digest");

/// `tag` or `digest` of a reference, as the manifest URL names it.
fn manifest_path(reference: &Reference) -> String {
    let selector = reference.digest().or(reference.tag()).unwrap_or("latest");
    format!("/v2/{}/manifests/{selector}", reference.repository())
}

fn header_text(response: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
}

fn not_found(reference: &Reference) -> RegistryError {
    RegistryError::NotFound {
        reference: reference.whole(),
        registry: reference.registry().to_string(),
    }
}

impl RegistryClient {
    /// A read (`GET`/`HEAD`) in the reference's repository: `None` on `404`, an error for any
    /// other status that is not a success.
    async fn read(
        &self,
        repository: &Reference,
        method: Method,
        path: String,
        accept: Option<&str>,
    ) -> Result<Option<reqwest::Response>, RegistryError> {
        let mut call = Call::new(
            repository.registry(),
            method.clone(),
            path.clone(),
            vec![Scope::pull(repository.repository())],
        );
        if let Some(accept) = accept {
            call = call.header(ACCEPT, accept);
        }
        let response = self.send(call).await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(None),
            status if status.is_success() => Ok(Some(response)),
            _ => Err(status_error(repository.registry(), &method, &path, response).await),
        }
    }

    /// The digest and media type a reference points at, without downloading the manifest when
    /// the registry says (`Docker-Content-Digest` on `HEAD`); `None` when there is no such tag.
    pub async fn resolve(
        &self,
        reference: &Reference,
    ) -> Result<Option<Descriptor>, RegistryError> {
        let Some(response) = self
            .read(
                reference,
                Method::HEAD,
                manifest_path(reference),
                Some(MANIFEST_ACCEPT),
            )
            .await?
        else {
            return Ok(None);
        };
        let digest = header_text(&response, DOCKER_CONTENT_DIGEST);
        let media_type = header_text(&response, CONTENT_TYPE);
        let size = header_text(&response, CONTENT_LENGTH).and_then(|size| size.parse().ok());
        let digest = digest.and_then(|digest| Digest::parse(&digest).ok());
        match (digest, media_type, size) {
            (Some(digest), Some(media_type), Some(size)) if digest.algorithm() == "sha256" => {
                Ok(Some(Descriptor {
                    media_type,
                    digest,
                    size,
                    platform: None,
                }))
            }
            _ => Ok(self
                .manifest_if_exists(reference)
                .await?
                .map(|manifest| Descriptor {
                    media_type: manifest.media_type.clone(),
                    digest: manifest.digest.clone(),
                    size: manifest.bytes.len() as u64,
                    platform: None,
                })),
        }
    }

    /// The manifest a reference points at, exactly as served; an error when there is none.
    pub async fn manifest(&self, reference: &Reference) -> Result<Manifest, RegistryError> {
        self.manifest_if_exists(reference)
            .await?
            .ok_or_else(|| not_found(reference))
    }

    /// The manifest a reference points at, or `None` when the registry has no such tag. The
    /// bytes are checked against the reference's digest and the registry's digest header.
    pub async fn manifest_if_exists(
        &self,
        reference: &Reference,
    ) -> Result<Option<Manifest>, RegistryError> {
        let Some(response) = self
            .read(
                reference,
                Method::GET,
                manifest_path(reference),
                Some(MANIFEST_ACCEPT),
            )
            .await?
        else {
            return Ok(None);
        };
        let content_type = header_text(&response, CONTENT_TYPE);
        let header_digest = header_text(&response, DOCKER_CONTENT_DIGEST);
        let bytes = response
            .bytes()
            .await
            .map_err(|source| RegistryError::Unreachable {
                registry: reference.registry().to_string(),
                source,
            })?;
        let manifest = Manifest::new(bytes, content_type.as_deref());
        for expected in [reference.digest().map(str::to_string), header_digest]
            .into_iter()
            .flatten()
            .filter(|digest| digest.starts_with("sha256:"))
        {
            if expected != manifest.digest {
                return Err(RegistryError::Invalid {
                    reference: reference.whole(),
                    message: format!(
                        "the registry sent a manifest whose digest is `{}`, not `{expected}`",
                        manifest.digest
                    ),
                });
            }
        }
        Ok(Some(manifest))
    }

    /// Store a manifest under `target`'s tag (or digest), byte for byte.
    pub async fn put_manifest(
        &self,
        target: &Reference,
        manifest: &Manifest,
    ) -> Result<(), RegistryError> {
        let path = manifest_path(target);
        let call = Call::new(
            target.registry(),
            Method::PUT,
            path.clone(),
            vec![Scope::push(target.repository())],
        )
        .header(CONTENT_TYPE, &manifest.media_type)
        .body(manifest.bytes.clone());
        let response = self.send(call).await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(status_error(target.registry(), &Method::PUT, &path, response).await)
        }
    }

    /// Delete the manifest `digest` from `repository` (every tag of that repository pointing at
    /// it goes with it; other repositories keep their copies). `false` when it was not there.
    pub async fn delete_manifest(
        &self,
        repository: &Reference,
        digest: &Digest,
    ) -> Result<bool, RegistryError> {
        let target = crate::reference::with_digest(repository, digest);
        let path = manifest_path(&target);
        let call = Call::new(
            repository.registry(),
            Method::DELETE,
            path.clone(),
            vec![Scope::push(repository.repository())],
        );
        let response = self.send(call).await?;
        match response.status() {
            status if status.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(status_error(repository.registry(), &Method::DELETE, &path, response).await),
        }
    }

    /// Whether `repository` (any reference into it) holds the blob.
    pub async fn blob_exists(
        &self,
        repository: &Reference,
        digest: &str,
    ) -> Result<bool, RegistryError> {
        let path = format!("/v2/{}/blobs/{digest}", repository.repository());
        Ok(self
            .read(repository, Method::HEAD, path, None)
            .await?
            .is_some())
    }

    /// Ask the registry to link a blob of `source` (same registry) into `target`'s repository
    /// without sending it. `false` when the registry declined (it then expects an upload).
    pub async fn mount_blob(
        &self,
        target: &Reference,
        source: &Reference,
        digest: &str,
    ) -> Result<bool, RegistryError> {
        let path = format!(
            "/v2/{}/blobs/uploads/?mount={digest}&from={}",
            target.repository(),
            source.repository()
        );
        let call = Call::new(
            target.registry(),
            Method::POST,
            path.clone(),
            vec![
                Scope::push(target.repository()),
                Scope::pull(source.repository()),
            ],
        )
        .header(CONTENT_LENGTH, "0");
        let response = self.send(call).await?;
        match response.status() {
            StatusCode::CREATED => Ok(true),
            StatusCode::ACCEPTED => {
                // The registry opened an upload instead; close it, the caller copies the blob.
                if let Some(location) = header_text(&response, LOCATION) {
                    let location = self.absolute_location(target.registry(), &location);
                    let cancel = Call::new(
                        target.registry(),
                        Method::DELETE,
                        location,
                        vec![Scope::push(target.repository())],
                    );
                    let _ = self.send(cancel).await;
                }
                Ok(false)
            }
            _ => Err(status_error(target.registry(), &Method::POST, &path, response).await),
        }
    }

    fn absolute_location(&self, registry: &str, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_string()
        } else {
            format!("{}{location}", Self::base_url(registry))
        }
    }

    /// Copy a blob from one repository to another (across registries too) by streaming it
    /// through: the registry's own copy (`mount_blob`) is preferred where it works. Returns the
    /// bytes sent.
    pub async fn copy_blob(
        &self,
        source: &Reference,
        target: &Reference,
        blob: &Descriptor,
    ) -> Result<u64, RegistryError> {
        let stream = self.blob_stream(source, &blob.digest).await?;
        self.upload_blob(target, &blob.digest, blob.size, stream)
            .await
    }

    /// Send a blob to `target`'s repository in one request (`POST` to open the upload, one
    /// `PUT` with the bytes and their digest). Returns the bytes sent. A stream can be sent
    /// once, so this is not retried: the caller retries the whole upload.
    pub async fn upload_blob(
        &self,
        target: &Reference,
        digest: &str,
        size: u64,
        stream: BoxStream<'static, std::io::Result<Bytes>>,
    ) -> Result<u64, RegistryError> {
        let start_path = format!("/v2/{}/blobs/uploads/", target.repository());
        let start = Call::new(
            target.registry(),
            Method::POST,
            start_path.clone(),
            vec![Scope::push(target.repository())],
        )
        .header(CONTENT_LENGTH, "0");
        let response = self.send(start).await?;
        if response.status() != StatusCode::ACCEPTED {
            return Err(
                status_error(target.registry(), &Method::POST, &start_path, response).await,
            );
        }
        let location = header_text(&response, LOCATION).ok_or_else(|| RegistryError::Invalid {
            reference: target.whole(),
            message: "the registry opened an upload without saying where (no `Location`)"
                .to_string(),
        })?;
        let mut upload = reqwest::Url::parse(&self.absolute_location(target.registry(), &location))
            .map_err(|error| RegistryError::Invalid {
                reference: target.whole(),
                message: format!("the upload location `{location}` is not a URL: {error}"),
            })?;
        upload.query_pairs_mut().append_pair("digest", digest);
        let key_call = Call::new(
            target.registry(),
            Method::PUT,
            upload.to_string(),
            vec![Scope::push(target.repository())],
        );
        let authorization = self.authorization_for(&key_call);
        let mut request = self
            .http()
            .put(upload.as_str())
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, size.to_string())
            .body(reqwest::Body::wrap_stream(stream));
        if let Some(value) = authorization {
            request = request.header(reqwest::header::AUTHORIZATION, value);
        }
        let response = request
            .send()
            .await
            .map_err(|source| RegistryError::Unreachable {
                registry: target.registry().to_string(),
                source,
            })?;
        if !response.status().is_success() {
            return Err(
                status_error(target.registry(), &Method::PUT, upload.path(), response).await,
            );
        }
        self.traffic().add_sent(size);
        Ok(size)
    }

    /// A blob, streamed, checked against its digest: the stream ends with an error when the
    /// bytes do not match.
    pub async fn blob_stream(
        &self,
        repository: &Reference,
        digest: &str,
    ) -> Result<BoxStream<'static, std::io::Result<Bytes>>, RegistryError> {
        let path = format!("/v2/{}/blobs/{digest}", repository.repository());
        let response = self
            .read(repository, Method::GET, path, None)
            .await?
            .ok_or_else(|| RegistryError::NotFound {
                reference: format!("{}@{digest}", crate::reference::repository_name(repository)),
                registry: repository.registry().to_string(),
            })?;
        let expected = digest.to_string();
        let traffic = self.clone();
        let mut hasher = Some(DigestWriter::default());
        let body = response.bytes_stream();
        let checked = body
            .map(move |chunk| chunk.map_err(std::io::Error::other))
            .chain(futures_util::stream::once(async { Ok(Bytes::new()) }))
            .map(move |chunk| {
                let chunk = chunk?;
                let Some(state) = hasher.as_mut() else {
                    return Ok(chunk);
                };
                if chunk.is_empty() {
                    // The end of the body (the empty chunk chained above).
                    let (actual, _) = hasher.take().unwrap_or_default().finish();
                    if expected.starts_with("sha256:") && actual != expected {
                        return Err(std::io::Error::other(format!(
                            "blob `{expected}` arrived with digest `{actual}`"
                        )));
                    }
                    return Ok(chunk);
                }
                state.update(&chunk);
                traffic.traffic().add_received(chunk.len() as u64);
                Ok(chunk)
            })
            .filter(|chunk| {
                let keep = !matches!(chunk, Ok(bytes) if bytes.is_empty());
                async move { keep }
            });
        Ok(checked.boxed())
    }

    /// A small blob (a config), whole and checked.
    pub async fn blob_bytes(
        &self,
        repository: &Reference,
        digest: &str,
    ) -> Result<Bytes, RegistryError> {
        let mut stream = self.blob_stream(repository, digest).await?;
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|source| RegistryError::Blob {
                reference: format!("{}@{digest}", crate::reference::repository_name(repository)),
                source,
            })?;
            bytes.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(bytes))
    }

    /// Every tag of a repository, following the registry's pages.
    pub async fn tags(&self, repository: &Reference) -> Result<Vec<String>, RegistryError> {
        let mut tags = Vec::new();
        let mut path = format!("/v2/{}/tags/list?n=1000", repository.repository());
        loop {
            let Some(response) = self.read(repository, Method::GET, path, None).await? else {
                return Ok(tags);
            };
            let next = header_text(&response, LINK).and_then(|link| next_link(&link));
            let page: serde_json::Value =
                response
                    .json()
                    .await
                    .map_err(|source| RegistryError::Unreachable {
                        registry: repository.registry().to_string(),
                        source,
                    })?;
            tags.extend(
                page["tags"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|tag| tag.as_str().map(str::to_string)),
            );
            match next {
                Some(next) => path = next,
                None => return Ok(tags),
            }
        }
    }

    /// The image a reference names, for one platform (`None`: this machine's), with its config.
    pub async fn image(
        &self,
        reference: &Reference,
        platform: Option<&Platform>,
    ) -> Result<RemoteImage, RegistryError> {
        let top = self.manifest(reference).await?;
        let text = reference.whole();
        let manifest = if top.is_index() {
            let wanted = platform.cloned().unwrap_or_else(Platform::host);
            let child = top
                .child_for(&text, &wanted)?
                .ok_or_else(|| RegistryError::Invalid {
                    reference: text.clone(),
                    message: format!("the image has no `{wanted}` variant"),
                })?;
            self.manifest(&crate::reference::with_digest(reference, &child.digest))
                .await?
        } else {
            top.clone()
        };
        let config_descriptor = manifest.config(&text)?;
        let config_bytes = self
            .blob_bytes(reference, &config_descriptor.digest)
            .await?;
        let config =
            serde_json::from_slice(&config_bytes).map_err(|source| RegistryError::Config {
                reference: text.clone(),
                source,
            })?;
        Ok(RemoteImage {
            digest: top.digest.clone(),
            manifest_digest: manifest.digest.clone(),
            config_digest: config_descriptor.digest,
            config,
            layers: manifest
                .layers(&text)?
                .into_iter()
                .map(|layer| RemoteLayer {
                    digest: layer.digest,
                    size: layer.size,
                    media_type: layer.media_type,
                })
                .collect(),
        })
    }

    /// The `Authorization` value cached for a call, if any.
    fn authorization_for(&self, call: &Call<'_>) -> Option<String> {
        let key = crate::auth::cache_key(call.registry, &call.scopes);
        self.cached(call.registry, &key)
    }
}

/// `</v2/x/tags/list?last=a&n=2>; rel="next"` → the path.
fn next_link(header: &str) -> Option<String> {
    let (target, parameters) = header.split_once(';')?;
    if !parameters.contains("next") {
        return None;
    }
    Some(
        target
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_string(),
    )
}

/// Fetch the manifest and config of `reference`, for this machine's platform.
pub async fn fetch_image(reference: &str) -> Result<RemoteImage, RegistryError> {
    let parsed = parse_reference(reference)?;
    RegistryClient::new().image(&parsed, None).await
}

#[cfg(test)]
mod tests {
    use super::next_link;

    #[test]
    fn link_header_pagination() {
        assert_eq!(
            next_link(r#"</v2/a/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?last=b&n=2")
        );
        assert_eq!(next_link(r#"</x>; rel="prev""#), None);
    }
}
