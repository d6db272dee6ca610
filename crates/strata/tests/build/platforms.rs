//! Multi-architecture families: every image built for linux/amd64 and linux/arm64 (arm64 under
//! QEMU, as `scripts/dev-env.sh up` registers it), pushed per platform, then one index per tag.
//! A failing platform leaves the index as it was; what is up to date is decided per platform.

use strata_registry::{parse_reference, Platform, RegistryClient};
use strata_test::TestContext;

use crate::{fresh_namespace, runtime, BINARY};

/// The multi-platform busybox base `scripts/dev-env.sh up` publishes.
fn multi_platform_base() -> String {
    std::env::var("STRATA_TEST_MULTI_PLATFORM_BUSYBOX").expect(
        "`STRATA_TEST_MULTI_PLATFORM_BUSYBOX` is not set: run `scripts/dev-env.sh up` (it makes the arm64 base and registers emulation) and source its env file",
    )
}

/// A docker-stacks family, `base` ← `child`, for both platforms. The child fails on arm64 when
/// its directory has a `fail-arm64` file.
fn family(repo: &str) -> TestContext {
    let mut context = TestContext::new(BINARY);
    context.write(
        "strata.toml",
        &format!("repo = \"{repo}\"\nplatforms = [\"linux/amd64\", \"linux/arm64\"]\n"),
    );
    context.write(
        "images/base/Dockerfile",
        &format!(
            "FROM {}\nARG TARGETARCH\nRUN uname -m > /arch && echo \"$TARGETARCH\" > /target-arch\nCOPY status.sh /\nRUN sh /status.sh \"$TARGETARCH\"\n",
            multi_platform_base()
        ),
    );
    // A package database whose `demo` differs by platform and whose `same` does not.
    context.write(
        "images/base/status.sh",
        "mkdir -p /var/lib/dpkg\nfor package in \"demo 1.0-$1\" \"same 2.0\"; do\n  set -- $package\n  printf 'Package: %s\\nStatus: install ok installed\\nVersion: %s\\nArchitecture: all\\n\\n' \"$1\" \"$2\" >> /var/lib/dpkg/status\ndone\n",
    );
    context.write(
        "images/child/Dockerfile",
        &format!(
            "FROM {repo}/base:latest\nARG TARGETARCH\nCOPY . /context\nRUN test ! -e \"/context/fail-$TARGETARCH\" && cp /arch /child-arch\n"
        ),
    );
    context.commit("both platforms");
    context
}

/// Each platform's manifest digest in the index under `reference`, by architecture.
fn index_entries(reference: &str) -> Vec<(String, String)> {
    runtime().block_on(async {
        let client = RegistryClient::new();
        let parsed = parse_reference(reference).unwrap();
        let manifest = client.manifest(&parsed).await.unwrap();
        assert!(manifest.is_index(), "`{reference}` is not an index");
        manifest
            .children(reference)
            .unwrap()
            .into_iter()
            .map(|child| {
                (
                    child.platform.unwrap().architecture,
                    child.digest.to_string(),
                )
            })
            .collect()
    })
}

/// What a file holds in the image of `reference` for `platform`, run on the engine.
fn read_file(reference: &str, platform: &str, path: &str) -> String {
    let output = std::process::Command::new("docker")
        .args([
            "run",
            "--rm",
            "--pull",
            "always",
            "--platform",
            platform,
            reference,
            "cat",
            path,
        ])
        .output()
        .expect("run docker");
    assert!(
        output.status.success(),
        "docker run --platform {platform} {reference}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// The `finished` event of `build --json`: each result's build, platform and outcome.
fn outcomes(stdout: &[u8]) -> Vec<(String, String, String)> {
    let text = String::from_utf8_lossy(stdout);
    let finished: serde_json::Value = text
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|event| event["event"] == "finished")
        .expect("a finished event");
    let mut outcomes: Vec<(String, String, String)> = finished["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| {
            (
                result["build"].as_str().unwrap().to_string(),
                result["platform"].as_str().unwrap_or_default().to_string(),
                result["result"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    outcomes.sort();
    outcomes
}

/// The builds `plan --since registry` finds differing from the registry.
fn planned_from_registry(context: &TestContext) -> Vec<String> {
    let output = context.output(&["plan", "--since", "registry", "--json"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    plan["builds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|build| format!("{} {}", build["name"].as_str().unwrap(), build["reason"]))
        .collect()
}

fn outcome(build: &str, platform: &str, result: &str) -> (String, String, String) {
    (build.to_string(), platform.to_string(), result.to_string())
}

#[test]
fn a_family_for_two_platforms_becomes_indexes_only_when_every_platform_built() {
    let services = strata_test::require_services();
    let repo = fresh_namespace(&services.registry, "platforms");
    let context = family(&repo);
    let build = |context: &TestContext| {
        context.output(&["build", "--all", "--push", "--no-manifests", "--json"])
    };

    // Both platforms of both images, pushed per platform, then one index per tag.
    let first = build(&context);
    assert!(first.status.success(), "{}", context.render(&first));
    assert_eq!(
        outcomes(&first.stdout),
        vec![
            outcome("base", "linux/amd64", "built"),
            outcome("base", "linux/arm64", "built"),
            outcome("child", "linux/amd64", "built"),
            outcome("child", "linux/arm64", "built"),
        ]
    );
    let child = format!("{repo}/child:latest");
    let entries = index_entries(&child);
    let architectures: Vec<&str> = entries.iter().map(|(arch, _)| arch.as_str()).collect();
    assert_eq!(architectures, ["amd64", "arm64"]);
    // Each entry is that platform's image: its config says so and its `RUN`s ran there.
    runtime().block_on(async {
        let client = RegistryClient::new();
        for (architecture, digest) in &entries {
            let platform = Platform::parse(&format!("linux/{architecture}")).unwrap();
            let image = client
                .image(&parse_reference(&child).unwrap(), Some(&platform))
                .await
                .unwrap();
            assert_eq!(&image.manifest_digest, digest);
            assert_eq!(image.config["architecture"], architecture.as_str());
            assert!(
                image.config["config"]["Labels"]["org.strata.inputs"].is_string(),
                "{architecture}: no inputs label"
            );
        }
    });
    assert_eq!(read_file(&child, "linux/arm64", "/child-arch"), "aarch64");
    assert_eq!(read_file(&child, "linux/amd64", "/child-arch"), "x86_64");
    assert_eq!(
        read_file(
            &format!("{repo}/base:latest"),
            "linux/arm64",
            "/target-arch"
        ),
        "arm64",
        "TARGETARCH is set as BuildKit sets it"
    );

    // What the registry holds is what this checkout builds, platform by platform.
    assert_eq!(planned_from_registry(&context), Vec::<String>::new());

    // Promoted whole, in the registry: the course tag is the same index, every platform.
    let promoted = context.output(&[
        "promote",
        &child,
        "spring-2027",
        &format!("{repo}/released/child:spring-2027"),
        "--no-manifests",
    ]);
    assert!(promoted.status.success(), "{}", context.render(&promoted));
    for target in [
        format!("{repo}/child:spring-2027"),
        format!("{repo}/released/child:spring-2027"),
    ] {
        assert_eq!(index_entries(&target), entries, "{target}");
    }

    // The platforms' packages: `demo` differs, `same` does not.
    let differences = context.output(&["diff", "--platforms", &child, "--json"]);
    assert!(
        differences.status.success(),
        "{}",
        context.render(&differences)
    );
    let report: serde_json::Value = serde_json::from_slice(&differences.stdout).unwrap();
    assert_eq!(
        report["platforms"],
        serde_json::json!(["linux/amd64", "linux/arm64"])
    );
    assert_eq!(
        report["differences"],
        serde_json::json!([{
            "ecosystem": "deb",
            "location": "all",
            "name": "demo",
            "versions": [["linux/amd64", "1.0-amd64"], ["linux/arm64", "1.0-arm64"]],
        }])
    );
    let inspected = context.output(&[
        "inspect",
        "--registry",
        "--platform",
        "linux/arm64",
        &child,
        "--json",
    ]);
    assert!(inspected.status.success(), "{}", context.render(&inspected));
    let facts: serde_json::Value = serde_json::from_slice(&inspected.stdout).unwrap();
    assert_eq!(facts["architecture"], "arm64");
    // Locally an engine holds one platform per name: asking for another says where to look.
    let local = context.output(&[
        "inspect",
        "--platform",
        "linux/arm64",
        &format!("{repo}/child:latest-amd64"),
    ]);
    assert!(!local.status.success());
    assert!(
        String::from_utf8_lossy(&local.stderr).contains("--registry --platform linux/arm64"),
        "{}",
        context.render(&local)
    );

    // arm64 fails (at the same commit, so the tags are the same): amd64 is rebuilt and pushed
    // under its own tags, the index stays as it was.
    context.write("images/child/fail-arm64", "");
    let failing = build(&context);
    assert_eq!(
        failing.status.code(),
        Some(3),
        "{}",
        context.render(&failing)
    );
    assert_eq!(
        outcomes(&failing.stdout),
        vec![
            outcome("base", "linux/amd64", "up-to-date"),
            outcome("base", "linux/arm64", "up-to-date"),
            outcome("child", "linux/amd64", "built"),
            outcome("child", "linux/arm64", "failed"),
        ]
    );
    assert_eq!(
        index_entries(&child),
        entries,
        "the failed build moved the index"
    );
    let stderr = String::from_utf8_lossy(&failing.stderr);
    let stdout = String::from_utf8_lossy(&failing.stdout);
    assert!(
        stdout.contains("no multi-platform index: linux/arm64 failed")
            || stderr.contains("no multi-platform index: linux/arm64 failed"),
        "{}",
        context.render(&failing)
    );

    // Back as it was: only amd64's inputs differ from what its tag holds, so only it is built;
    // arm64 is up to date and the index again names the first arm64 image.
    context.remove("images/child/fail-arm64");
    let again = build(&context);
    assert!(again.status.success(), "{}", context.render(&again));
    assert_eq!(
        outcomes(&again.stdout),
        vec![
            outcome("base", "linux/amd64", "up-to-date"),
            outcome("base", "linux/arm64", "up-to-date"),
            outcome("child", "linux/amd64", "built"),
            outcome("child", "linux/arm64", "up-to-date"),
        ]
    );
    let now = index_entries(&child);
    assert_eq!(now[1], entries[1], "arm64 was rebuilt");
    assert_eq!(planned_from_registry(&context), Vec::<String>::new());
}

/// The Podman service `scripts/dev-env.sh up --podman` starts: the second engine.
fn podman_host() -> String {
    std::env::var("STRATA_TEST_PODMAN_HOST").expect(
        "`STRATA_TEST_PODMAN_HOST` is not set: this test builds arm64 on a second engine; run `scripts/dev-env.sh up --podman` and source its env file",
    )
}

#[test]
fn each_platform_builds_on_the_engine_strata_toml_names_for_it() {
    builds_arm64_on(&podman_host(), "engines");
}

#[test]
fn an_ssh_engine_builds_its_platform_through_a_forwarded_socket() {
    let ssh = std::env::var("STRATA_TEST_SSH").expect(
        "`STRATA_TEST_SSH` is not set: run `scripts/dev-env.sh up` (it starts sshd on loopback) and source its env file",
    );
    let socket = podman_host();
    let socket = socket.trim_start_matches("unix://");
    builds_arm64_on(&format!("{ssh}{socket}"), "ssh-engine");
}

/// A two-platform family whose arm64 builds on `engine` (which reaches Podman's service),
/// pinned first; the arm64 image lands on Podman, amd64 on the default engine.
fn builds_arm64_on(engine: &str, name: &str) {
    let services = strata_test::require_services();
    let podman = podman_host();
    let repo = fresh_namespace(&services.registry, name);
    let mut context = family(&repo);
    context.write(
        "strata.toml",
        &format!(
            "repo = \"{repo}\"\nplatforms = [\"linux/amd64\", \"linux/arm64\"]\n\n[engines]\n\"linux/arm64\" = \"{engine}\"\n"
        ),
    );
    // Pinned first: the base's multi-platform tag pins its index digest, and each platform's
    // build starts from that index's entry for it.
    let pinned = context.output(&["pin"]);
    assert!(pinned.status.success(), "{}", context.render(&pinned));
    let index_digest = runtime().block_on(async {
        let base = parse_reference(&multi_platform_base()).unwrap();
        RegistryClient::new()
            .resolve(&base)
            .await
            .unwrap()
            .unwrap()
            .digest
    });
    let dockerfile = std::fs::read_to_string(context.root.join("images/base/Dockerfile")).unwrap();
    assert!(
        dockerfile.contains(&format!("{}@{index_digest}", multi_platform_base())),
        "{dockerfile}"
    );
    context.commit("arm64 on its own engine");
    // `ssh://` engines are reached with the ssh settings `scripts/dev-env.sh` writes.
    let mut command = context.strata();
    if let Ok(ssh_command) = std::env::var("STRATA_SSH_COMMAND") {
        command.env("STRATA_SSH_COMMAND", ssh_command);
    }
    let output = command
        .args(["build", "--all", "--push", "--no-manifests", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", context.render(&output));
    let entries = index_entries(&format!("{repo}/child:latest"));
    let architectures: Vec<&str> = entries.iter().map(|(arch, _)| arch.as_str()).collect();
    assert_eq!(architectures, ["amd64", "arm64"]);
    let default_is_podman = strata_test::engine_is_podman();
    runtime().block_on(async {
        use strata_engine::{BuilderKind, DockerEngine, Engine};
        let arm_engine = DockerEngine::connect_to(Some(&podman), BuilderKind::BuildKit)
            .await
            .unwrap();
        let arm64 = arm_engine
            .image(&format!("{repo}/child:latest-arm64"))
            .await
            .unwrap()
            .expect("the arm64 image is on the arm64 engine");
        assert_eq!(arm64.architecture.as_deref(), Some("arm64"));
        if !default_is_podman {
            let default = DockerEngine::connect(BuilderKind::BuildKit).await.unwrap();
            assert!(
                default
                    .image(&format!("{repo}/child:latest-arm64"))
                    .await
                    .unwrap()
                    .is_none(),
                "arm64 was built on the default engine too"
            );
            let amd64 = default
                .image(&format!("{repo}/child:latest-amd64"))
                .await
                .unwrap()
                .expect("amd64 is built on the default engine");
            assert_eq!(amd64.architecture.as_deref(), Some("amd64"));
        }
    });
    assert_eq!(
        read_file(
            &format!("{repo}/child:latest"),
            "linux/arm64",
            "/child-arch"
        ),
        "aarch64"
    );
}
