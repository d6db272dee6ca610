//! The release half of the lifecycle against the real registries `scripts/dev-env.sh up`
//! starts (and the in-process fake registry where the real one cannot misbehave on demand):
//! `promote`, `pin`, `outdated`, `--since registry` and protected SciServer versions. These
//! tests fail, saying how to start the services, when they are missing.

#[path = "../common/mod.rs"]
mod common;

mod audit;
mod catalog;
mod outdated;
mod pin;
mod pipeline;
mod promote;
mod sign;
mod since_registry;

use strata_test::{require_services, runtime, Services, TestContext};

const BINARY: &str = env!("CARGO_BIN_EXE_strata");

/// A docker-stacks-layout repository of busybox images, `FROM` lines as given, tagged under
/// `repo` (written to `strata.toml`).
fn busybox_family(repo: &str, images: &[(&str, &str)]) -> TestContext {
    let mut context = TestContext::new(BINARY);
    context.write("strata.toml", &format!("repo = \"{repo}\"\n"));
    for (name, dockerfile) in images {
        context.write(&format!("images/{name}/Dockerfile"), dockerfile);
    }
    context.commit("images");
    context
}

/// Build and push every image of the repository; panics with the output on failure.
fn build_and_push(context: &TestContext) {
    let output = context.output(&["build", "--all", "--push", "--no-manifests"]);
    assert!(output.status.success(), "{}", context.render(&output));
}

/// The digest a reference has in its registry, read with strata's own client.
fn registry_digest(context: &TestContext, reference: &str) -> Option<String> {
    let client = strata_registry::RegistryClient::new();
    let _ = context;
    runtime()
        .block_on(client.resolve(&strata_registry::parse_reference(reference).unwrap()))
        .unwrap()
        .map(|descriptor| descriptor.digest.to_string())
}

fn services() -> Services {
    require_services()
}

fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "not JSON ({error}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// Push a local image of the engine under `reference` (the engine tags it first).
fn publish_local(image: &str, reference: &str) {
    runtime().block_on(async {
        let engine = strata_engine::DockerEngine::connect(strata_engine::BuilderKind::BuildKit)
            .await
            .expect("the Docker daemon");
        strata_engine::Engine::tag(&engine, image, reference)
            .await
            .expect("tag the local image");
        strata_engine::Engine::push(&engine, reference, None)
            .await
            .expect("push to the test registry");
    });
}

/// Point `reference` at a new image (a busybox with one more file), as an upstream maintainer
/// moving a tag would: built and pushed by strata in a scratch repository, then promoted.
fn move_upstream_tag(reference: &str) -> String {
    let services = services();
    let scratch_repo = strata_test::fresh_namespace(&services.registry, "upstream-next");
    let scratch = busybox_family(
        &scratch_repo,
        &[(
            "next",
            "FROM strata-base/busybox:latest\nRUN echo next > /next\n",
        )],
    );
    build_and_push(&scratch);
    let source = format!("{scratch_repo}/next:latest");
    let output = scratch.output(&["promote", &source, reference, "--force", "--no-manifests"]);
    assert!(output.status.success(), "{}", scratch.render(&output));
    registry_digest(&scratch, reference).expect("the moved tag")
}
