//! Fetching a channel's `repodata.json` for one platform and `noarch`, with a cache under
//! strata's cache directory: a copy younger than [`FRESH_FOR`] is used as it is, `--offline`
//! uses any copy, and a copy is replaced atomically.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rattler_conda_types::{Channel, RepoData, RepoDataRecord, Subdir};
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
}

impl RepodataClient {
    pub fn new(cache_dir: PathBuf, offline: bool) -> Result<Self, CondaError> {
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
        })
    }

    fn cache_path(&self, url: &str) -> PathBuf {
        self.cache_dir
            .join("repodata")
            .join(format!("{:x}.json", Sha256::digest(url.as_bytes())))
    }

    /// The records of `channel` for `platform` and for `noarch`. A subdirectory the channel
    /// lacks (404) has no records; a channel with neither is an error.
    pub async fn records(
        &self,
        channel: &Channel,
        platform: Subdir,
    ) -> Result<Vec<RepoDataRecord>, CondaError> {
        let mut records = Vec::new();
        let mut found = false;
        for subdir in [platform, Subdir::NoArch] {
            let url = channel
                .platform_url(subdir)
                .join("repodata.json")
                .map_err(|error| CondaError::Fetch {
                    url: channel.base_url.to_string(),
                    message: error.to_string(),
                })?;
            if let Some(bytes) = self.repodata(url.as_str()).await? {
                found = true;
                let repodata: RepoData =
                    serde_json::from_slice(&bytes).map_err(|error| CondaError::Repodata {
                        url: url.to_string(),
                        message: error.to_string(),
                    })?;
                records.extend(repodata.into_repo_data_records(channel));
            }
        }
        if !found {
            return Err(CondaError::Fetch {
                url: channel.base_url.to_string(),
                message: format!(
                    "the channel has no `{platform}/repodata.json` nor `noarch/repodata.json`"
                ),
            });
        }
        Ok(records)
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
        if let Err(error) = write_atomically(path, bytes) {
            tracing::debug!("cannot cache {url}: {error}");
        }
        Ok(fetched)
    }

    async fn fetch(&self, url: &str) -> Result<Option<Vec<u8>>, CondaError> {
        let fetch_error = |message: String| CondaError::Fetch {
            url: url.to_string(),
            message,
        };
        if let Some(path) = url.strip_prefix("file://") {
            return match fs_err::read(path) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(error) => Err(fetch_error(error.to_string())),
            };
        }
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|error| fetch_error(describe(&error)))?;
        match response.status() {
            reqwest::StatusCode::NOT_FOUND => Ok(None),
            status if status.is_success() => response
                .bytes()
                .await
                .map(|bytes| Some(bytes.to_vec()))
                .map_err(|error| fetch_error(error.to_string())),
            status => Err(fetch_error(format!("the channel answered {status}"))),
        }
    }
}

fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let parent = path.parent().unwrap_or_else(|| std::path::Path::new("."));
    fs_err::create_dir_all(parent)?;
    let mut file = tempfile::NamedTempFile::new_in(parent)?;
    file.write_all(bytes)?;
    file.persist(path).map_err(|error| error.error)?;
    Ok(())
}

/// An HTTP error with its causes, which carry the useful part (connection refused, …).
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
