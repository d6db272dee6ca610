//! A failing middle layer: dependents skipped, independent images built and pushed, no tag of
//! the failed image created or moved.

use crate::{
    example_context, fresh_namespace, json_events, local_image, registry_labels, result_of,
};

#[test]
fn failing_layer_skips_dependents_and_moves_no_tag() {
    let (mut context, services) = example_context();
    context.write(
        "science/solo/sciserver-image.json",
        "{\"image\": \"solo\"}\n",
    );
    context.write(
        "science/solo/Dockerfile",
        "FROM strata-base/busybox:latest\nRUN echo solo > /solo\n",
    );
    context.commit("add an independent image");
    let repo = fresh_namespace(&services.registry, "failure");
    let first = context.output(&["build", "--all", "--repo", &repo, "--push", "--json"]);
    assert!(first.status.success(), "{}", context.render(&first));
    let tools_tag = format!("{repo}/sci/essentials-tools:1.0");
    let tools_before = local_image(&tools_tag).expect("tagged by the first build");
    let (registry_before, _, _) = registry_labels(&tools_tag);

    context.write(
        "science/essentials-tools/Dockerfile",
        "FROM sci/essentials-base:1.0\nRUN echo about to fail && false\n",
    );
    context.touch("science/essentials-base/motd");
    context.touch("science/solo/Dockerfile");
    context.commit("break tools");
    let output = context.output(&["build", "--repo", &repo, "--push", "--json"]);
    assert_eq!(output.status.code(), Some(3), "{}", context.render(&output));
    let events = json_events(&output);
    assert_eq!(result_of(&events, "essentials-base")["result"], "built");
    assert_eq!(result_of(&events, "essentials-tools")["result"], "failed");
    assert!(result_of(&events, "essentials-tools")["error"]
        .as_str()
        .unwrap()
        .contains("false"));
    for skipped in ["essentials:1.0", "astro-2024", "astro:2.0"] {
        assert_eq!(
            result_of(&events, skipped)["result"],
            "skipped",
            "{skipped}"
        );
    }
    let solo = result_of(&events, "solo");
    assert_eq!(solo["result"], "built");
    assert_eq!(solo["pushed"].as_array().unwrap().len(), 2);

    // No tag of the failed image was created or moved, locally or in the registry.
    assert_eq!(
        local_image(&tools_tag).as_deref(),
        Some(tools_before.as_str())
    );
    let plan_output = context.output(&["plan", "--repo", &repo, "--json"]);
    let plan: serde_json::Value = serde_json::from_slice(&plan_output.stdout).unwrap();
    let tools = plan["builds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|build| build["name"] == "essentials-tools")
        .unwrap();
    assert_eq!(
        local_image(tools["tags"][0].as_str().unwrap()),
        None,
        "the new unique tag must not exist"
    );
    let (registry_after, _, _) = registry_labels(&tools_tag);
    assert_eq!(registry_after, registry_before);
    let log =
        fs_err::read_to_string(context.root.join(".strata/logs/essentials-tools.log")).unwrap();
    assert!(
        log.contains("about to fail"),
        "the full build output is in the log: {log}"
    );
}

#[test]
fn unreachable_engine_is_a_clear_error() {
    let context = strata_test::TestContext::from_fixture(crate::BINARY, "sciserver");
    let output = context
        .strata()
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .args(["build", "--all"])
        .output()
        .unwrap();
    insta::assert_snapshot!(context.render(&output), @r#"
    success: false
    exit_code: 5
    ----- stdout -----

    ----- stderr -----
    error: cannot connect to the container engine at `unix:///nonexistent/docker.sock`
      Caused by: Socket not found: /nonexistent/docker.sock
    hint: start a Docker daemon (or Podman's API service) and point `DOCKER_HOST` at it; in this repository, `. "$(scripts/dev-env.sh up)"` starts one and exports `DOCKER_HOST` to this shell
    "#);
}

#[test]
fn engine_settings_a_new_user_gets_wrong_are_explained() {
    let context = strata_test::TestContext::from_fixture(crate::BINARY, "sciserver");
    // An empty DOCKER_HOST is unset, as for the Docker CLI: the default socket is tried.
    let empty = context
        .strata()
        .env("DOCKER_HOST", "")
        .args(["build", "--all"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&empty.stderr);
    assert!(!stderr.contains("URI scheme"), "{}", context.render(&empty));
    // An `ssh://` engine whose host refuses: ssh's own words, and what to check.
    let ssh = context
        .strata()
        .env("DOCKER_HOST", "ssh://builder@127.0.0.1:1")
        .env_remove("STRATA_SSH_COMMAND")
        .args(["build", "--all"])
        .output()
        .unwrap();
    insta::assert_snapshot!(context.render(&ssh), @"
    success: false
    exit_code: 5
    ----- stdout -----

    ----- stderr -----
    error: cannot reach the engine at `ssh://builder@127.0.0.1:1` over ssh: ssh exited (exit status: 255): ssh: connect to host 127.0.0.1 port 1: Connection refused
    hint: strata runs `ssh -L` to forward the remote engine's socket (`ssh://user@host[:port][/socket]`, default `/var/run/docker.sock`): check that `ssh user@host` logs in without a password prompt (keys or an agent), that the remote user may open the socket, and set `STRATA_SSH_COMMAND` for other ssh options (`ssh -F FILE`)
    ");
    let zero_jobs = context.output(&["build", "--all", "-j", "0"]);
    assert_eq!(
        zero_jobs.status.code(),
        Some(2),
        "{}",
        context.render(&zero_jobs)
    );
    let bad_repo = context.output(&["build", "--all", "--repo", "UPPER/Bad Repo"]);
    assert_eq!(
        bad_repo.status.code(),
        Some(2),
        "{}",
        context.render(&bad_repo)
    );
    assert!(String::from_utf8_lossy(&bad_repo.stderr).contains("cannot be a tag namespace"));
}

#[test]
fn heredocs_the_engine_cannot_read_fail_before_the_build_naming_the_line() {
    strata_test::require_services();
    let mut context = strata_test::TestContext::new(crate::BINARY);
    context.write(
        "images/heredoc/Dockerfile",
        "FROM strata-base/busybox:latest\nRUN <<EOF\necho hi > /hi\nEOF\n",
    );
    context.commit("heredoc");
    let output = context.output(&["build", "--all", "--repo", "heredoc.test/x"]);
    assert_eq!(output.status.code(), Some(3), "{}", context.render(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`images/heredoc/Dockerfile` line 2 uses a heredoc"),
        "{stderr}"
    );
    if strata_test::engine_is_podman() {
        // Buildah before Podman 4.8 reads no heredocs, and no `# syntax=` frontend helps.
        assert!(
            stderr.contains("Podman") && stderr.contains("reads no heredocs at all"),
            "{stderr}"
        );
    } else {
        assert!(
            stderr.contains("# syntax=docker/dockerfile:1.4"),
            "{stderr}"
        );
    }
    assert!(!stderr.contains("unknown instruction"), "{stderr}");
}

#[test]
fn a_parent_built_elsewhere_is_pulled_from_the_registry() {
    let (mut context, services) = example_context();
    let repo = fresh_namespace(&services.registry, "pull");
    let first = context.output(&[
        "build",
        "--all",
        "--repo",
        &repo,
        "--push",
        "--no-manifests",
    ]);
    assert!(first.status.success(), "{}", context.render(&first));
    // This machine forgets the published essentials-base (as a fresh CI runner would not have it).
    let base_tag = format!("{repo}/sci/essentials-base:1.0");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let engine = strata_engine::DockerEngine::connect(strata_engine::BuilderKind::BuildKit)
            .await
            .unwrap();
        let image = strata_engine::Engine::image(&engine, &base_tag)
            .await
            .unwrap()
            .unwrap();
        // Only this test's namespace: the local `sci/essentials-base:1.0` alias is shared.
        for tag in image.repo_tags.iter().filter(|tag| tag.starts_with(&repo)) {
            engine.untag(tag).await.unwrap();
        }
    });
    assert_eq!(local_image(&base_tag), None);
    context.touch("science/essentials-tools/Dockerfile");
    context.commit("change tools only");
    let output = context.output(&["build", "--repo", &repo, "--json", "--no-manifests"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let events = json_events(&output);
    assert!(events.iter().any(|event| event["event"] == "step"
        && event["step"]
            .as_str()
            .is_some_and(|step| step.contains("pulling the parent"))));
    assert_eq!(result_of(&events, "essentials-tools")["result"], "built");
    assert!(local_image(&base_tag).is_some(), "the parent was pulled");
}
