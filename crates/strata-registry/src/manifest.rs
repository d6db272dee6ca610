//! Manifests as bytes: kept exactly as the registry served them, so copying one to another tag
//! or repository keeps its digest. Parsed only for what strata needs: the blobs an image
//! manifest names and the platform manifests of an index.

use bytes::Bytes;
use serde::Deserialize;
use strata_digest::Digest;

use crate::error::RegistryError;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// The `Accept` header for manifests: every media type strata can copy and read.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// A manifest exactly as served.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// `sha256:` of `bytes`.
    pub digest: Digest,
    pub media_type: String,
    pub bytes: Bytes,
}

/// A content descriptor: a blob or a manifest of an index.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: Digest,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub platform: Option<Platform>,
}

/// The platform of an index entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
}

impl Platform {
    /// The platform of this machine's engine: linux and this CPU, in Go's names.
    pub fn host() -> Self {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "powerpc64" => "ppc64le",
            other => other,
        };
        Self {
            os: "linux".to_string(),
            architecture: architecture.to_string(),
            variant: None,
        }
    }

    /// `linux/arm64/v8` → a platform.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('/');
        let os = parts.next()?.to_string();
        let architecture = parts.next()?.to_string();
        let variant = parts.next().map(str::to_string);
        Some(Self {
            os,
            architecture,
            variant,
        })
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(formatter, "/{variant}")?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestFields {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
}

impl Manifest {
    /// A manifest from bytes and the media type the registry gave (or, when it gave none, the
    /// one the manifest names).
    pub fn new(bytes: Bytes, content_type: Option<&str>) -> Self {
        let digest = Digest::sha256(&bytes);
        let named = serde_json::from_slice::<ManifestFields>(&bytes)
            .ok()
            .and_then(|fields| fields.media_type);
        let media_type = content_type
            .map(|value| value.split(';').next().unwrap_or(value).trim().to_string())
            .filter(|value| value.contains("manifest") || value.contains("index"))
            .or(named)
            .unwrap_or_else(|| OCI_MANIFEST.to_string());
        Self {
            digest,
            media_type,
            bytes,
        }
    }

    fn fields(&self, reference: &str) -> Result<ManifestFields, RegistryError> {
        serde_json::from_slice(&self.bytes).map_err(|source| RegistryError::Manifest {
            reference: reference.to_string(),
            source,
        })
    }

    /// Whether this is an index (a multi-platform manifest list).
    pub fn is_index(&self) -> bool {
        self.media_type == OCI_INDEX || self.media_type == DOCKER_MANIFEST_LIST
    }

    /// The platform manifests of an index.
    pub fn children(&self, reference: &str) -> Result<Vec<Descriptor>, RegistryError> {
        Ok(self.fields(reference)?.manifests.unwrap_or_default())
    }

    /// The config blob of an image manifest.
    pub fn config(&self, reference: &str) -> Result<Descriptor, RegistryError> {
        self.fields(reference)?
            .config
            .ok_or_else(|| RegistryError::Invalid {
                reference: reference.to_string(),
                message: "the manifest names no config".to_string(),
            })
    }

    /// The layer blobs of an image manifest, bottom first.
    pub fn layers(&self, reference: &str) -> Result<Vec<Descriptor>, RegistryError> {
        Ok(self.fields(reference)?.layers)
    }

    /// Every blob of an image manifest: config, then layers.
    pub fn blobs(&self, reference: &str) -> Result<Vec<Descriptor>, RegistryError> {
        let fields = self.fields(reference)?;
        Ok(fields.config.into_iter().chain(fields.layers).collect())
    }

    /// The index entry for `platform` (a missing variant matches any).
    pub fn child_for(
        &self,
        reference: &str,
        platform: &Platform,
    ) -> Result<Option<Descriptor>, RegistryError> {
        Ok(self.children(reference)?.into_iter().find(|child| {
            child.platform.as_ref().is_some_and(|candidate| {
                candidate.os == platform.os
                    && candidate.architecture == platform.architecture
                    && (platform.variant.is_none() || candidate.variant == platform.variant)
            })
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_children_and_platforms() {
        let bytes = Bytes::from_static(br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":10,"platform":{"os":"linux","architecture":"amd64"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","size":11,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}}]}"#);
        let manifest = Manifest::new(bytes.clone(), None);
        assert!(manifest.is_index());
        assert_eq!(manifest.digest, Digest::sha256(&bytes));
        let arm = manifest
            .child_for("x", &Platform::parse("linux/arm64").unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(
            arm.digest,
            "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
        );
        assert!(manifest
            .child_for("x", &Platform::parse("linux/s390x").unwrap())
            .unwrap()
            .is_none());
    }

    #[test]
    fn content_type_wins_over_the_body_and_parameters_are_dropped() {
        let manifest = Manifest::new(
            Bytes::from_static(br#"{"schemaVersion":2,"config":{"digest":"sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc","size":1},"layers":[{"digest":"sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd","size":2}]}"#),
            Some("application/vnd.docker.distribution.manifest.v2+json; charset=utf-8"),
        );
        assert_eq!(manifest.media_type, DOCKER_MANIFEST);
        assert!(!manifest.is_index());
        let blobs: Vec<Digest> = manifest
            .blobs("x")
            .unwrap()
            .into_iter()
            .map(|blob| blob.digest)
            .collect();
        assert_eq!(
            blobs,
            [
                "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
                "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
            ]
        );
    }

    #[test]
    fn a_manifest_naming_a_malformed_digest_is_refused_with_the_digest_named() {
        let manifest = Manifest::new(
            Bytes::from_static(
                br#"{"schemaVersion":2,"config":{"digest":"sha256:c","size":1},"layers":[]}"#,
            ),
            Some(OCI_MANIFEST),
        );
        let error = manifest.blobs("registry.test/x:1").unwrap_err();
        assert!(error.to_string().contains("registry.test/x:1"), "{error}");
        let cause = std::error::Error::source(&error).unwrap().to_string();
        assert!(cause.contains("`sha256:c` is not a digest"), "{cause}");
    }
}
