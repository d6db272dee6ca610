//! The local store of advisories: OSV exports (osv.dev's `all.zip` per ecosystem, directories
//! or files of OSV JSON) imported once into one small JSON file per package and ecosystem,
//! so an audit reads only the files of the packages an image has.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::error::AuditError;
use crate::osv::{Range, Record, Severity};

/// Bumped when the store's files change shape: an older store is refused with a hint.
const STORE_VERSION: u32 = 1;
/// One advisory file larger than this is refused (osv.dev's largest are a few hundred KiB).
const RECORD_LIMIT: u64 = 16 << 20;

/// What the store keeps of an advisory, for one package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advisory {
    pub id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImportSummary {
    pub store_version: u32,
    /// Advisories read (withdrawn ones included).
    pub records: usize,
    pub withdrawn: usize,
    /// Package and ecosystem pairs the store has advisories for.
    pub packages: usize,
    pub ecosystems: Vec<String>,
}

/// A package's name as the store files it: PyPI names as PEP 503 normalises them.
pub fn store_name(ecosystem: &str, name: &str) -> String {
    if ecosystem == "PyPI" {
        strata_inspect::normalize_python_name(name)
    } else {
        name.to_string()
    }
}

/// A path part for an ecosystem or package name: `/` and a leading `.` cannot escape the store.
fn path_part(text: &str) -> String {
    let part: String = text
        .chars()
        .map(|character| {
            if character == '/' || character == '\\' {
                '%'
            } else {
                character
            }
        })
        .collect();
    if part.starts_with('.') {
        format!("%{part}")
    } else {
        part
    }
}

/// The store `path` names: a store directory as it is, or an export (a zip file, a JSON file,
/// a directory of OSV JSON without a store's `store.json`) imported once into `cache` (under a
/// name made of the export's path, size and modification time, so a changed export is
/// imported again).
pub fn open_or_import(path: &Path, cache: &Path) -> Result<Store, AuditError> {
    if path.join("store.json").is_file() {
        return Store::open(path);
    }
    let meta = std::fs::metadata(path).map_err(|_| AuditError::NoStore {
        path: path.to_path_buf(),
    })?;
    let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let modified = meta
        .modified()
        .ok()
        .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |elapsed| elapsed.as_nanos());
    let key = format!("{}\n{}\n{modified}", absolute.display(), meta.len());
    let hash = sha2::Sha256::digest(key.as_bytes());
    let store = cache.join("audit").join(format!("{hash:x}"));
    if let Ok(opened) = Store::open(&store) {
        return Ok(opened);
    }
    import(&[path.to_path_buf()], &store)?;
    Store::open(&store)
}

/// Import `inputs` (zip files, directories, or JSON files of OSV records) into a new store at
/// `store`, replacing the old one whole once the new one is written.
pub fn import(inputs: &[PathBuf], store: &Path) -> Result<ImportSummary, AuditError> {
    let mut packages: BTreeMap<(String, String), Vec<Advisory>> = BTreeMap::new();
    let mut summary = ImportSummary {
        store_version: STORE_VERSION,
        ..ImportSummary::default()
    };
    let mut add = |origin: &str, bytes: &[u8]| -> Result<(), AuditError> {
        let record: Record =
            serde_json::from_slice(bytes).map_err(|source| AuditError::Record {
                origin: origin.to_string(),
                source,
            })?;
        summary.records += 1;
        if record.withdrawn.is_some() {
            summary.withdrawn += 1;
            return Ok(());
        }
        for affected in &record.affected {
            let Some(package) = &affected.package else {
                continue;
            };
            let advisory = Advisory {
                id: record.id.clone(),
                aliases: record.aliases.clone(),
                summary: record.summary.clone(),
                severity: record.severity_for(affected),
                ranges: affected.ranges.clone(),
                versions: affected.versions.clone(),
            };
            packages
                .entry((
                    package.ecosystem.clone(),
                    store_name(&package.ecosystem, &package.name),
                ))
                .or_default()
                .push(advisory);
        }
        Ok(())
    };
    for input in inputs {
        read_input(input, &mut add)?;
    }
    // A directory without records (a mistyped path, an export not unpacked yet) is not an
    // empty store: nothing is written.
    if summary.records == 0 {
        return Err(AuditError::NoAdvisories {
            inputs: inputs
                .iter()
                .map(|input| format!("`{}`", input.display()))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let parent = store
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty());
    let parent = parent.unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(parent).map_err(|source| AuditError::Io {
        path: parent.to_path_buf(),
        source,
    })?;
    // Written beside the store, then swapped in: an audit never sees half a store.
    let staging = tempfile::Builder::new()
        .prefix(".strata-audit-import-")
        .tempdir_in(parent)
        .map_err(|source| AuditError::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    let mut ecosystems = std::collections::BTreeSet::new();
    for ((ecosystem, name), advisories) in &packages {
        let path = staging
            .path()
            .join(path_part(ecosystem))
            .join(format!("{}.json", path_part(name)));
        let bytes = serde_json::to_vec(advisories).map_err(|source| AuditError::Record {
            origin: path.display().to_string(),
            source,
        })?;
        strata_fs::write_cache_file(&path, &bytes).map_err(AuditError::Write)?;
        ecosystems.insert(ecosystem.clone());
    }
    summary.packages = packages.len();
    summary.ecosystems = ecosystems.into_iter().collect();
    let meta = serde_json::to_vec_pretty(&summary).unwrap_or_default();
    strata_fs::write_cache_file(&staging.path().join("store.json"), &meta)
        .map_err(AuditError::Write)?;
    let staged = staging.keep();
    let old = parent.join(format!(".strata-audit-old-{}", std::process::id()));
    let had_old = store.exists();
    if had_old {
        std::fs::rename(store, &old).map_err(|source| AuditError::Io {
            path: store.to_path_buf(),
            source,
        })?;
    }
    std::fs::rename(&staged, store).map_err(|source| AuditError::Io {
        path: store.to_path_buf(),
        source,
    })?;
    if had_old {
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(summary)
}

/// What is done with each OSV document read: its origin (a file, or a zip and its entry) and
/// its bytes.
type Sink<'a> = dyn FnMut(&str, &[u8]) -> Result<(), AuditError> + 'a;

/// Feed every OSV document of `input` to `add`.
fn read_input(input: &Path, add: &mut Sink<'_>) -> Result<(), AuditError> {
    let io = |source| AuditError::Io {
        path: input.to_path_buf(),
        source,
    };
    let metadata = std::fs::metadata(input).map_err(io)?;
    if metadata.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(input)
            .map_err(io)?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .collect();
        entries.sort();
        for entry in entries {
            if entry.is_dir()
                || entry
                    .extension()
                    .is_some_and(|ext| ext == "json" || ext == "zip")
            {
                read_input(&entry, add)?;
            }
        }
        return Ok(());
    }
    if metadata.len() > RECORD_LIMIT && input.extension().is_some_and(|ext| ext == "json") {
        return Err(AuditError::TooLarge {
            origin: input.display().to_string(),
        });
    }
    if input.extension().is_some_and(|ext| ext == "zip") {
        let file = std::fs::File::open(input).map_err(io)?;
        let mut archive = zip::ZipArchive::new(file).map_err(|source| AuditError::Zip {
            path: input.to_path_buf(),
            source,
        })?;
        for index in 0..archive.len() {
            let mut entry = archive.by_index(index).map_err(|source| AuditError::Zip {
                path: input.to_path_buf(),
                source,
            })?;
            let name = entry
                .name()
                .map_err(|source| AuditError::Zip {
                    path: input.to_path_buf(),
                    source,
                })?
                .into_owned();
            if !entry.is_file() || !name.ends_with(".json") {
                continue;
            }
            let origin = format!("{}:{name}", input.display());
            if entry.size() > RECORD_LIMIT {
                return Err(AuditError::TooLarge { origin });
            }
            let mut bytes = Vec::new();
            (&mut entry)
                .take(RECORD_LIMIT + 1)
                .read_to_end(&mut bytes)
                .map_err(io)?;
            add(&origin, &bytes)?;
        }
        return Ok(());
    }
    let bytes = std::fs::read(input).map_err(io)?;
    add(&input.display().to_string(), &bytes)
}

/// An imported store, read a package at a time.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    pub summary: ImportSummary,
}

impl Store {
    pub fn open(root: &Path) -> Result<Self, AuditError> {
        let meta = root.join("store.json");
        let bytes = std::fs::read(&meta).map_err(|_| AuditError::NoStore {
            path: root.to_path_buf(),
        })?;
        let summary: ImportSummary =
            serde_json::from_slice(&bytes).map_err(|source| AuditError::Record {
                origin: meta.display().to_string(),
                source,
            })?;
        if summary.store_version != STORE_VERSION {
            return Err(AuditError::OldStore {
                path: root.to_path_buf(),
            });
        }
        Ok(Self {
            root: root.to_path_buf(),
            summary,
        })
    }

    /// The advisories for `name` in `ecosystem` (none when the store has none).
    pub fn advisories(&self, ecosystem: &str, name: &str) -> Result<Vec<Advisory>, AuditError> {
        let path = self
            .root
            .join(path_part(ecosystem))
            .join(format!("{}.json", path_part(&store_name(ecosystem, name))));
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| AuditError::Record {
                origin: path.display().to_string(),
                source,
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(source) => Err(AuditError::Io { path, source }),
        }
    }

    /// Whether the store has advisories of an ecosystem (`Debian:12`).
    pub fn has_ecosystem(&self, ecosystem: &str) -> bool {
        self.summary
            .ecosystems
            .iter()
            .any(|known| known == ecosystem)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test/audit/osv")
    }

    #[test]
    fn exports_import_from_zips_and_directories_into_a_store_read_by_package() {
        let directory = tempfile::tempdir().unwrap();
        // osv.dev's shape: an `all.zip` of one JSON document per advisory.
        let zip_path = directory.path().join("all.zip");
        let mut writer = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for entry in std::fs::read_dir(fixtures().join("pypi")).unwrap() {
            let path = entry.unwrap().path();
            writer
                .start_file(path.file_name().unwrap().to_string_lossy(), options)
                .unwrap();
            writer.write_all(&std::fs::read(&path).unwrap()).unwrap();
        }
        writer.finish().unwrap();
        let store_path = directory.path().join("store");
        let summary = import(&[zip_path, fixtures().join("debian")], &store_path).unwrap();
        assert_eq!((summary.records, summary.withdrawn), (6, 1));
        let store = Store::open(&store_path).unwrap();
        // The PyPI record names `Strata_Probe`: found under any spelling PEP 503 equates.
        let advisories = store.advisories("PyPI", "strata.probe").unwrap();
        assert_eq!(advisories.len(), 1);
        assert_eq!(advisories[0].severity, Severity::Critical);
        assert_eq!(
            store.advisories("Debian:12", "strata-probe").unwrap().len(),
            3
        );
        assert!(store.advisories("Debian:12", "bash").unwrap().is_empty());
        assert!(store
            .advisories("Debian:12", "../../etc/passwd")
            .unwrap()
            .is_empty());
        assert!(store.has_ecosystem("Debian:11"));

        // A broken record stops the import and leaves the store as it was.
        let broken = directory.path().join("broken.json");
        std::fs::write(&broken, "{\"id\": 1}").unwrap();
        let error = import(&[broken], &store_path).unwrap_err();
        assert!(error.to_string().contains("broken.json"), "{error}");
        assert_eq!(Store::open(&store_path).unwrap().summary.records, 6);
        let leftovers: Vec<_> = std::fs::read_dir(directory.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|entry| {
                entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with(".strata-audit")
            })
            .collect();
        assert!(leftovers.is_empty(), "no staging directory left behind");
    }
}
