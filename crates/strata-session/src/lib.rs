//! What one strata invocation shares, made once in `main` and each part on first use: the
//! async runtime every engine, registry and package-index request runs on, the engine
//! connections (one per host and builder), the registry client (its tokens and DNS answers
//! shared between commands' requests) and the cache directories.
//!
//! A command that needs none of them pays for none: a `strata plan` from git starts no
//! runtime and connects to no engine.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use strata_diagnostic::{Diagnostic, ExitClass};
use strata_engine::{BuilderKind, DockerEngine, EngineError};
use strata_registry::RegistryClient;

/// Why the session could not give what was asked.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
}

impl Diagnostic for SessionError {
    fn exit_class(&self) -> Option<ExitClass> {
        // The machine refused threads or file descriptors: nothing the user's input did.
        Some(ExitClass::Unavailable)
    }
}

/// strata's cache directories, under one root.
#[derive(Debug, Clone)]
pub struct Caches {
    root: PathBuf,
}

impl Caches {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// `$STRATA_CACHE_DIR`, else `$XDG_CACHE_HOME/strata`, else `~/.cache/strata`.
    pub fn from_environment() -> Self {
        let root = std::env::var_os("STRATA_CACHE_DIR")
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("XDG_CACHE_HOME")
                    .filter(|value| !value.is_empty())
                    .map(|cache| PathBuf::from(cache).join("strata"))
            })
            .or_else(|| {
                std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/strata"))
            })
            .unwrap_or_else(|| std::env::temp_dir().join("strata-cache"));
        Self::new(root)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The Python package index client's pages and wheels' metadata.
    pub fn package_index(&self) -> PathBuf {
        self.root.join("pylock")
    }

    /// Conda channels' repodata.
    pub fn conda_channels(&self) -> PathBuf {
        self.root.join("conda")
    }

    /// What planning the image repository at `root` keeps for its next run (the definition
    /// history of its commit): one directory per repository, named for its path.
    pub fn repository(&self, root: &Path) -> PathBuf {
        use std::hash::{Hash, Hasher};
        let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        // Same path, same name: a different Rust's hasher only costs one run a cold cache.
        let mut hasher = std::hash::DefaultHasher::new();
        root.hash(&mut hasher);
        let name = root
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.root
            .join("repositories")
            .join(format!("{name}-{:016x}", hasher.finish()))
    }
}

/// One engine connection: which host (`None`: `DOCKER_HOST` or the default socket) and builder.
type EngineKey = (Option<String>, BuilderKind);

/// What one invocation shares. Cheap to make; every part is made when first asked for.
pub struct Session {
    caches: Caches,
    runtime: OnceLock<tokio::runtime::Runtime>,
    registry: OnceLock<RegistryClient>,
    engines: tokio::sync::Mutex<HashMap<EngineKey, Arc<DockerEngine>>>,
}

impl Session {
    pub fn new(caches: Caches) -> Self {
        Self {
            caches,
            runtime: OnceLock::new(),
            registry: OnceLock::new(),
            engines: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The session of a process: caches where the environment says.
    pub fn from_environment() -> Self {
        Self::new(Caches::from_environment())
    }

    pub fn caches(&self) -> &Caches {
        &self.caches
    }

    /// The multi-threaded runtime, started on first use.
    pub fn runtime(&self) -> Result<&tokio::runtime::Runtime, SessionError> {
        if let Some(runtime) = self.runtime.get() {
            return Ok(runtime);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(SessionError::Runtime)?;
        // Two threads cannot race here: a session is driven from `main`'s thread.
        Ok(self.runtime.get_or_init(|| runtime))
    }

    /// A handle to the runtime, for library clients that block on it from their own calls.
    pub fn handle(&self) -> Result<tokio::runtime::Handle, SessionError> {
        Ok(self.runtime()?.handle().clone())
    }

    /// Run a future to its end on the session's runtime.
    pub fn block_on<F: Future>(&self, future: F) -> Result<F::Output, SessionError> {
        Ok(self.runtime()?.block_on(future))
    }

    /// The registry client every command's registry requests share.
    pub fn registry(&self) -> &RegistryClient {
        self.registry.get_or_init(RegistryClient::new)
    }

    /// The engine `DOCKER_HOST` names (or the default socket), connected once per builder.
    pub async fn engine(&self, builder: BuilderKind) -> Result<Arc<DockerEngine>, EngineError> {
        self.engine_at(None, builder).await
    }

    /// The engine at `host` (`None`: `DOCKER_HOST` or the default socket), connected once
    /// per host and builder.
    pub async fn engine_at(
        &self,
        host: Option<&str>,
        builder: BuilderKind,
    ) -> Result<Arc<DockerEngine>, EngineError> {
        let key = (host.map(str::to_string), builder);
        let mut engines = self.engines.lock().await;
        if let Some(engine) = engines.get(&key) {
            return Ok(Arc::clone(engine));
        }
        let engine = Arc::new(match host {
            None => DockerEngine::connect(builder).await?,
            Some(host) => DockerEngine::connect_to(Some(host), builder).await?,
        });
        engines.insert(key, Arc::clone(&engine));
        Ok(engine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_is_started_once_and_only_when_asked_for() {
        let session = Session::new(Caches::new(PathBuf::from("/nonexistent")));
        assert!(session.runtime.get().is_none());
        let first: *const _ = session.runtime().expect("runtime");
        let second: *const _ = session.runtime().expect("runtime");
        assert_eq!(first, second);
        assert_eq!(session.block_on(async { 40 + 2 }).expect("block_on"), 42);
    }

    #[test]
    fn caches_live_under_one_root() {
        let caches = Caches::new(PathBuf::from("/cache"));
        assert_eq!(caches.package_index(), Path::new("/cache/pylock"));
        assert_eq!(caches.conda_channels(), Path::new("/cache/conda"));
    }

    #[test]
    fn an_engine_that_cannot_be_reached_is_not_remembered() {
        let session = Session::new(Caches::new(PathBuf::from("/nonexistent")));
        let result = session.block_on(session.engine_at(
            Some("unix:///nonexistent/strata-session-test.sock"),
            BuilderKind::BuildKit,
        ));
        assert!(result.expect("runtime").is_err());
        let engines = session.block_on(async { session.engines.lock().await.len() });
        assert_eq!(engines.expect("runtime"), 0);
    }
}
