//! `strata key generate` and `strata verify`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;
use strata_cli::{KeyCommand, KeyGenerateArgs, VerifyArgs};
use strata_session::Session;

use crate::exit_status::ExitStatus;
use crate::printer::Printer;

use super::signing::password;

/// `strata key …`.
pub fn key(command: &KeyCommand, printer: &Printer) -> anyhow::Result<ExitStatus> {
    match command {
        KeyCommand::Generate(arguments) => generate(arguments, printer),
    }
}

#[derive(Serialize)]
struct Generated {
    private_key: PathBuf,
    public_key: PathBuf,
    fingerprint: String,
}

fn generate(arguments: &KeyGenerateArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let with_extension = |extension: &str| {
        let mut name = arguments.output.clone().into_os_string();
        name.push(format!(".{extension}"));
        PathBuf::from(name)
    };
    let (private, public) = (with_extension("key"), with_extension("pub"));
    if !arguments.force {
        for path in [&private, &public] {
            if path.exists() {
                anyhow::bail!(
                    "`{}` exists: choose another name with `-o NAME`, or replace it with `--force`",
                    path.display()
                );
            }
        }
    }
    let secret = if std::env::var_os(strata_sign::PASSWORD_VARIABLE).is_some() {
        password("").context("cannot read the password")?
    } else {
        let first = password("Password for the new private key: ").with_context(|| {
            format!(
                "no password: set `{}` (or run in a terminal to be asked)",
                strata_sign::PASSWORD_VARIABLE
            )
        })?;
        let again = password("The password again: ").unwrap_or_default();
        if *first != *again {
            anyhow::bail!("the two passwords differ; nothing was written");
        }
        first
    };
    let key = strata_sign::key::generate();
    let sealed = strata_sign::key::encrypt_private_key(&key, secret.as_bytes())?;
    let public_pem = strata_sign::key::public_key_pem(key.verifying_key())?;
    write_private(&private, sealed.as_bytes())?;
    strata_fs::write_atomically(&public, public_pem.as_bytes())?;
    let fingerprint = strata_sign::key::fingerprint(key.verifying_key());
    if arguments.json {
        let mut text = serde_json::to_string_pretty(&Generated {
            private_key: private.clone(),
            public_key: public.clone(),
            fingerprint: fingerprint.clone(),
        })?;
        text.push('\n');
        printer.data(&text);
    }
    printer.info(&format!(
        "wrote `{}` (private, mode 0600) and `{}` ({fingerprint})",
        private.display(),
        public.display()
    ));
    Ok(ExitStatus::Success)
}

/// Write the private key readable by its owner only, from the first byte: a file made 0600
/// in the same directory, then renamed over the target.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let directory = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let temporary = directory.join(format!(
        ".{}.{}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written.with_context(|| format!("cannot write the private key `{}`", path.display()))
}

#[derive(Serialize)]
struct Report<'a> {
    verified: bool,
    images: &'a [strata_sign::ImageVerification],
    /// Per image (in order), per attestation kind asked for, per platform manifest.
    attestations: &'a [Vec<(String, Vec<strata_sign::AttestationCheck>)>],
}

/// `strata verify IMAGE… --key PUB…`.
pub fn verify(
    arguments: &VerifyArgs,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let keys = arguments
        .key
        .iter()
        .map(|path| strata_sign::read_public_key(path))
        .collect::<Result<Vec<_>, _>>()?;
    let references = arguments
        .images
        .iter()
        .map(|image| strata_registry::parse_reference(image))
        .collect::<Result<Vec<_>, _>>()?;
    let registry = session.registry();
    let (checked, attestations) = session.block_on(async {
        let mut checked = Vec::new();
        let mut attestations = Vec::new();
        for reference in &references {
            let image = strata_sign::verify_image(registry, reference, &keys).await?;
            let mut kinds = Vec::new();
            for kind in &arguments.attestation {
                let predicate =
                    strata_sign::attestation::predicate_type(kind.name()).unwrap_or_default();
                let checks = strata_sign::verify_image_attestations(
                    registry, reference, &image, predicate, &keys,
                )
                .await?;
                kinds.push((kind.name().to_string(), checks));
            }
            checked.push(image);
            attestations.push(kinds);
        }
        Ok::<_, strata_sign::SignError>((checked, attestations))
    })??;
    let attested = attestations
        .iter()
        .flatten()
        .all(|(_, checks)| checks.iter().all(|check| !check.verified.is_empty()));
    let verified = checked.iter().all(strata_sign::ImageVerification::verified) && attested;
    if arguments.json {
        let mut text = serde_json::to_string_pretty(&Report {
            verified,
            images: &checked,
            attestations: &attestations,
        })?;
        text.push('\n');
        printer.data(&text);
    } else {
        for image in &checked {
            for manifest in &image.manifests {
                let what = match &manifest.platform {
                    Some(platform) => format!("{} ({platform})", image.reference),
                    None => image.reference.clone(),
                };
                if manifest.signed_by.is_empty() {
                    printer.data(&format!(
                        "{what} {}: NOT VERIFIED: {}\n",
                        manifest.digest,
                        manifest.problems.join("; ")
                    ));
                } else {
                    let signers: Vec<String> = manifest
                        .signed_by
                        .iter()
                        .map(|signer| format!("{} ({})", signer.key, signer.fingerprint))
                        .collect();
                    printer.data(&format!(
                        "{what} {}: signed by {}\n",
                        manifest.digest,
                        signers.join(", ")
                    ));
                }
            }
        }
        for (image, kinds) in checked.iter().zip(&attestations) {
            for (kind, checks) in kinds {
                for check in checks {
                    let what = match &check.platform {
                        Some(platform) => format!("{} ({platform})", image.reference),
                        None => image.reference.clone(),
                    };
                    match check.verified.first() {
                        Some(found) => printer.data(&format!(
                            "{what} {}: {kind} attested by {}\n",
                            check.digest, found.signed_by.key
                        )),
                        None => printer.data(&format!(
                            "{what} {}: {kind} NOT VERIFIED: {}\n",
                            check.digest,
                            check.problems.join("; ")
                        )),
                    }
                }
            }
        }
    }
    if verified {
        printer.info(&format!(
            "verified: every manifest of {} image(s) is signed by a given key",
            checked.len()
        ));
        Ok(ExitStatus::Success)
    } else {
        printer.error("not verified: a manifest above has no valid signature (or attestation) by the given keys");
        Ok(ExitStatus::Problems)
    }
}
