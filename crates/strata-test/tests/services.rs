//! The harness itself: `scripts/dev-env.sh up` gives a Docker daemon that answers, a registry
//! without auth, one with htpasswd auth, and the local base images. Fails (never skips) when they
//! are missing, saying how to start them.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;

fn http_get(mut stream: impl Read + Write, host: &str, path: &str) -> String {
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn daemon_registries_and_base_images_are_up() {
    let services = strata_test::require_services();
    let socket = services.docker_host.trim_start_matches("unix://");
    let ping = http_get(UnixStream::connect(socket).unwrap(), "docker", "/_ping");
    assert!(
        ping.starts_with("HTTP/1.0 200") || ping.starts_with("HTTP/1.1 200"),
        "{ping}"
    );
    assert!(ping.contains("Api-Version"), "{ping}");

    let open = http_get(
        TcpStream::connect(&services.registry).unwrap(),
        &services.registry,
        "/v2/",
    );
    assert!(open.contains(" 200 "), "{open}");
    let protected = http_get(
        TcpStream::connect(&services.auth_registry).unwrap(),
        &services.auth_registry,
        "/v2/",
    );
    assert!(
        protected.contains(" 401 ") && protected.contains("Basic realm"),
        "{protected}"
    );

    for image in ["strata-base/debian:bookworm", "strata-base/busybox:latest"] {
        let inspect = http_get(
            UnixStream::connect(socket).unwrap(),
            "docker",
            &format!("/images/{image}/json"),
        );
        assert!(
            inspect.contains(" 200 "),
            "base image `{image}` is missing (scripts/dev-env.sh up makes it): {}",
            inspect.lines().next().unwrap_or_default()
        );
    }
}
