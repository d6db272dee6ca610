//! `strata build` against the real Docker daemon and reference registries that
//! `scripts/dev-env.sh up` starts. These tests fail, saying how to start the services, when they
//! are missing.

#[path = "../common/mod.rs"]
mod common;

mod auth;
mod ci_pipelines;
mod concurrent;
mod example;
mod failure;
mod generic;
mod pipeline;
mod platforms;
mod reproducible;

pub(crate) use common::registry_labels;
pub(crate) use strata_test::fresh_namespace;
use strata_test::{require_services, runtime, Services, TestContext};

const BINARY: &str = env!("CARGO_BIN_EXE_strata");

fn example_context() -> (TestContext, Services) {
    let services = require_services();
    let example = strata_test::workspace_root().join("examples/sciserver");
    (
        TestContext::from_fixture(BINARY, &example.display().to_string()),
        services,
    )
}

/// The local image id a reference points at, if any.
fn local_image(reference: &str) -> Option<String> {
    runtime().block_on(async {
        let engine = strata_engine::DockerEngine::connect(strata_engine::BuilderKind::BuildKit)
            .await
            .unwrap();
        strata_engine::Engine::image(&engine, reference)
            .await
            .unwrap()
            .map(|image| image.id)
    })
}

/// `strata build --json` events, parsed.
fn json_events(output: &std::process::Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"))
        })
        .collect()
}

fn finished(events: &[serde_json::Value]) -> &serde_json::Value {
    events
        .iter()
        .find(|event| event["event"] == "finished")
        .expect("a finished event")
}

fn result_of<'a>(events: &'a [serde_json::Value], build: &str) -> &'a serde_json::Value {
    finished(events)["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|result| result["build"] == build)
        .unwrap_or_else(|| panic!("no result for `{build}`"))
}
