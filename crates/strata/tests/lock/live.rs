//! Locking against PyPI itself.

use insta::assert_snapshot;

use crate::{lock_text, pinned_version, pins, with_requirements};

const TARGET: [&str; 4] = [
    "--python-version",
    "3.11",
    "--platform",
    "manylinux_2_28_x86_64",
];

fn lock(context: &strata_test::TestContext, extra: &[&str]) -> std::process::Output {
    let mut arguments = vec!["lock", "requirements.txt"];
    arguments.extend_from_slice(&TARGET);
    arguments.extend_from_slice(extra);
    context.output(&arguments)
}

#[test]
fn live_pypi_lock_is_deterministic_and_checkable() {
    let context = with_requirements("requests\n");
    let output = lock(&context, &[]);
    assert!(output.status.success(), "{}", context.render(&output));
    let first = lock_text(&context);
    let names: Vec<String> = pins(&first)
        .iter()
        .map(|pin| pin.split("==").next().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "certifi",
            "charset-normalizer",
            "idna",
            "requests",
            "urllib3"
        ]
    );
    assert!(first.contains("# strata-target: python=3.11 platform=manylinux_2_28_x86_64"));
    assert!(first.contains("    # via -r requirements.txt\n"));
    assert!(
        first
            .lines()
            .filter(|line| line.trim_start().starts_with("--hash=sha256:"))
            .count()
            > 20
    );

    // The same inputs give the same bytes.
    assert!(lock(&context, &[]).status.success());
    assert_eq!(lock_text(&context), first);

    // `--check` takes the target from the lock.
    let check = context.output(&["lock", "requirements.txt", "--check"]);
    assert_eq!(check.status.code(), Some(0), "{}", context.render(&check));

    // A requirement the lock does not satisfy is drift, named.
    context.write("requirements.txt", "requests\nidna<3\n");
    let drifted = context.output(&["lock", "requirements.txt", "--check"]);
    assert_eq!(
        drifted.status.code(),
        Some(1),
        "{}",
        context.render(&drifted)
    );
    let stderr = String::from_utf8_lossy(&drifted.stderr);
    assert!(stderr.contains("idna: locked"), "{stderr}");
    assert_eq!(lock_text(&context), first, "--check writes nothing");

    // A different target is drift too.
    context.write("requirements.txt", "requests\n");
    let other_target = context.output(&[
        "lock",
        "requirements.txt",
        "--check",
        "--python-version",
        "3.12",
    ]);
    assert_eq!(
        other_target.status.code(),
        Some(1),
        "{}",
        context.render(&other_target)
    );
}

#[test]
fn live_pypi_upgrade_package_keeps_other_pins() {
    let context = with_requirements("requests\nurllib3<2\ncertifi<2024\n");
    assert!(lock(&context, &[]).status.success());
    let old = lock_text(&context);
    assert!(pinned_version(&old, "urllib3").starts_with("1."));
    // Loosened requirements: without --upgrade the pins stay.
    context.write("requirements.txt", "requests\n");
    assert!(lock(&context, &[]).status.success());
    let kept = lock_text(&context);
    assert_eq!(
        pinned_version(&kept, "urllib3"),
        pinned_version(&old, "urllib3")
    );
    assert_eq!(
        pinned_version(&kept, "certifi"),
        pinned_version(&old, "certifi")
    );
    // Only urllib3 moves.
    let output = lock(&context, &["--upgrade-package", "urllib3"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let upgraded = lock_text(&context);
    assert!(pinned_version(&upgraded, "urllib3").starts_with("2."));
    assert_eq!(
        pinned_version(&upgraded, "certifi"),
        pinned_version(&old, "certifi")
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("urllib3: locked 1."), "{stderr}");
}

#[test]
fn live_pypi_exclude_newer_reproduces_an_old_lock() {
    let context = with_requirements("requests\n");
    let output = lock(&context, &["--exclude-newer", "2023-06-01"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let text = lock_text(&context);
    assert_eq!(pinned_version(&text, "requests"), "2.31.0");
    assert_eq!(pinned_version(&text, "urllib3"), "2.0.2");
    assert!(
        text.contains("# strata-exclude-newer: 2023-06-01T00:00:00Z"),
        "{text}"
    );
    assert!(text.contains("--exclude-newer 2023-06-01T00:00:00Z"));
}

#[test]
fn input_errors_are_clear() {
    let context = with_requirements("requests >=< 2\n");
    let output = lock(&context, &[]);
    let rendered = context.render(&output);
    assert_eq!(output.status.code(), Some(2), "{rendered}");
    assert!(
        rendered.contains("invalid requirement in `requirements.txt` line 1"),
        "{rendered}"
    );
    assert!(rendered.contains("1 | requests >=< 2"), "{rendered}");

    let context = with_requirements("requests\n");
    assert_snapshot!(context.run(&["lock", "requirements.txt"]), @"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: which Python to lock for is unknown
    hint: give `--python-version 3.11` (and `--platform`), or `--image IMAGE` to read them from a built image; `--check` and later locks take them from the lock
    ");
    assert_snapshot!(context.run(&["lock", "requirements.txt", "--python-version", "3.11", "--platform", "win_amd64"]), @"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: `win_amd64` is not a platform strata can lock for
    hint: use `manylinux_2_<glibc minor>_<x86_64|aarch64>` or `musllinux_1_<musl minor>_<x86_64|aarch64>`, for example `manylinux_2_28_x86_64`
    ");
}

#[test]
fn live_pypi_offline_uses_the_cache() {
    let context = with_requirements("idna\n");
    assert!(lock(&context, &[]).status.success());
    let first = lock_text(&context);
    let offline = lock(&context, &["--offline", "--upgrade"]);
    assert!(offline.status.success(), "{}", context.render(&offline));
    assert_eq!(lock_text(&context), first);
    let uncached = with_requirements("six\n");
    let output = lock(&uncached, &["--offline"]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        uncached.render(&output)
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--offline"),
        "{}",
        uncached.render(&output)
    );
}

#[test]
fn live_pypi_repository_locks_every_image_parents_first() {
    let mut context = strata_test::TestContext::new(crate::BINARY);
    context.write("images/base/Dockerfile", "FROM python:3.11-slim\n");
    context.write("images/base/requirements.txt", "urllib3<2\n");
    context.write(
        "images/child/Dockerfile",
        "ARG BASE=example.org/team/base\nFROM $BASE\n",
    );
    context.write("images/child/requirements.txt", "requests\n");
    context.write(
        "strata.toml",
        "[images.base.lock]\nrequirements = \"requirements.txt\"\npython = \"3.11\"\nplatform = \"manylinux_2_28_x86_64\"\n\n[images.child.lock]\nrequirements = \"requirements.txt\"\npython = \"3.11\"\nplatform = \"manylinux_2_28_x86_64\"\n",
    );
    context.commit("two images");
    let output = context.output(&["lock"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let base = fs_err::read_to_string(context.root.join("images/base/requirements.lock")).unwrap();
    let child =
        fs_err::read_to_string(context.root.join("images/child/requirements.lock")).unwrap();
    let urllib3 = pinned_version(&base, "urllib3");
    assert!(urllib3.starts_with("1."), "{base}");
    // The child keeps the parent's urllib3 and does not lock it again.
    assert!(
        !pins(&child).iter().any(|pin| pin.starts_with("urllib3==")),
        "{child}"
    );
    assert!(
        child.contains(&format!(
            "#    images/base/requirements.lock:\n#      urllib3=={urllib3}\n"
        )),
        "{child}"
    );
    assert!(pins(&child).iter().any(|pin| pin.starts_with("requests==")));
    let check = context.output(&["lock", "--check"]);
    assert_eq!(check.status.code(), Some(0), "{}", context.render(&check));
}

#[test]
fn live_pypi_sdist_only_packages_and_direct_urls() {
    // docopt has only source distributions, whose PKG-INFO (Metadata 1.1) does not declare
    // dependencies: refused without --no-binary, then read through its build backend.
    let context = with_requirements("docopt\n");
    let refused = lock(&context, &[]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("pass `--no-binary docopt` to allow it"),
        "{}",
        context.render(&refused)
    );
    let output = lock(&context, &["--no-binary", "docopt"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let text = lock_text(&context);
    assert_eq!(pinned_version(&text, "docopt"), "0.6.2");
    assert!(text.contains("# strata-no-binary: docopt\n"));

    let url = "https://files.pythonhosted.org/packages/d9/5a/e7c31adbe875f2abbb91bd84cf2dc52d792b5a01506781dbcf25c91daf11/six-1.16.0-py2.py3-none-any.whl";
    let context = with_requirements(&format!("six @ {url}\n"));
    let output = lock(&context, &[]);
    assert!(output.status.success(), "{}", context.render(&output));
    let text = lock_text(&context);
    assert!(text.contains(&format!("six @ {url} \\\n    --hash=sha256:8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254\n")), "{text}");
}

#[test]
fn live_pypi_a_second_run_with_nothing_changed_resolves_nothing() {
    let context = with_requirements("idna\n");
    assert!(lock(&context, &[]).status.success());
    let path = context.root.join("requirements.lock");
    let written = fs_err::metadata(&path).unwrap().modified().unwrap();
    let again = lock(&context, &[]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("is up to date"),
        "{}",
        context.render(&again)
    );
    assert_eq!(
        fs_err::metadata(&path).unwrap().modified().unwrap(),
        written,
        "nothing was written"
    );
    // A changed input is noticed: the lock is resolved and written again.
    context.write("requirements.txt", "idna\nsix\n");
    let changed = lock(&context, &[]);
    assert!(
        String::from_utf8_lossy(&changed.stderr).contains("wrote"),
        "{}",
        context.render(&changed)
    );
    assert!(lock_text(&context).contains("six=="));
}

/// Outside a repository, `strata lock` with no file takes `requirements.txt` beside
/// `requirements.lock` (the phys-398 layout); with no lock there yet it still asks for a file.
#[test]
fn live_pypi_no_file_uses_the_requirements_beside_their_lock() {
    let context = with_requirements("six==1.16.0\n");
    let refused = context.output(&["lock", "--check"]);
    assert_eq!(
        refused.status.code(),
        Some(2),
        "{}",
        context.render(&refused)
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("give a requirements"));
    let locked = context.output(&["lock", "requirements.txt", "--python-version", "3.11"]);
    assert!(locked.status.success(), "{}", context.render(&locked));
    let check = context.output(&["lock", "--check"]);
    assert!(check.status.success(), "{}", context.render(&check));
    assert!(String::from_utf8_lossy(&check.stderr).contains("`requirements.lock` is up to date"));
    context.write("requirements.txt", "six==1.16.0\nattrs==23.2.0\n");
    let drifted = context.output(&["lock", "--check"]);
    assert_eq!(
        drifted.status.code(),
        Some(1),
        "{}",
        context.render(&drifted)
    );
}
