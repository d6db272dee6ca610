//! Writing a command's data: to stdout, or atomically to a file (a temporary file in the same
//! directory, renamed into place, so readers never see half a file; a replaced file keeps its
//! permissions).

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use crate::printer::Printer;

pub fn write_output(output: Option<&Path>, text: &str, printer: &Printer) -> anyhow::Result<()> {
    let Some(path) = output else {
        printer.data(text);
        return Ok(());
    };
    write_atomically(path, text.as_bytes())?;
    printer.info(&format!("wrote `{}`", path.display()));
    Ok(())
}

pub fn write_atomically(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(directory).with_context(|| {
        format!(
            "cannot create a temporary file in `{}`",
            directory.display()
        )
    })?;
    file.write_all(contents)
        .and_then(|()| file.as_file().sync_all())
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    // A replaced file keeps its permissions (a temporary file starts private).
    if let Ok(metadata) = fs_err::metadata(path) {
        file.as_file()
            .set_permissions(metadata.permissions())
            .with_context(|| format!("cannot keep the permissions of `{}`", path.display()))?;
    }
    file.persist(path)
        .with_context(|| format!("cannot replace `{}`", path.display()))?;
    Ok(())
}

/// `1 package`, `2 packages`.
pub fn counted(count: usize, singular: &str, plural: &str) -> String {
    if count == 1 {
        format!("1 {singular}")
    } else {
        format!("{count} {plural}")
    }
}
