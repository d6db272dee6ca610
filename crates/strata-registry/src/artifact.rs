//! Small OCI artifacts: a manifest whose config is the empty descriptor (`{}`) and whose data
//! is in its annotations and, optionally, small layers. Registries without the referrers API
//! (the reference registry, most users' own) keep them under a tag of their own beside the
//! image; strata keeps a pipeline job's tagger tags this way.

use std::collections::BTreeMap;

use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::json;

use crate::error::RegistryError;
use crate::manifest::{Manifest, OCI_MANIFEST};
use crate::reference::Reference;
use crate::RegistryClient;
use strata_digest::Digest;

/// The OCI empty descriptor's media type and content.
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
/// An OCI image config's media type.
pub const OCI_IMAGE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const EMPTY: &[u8] = b"{}";
/// The largest artifact layer read.
const MAX_ARTIFACT_LAYER: u64 = 64 << 20;
/// What a removed tag points at for the moment between its removal's two requests.
const UNTAGGED_ARTIFACT: &str = "application/vnd.strata.untagged.v1";
const UNTAGGED_ANNOTATION: &str = "org.strata.untagged";

/// One blob of an artifact: its media type, bytes and annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactLayer {
    pub media_type: String,
    pub bytes: Bytes,
    pub annotations: BTreeMap<String, String>,
}

/// An artifact as read back: its type, annotations and layers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub digest: Digest,
    pub artifact_type: Option<String>,
    pub annotations: BTreeMap<String, String>,
    pub layers: Vec<ArtifactLayer>,
}

impl RegistryClient {
    /// Store an artifact of `artifact_type` under `target` (a tag): its config is the empty
    /// descriptor, its data in `annotations` and `layers`. Returns the manifest's digest.
    pub async fn push_artifact(
        &self,
        target: &Reference,
        artifact_type: &str,
        annotations: &BTreeMap<String, String>,
        layers: &[ArtifactLayer],
    ) -> Result<Digest, RegistryError> {
        let config = ArtifactLayer {
            media_type: EMPTY_MEDIA_TYPE.to_string(),
            bytes: Bytes::from_static(EMPTY),
            annotations: BTreeMap::new(),
        };
        self.push_oci_manifest(target, Some(artifact_type), &config, layers, annotations)
            .await
    }

    /// Store an OCI image manifest under `target` made of `config` and `layers` (small blobs,
    /// uploaded first unless the repository has them). Returns the manifest's digest.
    pub async fn push_oci_manifest(
        &self,
        target: &Reference,
        artifact_type: Option<&str>,
        config: &ArtifactLayer,
        layers: &[ArtifactLayer],
        annotations: &BTreeMap<String, String>,
    ) -> Result<Digest, RegistryError> {
        let descriptor = |blob: &ArtifactLayer, digest: &Digest| {
            let mut descriptor = json!({
                "mediaType": blob.media_type,
                "digest": digest.to_string(),
                "size": blob.bytes.len(),
            });
            if !blob.annotations.is_empty() {
                descriptor["annotations"] = json!(blob.annotations);
            }
            descriptor
        };
        let config_digest = Digest::sha256(&config.bytes);
        self.ensure_blob(target, &config_digest, config.bytes.clone())
            .await?;
        let mut descriptors = Vec::new();
        for layer in layers {
            let digest = Digest::sha256(&layer.bytes);
            self.ensure_blob(target, &digest, layer.bytes.clone())
                .await?;
            descriptors.push(descriptor(layer, &digest));
        }
        let mut manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor(config, &config_digest),
            "layers": descriptors,
        });
        if let Some(artifact_type) = artifact_type {
            manifest["artifactType"] = json!(artifact_type);
        }
        if !annotations.is_empty() {
            manifest["annotations"] = json!(annotations);
        }
        let bytes = serde_json::to_vec(&manifest).map_err(|source| RegistryError::Manifest {
            reference: target.whole(),
            source,
        })?;
        let manifest = Manifest::new(Bytes::from(bytes), Some(OCI_MANIFEST));
        self.put_manifest(target, &manifest).await?;
        Ok(manifest.digest)
    }

    /// The artifact under `reference`, layers included; `None` when there is no such tag. A
    /// layer over 64 MiB is refused before it is read (an artifact is small: signatures, SBOMs,
    /// tag lists).
    pub async fn artifact(&self, reference: &Reference) -> Result<Option<Artifact>, RegistryError> {
        let Some(manifest) = self.manifest_if_exists(reference).await? else {
            return Ok(None);
        };
        let fields: serde_json::Value =
            serde_json::from_slice(&manifest.bytes).map_err(|source| RegistryError::Manifest {
                reference: reference.whole(),
                source,
            })?;
        let mut layers = Vec::new();
        for layer in fields["layers"].as_array().into_iter().flatten() {
            let digest = layer["digest"]
                .as_str()
                .and_then(|digest| Digest::parse(digest).ok())
                .ok_or_else(|| RegistryError::Invalid {
                    reference: reference.whole(),
                    message: "an artifact layer has no valid digest".to_string(),
                })?;
            let size = layer["size"].as_u64().unwrap_or(u64::MAX);
            if size > MAX_ARTIFACT_LAYER {
                return Err(RegistryError::Invalid {
                    reference: reference.whole(),
                    message: format!(
                        "an artifact layer of {size} bytes (at most {MAX_ARTIFACT_LAYER} are read)"
                    ),
                });
            }
            layers.push(ArtifactLayer {
                media_type: layer["mediaType"].as_str().unwrap_or_default().to_string(),
                bytes: self.blob_bytes(reference, digest.as_ref()).await?,
                annotations: string_map(&layer["annotations"]),
            });
        }
        Ok(Some(Artifact {
            digest: manifest.digest,
            artifact_type: fields["artifactType"].as_str().map(str::to_string),
            annotations: string_map(&fields["annotations"]),
            layers,
        }))
    }

    /// Remove the tag `reference` names without deleting the manifest it points at (which
    /// other tags may share): registries without tag deletion (the distribution API deletes
    /// manifests only) get the tag pointed at an artifact unique to it, which is then deleted.
    pub async fn remove_tag(&self, reference: &Reference) -> Result<(), RegistryError> {
        let annotations = BTreeMap::from([(UNTAGGED_ANNOTATION.to_string(), reference.whole())]);
        let digest = self
            .push_artifact(reference, UNTAGGED_ARTIFACT, &annotations, &[])
            .await?;
        self.delete_manifest(reference, &digest).await?;
        Ok(())
    }

    /// Upload a small blob unless the repository has it.
    async fn ensure_blob(
        &self,
        target: &Reference,
        digest: &Digest,
        bytes: Bytes,
    ) -> Result<(), RegistryError> {
        if self.blob_exists(target, digest.as_ref()).await? {
            return Ok(());
        }
        let size = bytes.len() as u64;
        let stream = futures_util::stream::once(async move { Ok(bytes) }).boxed();
        self.upload_blob(target, digest.as_ref(), size, stream)
            .await?;
        Ok(())
    }
}

fn string_map(value: &serde_json::Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_string())))
        .collect()
}
