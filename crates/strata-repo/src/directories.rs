//! Finding image directories: the subdirectories of a layout's folder that hold a definition
//! file. A repository may hold thousands, so each directory costs as few system calls as can
//! be: the folder is listed once (entry types come with the listing), and a definition file is
//! opened, not looked at first.

use std::path::Path;

use crate::error::RepoError;

/// Names of the subdirectories of `parent`, sorted (symbolic links to directories count). A
/// missing `parent` has none.
pub(crate) fn subdirectories(parent: &Path) -> Result<Vec<String>, RepoError> {
    let entries = match fs_err::read_dir(parent) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(RepoError::ReadDir {
                path: parent.to_path_buf(),
                source,
            })
        }
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| RepoError::ReadDir {
            path: parent.to_path_buf(),
            source,
        })?;
        // The listing's type, without a `stat`; links are followed to see what they name.
        let is_directory = match entry.file_type() {
            Ok(kind) if kind.is_symlink() => entry.path().is_dir(),
            Ok(kind) => kind.is_dir(),
            Err(_) => false,
        };
        if !is_directory {
            continue;
        }
        match entry.file_name().into_string() {
            Ok(name) => names.push(name),
            Err(name) => tracing::warn!(
                "`{}` is left out: its name is not UTF-8",
                parent.join(name).display()
            ),
        }
    }
    names.sort_unstable();
    Ok(names)
}

/// Names of the subdirectories of `parent` that contain `file`, sorted. A missing `parent` has
/// none.
pub(crate) fn definition_directories(parent: &Path, file: &str) -> Result<Vec<String>, RepoError> {
    Ok(subdirectories(parent)?
        .into_iter()
        .filter(|name| parent.join(name).join(file).is_file())
        .collect())
}

/// Whether any subdirectory of `parent` contains `file`: stops at the first.
pub(crate) fn has_definition_directory(parent: &Path, file: &str) -> Result<bool, RepoError> {
    Ok(subdirectories(parent)?
        .iter()
        .any(|name| parent.join(name).join(file).is_file()))
}
