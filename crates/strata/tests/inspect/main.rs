//! `strata inspect` and `strata diff` on real images built by the project's Docker daemon,
//! compared with what the images themselves report (`dpkg-query`, `pip list`, `python3 --version`
//! run in containers). Fails, saying how to start them, when the services are missing.

use std::collections::BTreeSet;

use strata_engine::{DockerEngine, Engine};
use strata_test::{require_services, runtime, TestContext};

const BINARY: &str = env!("CARGO_BIN_EXE_strata");

/// The fixture images (built once per run) and a context for running strata. Building them
/// reaches Debian's mirrors (`apt-get` in `test/repos/inspect/images/apt-tools`, with `--network
/// host`): the tests that use them are named `live_debian_…`.
fn fixtures() -> (TestContext, String) {
    let repo = strata_test::inspect_fixture_images(BINARY);
    (TestContext::from_fixture(BINARY, "inspect"), repo)
}

/// What a command prints in a container of the image.
fn run_in(image: &str, command: &str) -> String {
    runtime().block_on(async {
        let engine = DockerEngine::connect(strata_engine::BuilderKind::BuildKit)
            .await
            .unwrap();
        let output = engine
            .run(
                image,
                &["sh".to_string(), "-c".to_string(), command.to_string()],
            )
            .await
            .unwrap();
        assert_eq!(
            output.exit_code, 0,
            "`{command}` in `{image}`: {}",
            output.stderr
        );
        output.stdout
    })
}

fn local_tags(image: &str) -> Vec<String> {
    runtime().block_on(async {
        let engine = DockerEngine::connect(strata_engine::BuilderKind::BuildKit)
            .await
            .unwrap();
        engine.image(image).await.unwrap().unwrap().repo_tags
    })
}

fn inspect_json(context: &TestContext, arguments: &[&str]) -> serde_json::Value {
    let mut full = vec!["inspect", "--json"];
    full.extend_from_slice(arguments);
    let output = context.output(&full);
    assert!(output.status.success(), "{}", context.render(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn deb_set(facts: &serde_json::Value) -> BTreeSet<(String, String)> {
    facts["deb_packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|package| {
            (
                package["name"].as_str().unwrap().to_string(),
                package["version"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pip_set(facts: &serde_json::Value, environment: &str) -> BTreeSet<(String, String)> {
    facts["python"]["environments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|candidate| candidate["path"] == environment)
        .flat_map(|candidate| candidate["packages"].as_array().unwrap().iter())
        .map(|package| {
            (
                package["name"].as_str().unwrap().to_lowercase(),
                package["version"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn dpkg_in(image: &str) -> BTreeSet<(String, String)> {
    run_in(
        image,
        "dpkg-query -W -f '${db:Status-Abbrev}|${Package}|${Version}\\n'",
    )
    .lines()
    .filter_map(|line| {
        let mut parts = line.split('|');
        let status = parts.next()?;
        (status.trim() == "ii").then(|| {
            (
                parts.next().unwrap_or_default().to_string(),
                parts.next().unwrap_or_default().to_string(),
            )
        })
    })
    .collect()
}

fn pip_in(image: &str) -> BTreeSet<(String, String)> {
    let listed: serde_json::Value =
        serde_json::from_str(&run_in(image, "pip list --format json")).unwrap();
    listed
        .as_array()
        .unwrap()
        .iter()
        .map(|package| {
            (
                package["name"].as_str().unwrap().to_lowercase(),
                package["version"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn live_debian_packages_and_interpreters_match_what_the_images_report() {
    let (context, repo) = fixtures();
    for name in ["apt-tools", "python-venv", "removed"] {
        let image = format!("{repo}/{name}:latest");
        let facts = inspect_json(&context, &[&image]);
        assert_eq!(deb_set(&facts), dpkg_in(&image), "{name}: deb packages");
        assert!(deb_set(&facts).len() > 80, "{name}");
        let os = &facts["os_release"];
        assert_eq!(
            (os["id"].as_str(), os["version_id"].as_str()),
            (Some("debian"), Some("12"))
        );
        if name != "apt-tools" {
            assert_eq!(
                pip_set(&facts, "/opt/venv/lib/python3.11/site-packages"),
                pip_in(&image),
                "{name}: pip packages"
            );
            let version = run_in(&image, "python3 --version");
            assert_eq!(
                format!(
                    "Python {}",
                    facts["python"]["default"]["version"].as_str().unwrap()
                ),
                version.trim()
            );
        }
    }
    // The later layer's removals: not reported.
    let removed = inspect_json(&context, &[&format!("{repo}/removed:latest")]);
    assert!(!deb_set(&removed).iter().any(|(name, _)| name == "jq"));
    assert!(!pip_set(&removed, "/opt/venv/lib/python3.11/site-packages")
        .iter()
        .any(|(name, _)| name == "demo-package"));
}

#[test]
fn live_debian_conda_r_taggers_and_inheritance() {
    let (context, repo) = fixtures();
    let facts = inspect_json(&context, &[&format!("{repo}/conda-synthetic:latest")]);
    let conda: BTreeSet<(String, String)> = facts["conda"][0]["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|package| {
            (
                package["name"].as_str().unwrap().to_string(),
                package["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("numpy", "1.26.4"),
        ("python", "3.11.7"),
        ("pytorch", "2.3.0+cpu"),
    ]
    .iter()
    .map(|(name, version)| ((*name).to_string(), (*version).to_string()))
    .collect();
    assert_eq!(conda, expected);
    assert_eq!(facts["conda"][0]["prefix"], "opt/conda");
    assert_eq!(facts["conda"][0]["packages"][2]["channel"], "pytorch");
    assert_eq!(facts["python"]["default"]["version"], "3.11.7");
    assert_eq!(facts["r"][0]["path"], "usr/local/lib/R/site-library");
    assert_eq!(facts["r"][0]["packages"].as_array().unwrap().len(), 2);

    let tags = local_tags(&format!("{repo}/conda-synthetic:latest"));
    for tag in [
        "python-3.11",
        "python-3.11.7",
        "pytorch-2.3.0",
        "ggplot2-3.5.0",
    ] {
        assert!(
            tags.contains(&format!("{repo}/conda-synthetic:{tag}")),
            "{tag} in {tags:?}"
        );
    }
    // python-venv has its own taggers and apt-tools' `os` tagger.
    let tags = local_tags(&format!("{repo}/python-venv:latest"));
    for tag in ["debian-12", "python-3.11", "python-3.11.2", "demo-1.2.3"] {
        assert!(
            tags.contains(&format!("{repo}/python-venv:{tag}")),
            "{tag} in {tags:?}"
        );
    }
    // Pushed too.
    let image = runtime()
        .block_on(strata_registry::fetch_image(&format!(
            "{repo}/python-venv:demo-1.2.3"
        )))
        .unwrap();
    assert!(image.digest.starts_with("sha256:"));
}

#[test]
fn live_debian_registry_inspection_reads_only_new_layers_and_agrees_with_the_engine() {
    let (context, repo) = fixtures();
    let cache = tempfile::tempdir().unwrap();
    let layer_files = || {
        fs_err::read_dir(
            cache
                .path()
                .join(format!("layers/v{}", strata_inspect::RECORD_VERSION)),
        )
        .map_or(0, Iterator::count)
    };
    let registry_json = |image: &str| {
        let output = context
            .strata()
            .env("STRATA_CACHE_DIR", cache.path())
            .args(["inspect", "--json", "--registry", image])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", context.render(&output));
        serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap()
    };
    let parent = registry_json(&format!("{repo}/python-venv:latest"));
    let parent_layers = parent["layers"].as_array().unwrap().len();
    assert_eq!(layer_files(), parent_layers);
    let child = registry_json(&format!("{repo}/removed:latest"));
    let child_layers = child["layers"].as_array().unwrap().len();
    assert_eq!(child_layers, parent_layers + 1);
    assert_eq!(
        layer_files(),
        child_layers,
        "only the child's own layer was read"
    );
    let local = inspect_json(&context, &[&format!("{repo}/removed:latest")]);
    assert_eq!(deb_set(&child), deb_set(&local));
    assert_eq!(
        pip_set(&child, "/opt/venv/lib/python3.11/site-packages"),
        pip_set(&local, "/opt/venv/lib/python3.11/site-packages")
    );
    assert_eq!(child["python"]["default"], local["python"]["default"]);
    // One image, one size: the registry's layers and the engine's storage count the same bytes.
    assert_eq!(child["size"], local["size"]);
    let counted = |facts: &serde_json::Value| -> Vec<(serde_json::Value, serde_json::Value)> {
        facts["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|layer| (layer["diff_id"].clone(), layer["size"].clone()))
            .collect()
    };
    assert_eq!(counted(&child), counted(&local));
    // The registry's also say what each weighs compressed and which step made it.
    let layers = child["layers"].as_array().unwrap();
    assert!(layers
        .iter()
        .all(|layer| layer["compressed_size"].as_u64() > Some(0)));
    assert_eq!(
        layers.last().unwrap()["step"],
        "RUN /bin/sh -c apt-get purge -y jq && /opt/venv/bin/pip uninstall -y demo-package"
    );
    assert_eq!(layers[3]["step"], "COPY demo-package /src/demo-package");
}

#[test]
fn live_debian_diff_manifests_and_sbom() {
    let (context, repo) = fixtures();
    let output = context.output(&[
        "diff",
        &format!("{repo}/python-venv:latest"),
        &format!("{repo}/removed:latest"),
    ]);
    assert!(output.status.success(), "{}", context.render(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout
            .lines()
            .any(|line| line.starts_with("- deb") && line.contains(" jq ")),
        "{stdout}"
    );
    assert!(stdout.lines().any(|line| line.starts_with("- python-package") && line.contains("demo-package 1.2.3")), "{stdout}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("0 added, 2 removed, 0 changed"));

    let image = format!("{repo}/python-venv:latest");
    let markdown = String::from_utf8(
        context
            .output(&["inspect", "--format", "markdown", &image])
            .stdout,
    )
    .unwrap();
    assert!(
        markdown.starts_with(&format!("# Build manifest for `{image}`")),
        "{markdown}"
    );
    assert!(markdown
        .contains("## Python packages: `/opt/venv/lib/python3.11/site-packages` (Python 3.11.2)"));
    assert!(markdown.contains("| demo-package | 1.2.3 |"));
    assert!(markdown.contains("## Apt packages") && markdown.contains("| jq | "));

    let sbom: serde_json::Value = serde_json::from_slice(
        &context
            .output(&["inspect", "--format", "cyclonedx", &image])
            .stdout,
    )
    .unwrap();
    assert_eq!(sbom["bomFormat"], "CycloneDX");
    assert_eq!(sbom["specVersion"], "1.5");
    let components = sbom["components"].as_array().unwrap();
    let purls: Vec<&str> = components
        .iter()
        .filter_map(|component| component["purl"].as_str())
        .collect();
    assert!(purls.contains(&"pkg:pypi/demo-package@1.2.3"), "{purls:?}");
    let system = components
        .iter()
        .find(|component| component["type"] == "operating-system")
        .expect("the OS is a component");
    assert_eq!(system["name"], "debian");
    assert_eq!(system["version"], "12");
    // Debian packages carry the licences of their machine-readable copyright files.
    let bash = components
        .iter()
        .find(|component| component["name"] == "bash")
        .expect("bash");
    assert!(
        bash["licenses"].as_array().is_some_and(|licenses| licenses
            .iter()
            .any(|license| license["license"]["name"]
                .as_str()
                .is_some_and(|name| name.starts_with("GPL")))),
        "{bash}"
    );
    assert!(purls.iter().any(|purl| purl.starts_with("pkg:deb/debian/jq@") && purl.contains("distro=debian-12")), "{purls:?}");
}

#[test]
fn unknown_image_is_a_clear_error() {
    require_services();
    let context = TestContext::new(BINARY);
    let output = context.output(&["inspect", "strata-test/no-such-image:1"]);
    insta::assert_snapshot!(context.render(&output), @"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: cannot inspect `strata-test/no-such-image:1`
      Caused by: no image `strata-test/no-such-image:1` in the engine
    hint: check the name with `docker images`, or read the image from its registry with `--registry`
    ");
}

#[test]
fn live_debian_the_engines_storage_and_its_exported_archive_give_the_same_facts() {
    let (_context, repo) = fixtures();
    runtime().block_on(async {
        let engine = DockerEngine::connect(strata_engine::BuilderKind::BuildKit)
            .await
            .unwrap();
        let image = format!("{repo}/removed:latest");
        let details = engine.image(&image).await.unwrap().unwrap();
        assert_eq!(
            details.layer_directories.len(),
            details.layers.len(),
            "the dev daemon stores layers with overlay2"
        );
        let (storage_cache, archive_cache) =
            (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let from_storage = strata_inspect::inspect_local(
            &engine,
            &image,
            &strata_inspect::LayerCache::new(storage_cache.path()),
        )
        .await
        .unwrap();
        let from_archive = strata_inspect::inspect_local(
            &strata_test::StorageHidden(engine),
            &image,
            &strata_inspect::LayerCache::new(archive_cache.path()),
        )
        .await
        .unwrap();
        let facts = |facts: &strata_inspect::ImageFacts| {
            let mut value = serde_json::to_value(facts).unwrap();
            // Layer sizes are counted differently (files versus archive bytes).
            value.as_object_mut().unwrap().remove("layers");
            value.as_object_mut().unwrap().remove("size");
            value
        };
        assert!(!from_storage.deb_packages.is_empty());
        assert_eq!(facts(&from_storage), facts(&from_archive));
    });
}

#[test]
fn registry_references_a_user_gets_wrong_are_input_errors() {
    let context = TestContext::new(BINARY);
    let malformed = context.output(&["inspect", "--registry", "UPPER/Case:1"]);
    assert_eq!(
        malformed.status.code(),
        Some(2),
        "{}",
        context.render(&malformed)
    );
    let stderr = String::from_utf8_lossy(&malformed.stderr);
    assert_eq!(
        stderr.matches("is not a valid image reference").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("hint: references look like"), "{stderr}");

    let registry = strata_test::FakeRegistry::start();
    registry.put_image("team/image", "1.0", &[b"layer"]);
    let missing = format!("{}/team/image:9.9", registry.address());
    let output = context.output(&["inspect", "--registry", &missing]);
    assert_eq!(output.status.code(), Some(2), "{}", context.render(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains(&format!(
            "`{missing}` not found in `{}`",
            registry.address()
        )),
        "{}",
        context.render(&output)
    );
}
