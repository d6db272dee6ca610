//! The package index client: project pages (JSON or HTML, whichever the index serves), wheel
//! metadata (PEP 658 `.metadata` when the index offers it, otherwise two ranged reads of the
//! wheel), and downloads. Requests run concurrently up to a limit, are retried with backoff, and
//! go through an on-disk cache: project pages honour `Cache-Control`, `ETag` and
//! `Last-Modified`; metadata is cached by the file's sha256, which never changes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{
    HeaderMap, HeaderValue, ACCEPT, CACHE_CONTROL, CONTENT_RANGE, CONTENT_TYPE, ETAG,
    IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, RANGE,
};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use url::Url;

use crate::error::LockError;
use crate::simple::{parse_page, IndexFile, ProjectPage};
use crate::zipread;

const ACCEPT_PAGES: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";
/// The tail of a wheel read first: enough for the central directory of most wheels.
const TAIL_BYTES: u64 = 64 * 1024;
const ATTEMPTS: u32 = 4;

/// How the client behaves.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The runtime requests run on (the caller's: strata's session has one per process).
    pub runtime: tokio::runtime::Handle,
    /// Where responses are cached; `None` caches nothing.
    pub cache_dir: Option<PathBuf>,
    /// Use only the cache.
    pub offline: bool,
    /// Requests at once.
    pub concurrency: usize,
}

/// Counters for progress display.
#[derive(Debug, Default)]
pub struct Stats {
    pub pages: AtomicUsize,
    pub metadata: AtomicUsize,
    pub from_cache: AtomicUsize,
}

#[derive(Clone)]
pub struct IndexClient {
    http: reqwest::Client,
    options: Arc<ClientOptions>,
    limit: Arc<Semaphore>,
    pub stats: Arc<Stats>,
    /// Project pages already asked for in this run, by URL.
    answers: Arc<tokio::sync::Mutex<std::collections::HashMap<String, Arc<PageAnswer>>>>,
}

/// The caching rules a page came with.
#[derive(Debug, Clone, Default)]
struct Validators {
    etag: Option<String>,
    last_modified: Option<String>,
    max_age: Option<u64>,
    no_store: bool,
    no_cache: bool,
}

/// The index's answer for a project page, kept for the rest of the run.
#[derive(Debug)]
enum PageAnswer {
    NotFound,
    NotModified(Validators),
    Body {
        digest: String,
        body: String,
        content_type: String,
        final_url: Url,
        validators: Validators,
    },
}

impl CachedPage {
    /// Whether the index said the page may be reused without asking (`max-age`).
    fn is_fresh(&self) -> bool {
        !self.no_cache
            && self
                .max_age
                .is_some_and(|max_age| now().saturating_sub(self.stored_at) < max_age)
    }
}

/// A response body: the whole file, or the requested range and the file's total size.
enum Fetched {
    Whole(Vec<u8>),
    Range { bytes: Vec<u8>, total: Option<u64> },
}

#[derive(Serialize, Deserialize)]
struct CachedPage {
    /// sha256 of the page as served: an index that sends no validators still lets an unchanged
    /// page skip parsing and rewriting.
    #[serde(default)]
    body_sha256: Option<String>,
    etag: Option<String>,
    last_modified: Option<String>,
    max_age: Option<u64>,
    no_cache: bool,
    stored_at: u64,
    page: ProjectPage,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |duration| duration.as_secs())
}

fn short_hash(text: &str) -> String {
    format!("{:x}", Sha256::digest(text.as_bytes()))[..16].to_string()
}

/// Write a cache file through a temporary file (a reader never sees half of one).
pub(crate) fn write_cache(path: &Path, bytes: &[u8]) {
    // A cache that cannot be written is read from the index again next time.
    if let Err(error) = strata_fs::write_cache_file(path, bytes) {
        tracing::debug!("{error}");
    }
}

impl IndexClient {
    pub fn new(options: ClientOptions) -> Result<Self, LockError> {
        let http = strata_http::client_builder()
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(|source| LockError::Http {
                url: String::new(),
                source,
            })?;
        Ok(Self {
            http,
            limit: Arc::new(Semaphore::new(options.concurrency.max(1))),
            options: Arc::new(options),
            stats: Arc::new(Stats::default()),
            answers: Arc::default(),
        })
    }

    /// The runtime the client's requests run on.
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        &self.options.runtime
    }

    /// A file in the client's cache directory (`None` without a cache).
    pub(crate) fn cache_file(&self, parts: &[&str]) -> Option<PathBuf> {
        self.cache_path(parts)
    }

    fn cache_path(&self, parts: &[&str]) -> Option<PathBuf> {
        let mut path = self.options.cache_dir.clone()?;
        for part in parts {
            path.push(part);
        }
        Some(path)
    }

    /// Send a GET, retrying connection errors, timeouts, 429 and 5xx after 0.25 s, 0.5 s, 1 s.
    ///
    /// # Panics
    ///
    /// Never: the request semaphore is never closed.
    pub async fn get(&self, url: &str, headers: HeaderMap) -> Result<reqwest::Response, LockError> {
        let _permit = self
            .limit
            .acquire()
            .await
            .expect("the request semaphore is never closed");
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self.http.get(url).headers(headers.clone()).send().await;
            let retry = match &result {
                Ok(response) => {
                    response.status().is_server_error()
                        || response.status() == StatusCode::TOO_MANY_REQUESTS
                }
                Err(error) => {
                    (error.is_connect() || error.is_timeout() || error.is_request())
                        && !strata_http::is_unknown_host(error)
                }
            };
            if !retry || attempt >= ATTEMPTS {
                return result.map_err(|source| LockError::Http {
                    url: url.to_string(),
                    source,
                });
            }
            let delay = Duration::from_millis(250 * 2u64.pow(attempt - 1));
            tracing::debug!("retrying `{url}` in {delay:?}");
            tokio::time::sleep(delay).await;
        }
    }

    fn page_url(index_url: &str, name: &str) -> String {
        format!("{}/{name}/", index_url.trim_end_matches('/'))
    }

    fn cached_page(&self, index_url: &str, name: &str) -> (Option<PathBuf>, Option<CachedPage>) {
        let cache_path =
            self.cache_path(&["simple-v1", &short_hash(index_url), &format!("{name}.json")]);
        let cached = cache_path
            .as_ref()
            .and_then(|path| fs_err::read(path).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        (cache_path, cached)
    }

    /// Ask the index for a project page (with the cache's validators), once per run: a second
    /// call for the same page (the warm check, then the resolution) reuses the answer.
    async fn fetch_page(
        &self,
        url: &str,
        cached: Option<&CachedPage>,
    ) -> Result<Arc<PageAnswer>, LockError> {
        if let Some(answer) = self.answers.lock().await.get(url) {
            return Ok(Arc::clone(answer));
        }
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(ACCEPT_PAGES));
        if let Some(entry) = cached {
            if let Some(etag) = entry
                .etag
                .as_deref()
                .and_then(|etag| HeaderValue::from_str(etag).ok())
            {
                headers.insert(IF_NONE_MATCH, etag);
            }
            if let Some(modified) = entry
                .last_modified
                .as_deref()
                .and_then(|modified| HeaderValue::from_str(modified).ok())
            {
                headers.insert(IF_MODIFIED_SINCE, modified);
            }
        }
        let response = self.get(url, headers).await?;
        self.stats.pages.fetch_add(1, Ordering::Relaxed);
        let status = response.status();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|value: &HeaderValue| value.to_str().ok())
                .map(str::to_string)
        };
        let cache_control = header(CACHE_CONTROL)
            .unwrap_or_default()
            .to_ascii_lowercase();
        let validators = Validators {
            etag: header(ETAG),
            last_modified: header(LAST_MODIFIED),
            max_age: cache_control.split(',').find_map(|directive| {
                directive
                    .trim()
                    .strip_prefix("max-age=")
                    .and_then(|seconds| seconds.parse().ok())
            }),
            no_store: cache_control.contains("no-store"),
            no_cache: cache_control.contains("no-cache"),
        };
        let content_type = header(CONTENT_TYPE).unwrap_or_else(|| "text/html".to_string());
        let answer = if status == StatusCode::NOT_FOUND {
            PageAnswer::NotFound
        } else if status == StatusCode::NOT_MODIFIED {
            PageAnswer::NotModified(validators)
        } else if status.is_success() {
            let final_url = Url::parse(response.url().as_ref()).map_err(|_| LockError::Status {
                url: url.to_string(),
                status: status.as_u16(),
            })?;
            let body = response.text().await.map_err(|source| LockError::Http {
                url: url.to_string(),
                source,
            })?;
            PageAnswer::Body {
                digest: format!("{:x}", Sha256::digest(body.as_bytes())),
                body,
                content_type,
                final_url,
                validators,
            }
        } else {
            return Err(LockError::Status {
                url: url.to_string(),
                status: status.as_u16(),
            });
        };
        let answer = Arc::new(answer);
        self.answers
            .lock()
            .await
            .insert(url.to_string(), Arc::clone(&answer));
        Ok(answer)
    }

    /// What identifies the index's current answer for a project page: the sha256 of the page
    /// as served (`None`: no such project). Cheap when the page has not changed: nothing is
    /// parsed.
    pub async fn page_digest(
        &self,
        index_url: &str,
        name: &str,
    ) -> Result<Option<String>, LockError> {
        let url = Self::page_url(index_url, name);
        let (_, cached) = self.cached_page(index_url, name);
        if let Some(entry) = &cached {
            if entry.is_fresh() || self.options.offline {
                return Ok(entry.body_sha256.clone());
            }
        } else if self.options.offline {
            return Err(LockError::Offline { url });
        }
        Ok(match &*self.fetch_page(&url, cached.as_ref()).await? {
            PageAnswer::NotFound => None,
            PageAnswer::NotModified(_) => cached.and_then(|entry| entry.body_sha256),
            PageAnswer::Body { digest, .. } => Some(digest.clone()),
        })
    }

    /// The files of a project on one index; `None` when the index has no such project.
    pub async fn project_page(
        &self,
        index_url: &str,
        name: &str,
    ) -> Result<Option<ProjectPage>, LockError> {
        let url = Self::page_url(index_url, name);
        let (cache_path, cached) = self.cached_page(index_url, name);
        if let Some(entry) = &cached {
            if entry.is_fresh() || self.options.offline {
                self.stats.from_cache.fetch_add(1, Ordering::Relaxed);
                return Ok(Some(entry.page.clone()));
            }
        } else if self.options.offline {
            return Err(LockError::Offline { url });
        }
        let answer = self.fetch_page(&url, cached.as_ref()).await?;
        let (page, body_sha256, validators) = match &*answer {
            PageAnswer::NotFound => return Ok(None),
            PageAnswer::NotModified(validators) => match cached {
                Some(entry) => (entry.page, entry.body_sha256, validators.clone()),
                None => {
                    return Err(LockError::Status {
                        url,
                        status: StatusCode::NOT_MODIFIED.as_u16(),
                    })
                }
            },
            PageAnswer::Body {
                digest,
                body,
                content_type,
                final_url,
                validators,
            } => {
                if let Some(entry) =
                    cached.filter(|entry| entry.body_sha256.as_deref() == Some(digest.as_str()))
                {
                    // The same page as last time: nothing to parse, nothing to rewrite.
                    return Ok(Some(entry.page));
                }
                let page = parse_page(body, content_type, final_url).map_err(|message| {
                    LockError::Metadata {
                        file: url.clone(),
                        message,
                    }
                })?;
                (page, Some(digest.clone()), validators.clone())
            }
        };
        if let (Some(path), false) = (&cache_path, validators.no_store) {
            let entry = CachedPage {
                body_sha256,
                etag: validators.etag,
                last_modified: validators.last_modified,
                max_age: validators.max_age,
                no_cache: validators.no_cache,
                stored_at: now(),
                page: page.clone(),
            };
            if let Ok(bytes) = serde_json::to_vec(&entry) {
                write_cache(path, &bytes);
            }
        }
        Ok(Some(page))
    }

    /// The core metadata of a wheel.
    pub async fn wheel_metadata(&self, file: &IndexFile) -> Result<Vec<u8>, LockError> {
        let key = file.sha256.clone().unwrap_or_else(|| short_hash(&file.url));
        let cache_path = self.cache_path(&["metadata-v1", &format!("{key}.METADATA")]);
        if let Some(bytes) = cache_path.as_ref().and_then(|path| fs_err::read(path).ok()) {
            self.stats.from_cache.fetch_add(1, Ordering::Relaxed);
            return Ok(bytes);
        }
        if self.options.offline {
            return Err(LockError::Offline {
                url: file.url.clone(),
            });
        }
        let bytes = if file.core_metadata {
            self.fetch_all(&format!("{}.metadata", file.url), None)
                .await?
        } else {
            self.ranged_metadata(file).await?
        };
        self.stats.metadata.fetch_add(1, Ordering::Relaxed);
        if let Some(path) = &cache_path {
            write_cache(path, &bytes);
        }
        Ok(bytes)
    }

    /// GET a URL, or a byte range of it.
    async fn fetch(&self, url: &str, range: Option<String>) -> Result<Fetched, LockError> {
        let mut headers = HeaderMap::new();
        if let Some(range) = &range {
            headers.insert(
                RANGE,
                HeaderValue::from_str(range)
                    .expect("a `bytes=` range strata formats is a valid header value"),
            );
        }
        let response = self.get(url, headers).await?;
        let status = response.status();
        if !status.is_success() {
            return Err(LockError::Status {
                url: url.to_string(),
                status: status.as_u16(),
            });
        }
        let total = response
            .headers()
            .get(CONTENT_RANGE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.rsplit('/').next())
            .and_then(|total| total.parse().ok());
        let body = response
            .bytes()
            .await
            .map_err(|source| LockError::Http {
                url: url.to_string(),
                source,
            })?
            .to_vec();
        // A server may ignore the range and send the whole file.
        Ok(if status == StatusCode::PARTIAL_CONTENT {
            Fetched::Range { bytes: body, total }
        } else {
            Fetched::Whole(body)
        })
    }

    async fn fetch_all(&self, url: &str, range: Option<String>) -> Result<Vec<u8>, LockError> {
        Ok(match self.fetch(url, range).await? {
            Fetched::Whole(bytes) | Fetched::Range { bytes, .. } => bytes,
        })
    }

    /// `METADATA` from a wheel: its tail (central directory), then the member's range.
    async fn ranged_metadata(&self, file: &IndexFile) -> Result<Vec<u8>, LockError> {
        let failure = |message: String| LockError::Metadata {
            file: file.filename.clone(),
            message,
        };
        let (tail, total, whole) = match self
            .fetch(&file.url, Some(format!("bytes=-{TAIL_BYTES}")))
            .await?
        {
            Fetched::Whole(bytes) => {
                let total = bytes.len() as u64;
                (bytes, total, true)
            }
            Fetched::Range {
                bytes,
                total: Some(total),
            } => (bytes, total, false),
            Fetched::Range { total: None, .. } => {
                return Err(failure(
                    "the server did not say the file's size".to_string(),
                ))
            }
        };
        let tail_offset = total.checked_sub(tail.len() as u64).ok_or_else(|| {
            failure(format!(
                "the server says the file has {total} bytes but sent {} for its tail",
                tail.len()
            ))
        })?;
        let (directory_offset, directory_size) =
            zipread::central_directory_location(&tail, tail_offset).map_err(failure)?;
        let directory = if directory_offset >= tail_offset {
            let start = usize::try_from(directory_offset - tail_offset)
                .map_err(|error| failure(error.to_string()))?;
            let end = usize::try_from(directory_size)
                .ok()
                .and_then(|size| start.checked_add(size))
                .ok_or_else(|| failure("the central directory's size overflows".to_string()))?;
            tail.get(start..end)
                .ok_or_else(|| {
                    failure("the central directory runs past the end of the file".to_string())
                })?
                .to_vec()
        } else {
            let last = directory_offset
                .checked_add(directory_size)
                .and_then(|end| end.checked_sub(1))
                .ok_or_else(|| failure("the central directory's place overflows".to_string()))?;
            let range = format!("bytes={directory_offset}-{last}");
            self.fetch_all(&file.url, Some(range)).await?
        };
        let members = zipread::members(&directory).map_err(failure)?;
        let member = zipread::metadata_member(&members)
            .ok_or_else(|| failure("no `*.dist-info/METADATA` in the wheel".to_string()))?;
        let local = if whole {
            let start = usize::try_from(member.local_header_offset)
                .map_err(|error| failure(error.to_string()))?;
            tail.get(start..).unwrap_or_default().to_vec()
        } else if member.local_header_offset >= tail_offset {
            let start = usize::try_from(member.local_header_offset - tail_offset)
                .map_err(|error| failure(error.to_string()))?;
            tail.get(start..).unwrap_or_default().to_vec()
        } else {
            let end = member
                .local_header_offset
                .saturating_add(zipread::local_span(member))
                .min(total)
                .checked_sub(1)
                .ok_or_else(|| failure("the wheel is empty".to_string()))?;
            self.fetch_all(
                &file.url,
                Some(format!("bytes={}-{end}", member.local_header_offset)),
            )
            .await?
        };
        zipread::member_data(member, &local).map_err(failure)
    }

    /// Download a file into `destination`, streamed to disk (a wheel of torch is 800 MB), its
    /// sha256 checked as it arrives: a mismatch leaves no file. Kept in the cache by hash, and
    /// taken from there when it is.
    pub async fn download_to(&self, file: &IndexFile, destination: &Path) -> Result<(), LockError> {
        use futures_util::StreamExt;
        use std::io::Write as _;
        let directory = destination.parent().unwrap_or(Path::new("."));
        let write_error = |source: std::io::Error| LockError::Write {
            path: destination.to_path_buf(),
            source,
        };
        fs_err::create_dir_all(directory).map_err(write_error)?;
        let mut temporary = tempfile::NamedTempFile::new_in(directory).map_err(write_error)?;
        let cache_path = file
            .sha256
            .as_ref()
            .and_then(|sha256| self.cache_path(&["files-v1", sha256]));
        if let Some(cached) = cache_path.as_ref().filter(|path| path.is_file()) {
            let mut source = fs_err::File::open(cached).map_err(write_error)?;
            std::io::copy(&mut source, &mut temporary).map_err(write_error)?;
            temporary
                .persist(destination)
                .map_err(|error| write_error(error.error))?;
            return Ok(());
        }
        if self.options.offline {
            return Err(LockError::Offline {
                url: file.url.clone(),
            });
        }
        let response = self.get(&file.url, HeaderMap::new()).await?;
        if !response.status().is_success() {
            return Err(LockError::Status {
                url: file.url.clone(),
                status: response.status().as_u16(),
            });
        }
        let mut hasher = Sha256::new();
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|source| LockError::Http {
                url: file.url.clone(),
                source,
            })?;
            hasher.update(&chunk);
            temporary.write_all(&chunk).map_err(write_error)?;
        }
        let actual = format!("{:x}", hasher.finalize());
        if let Some(expected) = &file.sha256 {
            if &actual != expected {
                // The temporary file is removed when dropped.
                return Err(LockError::HashMismatch {
                    file: file.filename.clone(),
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        temporary.flush().map_err(write_error)?;
        let written = temporary
            .persist(destination)
            .map_err(|error| write_error(error.error))?;
        drop(written);
        if let Some(cache) = &cache_path {
            if let Some(parent) = cache.parent() {
                if fs_err::create_dir_all(parent).is_ok() {
                    if let Ok(copy) = tempfile::NamedTempFile::new_in(parent) {
                        if fs_err::copy(destination, copy.path()).is_ok() {
                            let _ = copy.persist(cache);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Download a whole file, checking its sha256 when the index gave one; cached by hash.
    pub async fn download(&self, file: &IndexFile) -> Result<Vec<u8>, LockError> {
        let cache_path = file
            .sha256
            .as_ref()
            .and_then(|sha256| self.cache_path(&["files-v1", sha256]));
        if let Some(bytes) = cache_path.as_ref().and_then(|path| fs_err::read(path).ok()) {
            return Ok(bytes);
        }
        if self.options.offline {
            return Err(LockError::Offline {
                url: file.url.clone(),
            });
        }
        let bytes = self.fetch_all(&file.url, None).await?;
        let actual = format!("{:x}", Sha256::digest(&bytes));
        if let Some(expected) = &file.sha256 {
            if &actual != expected {
                return Err(LockError::HashMismatch {
                    file: file.filename.clone(),
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        if let Some(path) = &cache_path {
            write_cache(path, &bytes);
        }
        Ok(bytes)
    }
}
