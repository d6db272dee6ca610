//! Rewriting one layer so that the same files always give the same bytes: entries in a
//! canonical order (path components compared in turn, the order a directory walk gives), file
//! times clamped to `SOURCE_DATE_EPOCH`, no access or change times, one header format, hard
//! links pointing at the first of their names in that order, and a gzip stream with no name
//! and no time in its header. Contents, permission bits, numeric owners, link targets, device
//! numbers and the `security.capability` attribute (the one Docker and BuildKit carry) are kept;
//! user and group names, other attributes and the whiteout markers' own metadata are not, so a
//! layer read from an exported tar and the same layer read from the engine's overlay2 directory
//! give the same bytes. Paths on the scrub list are dropped.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};
use sha2::{Digest as _, Sha256};
use strata_registry::Digest;
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
    pub diff_id: Digest,
    /// `sha256:` of the gzip blob.
    pub digest: Digest,
    /// Bytes of the gzip blob.
    pub size: u64,
    /// Bytes of the normalised tar.
    pub uncompressed_size: u64,
    /// Paths dropped by the scrub list (relative, as in the layer).
    pub scrubbed: Vec<String>,
}

/// The one extended attribute a normalised layer keeps: file capabilities (`ping`'s
/// `cap_net_raw`). Docker and BuildKit write no other into layers.
pub const KEPT_XATTR: &str = "security.capability";

/// The pax record of [`KEPT_XATTR`].
const KEPT_XATTR_RECORD: &str = "SCHILY.xattr.security.capability";

/// overlay's own attributes on a layer directory: `opaque` marks a directory hiding the lower
/// layers' contents; `redirect` (a renamed directory) and `metacopy` (a file whose data is in a
/// lower layer) mean the directory alone does not hold the layer, and the caller must export it.
const OVERLAY_ATTRIBUTE_PREFIXES: [&str; 2] = ["trusted.overlay.", "user.overlay."];

/// Where an entry's data is.
#[derive(Debug, Clone)]
enum Data {
    /// At this offset of the input tar.
    Archive(u64),
    /// In this file of a layer directory.
    File(PathBuf),
}

/// One entry of the input, with where its data is.
#[derive(Debug, Clone)]
struct Item {
    /// Relative path, no leading `./` or `/`, no trailing `/`.
    path: Vec<u8>,
    kind: EntryType,
    /// Permission bits, set-id and sticky bits (no file-type bits).
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    size: u64,
    data: Data,
    link: Option<Vec<u8>>,
    device: (u32, u32),
    /// The `security.capability` attribute, when the file has one.
    capability: Option<Vec<u8>>,
}

impl Item {
    fn is_whiteout(&self) -> bool {
        self.path
            .rsplit(|byte| *byte == b'/')
            .next()
            .is_some_and(|name| name.starts_with(b".wh."))
    }
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
        let mut capability = None;
        if let Some(extensions) = entry.pax_extensions().map_err(layer_error)? {
            for extension in extensions {
                let extension = extension.map_err(layer_error)?;
                if extension.key() == Ok(KEPT_XATTR_RECORD) {
                    capability = Some(extension.value_bytes().to_vec());
                }
            }
        }
        let number = |value: std::io::Result<u64>| value.unwrap_or(0);
        items.push(Item {
            path,
            kind,
            mode: header.mode().unwrap_or(0o644) & 0o7777,
            uid: number(header.uid()),
            gid: number(header.gid()),
            mtime: number(header.mtime()),
            size: if kind.is_file() || kind == EntryType::Continuous {
                entry.size()
            } else {
                0
            },
            data: Data::Archive(entry.raw_file_position()),
            link: link.map(|link| {
                if kind.is_hard_link() {
                    clean_path(&link)
                } else {
                    link
                }
            }),
            device: (
                header.device_major().ok().flatten().unwrap_or(0),
                header.device_minor().ok().flatten().unwrap_or(0),
            ),
            capability,
        });
    }
    Ok(items)
}

/// Why a layer directory cannot be read as a layer.
#[derive(Debug)]
pub enum DirectoryError {
    Io(std::io::Error),
    /// overlay keeps part of the layer elsewhere (a `redirect` or `metacopy` attribute).
    NotSelfContained(String),
}

impl std::fmt::Display for DirectoryError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(error) => write!(formatter, "{error}"),
            Self::NotSelfContained(path) => write!(
                formatter,
                "`{path}` carries an overlay redirect or metacopy attribute: the directory alone is not the layer"
            ),
        }
    }
}

impl From<std::io::Error> for DirectoryError {
    fn from(error: std::io::Error) -> Self {
        Self::Io(error)
    }
}

/// `major` and `minor` of a Linux device number.
fn device_numbers(rdev: u64) -> (u32, u32) {
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
    (
        u32::try_from(major).unwrap_or(u32::MAX),
        u32::try_from(minor).unwrap_or(u32::MAX),
    )
}

/// Read the entries of a layer kept as an overlay2 `diff` directory, as the engine's exported
/// tar would list them: a `0:0` character device is the whiteout `.wh.<name>`, a directory
/// with the opaque attribute gets `<dir>/.wh..wh..opq`, files sharing an inode are hard links.
fn read_directory_items(root: &Path) -> Result<Vec<Item>, DirectoryError> {
    fs_err::read_dir(root)?;
    let mut items = Vec::new();
    let mut inodes: HashMap<(u64, u64), Vec<u8>> = HashMap::new();
    let mut pending: Vec<(PathBuf, Vec<u8>)> = vec![(root.to_path_buf(), Vec::new())];
    while let Some((directory, prefix)) = pending.pop() {
        for entry in fs_err::read_dir(&directory)? {
            let entry = entry?;
            let mut path = prefix.clone();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(entry.file_name().as_bytes());
            let metadata = fs_err::symlink_metadata(entry.path())?;
            let file_type = metadata.file_type();
            let mut opaque = false;
            let mut capability = None;
            if !file_type.is_symlink() {
                for attribute in xattr::list(entry.path())? {
                    let name = attribute.to_string_lossy();
                    if let Some(prefix) = OVERLAY_ATTRIBUTE_PREFIXES
                        .iter()
                        .find(|prefix| name.starts_with(**prefix))
                    {
                        match &name[prefix.len()..] {
                            "opaque" => {
                                opaque = xattr::get(entry.path(), &attribute)?.as_deref()
                                    == Some(b"y".as_slice());
                            }
                            "redirect" | "metacopy" => {
                                return Err(DirectoryError::NotSelfContained(
                                    String::from_utf8_lossy(&path).into_owned(),
                                ))
                            }
                            _ => {}
                        }
                    } else if name == KEPT_XATTR {
                        capability = xattr::get(entry.path(), &attribute)?;
                    }
                }
            }
            let mut item = Item {
                path: path.clone(),
                kind: EntryType::Regular,
                mode: metadata.mode() & 0o7777,
                uid: u64::from(metadata.uid()),
                gid: u64::from(metadata.gid()),
                mtime: u64::try_from(metadata.mtime()).unwrap_or(0),
                size: 0,
                data: Data::File(entry.path()),
                link: None,
                device: (0, 0),
                capability,
            };
            if file_type.is_dir() {
                item.kind = EntryType::Directory;
                if opaque {
                    let mut marker = item.clone();
                    marker.path.extend_from_slice(b"/.wh..wh..opq");
                    marker.kind = EntryType::Regular;
                    items.push(marker);
                }
                pending.push((entry.path(), path));
            } else if file_type.is_symlink() {
                item.kind = EntryType::Symlink;
                item.link = Some(fs_err::read_link(entry.path())?.into_os_string().into_vec());
            } else if file_type.is_char_device() && metadata.rdev() == 0 {
                // overlay's whiteout: the lower layers' `name` is deleted.
                let split = path
                    .iter()
                    .rposition(|byte| *byte == b'/')
                    .map_or(0, |at| at + 1);
                item.path = [&path[..split], b".wh.", &path[split..]].concat();
            } else if file_type.is_char_device() || file_type.is_block_device() {
                item.kind = if file_type.is_char_device() {
                    EntryType::Char
                } else {
                    EntryType::Block
                };
                item.device = device_numbers(metadata.rdev());
            } else if file_type.is_fifo() {
                item.kind = EntryType::Fifo;
            } else if file_type.is_socket() {
                // Engines leave sockets out of layer tars.
                continue;
            } else if metadata.nlink() > 1 {
                match inodes.entry((metadata.dev(), metadata.ino())) {
                    std::collections::hash_map::Entry::Occupied(first) => {
                        item.kind = EntryType::Link;
                        item.link = Some(first.get().clone());
                    }
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        slot.insert(path);
                        item.size = metadata.len();
                    }
                }
            } else {
                item.size = metadata.len();
            }
            items.push(item);
        }
    }
    Ok(items)
}

/// Sort, keep the last of repeated paths (what extracting the tar would leave), and make every
/// hard link point at the first of its names in canonical order.
fn canonicalise(mut items: Vec<Item>, epoch: u64) -> Vec<Item> {
    for item in &mut items {
        if item.is_whiteout() {
            // A marker, never extracted: engines write its mode, owner and time differently.
            item.kind = EntryType::Regular;
            item.mode = 0o600;
            item.uid = 0;
            item.gid = 0;
            item.mtime = epoch;
            item.size = 0;
            item.link = None;
            item.capability = None;
        }
    }
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

    fn finish(self) -> (W, Digest, u64) {
        (self.inner, Digest::from_hasher(self.hasher), self.count)
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
    let items = read_items(input, label)?;
    write_layer(items, Some(input), output, epoch, scrub, label)
}

/// Normalise the layer kept in an overlay2 `diff` directory into a gzip blob written to
/// `output`: the same bytes [`normalise_layer`] writes for the engine's tar of that layer.
/// Fails (and the caller exports the layer instead) when the directory cannot be read or does
/// not hold the whole layer.
pub fn normalise_directory(
    root: &Path,
    output: &mut File,
    epoch: u64,
    scrub: &Scrub,
    label: &str,
) -> Result<NormalisedLayer, DirectoryError> {
    let items = read_directory_items(root)?;
    write_layer(items, None, output, epoch, scrub, label).map_err(|error| match error {
        ReproducibleError::Layer { source, .. } => DirectoryError::Io(source),
        other => DirectoryError::Io(std::io::Error::other(other.to_string())),
    })
}

fn write_layer(
    items: Vec<Item>,
    mut input: Option<&mut File>,
    output: &mut File,
    epoch: u64,
    scrub: &Scrub,
    label: &str,
) -> Result<NormalisedLayer, ReproducibleError> {
    let layer_error = |source| ReproducibleError::Layer {
        layer: label.to_string(),
        source,
    };
    let items = canonicalise(items, epoch);
    let mut scrubbed = Vec::new();
    let compressed = Hashing::new(BufWriter::with_capacity(1 << 20, &mut *output));
    let gzip: GzEncoder<Hashing<BufWriter<&mut File>>> =
        GzBuilder::new().write(compressed, Compression::new(GZIP_LEVEL));
    let mut builder = tar::Builder::new(Hashing::new(gzip));
    builder.mode(tar::HeaderMode::Complete);
    for item in &items {
        // A whiteout deletes a lower layer's file: dropping it would bring the file back.
        if !scrub.is_empty() && !item.is_whiteout() {
            let text = String::from_utf8_lossy(&item.path);
            if scrub.matches(&text) {
                scrubbed.push(text.into_owned());
                continue;
            }
        }
        write_item(&mut builder, item, epoch, input.as_deref_mut()).map_err(layer_error)?;
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
    input: Option<&mut File>,
) -> std::io::Result<()> {
    if let Some(capability) = &item.capability {
        builder.append_pax_extensions([(KEPT_XATTR_RECORD, capability.as_slice())])?;
    }
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(item.kind);
    header.set_mode(item.mode);
    header.set_uid(item.uid);
    header.set_gid(item.gid);
    header.set_mtime(item.mtime.min(epoch));
    header.set_size(item.size);
    if matches!(item.kind, EntryType::Char | EntryType::Block) {
        header.set_device_major(item.device.0)?;
        header.set_device_minor(item.device.1)?;
    }
    let mut path = item.path.clone();
    if item.kind.is_dir() {
        path.push(b'/');
    }
    let path = Path::new(std::ffi::OsStr::from_bytes(&path));
    match (&item.link, item.kind, &item.data) {
        (Some(link), kind, _) if kind.is_hard_link() || kind.is_symlink() => {
            let link = Path::new(std::ffi::OsStr::from_bytes(link));
            builder.append_link(&mut header, path, link)
        }
        (_, _, Data::Archive(offset)) if item.size > 0 => {
            let input = input.ok_or_else(|| std::io::Error::other("no input tar"))?;
            input.seek(SeekFrom::Start(*offset))?;
            let data = Exact::new(Read::take(&mut *input, item.size), item.size);
            builder.append_data(&mut header, path, data)
        }
        (_, _, Data::File(file)) if item.size > 0 => {
            let data = Exact::new(fs_err::File::open(file)?.take(item.size), item.size);
            builder.append_data(&mut header, path, data)
        }
        _ => builder.append_data(&mut header, path, std::io::empty()),
    }
}

/// A reader that fails rather than end before `remaining` bytes: a file that shrank while it
/// was read would otherwise leave a corrupt tar.
struct Exact<R> {
    inner: R,
    remaining: u64,
}

impl<R> Exact<R> {
    fn new(inner: R, remaining: u64) -> Self {
        Self { inner, remaining }
    }
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        if read == 0 && self.remaining > 0 && !buffer.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("{} bytes short of the size recorded", self.remaining),
            ));
        }
        self.remaining = self.remaining.saturating_sub(read as u64);
        Ok(read)
    }
}

/// Hash a stream while copying it to `spool`: the layer's `diff_id` as the engine wrote it.
pub fn spool<R: Read>(mut reader: R, spool: &mut File) -> std::io::Result<Digest> {
    let mut writer = Hashing::new(BufWriter::with_capacity(1 << 20, &mut *spool));
    std::io::copy(&mut reader, &mut writer)?;
    let (mut buffered, digest, _) = writer.finish();
    buffered.flush()?;
    Ok(digest)
}

/// Hash a stream: a layer's `diff_id`.
pub fn hash<R: Read>(mut reader: R) -> std::io::Result<Digest> {
    let mut writer = Hashing::new(std::io::sink());
    std::io::copy(&mut reader, &mut writer)?;
    Ok(writer.finish().1)
}
