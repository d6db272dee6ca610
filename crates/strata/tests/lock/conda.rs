//! `strata lock environment.yml` through the binary, against a local channel on loopback.

use strata_test::{require_services, CondaChannel, CondaPackage, TestContext};

use crate::BINARY;

fn channel() -> CondaChannel {
    CondaChannel::serve(&[
        CondaPackage::new("python", "3.11.6", "linux-64")
            .build("hab00c5b_0_cpython", 0)
            .depends(&["__glibc >=2.17"]),
        CondaPackage::new("pip", "24.0", "noarch")
            .noarch_python()
            .build("pyhd8ed1ab_0", 0)
            .depends(&["python >=3.7"]),
        CondaPackage::new("newlibc-tool", "1.0", "linux-64").depends(&["__glibc >=2.34"]),
    ])
}

fn environment(context: &TestContext, channel: &CondaChannel, dependencies: &str) {
    context.write(
        "environment.yml",
        &format!(
            "name: science\nchannels:\n  - {}\ndependencies:\n{dependencies}",
            channel.url()
        ),
    );
}

#[test]
fn an_environment_file_locks_checks_and_reports_as_json() {
    let channel = channel();
    let context = TestContext::new(BINARY);
    environment(&context, &channel, "  - python 3.11.*\n  - pip\n");
    let output = context.output(&["lock", "environment.yml", "--json"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["result"], "written");
    assert_eq!(report["packages"], 2);
    assert!(!context.root.join("environment.pip.lock").exists());
    let lock = fs_err::read_to_string(context.root.join("environment.lock")).unwrap();
    assert!(
        lock.contains("# strata-target: platform=linux-64 glibc=2.28\n@EXPLICIT\n"),
        "{lock}"
    );
    assert!(
        lock.lines()
            .filter(|line| line.contains("#sha256:"))
            .count()
            == 2,
        "{lock}"
    );
    let check = context.output(&["lock", "environment.yml", "--check"]);
    assert!(check.status.success(), "{}", context.render(&check));
    // The environment asks for more: the lock drifted, exit 1, and nothing is written.
    environment(
        &context,
        &channel,
        "  - python 3.11.*\n  - pip\n  - newlibc-tool\n",
    );
    let drifted = context.output(&["lock", "environment.yml", "--check", "--glibc", "2.35"]);
    assert_eq!(
        drifted.status.code(),
        Some(1),
        "{}",
        context.render(&drifted)
    );
    assert!(String::from_utf8_lossy(&drifted.stderr).contains("+ newlibc-tool 1.0"));
    assert_eq!(
        fs_err::read_to_string(context.root.join("environment.lock")).unwrap(),
        lock
    );
}

#[test]
fn an_unsolvable_environment_names_the_conflict_and_the_target() {
    let channel = channel();
    let context = TestContext::new(BINARY);
    environment(&context, &channel, "  - newlibc-tool\n");
    let output = context.output(&["lock", "environment.yml"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot lock `environment.yml`"), "{stderr}");
    assert!(
        stderr.contains("__glibc") && stderr.contains("linux-64 (__glibc 2.28)"),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(!context.root.join("environment.lock").exists());
}

/// python, pip and six as conda-forge ships them (pip and six `noarch: python`, with their
/// dist-info), and proj, whose activation script sets `PROJ_LIB`.
fn science_channel() -> CondaChannel {
    let metadata = |name: &str, version: &str| {
        format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    };
    CondaChannel::serve(&[
        CondaPackage::new("python", "3.11.6", "linux-64")
            .build("hab00c5b_0_cpython", 0)
            .depends(&["__glibc >=2.17"])
            .file("bin/python3.11", "#!/bin/sh\n")
            .file("include/python3.11/patchlevel.h", "#define PY_VERSION \"3.11.6\"\n"),
        CondaPackage::new("pip", "24.0", "noarch")
            .noarch_python()
            .build("pyhd8ed1ab_0", 0)
            .depends(&["python >=3.7"])
            .file(
                "lib/python3.11/site-packages/pip-24.0.dist-info/METADATA",
                &metadata("pip", "24.0"),
            ),
        CondaPackage::new("six", "1.16.0", "noarch")
            .noarch_python()
            .build("pyh6c4a22f_0", 0)
            .depends(&["python"])
            .file(
                "lib/python3.11/site-packages/six-1.16.0.dist-info/METADATA",
                &metadata("six", "1.16.0"),
            ),
        CondaPackage::new("attrs", "23.2.0", "noarch")
            .noarch_python()
            .build("pyh71513ae_0", 0)
            .depends(&["python >=3.7"]),
        CondaPackage::new("proj", "9.3.1", "linux-64")
            .build("h1d62c97_0", 0)
            .file("share/proj/proj.db", "proj")
            .file(
                "etc/conda/activate.d/proj4-activate.sh",
                "#!/bin/sh\nif [ -n \"$PROJ_LIB\" ]; then\n  export _CONDA_SET_PROJ_LIB=$PROJ_LIB\nfi\nexport \"PROJ_LIB=${CONDA_PREFIX}/share/proj\"\n",
            ),
    ])
}

/// The lock's package URLs (hashes included), in order.
fn lock_urls(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|line| *line != "@EXPLICIT")
        .skip(1)
        .filter(|line| !line.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// An image holding an environment installed from its lock (records as conda writes them,
/// plus a package pip installed), built by strata with the built-in activation check: the
/// check fails the build until `ENV PROJ_LIB` is set; then `lock --check --image` says the image
/// holds the lock, `freeze` gives the lock back from the image, and a lock that differs from
/// the image is named package by package. `freeze -o` locks what pip installed from PyPI.
#[test]
fn live_pypi_an_image_built_from_a_lock_holds_it_freezes_back_to_it_and_is_checked_for_activation()
{
    let services = require_services();
    let channel = science_channel();
    let mut context = TestContext::new(BINARY);
    context.write(
        "environment.yml",
        &format!(
            "channels:\n  - {}\ndependencies:\n  - python 3.11.*\n  - pip\n  - six\n  - proj\n",
            channel.url()
        ),
    );
    let locked = context.output(&["lock", "environment.yml"]);
    assert!(locked.status.success(), "{}", context.render(&locked));
    let lock = fs_err::read_to_string(context.root.join("environment.lock")).unwrap();
    let prefix = context.root.join("images/conda-env/opt/conda");
    channel.install(&lock, &prefix);
    context.write(
        "images/conda-env/opt/conda/lib/python3.11/site-packages/python_dateutil-2.9.0.post0.dist-info/METADATA",
        "Metadata-Version: 2.1\nName: python-dateutil\nVersion: 2.9.0.post0\n",
    );
    context.write(
        "strata.toml",
        "layout = \"docker-stacks\"\n\n[[images.conda-env.tests]]\ncheck = \"conda-activation\"\n",
    );
    let dockerfile =
        "FROM strata-base/busybox:latest\nCOPY opt/ /opt/\nENV PATH=/opt/conda/bin:/bin\n";
    context.write("images/conda-env/Dockerfile", dockerfile);
    context.commit("an image with a conda environment");
    let repo = strata_test::fresh_namespace(&services.registry, "conda-freeze");
    let image = format!("{repo}/conda-env:latest");

    // Never activated: the built-in check fails the build, nothing is tagged.
    let failed = context.output(&["build", "--all", "--repo", &repo]);
    let rendered = context.render(&failed);
    assert_eq!(failed.status.code(), Some(3), "{rendered}");
    assert!(rendered.contains("conda-activation"), "{rendered}");
    assert!(
        rendered.contains("ENV PROJ_LIB=/opt/conda/share/proj"),
        "{rendered}"
    );

    context.write(
        "images/conda-env/Dockerfile",
        &format!("{dockerfile}ENV PROJ_LIB=/opt/conda/share/proj\n"),
    );
    context.commit("set what activation sets");
    let built = context.output(&["build", "--all", "--repo", &repo]);
    assert!(built.status.success(), "{}", context.render(&built));
    let tested = context.output(&["test", "--repo", &repo]);
    assert!(tested.status.success(), "{}", context.render(&tested));

    let facts: serde_json::Value =
        serde_json::from_slice(&context.output(&["inspect", "--json", &image]).stdout).unwrap();
    let activation = &facts["conda"][0]["activation"][0];
    assert_eq!(activation["name"], "PROJ_LIB");
    assert_eq!(activation["left_unset"], false);

    let check = context.output(&["lock", "--check", "--image", &image, "environment.yml"]);
    assert!(check.status.success(), "{}", context.render(&check));
    assert!(String::from_utf8_lossy(&check.stderr).contains("holds exactly"));

    // Frozen from the image: the same URLs and hashes, dependencies first.
    let frozen = context.output(&["freeze", &image]);
    assert!(frozen.status.success(), "{}", context.render(&frozen));
    let frozen_text = String::from_utf8_lossy(&frozen.stdout).into_owned();
    let mut frozen_urls = lock_urls(&frozen_text);
    let position = |name: &str| {
        frozen_urls
            .iter()
            .position(|url| url.contains(&format!("/{name}-")))
            .unwrap()
    };
    assert!(position("python") < position("pip"), "{frozen_text}");
    assert!(position("python") < position("six"), "{frozen_text}");
    frozen_urls.sort();
    let mut locked_urls = lock_urls(&lock);
    locked_urls.sort();
    assert_eq!(frozen_urls, locked_urls);
    assert!(frozen_text.contains("strata freeze"), "{frozen_text}");
    let stderr = String::from_utf8_lossy(&frozen.stderr);
    assert!(stderr.contains("python-dateutil==2.9.0.post0"), "{stderr}");
    assert!(
        !stderr.contains("six=="),
        "conda's six is not pip's: {stderr}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&context.output(&["freeze", &image, "--json"]).stdout).unwrap();
    assert_eq!(report["packages"], 4);
    assert_eq!(report["environment"], "/opt/conda");
    assert_eq!(
        report["pip"],
        serde_json::json!(["python-dateutil==2.9.0.post0"])
    );
    // To files: the conda lock, and pip's packages hash-pinned beside it with conda's held
    // fixed.
    let written = context.output(&["freeze", &image, "-o", "frozen.lock"]);
    assert!(written.status.success(), "{}", context.render(&written));
    let frozen_file = fs_err::read_to_string(context.root.join("frozen.lock")).unwrap();
    assert_eq!(lock_urls(&frozen_file), lock_urls(&frozen_text));
    let pip = fs_err::read_to_string(context.root.join("frozen.pip.lock")).unwrap();
    assert!(
        pip.contains("python-dateutil==2.9.0.post0 \\\n    --hash=sha256:"),
        "{pip}"
    );
    assert!(pip.contains("#    six==1.16.0"), "{pip}");
    assert!(pip.contains("python=3.11.6"), "{pip}");
    // The frozen pair is what the image holds, pip's part included.
    let check_frozen = [
        "lock",
        "--check",
        "--image",
        &image,
        "environment.yml",
        "-o",
        "frozen.lock",
    ];
    let holds = context.output(&check_frozen);
    assert!(holds.status.success(), "{}", context.render(&holds));
    context.write(
        "frozen.pip.lock",
        &pip.replace("python-dateutil==2.9.0.post0", "python-dateutil==2.8.2"),
    );
    let pip_drift = context.output(&check_frozen);
    let rendered = context.render(&pip_drift);
    assert_eq!(pip_drift.status.code(), Some(1), "{rendered}");
    assert!(
        rendered.contains("+ pip python-dateutil==2.9.0.post0 is installed but not in")
            && rendered.contains("- pip python-dateutil==2.8.2 is in"),
        "{rendered}"
    );
    let unknown = context.output(&["freeze", &image, "--env", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("base (/opt/conda)"));

    // A child environment on top of the image's: only what it adds is locked.
    context.write(
        "child.yml",
        &format!(
            "channels:\n  - {}\ndependencies:\n  - attrs\n  - python 3.11.*\n",
            channel.url()
        ),
    );
    let child = context.output(&["lock", "child.yml", "--base", &image]);
    assert!(child.status.success(), "{}", context.render(&child));
    let child_lock = fs_err::read_to_string(context.root.join("child.lock")).unwrap();
    let child_urls = lock_urls(&child_lock);
    assert_eq!(child_urls.len(), 1, "{child_lock}");
    assert!(child_urls[0].contains("/attrs-23.2.0-"), "{child_lock}");
    assert!(
        child_lock.contains(&format!("# strata-base-image: {image}\n")),
        "{child_lock}"
    );

    // A lock the image does not hold: each difference named, exit 1.
    let without_six = lock
        .lines()
        .filter(|line| !line.contains("/six-"))
        .fold(String::new(), |text, line| text + line + "\n");
    context.write("environment.lock", &without_six);
    let drifted = context.output(&[
        "lock",
        "--check",
        "--image",
        &image,
        "environment.yml",
        "--json",
    ]);
    assert_eq!(
        drifted.status.code(),
        Some(1),
        "{}",
        context.render(&drifted)
    );
    let report: serde_json::Value = serde_json::from_slice(&drifted.stdout).unwrap();
    assert_eq!(report["result"], "drifted");
    assert_eq!(
        report["changes"],
        serde_json::json!(["+ six-1.16.0-pyh6c4a22f_0 is installed but not in the lock"])
    );
}

/// The `pip:` section is locked for the Python the solve chose, with conda's Python
/// distributions held fixed: six comes from conda, so python-dateutil's `six>=1.5` is not
/// locked again from PyPI.
#[test]
fn live_pypi_the_pip_section_is_locked_beside_with_condas_packages_held_fixed() {
    let channel = science_channel();
    let context = TestContext::new(BINARY);
    context.write(
        "environment.yml",
        &format!(
            "channels:\n  - {}\ndependencies:\n  - python 3.11.*\n  - pip\n  - six\n  - pip:\n    - python-dateutil==2.9.0.post0\n",
            channel.url()
        ),
    );
    let output = context.output(&["lock", "environment.yml", "--json"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let reports: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert_eq!(reports[1]["lock"], "environment.pip.lock");
    let pip = fs_err::read_to_string(context.root.join("environment.pip.lock")).unwrap();
    assert!(
        pip.contains("python-dateutil==2.9.0.post0 \\\n    --hash=sha256:"),
        "{pip}"
    );
    assert!(
        pip.contains("# strata-target: python=3.11.6 platform=manylinux_2_28_x86_64"),
        "{pip}"
    );
    assert!(
        pip.contains("#    six==1.16.0"),
        "six is conda's, held fixed:\n{pip}"
    );
    assert!(!pip.contains("\nsix=="), "{pip}");
    assert!(pip.contains("#    strata lock environment.yml\n"), "{pip}");
    let check = context.output(&["lock", "environment.yml", "--check"]);
    assert!(check.status.success(), "{}", context.render(&check));
}

/// Repository mode: `[images.NAME.conda]` in `strata.toml`; `strata lock` solves parents first
/// and a child's environment on top of its parent's lock, which it names and leaves out.
#[test]
fn a_repository_locks_each_images_environment_on_top_of_its_parents() {
    let channel = science_channel();
    let mut context = TestContext::new(BINARY);
    context.write(
        "images/base/Dockerfile",
        "FROM strata-base/busybox:latest\n",
    );
    context.write(
        "images/base/environment.yml",
        &format!(
            "channels:\n  - {}\ndependencies:\n  - python 3.11.*\n  - pip\n",
            channel.url()
        ),
    );
    context.write(
        "images/child/Dockerfile",
        "ARG BASE=example.org/team/base\nFROM $BASE\n",
    );
    context.write(
        "images/child/environment.yml",
        &format!(
            "channels:\n  - {}\ndependencies:\n  - six\n  - proj\n",
            channel.url()
        ),
    );
    context.write(
        "strata.toml",
        "[images.base.conda]\nenvironment = \"environment.yml\"\nglibc = \"2.36\"\n\n[images.child.conda]\nenvironment = \"environment.yml\"\nglibc = \"2.36\"\n",
    );
    context.commit("two conda images");
    let output = context.output(&["lock", "--json"]);
    assert!(output.status.success(), "{}", context.render(&output));
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 2);
    let base = fs_err::read_to_string(context.root.join("images/base/environment.lock")).unwrap();
    let child = fs_err::read_to_string(context.root.join("images/child/environment.lock")).unwrap();
    assert!(base.contains("/python-3.11.6-"), "{base}");
    assert!(
        base.contains("# strata-target: platform=linux-64 glibc=2.36\n"),
        "{base}"
    );
    let child_urls = lock_urls(&child);
    assert_eq!(child_urls.len(), 2, "{child}");
    assert!(child_urls
        .iter()
        .all(|url| url.contains("/six-") || url.contains("/proj-")));
    assert!(
        child.contains("# strata-base-lock: ../base/environment.lock\n"),
        "{child}"
    );
    let check = context.output(&["lock", "--check"]);
    assert_eq!(check.status.code(), Some(0), "{}", context.render(&check));

    // The parent's environment changes: the child's lock is solved on the new parent.
    context.write(
        "images/base/environment.yml",
        &format!(
            "channels:\n  - {}\ndependencies:\n  - python 3.11.*\n  - pip\n  - six\n",
            channel.url()
        ),
    );
    let relocked = context.output(&["lock"]);
    assert!(relocked.status.success(), "{}", context.render(&relocked));
    let child = fs_err::read_to_string(context.root.join("images/child/environment.lock")).unwrap();
    assert_eq!(
        lock_urls(&child).len(),
        1,
        "six now comes from the parent:\n{child}"
    );
}
