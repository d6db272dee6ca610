//! Locking for a built image, `--base`, and the end-to-end flow: lock, fetch, build an image
//! that installs the lock offline with `--require-hashes`, import the packages.

use strata_engine::{DockerEngine, Engine};
use strata_test::{require_services, TestContext};

use crate::{lock_text, pinned_version, pins, BINARY};

/// The Python fixture image of `test/repos/inspect`.
fn python_image() -> String {
    format!(
        "{}/python-venv:latest",
        strata_test::inspect_fixture_images(BINARY)
    )
}

#[test]
fn live_pypi_lock_for_an_image_fetch_and_install_offline() {
    let image = python_image();
    let mut context = TestContext::new(BINARY);
    context.write("requirements.txt", "requests\n");
    let output = context.output(&["lock", "requirements.txt", "--image", &image]);
    assert!(output.status.success(), "{}", context.render(&output));
    let text = lock_text(&context);
    // Debian 12: CPython 3.11.2, glibc 2.36.
    assert!(
        text.contains("# strata-target: python=3.11.2 platform=manylinux_2_36_x86_64"),
        "{text}"
    );

    let fetched = context.output(&[
        "lock",
        "fetch",
        "requirements.lock",
        "images/offline/wheels",
    ]);
    assert!(fetched.status.success(), "{}", context.render(&fetched));
    let wheels: Vec<String> = String::from_utf8_lossy(&fetched.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(wheels.len(), pins(&text).len());
    assert!(
        wheels.iter().all(|wheel| wheel.ends_with(".whl")),
        "{wheels:?}"
    );

    fs_err::copy(
        context.root.join("requirements.lock"),
        context.root.join("images/offline/requirements.lock"),
    )
    .unwrap();
    context.write(
        "images/offline/Dockerfile",
        &format!(
            "FROM {image}\nCOPY wheels /wheels\nCOPY requirements.lock /tmp/requirements.lock\nRUN pip install --no-index --find-links /wheels --no-deps --require-hashes --only-binary :all: -r /tmp/requirements.lock\n"
        ),
    );
    context.commit("offline image");
    let services = require_services();
    let repo = format!("{}/lock-offline", services.registry);
    // No network in the build: everything comes from the fetched wheels.
    let built = context.output(&[
        "build",
        "--all",
        "--repo",
        &repo,
        "--network",
        "none",
        "--no-manifests",
    ]);
    assert!(built.status.success(), "{}", context.render(&built));
    let output = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        let engine = DockerEngine::connect(strata_engine::BuilderKind::BuildKit).await.unwrap();
        let command = ["python3", "-c", "import requests, urllib3, idna, certifi, charset_normalizer; print(requests.__version__)"];
        engine.run(&format!("{repo}/offline:latest"), &command.map(str::to_string)).await.unwrap()
    });
    assert_eq!(output.exit_code, 0, "{}", output.stderr);
    assert_eq!(output.stdout.trim(), pinned_version(&text, "requests"));
}

#[test]
fn live_pypi_base_image_distributions_are_kept_and_not_locked() {
    let image = python_image();
    let context = TestContext::new(BINARY);
    // The venv of the base image has setuptools 66.1.1 and pip 23.0.1.
    context.write("requirements.txt", "setuptools\n");
    let output = context.output(&[
        "lock",
        "requirements.txt",
        "--image",
        &image,
        "--base",
        &image,
    ]);
    assert!(output.status.success(), "{}", context.render(&output));
    let text = lock_text(&context);
    assert!(pins(&text).is_empty(), "{text}");
    assert!(text.contains("# strata-base (installed in the base image, not locked here):\n#    /opt/venv/lib/python3.11/site-packages:\n#      demo-package==1.2.3\n#      pip==23.0.1\n#      setuptools==66.1.1\n#\n"), "{text}");
    context.write("requirements.txt", "setuptools>=70\n");
    let conflict = context.output(&[
        "lock",
        "requirements.txt",
        "--image",
        &image,
        "--base",
        &image,
    ]);
    assert_eq!(
        conflict.status.code(),
        Some(2),
        "{}",
        context.render(&conflict)
    );
    assert!(
        String::from_utf8_lossy(&conflict.stderr).contains("`setuptools>=70` needs a newer setuptools than the 66.1.1 the base image has in /opt/venv/lib/python3.11/site-packages"),
        "{}",
        context.render(&conflict)
    );
}
