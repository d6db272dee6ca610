//! Writing a command's data: to stdout, or atomically to a file (a temporary file in the same
//! directory, renamed into place, so readers never see half a file; a replaced file keeps its
//! permissions).

use std::path::Path;

use crate::printer::Printer;

pub fn write_output(output: Option<&Path>, text: &str, printer: &Printer) -> anyhow::Result<()> {
    let Some(path) = output else {
        printer.data(text);
        return Ok(());
    };
    strata_fs::write_atomically(path, text.as_bytes())?;
    printer.info(&format!("wrote `{}`", path.display()));
    Ok(())
}

pub use strata_diagnostic::counted;
