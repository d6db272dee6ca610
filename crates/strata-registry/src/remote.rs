//! Reading images straight from a registry: manifest, config and layer blobs, with the user's
//! credentials. Loopback registries are spoken to over plain HTTP, as Docker does.

use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use crate::credentials::{credentials_for, registry_host, Credentials};
use crate::error::RegistryError;

/// An image as a registry serves it.
#[derive(Debug, Clone)]
pub struct RemoteImage {
    /// The manifest digest, `sha256:...`.
    pub digest: String,
    /// The image config (`config.Labels`, `rootfs`, `history`, ...).
    pub config: serde_json::Value,
    /// Layer blobs, bottom first.
    pub layers: Vec<RemoteLayer>,
}

/// One layer blob of a manifest.
#[derive(Debug, Clone)]
pub struct RemoteLayer {
    /// Digest of the blob as stored (usually gzip-compressed).
    pub digest: String,
    pub size: u64,
    pub media_type: String,
}

/// A connection to the registry of one image reference.
pub struct Registry {
    client: Client,
    reference: Reference,
    text: String,
    auth: RegistryAuth,
}

fn is_loopback(host: &str) -> bool {
    let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    name == "localhost" || name.starts_with("127.") || name == "[::1]"
}

impl Registry {
    /// Prepare to read `reference`, with the credentials configured for its registry.
    pub fn new(reference: &str) -> Result<Self, RegistryError> {
        let parsed: Reference = reference
            .parse()
            .map_err(|source| RegistryError::Reference {
                reference: reference.to_string(),
                source,
            })?;
        let host = registry_host(reference).to_string();
        let protocol = if is_loopback(&host) {
            ClientProtocol::HttpsExcept(vec![host])
        } else {
            ClientProtocol::Https
        };
        let client = Client::new(ClientConfig {
            protocol,
            ..ClientConfig::default()
        });
        let auth = match credentials_for(reference)? {
            Some(Credentials::UsernamePassword { username, password }) => {
                RegistryAuth::Basic(username, password)
            }
            Some(Credentials::IdentityToken(token)) => RegistryAuth::Bearer(token),
            None => RegistryAuth::Anonymous,
        };
        Ok(Self {
            client,
            reference: parsed,
            text: reference.to_string(),
            auth,
        })
    }

    fn fetch_error(&self, source: oci_client::errors::OciDistributionError) -> RegistryError {
        RegistryError::Fetch {
            reference: self.text.clone(),
            source,
        }
    }

    /// The manifest and config.
    pub async fn image(&self) -> Result<RemoteImage, RegistryError> {
        let (manifest, digest, config) = self
            .client
            .pull_manifest_and_config(&self.reference, &self.auth)
            .await
            .map_err(|source| self.fetch_error(source))?;
        let config = serde_json::from_str(&config).map_err(|source| RegistryError::Config {
            reference: self.text.clone(),
            source,
        })?;
        Ok(RemoteImage {
            digest,
            config,
            layers: manifest
                .layers
                .iter()
                .map(|layer| RemoteLayer {
                    digest: layer.digest.clone(),
                    size: u64::try_from(layer.size).unwrap_or(0),
                    media_type: layer.media_type.clone(),
                })
                .collect(),
        })
    }

    /// A layer blob, streamed. The client checks the blob's digest as it reads.
    pub async fn blob(
        &self,
        digest: &str,
    ) -> Result<BoxStream<'static, std::io::Result<bytes::Bytes>>, RegistryError> {
        let sized = self
            .client
            .pull_blob_stream(&self.reference, digest)
            .await
            .map_err(|source| self.fetch_error(source))?;
        Ok(sized.stream.boxed())
    }
}

/// Fetch the manifest and config of `reference`.
pub async fn fetch_image(reference: &str) -> Result<RemoteImage, RegistryError> {
    Registry::new(reference)?.image().await
}
