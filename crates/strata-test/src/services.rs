//! The services integration tests run against: the Docker daemon and the reference registries
//! that `scripts/dev-env.sh up` starts. A test that needs them and cannot find them fails with a
//! message saying how to start them; it never skips.

use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

/// Where the services are, from the environment `scripts/dev-env.sh env` writes.
#[derive(Debug, Clone)]
pub struct Services {
    /// `unix:///...` socket of the Docker daemon.
    pub docker_host: String,
    /// `127.0.0.1:PORT` of the registry without auth.
    pub registry: String,
    /// `127.0.0.1:PORT` of the registry with htpasswd auth (user `strata`, password
    /// `strata-password`).
    pub auth_registry: String,
}

const HOW_TO_START: &str = "start them with `scripts/dev-env.sh up` and `. \"$(scripts/dev-env.sh env)\"`, or run `scripts/test.sh`, which does both";

/// The services, or a panic naming what is missing and how to start it.
pub fn require_services() -> Services {
    let variable = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| panic!("`{name}` is not set: this test needs the Docker daemon and registry; {HOW_TO_START}"))
    };
    let services = Services {
        docker_host: variable("DOCKER_HOST"),
        registry: variable("STRATA_TEST_REGISTRY"),
        auth_registry: variable("STRATA_TEST_AUTH_REGISTRY"),
    };
    let socket = PathBuf::from(services.docker_host.trim_start_matches("unix://"));
    assert!(
        socket.exists(),
        "the Docker daemon socket `{}` does not exist; {HOW_TO_START}",
        socket.display()
    );
    for address in [&services.registry, &services.auth_registry] {
        let reachable = address
            .parse()
            .ok()
            .and_then(|address| TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok())
            .is_some();
        assert!(
            reachable,
            "no registry answers on `{address}`; {HOW_TO_START}"
        );
    }
    services
}

/// Hold an exclusive lock named `name` for as long as the guard lives, across test processes
/// (nextest runs each test in its own process): for set-up several tests share, such as
/// building fixture images once.
pub fn exclusive(name: &str) -> std::fs::File {
    let path = std::env::temp_dir().join(format!("strata-test-{name}.lock"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|error| panic!("cannot open the lock file `{}`: {error}", path.display()));
    file.lock()
        .unwrap_or_else(|error| panic!("cannot lock `{}`: {error}", path.display()));
    file
}

/// The images of `test/repos/inspect`, built (or found up to date) and pushed once per run under
/// `<registry>/inspect-fixtures`, serialised across test processes. The `apt-tools` image runs
/// `apt-get` against Debian's mirrors (`--network host`): tests using these images reach the
/// network, and say so in their names (`live_debian_…`). Returns the namespace.
pub fn inspect_fixture_images(binary: &str) -> String {
    fixture_images(binary, "inspect", &["--network", "host", "--push"], |_| {})
}

/// The images of `test/repos/<fixture>`, built with `strata build --all <arguments>` (or found
/// up to date) once per run under `<registry>/<fixture>-fixtures`, serialised across test
/// processes; `prepare` adjusts the copy of the fixture first (and commits). Returns the
/// namespace.
pub fn fixture_images(
    binary: &str,
    fixture: &str,
    arguments: &[&str],
    prepare: impl FnOnce(&mut crate::TestContext),
) -> String {
    let services = require_services();
    let mut context = crate::TestContext::from_fixture(binary, fixture);
    prepare(&mut context);
    let repo = format!("{}/{fixture}-fixtures", services.registry);
    let _lock = exclusive(&format!("{fixture}-fixtures"));
    let mut command = vec!["build", "--all", "--repo", &repo];
    command.extend_from_slice(arguments);
    let output = context.output(&command);
    assert!(
        output.status.success(),
        "building the `{fixture}` fixture images failed:\n{}",
        context.render(&output)
    );
    repo
}

/// A registry namespace no other test run has used, so tags never collide between runs.
pub fn fresh_namespace(registry: &str, test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    format!("{registry}/{test}-{}-{nanos:x}", std::process::id())
}

/// Whether the engine `DOCKER_HOST` names is Podman (its API service), for the few assertions
/// whose expected outcome differs by engine (what its Dockerfile frontend reads).
pub fn engine_is_podman() -> bool {
    use strata_engine::Engine as _;
    require_services();
    runtime().block_on(async {
        let engine = strata_engine::DockerEngine::connect(strata_engine::BuilderKind::BuildKit)
            .await
            .expect("the engine answers");
        engine
            .dockerfile_support()
            .await
            .engine
            .starts_with("Podman")
    })
}

/// A single-threaded runtime for a test's async calls.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}
