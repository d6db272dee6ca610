//! `strata key` and `strata verify`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Args)]
pub struct KeyArgs {
    #[command(subcommand)]
    pub command: KeyCommand,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Write a signing key pair in cosign's format: NAME.key (ECDSA P-256, encrypted with a
    /// password, mode 0600) and NAME.pub.
    ///
    /// The password comes from `STRATA_SIGN_PASSWORD`, else it is asked for twice on the
    /// terminal; it is never an argument. `cosign verify --key NAME.pub` accepts what strata
    /// signs with NAME.key, and strata reads keys `cosign generate-key-pair` wrote.
    Generate(KeyGenerateArgs),
}

#[derive(Debug, Args)]
pub struct KeyGenerateArgs {
    /// The files' name without extension: NAME.key and NAME.pub.
    #[arg(short, long, value_name = "NAME", default_value = "cosign")]
    pub output: PathBuf,
    /// Replace key files that exist.
    #[arg(long)]
    pub force: bool,
    /// Print the files written and the key's fingerprint as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Images (`registry/name:tag` or `name@sha256:…`): each manifest of each (every platform
    /// of a multi-platform image, and its index) must carry a valid signature.
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
    /// A public key (`PUBLIC KEY` PEM, as `strata key generate` or cosign write it); repeat for
    /// several: a signature by any of them counts.
    #[arg(long, required = true, value_name = "PUB")]
    pub key: Vec<PathBuf>,
    /// Also check each platform manifest's attestation of this kind: a signed in-toto
    /// statement about that very manifest (`sbom`: CycloneDX; `provenance`: SLSA v1).
    #[arg(long, value_enum, value_name = "KIND")]
    pub attestation: Vec<AttestationKind>,
    /// Print each manifest's signers and problems as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AttestationKind {
    Sbom,
    Provenance,
}

impl AttestationKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sbom => "sbom",
            Self::Provenance => "provenance",
        }
    }
}
