//! Reading a layer from the engine's own storage instead of an exported archive: overlay2 keeps
//! each layer's files in a `diff` directory, where a deleted path is a `0:0` character device
//! and a directory whose lower contents are hidden carries the `trusted.overlay.opaque=y`
//! attribute. strata needs a few kilobytes of each layer (dpkg status, dist-info `METADATA`,
//! `conda-meta`, R `DESCRIPTION`, os-release, `patchlevel.h`): it walks the directory, stats
//! what it passes and opens only those files — no archive, no hashing of every byte.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::error::InspectError;
use crate::layer::{is_recorded, record_path};
use crate::records::{LayerRecord, Node, RECORD_VERSION};

/// overlay's opaque-directory attributes (root and rootless engines).
const OPAQUE_ATTRIBUTES: [&str; 2] = ["trusted.overlay.opaque", "user.overlay.opaque"];

/// Read the layer stored in `root` into a record for `diff_id` (the engine's digest of it).
pub fn read_layer_directory(root: &Path, diff_id: &str) -> Result<LayerRecord, InspectError> {
    let layer_error = |source: std::io::Error| InspectError::Layer {
        layer: diff_id.to_string(),
        source,
    };
    let mut record = LayerRecord {
        version: RECORD_VERSION,
        diff_id: diff_id.to_string(),
        ..LayerRecord::default()
    };
    // The root must be readable: otherwise the caller reads the archive instead.
    fs_err::read_dir(root).map_err(layer_error)?;
    let mut pending: Vec<(PathBuf, String)> = vec![(root.to_path_buf(), String::new())];
    let mut linked = std::collections::HashSet::new();
    while let Some((directory, prefix)) = pending.pop() {
        let entries = fs_err::read_dir(&directory).map_err(layer_error)?;
        for entry in entries {
            let entry = entry.map_err(layer_error)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            let file_type = entry.file_type().map_err(layer_error)?;
            if name == ".wh..wh..opq" {
                record.opaque.push(prefix.clone());
                continue;
            }
            if let Some(deleted) = name.strip_prefix(".wh.") {
                let deleted = if prefix.is_empty() {
                    deleted.to_string()
                } else {
                    format!("{prefix}/{deleted}")
                };
                record.whiteouts.push(deleted);
                continue;
            }
            if file_type.is_char_device() {
                let metadata = entry.metadata().map_err(layer_error)?;
                if metadata.rdev() == 0 {
                    record.whiteouts.push(path);
                }
                continue;
            }
            if file_type.is_dir() {
                let opaque = OPAQUE_ATTRIBUTES.iter().any(|attribute| {
                    xattr::get(entry.path(), attribute)
                        .ok()
                        .flatten()
                        .is_some_and(|value| value == b"y")
                });
                if opaque {
                    record.opaque.push(path.clone());
                }
                pending.push((entry.path(), path));
                continue;
            }
            if file_type.is_symlink() {
                let target = fs_err::read_link(entry.path()).map_err(layer_error)?;
                record.entries.insert(
                    path,
                    Node::Symlink {
                        target: target.to_string_lossy().into_owned(),
                    },
                );
                continue;
            }
            let metadata = entry.metadata().map_err(layer_error)?;
            // Regular files' contents, a file with several names once, as an archive has it.
            if file_type.is_file()
                && (metadata.nlink() < 2 || linked.insert((metadata.dev(), metadata.ino())))
            {
                record.size += metadata.len();
            }
            if !file_type.is_file() || !is_recorded(&path) {
                continue;
            }
            let mut file = fs_err::File::open(entry.path()).map_err(layer_error)?;
            record_path(&mut record, path, true, metadata.len(), &mut file).map_err(layer_error)?;
        }
    }
    record.whiteouts.sort();
    record.opaque.sort();
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::FileFacts;

    #[test]
    fn facts_symlinks_and_whiteouts_are_read_from_a_directory() {
        let root = tempfile::tempdir().unwrap();
        let write = |path: &str, contents: &str| {
            let path = root.path().join(path);
            fs_err::create_dir_all(path.parent().unwrap()).unwrap();
            fs_err::write(path, contents).unwrap();
        };
        write("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n");
        write(
            "usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n\n",
        );
        write("usr/share/doc/big/README", &"x".repeat(1000));
        write("usr/lib/old/.wh..wh..opq", "");
        write("usr/lib/.wh.gone", "");
        fs_err::create_dir_all(root.path().join("usr/bin")).unwrap();
        std::os::unix::fs::symlink("python3.11", root.path().join("usr/bin/python3")).unwrap();
        let record = read_layer_directory(root.path(), "sha256:layer").unwrap();
        assert_eq!(record.diff_id, "sha256:layer");
        assert!(matches!(
            &record.entries["etc/os-release"],
            Node::Facts {
                facts: FileFacts::OsRelease { .. }
            }
        ));
        assert!(matches!(
            &record.entries["usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA"],
            Node::Facts {
                facts: FileFacts::PythonDistribution(_)
            }
        ));
        assert_eq!(
            record.entries["usr/bin/python3"],
            Node::Symlink {
                target: "python3.11".to_string()
            }
        );
        assert!(!record.entries.contains_key("usr/share/doc/big/README"));
        assert_eq!(record.whiteouts, ["usr/lib/gone"]);
        assert_eq!(record.opaque, ["usr/lib/old"]);
        assert!(record.size >= 1000);
    }

    #[test]
    fn an_unreadable_directory_is_an_error_for_the_caller_to_fall_back_on() {
        assert!(read_layer_directory(Path::new("/nonexistent/strata/layer"), "sha256:x").is_err());
    }
}
