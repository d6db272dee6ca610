//! Writing a file whole or not at all: the bytes go to a temporary file in the same directory,
//! which is renamed over the target. A new file gets the permissions the umask allows (`0666`
//! less it), a replaced file keeps its own; a symbolic link is
//! followed (its target is replaced, the link kept); a device or pipe (`-o /dev/stdout`) is
//! written into, never replaced.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::WriteError;

/// Write `bytes` to `path` atomically, creating its directory when missing, and flushed to
/// the disk before it replaces the old file: for what users keep (locks, Dockerfiles, reports).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    replace(path, bytes, true)
}

/// Write a cache file atomically (a reader never sees half of one), creating its directory
/// when missing, without waiting for the disk: a cache lost in a crash is read again.
pub fn write_cache_file(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    replace(path, bytes, false)
}

fn replace(path: &Path, bytes: &[u8], synced: bool) -> Result<(), WriteError> {
    let io = |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    };
    let target = match std::fs::canonicalize(path) {
        Ok(resolved) => resolved,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => path.to_path_buf(),
        Err(error) => return Err(io(error)),
    };
    let existing = std::fs::metadata(&target).ok();
    if let Some(metadata) = &existing {
        if metadata.is_dir() {
            return Err(WriteError::Directory {
                path: path.to_path_buf(),
            });
        }
        if !metadata.is_file() {
            // A device or pipe is the user's way to send output somewhere: write into it.
            return std::fs::OpenOptions::new()
                .write(true)
                .open(&target)
                .and_then(|mut file| file.write_all(bytes))
                .map_err(io);
        }
    }
    let directory: PathBuf = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&directory).map_err(io)?;
    // A new file is made as any program makes one (`0666` less the umask: a catalogue's pages
    // are served by a web server); what must stay private (a signing key) is written elsewhere.
    let mut file = tempfile::Builder::new()
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
        .tempfile_in(&directory)
        .map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    if synced {
        file.as_file().sync_all().map_err(io)?;
    }
    // A replaced file keeps its permissions.
    if let Some(metadata) = existing {
        file.as_file()
            .set_permissions(metadata.permissions())
            .map_err(io)?;
    }
    file.persist(&target).map_err(|error| io(error.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn files_are_replaced_whole_keeping_permissions_and_links() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("deep/er/requirements.lock");
        write_atomically(&path, b"one\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomically(&path, b"two\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);

        let link = directory.path().join("link.lock");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        write_atomically(&link, b"three\n").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&path).unwrap(), b"three\n");

        let error = write_atomically(directory.path(), b"x").unwrap_err();
        assert!(error.to_string().contains("is a directory"), "{error}");
    }

    #[test]
    fn new_files_get_the_permissions_the_umask_allows() {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let umask = status
            .lines()
            .find_map(|line| line.strip_prefix("Umask:"))
            .map(|mask| u32::from_str_radix(mask.trim(), 8).unwrap())
            .unwrap();
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("index.html");
        write_atomically(&path, b"<!doctype html>").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o666 & !umask, "umask {umask:o}");
    }

    #[test]
    fn cache_files_are_replaced_whole_in_new_directories() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("a/b/record.json");
        write_cache_file(&path, b"first").unwrap();
        write_cache_file(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        // Only the file itself is left: no temporary beside it.
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
    }

    #[test]
    fn devices_are_written_into_not_replaced() {
        write_atomically(Path::new("/dev/null"), b"discarded").unwrap();
        let metadata = std::fs::metadata("/dev/null").unwrap();
        assert!(std::os::unix::fs::FileTypeExt::is_char_device(
            &metadata.file_type()
        ));
    }
}

/// The files an operation is about to replace, as they were: when one output of several cannot
/// be made, [`Rollback::restore`] puts back the ones already written, so the operation leaves
/// all of its files or none.
#[derive(Debug)]
pub struct Rollback {
    saved: Vec<(PathBuf, Option<Vec<u8>>)>,
}

impl Rollback {
    /// Remember `paths` as they are now (`None`: not there).
    pub fn of(paths: &[&Path]) -> Self {
        Self {
            saved: paths
                .iter()
                .map(|path| (path.to_path_buf(), std::fs::read(path).ok()))
                .collect(),
        }
    }

    /// Put every file back as it was: rewritten, or removed when it was not there.
    pub fn restore(self) -> Result<(), WriteError> {
        for (path, contents) in self.saved {
            match contents {
                Some(bytes) => write_atomically(&path, &bytes)?,
                None => match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                    Err(source) => return Err(WriteError::Io { path, source }),
                },
            }
        }
        Ok(())
    }
}
