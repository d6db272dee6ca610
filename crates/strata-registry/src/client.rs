//! The registry client: one HTTP connection pool, credentials from the Docker config, tokens
//! cached per registry and scope, and retries with backoff for connection errors, `429` and
//! `5xx`. Every request names the registry in its errors.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode};

use crate::auth::{cache_key, parse_challenge, token_request, Challenge, Scope, TokenResponse};
use crate::credentials::{credentials_for_host, Credentials};
use crate::error::RegistryError;
use crate::reference::{api_host, is_loopback};

/// How often and how patiently failed requests are tried again.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// The wait before the second try; each later wait doubles, up to `max_delay`.
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            first_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// The wait after the `attempt`-th try (1-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// What went over the wire, for reports and benchmarks.
#[derive(Debug, Default)]
pub struct Traffic {
    pub requests: AtomicU64,
    /// Blob bytes uploaded to registries.
    pub blob_bytes_sent: AtomicU64,
    /// Blob bytes downloaded from registries.
    pub blob_bytes_received: AtomicU64,
}

/// A client for any number of registries. Cheap to clone; clones share tokens and connections.
#[derive(Clone)]
pub struct RegistryClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    retry: RetryPolicy,
    /// `Authorization` values by registry and scopes (`cache_key`), and by registry alone for
    /// Basic auth.
    authorizations: Mutex<HashMap<String, String>>,
    credentials: Mutex<HashMap<String, Option<Credentials>>>,
    traffic: Traffic,
}

/// One request to a registry's API.
pub(crate) struct Call<'a> {
    /// The registry as references name it (`docker.io`, `127.0.0.1:5555`).
    pub registry: &'a str,
    /// What the request needs access to.
    pub scopes: Vec<Scope>,
    pub method: Method,
    /// Path and query after the host, or a whole URL (upload locations).
    pub path: String,
    pub headers: HeaderMap,
    pub body: Option<Bytes>,
}

impl<'a> Call<'a> {
    pub fn new(registry: &'a str, method: Method, path: String, scopes: Vec<Scope>) -> Self {
        Self {
            registry,
            scopes,
            method,
            path,
            headers: HeaderMap::new(),
            body: None,
        }
    }

    pub fn header(mut self, name: reqwest::header::HeaderName, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.insert(name, value);
        }
        self
    }

    pub fn body(mut self, body: Bytes) -> Self {
        self.body = Some(body);
        self
    }
}

impl RegistryClient {
    pub fn new() -> Self {
        Self::with_retry(RetryPolicy::default())
    }

    pub fn with_retry(retry: RetryPolicy) -> Self {
        // Building a client only fails when TLS cannot be initialised; fall back to defaults.
        let http = strata_http::client_builder()
            .read_timeout(Duration::from_secs(120))
            .build()
            .unwrap_or_default();
        Self {
            inner: Arc::new(Inner {
                http,
                retry,
                authorizations: Mutex::new(HashMap::new()),
                credentials: Mutex::new(HashMap::new()),
                traffic: Traffic::default(),
            }),
        }
    }

    /// Use these credentials for `registry` instead of the Docker config's (`None`: anonymous).
    pub fn set_credentials(&self, registry: &str, credentials: Option<Credentials>) {
        self.inner
            .credentials
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(registry.to_string(), credentials);
    }

    pub fn traffic(&self) -> &Traffic {
        &self.inner.traffic
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// `http://` for loopback registries, `https://` for the rest, with Docker Hub's API host.
    pub(crate) fn base_url(registry: &str) -> String {
        let host = api_host(registry);
        let scheme = if is_loopback(host) { "http" } else { "https" };
        format!("{scheme}://{host}")
    }

    fn url(registry: &str, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", Self::base_url(registry))
        }
    }

    fn credentials(&self, registry: &str) -> Result<Option<Credentials>, RegistryError> {
        let mut cache = self
            .inner
            .credentials
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(found) = cache.get(registry) {
            return Ok(found.clone());
        }
        let found = credentials_for_host(registry)?;
        cache.insert(registry.to_string(), found.clone());
        Ok(found)
    }

    pub(crate) fn cached(&self, registry: &str, key: &str) -> Option<String> {
        let cache = self
            .inner
            .authorizations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.get(key).or_else(|| cache.get(registry)).cloned()
    }

    fn store_authorization(&self, key: String, value: String) {
        self.inner
            .authorizations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key, value);
    }

    /// Send a request: authenticate when challenged, retry what can succeed on a later try.
    /// Returns any response that is not `401`/`403` or a final `429`/`5xx`; callers decide what
    /// other statuses mean.
    pub(crate) async fn send(&self, call: Call<'_>) -> Result<Response, RegistryError> {
        let registry = call.registry;
        let key = cache_key(registry, &call.scopes);
        let url = Self::url(registry, &call.path);
        let mut authorization = self.cached(registry, &key);
        let mut challenged = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self
                .inner
                .http
                .request(call.method.clone(), &url)
                .headers(call.headers.clone());
            if let Some(value) = &authorization {
                request = request.header(AUTHORIZATION, value);
            }
            if let Some(body) = &call.body {
                request = request.body(body.clone());
            }
            self.inner.traffic.requests.fetch_add(1, Ordering::Relaxed);
            let response = match request.send().await {
                Ok(response) => response,
                Err(error) => {
                    let transient = (error.is_connect()
                        || error.is_timeout()
                        || error.is_request()
                        || error.is_body())
                        && !strata_http::is_unknown_host(&error);
                    if transient && attempt < self.inner.retry.attempts {
                        let delay = self.inner.retry.delay(attempt);
                        tracing::debug!(
                            "{} `{url}` failed ({error}); trying again in {delay:?}",
                            call.method
                        );
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    return Err(RegistryError::Unreachable {
                        registry: registry.to_string(),
                        source: error,
                    });
                }
            };
            let status = response.status();
            let repository = call
                .scopes
                .first()
                .map(|scope| scope.repository.clone())
                .unwrap_or_default();
            if status == StatusCode::UNAUTHORIZED {
                let challenge = response
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|value| value.to_str().ok())
                    .and_then(parse_challenge);
                let credentials = self.credentials(registry)?;
                if challenged || challenge.is_none() {
                    return Err(RegistryError::Unauthorized {
                        registry: registry.to_string(),
                        repository,
                        anonymous: credentials.is_none(),
                    });
                }
                challenged = true;
                attempt -= 1;
                let value = self
                    .answer_challenge(
                        registry,
                        &repository,
                        &call.scopes,
                        challenge.as_ref(),
                        credentials.as_ref(),
                    )
                    .await?;
                let cache_under = match challenge {
                    Some(Challenge::Basic) => registry.to_string(),
                    _ => key.clone(),
                };
                self.store_authorization(cache_under, value.clone());
                authorization = Some(value);
                continue;
            }
            if status == StatusCode::FORBIDDEN {
                return Err(RegistryError::Denied {
                    registry: registry.to_string(),
                    repository,
                });
            }
            let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
            if retryable && attempt < self.inner.retry.attempts {
                let delay = retry_after(&response)
                    .unwrap_or_else(|| self.inner.retry.delay(attempt))
                    .min(Duration::from_secs(30));
                tracing::debug!(
                    "{} `{url}` answered {status}; trying again in {delay:?}",
                    call.method
                );
                tokio::time::sleep(delay).await;
                continue;
            }
            return Ok(response);
        }
    }

    /// The `Authorization` value that answers a challenge.
    async fn answer_challenge(
        &self,
        registry: &str,
        repository: &str,
        scopes: &[Scope],
        challenge: Option<&Challenge>,
        credentials: Option<&Credentials>,
    ) -> Result<String, RegistryError> {
        match challenge {
            Some(Challenge::Basic) | None => match credentials {
                Some(Credentials::UsernamePassword { username, password }) => {
                    Ok(crate::auth::basic_header(username, password))
                }
                Some(Credentials::IdentityToken(token)) => Ok(format!("Bearer {token}")),
                None => Err(RegistryError::Unauthorized {
                    registry: registry.to_string(),
                    repository: repository.to_string(),
                    anonymous: true,
                }),
            },
            Some(Challenge::Bearer {
                realm,
                service,
                scope,
            }) => {
                let mut wanted: Vec<String> = scopes.iter().map(Scope::token_scope).collect();
                if wanted.is_empty() {
                    wanted.extend(scope.clone());
                }
                let token_error = |message: String| RegistryError::Token {
                    registry: registry.to_string(),
                    realm: realm.clone(),
                    message,
                };
                let mut attempt = 0;
                let response = loop {
                    attempt += 1;
                    let request = token_request(
                        &self.inner.http,
                        realm,
                        service.as_deref(),
                        &wanted,
                        credentials,
                    );
                    self.inner.traffic.requests.fetch_add(1, Ordering::Relaxed);
                    match request.send().await {
                        Ok(response)
                            if (response.status().is_server_error()
                                || response.status() == StatusCode::TOO_MANY_REQUESTS)
                                && attempt < self.inner.retry.attempts =>
                        {
                            tokio::time::sleep(self.inner.retry.delay(attempt)).await;
                        }
                        Ok(response) => break response,
                        Err(error) if attempt < self.inner.retry.attempts => {
                            tracing::debug!("token request failed ({error}); trying again");
                            tokio::time::sleep(self.inner.retry.delay(attempt)).await;
                        }
                        Err(source) => {
                            return Err(RegistryError::TokenRequest {
                                registry: registry.to_string(),
                                realm: realm.clone(),
                                source,
                            })
                        }
                    }
                };
                let status = response.status();
                if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                    return Err(RegistryError::Unauthorized {
                        registry: registry.to_string(),
                        repository: repository.to_string(),
                        anonymous: credentials.is_none(),
                    });
                }
                if !status.is_success() {
                    return Err(token_error(format!("the token service answered {status}")));
                }
                let token: TokenResponse =
                    response
                        .json()
                        .await
                        .map_err(|source| RegistryError::TokenRequest {
                            registry: registry.to_string(),
                            realm: realm.clone(),
                            source,
                        })?;
                let token = token
                    .into_token()
                    .ok_or_else(|| token_error("the answer holds no token".to_string()))?;
                Ok(format!("Bearer {token}"))
            }
        }
    }
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RegistryClient")
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

impl Default for RegistryClient {
    fn default() -> Self {
        Self::new()
    }
}

fn retry_after(response: &Response) -> Option<Duration> {
    response
        .headers()
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// An error for an unexpected status, with the registry's own message when it sent one
/// (`{"errors":[{"code":"…","message":"…"}]}`).
pub(crate) async fn status_error(
    registry: &str,
    method: &Method,
    path: &str,
    response: Response,
) -> RegistryError {
    let status = response.status().as_u16();
    let body = response.bytes().await.unwrap_or_default();
    let message = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|value| {
            let first = value["errors"].get(0)?.clone();
            let code = first["code"].as_str().unwrap_or_default().to_string();
            let message = first["message"].as_str().unwrap_or_default().to_string();
            Some(match (code.is_empty(), message.is_empty()) {
                (false, false) => format!("{code}: {message}"),
                (false, true) => code,
                _ => message,
            })
        })
        .unwrap_or_default();
    let path = path.split('?').next().unwrap_or(path).to_string();
    RegistryError::Status {
        registry: registry.to_string(),
        method: method.to_string(),
        path,
        status,
        message,
    }
}

impl Traffic {
    pub fn add_sent(&self, bytes: u64) {
        self.blob_bytes_sent.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn add_received(&self, bytes: u64) {
        self.blob_bytes_received.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn sent(&self) -> u64 {
        self.blob_bytes_sent.load(Ordering::Relaxed)
    }

    pub fn received(&self) -> u64 {
        self.blob_bytes_received.load(Ordering::Relaxed)
    }
}
