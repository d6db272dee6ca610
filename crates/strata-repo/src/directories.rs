//! Finding image directories: the subdirectories of a layout's folder that hold a definition
//! file.

use std::path::Path;

use crate::error::RepoError;

/// Names of the subdirectories of `parent` that contain `file`, sorted. A missing `parent` has
/// none.
pub(crate) fn definition_directories(parent: &Path, file: &str) -> Result<Vec<String>, RepoError> {
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
        let path = entry.path();
        if path.join(file).is_file() {
            if let Some(name) = path.file_name().and_then(|name| name.to_str()) {
                names.push(name.to_string());
            }
        }
    }
    names.sort_unstable();
    Ok(names)
}
