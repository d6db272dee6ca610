//! Locking a requirements file end to end: read it, keep the existing lock's pins as
//! preferences (unless upgrading), resolve against the index for the target, and write the
//! lock atomically — or, with `check`, say what drifted. Also `fetch`: download every file a
//! lock pins for its target, each checked against the lock's hashes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep440_rs::Version;
use pep508_rs::{PackageName, VersionOrUrl};

use crate::candidates::Selection;
use crate::client::IndexClient;
use crate::dates::normalize_date;
use crate::error::LockError;
use crate::lockfile::{differences, parse, render, LockFile, LockHeader};
use crate::requirements::{RequirementsFile, DEFAULT_INDEX};
use crate::resolve::{resolve, ResolveOptions};
use crate::simple::IndexFile;
use crate::source::IndexSource;
use crate::target::Target;
use crate::warm::{self, LockInputs};
use crate::wheel::{parse_filename, DistributionFile};

/// Which pins may change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Upgrade {
    /// Keep every existing pin that still satisfies.
    #[default]
    Nothing,
    /// Re-resolve everything to the highest versions.
    All,
    /// Re-resolve these, keep the rest.
    Packages(BTreeSet<String>),
}

#[derive(Debug, Clone)]
pub struct LockSettings {
    pub requirements: PathBuf,
    pub output: PathBuf,
    pub target: Target,
    pub exclude_newer: Option<String>,
    pub no_binary: BTreeSet<String>,
    pub upgrade: Upgrade,
    /// Distributions of the base image (normalized name to version).
    pub base: BTreeMap<String, String>,
    /// Where the base has them (normalized name, site directory or parent lock), in the order
    /// its interpreter searches: the lock's header lists them by directory, conflicts name it.
    pub base_sources: Vec<(String, String)>,
    /// The image the base came from (`--base`), recorded in the header.
    pub base_image: Option<String>,
    /// Replace the requirements file's index.
    pub index_url: Option<String>,
    /// The requirements themselves, when they are not in a file of their own (a conda
    /// environment's `pip:` section): `requirements` then only names them.
    pub requirements_text: Option<String>,
    /// The command that regenerates the lock, for its header (default `strata lock
    /// <requirements> …`).
    pub command: Option<String>,
}

/// Read the requirements: from their file, or from the text given in their place.
fn read_requirements(settings: &LockSettings) -> Result<RequirementsFile, LockError> {
    let Some(text) = &settings.requirements_text else {
        return RequirementsFile::read(&settings.requirements);
    };
    let scratch_error = |source| LockError::Write {
        path: settings.output.clone(),
        source,
    };
    let directory = tempfile::tempdir().map_err(scratch_error)?;
    let name = settings
        .requirements
        .file_name()
        .unwrap_or(std::ffi::OsStr::new("requirements.txt"));
    let path = directory.path().join(name);
    fs_err::write(&path, text).map_err(scratch_error)?;
    RequirementsFile::read(&path)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockOutcome {
    /// The lock was written with this many pins.
    Written { pins: usize, changed: Vec<String> },
    /// `check`: the lock is up to date.
    UpToDate,
    /// `check`: what drifted.
    Drifted(Vec<String>),
}

fn relative_name(requirements: &Path, output: &Path) -> String {
    let directory = output.parent().unwrap_or(Path::new(""));
    requirements
        .strip_prefix(directory)
        .unwrap_or(requirements)
        .display()
        .to_string()
}

/// Lock (or check) a requirements file.
pub fn lock(settings: &LockSettings, client: &IndexClient) -> Result<LockOutcome, LockError> {
    let requirements = read_requirements(settings)?;
    let mut no_binary = settings.no_binary.clone();
    no_binary.extend(requirements.no_binary.iter().cloned());
    let exclude_newer = settings
        .exclude_newer
        .as_deref()
        .map(normalize_date)
        .transpose()?;
    let index_url = settings
        .index_url
        .clone()
        .or_else(|| requirements.index_url.clone());
    let mut indexes = vec![index_url
        .clone()
        .unwrap_or_else(|| DEFAULT_INDEX.to_string())];
    indexes.extend(requirements.extra_index_urls.iter().cloned());
    let selection = Selection {
        target: settings.target.clone(),
        no_binary: no_binary.clone(),
        pre: requirements.pre,
        exclude_newer: exclude_newer.clone(),
    };
    let existing_text = match strata_fs::read_text(&settings.output) {
        Ok(text) => Some(text),
        Err(error) if error.is_not_found() => None,
        Err(error) => return Err(error.into()),
    };
    let existing: Option<LockFile> = existing_text
        .as_deref()
        .map(|text| parse(&settings.output, text))
        .transpose()?;
    let inputs = LockInputs {
        requirements: &requirements,
        python: settings.target.python.to_string(),
        platform: settings.target.platform.to_string(),
        indexes: &indexes,
        exclude_newer: exclude_newer.as_deref(),
        no_binary: no_binary.iter().map(String::as_str).collect(),
        base: &settings.base,
    };
    let runtime = client.runtime();
    // Warm: nothing that could change the lock did (see `warm`): one request per pin, done.
    if let (Upgrade::Nothing, Some(text), Some(lock)) =
        (&settings.upgrade, &existing_text, &existing)
    {
        if let Some(recorded) = warm::recorded(client, text) {
            if runtime.block_on(inputs.digest(lock, client))? == recorded {
                return Ok(LockOutcome::UpToDate);
            }
        }
    }
    let mut preferences = HashMap::new();
    if let Some(existing) = &existing {
        for pin in &existing.pins {
            let keep = match &settings.upgrade {
                Upgrade::Nothing => true,
                Upgrade::All => false,
                Upgrade::Packages(names) => !names.contains(&pin.name),
            };
            if let (true, Ok(name), Ok(version)) = (
                keep,
                PackageName::from_str(&pin.name),
                Version::from_str(&pin.version),
            ) {
                preferences.insert(name, version);
            }
        }
    }
    let fixed: BTreeMap<PackageName, Version> = settings
        .base
        .iter()
        .filter_map(|(name, version)| {
            Some((
                PackageName::from_str(name).ok()?,
                Version::from_str(version).ok()?,
            ))
        })
        .collect();

    let index_client = client;
    let client = client.clone();
    let mut url_files = HashMap::new();
    for sourced in &requirements.requirements {
        if let Some(VersionOrUrl::Url(url)) = &sourced.requirement.version_or_url {
            let text = url.to_string();
            let (location, fragment) = text.split_once('#').unwrap_or((&text, ""));
            let file = IndexFile {
                filename: location.rsplit('/').next().unwrap_or_default().to_string(),
                url: location.to_string(),
                sha256: fragment.strip_prefix("sha256=").map(str::to_string),
                requires_python: None,
                yanked: false,
                upload_time: None,
                core_metadata: false,
            };
            let bytes = runtime.block_on(client.download(&file))?;
            let sha256 = format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(&bytes));
            url_files.insert(
                sourced.requirement.name.clone(),
                IndexFile {
                    sha256: Some(sha256),
                    ..file
                },
            );
        }
    }
    let source = IndexSource::new(client, indexes.clone(), runtime.clone(), selection.clone());
    let resolution = resolve(
        &source,
        &requirements,
        &selection,
        &ResolveOptions {
            preferences,
            fixed_sources: settings
                .base_sources
                .iter()
                .filter_map(|(name, source)| {
                    Some((PackageName::from_str(name).ok()?, source.clone()))
                })
                .collect(),
            fixed,
            url_files,
        },
    )?;
    let header = LockHeader {
        requirements: relative_name(&settings.requirements, &settings.output),
        python: settings.target.python.to_string(),
        platform: settings.target.platform.to_string(),
        exclude_newer: exclude_newer.clone(),
        no_binary: no_binary.iter().cloned().collect(),
        index_url,
        extra_index_urls: requirements.extra_index_urls.clone(),
        command: settings.command.clone(),
        base_sources: settings.base_sources.clone(),
        base_image: settings.base_image.clone(),
    };
    let text = render(&header, &resolution);
    let new = parse(&settings.output, &text)?;
    let changed = existing
        .as_ref()
        .map(|existing| differences(existing, &new))
        .unwrap_or_default();
    write_atomically(&settings.output, text.as_bytes())?;
    // Remember what this lock was made from; the pages are in memory by now.
    if let Ok(digest) = runtime.block_on(inputs.digest(&new, index_client)) {
        warm::record(index_client, &text, &digest);
    }
    Ok(LockOutcome::Written {
        pins: resolution.pins.len(),
        changed,
    })
}

/// `--check`: resolve as `lock` would (keeping the pins) and compare, writing nothing.
pub fn check(settings: &LockSettings, client: &IndexClient) -> Result<LockOutcome, LockError> {
    let (existing, regenerated) = relock_in_scratch(settings, Upgrade::Nothing, client)?;
    let drift = differences(&existing, &regenerated);
    Ok(if drift.is_empty() {
        LockOutcome::UpToDate
    } else {
        LockOutcome::Drifted(drift)
    })
}

/// A pin with a newer release that its requirements and target allow.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PinUpdate {
    pub name: String,
    pub locked: String,
    pub available: String,
}

/// What `lock --upgrade` would move to a newer release, writing nothing.
pub fn outdated(
    settings: &LockSettings,
    client: &IndexClient,
) -> Result<Vec<PinUpdate>, LockError> {
    let (existing, upgraded) = relock_in_scratch(settings, Upgrade::All, client)?;
    let available: BTreeMap<&str, &str> = upgraded
        .pins
        .iter()
        .map(|pin| (pin.name.as_str(), pin.version.as_str()))
        .collect();
    Ok(existing
        .pins
        .iter()
        .filter_map(|pin| {
            let newer = available.get(pin.name.as_str())?;
            let is_newer = match (Version::from_str(newer), Version::from_str(&pin.version)) {
                (Ok(newer), Ok(locked)) => newer > locked,
                _ => false,
            };
            is_newer.then(|| PinUpdate {
                name: pin.name.clone(),
                locked: pin.version.clone(),
                available: (*newer).to_string(),
            })
        })
        .collect())
}

/// The lock as it is, and as `lock` would write it with `upgrade`, in a scratch directory.
fn relock_in_scratch(
    settings: &LockSettings,
    upgrade: Upgrade,
    client: &IndexClient,
) -> Result<(LockFile, LockFile), LockError> {
    let text = strata_fs::read_text(&settings.output)?;
    let existing = parse(&settings.output, &text)?;
    let directory = tempfile::tempdir().map_err(|source| LockError::Write {
        path: settings.output.clone(),
        source,
    })?;
    let scratch = directory.path().join("requirements.lock");
    fs_err::write(&scratch, &text).map_err(|source| LockError::Write {
        path: scratch.clone(),
        source,
    })?;
    let mut scratch_settings = settings.clone();
    scratch_settings.output.clone_from(&scratch);
    scratch_settings.upgrade = upgrade;
    lock(&scratch_settings, client)?;
    let regenerated = parse(&scratch, &strata_fs::read_text(&scratch)?)?;
    Ok((existing, regenerated))
}

pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), LockError> {
    Ok(strata_fs::write_atomically(path, bytes)?)
}

/// Download every file the lock at `lock_path` pins for its target into `directory`, each
/// checked against the lock's hashes (a mismatch leaves no file). Returns the files written.
pub fn fetch(
    lock_path: &Path,
    directory: &Path,
    client: &IndexClient,
) -> Result<Vec<PathBuf>, LockError> {
    let text = strata_fs::read_text(lock_path)?;
    let lock = parse(lock_path, &text)?;
    let target = Target::new(&lock.header.python, &lock.header.platform)?;
    let supported = target.supported_tags();
    let mut indexes = vec![lock
        .header
        .index_url
        .clone()
        .unwrap_or_else(|| DEFAULT_INDEX.to_string())];
    indexes.extend(lock.header.extra_index_urls.iter().cloned());
    let runtime = client.runtime();
    let mut files = Vec::new();
    for pin in &lock.pins {
        let hashes: BTreeSet<&str> = pin
            .hashes
            .iter()
            .filter_map(|hash| hash.strip_prefix("sha256:"))
            .collect();
        let candidates: Vec<IndexFile> = if let Some(url) = &pin.url {
            vec![IndexFile {
                filename: url.rsplit('/').next().unwrap_or_default().to_string(),
                url: url.clone(),
                sha256: hashes.iter().next().map(|hash| (*hash).to_string()),
                requires_python: None,
                yanked: false,
                upload_time: None,
                core_metadata: false,
            }]
        } else {
            let mut page = None;
            for index in &indexes {
                if let Some(found) = runtime.block_on(client.project_page(index, &pin.name))? {
                    page = Some(found);
                    break;
                }
            }
            page.map(|page| page.files)
                .unwrap_or_default()
                .into_iter()
                .filter(|file| {
                    file.sha256
                        .as_deref()
                        .is_some_and(|sha256| hashes.contains(sha256))
                })
                .collect()
        };
        let allows_sdist = lock
            .header
            .no_binary
            .iter()
            .any(|name| name == ":all:" || name == &pin.name);
        let best = candidates
            .iter()
            .filter_map(|file| match parse_filename(&file.filename) {
                Some(DistributionFile::Wheel(wheel)) => {
                    supported.priority(&wheel).map(|priority| (priority, file))
                }
                Some(DistributionFile::Sdist { .. }) if allows_sdist || pin.url.is_some() => {
                    Some((usize::MAX, file))
                }
                _ => None,
            })
            .min_by_key(|(priority, _)| *priority)
            .map(|(_, file)| file.clone())
            .ok_or_else(|| LockError::NoLockedFile {
                package: pin.name.clone(),
                version: pin.version.clone(),
                target: target.to_string(),
            })?;
        files.push(best);
    }
    let paths: Vec<PathBuf> = files
        .iter()
        .map(|file| directory.join(&file.filename))
        .collect();
    let downloads = runtime.block_on(async {
        let tasks = files
            .iter()
            .zip(&paths)
            .map(|(file, path)| client.download_to(file, path));
        futures_util::future::join_all(tasks).await
    });
    for download in downloads {
        download?;
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    use super::*;
    use crate::client::ClientOptions;

    /// A one-project index on loopback whose file does not match the hash it advertises.
    fn tampered_index() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let advertised = format!(
            "{:x}",
            <sha2::Sha256 as sha2::Digest>::digest(b"the real wheel")
        );
        std::thread::spawn(move || {
            for stream in listener.incoming().take(8) {
                let Ok(mut stream) = stream else { continue };
                let mut request_line = String::new();
                let _ = BufReader::new(&stream).read_line(&mut request_line);
                let body = if request_line.contains("/simple/demo/") {
                    format!("<a href=\"/files/demo-1.0-py3-none-any.whl#sha256={advertised}\">demo-1.0-py3-none-any.whl</a>")
                } else {
                    "a tampered wheel".to_string()
                };
                let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
            }
        });
        format!("http://{address}/simple")
    }

    #[test]
    fn a_download_that_does_not_match_its_hash_leaves_no_file() {
        let index = tampered_index();
        let directory = tempfile::tempdir().unwrap();
        let advertised = format!(
            "{:x}",
            <sha2::Sha256 as sha2::Digest>::digest(b"the real wheel")
        );
        let lock_path = directory.path().join("requirements.lock");
        fs_err::write(&lock_path, format!("# strata-target: python=3.11 platform=manylinux_2_28_x86_64\n--index-url {index}\ndemo==1.0 \\\n    --hash=sha256:{advertised}\n")).unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let client = IndexClient::new(ClientOptions {
            runtime: runtime.handle().clone(),
            cache_dir: None,
            offline: false,
            concurrency: 4,
        })
        .unwrap();
        let wheels = directory.path().join("wheels");
        let error = fetch(&lock_path, &wheels, &client).unwrap_err();
        assert!(matches!(error, LockError::HashMismatch { .. }), "{error}");
        assert!(
            error.to_string().contains("demo-1.0-py3-none-any.whl"),
            "{error}"
        );
        assert!(!wheels.join("demo-1.0-py3-none-any.whl").exists());
    }
}
