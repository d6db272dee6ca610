//! `strata outdated`: moved pinned bases with what changed inside them, published images that
//! no longer match the repository, and locked packages with newer releases (live PyPI).

use strata_test::{fresh_namespace, TestContext};

use crate::{build_and_push, busybox_family, json, publish_local, services, BINARY};

#[test]
fn moved_bases_show_their_package_changes_and_changed_images_are_listed() {
    let services = services();
    let namespace = fresh_namespace(&services.registry, "outdated");
    let upstream = format!("{namespace}/upstream/base:stable");
    publish_local("strata-base/busybox:latest", &upstream);
    let mut context = busybox_family(
        &namespace,
        &[("app", &format!("FROM {upstream}\nRUN echo app > /app\n"))],
    );
    let pinned = context.output(&["pin"]);
    assert!(pinned.status.success(), "{}", context.render(&pinned));
    context.commit("pin");
    build_and_push(&context);

    let clean = context.output(&["outdated", "--check", "--json"]);
    assert!(clean.status.success(), "{}", context.render(&clean));
    let report = json(&clean);
    assert_eq!(report["schema_version"], 1);
    for section in ["bases", "locks", "images", "orphans"] {
        assert_eq!(
            report[section],
            serde_json::json!([]),
            "{section}: {report}"
        );
    }

    // Upstream moves `stable` from busybox to Debian; the repository changes an image.
    publish_local("strata-base/debian:bookworm", &upstream);
    context.touch("images/app/Dockerfile");
    let output = context.output(&["outdated", "--check", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", context.render(&output));
    let report = json(&output);
    let moved = &report["bases"][0];
    assert_eq!(moved["reference"], upstream.as_str());
    assert_ne!(moved["pinned"], moved["current"]);
    let changes = moved["changes"].as_array().unwrap();
    let bash = changes
        .iter()
        .find(|change| change["ecosystem"] == "deb" && change["name"] == "bash")
        .unwrap_or_else(|| panic!("bash arrives with Debian: {changes:?}"));
    assert_eq!(bash["before"], serde_json::Value::Null);
    assert!(bash["after"].as_str().unwrap().starts_with("5."));
    assert!(changes
        .iter()
        .any(|change| change["ecosystem"] == "os" && change["after"] == "12"));
    assert_eq!(report["images"][0]["build"], "app");
    assert_eq!(report["images"][0]["reason"], "inputs-changed");

    let text = context.output(&["outdated"]);
    assert!(text.status.success(), "without --check the exit code is 0");
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("pinned bases whose tag moved"), "{stdout}");
    assert!(stdout.contains("+ bash 5."), "{stdout}");
}

#[test]
fn live_pypi_locked_packages_with_newer_releases_are_listed() {
    let mut context = TestContext::new(BINARY);
    context.write("docker/Dockerfile", "FROM python:3.11-slim\n");
    context.write("docker/requirements.txt", "six==1.15.0\n");
    let locked = context.output(&[
        "lock",
        "docker/requirements.txt",
        "--python-version",
        "3.11",
        "--platform",
        "manylinux_2_28_x86_64",
    ]);
    assert!(locked.status.success(), "{}", context.render(&locked));
    // The requirement is loosened: the lock still pins 1.15.0, newer sixes are allowed.
    context.write("docker/requirements.txt", "six\n");
    context.commit("course image");
    let output = context.output(&["outdated", "docker", "--check", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", context.render(&output));
    let report = json(&output);
    let update = &report["locks"][0]["updates"][0];
    assert_eq!(update["name"], "six");
    assert_eq!(update["locked"], "1.15.0");
    let available = update["available"].as_str().unwrap();
    assert!(
        available.split('.').nth(1).unwrap().parse::<u32>().unwrap() > 15,
        "{available}"
    );
    // Nothing was written.
    assert!(
        fs_err::read_to_string(context.root.join("docker/requirements.lock"))
            .unwrap()
            .contains("six==1.15.0")
    );
}
