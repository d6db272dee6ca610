//! Keys for `--sign` and `strata key generate`, and where their passwords come from:
//! `STRATA_SIGN_PASSWORD`, else the terminal, never an argument.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use strata_sign::{SigningKey, PASSWORD_VARIABLE};
use zeroize::Zeroizing;

/// The password of a key, from the environment or, on a terminal, asked for.
pub fn password(prompt: &str) -> Option<Zeroizing<String>> {
    if let Some(value) = std::env::var_os(PASSWORD_VARIABLE) {
        return Some(Zeroizing::new(value.to_string_lossy().into_owned()));
    }
    if !std::io::stdin().is_terminal() {
        return None;
    }
    rpassword::prompt_password(prompt).ok().map(Zeroizing::new)
}

/// The key `--sign KEY` names, else `[sign] key` of `strata.toml` (relative to the
/// repository), read and opened now: a wrong password fails before anything is built.
pub fn signing_key(
    argument: Option<&Path>,
    repository: &strata_repo::Repository,
) -> anyhow::Result<Option<Arc<SigningKey>>> {
    let path: Option<PathBuf> = match argument {
        Some(path) => Some(path.to_path_buf()),
        None => repository
            .config
            .sign
            .key
            .as_ref()
            .map(|key| repository.root.join(key)),
    };
    let Some(path) = path else {
        return Ok(None);
    };
    let prompt = format!("Password for `{}`: ", path.display());
    let key = strata_sign::read_signing_key(&path, || password(&prompt))?;
    Ok(Some(Arc::new(key)))
}

/// One line per base `[trust]` verified, with who signed it.
pub fn report_trusted(trusted: &[strata_select::TrustedBase], printer: &crate::printer::Printer) {
    for base in trusted {
        let signers: Vec<&str> = base
            .signed_by
            .iter()
            .map(|signer| signer.key.as_str())
            .collect();
        printer.info(&format!(
            "base `{}` verified: signed by {} (`[trust] \"{}\"`)",
            base.base,
            signers.join(", "),
            base.pattern
        ));
    }
}
