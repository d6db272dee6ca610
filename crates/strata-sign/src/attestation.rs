//! Attestations as cosign stores them: an in-toto statement (v1) about one manifest, in a DSSE
//! envelope signed over DSSE's pre-authentication encoding, kept as a layer
//! (`application/vnd.dsse.envelope.v1+json`, its `predicateType` annotated) of the OCI
//! manifest tagged `sha256-<digest>.att` beside the image. One layer per predicate type: a new
//! attestation of a type replaces the one of that type signed with the same key.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use p256::ecdsa::SigningKey;
use serde::Serialize;
use strata_digest::Digest;
use strata_registry::{ArtifactLayer, Reference, RegistryClient};

use crate::error::SignError;
use crate::signature::{
    artifact_tag, existing_layers, push_cosign_manifest, sign_bytes, verify_bytes,
    SIGNATURE_ANNOTATION,
};
use crate::verify::{PublicKey, SignedBy};

pub const DSSE_ENVELOPE: &str = "application/vnd.dsse.envelope.v1+json";
pub const IN_TOTO: &str = "application/vnd.in-toto+json";
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The predicate types strata attests.
pub const CYCLONEDX: &str = "https://cyclonedx.org/bom";
pub const SLSA_PROVENANCE: &str = "https://slsa.dev/provenance/v1";
const PREDICATE_ANNOTATION: &str = "predicateType";

/// What an attestation is about: `sbom` or `provenance`, as `strata verify --attestation`
/// names them.
pub fn predicate_type(kind: &str) -> Option<&'static str> {
    match kind {
        "sbom" => Some(CYCLONEDX),
        "provenance" => Some(SLSA_PROVENANCE),
        _ => None,
    }
}

/// DSSE's pre-authentication encoding of a payload: what is signed.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut encoded = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    encoded.extend_from_slice(payload);
    encoded
}

/// The in-toto statement that `predicate` (of `predicate_type`) holds for the manifest
/// `digest` of the repository `name`.
pub fn statement(
    name: &str,
    digest: &Digest,
    predicate_type: &str,
    predicate: &serde_json::Value,
) -> Vec<u8> {
    let hex = digest.to_string();
    let hex = hex.strip_prefix("sha256:").unwrap_or(&hex);
    serde_json::to_vec(&serde_json::json!({
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": hex}}],
        "predicateType": predicate_type,
        "predicate": predicate,
    }))
    .unwrap_or_default()
}

/// A DSSE envelope of `statement`, signed with `key`.
pub fn envelope(key: &SigningKey, statement: &[u8]) -> Vec<u8> {
    let signature = sign_bytes(key, &pae(IN_TOTO, statement));
    serde_json::to_vec(&serde_json::json!({
        "payloadType": IN_TOTO,
        "payload": STANDARD.encode(statement),
        "signatures": [{"keyid": "", "sig": signature}],
    }))
    .unwrap_or_default()
}

/// Attest `predicate` about the manifest `digest` of `repository`, signed with `key`, beside
/// the image (replacing this key's earlier attestation of the same type). Returns where.
pub async fn attest(
    registry: &RegistryClient,
    repository: &Reference,
    digest: &Digest,
    predicate_type: &str,
    predicate: serde_json::Value,
    key: &SigningKey,
) -> Result<String, SignError> {
    let target = strata_registry::with_tag(repository, &artifact_tag(digest, "att"));
    let name = strata_registry::repository_name(repository);
    let envelope = envelope(key, &statement(&name, digest, predicate_type, &predicate));
    let mut layers = existing_layers(registry, &target).await?;
    let public = PublicKey {
        name: String::new(),
        key: *key.verifying_key(),
    };
    layers.retain(|layer| {
        let same_type = layer
            .annotations
            .get(PREDICATE_ANNOTATION)
            .map(String::as_str)
            == Some(predicate_type);
        !(same_type && open_envelope(&layer.bytes, std::slice::from_ref(&public)).is_ok())
    });
    layers.push(ArtifactLayer {
        media_type: DSSE_ENVELOPE.to_string(),
        bytes: Bytes::from(envelope),
        annotations: BTreeMap::from([
            (SIGNATURE_ANNOTATION.to_string(), String::new()),
            (PREDICATE_ANNOTATION.to_string(), predicate_type.to_string()),
        ]),
    });
    push_cosign_manifest(registry, &target, &layers).await?;
    Ok(target.whole())
}

/// An attestation that verified: who signed it, and its predicate.
#[derive(Debug, Clone, Serialize)]
pub struct VerifiedAttestation {
    pub predicate_type: String,
    pub signed_by: SignedBy,
    pub predicate: serde_json::Value,
}

/// The attestations of `predicate_type` about the manifest `digest` that one of `keys`
/// signed, and the problems of those that did not verify.
pub async fn verify_attestations(
    registry: &RegistryClient,
    repository: &Reference,
    digest: &Digest,
    predicate_type: &str,
    keys: &[PublicKey],
) -> Result<(Vec<VerifiedAttestation>, Vec<String>), SignError> {
    let target = strata_registry::with_tag(repository, &artifact_tag(digest, "att"));
    let Some(artifact) = registry.artifact(&target).await? else {
        return Ok((
            Vec::new(),
            vec![format!(
                "no attestation (`{}` does not exist)",
                target.whole()
            )],
        ));
    };
    let mut verified = Vec::new();
    let mut problems = Vec::new();
    let hex = digest.to_string();
    let hex = hex.strip_prefix("sha256:").unwrap_or(&hex).to_string();
    for layer in artifact
        .layers
        .iter()
        .filter(|layer| layer.media_type == DSSE_ENVELOPE)
    {
        let (signer, statement) = match open_envelope(&layer.bytes, keys) {
            Ok(opened) => opened,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        if statement["predicateType"].as_str() != Some(predicate_type) {
            continue;
        }
        let about_this = statement["subject"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|subject| subject["digest"]["sha256"].as_str() == Some(hex.as_str()));
        if !about_this {
            problems.push(format!(
                "a {predicate_type} attestation by `{}` about another image",
                signer.key
            ));
            continue;
        }
        verified.push(VerifiedAttestation {
            predicate_type: predicate_type.to_string(),
            signed_by: signer,
            predicate: statement["predicate"].clone(),
        });
    }
    if verified.is_empty() && problems.is_empty() {
        problems.push(format!("no {predicate_type} attestation"));
    }
    Ok((verified, problems))
}

/// The signer and statement of a DSSE envelope one of `keys` signed.
fn open_envelope(
    bytes: &[u8],
    keys: &[PublicKey],
) -> Result<(SignedBy, serde_json::Value), String> {
    let envelope: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|error| format!("a damaged envelope: {error}"))?;
    let payload_type = envelope["payloadType"].as_str().unwrap_or_default();
    let payload = STANDARD
        .decode(envelope["payload"].as_str().unwrap_or_default())
        .map_err(|error| format!("an envelope whose payload is not base64: {error}"))?;
    let encoded = pae(payload_type, &payload);
    let signer = envelope["signatures"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|signature| signature["sig"].as_str())
        .find_map(|signature| {
            keys.iter()
                .find(|key| verify_bytes(&key.key, &encoded, signature))
        })
        .ok_or_else(|| {
            "an attestation none of the keys signed (or changed after signing)".to_string()
        })?;
    if payload_type != IN_TOTO {
        return Err(format!(
            "an envelope of `{payload_type}`, not an in-toto statement"
        ));
    }
    let statement: serde_json::Value = serde_json::from_slice(&payload)
        .map_err(|error| format!("a signed statement that is not JSON: {error}"))?;
    Ok((
        SignedBy {
            key: signer.name.clone(),
            fingerprint: crate::key::fingerprint(&signer.key),
        },
        statement,
    ))
}

/// One image manifest's attestations of a type.
#[derive(Debug, Clone, Serialize)]
pub struct AttestationCheck {
    pub digest: Digest,
    pub platform: Option<String>,
    pub verified: Vec<VerifiedAttestation>,
    pub problems: Vec<String>,
}

/// The attestations of `predicate_type` of each image manifest of `image` (each platform's;
/// an index is not attested, its platforms are).
pub async fn verify_image_attestations(
    registry: &RegistryClient,
    reference: &Reference,
    image: &crate::verify::ImageVerification,
    predicate_type: &str,
    keys: &[PublicKey],
) -> Result<Vec<AttestationCheck>, SignError> {
    let is_index = image.manifests.len() > 1;
    let mut checks = Vec::new();
    for manifest in &image.manifests {
        if is_index && manifest.platform.is_none() {
            continue;
        }
        let (verified, problems) =
            verify_attestations(registry, reference, &manifest.digest, predicate_type, keys)
                .await?;
        checks.push(AttestationCheck {
            digest: manifest.digest.clone(),
            platform: manifest.platform.clone(),
            verified,
            problems,
        });
    }
    Ok(checks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_is_dsse_s_encoding() {
        // DSSE's specification example: type "http://example.com/HelloWorld", body "hello world".
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }

    #[test]
    fn an_envelope_opens_with_its_key_only_and_names_its_subject() {
        let key = crate::key::generate();
        let digest = Digest::sha256(b"manifest");
        let statement = statement(
            "registry/sci",
            &digest,
            CYCLONEDX,
            &serde_json::json!({"bomFormat": "CycloneDX"}),
        );
        let sealed = envelope(&key, &statement);
        let public = PublicKey {
            name: "k.pub".to_string(),
            key: *key.verifying_key(),
        };
        let (signer, opened) = open_envelope(&sealed, std::slice::from_ref(&public)).unwrap();
        assert_eq!(signer.key, "k.pub");
        assert_eq!(
            opened["subject"][0]["digest"]["sha256"],
            digest.to_string()[7..]
        );
        assert_eq!(opened["predicateType"], CYCLONEDX);
        let other = PublicKey {
            name: "o.pub".to_string(),
            key: *crate::key::generate().verifying_key(),
        };
        assert!(open_envelope(&sealed, &[other]).is_err());
        // The payload changed after signing.
        let mut value: serde_json::Value = serde_json::from_slice(&sealed).unwrap();
        value["payload"] = serde_json::json!(STANDARD.encode(b"{}"));
        assert!(open_envelope(&serde_json::to_vec(&value).unwrap(), &[public]).is_err());
    }
}
