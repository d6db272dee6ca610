//! The SLSA v1 provenance strata attests about each image it signs: what was built from what
//! (the commit, the Dockerfile and its digest, build arguments, platform, the base image by
//! digest), by what (strata's version), with which inputs hash, and the image's tests.

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// What the provenance is made of (read off the build and its run).
pub(crate) struct ProvenanceInputs<'a> {
    pub build: &'a strata_plan::Build,
    /// The platform built, when one was asked for.
    pub platform: Option<&'a str>,
    /// The image's inputs hash.
    pub inputs: Option<&'a str>,
    /// The tests the image passed.
    pub tests: &'a [crate::image_tests::TestResult],
    /// The Dockerfile's bytes as sent to the engine.
    pub dockerfile: &'a [u8],
    pub build_args: &'a BTreeMap<String, String>,
    /// `org.opencontainers.image.base.name` and `.base.digest`, when known.
    pub base: &'a BTreeMap<String, String>,
}

/// The build type strata's provenance documents (its parameters are the fields below).
pub const BUILD_TYPE: &str = "https://github.com/strata-images/strata/buildtypes/image/v1";

pub(crate) fn predicate(inputs: &ProvenanceInputs<'_>) -> Value {
    let build = inputs.build;
    let label = |name: &str| build.labels.get(name).cloned();
    let dockerfile_digest = strata_registry::Digest::sha256(inputs.dockerfile).to_string();
    let mut resolved = Vec::new();
    if let Some(name) = inputs.base.get(strata_inspect::BASE_NAME_LABEL) {
        let mut dependency = json!({"uri": format!("docker://{name}")});
        if let Some(digest) = inputs.base.get(strata_inspect::BASE_DIGEST_LABEL) {
            let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
            dependency["digest"] = json!({"sha256": hex});
        }
        resolved.push(dependency);
    }
    if let Some(source) = label("org.opencontainers.image.source") {
        let mut dependency = json!({"uri": source});
        if let Some(revision) = label(strata_inspect::REVISION_LABEL) {
            dependency["digest"] = json!({"gitCommit": revision});
        }
        resolved.push(dependency);
    }
    let tests: Vec<Value> = inputs
        .tests
        .iter()
        .map(|test| {
            json!({
                "name": format!("test: {}", test.test),
                "annotations": {"passed": test.passed, "kind": test.kind, "declaredBy": test.declared_by},
            })
        })
        .collect();
    json!({
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": {
                "image": build.name,
                "dockerfile": build.dockerfile,
                "context": build.context,
                "buildArgs": inputs.build_args,
                "platform": inputs.platform,
                "revision": label(strata_inspect::REVISION_LABEL),
            },
            "internalParameters": {
                "inputs": inputs.inputs,
                "dockerfileDigest": dockerfile_digest,
            },
            "resolvedDependencies": resolved,
        },
        "runDetails": {
            "builder": {"id": format!("https://github.com/strata-images/strata@{}", env!("CARGO_PKG_VERSION"))},
            "metadata": {
                "finishedOn": label("org.opencontainers.image.created"),
            },
            "byproducts": tests,
        },
    })
}
