//! Fetching a channel's `repodata.json` for one platform and `noarch`, with a cache under
//! strata's cache directory: a copy younger than [`FRESH_FOR`] is used as it is, `--offline`
//! uses any copy, and a copy is replaced atomically.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rattler_conda_types::{Channel, RepoData, RepoDataRecord, Subdir};
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::error::CondaError;

/// How long a cached `repodata.json` is used without asking the channel again.
pub const FRESH_FOR: Duration = Duration::from_secs(600);

/// Counters for progress and benchmarks.
#[derive(Debug, Default)]
pub struct RepodataStats {
    pub fetched: AtomicUsize,
    pub from_cache: AtomicUsize,
}

/// Reads repodata from channels (HTTP(S) or `file://`), through the cache.
pub struct RepodataClient {
    cache_dir: PathBuf,
    offline: bool,
    http: reqwest::Client,
    pub stats: Arc<RepodataStats>,
    runtime: tokio::runtime::Handle,
}

impl RepodataClient {
    /// A client whose requests run on `runtime` (the caller's: strata's session has one per
    /// process).
    pub fn new(
        cache_dir: PathBuf,
        offline: bool,
        runtime: tokio::runtime::Handle,
    ) -> Result<Self, CondaError> {
        let http = strata_http::client_builder()
            .build()
            .map_err(|error| CondaError::Solver {
                message: format!("cannot start an HTTP client: {error}"),
            })?;
        Ok(Self {
            cache_dir,
            offline,
            http,
            stats: Arc::default(),
            runtime,
        })
    }

    /// The runtime the client's requests run on.
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        &self.runtime
    }

    fn cache_path(&self, url: &str) -> PathBuf {
        self.cache_dir
            .join("repodata")
            .join(format!("{:x}.json", Sha256::digest(url.as_bytes())))
    }

    /// The repodata of `channel` for `platform` and for `noarch`, each record left unparsed
    /// until a solve reaches its name. A subdirectory the channel lacks (404) has no records; a
    /// channel with neither is an error.
    pub async fn records(
        &self,
        channel: &Channel,
        platform: Subdir,
    ) -> Result<Vec<SparseRepodata>, CondaError> {
        let mut subdirs = Vec::new();
        for subdir in [platform, Subdir::NoArch] {
            let url = channel
                .platform_url(subdir)
                .join("repodata.json")
                .map_err(|error| CondaError::Fetch {
                    url: channel.base_url.to_string(),
                    source: Box::new(error),
                })?;
            if let Some(bytes) = self.repodata(url.as_str()).await? {
                subdirs.push(SparseRepodata::parse(channel, url.as_str(), &bytes)?);
            }
        }
        if subdirs.is_empty() {
            return Err(CondaError::NoChannel {
                url: channel.base_url.to_string(),
                platform: platform.to_string(),
            });
        }
        Ok(subdirs)
    }

    /// The bytes of one `repodata.json`; `None` when the channel does not have it.
    async fn repodata(&self, url: &str) -> Result<Option<Vec<u8>>, CondaError> {
        let cached = self.cache_path(url);
        let missing_marker = cached.with_extension("missing");
        let age = |path: &PathBuf| {
            fs_err::metadata(path)
                .ok()
                .and_then(|metadata| metadata.modified().ok())
                .and_then(|modified| SystemTime::now().duration_since(modified).ok())
        };
        let usable = |age: Option<Duration>| age.is_some_and(|age| self.offline || age < FRESH_FOR);
        if usable(age(&cached)) {
            if let Ok(bytes) = fs_err::read(&cached) {
                self.stats.from_cache.fetch_add(1, Ordering::Relaxed);
                return Ok(Some(bytes));
            }
        }
        if usable(age(&missing_marker)) {
            return Ok(None);
        }
        if self.offline {
            return Err(CondaError::Offline {
                url: url.to_string(),
            });
        }
        let fetched = self.fetch(url).await?;
        self.stats.fetched.fetch_add(1, Ordering::Relaxed);
        let (path, bytes) = match &fetched {
            Some(bytes) => (&cached, &bytes[..]),
            None => (&missing_marker, &b""[..]),
        };
        if let Err(error) = strata_fs::write_atomically(path, bytes) {
            tracing::debug!("cannot cache {url}: {error}");
        }
        Ok(fetched)
    }

    async fn fetch(&self, url: &str) -> Result<Option<Vec<u8>>, CondaError> {
        let fetch_error = |source: Box<dyn std::error::Error + Send + Sync>| CondaError::Fetch {
            url: url.to_string(),
            source,
        };
        if let Some(path) = url.strip_prefix("file://") {
            return match fs_err::read(path) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(error) => Err(fetch_error(Box::new(error))),
            };
        }
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|error| fetch_error(Box::new(error)))?;
        match response.status() {
            reqwest::StatusCode::NOT_FOUND => Ok(None),
            status if status.is_success() => response
                .bytes()
                .await
                .map(|bytes| Some(bytes.to_vec()))
                .map_err(|error| fetch_error(Box::new(error))),
            status => Err(CondaError::FetchStatus {
                url: url.to_string(),
                status: status.to_string(),
            }),
        }
    }
}

/// The top level of a `repodata.json`, records kept as raw JSON.
#[derive(Deserialize)]
struct RawRepodata {
    info: Option<Box<RawValue>>,
    #[serde(default)]
    packages: HashMap<String, Box<RawValue>>,
    #[serde(default, rename = "packages.conda")]
    conda_packages: HashMap<String, Box<RawValue>>,
    /// The `v3` layout: read in full (rare, and rattler knows it).
    v3: Option<serde::de::IgnoredAny>,
}

/// What a solve needs of a record before parsing it: the names it depends on.
#[derive(Deserialize)]
struct Dependencies {
    #[serde(default)]
    depends: Vec<String>,
}

/// One channel subdirectory's repodata, grouped by package name; a record is parsed only when
/// a solve reaches its name (conda-forge's `linux-64` has hundreds of thousands of records, a
/// solve needs a few hundred names).
pub struct SparseRepodata {
    channel: Channel,
    url: String,
    info: Option<Box<RawValue>>,
    /// Name → (key under `packages` or `packages.conda`, whether `.conda`, the record).
    by_name: HashMap<String, Vec<(String, bool, Box<RawValue>)>>,
    /// Repodata in a layout read in full.
    parsed: Option<Vec<RepoDataRecord>>,
}

impl SparseRepodata {
    fn parse(channel: &Channel, url: &str, bytes: &[u8]) -> Result<Self, CondaError> {
        let invalid = |source| CondaError::Repodata {
            url: url.to_string(),
            source,
        };
        let raw: RawRepodata = serde_json::from_slice(bytes).map_err(invalid)?;
        let mut sparse = Self {
            channel: channel.clone(),
            url: url.to_string(),
            info: raw.info,
            by_name: HashMap::new(),
            parsed: None,
        };
        if raw.v3.is_some() {
            let repodata: RepoData = serde_json::from_slice(bytes).map_err(invalid)?;
            let records = repodata.into_repo_data_records(channel);
            for record in &records {
                sparse
                    .by_name
                    .entry(record.package_record.name.as_normalized().to_string())
                    .or_default();
            }
            sparse.parsed = Some(records);
            return Ok(sparse);
        }
        for (conda, packages) in [(false, raw.packages), (true, raw.conda_packages)] {
            for (key, record) in packages {
                let stem = key
                    .strip_suffix(".tar.bz2")
                    .or_else(|| key.strip_suffix(".conda"))
                    .unwrap_or(&key);
                let Some(name) = stem.rsplitn(3, '-').nth(2) else {
                    continue;
                };
                sparse.by_name.entry(name.to_string()).or_default().push((
                    key.clone(),
                    conda,
                    record,
                ));
            }
        }
        Ok(sparse)
    }

    /// The package names it has records of.
    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.by_name.keys()
    }

    /// The names the records of `name` depend on.
    pub fn dependencies_of(&self, name: &str) -> Result<BTreeSet<String>, CondaError> {
        let mut names = BTreeSet::new();
        let depends = |depends: &[String], names: &mut BTreeSet<String>| {
            for spec in depends {
                if let Some(name) = spec.split([' ', '=', '<', '>', '!', '~']).next() {
                    names.insert(name.to_string());
                }
            }
        };
        if let Some(parsed) = &self.parsed {
            for record in parsed
                .iter()
                .filter(|record| record.package_record.name.as_normalized() == name)
            {
                depends(&record.package_record.depends, &mut names);
            }
            return Ok(names);
        }
        for (_, _, record) in self.by_name.get(name).into_iter().flatten() {
            let parsed: Dependencies =
                serde_json::from_str(record.get()).map_err(|source| CondaError::Repodata {
                    url: self.url.clone(),
                    source,
                })?;
            depends(&parsed.depends, &mut names);
        }
        Ok(names)
    }

    /// Every record of these names, parsed.
    pub fn select(&self, names: &BTreeSet<String>) -> Result<Vec<RepoDataRecord>, CondaError> {
        if let Some(parsed) = &self.parsed {
            return Ok(parsed
                .iter()
                .filter(|record| names.contains(record.package_record.name.as_normalized()))
                .cloned()
                .collect());
        }
        // A `repodata.json` of just these records, read by rattler as it reads any.
        let mut text = String::from("{");
        if let Some(info) = &self.info {
            text.push_str("\"info\":");
            text.push_str(info.get());
            text.push(',');
        }
        for (index, conda) in [(0, false), (1, true)] {
            text.push_str(if index == 0 {
                "\"packages\":{"
            } else {
                ",\"packages.conda\":{"
            });
            let mut first = true;
            for name in names {
                for (key, _, record) in self
                    .by_name
                    .get(name)
                    .into_iter()
                    .flatten()
                    .filter(|(_, is_conda, _)| *is_conda == conda)
                {
                    if !first {
                        text.push(',');
                    }
                    first = false;
                    text.push_str(&serde_json::to_string(key).unwrap_or_default());
                    text.push(':');
                    text.push_str(record.get());
                }
            }
            text.push('}');
        }
        text.push('}');
        let repodata: RepoData =
            serde_json::from_str(&text).map_err(|source| CondaError::Repodata {
                url: self.url.clone(),
                source,
            })?;
        Ok(repodata.into_repo_data_records(&self.channel))
    }
}
