//! Layer-aware locks on base images whose interpreters import from several site directories
//! (`test/repos/site-path`): Debian's apt Python with pip-installed packages in /usr/local, a
//! venv sharing the system site packages, a user site, an official-`python`-like /usr/local
//! installation. What strata holds fixed is checked against the real interpreter's `sys.path`.

use strata_engine::{DockerEngine, Engine};
use strata_test::TestContext;

use crate::{lock_text, pins, BINARY};

/// The images of `test/repos/site-path`, built once per run (later callers find them up to
/// date), on the inspect fixtures' Debian 12 python-venv image. Returns the repository prefix.
fn site_path_images() -> String {
    let python_venv = format!(
        "{}/python-venv:latest",
        strata_test::inspect_fixture_images(BINARY)
    );
    let arguments = ["--network", "none", "--no-manifests"];
    strata_test::fixture_images(BINARY, "site-path", &arguments, |context| {
        let path = context.root.join("images/debian-pip/Dockerfile");
        let dockerfile = fs_err::read_to_string(&path)
            .unwrap()
            .replace("strata-test/python-venv", &python_venv);
        context.write("images/debian-pip/Dockerfile", &dockerfile);
        context.commit("on the inspect fixtures' python-venv");
    })
}

fn site_path_of(context: &TestContext, image: &str) -> Vec<String> {
    let output = context.output(&["inspect", image, "--json"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let facts: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    facts["python"]["site_path"]
        .as_array()
        .unwrap_or_else(|| panic!("no site_path in {facts}"))
        .iter()
        .map(|directory| directory.as_str().unwrap().to_string())
        .collect()
}

/// The `# strata-base` section of a lock, as written.
fn base_section(text: &str) -> String {
    let mut section = String::new();
    for line in text
        .lines()
        .skip_while(|line| !line.starts_with("# strata-base ("))
        .take_while(|line| *line != "#")
    {
        section.push_str(line);
        section.push('\n');
    }
    section
}

#[test]
fn site_directories_are_those_the_image_interpreter_puts_on_sys_path() {
    let repo = site_path_images();
    let context = TestContext::new(BINARY);
    let runtime = strata_test::runtime();
    let engine = runtime
        .block_on(DockerEngine::connect(strata_engine::BuilderKind::BuildKit))
        .unwrap();
    for image in ["debian-pip", "venv-system", "user-site"] {
        let reference = format!("{repo}/{image}:latest");
        let candidates = site_path_of(&context, &reference);
        // The real interpreter: its sys.path's site directories, and which of strata's
        // candidates exist in the image (site.py adds only directories that exist).
        let script = format!(
            "import os, sys\nfor d in sys.path:\n    if d.endswith(('site-packages', 'dist-packages')): print('path', d)\nfor d in {candidates:?}:\n    if os.path.isdir(d): print('exists', d)\n"
        );
        let command = ["python3", "-c", &script].map(str::to_string);
        let output = runtime.block_on(engine.run(&reference, &command)).unwrap();
        assert_eq!(output.exit_code, 0, "{image}: {}", output.stderr);
        let lines = |kind: &str| -> Vec<String> {
            output
                .stdout
                .lines()
                .filter_map(|line| line.strip_prefix(kind))
                .map(|directory| directory.trim().to_string())
                .collect()
        };
        assert_eq!(
            lines("exists"),
            lines("path"),
            "{image}: strata's site path {candidates:?}"
        );
    }
}

#[test]
fn live_pypi_a_debian_base_keeps_what_pip_installed_in_usr_local() {
    let repo = site_path_images();
    let image = format!("{repo}/debian-pip:latest");
    let context = TestContext::new(BINARY);
    context.write("requirements.txt", "attrs\nsix\nrequests==2.31.0\n");
    let lock = |context: &TestContext| {
        context.output(&[
            "lock",
            "requirements.txt",
            "--image",
            &image,
            "--base",
            &image,
        ])
    };
    let output = lock(&context);
    assert!(output.status.success(), "{}", context.render(&output));
    let text = lock_text(&context);
    // pip put attrs, packaging and six in /usr/local; the older six in /usr/lib/python3 is
    // shadowed; the venv's pip, setuptools and demo-package are not on this sys.path.
    insta::assert_snapshot!(base_section(&text), @r"
    # strata-base (installed in the base image, not locked here):
    #    /usr/local/lib/python3.11/dist-packages:
    #      attrs==23.2.0
    #      packaging==24.1
    #      six==1.16.0
    ");
    let pinned = pins(&text);
    assert!(pinned.contains(&"requests==2.31.0".to_string()), "{text}");
    assert!(
        !pinned
            .iter()
            .any(|pin| pin.starts_with("attrs==") || pin.starts_with("six==")),
        "the base's attrs and six are locked again:\n{text}"
    );

    // The header names the base, so `--check` as users type it needs no flags.
    assert!(
        text.contains(&format!("--base {image}\n#\n# strata-target: python=3.11.2 platform=manylinux_2_36_x86_64\n# strata-base-image: {image}\n")),
        "{text}"
    );
    let check = context.output(&["lock", "--check"]);
    assert_eq!(check.status.code(), Some(0), "{}", context.render(&check));

    context.write("requirements.txt", "attrs>=24\n");
    let conflict = lock(&context);
    assert_eq!(
        conflict.status.code(),
        Some(2),
        "{}",
        context.render(&conflict)
    );
    let stderr = String::from_utf8_lossy(&conflict.stderr);
    assert!(
        stderr.contains("`attrs>=24` needs a newer attrs than the 23.2.0 the base image has in /usr/local/lib/python3.11/dist-packages"),
        "{stderr}"
    );
    // Nothing half-written: the first lock is still there, unchanged.
    assert_eq!(lock_text(&context), text);
}

#[test]
fn live_pypi_venv_user_site_and_official_layouts_fix_what_their_interpreter_imports() {
    let repo = site_path_images();
    let context = TestContext::new(BINARY);
    context.write("requirements.txt", "attrs\npackaging\nsix\n");
    let lock = |image: &str, target: &[&str]| {
        let reference = format!("{repo}/{image}:latest");
        let mut arguments = vec!["lock", "requirements.txt", "--base", &reference];
        arguments.extend_from_slice(target);
        let output = context.output(&arguments);
        assert!(
            output.status.success(),
            "{image}: {}",
            context.render(&output)
        );
        lock_text(&context)
    };
    let debian = [
        "--python-version",
        "3.11.2",
        "--platform",
        "manylinux_2_36_x86_64",
    ];

    // The venv's own attrs shadows the system's; its pip and setuptools are the venv's.
    let text = lock("venv-system", &debian);
    insta::assert_snapshot!(base_section(&text), @r"
    # strata-base (installed in the base image, not locked here):
    #    /opt/shared/lib/python3.11/site-packages:
    #      attrs==24.2.0
    #      pip==23.0.1
    #      setuptools==66.1.1
    #    /usr/local/lib/python3.11/dist-packages:
    #      packaging==24.1
    #      six==1.16.0
    ");
    assert!(pins(&text).is_empty(), "{text}");

    // jovyan's user site (HOME set) comes first: its packaging wins.
    let text = lock("user-site", &debian);
    insta::assert_snapshot!(base_section(&text), @r"
    # strata-base (installed in the base image, not locked here):
    #    /home/jovyan/.local/lib/python3.11/site-packages:
    #      packaging==24.2
    #    /usr/local/lib/python3.11/dist-packages:
    #      attrs==23.2.0
    #      six==1.16.0
    ");
    assert!(pins(&text).is_empty(), "{text}");

    // /usr/local/lib/python3.12/site-packages only: the leftover Debian six is not imported,
    // so six is locked.
    let text = lock(
        "official-like",
        &[
            "--python-version",
            "3.12.4",
            "--platform",
            "manylinux_2_28_x86_64",
        ],
    );
    insta::assert_snapshot!(base_section(&text), @r"
    # strata-base (installed in the base image, not locked here):
    #    /usr/local/lib/python3.12/site-packages:
    #      attrs==23.2.0
    #      pip==24.0
    ");
    let pinned = pins(&text);
    assert_eq!(pinned.len(), 2, "{text}");
    assert!(pinned[0].starts_with("packaging=="), "{text}");
    assert!(pinned[1].starts_with("six=="), "{text}");
}
