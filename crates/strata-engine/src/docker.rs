//! The Docker Engine API implementation (bollard). Negotiates the API version, builds with
//! BuildKit through a session when the daemon supports it (the legacy builder otherwise, or on
//! request), never passes tags to the build itself.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use bollard::models::{BuildInfo, BuildInfoAux};
use bollard::query_parameters::{
    BuildImageOptionsBuilder, BuilderVersion, PushImageOptionsBuilder, RemoveImageOptionsBuilder,
    TagImageOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;
use http_body_util::{Either, Full};
use tokio::sync::mpsc::UnboundedSender;

use crate::engine::{
    BuildOutput, BuildRequest, BuiltImage, DockerfileSupport, Engine, ImageDetails,
    PushCredentials, Pushed, RunOutput, RunRequest,
};
use crate::error::{EngineError, TransferFailure};

/// Which of the daemon's builders to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BuilderKind {
    /// BuildKit, through the API's session protocol (`RUN --mount`; heredocs with Docker 23+
    /// or a `# syntax=` directive).
    BuildKit,
    /// The legacy builder.
    Legacy,
}

/// A Docker (or Podman) daemon reached through `DOCKER_HOST` or the default socket.
pub struct DockerEngine {
    docker: Docker,
    builder: BuilderKind,
    /// What the daemon says it is (`Docker 20.10.24`, `Podman 4.3.1`), asked the first time a
    /// build needs it: `/version` is slow on some daemons, and most commands never need it.
    server: tokio::sync::OnceCell<ServerVersion>,
    /// For an `ssh://` engine: the forward its socket is reached through, open while the
    /// engine lives.
    _tunnel: Option<crate::ssh_tunnel::SshTunnel>,
}

/// The daemon's product and version, for what its built-in Dockerfile frontend can do.
#[derive(Debug, Clone, Default)]
struct ServerVersion {
    podman: bool,
    major: u32,
    minor: u32,
    text: String,
}

impl ServerVersion {
    fn read(version: &bollard::models::SystemVersion) -> Self {
        let podman = version
            .components
            .iter()
            .flatten()
            .any(|component| component.name.to_ascii_lowercase().contains("podman"));
        let text = version.version.clone().unwrap_or_default();
        let mut numbers = text
            .split(['.', '-', '+'])
            .map(|part| part.parse::<u32>().unwrap_or(0));
        Self {
            podman,
            major: numbers.next().unwrap_or(0),
            minor: numbers.next().unwrap_or(0),
            text: format!("{} {text}", if podman { "Podman" } else { "Docker" }),
        }
    }
}

static SESSION_COUNTER: AtomicU64 = AtomicU64::new(0);

impl DockerEngine {
    /// Connect to `DOCKER_HOST`'s engine (or the default socket), negotiate the API version and
    /// check the daemon answers.
    pub async fn connect(builder: BuilderKind) -> Result<Self, EngineError> {
        // An empty `DOCKER_HOST` counts as unset, as the Docker CLI treats it.
        let configured = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|host| !host.trim().is_empty());
        Self::connect_to(configured.as_deref(), builder).await
    }

    /// Connect to the engine at `host` (`unix:///path.sock`, `tcp://host:2375`), or the default
    /// socket when `None`.
    pub async fn connect_to(host: Option<&str>, builder: BuilderKind) -> Result<Self, EngineError> {
        let shown = host.unwrap_or("unix:///var/run/docker.sock").to_string();
        let connect_error = |source| EngineError::Connect {
            host: shown.clone(),
            source,
        };
        let mut tunnel = None;
        let docker = match host {
            Some(host) if host.starts_with("ssh://") => {
                let opened = crate::ssh_tunnel::SshTunnel::open(host).await?;
                let local = format!("unix://{}", opened.socket.display());
                tunnel = Some(opened);
                Docker::connect_with_host(&local)
            }
            Some(host) => Docker::connect_with_host(host),
            None => Docker::connect_with_socket_defaults(),
        }
        .map_err(connect_error)?;
        // Negotiating asks the daemon for its API version: it also proves the daemon answers.
        let docker = docker.negotiate_version().await.map_err(connect_error)?;
        Ok(Self {
            docker,
            builder,
            server: tokio::sync::OnceCell::new(),
            _tunnel: tunnel,
        })
    }

    fn session_id() -> String {
        let count = SESSION_COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |duration| duration.as_nanos());
        format!("strata-{}-{nanos:x}-{count}", std::process::id())
    }
}

/// Follows a BuildKit status stream: step names once, log lines as they come.
#[derive(Default)]
struct BuildKitProgress {
    announced: std::collections::HashSet<String>,
    vertex_names: HashMap<String, String>,
    errors: Vec<String>,
}

impl BuildKitProgress {
    fn consume(
        &mut self,
        status: &bollard::moby::buildkit::v1::StatusResponse,
        output: &UnboundedSender<BuildOutput>,
    ) {
        for vertex in &status.vertexes {
            self.vertex_names
                .insert(vertex.digest.clone(), vertex.name.clone());
            if vertex.started.is_some()
                && self.announced.insert(vertex.digest.clone())
                && !vertex.name.starts_with("[internal]")
            {
                let name = if vertex.cached {
                    format!("{} (cached)", vertex.name)
                } else {
                    vertex.name.clone()
                };
                let _ = output.send(BuildOutput::Step(name));
            }
            if !vertex.error.is_empty() {
                self.errors
                    .push(format!("{}: {}", vertex.name, vertex.error));
            }
        }
        for log in &status.logs {
            for line in String::from_utf8_lossy(&log.msg).lines() {
                let _ = output.send(BuildOutput::Line(line.to_string()));
            }
        }
    }
}

impl DockerEngine {
    /// The daemon's product and version, asked once.
    async fn server(&self) -> &ServerVersion {
        self.server
            .get_or_init(|| async {
                self.docker
                    .version()
                    .await
                    .map(|version| ServerVersion::read(&version))
                    .unwrap_or_default()
            })
            .await
    }
}

impl DockerEngine {
    /// `inspect_image`, asked again a few times when Podman answers 500 "image not known" for
    /// an image it holds: seen while another client removed an image sharing its layers; the
    /// next answer is the image, or a real error.
    async fn inspect_settled(
        &self,
        reference: &str,
    ) -> Result<bollard::models::ImageInspect, bollard::errors::Error> {
        let mut attempt: u32 = 0;
        loop {
            match self.docker.inspect_image(reference).await {
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 500,
                    message,
                }) if message.contains("image not known") && attempt < 3 => {
                    attempt += 1;
                    tracing::debug!("inspecting `{reference}` again ({message})");
                    tokio::time::sleep(std::time::Duration::from_millis(250 * u64::from(attempt)))
                        .await;
                }
                answer => return answer,
            }
        }
    }
}

impl Engine for DockerEngine {
    async fn dockerfile_support(&self) -> DockerfileSupport {
        let server = self.server().await;
        match self.builder {
            // The legacy builder knows neither heredocs nor `# syntax=`.
            BuilderKind::Legacy => DockerfileSupport {
                heredocs: false,
                syntax_directive: false,
                engine: format!("{} (legacy builder)", server.text),
            },
            // BuildKit's built-in frontend reads heredocs from Docker 23 (Dockerfile 1.4);
            // Podman's buildah from 4.8. A `# syntax=` directive fetches a newer frontend.
            BuilderKind::BuildKit => DockerfileSupport {
                heredocs: if server.podman {
                    (server.major, server.minor) >= (4, 8)
                } else {
                    server.major >= 23
                },
                syntax_directive: !server.podman,
                engine: server.text.clone(),
            },
        }
    }

    async fn build(
        &self,
        request: BuildRequest,
        output: UnboundedSender<BuildOutput>,
    ) -> Result<BuiltImage, EngineError> {
        // The engine's answer is a stream of JSON lines; when it breaks off (the connection
        // closed mid-line, seen once in a few thousand concurrent BuildKit builds) nothing was
        // tagged yet, and building again costs only what the cache does not hold.
        let mut attempt = 1;
        loop {
            match self.build_once(&request, &output).await {
                Err(error) if attempt < BUILD_ATTEMPTS && error.is_broken_stream() => {
                    let _ = output.send(BuildOutput::Line(format!(
                        "the engine's answer broke off ({error}); building again (attempt {} of {BUILD_ATTEMPTS})",
                        attempt + 1
                    )));
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    async fn tag(&self, image: &str, reference: &str) -> Result<(), EngineError> {
        let (repository, tag) = split_tag(reference);
        let options = TagImageOptionsBuilder::default()
            .repo(repository)
            .tag(tag)
            .build();
        self.docker
            .tag_image(image, Some(options))
            .await
            .map_err(|source| EngineError::Tag {
                image: image.to_string(),
                reference: reference.to_string(),
                source,
            })
    }

    async fn untag(&self, reference: &str) -> Result<(), EngineError> {
        let options = RemoveImageOptionsBuilder::new().noprune(true).build();
        self.docker
            .remove_image(reference, Some(options), None)
            .await
            .map(|_| ())
            .map_err(|source| EngineError::Untag {
                reference: reference.to_string(),
                source,
            })
    }

    async fn push(
        &self,
        reference: &str,
        credentials: Option<PushCredentials>,
    ) -> Result<Pushed, EngineError> {
        let (repository, tag) = split_tag(reference);
        let options = PushImageOptionsBuilder::default().tag(tag).build();
        let mut stream = self.docker.push_image(
            repository,
            Some(options),
            credentials.map(docker_credentials),
        );
        let mut digest = None;
        while let Some(item) = stream.next().await {
            let info = item.map_err(|error| {
                let message = match error {
                    bollard::errors::Error::DockerStreamError { error } => error,
                    other => other.to_string(),
                };
                EngineError::Push {
                    reference: reference.to_string(),
                    failure: TransferFailure::classify(&message),
                    message,
                }
            })?;
            if let Some(detail) = info.error_detail {
                let message = detail.message.unwrap_or_default();
                return Err(EngineError::Push {
                    reference: reference.to_string(),
                    failure: TransferFailure::classify(&message),
                    message,
                });
            }
            if let Some(status) = &info.status {
                if let Some(found) = status
                    .split("digest: ")
                    .nth(1)
                    .and_then(|rest| rest.split_whitespace().next())
                {
                    digest = strata_digest::Digest::parse(found).ok();
                }
            }
        }
        Ok(Pushed {
            reference: reference.to_string(),
            digest,
        })
    }

    async fn pull(
        &self,
        reference: &str,
        credentials: Option<PushCredentials>,
    ) -> Result<bool, EngineError> {
        let (repository, tag) = split_tag(reference);
        let options = bollard::query_parameters::CreateImageOptionsBuilder::default()
            .from_image(repository)
            .tag(tag)
            .build();
        let mut stream =
            self.docker
                .create_image(Some(options), None, credentials.map(docker_credentials));
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(detail) = info.error_detail {
                        let message = detail.message.unwrap_or_default();
                        if message.contains("not found") || message.contains("manifest unknown") {
                            return Ok(false);
                        }
                        return Err(EngineError::Pull {
                            reference: reference.to_string(),
                            failure: TransferFailure::classify(&message),
                            message,
                        });
                    }
                }
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => return Ok(false),
                Err(bollard::errors::Error::DockerStreamError { error })
                    if error.contains("not found") || error.contains("manifest unknown") =>
                {
                    return Ok(false)
                }
                Err(error) => {
                    let message = error.to_string();
                    return Err(EngineError::Pull {
                        reference: reference.to_string(),
                        failure: TransferFailure::classify(&message),
                        message,
                    });
                }
            }
        }
        Ok(true)
    }

    async fn load(
        &self,
        archive: futures_util::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>,
    ) -> Result<(), EngineError> {
        let options = bollard::query_parameters::ImportImageOptionsBuilder::new()
            .quiet(true)
            .build();
        let mut stream = self.docker.import_image_stream(options, archive, None);
        while let Some(item) = stream.next().await {
            let info = item.map_err(|error| EngineError::Load {
                message: match error {
                    bollard::errors::Error::DockerStreamError { error } => error,
                    other => other.to_string(),
                },
            })?;
            if let Some(detail) = info.error_detail {
                return Err(EngineError::Load {
                    message: detail.message.unwrap_or_default(),
                });
            }
        }
        Ok(())
    }

    fn export<'a>(
        &'a self,
        reference: &'a str,
    ) -> futures_util::stream::BoxStream<'a, Result<bytes::Bytes, EngineError>> {
        self.docker
            .export_image(reference)
            .map(|chunk| chunk.map_err(EngineError::Api))
            .boxed()
    }

    async fn run_request(&self, request: RunRequest) -> Result<RunOutput, EngineError> {
        let image = request.image.clone();
        let command = request.command.join(" ");
        self.run_container(request)
            .await
            .map_err(|source| EngineError::Run {
                image,
                command,
                source,
            })
    }

    async fn image(&self, reference: &str) -> Result<Option<ImageDetails>, EngineError> {
        match self.inspect_settled(reference).await {
            Ok(inspect) => {
                let config = inspect.config.unwrap_or_default();
                let layer_directories = inspect
                    .graph_driver
                    .as_ref()
                    .map(overlay_directories)
                    .unwrap_or_default();
                Ok(Some(ImageDetails {
                    id: inspect.id.unwrap_or_default(),
                    labels: config
                        .labels
                        .map(|labels| labels.into_iter().collect())
                        .unwrap_or_default(),
                    size: inspect
                        .size
                        .and_then(|size| u64::try_from(size).ok())
                        .unwrap_or(0),
                    repo_digests: inspect.repo_digests.unwrap_or_default(),
                    repo_tags: inspect.repo_tags.unwrap_or_default(),
                    layers: inspect
                        .root_fs
                        .and_then(|root| root.layers)
                        .unwrap_or_default(),
                    env: config.env.unwrap_or_default(),
                    entrypoint: config.entrypoint.unwrap_or_default(),
                    cmd: config.cmd.unwrap_or_default(),
                    shell: config.shell.unwrap_or_default(),
                    user: config.user.filter(|user| !user.is_empty()),
                    created: inspect.created.and_then(|created| {
                        let seconds = u64::try_from(created.unix_timestamp()).ok()?;
                        let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds);
                        Some(humantime::format_rfc3339_seconds(time).to_string())
                    }),
                    architecture: inspect.architecture,
                    os: inspect.os,
                    layer_directories,
                }))
            }
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(error) => Err(EngineError::Api(error)),
        }
    }
}

/// overlay2's (Docker) or overlay's (Podman) layer directories, bottom first: `LowerDir` lists
/// the lower layers' `diff` directories top first, `UpperDir` is the top layer's.
fn overlay_directories(driver: &bollard::models::DriverData) -> Vec<std::path::PathBuf> {
    if driver.name != "overlay2" && driver.name != "overlay" {
        return Vec::new();
    }
    let mut directories: Vec<std::path::PathBuf> = driver
        .data
        .get("LowerDir")
        .map(|lower| {
            lower
                .split(':')
                .filter(|directory| !directory.is_empty())
                .rev()
                .map(std::path::PathBuf::from)
                .collect()
        })
        .unwrap_or_default();
    if let Some(upper) = driver.data.get("UpperDir") {
        directories.push(std::path::PathBuf::from(upper));
    }
    directories
}

impl DockerEngine {
    async fn run_container(
        &self,
        request: RunRequest,
    ) -> Result<RunOutput, bollard::errors::Error> {
        use bollard::models::{ContainerCreateBody, HostConfig};
        use bollard::query_parameters::{
            LogsOptionsBuilder, RemoveContainerOptionsBuilder, WaitContainerOptions,
        };
        let network = if request.network { "host" } else { "none" };
        let body = ContainerCreateBody {
            image: Some(request.image.clone()),
            cmd: Some(request.command.clone()),
            entrypoint: Some(Vec::new()),
            env: (!request.env.is_empty()).then(|| request.env.clone()),
            working_dir: request.working_dir.clone(),
            network_disabled: Some(!request.network),
            host_config: Some(HostConfig {
                network_mode: Some(network.to_string()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let created = self
            .docker
            .create_container(
                None::<bollard::query_parameters::CreateContainerOptions>,
                body,
            )
            .await?;
        let id = created.id;
        let outcome = async {
            if let Some(files) = request.files {
                self.docker
                    .upload_to_container(
                        &id,
                        Some(
                            bollard::query_parameters::UploadToContainerOptionsBuilder::default()
                                .path("/")
                                .build(),
                        ),
                        bollard::body_full(files.into()),
                    )
                    .await?;
            }
            self.docker
                .start_container(
                    &id,
                    None::<bollard::query_parameters::StartContainerOptions>,
                )
                .await?;
            let mut exit_code = 0;
            let mut timed_out = false;
            let wait = async {
                let mut wait = self
                    .docker
                    .wait_container(&id, None::<WaitContainerOptions>);
                while let Some(item) = wait.next().await {
                    match item {
                        Ok(response) => exit_code = response.status_code,
                        Err(bollard::errors::Error::DockerContainerWaitError { code, .. }) => {
                            exit_code = code;
                        }
                        Err(error) => return Err(error),
                    }
                }
                Ok(())
            };
            match request.timeout {
                Some(limit) => {
                    if let Ok(waited) = tokio::time::timeout(limit, wait).await {
                        waited?;
                    } else {
                        timed_out = true;
                        exit_code = crate::engine::TIMED_OUT_EXIT_CODE;
                        let _ = self
                            .docker
                            .kill_container(
                                &id,
                                None::<bollard::query_parameters::KillContainerOptions>,
                            )
                            .await;
                    }
                }
                None => wait.await?,
            }
            let mut stdout = String::new();
            let mut stderr = String::new();
            let mut logs = self.docker.logs(
                &id,
                Some(
                    LogsOptionsBuilder::default()
                        .stdout(true)
                        .stderr(true)
                        .build(),
                ),
            );
            while let Some(item) = logs.next().await {
                match item? {
                    bollard::container::LogOutput::StdErr { message } => {
                        stderr.push_str(&String::from_utf8_lossy(&message));
                    }
                    other => stdout.push_str(&String::from_utf8_lossy(&other.into_bytes())),
                }
            }
            if timed_out {
                let seconds = request.timeout.unwrap_or_default().as_secs();
                stderr.push_str("\nstrata: stopped after ");
                stderr.push_str(&seconds.to_string());
                stderr.push_str(" s, the test's time limit\n");
            }
            Ok(RunOutput {
                exit_code,
                stdout,
                stderr,
            })
        }
        .await;
        let _ = self
            .docker
            .remove_container(
                &id,
                Some(RemoveContainerOptionsBuilder::default().force(true).build()),
            )
            .await;
        outcome
    }
}

fn docker_credentials(credentials: PushCredentials) -> bollard::auth::DockerCredentials {
    match credentials {
        PushCredentials::UsernamePassword { username, password } => {
            bollard::auth::DockerCredentials {
                username: Some(username),
                password: Some(password),
                ..Default::default()
            }
        }
        PushCredentials::IdentityToken(token) => bollard::auth::DockerCredentials {
            identitytoken: Some(token),
            ..Default::default()
        },
    }
}

impl DockerEngine {
    /// Remove a tag (the image stays while other tags or children use it).
    pub async fn untag(&self, reference: &str) -> Result<(), EngineError> {
        self.docker
            .remove_image(
                reference,
                None::<bollard::query_parameters::RemoveImageOptions>,
                None,
            )
            .await
            .map(|_| ())
            .map_err(EngineError::Api)
    }
}

/// `registry:5000/name:tag` → (`registry:5000/name`, `tag`); no tag means `latest`.
/// `repository` and `tag` (`latest` when none is written), as the tag and push APIs take them.
/// The repository and what names the image in it: the digest when the reference has one (the
/// Engine API's `tag` takes a digest too), else the tag, else `latest`.
fn split_tag(reference: &str) -> (&str, &str) {
    let parsed = strata_dockerfile::ImageReference::parse(reference);
    (
        parsed.repository,
        parsed.digest.or(parsed.tag).unwrap_or("latest"),
    )
}

/// How many times a build is sent when the engine's answer breaks off.
const BUILD_ATTEMPTS: u32 = 3;

impl DockerEngine {
    /// One build request, followed to its end.
    async fn build_once(
        &self,
        request: &BuildRequest,
        output: &UnboundedSender<BuildOutput>,
    ) -> Result<BuiltImage, EngineError> {
        // Cache from a registry image is BuildKit's, through Docker: Podman takes no such image.
        let buildkit_on_docker =
            self.builder == BuilderKind::BuildKit && !self.server().await.podman;
        let mut buildargs: HashMap<String, String> =
            request.build_args.clone().into_iter().collect();
        if request.inline_cache && buildkit_on_docker {
            buildargs.insert("BUILDKIT_INLINE_CACHE".to_string(), "1".to_string());
        }
        let labels: HashMap<String, String> = request.labels.clone().into_iter().collect();
        let mut options = BuildImageOptionsBuilder::default()
            .dockerfile(&request.dockerfile)
            .buildargs(&buildargs)
            .labels(&labels)
            .nocache(request.no_cache)
            .rm(true)
            .forcerm(true);
        if request.pull {
            options = options.pull("true");
        }
        if let Some(platform) = &request.platform {
            options = options.platform(platform);
        }
        if let Some(network) = &request.network {
            options = options.networkmode(network);
        }
        if buildkit_on_docker && !request.cache_from.is_empty() && !request.no_cache {
            options = options.cachefrom(&request.cache_from);
        }
        let session = Self::session_id();
        options = match self.builder {
            BuilderKind::BuildKit => options
                .version(BuilderVersion::BuilderBuildKit)
                .session(&session),
            BuilderKind::Legacy => options.version(BuilderVersion::BuilderV1),
        };
        let body = Either::Left(Full::new(request.context.clone()));
        let mut stream = self.docker.build_image(options.build(), None, Some(body));
        let mut image_id = None;
        let mut progress = BuildKitProgress::default();
        while let Some(item) = stream.next().await {
            let info = match item {
                Ok(info) => info,
                Err(bollard::errors::Error::DockerStreamError { error }) => {
                    return Err(EngineError::BuildFailed {
                        message: progress.errors.pop().unwrap_or(error),
                    })
                }
                Err(error) => return Err(EngineError::Api(error)),
            };
            let BuildInfo {
                stream: text,
                aux,
                error_detail,
                ..
            } = info;
            if let Some(detail) = error_detail {
                return Err(EngineError::BuildFailed {
                    message: detail
                        .message
                        .unwrap_or_else(|| "unknown error".to_string()),
                });
            }
            if let Some(text) = text {
                for line in text.lines() {
                    if let Some(step) = line.strip_prefix("Step ") {
                        let _ = output.send(BuildOutput::Step(step.to_string()));
                    } else if !line.trim().is_empty() {
                        let _ = output.send(BuildOutput::Line(line.to_string()));
                    }
                }
            }
            match aux {
                Some(BuildInfoAux::BuildKit(status)) => progress.consume(&status, output),
                // BuildKit reports the final image as `{"id": "moby.image.id", "aux": {"ID": ...}}`,
                // the legacy builder as `{"aux": {"ID": ...}}`.
                Some(BuildInfoAux::Default(image)) => {
                    if let Some(found) = image.id {
                        image_id = Some(found);
                    }
                }
                None => {}
            }
        }
        if let Some(error) = progress.errors.pop() {
            return Err(EngineError::BuildFailed { message: error });
        }
        image_id
            .map(|id| BuiltImage { id })
            .ok_or(EngineError::NoImageId)
    }
}

#[cfg(test)]
mod tests {
    use super::split_tag;

    #[test]
    fn splits_tags_not_ports() {
        assert_eq!(
            split_tag("127.0.0.1:5555/a/b:1.0-2-abc"),
            ("127.0.0.1:5555/a/b", "1.0-2-abc")
        );
        assert_eq!(
            split_tag("127.0.0.1:5555/a/b"),
            ("127.0.0.1:5555/a/b", "latest")
        );
        assert_eq!(split_tag("b:1"), ("b", "1"));
        let digest = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            split_tag(&format!("127.0.0.1:5555/a/b@{digest}")),
            ("127.0.0.1:5555/a/b", digest.as_str()),
            "a reference by digest is pulled by its digest"
        );
    }
}
