//! Reading an image's manifest and config from a registry, without pulling it into an engine.
//! Loopback registries are spoken to over plain HTTP, as Docker does.

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
    /// Layer digests, bottom first.
    pub layers: Vec<String>,
}

fn is_loopback(host: &str) -> bool {
    let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    name == "localhost" || name.starts_with("127.") || name == "[::1]"
}

/// Fetch the manifest and config of `reference`, with the user's credentials for its registry.
pub async fn fetch_image(reference: &str) -> Result<RemoteImage, RegistryError> {
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
    let (manifest, digest, config) = client
        .pull_manifest_and_config(&parsed, &auth)
        .await
        .map_err(|source| RegistryError::Fetch {
            reference: reference.to_string(),
            source,
        })?;
    let config = serde_json::from_str(&config).map_err(|source| RegistryError::Config {
        reference: reference.to_string(),
        source,
    })?;
    Ok(RemoteImage {
        digest,
        config,
        layers: manifest
            .layers
            .iter()
            .map(|layer| layer.digest.clone())
            .collect(),
    })
}
