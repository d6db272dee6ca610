//! Linting with the repository model: parents referred to the wrong way (`BASE003`), images of
//! the repository exempt from base-image rules, and image-level rules that see what parents
//! set up and know which images are final.

use std::path::Path;

use strata_lint::{repository_targets, Finding, LintOptions, Linter};

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    fs_err::create_dir_all(path.parent().unwrap()).unwrap();
    fs_err::write(path, text).unwrap();
}

fn lint_repository(root: &Path) -> Vec<Finding> {
    let repository = strata_repo::open(root).unwrap();
    let linter = Linter::new(&LintOptions::default()).unwrap();
    repository_targets(&repository)
        .iter()
        .flat_map(|target| {
            let text = fs_err::read_to_string(&target.path).unwrap();
            linter
                .lint(&target.display, &text, &target.context, &target.ignore)
                .unwrap()
        })
        .collect()
}

fn codes<'a>(findings: &'a [Finding], file: &str) -> Vec<(usize, &'a str)> {
    findings
        .iter()
        .filter(|finding| finding.file == file)
        .map(|finding| (finding.line, finding.rule))
        .collect()
}

#[test]
fn sciserver_parents_by_build_tag_digest_or_compat_build() {
    let directory = tempfile::tempdir().unwrap();
    let root = directory.path();
    let pinned =
        "debian:12@sha256:0000000000000000000000000000000000000000000000000000000000000000";
    write(
        root,
        "science/base/sciserver-image.json",
        r#"{"image": "essentials", "version": "1.0", "target": "base", "compat": "jupyter"}"#,
    );
    write(
        root,
        "science/base/Dockerfile",
        &format!("FROM {pinned}\nENV LANG=C.UTF-8\n"),
    );
    write(
        root,
        "science/good/sciserver-image.json",
        r#"{"image": "essentials", "version": "1.0", "target": "good", "compat": "jupyter"}"#,
    );
    write(root, "science/good/Dockerfile", "FROM sci/base:1.0\n");
    write(
        root,
        "science/frozen/sciserver-image.json",
        r#"{"image": "frozen", "version": "1.0", "target": "frozen", "compat": "jupyter"}"#,
    );
    write(
        root,
        "science/frozen/Dockerfile",
        "FROM containers.example.org/compute/sci/base:1.0-42-f90dbd6\n",
    );
    write(
        root,
        "science/compat-built/sciserver-image.json",
        r#"{"image": "astro", "version": "2.0", "target": "compat-built", "compat": "jupyter"}"#,
    );
    write(
        root,
        "science/compat-built/Dockerfile",
        "FROM rel/essentials:1.0\n",
    );
    write(
        root,
        "compat/jupyter/sciserver-image.json",
        r#"{"includes": []}"#,
    );
    write(
        root,
        "compat/jupyter/Dockerfile",
        "RUN pip install jupyterlab\nCMD [\"jupyter\", \"lab\"]\n",
    );
    let findings = lint_repository(root);
    // The repository's own parent is exempt from `latest` and digest rules; nothing is final
    // among science layers (compat layers finish them).
    assert_eq!(codes(&findings, "science/good/Dockerfile"), []);
    assert_eq!(codes(&findings, "science/base/Dockerfile"), []);
    let frozen: Vec<&Finding> = findings
        .iter()
        .filter(|finding| finding.file == "science/frozen/Dockerfile")
        .collect();
    assert_eq!(frozen.len(), 1, "{frozen:#?}");
    assert_eq!(frozen[0].rule, "BASE003");
    assert_eq!(
        frozen[0].message,
        "`containers.example.org/compute/sci/base:1.0-42-f90dbd6` names science layer `base` by a build tag (`:1.0-42-f90dbd6`), which never moves; refer to it as `sci/base:1.0` so strata builds it first"
    );
    let compat_built: Vec<&Finding> = findings
        .iter()
        .filter(|finding| finding.file == "science/compat-built/Dockerfile")
        .collect();
    assert_eq!(compat_built.len(), 1, "{compat_built:#?}");
    assert!(
        compat_built[0]
            .message
            .contains("is a compat build of `essentials`: it brings compat files that only take space; build on the science layer `sci/good:1.0`"),
        "{}",
        compat_built[0].message
    );
    // The compat layer is a fragment: no FROM rules, its CMD counts, its pip install is checked.
    assert_eq!(
        codes(&findings, "compat/jupyter/Dockerfile"),
        [(1, "PIP001"), (1, "PIP002")]
    );
}

#[test]
fn docker_stacks_children_inherit_what_parents_set_up() {
    let directory = tempfile::tempdir().unwrap();
    let root = directory.path();
    write(
        root,
        "images/docker-stacks-foundation/Dockerfile",
        "ARG BASE_IMAGE=ubuntu:24.04\nFROM $BASE_IMAGE\nENV LANG=en_US.UTF-8 CONDA_DIR=/opt/conda\nENTRYPOINT [\"tini\", \"-g\", \"--\"]\nCMD [\"start.sh\"]\n",
    );
    write(
        root,
        "images/base-notebook/Dockerfile",
        "ARG REGISTRY=quay.io\nARG OWNER=jupyter\nARG BASE_IMAGE=$REGISTRY/$OWNER/docker-stacks-foundation\nFROM $BASE_IMAGE\nRUN pip install --no-cache-dir jupyterlab==4.2.0\nCOPY requirements.txt /tmp/\nRUN pip install --no-cache-dir -r /tmp/requirements.txt\n",
    );
    write(
        root,
        "images/base-notebook/requirements.txt",
        "numpy==2.0.0 --hash=sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
    );
    let findings = lint_repository(root);
    // The foundation is built on by base-notebook: not final, so no image-level rules; its
    // external base is only unpinned.
    assert_eq!(
        codes(&findings, "images/docker-stacks-foundation/Dockerfile"),
        [(2, "BASE002")]
    );
    // base-notebook's untagged FROM names the repository's own image: no BASE001. Its CMD and
    // LANG come from the foundation. It is a conda image (the foundation sets CONDA_DIR), so
    // pip into base is noted, and `requirements.txt` holds hashes: it is a lock.
    assert_eq!(
        codes(&findings, "images/base-notebook/Dockerfile"),
        [(5, "CONDA006"), (7, "CONDA006"), (7, "PIP004")]
    );
}
