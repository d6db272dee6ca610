//! The pipelines `strata ci` writes, run on a family of six images for two platforms with a
//! `COPY --from` edge: GitLab's by gitlab-ci-local (shell executor, each job in its own copy of
//! the repository), GitHub's job by job in `needs` order, its matrices expanded. Jobs alternate between the Docker daemon and Podman's service (each job's
//! `DOCKER_HOST`, `HOME` and caches its own), so an image reaches the next job only through the
//! registry.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::render_output as render;
use strata_test::{require_services, TestContext};

use crate::{fresh_namespace, registry_labels, BINARY};

const PLATFORMS: [&str; 2] = ["linux/amd64", "linux/arm64"];

fn gitlab_ci_local() -> String {
    std::env::var("STRATA_TEST_GITLAB_CI_LOCAL").expect(
        "`STRATA_TEST_GITLAB_CI_LOCAL` is not set: this test runs the pipeline with gitlab-ci-local, which `scripts/dev-env.sh up` installs; run `scripts/test.sh`, or `. \"$(scripts/dev-env.sh env)\"` after `up`",
    )
}

fn environment(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("`{name}` is not set: start the services with `scripts/dev-env.sh up --podman`")
    })
}

fn family(namespace: &str) -> TestContext {
    let mut context = TestContext::new(BINARY);
    let base = environment("STRATA_TEST_MULTI_PLATFORM_BUSYBOX");
    for (name, dockerfile) in [
        ("base", format!("FROM {base}\nRUN echo base > /base\n")),
        ("data", format!("FROM {base}\nRUN echo data > /data\n")),
        (
            "tool",
            "FROM base\nCOPY --from=data /data /data\nRUN cat /data > /tool\n".to_string(),
        ),
        ("app", "FROM tool\nRUN cat /base /tool > /app\n".to_string()),
        ("docs", "FROM base\nRUN echo docs > /docs\n".to_string()),
        ("extra", "FROM app\nRUN echo extra > /extra\n".to_string()),
    ] {
        context.write(&format!("family/{name}/Dockerfile"), &dockerfile);
    }
    context.write(
        "strata.toml",
        &format!(
            "layout = \"generic\"\nrepo = \"{namespace}\"\nplatforms = [\"linux/amd64\", \"linux/arm64\"]\n\n[ci]\nstrata = \"{BINARY}\"\n"
        ),
    );
    context.write(".gitignore", ".gitlab-ci-local/\n.strata/\n");
    context.commit("six images for two platforms");
    context
}

/// `strata ci --format gitlab` into `.gitlab-ci.yml`, each job then given an engine (Docker and
/// Podman in turn), a `HOME` and a cache of its own, and committed.
fn write_pipeline(context: &mut TestContext, docker: &str, podman: &str) -> serde_yaml::Mapping {
    let output = context.output(&["ci", "--format", "gitlab", "-o", ".gitlab-ci.yml"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let text = fs_err::read_to_string(context.root.join(".gitlab-ci.yml")).unwrap();
    let mut document: serde_yaml::Mapping = serde_yaml::from_str(&text).unwrap();
    // A job's depth: one more than the deepest job it needs (jobs come after what they need).
    let mut depth: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (name, job) in &mut document {
        let (Some(name), Some(job)) = (name.as_str(), job.as_mapping_mut()) else {
            continue;
        };
        if !job.contains_key("script") {
            continue;
        }
        let level = job
            .get("needs")
            .and_then(serde_yaml::Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(|need| depth.get(need.as_str()?))
            .map(|level| level + 1)
            .max()
            .unwrap_or(0);
        depth.insert(name.to_string(), level);
        // A parent's job and its child's are never on the same engine; nor are two platforms.
        let arm = usize::from(name.ends_with("arm64"));
        let engine = if (level + arm).is_multiple_of(2) {
            docker
        } else {
            podman
        };
        let home = context.cache_dir().join("jobs").join(name);
        let mut variables = serde_yaml::Mapping::new();
        for (key, value) in [
            ("DOCKER_HOST", engine.to_string()),
            ("HOME", home.display().to_string()),
            ("STRATA_CACHE_DIR", home.join("cache").display().to_string()),
            ("DOCKER_CONFIG", home.join("docker").display().to_string()),
        ] {
            variables.insert(key.into(), value.into());
        }
        job.insert("variables".into(), serde_yaml::Value::Mapping(variables));
    }
    fs_err::write(
        context.root.join(".gitlab-ci.yml"),
        serde_yaml::to_string(&document).unwrap(),
    )
    .unwrap();
    context.commit("the pipeline");
    document
}

/// gitlab-ci-local on the repository: one stage (`--stage build`), or one job by name.
fn run_pipeline(root: &Path, pipeline: &str, what: &[&str]) -> Output {
    let output = Command::new(gitlab_ci_local())
        .current_dir(root)
        .args(["--shell-isolation", "--variable"])
        .arg(format!("CI_PIPELINE_ID={pipeline}"))
        .args(what)
        .env_remove("STRATA_CACHE_DIR")
        .output()
        .expect("run gitlab-ci-local");
    output
}

fn resolve(reference: &str) -> Option<strata_registry::Manifest> {
    let parsed = strata_registry::parse_reference(reference).unwrap();
    strata_test::runtime()
        .block_on(strata_registry::RegistryClient::new().manifest_if_exists(&parsed))
        .unwrap()
}

fn tags(repository: &str) -> Vec<String> {
    let reference = strata_registry::parse_reference(&format!("{repository}:x")).unwrap();
    strata_test::runtime()
        .block_on(strata_registry::RegistryClient::new().tags(&reference))
        .unwrap_or_default()
}

const IMAGES: [&str; 6] = ["base", "data", "tool", "app", "docs", "extra"];

#[test]
fn gitlab_ci_local_runs_the_generated_pipeline_across_two_engines() {
    let services = require_services();
    let podman = environment("STRATA_TEST_PODMAN_HOST");
    let namespace = fresh_namespace(&services.registry, "gitlab-ci-local");
    let mut context = family(&namespace);
    let document = write_pipeline(&mut context, &services.docker_host, &podman);
    let build_jobs = document
        .keys()
        .filter(|key| key.as_str().is_some_and(|name| name.starts_with("build-")))
        .count();
    assert_eq!(build_jobs, 12, "six images on two platforms");

    let built = run_pipeline(&context.root, "501", &["--stage", "build"]);
    assert!(built.status.success(), "{}", render(&built));
    for image in IMAGES {
        assert!(
            tags(&format!("{namespace}/{image}")).is_empty(),
            "no tag of `{image}` moves in a build job"
        );
        let mut staged = tags(&format!("{namespace}/{image}/strata-staging"));
        // Not the inputs references (kept for later pipelines) nor what is kept beside each.
        staged.retain(|tag| !tag.starts_with("inputs-") && !tag.contains('.'));
        staged.sort();
        assert_eq!(
            staged.len(),
            2,
            "`{image}` staged for both platforms: {staged:?}"
        );
    }
    // Each child started from what its parent's job staged, platform by platform.
    for (child, parent) in [
        ("tool", "base"),
        ("app", "tool"),
        ("docs", "base"),
        ("extra", "app"),
    ] {
        for staged in tags(&format!("{namespace}/{child}/strata-staging")) {
            if staged.starts_with("inputs-") || staged.contains('.') {
                continue;
            }
            let (_, labels, _) =
                registry_labels(&format!("{namespace}/{child}/strata-staging:{staged}"));
            let parent_digest = resolve(&format!("{namespace}/{parent}/strata-staging:{staged}"))
                .expect("the parent is staged for the platform")
                .digest
                .to_string();
            assert_eq!(
                labels["org.opencontainers.image.base.digest"], parent_digest,
                "`{child}` ({staged}) is built on its parent's staged image"
            );
        }
    }

    let released = run_pipeline(&context.root, "501", &["release"]);
    assert!(released.status.success(), "{}", render(&released));
    for image in IMAGES {
        let latest = resolve(&format!("{namespace}/{image}:latest")).expect("released");
        assert!(
            latest.is_index(),
            "`{image}:latest` is a multi-platform index"
        );
        let index: serde_json::Value = serde_json::from_slice(&latest.bytes).unwrap();
        let mut platforms: Vec<String> = index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| {
                format!(
                    "{}/{}",
                    entry["platform"]["os"].as_str().unwrap(),
                    entry["platform"]["architecture"].as_str().unwrap()
                )
            })
            .collect();
        platforms.sort();
        assert_eq!(platforms, PLATFORMS, "`{image}`");
        assert!(
            tags(&format!("{namespace}/{image}/strata-staging")).is_empty(),
            "the staging references of `{image}` are gone"
        );
    }

    // A commit that touches no image: the next pipeline builds nothing.
    context.write("README.md", "docs only\n");
    context.commit("docs only");
    let document = write_pipeline(&mut context, &services.docker_host, &podman);
    let jobs: Vec<&str> = document.keys().filter_map(|key| key.as_str()).collect();
    assert_eq!(jobs, ["nothing-to-build"]);
    let nothing = run_pipeline(&context.root, "502", &[]);
    assert!(nothing.status.success(), "{}", render(&nothing));
}

#[test]
fn a_failing_job_stops_the_release_and_every_published_tag_stays() {
    let services = require_services();
    let podman = environment("STRATA_TEST_PODMAN_HOST");
    let namespace = fresh_namespace(&services.registry, "gitlab-ci-local-failure");
    let mut context = family(&namespace);
    // Published once, by one machine.
    let published = context.output(&["build", "--all", "--push"]);
    assert!(published.status.success(), "{}", context.render(&published));
    let before: Vec<_> = IMAGES
        .iter()
        .map(|image| {
            resolve(&format!("{namespace}/{image}:latest")).map(|manifest| manifest.digest)
        })
        .collect();

    // A new tool, and an app that no longer builds.
    context.write(
        "family/tool/Dockerfile",
        "FROM base\nCOPY --from=data /data /data\nRUN cat /data /data > /tool\n",
    );
    context.write("family/app/Dockerfile", "FROM tool\nRUN false\n");
    context.commit("a new tool, a broken app");
    let document = write_pipeline(&mut context, &services.docker_host, &podman);
    let run = run_pipeline(&context.root, "601", &[]);
    assert!(!run.status.success(), "{}", render(&run));
    let log = String::from_utf8_lossy(&run.stdout);
    assert!(
        log.contains("FAIL  build-family-app"),
        "the app's jobs fail:\n{log}"
    );
    assert!(
        !log.lines()
            .any(|line| line.starts_with("release ") && line.contains("starting")),
        "the release job does not run after a failed build job:\n{log}"
    );
    let after: Vec<_> = IMAGES
        .iter()
        .map(|image| {
            resolve(&format!("{namespace}/{image}:latest")).map(|manifest| manifest.digest)
        })
        .collect();
    assert_eq!(before, after, "every published tag is where it was");
    // GitLab then runs the discard job (`when: on_failure`); gitlab-ci-local 4.52 stops at a
    // failed `needs` instead, so its script runs here as the job would run it.
    assert_eq!(document["discard"]["when"], "on_failure");
    let script = document["discard"]["script"][0].as_str().unwrap();
    let discard = Command::new("sh")
        .args(["-c", script])
        .current_dir(&context.root)
        .env("CI_PIPELINE_ID", "601")
        .env("DOCKER_HOST", &services.docker_host)
        .output()
        .unwrap();
    assert!(discard.status.success(), "{script}\n{}", render(&discard));
    let stderr = String::from_utf8_lossy(&discard.stderr);
    assert!(
        stderr.contains("discarded pipeline `601`: no tag moved"),
        "{stderr}"
    );
    for image in IMAGES {
        assert_eq!(
            tags(&format!("{namespace}/{image}/strata-staging")),
            Vec::<String>::new(),
            "nothing of `{image}` is left staged"
        );
    }
}

/// The workflow `strata ci --format github` writes, valid for GitHub's schema, run as GitHub
/// would: each job once what it `needs` passed, each matrix entry with `${{ matrix.build }}` and
/// `${{ github.run_id }}` filled in, each step's `run` in a shell, on an engine of its own
/// (depth and platform alternate Docker and Podman).
#[test]
fn the_github_workflow_runs_job_by_job_across_two_engines() {
    let services = require_services();
    let podman = environment("STRATA_TEST_PODMAN_HOST");
    let namespace = fresh_namespace(&services.registry, "github-workflow");
    let mut context = family(&namespace);
    // The release signs what it publishes with the key `[sign]` names (build jobs sign nothing).
    let key = context
        .strata()
        .env("STRATA_SIGN_PASSWORD", "ci secret")
        .args(["key", "generate", "-o", "ci"])
        .output()
        .unwrap();
    assert!(key.status.success(), "{}", context.render(&key));
    let toml = fs_err::read_to_string(context.root.join("strata.toml")).unwrap();
    context.write(
        "strata.toml",
        &format!("{toml}\n[sign]\nkey = \"ci.key\"\n"),
    );
    context.commit("sign releases");
    let file = context.root.join("images.yml");
    let output = context.output(&["ci", "--format", "github", "-o", file.to_str().unwrap()]);
    assert!(output.status.success(), "{}", context.render(&output));
    let checker = std::env::var("STRATA_TEST_CHECK_JSONSCHEMA")
        .expect("`STRATA_TEST_CHECK_JSONSCHEMA` is set by `scripts/dev-env.sh env`");
    let validation = Command::new(checker)
        .args(["--builtin-schema", "vendor.github-workflows"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(validation.status.success(), "{}", render(&validation));

    let workflow: serde_yaml::Value =
        serde_yaml::from_str(&fs_err::read_to_string(&file).unwrap()).unwrap();
    let jobs = workflow["jobs"].as_mapping().unwrap();
    let mut done: Vec<String> = Vec::new();
    let mut runs = 0;
    while done.len() < jobs.len() {
        let (id, job) = jobs
            .iter()
            .map(|(id, job)| (id.as_str().unwrap().to_string(), job))
            .find(|(id, job)| {
                !done.contains(id)
                    && job["needs"]
                        .as_sequence()
                        .into_iter()
                        .flatten()
                        .all(|need| done.iter().any(|finished| need.as_str() == Some(finished)))
            })
            .expect("a job whose needs passed");
        if job["if"].as_str() == Some("${{ failure() }}") {
            // Every job passed: GitHub skips the discard.
            assert_eq!(id, "discard");
            done.push(id);
            continue;
        }
        let depth: usize = id
            .strip_prefix("build-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|depth| depth.parse().ok())
            .unwrap_or(0);
        let arm = usize::from(id.contains("arm64"));
        let engine = if (depth + arm).is_multiple_of(2) {
            &services.docker_host
        } else {
            &podman
        };
        let entries: Vec<String> = match job["strategy"]["matrix"]["build"].as_sequence() {
            Some(builds) => builds
                .iter()
                .map(|build| build.as_str().unwrap().to_string())
                .collect(),
            None => vec![String::new()],
        };
        for entry in entries {
            for step in job["steps"].as_sequence().unwrap() {
                let Some(command) = step["run"].as_str() else {
                    continue; // actions/checkout: the repository is here already.
                };
                let command = command
                    .replace("${{ matrix.build }}", &entry)
                    .replace("${{ github.run_id }}", "gh-7");
                let home = context.cache_dir().join("github").join(&id);
                let ran = Command::new("sh")
                    .args(["-c", &command])
                    .current_dir(&context.root)
                    .env("DOCKER_HOST", engine)
                    .env("HOME", &home)
                    .env("STRATA_CACHE_DIR", home.join("cache"))
                    .env("DOCKER_CONFIG", home.join("docker"))
                    .env("STRATA_SIGN_PASSWORD", "ci secret")
                    .output()
                    .unwrap();
                assert!(
                    ran.status.success(),
                    "`{id}` ({entry}): {command}\n{}",
                    render(&ran)
                );
                runs += 1;
            }
        }
        done.push(id);
    }
    assert_eq!(runs, 13, "twelve builds and the release");
    for image in IMAGES {
        let latest = resolve(&format!("{namespace}/{image}:latest")).expect("released");
        assert!(
            latest.is_index(),
            "`{image}:latest` is a multi-platform index"
        );
        assert!(tags(&format!("{namespace}/{image}/strata-staging")).is_empty());
        // Signed at the release: the index and both platforms' manifests.
        let verified = context.output(&[
            "verify",
            &format!("{namespace}/{image}:latest"),
            "--key",
            "ci.pub",
            "--json",
        ]);
        assert!(verified.status.success(), "{}", context.render(&verified));
        let report: serde_json::Value = serde_json::from_slice(&verified.stdout).unwrap();
        let manifests = report["images"][0]["manifests"].as_array().unwrap();
        assert_eq!(manifests.len(), 3, "the index and two platforms: {report}");
        assert!(manifests
            .iter()
            .all(|manifest| manifest["signed_by"][0]["key"] == "ci.pub"));
        // Attested at the release from what each job kept: every platform's SBOM and provenance.
        let attested = context.output(&[
            "verify",
            &format!("{namespace}/{image}:latest"),
            "--key",
            "ci.pub",
            "--attestation",
            "sbom",
            "--attestation",
            "provenance",
        ]);
        assert!(attested.status.success(), "{}", context.render(&attested));
    }
}
