//! `strata verify`: an image's signatures (every platform's manifest and the index of a
//! multi-platform image), checked against public keys.

use p256::ecdsa::VerifyingKey;
use serde::Serialize;
use strata_digest::Digest;
use strata_registry::{Reference, RegistryClient};

use crate::error::SignError;
use crate::signature::{
    artifact_tag, claimed_digest, layer_signature, verify_bytes, SIMPLE_SIGNING,
};

/// A public key and the name it is shown by (its file).
#[derive(Debug, Clone)]
pub struct PublicKey {
    pub name: String,
    pub key: VerifyingKey,
}

/// One manifest's signatures.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestVerification {
    pub digest: Digest,
    /// `os/arch` of a platform's manifest in an index; `None` for the index or a plain image.
    pub platform: Option<String>,
    /// The keys (name and fingerprint) whose valid signature it carries.
    pub signed_by: Vec<SignedBy>,
    /// How many signatures are kept beside it, whoever made them (0: it is not signed).
    pub signatures: usize,
    /// Why other signatures, or none, count: what failed.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedBy {
    pub key: String,
    pub fingerprint: String,
}

/// An image's verification: every manifest it is made of.
#[derive(Debug, Clone, Serialize)]
pub struct ImageVerification {
    pub reference: String,
    pub digest: Digest,
    pub manifests: Vec<ManifestVerification>,
}

impl ManifestVerification {
    /// The keys that verified it, as `name (fingerprint)`.
    pub fn signers(&self) -> Vec<String> {
        self.signed_by
            .iter()
            .map(|signer| format!("{} ({})", signer.key, signer.fingerprint))
            .collect()
    }
}

impl ImageVerification {
    /// Every manifest carries a valid signature by one of the keys.
    pub fn verified(&self) -> bool {
        !self.manifests.is_empty()
            && self
                .manifests
                .iter()
                .all(|manifest| !manifest.signed_by.is_empty())
    }
}

/// Check the signatures of the image `reference` names (its tag resolved once, so every check
/// is of one digest) against `keys`.
pub async fn verify_image(
    registry: &RegistryClient,
    reference: &Reference,
    keys: &[PublicKey],
) -> Result<ImageVerification, SignError> {
    let manifest = registry.manifest(reference).await?;
    let mut manifests = vec![(manifest.digest.clone(), None)];
    if manifest.is_index() {
        for child in manifest.children(&reference.whole())? {
            let platform = child.platform.as_ref().map(|platform| {
                let mut text = format!("{}/{}", platform.os, platform.architecture);
                if let Some(variant) = &platform.variant {
                    text = format!("{text}/{variant}");
                }
                text
            });
            // Attestation manifests BuildKit puts in an index are not images.
            if platform.as_deref() == Some("unknown/unknown") {
                continue;
            }
            manifests.push((child.digest, platform));
        }
    }
    let mut checked = Vec::new();
    for (digest, platform) in manifests {
        checked.push(verify_manifest(registry, reference, &digest, platform, keys).await?);
    }
    Ok(ImageVerification {
        reference: reference.whole(),
        digest: manifest.digest,
        manifests: checked,
    })
}

/// The signatures kept for the manifest `digest` of `repository`'s repository.
pub async fn verify_manifest(
    registry: &RegistryClient,
    repository: &Reference,
    digest: &Digest,
    platform: Option<String>,
    keys: &[PublicKey],
) -> Result<ManifestVerification, SignError> {
    let tag = strata_registry::with_tag(repository, &artifact_tag(digest, "sig"));
    let mut verification = ManifestVerification {
        digest: digest.clone(),
        platform,
        signed_by: Vec::new(),
        signatures: 0,
        problems: Vec::new(),
    };
    let Some(artifact) = registry.artifact(&tag).await? else {
        verification
            .problems
            .push(format!("no signature (`{}` does not exist)", tag.whole()));
        return Ok(verification);
    };
    for layer in artifact
        .layers
        .iter()
        .filter(|layer| layer.media_type == SIMPLE_SIGNING)
    {
        verification.signatures += 1;
        let signature = layer_signature(layer);
        let Some(signer) = keys
            .iter()
            .find(|key| verify_bytes(&key.key, &layer.bytes, signature))
        else {
            verification.problems.push(if signature.is_empty() {
                "a signature layer without a signature annotation".to_string()
            } else {
                "a signature none of the keys made (or a payload changed after signing)".to_string()
            });
            continue;
        };
        match claimed_digest(&layer.bytes) {
            Some(claimed) if claimed == *digest => {
                let by = SignedBy {
                    key: signer.name.clone(),
                    fingerprint: crate::key::fingerprint(&signer.key),
                };
                if !verification.signed_by.contains(&by) {
                    verification.signed_by.push(by);
                }
            }
            Some(claimed) => verification.problems.push(format!(
                "a signature by `{}` of another image ({claimed})",
                signer.name
            )),
            None => verification.problems.push(format!(
                "a signature by `{}` whose payload names no image digest",
                signer.name
            )),
        }
    }
    if artifact.layers.is_empty() {
        verification
            .problems
            .push(format!("`{}` holds no signature", tag.whole()));
    }
    Ok(verification)
}
