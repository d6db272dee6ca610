//! A build whose answer breaks off mid-line is sent again; a build the engine reports as failed
//! is not. The daemon here is a small HTTP server on a Unix socket that answers `/version` and
//! `/build` the way Docker 20.10 does, except that it can close a build's answer half-way.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use strata_engine::{BuildOutput, BuildRequest, BuilderKind, DockerEngine, Engine, EngineError};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;

const VERSION: &str = r#"{"ApiVersion":"1.41","MinAPIVersion":"1.12","Version":"20.10.24","Os":"linux","Arch":"amd64"}"#;
const BROKEN: &str = "{\"stream\":\"Step 1/1 : FROM scratch\\n\"}\n{\"aux\":{\"ID\":\"sha256:ab";
const WHOLE: &str = "{\"stream\":\"Step 1/1 : FROM scratch\\n\"}\n{\"aux\":{\"ID\":\"sha256:abcd\"}}\n{\"stream\":\"Successfully built abcd\\n\"}\n";
const FAILED: &str = "{\"stream\":\"Step 1/1 : RUN false\\n\"}\n{\"errorDetail\":{\"message\":\"The command '/bin/sh -c false' returned a non-zero code: 1\"},\"error\":\"The command '/bin/sh -c false' returned a non-zero code: 1\"}\n";

/// Serve `answers` to successive `/build` requests (the last one again once they run out) and
/// count the requests.
fn fake_daemon(socket: &std::path::Path, answers: Vec<&'static str>) -> Arc<AtomicUsize> {
    let listener = UnixListener::bind(socket).expect("bind the fake daemon's socket");
    let builds = Arc::new(AtomicUsize::new(0));
    let counted = builds.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let builds = counted.clone();
            let answers = answers.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut read = BufReader::new(read);
                let mut request_line = String::new();
                read.read_line(&mut request_line).await.unwrap();
                let mut length = 0usize;
                loop {
                    let mut header = String::new();
                    read.read_line(&mut header).await.unwrap();
                    if header.trim().is_empty() {
                        break;
                    }
                    if let Some((name, value)) = header.split_once(':') {
                        if name.eq_ignore_ascii_case("content-length") {
                            length = value.trim().parse().unwrap();
                        }
                    }
                }
                let mut body = vec![0u8; length];
                read.read_exact(&mut body).await.unwrap();
                let answer = if request_line.contains("/build") {
                    let index = builds.fetch_add(1, Ordering::SeqCst);
                    answers[index.min(answers.len() - 1)]
                } else {
                    VERSION
                };
                // No length and no chunks: the body ends where the connection closes, so a
                // broken answer is one the daemon closes early.
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n";
                write.write_all(head.as_bytes()).await.unwrap();
                write.write_all(answer.as_bytes()).await.unwrap();
                write.shutdown().await.unwrap();
            });
        }
    });
    builds
}

fn request() -> BuildRequest {
    BuildRequest {
        context: bytes::Bytes::from_static(b"not read by the fake daemon"),
        dockerfile: "Dockerfile".to_string(),
        build_args: std::collections::BTreeMap::default(),
        labels: std::collections::BTreeMap::default(),
        platform: None,
        no_cache: false,
        pull: false,
        network: None,
        cache_from: Vec::new(),
        inline_cache: false,
    }
}

async fn build_against(
    answers: Vec<&'static str>,
) -> (Result<String, EngineError>, usize, Vec<BuildOutput>) {
    let directory = tempfile::tempdir().unwrap();
    let socket = directory.path().join("docker.sock");
    let builds = fake_daemon(&socket, answers);
    let host = format!("unix://{}", socket.display());
    let engine = DockerEngine::connect_to(Some(&host), BuilderKind::Legacy)
        .await
        .expect("the fake daemon answers /version");
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let result = engine.build(request(), sender).await.map(|built| built.id);
    let mut output = Vec::new();
    while let Ok(line) = receiver.try_recv() {
        output.push(line);
    }
    (result, builds.load(Ordering::SeqCst), output)
}

#[tokio::test]
async fn an_answer_that_breaks_off_is_built_again() {
    let (result, builds, output) = build_against(vec![BROKEN, WHOLE]).await;
    assert_eq!(result.expect("the second answer is whole"), "sha256:abcd");
    assert_eq!(builds, 2, "one build sent again");
    assert!(
        output.iter().any(|line| matches!(line, BuildOutput::Line(text) if text.contains("broke off") && text.contains("attempt 2 of 3"))),
        "the user is told why it builds again: {output:?}"
    );
}

#[tokio::test]
async fn an_engine_that_keeps_breaking_off_fails_after_three_attempts() {
    let (result, builds, _) = build_against(vec![BROKEN]).await;
    let error = result.expect_err("every answer broke off");
    assert!(error.is_broken_stream(), "{error}");
    assert_eq!(builds, 3);
}

#[tokio::test]
async fn a_failed_build_is_not_sent_again() {
    let (result, builds, _) = build_against(vec![FAILED, WHOLE]).await;
    let error = result.expect_err("the engine reported the build failed");
    assert!(matches!(error, EngineError::BuildFailed { .. }), "{error}");
    assert!(error.to_string().contains("non-zero code"), "{error}");
    assert_eq!(builds, 1);
}
