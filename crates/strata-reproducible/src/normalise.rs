//! Rewriting one layer tar so that the same files always give the same bytes: entries in a
//! canonical order (path components compared in turn, the order a directory walk gives), file
//! times clamped to `SOURCE_DATE_EPOCH`, no access or change times, one header format, hard
//! links pointing at the first of their names in that order, and a gzip stream with no name
//! and no time in its header. Contents, modes, owners, link targets, device numbers and
//! extended attributes are kept as they are; paths on the scrub list are dropped.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};
use sha2::{Digest, Sha256};
use tar::EntryType;

use crate::error::ReproducibleError;

/// The gzip level strata writes layers with. Part of what makes a digest: changing it changes
/// every digest, so it is fixed.
pub const GZIP_LEVEL: u32 = 6;

/// Paths dropped from the layers of one image while normalising (`scrub` in `strata.toml`):
/// absolute or relative paths with `*`, `?` and `[...]` inside one component and `**` across
/// components; a path names a directory's whole contents too.
#[derive(Debug, Clone, Default)]
pub struct Scrub {
    patterns: Vec<glob::Pattern>,
}

impl Scrub {
    pub fn new(patterns: &[String]) -> Result<Self, ReproducibleError> {
        let patterns = patterns
            .iter()
            .map(|pattern| {
                let text = pattern.trim_start_matches('/').trim_end_matches('/');
                glob::Pattern::new(text).map_err(|error| ReproducibleError::Scrub {
                    pattern: pattern.clone(),
                    message: error.msg.to_string(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { patterns })
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether `path` (relative, no trailing slash) or a directory above it is scrubbed.
    pub fn matches(&self, path: &str) -> bool {
        let options = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: false,
        };
        let mut prefix = path;
        loop {
            if self
                .patterns
                .iter()
                .any(|pattern| pattern.matches_with(prefix, options))
            {
                return true;
            }
            match prefix.rfind('/') {
                Some(position) => prefix = &prefix[..position],
                None => return false,
            }
        }
    }
}

/// What normalising one layer gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalisedLayer {
    /// `sha256:` of the normalised, uncompressed tar.
    pub diff_id: String,
    /// `sha256:` of the gzip blob.
    pub digest: String,
    /// Bytes of the gzip blob.
    pub size: u64,
    /// Bytes of the normalised tar.
    pub uncompressed_size: u64,
    /// Paths dropped by the scrub list (relative, as in the layer).
    pub scrubbed: Vec<String>,
}

/// One entry of the input, with where its data is.
#[derive(Debug, Clone)]
struct Item {
    /// Relative path, no leading `./` or `/`, no trailing `/`.
    path: Vec<u8>,
    kind: EntryType,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    size: u64,
    offset: u64,
    link: Option<Vec<u8>>,
    username: Vec<u8>,
    groupname: Vec<u8>,
    device: (u32, u32),
    /// `SCHILY.xattr.*` records, sorted.
    xattrs: Vec<(String, Vec<u8>)>,
}

/// The path as entries are compared and written: relative, without `./`, `/` or a trailing
/// slash.
pub fn clean_path(path: &[u8]) -> Vec<u8> {
    let mut path = path;
    loop {
        if let Some(rest) = path.strip_prefix(b"./") {
            path = rest;
        } else if let Some(rest) = path.strip_prefix(b"/") {
            path = rest;
        } else {
            break;
        }
    }
    while let Some(rest) = path.strip_suffix(b"/") {
        path = rest;
    }
    path.to_vec()
}

/// The canonical order of paths: component by component, so a directory's contents follow it
/// directly (`a`, `a/b`, `a.txt`).
pub fn canonical_order(left: &[u8], right: &[u8]) -> Ordering {
    left.split(|byte| *byte == b'/')
        .cmp(right.split(|byte| *byte == b'/'))
}

/// Read the entries of a layer tar (seekable), without their data.
fn read_items(input: &mut File, label: &str) -> Result<Vec<Item>, ReproducibleError> {
    let layer_error = |source| ReproducibleError::Layer {
        layer: label.to_string(),
        source,
    };
    input.seek(SeekFrom::Start(0)).map_err(layer_error)?;
    let mut archive = tar::Archive::new(&mut *input);
    let mut items = Vec::new();
    for entry in archive.entries_with_seek().map_err(layer_error)? {
        let mut entry = entry.map_err(layer_error)?;
        let header = entry.header().clone();
        let kind = header.entry_type();
        if matches!(
            kind,
            EntryType::XGlobalHeader | EntryType::XHeader | EntryType::GNULongName
        ) {
            continue;
        }
        let path = clean_path(&entry.path_bytes());
        if path.is_empty() {
            // `./` itself: the root's metadata is the engine's, not the layer's.
            continue;
        }
        let link = entry.link_name_bytes().map(std::borrow::Cow::into_owned);
        let mut xattrs = Vec::new();
        if let Some(extensions) = entry.pax_extensions().map_err(layer_error)? {
            for extension in extensions {
                let extension = extension.map_err(layer_error)?;
                if let Ok(key) = extension.key() {
                    if key.starts_with("SCHILY.xattr.") {
                        xattrs.push((key.to_string(), extension.value_bytes().to_vec()));
                    }
                }
            }
        }
        xattrs.sort();
        let number = |value: std::io::Result<u64>| value.unwrap_or(0);
        items.push(Item {
            path,
            kind,
            mode: header.mode().unwrap_or(0o644),
            uid: number(header.uid()),
            gid: number(header.gid()),
            mtime: number(header.mtime()),
            size: if kind.is_file() || kind == EntryType::Continuous {
                entry.size()
            } else {
                0
            },
            offset: entry.raw_file_position(),
            link: link.map(|link| {
                if kind.is_hard_link() {
                    clean_path(&link)
                } else {
                    link
                }
            }),
            username: header.username_bytes().unwrap_or_default().to_vec(),
            groupname: header.groupname_bytes().unwrap_or_default().to_vec(),
            device: (
                header.device_major().ok().flatten().unwrap_or(0),
                header.device_minor().ok().flatten().unwrap_or(0),
            ),
            xattrs,
        });
    }
    Ok(items)
}

/// Sort, keep the last of repeated paths (what extracting the tar would leave), and make every
/// hard link point at the first of its names in canonical order.
fn canonicalise(mut items: Vec<Item>) -> Vec<Item> {
    // Stable: among repeated paths the input order survives, and the last is kept.
    items.sort_by(|left, right| canonical_order(&left.path, &right.path));
    let mut unique: Vec<Item> = Vec::with_capacity(items.len());
    for item in items {
        match unique.last_mut() {
            Some(last) if last.path == item.path => *last = item,
            _ => unique.push(item),
        }
    }
    let mut items = unique;
    let position: HashMap<Vec<u8>, usize> = items
        .iter()
        .enumerate()
        .map(|(index, item)| (item.path.clone(), index))
        .collect();
    // Hard-link groups: the regular file and every link to it.
    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for (index, item) in items.iter().enumerate() {
        if item.kind.is_hard_link() {
            if let Some(target) = item.link.as_ref().and_then(|link| position.get(link)) {
                if items[*target].kind.is_file() {
                    groups.entry(*target).or_default().push(index);
                }
            }
        }
    }
    for (target, links) in groups {
        let first = links
            .iter()
            .copied()
            .chain([target])
            .min()
            .unwrap_or(target);
        if first == target {
            continue;
        }
        let mut file = items[target].clone();
        file.path.clone_from(&items[first].path);
        let first_path = file.path.clone();
        for index in links.iter().copied().chain([target]) {
            if index != first {
                let mut link = items[target].clone();
                link.path.clone_from(&items[index].path);
                link.kind = EntryType::Link;
                link.size = 0;
                link.link = Some(first_path.clone());
                items[index] = link;
            }
        }
        items[first] = file;
    }
    items
}

/// A writer that hashes what passes through it and counts it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> Hashing<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    fn finish(self) -> (W, String, u64) {
        (
            self.inner,
            format!("sha256:{:x}", self.hasher.finalize()),
            self.count,
        )
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buffer)?;
        self.hasher.update(&buffer[..written]);
        self.count += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Normalise the layer tar in `input` (read twice: its entries, then their data in canonical
/// order) into a gzip blob written to `output`. `label` names the layer in errors.
pub fn normalise_layer(
    input: &mut File,
    output: &mut File,
    epoch: u64,
    scrub: &Scrub,
    label: &str,
) -> Result<NormalisedLayer, ReproducibleError> {
    let layer_error = |source| ReproducibleError::Layer {
        layer: label.to_string(),
        source,
    };
    let items = canonicalise(read_items(input, label)?);
    let mut scrubbed = Vec::new();
    let compressed = Hashing::new(BufWriter::with_capacity(1 << 20, &mut *output));
    let gzip: GzEncoder<Hashing<BufWriter<&mut File>>> =
        GzBuilder::new().write(compressed, Compression::new(GZIP_LEVEL));
    let mut builder = tar::Builder::new(Hashing::new(gzip));
    builder.mode(tar::HeaderMode::Complete);
    for item in &items {
        let text = String::from_utf8_lossy(&item.path);
        // A whiteout deletes a lower layer's file: dropping it would bring the file back.
        let whiteout = text
            .rsplit('/')
            .next()
            .is_some_and(|name| name.starts_with(".wh."));
        if !scrub.is_empty() && !whiteout && scrub.matches(&text) {
            scrubbed.push(text.into_owned());
            continue;
        }
        write_item(&mut builder, item, epoch, input).map_err(layer_error)?;
    }
    let hashing = builder.into_inner().map_err(layer_error)?;
    let (gzip, diff_id, uncompressed_size) = hashing.finish();
    let compressed = gzip.finish().map_err(layer_error)?;
    let (mut buffered, digest, size) = compressed.finish();
    buffered.flush().map_err(layer_error)?;
    Ok(NormalisedLayer {
        diff_id,
        digest,
        size,
        uncompressed_size,
        scrubbed,
    })
}

/// Compress a layer as it is (a base image's, kept byte for byte) with the same deterministic
/// gzip.
pub fn compress_layer(
    input: &mut File,
    output: &mut File,
    label: &str,
) -> Result<NormalisedLayer, ReproducibleError> {
    let layer_error = |source| ReproducibleError::Layer {
        layer: label.to_string(),
        source,
    };
    input.seek(SeekFrom::Start(0)).map_err(layer_error)?;
    let compressed = Hashing::new(BufWriter::with_capacity(1 << 20, &mut *output));
    let gzip = GzBuilder::new().write(compressed, Compression::new(GZIP_LEVEL));
    let mut hashing = Hashing::new(gzip);
    std::io::copy(&mut *input, &mut hashing).map_err(layer_error)?;
    let (gzip, diff_id, uncompressed_size) = hashing.finish();
    let (mut buffered, digest, size) = gzip.finish().map_err(layer_error)?.finish();
    buffered.flush().map_err(layer_error)?;
    Ok(NormalisedLayer {
        diff_id,
        digest,
        size,
        uncompressed_size,
        scrubbed: Vec::new(),
    })
}

fn write_item<W: Write>(
    builder: &mut tar::Builder<W>,
    item: &Item,
    epoch: u64,
    input: &mut File,
) -> std::io::Result<()> {
    if !item.xattrs.is_empty() {
        builder.append_pax_extensions(
            item.xattrs
                .iter()
                .map(|(key, value)| (key.as_str(), value.as_slice())),
        )?;
    }
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(item.kind);
    header.set_mode(item.mode);
    header.set_uid(item.uid);
    header.set_gid(item.gid);
    header.set_mtime(item.mtime.min(epoch));
    header.set_size(item.size);
    // Names longer than the field are dropped rather than cut: ids are what extraction uses.
    let _ = header.set_username(&String::from_utf8_lossy(&item.username));
    let _ = header.set_groupname(&String::from_utf8_lossy(&item.groupname));
    if matches!(item.kind, EntryType::Char | EntryType::Block) {
        header.set_device_major(item.device.0)?;
        header.set_device_minor(item.device.1)?;
    }
    let mut path = item.path.clone();
    if item.kind.is_dir() {
        path.push(b'/');
    }
    let path = Path::new(std::ffi::OsStr::from_bytes(&path));
    match (&item.link, item.kind) {
        (Some(link), kind) if kind.is_hard_link() || kind.is_symlink() => {
            let link = Path::new(std::ffi::OsStr::from_bytes(link));
            builder.append_link(&mut header, path, link)
        }
        _ if item.size > 0 => {
            input.seek(SeekFrom::Start(item.offset))?;
            let data = Read::take(&mut *input, item.size);
            builder.append_data(&mut header, path, data)
        }
        _ => builder.append_data(&mut header, path, std::io::empty()),
    }
}

/// Hash a stream while copying it to `spool`: the layer's `diff_id` as the engine wrote it.
pub fn spool<R: Read>(mut reader: R, spool: &mut File) -> std::io::Result<String> {
    let mut writer = Hashing::new(BufWriter::with_capacity(1 << 20, &mut *spool));
    std::io::copy(&mut reader, &mut writer)?;
    let (mut buffered, digest, _) = writer.finish();
    buffered.flush()?;
    Ok(digest)
}

/// Hash a stream: a layer's `diff_id`.
pub fn hash<R: Read>(mut reader: R) -> std::io::Result<String> {
    let mut writer = Hashing::new(std::io::sink());
    std::io::copy(&mut reader, &mut writer)?;
    Ok(writer.finish().1)
}
