//! Pushing to a registry with htpasswd auth, with credentials from a Docker config file.

use crate::{fresh_namespace, json_events, result_of, BINARY};

fn tiny_repository() -> strata_test::TestContext {
    let mut context = strata_test::TestContext::new(BINARY);
    context.write(
        "images/tiny/Dockerfile",
        "FROM strata-base/busybox:latest\nRUN echo tiny > /tiny\n",
    );
    context.commit("tiny");
    context
}

#[test]
fn push_uses_docker_config_credentials_and_fails_clearly_without() {
    let services = strata_test::require_services();
    let context = tiny_repository();
    let repo = fresh_namespace(&services.auth_registry, "auth");

    let without = tempfile::tempdir().unwrap();
    let output = context
        .strata()
        .env("DOCKER_CONFIG", without.path())
        .args(["build", "--all", "--repo", &repo, "--push"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4), "{}", context.render(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("push failed") && stderr.contains(&repo),
        "{stderr}"
    );
    assert!(
        stderr.contains("no basic auth credentials")
            || stderr.contains("unauthorized")
            || stderr.contains("authentication required"),
        "{stderr}"
    );

    let with = tempfile::tempdir().unwrap();
    // base64("strata:strata-password")
    fs_err::write(
        with.path().join("config.json"),
        format!(
            "{{\"auths\": {{\"{}\": {{\"auth\": \"c3RyYXRhOnN0cmF0YS1wYXNzd29yZA==\"}}}}}}",
            services.auth_registry
        ),
    )
    .unwrap();
    let output = context
        .strata()
        .env("DOCKER_CONFIG", with.path())
        .args(["build", "--all", "--repo", &repo, "--push", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", context.render(&output));
    let events = json_events(&output);
    let pushed = result_of(&events, "tiny")["pushed"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(pushed.len(), 2);
    assert!(pushed.iter().all(|entry| entry["digest"]
        .as_str()
        .is_some_and(|digest| digest.starts_with("sha256:"))));
}
