//! Reading one layer tar (plain or gzip) into a [`LayerRecord`]: whiteouts, symlinks, interpreter
//! executables and the parsed facts of the files that carry them, while hashing the uncompressed
//! bytes to learn (or check) the layer's digest. Hostile input is contained: entries whose path
//! escapes the root are skipped with a warning, fact files are read only up to a limit, and
//! nothing is ever written to disk.

use std::io::{BufRead, BufReader, Read};

use sha2::{Digest as _, Sha256};
use strata_registry::Digest;

use crate::error::InspectError;
use crate::parsers;
use crate::records::{FileFacts, LayerRecord, Node, RECORD_VERSION};

/// The most of a `METADATA`/`PKG-INFO` header strata reads.
const METADATA_LIMIT: u64 = 64 * 1024;
/// The most of any other fact file strata reads (a dpkg status of 30,000 packages is ~60 MB).
const FACT_FILE_LIMIT: u64 = 128 * 1024 * 1024;

/// A reader that hashes and counts what passes through it.
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// Read what is left, then return `sha256:<hex>` and the byte count.
    pub fn finish(mut self) -> std::io::Result<(String, u64)> {
        std::io::copy(&mut self, &mut std::io::sink())?;
        Ok((Digest::from_hasher(self.hasher).to_string(), self.count))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.hasher.update(&buffer[..read]);
        self.count += read as u64;
        Ok(read)
    }
}

/// How a layer blob is compressed, from its first bytes.
pub(crate) fn decompressed<'a, R: Read + 'a>(
    reader: R,
    label: &str,
) -> Result<Box<dyn Read + 'a>, InspectError> {
    let mut buffered = BufReader::with_capacity(64 * 1024, reader);
    let head = buffered.fill_buf().map_err(|source| InspectError::Layer {
        layer: label.to_string(),
        source,
    })?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(buffered)))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Err(InspectError::Unsupported {
            layer: label.to_string(),
            what: "zstd-compressed layers".to_string(),
        })
    } else {
        Ok(Box::new(buffered))
    }
}

/// Read a layer (compressed or not) into a record. `label` names it in errors.
pub fn read_layer<R: Read>(reader: R, label: &str) -> Result<LayerRecord, InspectError> {
    let hashing = HashingReader::new(decompressed(reader, label)?);
    let layer_error = |source: std::io::Error| InspectError::Layer {
        layer: label.to_string(),
        source,
    };
    let mut archive = tar::Archive::new(hashing);
    let mut record = LayerRecord {
        version: RECORD_VERSION,
        ..LayerRecord::default()
    };
    for entry in archive.entries().map_err(layer_error)? {
        let entry = entry.map_err(layer_error)?;
        read_entry(entry, &mut record).map_err(layer_error)?;
    }
    let (diff_id, _archive_bytes) = archive.into_inner().finish().map_err(layer_error)?;
    record.diff_id = diff_id;
    Ok(record)
}

/// Hash a layer without reading its entries: its digest and size.
pub fn hash_layer<R: Read>(reader: R, label: &str) -> Result<(String, u64), InspectError> {
    HashingReader::new(decompressed(reader, label)?)
        .finish()
        .map_err(|source| InspectError::Layer {
            layer: label.to_string(),
            source,
        })
}

/// `./usr//lib/` → `usr/lib`; `None` when a `..` component would leave the root.
pub(crate) fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

fn read_entry<R: Read>(
    mut entry: tar::Entry<'_, R>,
    record: &mut LayerRecord,
) -> std::io::Result<()> {
    let raw_path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
    let Some(path) = normalize(&raw_path) else {
        record.warnings.push(format!(
            "entry `{raw_path}` escapes the image root; skipped"
        ));
        return Ok(());
    };
    if path.is_empty() {
        return Ok(());
    }
    let (parent, name) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
    let join = |child: &str| {
        if parent.is_empty() {
            child.to_string()
        } else {
            format!("{parent}/{child}")
        }
    };
    if name == ".wh..wh..opq" {
        record.opaque.push(parent.to_string());
        return Ok(());
    }
    if let Some(deleted) = name.strip_prefix(".wh.") {
        record.whiteouts.push(join(deleted));
        return Ok(());
    }
    let entry_type = entry.header().entry_type();
    if entry_type.is_symlink() {
        if let Some(target) = entry.link_name_bytes() {
            let target = String::from_utf8_lossy(&target).into_owned();
            record.entries.insert(path, Node::Symlink { target });
        }
        return Ok(());
    }
    let size = entry.size();
    // A hard link's entry has no contents of its own: its file was counted where it first was.
    if entry_type.is_file() {
        record.size += size;
    }
    record_path(record, path, entry_type.is_file(), size, &mut entry)
}

/// Record a (normalized) path of a layer that is not a symlink or whiteout, whatever the layer
/// is stored as: interpreter executables by name, fact files by their parsed contents (read from
/// `contents` up to a limit).
pub(crate) fn record_path(
    record: &mut LayerRecord,
    path: String,
    is_file: bool,
    size: u64,
    contents: &mut dyn Read,
) -> std::io::Result<()> {
    let Some(kind) = classify(&path) else {
        return Ok(());
    };
    // A later entry of the same path in one layer replaces an earlier one.
    record.entries.remove(&path);
    if kind == Kind::Executable {
        record.entries.insert(path, Node::Executable);
        return Ok(());
    }
    if !is_file {
        return Ok(());
    }
    let limit = if matches!(kind, Kind::PythonMetadata) {
        METADATA_LIMIT
    } else {
        FACT_FILE_LIMIT
    };
    if size > limit && !matches!(kind, Kind::PythonMetadata) {
        record.warnings.push(format!(
            "`{path}` is {size} bytes, over the {limit}-byte limit; skipped"
        ));
        return Ok(());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size.min(limit)).unwrap_or(0));
    contents.take(limit).read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    let facts = match kind {
        Kind::OsRelease => Some(FileFacts::OsRelease {
            fields: parsers::os_release(&text),
        }),
        Kind::DpkgStatus => Some(FileFacts::Dpkg {
            packages: parsers::dpkg_status(&text, true),
        }),
        Kind::DpkgStatusD => Some(FileFacts::Dpkg {
            packages: parsers::dpkg_status(&text, false),
        }),
        Kind::PythonMetadata => {
            if size > limit && !text.contains("\n\n") {
                record.warnings.push(format!(
                    "`{path}` has a header over {limit} bytes; read the first {limit}"
                ));
            }
            parsers::python_metadata(&text).map(FileFacts::PythonDistribution)
        }
        Kind::Conda => {
            parsers::conda_meta(&bytes).map(|package| FileFacts::Conda(Box::new(package)))
        }
        Kind::CondaActivation => {
            let prefix = path
                .rsplit_once("etc/conda/activate.d/")
                .map_or("", |(prefix, _)| prefix);
            Some(FileFacts::CondaActivation {
                variables: parsers::activation_script(&text, prefix),
            })
        }
        Kind::RDescription => parsers::r_description(&text).map(FileFacts::R),
        Kind::PatchLevel => parsers::patchlevel_version(&text)
            .map(|version| FileFacts::PythonPatchLevel { version }),
        Kind::Pyvenv => Some(FileFacts::Pyvenv {
            version: parsers::pyvenv_version(&text),
            system_site_packages: parsers::pyvenv_system_site_packages(&text),
        }),
        Kind::Copyright => Some(FileFacts::Copyright {
            licenses: parsers::dep5_licenses(&text),
        })
        .filter(|facts| !matches!(facts, FileFacts::Copyright { licenses } if licenses.is_empty())),
        Kind::Executable => None,
    };
    if let Some(facts) = facts {
        record.entries.insert(path, Node::Facts { facts });
    }
    Ok(())
}

/// Whether a path is one strata records (a fact file or an interpreter), so a directory walk
/// opens only those.
pub(crate) fn is_recorded(path: &str) -> bool {
    classify(path).is_some()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    OsRelease,
    DpkgStatus,
    DpkgStatusD,
    PythonMetadata,
    Conda,
    CondaActivation,
    RDescription,
    PatchLevel,
    Pyvenv,
    Copyright,
    Executable,
}

fn is_site_directory(name: &str) -> bool {
    name == "site-packages" || name == "dist-packages"
}

/// Which paths carry facts.
fn classify(path: &str) -> Option<Kind> {
    if path == "etc/os-release" || path == "usr/lib/os-release" {
        return Some(Kind::OsRelease);
    }
    if path == "var/lib/dpkg/status" {
        return Some(Kind::DpkgStatus);
    }
    if let Some(rest) = path.strip_prefix("usr/share/doc/") {
        if rest
            .split_once('/')
            .is_some_and(|(package, file)| !package.is_empty() && file == "copyright")
        {
            return Some(Kind::Copyright);
        }
    }
    if let Some(file) = path.strip_prefix("var/lib/dpkg/status.d/") {
        return (!file.contains('/') && !file.contains('.')).then_some(Kind::DpkgStatusD);
    }
    let components: Vec<&str> = path.split('/').collect();
    let count = components.len();
    let name = components[count - 1];
    let parent = if count >= 2 {
        components[count - 2]
    } else {
        ""
    };
    let grandparent = if count >= 3 {
        components[count - 3]
    } else {
        ""
    };
    match name {
        "METADATA" if parent.ends_with(".dist-info") && is_site_directory(grandparent) => {
            Some(Kind::PythonMetadata)
        }
        "PKG-INFO" if parent.ends_with(".egg-info") && is_site_directory(grandparent) => {
            Some(Kind::PythonMetadata)
        }
        _ if name.ends_with(".egg-info") && is_site_directory(parent) => Some(Kind::PythonMetadata),
        _ if parent == "conda-meta"
            && std::path::Path::new(name)
                .extension()
                .is_some_and(|extension| extension.eq_ignore_ascii_case("json")) =>
        {
            Some(Kind::Conda)
        }
        _ if parent == "activate.d"
            && path.contains("etc/conda/activate.d/")
            && name.ends_with(".sh") =>
        {
            Some(Kind::CondaActivation)
        }
        "DESCRIPTION" if grandparent == "library" || grandparent == "site-library" => {
            Some(Kind::RDescription)
        }
        "patchlevel.h" if parent.starts_with("python") && grandparent == "include" => {
            Some(Kind::PatchLevel)
        }
        "pyvenv.cfg" => Some(Kind::Pyvenv),
        _ if parent == "bin" && is_interpreter_name(name) => Some(Kind::Executable),
        _ => None,
    }
}

/// `python`, `python3`, `python3.11`, `R`.
pub(crate) fn is_interpreter_name(name: &str) -> bool {
    name == "R"
        || name.strip_prefix("python").is_some_and(|rest| {
            rest.chars()
                .all(|character| character.is_ascii_digit() || character == '.')
        })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn layer(entries: &[(&str, &[u8])], symlinks: &[(&str, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, contents) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(contents.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            builder.append_data(&mut header, path, *contents).unwrap();
        }
        for (path, target) in symlinks {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_size(0);
            builder.append_link(&mut header, path, target).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn records_facts_whiteouts_and_symlinks() {
        let bytes = layer(
            &[
                ("etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n"),
                (
                    "usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA",
                    b"Name: six\nVersion: 1.16.0\n\nbody",
                ),
                ("usr/lib/python3/dist-packages/.wh.old-1.0.dist-info", b""),
                ("opt/conda/.wh..wh..opq", b""),
                ("usr/bin/python3.11", b"\x7fELF"),
                ("usr/share/doc/readme", b"ignored"),
            ],
            &[("usr/bin/python3", "python3.11")],
        );
        let record = read_layer(bytes.as_slice(), "test").unwrap();
        assert_eq!(
            record.whiteouts,
            ["usr/lib/python3/dist-packages/old-1.0.dist-info"]
        );
        assert_eq!(record.opaque, ["opt/conda"]);
        assert_eq!(
            record.entries["usr/bin/python3"],
            Node::Symlink {
                target: "python3.11".to_string()
            }
        );
        assert_eq!(record.entries["usr/bin/python3.11"], Node::Executable);
        assert!(!record.entries.contains_key("usr/share/doc/readme"));
        // The files' contents (whiteouts are empty), not the archive's headers and padding.
        let contents = b"ID=debian\nVERSION_ID=\"12\"\n".len()
            + b"Name: six\nVersion: 1.16.0\n\nbody".len()
            + b"\x7fELF".len()
            + b"ignored".len();
        assert_eq!(record.size, contents as u64);
        assert_eq!(
            record.diff_id,
            format!("sha256:{:x}", Sha256::digest(&bytes))
        );
    }

    #[test]
    fn gzip_layers_hash_their_uncompressed_bytes() {
        let bytes = layer(&[("etc/os-release", b"ID=alpine\n")], &[]);
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut encoder, &bytes).unwrap();
        let compressed = encoder.finish().unwrap();
        let record = read_layer(compressed.as_slice(), "gz").unwrap();
        assert_eq!(
            record.diff_id,
            format!("sha256:{:x}", Sha256::digest(&bytes))
        );
        assert_eq!(
            hash_layer(compressed.as_slice(), "gz").unwrap().0,
            record.diff_id
        );
    }

    #[test]
    fn hostile_paths_and_huge_metadata_are_contained() {
        let mut huge = b"Name: big\nVersion: 1.0\n".to_vec();
        huge.extend(std::iter::repeat_n(b'x', 200_000));
        let mut builder = tar::Builder::new(Vec::new());
        // `tar::Builder` refuses `..`; write the raw name into the header as a hostile tool would.
        let mut header = tar::Header::new_old();
        header.as_old_mut().name[..18].copy_from_slice(b"../../etc/passwd\0\0");
        header.set_size(4);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder.append(&header, &b"root"[..]).unwrap();
        let mut header = tar::Header::new_gnu();
        header.set_size(huge.len() as u64);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(
                &mut header,
                "lib/site-packages/big-1.0.dist-info/METADATA",
                huge.as_slice(),
            )
            .unwrap();
        let bytes = builder.into_inner().unwrap();
        let record = read_layer(bytes.as_slice(), "hostile").unwrap();
        assert!(
            record
                .warnings
                .iter()
                .any(|warning| warning.contains("escapes the image root")),
            "{:?}",
            record.warnings
        );
        assert!(
            record
                .warnings
                .iter()
                .any(|warning| warning.contains("header over")),
            "{:?}",
            record.warnings
        );
        assert!(matches!(
            &record.entries["lib/site-packages/big-1.0.dist-info/METADATA"],
            Node::Facts { facts: FileFacts::PythonDistribution(package) } if package.name == "big"
        ));
    }

    #[test]
    fn corrupt_gzip_is_an_error_naming_the_layer() {
        let mut bytes = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
        bytes.extend_from_slice(b"not deflate at all, definitely not");
        let error = read_layer(bytes.as_slice(), "sha256:bad").unwrap_err();
        assert!(error.to_string().contains("sha256:bad"), "{error}");
    }
}
