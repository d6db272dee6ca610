//! File-level comparison of layers: what differs between two builds that should have been the
//! same — content, mode, owner, type, link target; never times, which normalising sets — with a
//! hint for the usual causes.

use std::collections::BTreeMap;
use std::io::Read;

use serde::Serialize;
use sha2::{Digest as _, Sha256};
use strata_registry::Digest;

use crate::normalise::clean_path;

/// What a path is in one layer, times left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileState {
    /// `file`, `directory`, `symlink`, `hardlink`, `char`, `block`, `fifo`.
    pub kind: &'static str,
    /// Permission bits, in octal.
    pub mode: String,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    /// `sha256:` of a regular file's content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// A symlink's or hard link's target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// Every path of one layer.
pub type LayerFiles = BTreeMap<String, FileState>;

/// One path that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileDifference {
    pub path: String,
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
    /// For `changed`: what (`content`, `mode 644 -> 600`, `owner 0:0 -> 1000:100`, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub what: Vec<String>,
    /// The usual cause of such a difference, and the fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<&'static str>,
}

/// The differences of one layer position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerDifference {
    /// 0 is the bottom layer.
    pub index: usize,
    pub before: Option<String>,
    pub after: Option<String>,
    /// The instruction that made the layer, from the image's history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    pub files: Vec<FileDifference>,
}

/// Read a layer (a tar, gzip'd or not) into its paths. Entries later in the tar replace
/// earlier ones of the same path, as extracting it would.
pub fn layer_files<R: Read>(reader: R) -> std::io::Result<(LayerFiles, String)> {
    let mut hashing = HashingReader {
        inner: crate::image::decompressed(reader)?,
        hasher: Sha256::new(),
    };
    let mut files = LayerFiles::new();
    {
        let mut archive = tar::Archive::new(&mut hashing);
        for entry in archive.entries()? {
            let mut entry = entry?;
            let header = entry.header().clone();
            let kind = header.entry_type();
            let path = String::from_utf8_lossy(&clean_path(&entry.path_bytes())).into_owned();
            if path.is_empty() {
                continue;
            }
            let link = entry
                .link_name_bytes()
                .map(|link| String::from_utf8_lossy(&link).into_owned());
            let (kind_name, sha256) = match kind {
                tar::EntryType::Directory => ("directory", None),
                tar::EntryType::Symlink => ("symlink", None),
                tar::EntryType::Link => ("hardlink", None),
                tar::EntryType::Char => ("char", None),
                tar::EntryType::Block => ("block", None),
                tar::EntryType::Fifo => ("fifo", None),
                _ => {
                    let mut hasher = Sha256::new();
                    std::io::copy(&mut entry, &mut HashWriter(&mut hasher))?;
                    ("file", Some(Digest::from_hasher(hasher).to_string()))
                }
            };
            files.insert(
                path,
                FileState {
                    kind: kind_name,
                    mode: format!("{:o}", header.mode().unwrap_or(0) & 0o7777),
                    uid: header.uid().unwrap_or(0),
                    gid: header.gid().unwrap_or(0),
                    size: if kind_name == "file" { entry.size() } else { 0 },
                    sha256,
                    link,
                },
            );
        }
    }
    // The tar's end may leave padding unread: the diff id covers every byte.
    std::io::copy(&mut hashing, &mut std::io::sink())?;
    Ok((files, Digest::from_hasher(hashing.hasher).to_string()))
}

struct HashingReader<'a> {
    inner: Box<dyn Read + 'a>,
    hasher: Sha256,
}

impl Read for HashingReader<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.hasher.update(&buffer[..read]);
        Ok(read)
    }
}

struct HashWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        self.0.update(buffer);
        Ok(buffer.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The paths that differ between two versions of a layer.
pub fn compare_files(before: &LayerFiles, after: &LayerFiles) -> Vec<FileDifference> {
    let mut differences = Vec::new();
    let mut paths: Vec<&String> = before.keys().chain(after.keys()).collect();
    paths.sort();
    paths.dedup();
    for path in paths {
        let (change, what) = match (before.get(path), after.get(path)) {
            (None, Some(_)) => ("added", Vec::new()),
            (Some(_), None) => ("removed", Vec::new()),
            (Some(old), Some(new)) => {
                let mut what = Vec::new();
                if old.kind != new.kind {
                    what.push(format!("type {} -> {}", old.kind, new.kind));
                }
                if old.sha256 != new.sha256 || old.size != new.size {
                    what.push(if old.size == new.size {
                        "content".to_string()
                    } else {
                        format!("content ({} -> {} bytes)", old.size, new.size)
                    });
                }
                if old.mode != new.mode {
                    what.push(format!("mode {} -> {}", old.mode, new.mode));
                }
                if (old.uid, old.gid) != (new.uid, new.gid) {
                    what.push(format!(
                        "owner {}:{} -> {}:{}",
                        old.uid, old.gid, new.uid, new.gid
                    ));
                }
                if old.link != new.link {
                    what.push(format!(
                        "link target {} -> {}",
                        old.link.as_deref().unwrap_or("-"),
                        new.link.as_deref().unwrap_or("-")
                    ));
                }
                if what.is_empty() {
                    continue;
                }
                ("changed", what)
            }
            (None, None) => continue,
        };
        differences.push(FileDifference {
            path: format!("/{path}"),
            change,
            what,
            hint: hint_for(path),
        });
    }
    differences
}

/// Pair two images' layers by position and list the paths that differ in each pair whose
/// `diff_id`s differ. `created_by` names the layers (from the later image's history).
pub fn compare_layers(
    before: &[(String, LayerFiles)],
    after: &[(String, LayerFiles)],
    created_by: &[Option<String>],
) -> Vec<LayerDifference> {
    let empty = LayerFiles::new();
    let mut differences = Vec::new();
    for index in 0..before.len().max(after.len()) {
        let old = before.get(index);
        let new = after.get(index);
        if let (Some(old), Some(new)) = (old, new) {
            if old.0 == new.0 {
                continue;
            }
        }
        differences.push(LayerDifference {
            index,
            before: old.map(|layer| layer.0.clone()),
            after: new.map(|layer| layer.0.clone()),
            created_by: created_by.get(index).cloned().flatten(),
            files: compare_files(
                old.map_or(&empty, |layer| &layer.1),
                new.map_or(&empty, |layer| &layer.1),
            ),
        });
    }
    differences
}

/// The instruction of each layer, bottom first, from a config's `history` (entries marked
/// `empty_layer` made no layer).
pub fn layer_commands(config: &serde_json::Value) -> Vec<Option<String>> {
    config["history"]
        .as_array()
        .map(|history| {
            history
                .iter()
                .filter(|entry| !entry["empty_layer"].as_bool().unwrap_or(false))
                .map(|entry| entry["created_by"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The layers of a `docker save` archive, bottom first, with the image config.
pub fn archive_layers<R: Read>(
    reader: R,
) -> std::io::Result<(Vec<(String, LayerFiles)>, serde_json::Value)> {
    let mut layers: BTreeMap<String, (String, LayerFiles)> = BTreeMap::new();
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut aliases: BTreeMap<String, String> = BTreeMap::new();
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if entry.header().entry_type().is_symlink() {
            if let Some(target) = entry.link_name_bytes() {
                let target = crate::image::resolve_link(&name, &String::from_utf8_lossy(&target));
                aliases.insert(name, target);
            }
            continue;
        }
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let is_blob = name.starts_with("blobs/");
        if name.ends_with(".tar") || (is_blob && entry.size() >= 1 << 20) {
            let (paths, diff_id) = layer_files(&mut entry)?;
            layers.insert(name, (diff_id, paths));
            continue;
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        if is_blob && serde_json::from_slice::<serde_json::Value>(&bytes).is_err() {
            let (paths, diff_id) = layer_files(&bytes[..])?;
            layers.insert(name, (diff_id, paths));
        } else {
            files.insert(name, bytes);
        }
    }
    let invalid = |message: String| std::io::Error::new(std::io::ErrorKind::InvalidData, message);
    let manifest: serde_json::Value = serde_json::from_slice(
        files
            .get("manifest.json")
            .ok_or_else(|| invalid("the image archive has no `manifest.json`".to_string()))?,
    )
    .map_err(|error| invalid(format!("`manifest.json`: {error}")))?;
    let image = &manifest[0];
    let config = image["Config"]
        .as_str()
        .and_then(|name| files.get(name))
        .and_then(|bytes| serde_json::from_slice(bytes).ok())
        .unwrap_or(serde_json::Value::Null);
    let mut ordered = Vec::new();
    for name in image["Layers"].as_array().into_iter().flatten() {
        let name = name.as_str().unwrap_or_default();
        let layer = layers
            .get(name)
            .or_else(|| aliases.get(name).and_then(|target| layers.get(target)))
            .ok_or_else(|| invalid(format!("the image archive lacks the layer `{name}`")))?;
        ordered.push(layer.clone());
    }
    Ok((ordered, config))
}

/// The usual reason a path differs between two builds of the same inputs.
pub fn hint_for(path: &str) -> Option<&'static str> {
    let path = path.trim_start_matches('/');
    let name = path.rsplit('/').next().unwrap_or(path);
    let hint = if path.starts_with("var/log/") {
        "logs record when the build ran: delete them in the same `RUN` or add them to `scrub` in strata.toml"
    } else if path == "var/cache/ldconfig/aux-cache" {
        "ldconfig's cache records file times: `rm /var/cache/ldconfig/aux-cache` in the same `RUN`, or scrub it"
    } else if name.ends_with(".pyc") {
        "bytecode embeds its source's time unless `SOURCE_DATE_EPOCH` is set: add `ARG SOURCE_DATE_EPOCH` to the Dockerfile (pip and py_compile honour it) or install with `--no-compile`"
    } else if path.ends_with("conda-meta/history") {
        "conda's history records when each install ran: scrub it (`**/conda-meta/history`)"
    } else if path == "etc/machine-id" || path == "var/lib/dbus/machine-id" {
        "a machine id is random per build: truncate it (`: > /etc/machine-id`) in the same `RUN`"
    } else if path.starts_with("var/lib/apt/lists/") {
        "apt lists change as the mirror updates: `rm -rf /var/lib/apt/lists/*` in the `RUN` that ran `apt-get update`"
    } else if path.starts_with("var/cache/apt/") || path.starts_with("var/cache/debconf/") {
        "apt and debconf caches differ run to run: `apt-get clean` in the same `RUN`, or scrub `/var/cache/debconf/*-old`"
    } else if name.ends_with("-old") && path.starts_with("var/lib/dpkg/") {
        "dpkg keeps the previous state as `*-old`: scrub `/var/lib/dpkg/*-old`"
    } else if path == "etc/shadow" || path == "etc/shadow-" || path == "etc/gshadow" {
        "useradd writes the day of the build into the shadow file: scrub `/etc/shadow-` and set the date field with `chage -d` from `SOURCE_DATE_EPOCH`"
    } else if path.contains("/.cache/")
        || path.starts_with("root/.cache")
        || path.starts_with("tmp/")
    {
        "caches and temporary files left by the build: remove them in the same `RUN` (`pip --no-cache-dir`)"
    } else if name == "RECORD" && path.contains(".dist-info/") {
        "pip's RECORD lists the bytecode it wrote: with `SOURCE_DATE_EPOCH` the bytecode, and so the RECORD, is stable"
    } else {
        return None;
    };
    Some(hint)
}

/// The layers and files that differ, with hints, as text: what `strata diff --files` and
/// `strata build --check-reproducible` print.
pub fn render_layers(layers: &[LayerDifference]) -> String {
    use std::fmt::Write as _;
    let mut output = String::new();
    for layer in layers {
        let _ = writeln!(
            output,
            "  layer {}{}",
            layer.index + 1,
            layer
                .created_by
                .as_deref()
                .map(|command| format!(": {}", short_command(command)))
                .unwrap_or_default()
        );
        if layer.files.is_empty() && layer.before.is_some() && layer.after.is_some() {
            output
                .push_str("    the same files: only times, entry order or the tar format differ\n");
        }
        for file in &layer.files {
            let what = if file.what.is_empty() {
                String::new()
            } else {
                format!(" ({})", file.what.join(", "))
            };
            let _ = writeln!(output, "    {:<8} {}{what}", file.change, file.path);
            if let Some(hint) = file.hint {
                let _ = writeln!(output, "             hint: {hint}");
            }
        }
    }
    output
}

/// A layer's command as a line: the shell prefix dropped, at most 80 characters.
fn short_command(command: &str) -> String {
    let command = command
        .trim_start_matches("/bin/sh -c ")
        .trim_start_matches("#(nop) ")
        .trim();
    if command.chars().count() > 80 {
        format!("{}…", command.chars().take(79).collect::<String>())
    } else {
        command.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(sha: &str, mode: &str) -> FileState {
        FileState {
            kind: "file",
            mode: mode.to_string(),
            uid: 0,
            gid: 0,
            size: 3,
            sha256: Some(sha.to_string()),
            link: None,
        }
    }

    #[test]
    fn differences_name_what_changed_and_why() {
        let mut before = LayerFiles::new();
        let mut after = LayerFiles::new();
        before.insert("var/log/dpkg.log".into(), state("a", "644"));
        after.insert("var/log/dpkg.log".into(), state("b", "644"));
        before.insert("usr/bin/tool".into(), state("c", "755"));
        after.insert("usr/bin/tool".into(), state("c", "700"));
        before.insert("same".into(), state("d", "644"));
        after.insert("same".into(), state("d", "644"));
        after.insert("etc/machine-id".into(), state("e", "444"));
        let differences = compare_files(&before, &after);
        let summary: Vec<(String, &str, Vec<String>, bool)> = differences
            .iter()
            .map(|difference| {
                (
                    difference.path.clone(),
                    difference.change,
                    difference.what.clone(),
                    difference.hint.is_some(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("/etc/machine-id".to_string(), "added", vec![], true),
                (
                    "/usr/bin/tool".to_string(),
                    "changed",
                    vec!["mode 755 -> 700".to_string()],
                    false
                ),
                (
                    "/var/log/dpkg.log".to_string(),
                    "changed",
                    vec!["content".to_string()],
                    true
                ),
            ]
        );
    }
}
