//! What can go wrong reading keys, signing and verifying.

use strata_diagnostic::{Diagnostic, ExitClass};

/// A key file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("it is not a PEM key file (no `-----BEGIN …-----` and `-----END …-----` block)")]
    NotPem,
    #[error("it is a `{0}` PEM, not a private key")]
    NotPrivate(String),
    #[error("it is a `{0}` PEM, not a public key (`PUBLIC KEY`)")]
    NotPublic(String),
    #[error("the password does not open it (or the key is damaged)")]
    WrongPassword,
    #[error("it is damaged: {0}")]
    Malformed(String),
    #[error("cannot encode the key: {0}")]
    Encode(String),
}

/// Signing or verifying an image.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("cannot read the key `{path}`")]
    Key {
        path: String,
        #[source]
        source: KeyError,
    },
    #[error("cannot read the key `{path}`")]
    KeyFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("no password for the private key `{path}`: set `STRATA_SIGN_PASSWORD` (or run in a terminal to be asked)")]
    NoPassword { path: String },
    #[error(transparent)]
    Registry(#[from] strata_registry::RegistryError),
    #[error("the signature artifact `{reference}` is damaged: {message}")]
    Damaged { reference: String, message: String },
}

impl Diagnostic for KeyError {
    fn exit_class(&self) -> Option<ExitClass> {
        match self {
            Self::Encode(_) => None,
            _ => Some(ExitClass::Input),
        }
    }
}

impl Diagnostic for SignError {
    fn exit_class(&self) -> Option<ExitClass> {
        match self {
            Self::Key { .. } | Self::KeyFile { .. } | Self::NoPassword { .. } => {
                Some(ExitClass::Input)
            }
            Self::Registry(source) => source.exit_class(),
            Self::Damaged { .. } => Some(ExitClass::Problems),
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            Self::Key {
                source: KeyError::WrongPassword,
                ..
            } => Some("check `STRATA_SIGN_PASSWORD`: it must be the password the key was written with".to_string()),
            Self::Key { .. } | Self::KeyFile { .. } => Some(
                "`strata key generate` writes a key pair; keys written by `cosign generate-key-pair` are read too".to_string(),
            ),
            Self::Registry(source) => source.hint(),
            _ => None,
        }
    }
}
