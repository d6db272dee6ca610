//! A family built as a CI pipeline would build it: one `strata build --pipeline ID --only NAME`
//! job per image, on alternating engines (the Docker daemon and Podman's service, so nothing
//! passes through one engine's storage), then `strata release --pipeline ID`. No published tag
//! moves before the release; a failed job leaves every published tag as it was.

use strata_test::{require_services, TestContext};

use crate::{fresh_namespace, registry_labels, BINARY};

fn family(namespace: &str) -> TestContext {
    let mut context = TestContext::new(BINARY);
    context.write(
        "family/base/Dockerfile",
        "FROM strata-base/busybox:latest\nRUN echo base > /base\n",
    );
    context.write(
        "family/tool/Dockerfile",
        "FROM base\nRUN echo tool > /tool\n",
    );
    context.write(
        "family/app/Dockerfile",
        "FROM tool\nRUN cat /base /tool > /app\n",
    );
    // A tagger (inherited by the app): its tag is computed by the job, moved by the release.
    context.write(
        "strata.toml",
        &format!(
            "layout = \"generic\"\nrepo = \"{namespace}\"\n\n[[images.\"family/tool\".taggers]]\nkind = \"command\"\ncommand = [\"cat\", \"/tool\"]\nregex = \"^(tool)\"\nprefix = \"from\"\n"
        ),
    );
    context.commit("a family of three");
    context
}

fn podman_host() -> String {
    std::env::var("STRATA_TEST_PODMAN_HOST").expect(
        "`STRATA_TEST_PODMAN_HOST` is not set: this test builds one job on Podman's service; start the services with `scripts/dev-env.sh up --podman`",
    )
}

/// One build job: `strata build --pipeline ID --only NAME` on the engine `host`.
fn job(context: &TestContext, host: &str, selection: &[&str], name: &str) -> std::process::Output {
    let mut arguments = vec!["build", "--pipeline", "p1", "--only", name];
    arguments.extend_from_slice(selection);
    context
        .strata()
        .env("DOCKER_HOST", host)
        .args(&arguments)
        .output()
        .expect("run strata")
}

/// The tags a repository has (none when the registry does not know it).
fn tags(repository: &str) -> Vec<String> {
    let reference = strata_registry::parse_reference(&format!("{repository}:x")).unwrap();
    strata_test::runtime()
        .block_on(strata_registry::RegistryClient::new().tags(&reference))
        .unwrap_or_default()
}

fn digest_of(reference: &str) -> Option<String> {
    let parsed = strata_registry::parse_reference(reference).unwrap();
    strata_test::runtime()
        .block_on(strata_registry::RegistryClient::new().resolve(&parsed))
        .unwrap()
        .map(|descriptor| descriptor.digest.to_string())
}

#[test]
fn build_jobs_stage_by_digest_on_any_engine_and_only_the_release_moves_tags() {
    let services = require_services();
    let namespace = fresh_namespace(&services.registry, "pipeline");
    let context = family(&namespace);
    let podman = podman_host();
    // Jobs in `needs` order, each on another engine than its parent's.
    for (name, host) in [
        ("family/base", services.docker_host.as_str()),
        ("family/tool", podman.as_str()),
        ("family/app", services.docker_host.as_str()),
    ] {
        let output = job(&context, host, &["--all"], name);
        assert!(output.status.success(), "{}", context.render(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("/strata-staging:p1"), "{stderr}");
    }
    for image in ["base", "tool", "app"] {
        assert_eq!(
            tags(&format!("{namespace}/{image}")),
            Vec::<String>::new(),
            "no tag of `{image}` is published before the release"
        );
        // The pipeline's reference, the same image under its inputs (for later pipelines to
        // reuse) and beside each the predicates the release attests with and, for images with
        // taggers, the tags the job computed.
        let mut staging = tags(&format!("{namespace}/{image}/strata-staging"));
        staging.sort();
        let expected = if image == "base" { 4 } else { 6 };
        assert_eq!(staging.len(), expected, "{staging:?}");
        assert!(
            staging.iter().any(|tag| tag.starts_with("inputs-")),
            "{staging:?}"
        );
        assert!(staging.contains(&"p1".to_string()), "{staging:?}");
        assert_eq!(staging.contains(&"p1.tags".to_string()), image != "base");
    }
    // Each child starts from the very image its parent's job staged.
    let staged =
        |image: &str| digest_of(&format!("{namespace}/{image}/strata-staging:p1")).expect("staged");
    let (base, tool, app) = (staged("base"), staged("tool"), staged("app"));
    // A job run again, on an engine that has never seen the image: what this pipeline staged
    // with the same inputs is the build; nothing is built or pushed again.
    let again = job(&context, &podman, &["--all"], "family/base");
    assert!(again.status.success(), "{}", context.render(&again));
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(stdout.contains("up to date"), "{}", context.render(&again));
    assert_eq!(
        staged("base"),
        base,
        "the staged image is the one the first run staged"
    );
    let (_, tool_labels, _) = registry_labels(&format!("{namespace}/tool/strata-staging:p1"));
    let (_, app_labels, _) = registry_labels(&format!("{namespace}/app/strata-staging:p1"));
    assert_eq!(tool_labels["org.opencontainers.image.base.digest"], base);
    assert_eq!(app_labels["org.opencontainers.image.base.digest"], tool);
    assert_eq!(
        app_labels["org.opencontainers.image.base.name"],
        format!("{namespace}/tool:latest")
    );

    let output = context.output(&["release", "--all", "--pipeline", "p1", "--json"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    // Three staged images, their predicates, and the tool's and app's tag lists.
    assert_eq!(report["removed"].as_array().unwrap().len(), 8, "{report}");
    for (image, digest) in [("base", &base), ("tool", &tool), ("app", &app)] {
        assert_eq!(
            digest_of(&format!("{namespace}/{image}:latest")).as_ref(),
            Some(digest),
            "`{image}:latest` is what its job staged"
        );
        // `latest`, the unique tag and, where a tagger ran, its tag.
        let published = tags(&format!("{namespace}/{image}"));
        assert_eq!(
            published.len(),
            if image == "base" { 2 } else { 3 },
            "{published:?}"
        );
        if image != "base" {
            assert_eq!(
                digest_of(&format!("{namespace}/{image}:from-tool")).as_ref(),
                Some(digest),
                "the tagger's tag of `{image}` moved with its own tags"
            );
        }
        assert!(
            tags(&format!("{namespace}/{image}/strata-staging")).is_empty(),
            "the staging reference of `{image}` is gone"
        );
    }
    // Released: the registry now holds every image, so nothing is left to build.
    let plan = context.output(&["plan", "--since", "registry", "--json"]);
    assert!(plan.status.success(), "{}", context.render(&plan));
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(plan["builds"].as_array().unwrap().len(), 0, "{plan}");
}

#[test]
fn a_failed_job_moves_no_tag_and_the_release_refuses_naming_it() {
    let services = require_services();
    let namespace = fresh_namespace(&services.registry, "pipeline-failure");
    let mut context = family(&namespace);
    let published = context.output(&["build", "--all", "--push"]);
    assert!(published.status.success(), "{}", context.render(&published));
    let before: Vec<Option<String>> = ["base", "tool", "app"]
        .iter()
        .map(|image| digest_of(&format!("{namespace}/{image}:latest")))
        .collect();

    // The next commit changes the tool and breaks the app.
    context.write(
        "family/tool/Dockerfile",
        "FROM base\nRUN echo tool 2 > /tool\n",
    );
    context.write("family/app/Dockerfile", "FROM tool\nRUN false\n");
    context.commit("a new tool, a broken app");
    let tool = job(&context, &services.docker_host, &[], "family/tool");
    assert!(tool.status.success(), "{}", context.render(&tool));
    let app = job(&context, &podman_host(), &[], "family/app");
    assert_eq!(app.status.code(), Some(3), "{}", context.render(&app));

    let release = context.output(&["release", "--pipeline", "p1"]);
    assert_eq!(
        release.status.code(),
        Some(1),
        "{}",
        context.render(&release)
    );
    let stderr = String::from_utf8_lossy(&release.stderr);
    assert!(
        stderr.contains("has not staged family/app") && stderr.contains("no tag was moved"),
        "{stderr}"
    );
    let after: Vec<Option<String>> = ["base", "tool", "app"]
        .iter()
        .map(|image| digest_of(&format!("{namespace}/{image}:latest")))
        .collect();
    assert_eq!(before, after, "every published tag is where it was");

    // A job for a build the plan does not make is refused, naming what it does make.
    let unknown = job(&context, &services.docker_host, &[], "family/nothing");
    assert_eq!(
        unknown.status.code(),
        Some(2),
        "{}",
        context.render(&unknown)
    );
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains(
            "`family/nothing` is not a build of the plan (it builds family/tool, family/app)"
        ),
        "{stderr}"
    );

    // The fix, on a commit of its own: a new pipeline builds only the app; the tool's job
    // takes the image the failed pipeline staged with the same inputs (and its tagger's tag).
    let staged_tool = digest_of(&format!("{namespace}/tool/strata-staging:p1")).unwrap();
    context.write("family/app/Dockerfile", "FROM tool\nRUN cat /tool > /app\n");
    context.commit("fix the app");
    let run = |host: &str, name: &str| {
        context
            .strata()
            .env("DOCKER_HOST", host)
            .args([
                "build",
                "--since",
                "registry",
                "--pipeline",
                "p2",
                "--only",
                name,
            ])
            .output()
            .expect("run strata")
    };
    let tool = run(&podman_host(), "family/tool");
    assert!(tool.status.success(), "{}", context.render(&tool));
    let stdout = String::from_utf8_lossy(&tool.stdout);
    assert!(stdout.contains("up to date"), "{}", context.render(&tool));
    let app = run(&services.docker_host, "family/app");
    assert!(app.status.success(), "{}", context.render(&app));
    let release = context.output(&[
        "release",
        "--since",
        "registry",
        "--pipeline",
        "p2",
        "--json",
    ]);
    assert!(release.status.success(), "{}", context.render(&release));
    assert_eq!(
        digest_of(&format!("{namespace}/tool:latest")),
        Some(staged_tool.clone()),
        "the tool released is the one the failed pipeline staged"
    );
    assert_eq!(
        digest_of(&format!("{namespace}/tool:from-tool")),
        Some(staged_tool),
        "with the tag its first job computed"
    );
    // The failed pipeline's staging reference shares the tool's image: only the released
    // pipeline's tags go; the failed one is removed, without moving a tag, by discarding it.
    let staging = |image: &str| {
        let mut tags = tags(&format!("{namespace}/{image}/strata-staging"));
        tags.retain(|tag| !tag.starts_with("inputs-"));
        tags.sort();
        tags
    };
    assert_eq!(staging("tool"), ["p1", "p1.statements", "p1.tags"]);
    assert_eq!(staging("app"), Vec::<String>::new());
    let published: Vec<Option<String>> = ["base", "tool", "app"]
        .iter()
        .map(|image| digest_of(&format!("{namespace}/{image}:latest")))
        .collect();
    let discard = context.output(&["release", "--pipeline", "p1", "--discard", "--json"]);
    assert!(discard.status.success(), "{}", context.render(&discard));
    let report: serde_json::Value = serde_json::from_slice(&discard.stdout).unwrap();
    assert_eq!(report["promotions"], serde_json::json!([]), "{report}");
    assert_eq!(
        tags(&format!("{namespace}/tool/strata-staging")),
        Vec::<String>::new()
    );
    let after: Vec<Option<String>> = ["base", "tool", "app"]
        .iter()
        .map(|image| digest_of(&format!("{namespace}/{image}:latest")))
        .collect();
    assert_eq!(published, after, "discarding moves no tag");
}

/// Whether the engine at `host` holds an image tagged `reference`.
fn engine_has(host: &str, reference: &str) -> bool {
    strata_test::runtime().block_on(async {
        let engine = strata_engine::DockerEngine::connect_to(
            Some(host),
            strata_engine::BuilderKind::BuildKit,
        )
        .await
        .unwrap();
        strata_engine::Engine::image(&engine, reference)
            .await
            .unwrap()
            .is_some()
    })
}

#[test]
fn a_pool_of_two_engines_builds_one_family_through_the_registry() {
    let services = require_services();
    let podman = podman_host();
    let namespace = fresh_namespace(&services.registry, "pool");
    let mut context = TestContext::new(BINARY);
    for (name, dockerfile) in [
        (
            "base",
            "FROM strata-base/busybox:latest\nRUN echo base > /base\n",
        ),
        ("left", "FROM base\nRUN echo left > /left\n"),
        ("right", "FROM base\nRUN echo right > /right\n"),
        ("top", "FROM left\nRUN cat /base /left > /top\n"),
    ] {
        context.write(&format!("family/{name}/Dockerfile"), dockerfile);
    }
    context.write(
        "strata.toml",
        &format!(
            "layout = \"generic\"\nrepo = \"{namespace}\"\n\n[engines]\npool = [\"{}\", \"{podman}\"]\n",
            services.docker_host
        ),
    );
    context.commit("a family for a pool");

    let refused = context.output(&["build", "--all"]);
    assert_eq!(
        refused.status.code(),
        Some(2),
        "{}",
        context.render(&refused)
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("add `--push`"));

    let output = context.output(&["build", "--all", "--push", "-j", "2"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let images = ["base", "left", "right", "top"];
    for image in images {
        assert!(
            digest_of(&format!("{namespace}/{image}:latest")).is_some(),
            "`{image}` is released"
        );
        assert!(tags(&format!("{namespace}/{image}/strata-staging")).is_empty());
    }
    for (child, parent) in [("left", "base"), ("right", "base"), ("top", "left")] {
        let (_, labels, _) = registry_labels(&format!("{namespace}/{child}:latest"));
        assert_eq!(
            labels["org.opencontainers.image.base.digest"],
            digest_of(&format!("{namespace}/{parent}:latest")).unwrap(),
            "`{child}` is built on the `{parent}` that was released with it"
        );
    }
    // Both engines took builds.
    let built_on = |host: &str| {
        images
            .iter()
            .filter(|image| engine_has(host, &format!("{namespace}/{image}:latest")))
            .count()
    };
    assert!(
        built_on(&services.docker_host) > 0,
        "the Docker daemon built none"
    );
    assert!(built_on(&podman) > 0, "Podman built none");
}

#[test]
fn a_pool_run_again_reuses_what_is_published_with_the_same_inputs() {
    let services = require_services();
    let podman = podman_host();
    let namespace = fresh_namespace(&services.registry, "pool-again");
    let mut context = TestContext::new(BINARY);
    context.write(
        "family/base/Dockerfile",
        "FROM strata-base/busybox:latest\nRUN echo base > /base\n",
    );
    context.write(
        "family/tool/Dockerfile",
        "FROM base\nRUN echo tool > /tool\n",
    );
    context.write(
        "strata.toml",
        &format!(
            "layout = \"generic\"\nrepo = \"{namespace}\"\n\n[engines]\npool = [\"{}\", \"{podman}\"]\n",
            services.docker_host
        ),
    );
    context.commit("two images for a pool");
    let first = context.output(&["build", "--all", "--push"]);
    assert!(first.status.success(), "{}", context.render(&first));
    let released: Vec<_> = ["base", "tool"]
        .iter()
        .map(|image| digest_of(&format!("{namespace}/{image}:latest")))
        .collect();
    // Again, the pool in the other order: each build lands on the engine that did not build
    // it, which has no local image of it; what is published with the same inputs is reused.
    context.write(
        "strata.toml",
        &format!(
            "layout = \"generic\"\nrepo = \"{namespace}\"\n\n[engines]\npool = [\"{podman}\", \"{}\"]\n",
            services.docker_host
        ),
    );
    let again = context.output(&["build", "--all", "--push", "--json"]);
    assert!(again.status.success(), "{}", context.render(&again));
    let events = crate::json_events(&again);
    for build in ["family/base", "family/tool"] {
        assert_eq!(
            crate::result_of(&events, build)["result"],
            "up-to-date",
            "{build}"
        );
    }
    let after: Vec<_> = ["base", "tool"]
        .iter()
        .map(|image| digest_of(&format!("{namespace}/{image}:latest")))
        .collect();
    assert_eq!(released, after);
}
