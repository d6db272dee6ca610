//! `strata plan` on fixture repositories: every planning rule and every error of SciServer's
//! image-builder, the docker-stacks layout, and the output formats; and `strata lint`, which
//! needs no engine either.

mod ci;
mod docker_stacks;
mod errors;
mod formats;
mod generic;
mod lint;
mod sciserver;
mod versions;

use strata_test::TestContext;

const BINARY: &str = env!("CARGO_BIN_EXE_strata");

fn sciserver() -> TestContext {
    TestContext::from_fixture(BINARY, "sciserver")
}

fn compute_images() -> TestContext {
    TestContext::from_fixture(BINARY, "sciserver-compute-images")
}

fn docker_stacks() -> TestContext {
    TestContext::from_fixture(BINARY, "docker-stacks")
}

/// Build names in plan order, from `--json`.
fn planned(context: &TestContext, arguments: &[&str]) -> Vec<String> {
    let mut full = vec!["plan", "--json"];
    full.extend_from_slice(arguments);
    let output = context.output(&full);
    assert!(output.status.success(), "{}", context.render(&output));
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).expect("plan JSON");
    plan["builds"]
        .as_array()
        .expect("builds")
        .iter()
        .map(|build| {
            format!(
                "{} {}",
                build["kind"].as_str().unwrap_or_default(),
                build["name"].as_str().unwrap_or_default()
            )
        })
        .collect()
}
