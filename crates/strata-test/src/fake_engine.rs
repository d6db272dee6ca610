//! An in-memory `Engine`, for testing what the build runner decides — skips after a failure,
//! up-to-date checks, push retries and push failures — without a daemon. It builds nothing:
//! an image is a record of its Dockerfile, build arguments and labels. A Dockerfile with a line
//! `RUN false` fails to build (`RUN test "$TARGETARCH" != arm64`: on arm64 only). A container
//! runs as a command whose first word is `false` exits 1; any other exits 0 and prints its
//! command.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Read;
use std::sync::{Mutex, MutexGuard};

use futures_util::stream::BoxStream;
use sha2::{Digest, Sha256};
use strata_engine::{
    BuildOutput, BuildRequest, BuiltImage, Engine, EngineError, ImageDetails, PushCredentials,
    Pushed, RunOutput, RunRequest, TransferFailure,
};
use tokio::sync::mpsc::UnboundedSender;

#[derive(Default)]
struct State {
    /// Images by id.
    images: HashMap<String, ImageDetails>,
    /// Local tags: reference → image id.
    tags: HashMap<String, String>,
    /// The Dockerfiles built, in order.
    built: Vec<String>,
    /// Failures still to come, per pushed tag.
    push_failures: HashMap<String, VecDeque<TransferFailure>>,
    /// Every push attempt, by tag.
    push_attempts: Vec<String>,
    /// Every container run: image and command.
    runs: Vec<(String, Vec<String>)>,
    /// Every build's cache: the images it may reuse layers of, and whether it writes inline
    /// cache metadata.
    caches: Vec<(Vec<String>, bool)>,
    /// Builds still to fail as buildah does when another client removed a cached layer.
    lost_layers: usize,
}

/// The fake engine; share it behind an `Arc`.
#[derive(Default)]
pub struct FakeEngine {
    state: Mutex<State>,
}

fn digest(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
        hasher.update(b"\0");
    }
    format!("sha256:{:x}", hasher.finalize())
}

impl FakeEngine {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A local image under `reference` (a base image). Returns its id.
    pub fn add_image(&self, reference: &str) -> String {
        let id = digest(&[reference.as_bytes()]);
        let mut state = self.state();
        state.images.insert(
            id.clone(),
            ImageDetails {
                id: id.clone(),
                size: 1000,
                repo_tags: vec![reference.to_string()],
                ..ImageDetails::default()
            },
        );
        state.tags.insert(reference.to_string(), id.clone());
        id
    }

    /// Every container run so far: image (id or reference) and command.
    pub fn runs(&self) -> Vec<(String, Vec<String>)> {
        self.state().runs.clone()
    }

    /// The next `count` builds fail as buildah's do when another client removes a layer they
    /// look for ("layer not known"), whatever they build.
    pub fn lose_cached_layers(&self, count: usize) {
        self.state().lost_layers = count;
    }

    /// The next pushes of `tag` fail like this, in order.
    pub fn fail_pushes(&self, tag: &str, failures: &[TransferFailure]) {
        self.state()
            .push_failures
            .insert(tag.to_string(), failures.iter().copied().collect());
    }

    /// How many builds ran.
    /// Each build's `cache_from` and `inline_cache`, in the order the builds started.
    pub fn caches(&self) -> Vec<(Vec<String>, bool)> {
        self.state().caches.clone()
    }

    pub fn builds(&self) -> usize {
        self.state().built.len()
    }

    /// How many times `tag` was pushed (failed attempts included).
    pub fn push_attempts(&self, tag: &str) -> usize {
        self.state()
            .push_attempts
            .iter()
            .filter(|attempt| *attempt == tag)
            .count()
    }

    /// The image a local tag points at.
    pub fn tagged(&self, reference: &str) -> Option<String> {
        self.state().tags.get(reference).cloned()
    }

    /// Every local tag.
    pub fn tags(&self) -> BTreeMap<String, String> {
        self.state().tags.clone().into_iter().collect()
    }

    fn resolve(state: &State, reference: &str) -> Option<String> {
        if state.images.contains_key(reference) {
            return Some(reference.to_string());
        }
        state.tags.get(reference).cloned()
    }
}

/// The Dockerfile's text out of a context archive.
fn dockerfile_of(request: &BuildRequest) -> String {
    let mut archive = tar::Archive::new(&request.context[..]);
    let Ok(entries) = archive.entries() else {
        return String::new();
    };
    for entry in entries.flatten() {
        let mut entry = entry;
        let is_dockerfile = entry
            .path()
            .is_ok_and(|path| path.to_string_lossy() == request.dockerfile);
        if is_dockerfile {
            let mut text = String::new();
            let _ = entry.read_to_string(&mut text);
            return text;
        }
    }
    String::new()
}

impl Engine for FakeEngine {
    async fn build(
        &self,
        request: BuildRequest,
        output: UnboundedSender<BuildOutput>,
    ) -> Result<BuiltImage, EngineError> {
        let dockerfile = dockerfile_of(&request);
        {
            let mut state = self.state();
            state
                .caches
                .push((request.cache_from.clone(), request.inline_cache));
            if state.lost_layers > 0 {
                state.lost_layers -= 1;
                return Err(EngineError::BuildFailed {
                    message: "checking if cached image exists from a previous build: getting top layer info: layer not known".to_string(),
                });
            }
        }
        let _ = output.send(BuildOutput::Step(format!(
            "[1/1] {}",
            dockerfile.lines().next().unwrap_or_default()
        )));
        // `RUN test "$TARGETARCH" != arm64` fails on that architecture only.
        let architecture = request
            .build_args
            .get("TARGETARCH")
            .cloned()
            .unwrap_or_default();
        let fails_here = dockerfile.lines().any(|line| {
            line.trim()
                .strip_prefix("RUN test \"$TARGETARCH\" != ")
                .is_some_and(|refused| refused == architecture)
        });
        if fails_here || dockerfile.lines().any(|line| line.trim() == "RUN false") {
            return Err(EngineError::BuildFailed {
                message: "process \"/bin/sh -c false\" did not complete successfully: exit code: 1"
                    .to_string(),
            });
        }
        let arguments = format!("{:?}", request.build_args);
        let labels = format!("{:?}", request.labels);
        let id = digest(&[
            dockerfile.as_bytes(),
            arguments.as_bytes(),
            labels.as_bytes(),
        ]);
        let mut state = self.state();
        state.built.push(dockerfile);
        state.images.insert(
            id.clone(),
            ImageDetails {
                id: id.clone(),
                labels: request.labels,
                size: 2000,
                ..ImageDetails::default()
            },
        );
        Ok(BuiltImage { id })
    }

    async fn tag(&self, image: &str, reference: &str) -> Result<(), EngineError> {
        let mut state = self.state();
        let Some(id) = Self::resolve(&state, image) else {
            return Err(EngineError::NoSuchImage {
                reference: image.to_string(),
            });
        };
        state.tags.insert(reference.to_string(), id);
        Ok(())
    }

    async fn untag(&self, reference: &str) -> Result<(), EngineError> {
        self.state().tags.remove(reference);
        Ok(())
    }

    async fn push(
        &self,
        reference: &str,
        _credentials: Option<PushCredentials>,
    ) -> Result<Pushed, EngineError> {
        let mut state = self.state();
        state.push_attempts.push(reference.to_string());
        if let Some(failure) = state
            .push_failures
            .get_mut(reference)
            .and_then(VecDeque::pop_front)
        {
            return Err(EngineError::Push {
                reference: reference.to_string(),
                message: format!("injected failure: {failure:?}"),
                failure,
            });
        }
        let id = Self::resolve(&state, reference).ok_or_else(|| EngineError::NoSuchImage {
            reference: reference.to_string(),
        })?;
        Ok(Pushed {
            reference: reference.to_string(),
            digest: digest(&[id.as_bytes(), b"manifest"]).parse().ok(),
        })
    }

    async fn image(&self, reference: &str) -> Result<Option<ImageDetails>, EngineError> {
        let state = self.state();
        Ok(Self::resolve(&state, reference).and_then(|id| state.images.get(&id).cloned()))
    }

    async fn pull(
        &self,
        _reference: &str,
        _credentials: Option<PushCredentials>,
    ) -> Result<bool, EngineError> {
        Ok(false)
    }

    async fn load(
        &self,
        _archive: BoxStream<'static, std::io::Result<bytes::Bytes>>,
    ) -> Result<(), EngineError> {
        Err(EngineError::Load {
            message: "the fake engine has no layers, so it loads no archives".to_string(),
        })
    }

    fn export<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxStream<'a, Result<bytes::Bytes, EngineError>> {
        Box::pin(futures_util::stream::once(async move {
            Err(EngineError::NoSuchImage {
                reference: reference.to_string(),
            })
        }))
    }

    async fn run_request(&self, request: RunRequest) -> Result<RunOutput, EngineError> {
        let fails = request.command.first().is_some_and(|word| word == "false");
        let stdout = format!("{}\n", request.command.join(" "));
        self.state().runs.push((request.image, request.command));
        Ok(RunOutput {
            exit_code: i64::from(fails),
            stdout,
            stderr: String::new(),
        })
    }
}
