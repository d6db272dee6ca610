//! Errors reading and writing users' files: each names the path, and what is wrong with it.

use std::path::PathBuf;

use strata_diagnostic::{Diagnostic, ExitClass};

/// A file strata was given that it cannot read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` is {kind}, not a regular file", path.display())]
    NotAFile { path: PathBuf, kind: &'static str },
    #[error("`{}` is larger than the {} MiB strata reads from one input file", path.display(), limit / (1024 * 1024))]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("`{}` is not UTF-8 text: line {line}, column {column} has the byte 0x{byte:02x}", path.display())]
    NotText {
        path: PathBuf,
        line: usize,
        column: usize,
        byte: u8,
    },
}

impl InputError {
    /// Whether the file does not exist (callers often have a better message for that).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }

    /// The file the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            Self::Io { path, .. }
            | Self::NotAFile { path, .. }
            | Self::TooLarge { path, .. }
            | Self::NotText { path, .. } => path,
        }
    }
}

impl Diagnostic for InputError {
    fn exit_class(&self) -> Option<ExitClass> {
        Some(ExitClass::Input)
    }

    fn hint(&self) -> Option<String> {
        match self {
            Self::NotText { .. } => Some(
                "save the file as UTF-8 (`iconv -f LATIN1 -t UTF-8` converts a Latin-1 file)"
                    .to_string(),
            ),
            Self::NotAFile { .. } => {
                Some("give the path of a file (a symbolic link to one is fine)".to_string())
            }
            Self::TooLarge { .. } | Self::Io { .. } => None,
        }
    }
}

/// A file strata could not write; the file that was there (if any) is unchanged.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` is a directory: give a file path", path.display())]
    Directory { path: PathBuf },
}

impl Diagnostic for WriteError {
    fn exit_class(&self) -> Option<ExitClass> {
        Some(ExitClass::Input)
    }
}
