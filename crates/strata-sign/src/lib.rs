//! Signing images the way cosign does, so `cosign verify --key` accepts what strata signs and
//! strata verifies what cosign signed: key pairs in cosign's encrypted format (`key`),
//! simple-signing signatures kept beside the image as `sha256-<digest>.sig` (`signature`), and
//! their verification against public keys (`verify`). No transparency log and no certificate:
//! keys only, which is what works offline and in air-gapped sites.

pub mod attestation;
mod error;
pub mod key;
pub mod signature;
pub mod verify;

use std::path::Path;

pub use attestation::{
    attest, verify_attestations, verify_image_attestations, AttestationCheck, VerifiedAttestation,
};
pub use error::{KeyError, SignError};
pub use p256::ecdsa::{SigningKey, VerifyingKey};
pub use signature::{copy_signatures, sign_image, Signed};
pub use verify::{verify_image, ImageVerification, ManifestVerification, PublicKey, SignedBy};

/// The environment variable a private key's password is read from.
pub const PASSWORD_VARIABLE: &str = "STRATA_SIGN_PASSWORD";

/// The private key at `path`; `password` is asked for only when the key is sealed (`None`:
/// there is none to give).
pub fn read_signing_key(
    path: &Path,
    password: impl FnOnce() -> Option<zeroize::Zeroizing<String>>,
) -> Result<SigningKey, SignError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| SignError::KeyFile {
        path: shown.clone(),
        source,
    })?;
    let password = if key::is_encrypted(&text) {
        password().ok_or_else(|| SignError::NoPassword {
            path: shown.clone(),
        })?
    } else {
        zeroize::Zeroizing::new(String::new())
    };
    key::read_private_key(&text, password.as_bytes()).map_err(|source| SignError::Key {
        path: shown,
        source,
    })
}

/// The public key at `path`, named by its file.
pub fn read_public_key(path: &Path) -> Result<PublicKey, SignError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| SignError::KeyFile {
        path: shown.clone(),
        source,
    })?;
    let key = key::read_public_key(&text).map_err(|source| SignError::Key {
        path: shown.clone(),
        source,
    })?;
    Ok(PublicKey { name: shown, key })
}
