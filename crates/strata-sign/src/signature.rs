//! Image signatures as cosign stores them (its `specs/SIGNATURE_SPEC.md`): a simple-signing
//! payload naming the manifest digest, signed with ECDSA P-256 over SHA-256 (DER, base64),
//! kept as a layer of an OCI manifest tagged `sha256-<hex>.sig` in the image's repository, the
//! signature in the layer's `dev.cosignproject.cosign/signature` annotation. Several signatures
//! are several layers of that one manifest.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use serde::Serialize;
use strata_digest::Digest;
use strata_registry::{ArtifactLayer, Reference, RegistryClient};

use crate::error::SignError;

pub const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
const SIGNATURE_TYPE: &str = "cosign container image signature";

/// The tag a digest's signatures (`sig`) or attestations (`att`) are kept under.
pub fn artifact_tag(digest: &Digest, suffix: &str) -> String {
    format!("{}.{suffix}", digest.to_string().replace(':', "-"))
}

/// The simple-signing payload for the manifest `digest` of `repository` (as cosign writes it:
/// `critical.identity.docker-reference`, `critical.image.docker-manifest-digest`,
/// `critical.type`, `optional`).
pub fn payload(repository: &str, digest: &Digest) -> Vec<u8> {
    let value = serde_json::json!({
        "critical": {
            "identity": {"docker-reference": repository},
            "image": {"docker-manifest-digest": digest.to_string()},
            "type": SIGNATURE_TYPE,
        },
        "optional": null,
    });
    serde_json::to_vec(&value).unwrap_or_default()
}

/// A signature of `bytes`: DER, base64 (cosign's annotation value).
pub fn sign_bytes(key: &SigningKey, bytes: &[u8]) -> String {
    let signature: Signature = key.sign(bytes);
    STANDARD.encode(signature.to_der().as_bytes())
}

/// Whether `signature` (base64 DER, or base64 of the 64-byte fixed form) signs `bytes`.
pub fn verify_bytes(key: &VerifyingKey, bytes: &[u8], signature: &str) -> bool {
    let Ok(raw) = STANDARD.decode(signature.trim()) else {
        return false;
    };
    let parsed = Signature::from_der(&raw).or_else(|_| Signature::from_slice(&raw));
    parsed.is_ok_and(|signature| key.verify(bytes, &signature).is_ok())
}

/// What signing one manifest did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signed {
    /// `repository@digest` of what was signed.
    pub image: String,
    /// Where the signature is kept.
    pub signature: String,
    /// `false`: the same key had signed it already; nothing was pushed.
    pub pushed: bool,
}

/// Sign the manifest `digest` of `repository` with `key` and store the signature beside it
/// (added to the signatures already there; signing twice with one key adds nothing: ECDSA
/// here is deterministic, RFC 6979).
pub async fn sign_image(
    registry: &RegistryClient,
    repository: &Reference,
    digest: &Digest,
    key: &SigningKey,
) -> Result<Signed, SignError> {
    let target = strata_registry::with_tag(repository, &artifact_tag(digest, "sig"));
    let name = strata_registry::repository_name(repository);
    let payload = payload(&name, digest);
    let signature = sign_bytes(key, &payload);
    let mut layers = existing_layers(registry, &target).await?;
    let image = format!("{name}@{digest}");
    let already = layers.iter().any(|layer| {
        layer.media_type == SIMPLE_SIGNING
            && verify_bytes(key.verifying_key(), &layer.bytes, layer_signature(layer))
            && claimed_digest(&layer.bytes).as_ref() == Some(digest)
    });
    if already {
        return Ok(Signed {
            image,
            signature: target.whole(),
            pushed: false,
        });
    }
    layers.push(ArtifactLayer {
        media_type: SIMPLE_SIGNING.to_string(),
        bytes: Bytes::from(payload),
        annotations: std::collections::BTreeMap::from([(
            SIGNATURE_ANNOTATION.to_string(),
            signature,
        )]),
    });
    push_cosign_manifest(registry, &target, &layers).await?;
    Ok(Signed {
        image,
        signature: target.whole(),
        pushed: true,
    })
}

/// Copy the signatures (`.sig`) and attestations (`.att`) of the manifest `digest` from
/// `source`'s repository to `target`'s, added to what the target has (a promote to another
/// repository keeps the image verifiable there). Returns the references written.
pub async fn copy_signatures(
    registry: &RegistryClient,
    source: &Reference,
    target: &Reference,
    digest: &Digest,
) -> Result<Vec<String>, SignError> {
    let mut written = Vec::new();
    for suffix in ["sig", "att"] {
        let tag = artifact_tag(digest, suffix);
        let from = strata_registry::with_tag(source, &tag);
        let Some(artifact) = registry.artifact(&from).await? else {
            continue;
        };
        let to = strata_registry::with_tag(target, &tag);
        let mut layers = existing_layers(registry, &to).await?;
        let before = layers.len();
        let same_registry = source.registry() == target.registry();
        for layer in artifact.layers {
            if !layers.contains(&layer) {
                // The payload is linked into the target repository, not sent again (a
                // registry that declines the mount gets the few bytes uploaded).
                if same_registry {
                    let digest = Digest::sha256(&layer.bytes).to_string();
                    registry.mount_blob(target, source, &digest).await?;
                }
                layers.push(layer);
            }
        }
        if layers.len() > before {
            push_cosign_manifest(registry, &to, &layers).await?;
            written.push(to.whole());
        }
    }
    Ok(written)
}

/// The layers of the artifact under `target`, when there is one.
pub(crate) async fn existing_layers(
    registry: &RegistryClient,
    target: &Reference,
) -> Result<Vec<ArtifactLayer>, SignError> {
    Ok(registry
        .artifact(target)
        .await?
        .map(|artifact| artifact.layers)
        .unwrap_or_default())
}

/// Store `layers` as cosign does: an OCI image manifest whose config is an image config
/// listing the layers as its diff ids.
pub(crate) async fn push_cosign_manifest(
    registry: &RegistryClient,
    target: &Reference,
    layers: &[ArtifactLayer],
) -> Result<Digest, SignError> {
    let diff_ids: Vec<String> = layers
        .iter()
        .map(|layer| Digest::sha256(&layer.bytes).to_string())
        .collect();
    let config = serde_json::json!({
        "architecture": "",
        "config": {},
        "created": "0001-01-01T00:00:00Z",
        "history": layers.iter().map(|_| serde_json::json!({"created": "0001-01-01T00:00:00Z"})).collect::<Vec<_>>(),
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    });
    let config = ArtifactLayer {
        media_type: strata_registry::OCI_IMAGE_CONFIG.to_string(),
        bytes: Bytes::from(serde_json::to_vec(&config).unwrap_or_default()),
        annotations: std::collections::BTreeMap::new(),
    };
    Ok(registry
        .push_oci_manifest(
            target,
            None,
            &config,
            layers,
            &std::collections::BTreeMap::new(),
        )
        .await?)
}

pub(crate) fn layer_signature(layer: &ArtifactLayer) -> &str {
    layer
        .annotations
        .get(SIGNATURE_ANNOTATION)
        .map_or("", String::as_str)
}

/// The manifest digest a simple-signing payload names.
pub(crate) fn claimed_digest(payload: &[u8]) -> Option<Digest> {
    let value: serde_json::Value = serde_json::from_slice(payload).ok()?;
    let image = &value["critical"]["image"];
    // cosign writes `docker-manifest-digest`; older payloads `Docker-manifest-digest`.
    let text = image["docker-manifest-digest"]
        .as_str()
        .or_else(|| image["Docker-manifest-digest"].as_str())?;
    Digest::parse(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_names_the_digest_and_its_signature_verifies_with_the_key_only() {
        let digest = Digest::sha256(b"manifest");
        let payload = payload("registry.example/sci/base", &digest);
        assert_eq!(claimed_digest(&payload), Some(digest.clone()));
        let value: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(value["critical"]["type"], SIGNATURE_TYPE);
        let key = crate::key::generate();
        let signature = sign_bytes(&key, &payload);
        assert!(verify_bytes(key.verifying_key(), &payload, &signature));
        // Deterministic: the same key signs the same payload the same way.
        assert_eq!(signature, sign_bytes(&key, &payload));
        let other = crate::key::generate();
        assert!(!verify_bytes(other.verifying_key(), &payload, &signature));
        let mut tampered = payload.clone();
        tampered[10] ^= 1;
        assert!(!verify_bytes(key.verifying_key(), &tampered, &signature));
        assert!(!verify_bytes(key.verifying_key(), &payload, "not base64!"));
        assert_eq!(
            artifact_tag(&digest, "sig"),
            format!("sha256-{}.sig", &digest.to_string()[7..])
        );
    }
}
