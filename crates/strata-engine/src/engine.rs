//! What strata needs from a container engine, independent of which engine it is.

use std::collections::BTreeMap;
use std::future::Future;

use tokio::sync::mpsc::UnboundedSender;

use crate::error::EngineError;

/// One image build.
#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    /// The build context as an uncompressed tar, Dockerfile included.
    pub context: bytes::Bytes,
    /// The Dockerfile's path inside the context.
    pub dockerfile: String,
    pub build_args: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    /// `os/arch[/variant]`; the engine's own when `None`.
    pub platform: Option<String>,
    pub no_cache: bool,
    /// Pull newer versions of external base images.
    pub pull: bool,
    /// Network mode for `RUN` steps (`host`, `none`, ...).
    pub network: Option<String>,
    /// Images whose layers may stand in for steps (BuildKit reads the cache metadata an image
    /// built with inline cache carries, and pulls only the layers it reuses). Docker's BuildKit
    /// only: other builders and Podman ignore it.
    pub cache_from: Vec<String>,
    /// Write inline cache metadata into the image, for a later build's `cache_from`.
    pub inline_cache: bool,
}

/// What the engine reports while building.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildOutput {
    /// A step started (`[2/4] RUN apt-get update`).
    Step(String),
    /// A line of build output.
    Line(String),
}

/// A finished build: the image, untagged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltImage {
    /// `sha256:...` image id.
    pub id: String,
}

/// What the engine knows of a local image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageDetails {
    pub id: String,
    pub labels: BTreeMap<String, String>,
    /// Bytes.
    pub size: u64,
    /// `name@sha256:...` digests of the image in registries it was pushed to or pulled from.
    pub repo_digests: Vec<String>,
    /// Local tags.
    pub repo_tags: Vec<String>,
    /// Uncompressed layer digests (`rootfs.diff_ids`), bottom first.
    pub layers: Vec<String>,
    /// `NAME=value` environment of the image config.
    pub env: Vec<String>,
    /// The config's `Entrypoint`, `Cmd` and `Shell` (empty when unset).
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub shell: Vec<String>,
    /// The config's `User` (`None` when unset: root).
    pub user: Option<String>,
    /// RFC 3339 creation time.
    pub created: Option<String>,
    pub architecture: Option<String>,
    pub os: Option<String>,
    /// Where the engine keeps each layer's files, bottom first, when its storage driver is
    /// overlay2 (one directory per entry of `layers`); empty otherwise. Only useful when this
    /// process can read the engine's data root.
    pub layer_directories: Vec<std::path::PathBuf>,
}

/// What a command run in a throw-away container printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutput {
    pub exit_code: i64,
    pub stdout: String,
    pub stderr: String,
}

/// Credentials for one registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushCredentials {
    UsernamePassword { username: String, password: String },
    IdentityToken(String),
}

/// A pushed tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub reference: String,
    /// The manifest digest the registry stored, when the engine said (and said a digest).
    pub digest: Option<strata_digest::Digest>,
}

/// What the engine's Dockerfile frontend reads, so strata can explain before a build fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerfileSupport {
    /// `RUN <<EOF` heredocs with the built-in frontend.
    pub heredocs: bool,
    /// Whether a `# syntax=` directive brings a newer frontend (BuildKit only).
    pub syntax_directive: bool,
    /// The engine, as messages name it (`Docker 20.10.24`).
    pub engine: String,
}

/// A container engine. Implementations must never tag an image whose build failed: `build`
/// returns an untagged image and tags are applied by `tag` after success.
pub trait Engine: Send + Sync {
    /// What Dockerfiles this engine builds; by default everything.
    fn dockerfile_support(&self) -> impl Future<Output = DockerfileSupport> + Send {
        std::future::ready(DockerfileSupport {
            heredocs: true,
            syntax_directive: true,
            engine: "the engine".to_string(),
        })
    }

    /// Build an image, streaming progress to `output`.
    fn build(
        &self,
        request: BuildRequest,
        output: UnboundedSender<BuildOutput>,
    ) -> impl Future<Output = Result<BuiltImage, EngineError>> + Send;

    /// Point `reference` (`registry/name:tag`) at `image`.
    fn tag(
        &self,
        image: &str,
        reference: &str,
    ) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// Remove the tag `reference`; the image stays while other tags or containers use it.
    fn untag(&self, reference: &str) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// Push a tagged reference.
    fn push(
        &self,
        reference: &str,
        credentials: Option<PushCredentials>,
    ) -> impl Future<Output = Result<Pushed, EngineError>> + Send;

    /// A local image by id or reference; `None` when there is none.
    fn image(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<Option<ImageDetails>, EngineError>> + Send;

    /// Pull a reference from its registry; `false` when the registry has no such image.
    fn pull(
        &self,
        reference: &str,
        credentials: Option<PushCredentials>,
    ) -> impl Future<Output = Result<bool, EngineError>> + Send;

    /// Load a `docker save` archive (`docker load`): its images keep their ids (their configs'
    /// digests) and get no tags.
    fn load(
        &self,
        archive: futures_util::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>,
    ) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// The image as a `docker save` archive, streamed.
    fn export<'a>(
        &'a self,
        reference: &'a str,
    ) -> futures_util::stream::BoxStream<'a, Result<bytes::Bytes, EngineError>>;

    /// Run `command` (argv) in a throw-away container of `image`, with no network, and return
    /// what it printed. The container is removed afterwards.
    fn run(
        &self,
        image: &str,
        command: &[String],
    ) -> impl Future<Output = Result<RunOutput, EngineError>> + Send {
        self.run_request(RunRequest::new(image, command))
    }

    /// Run a throw-away container as `request` describes; it is removed afterwards, also when
    /// its time runs out (the output then says so and the exit code is 124, as `timeout`'s).
    fn run_request(
        &self,
        request: RunRequest,
    ) -> impl Future<Output = Result<RunOutput, EngineError>> + Send;
}

/// A throw-away container to run.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    pub image: String,
    /// The command (argv); the image's entrypoint is not used.
    pub command: Vec<String>,
    /// A tar archive unpacked at `/` in the container before it starts.
    pub files: Option<Vec<u8>>,
    /// The host's network, rather than none.
    pub network: bool,
    /// Environment variables, `NAME=value`.
    pub env: Vec<String>,
    /// The working directory.
    pub working_dir: Option<String>,
    /// How long it may run.
    pub timeout: Option<std::time::Duration>,
}

/// The exit code of a container stopped because its time ran out.
pub const TIMED_OUT_EXIT_CODE: i64 = 124;

impl RunRequest {
    pub fn new(image: &str, command: &[String]) -> Self {
        Self {
            image: image.to_string(),
            command: command.to_vec(),
            ..Self::default()
        }
    }
}
