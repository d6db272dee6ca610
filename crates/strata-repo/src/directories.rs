//! Finding image directories: the subdirectories of a layout's folder that hold a definition
//! file. A repository may hold thousands, so each directory costs as few system calls as can
//! be: the folder is listed once (entry types come with the listing), and a definition file is
//! opened, not looked at first.

use std::path::Path;

use crate::error::RepoError;

/// Names of the subdirectories of `parent`, sorted (symbolic links to directories count). A
/// missing `parent` has none. A name that is not UTF-8 cannot name an image: it is left out,
/// and said so in `warnings`.
pub(crate) fn subdirectories(
    parent: &Path,
    warnings: &mut Vec<String>,
) -> Result<Vec<String>, RepoError> {
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
            Err(name) => warnings.push(not_utf8(&parent.join(name))),
        }
    }
    names.sort_unstable();
    Ok(names)
}

/// The warning for a directory whose name is not UTF-8.
pub(crate) fn not_utf8(path: &Path) -> String {
    format!(
        "`{}` is left out: its name is not UTF-8, so it cannot name an image or a tag",
        path.display()
    )
}

/// Names of the subdirectories of `parent` that contain `file`, sorted. A missing `parent` has
/// none.
pub(crate) fn definition_directories(
    parent: &Path,
    file: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<String>, RepoError> {
    Ok(subdirectories(parent, warnings)?
        .into_iter()
        .filter(|name| parent.join(name).join(file).is_file())
        .collect())
}

/// Whether any subdirectory of `parent` contains `file`: stops at the first.
pub(crate) fn has_definition_directory(parent: &Path, file: &str) -> Result<bool, RepoError> {
    Ok(subdirectories(parent, &mut Vec::new())?
        .iter()
        .any(|name| parent.join(name).join(file).is_file()))
}
