//! Protected SciServer versions: the three safe ways of the SciServer README pass; a change
//! that leaves a version defined in history without a final layer is refused by `plan` and
//! `build`, unless the version is retired in `strata.toml` or `--allow-orphan` is given.

use insta::assert_snapshot;

use crate::{planned, sciserver};

#[test]
fn adding_a_layer_without_changing_the_version_passes() {
    let mut context = sciserver();
    context.write(
        "science/essentials-3/sciserver-image.json",
        r#"{"image": "essentials", "version": "2.0", "compat": "jupyter"}"#,
    );
    context.write(
        "science/essentials-3/Dockerfile",
        "FROM sci/essentials-v2:2.0\nRUN echo more\n",
    );
    context.commit("add on top, same version");
    assert_eq!(
        planned(&context, &[]),
        ["science essentials-3", "compat essentials:2.0"],
        "the new layer is the final one of essentials 2.0"
    );
}

#[test]
fn adding_a_layer_with_a_new_version_passes() {
    let mut context = sciserver();
    context.write(
        "science/essentials-3/sciserver-image.json",
        r#"{"image": "essentials", "version": "2.1", "compat": "jupyter"}"#,
    );
    context.write(
        "science/essentials-3/Dockerfile",
        "FROM sci/essentials-v2:2.0\n",
    );
    context.commit("add on top, new version");
    assert_eq!(
        planned(&context, &[]),
        ["science essentials-3", "compat essentials:2.1"]
    );
}

#[test]
fn changing_a_layer_in_place_without_a_version_change_passes() {
    let mut context = sciserver();
    context.touch("science/essentials-2/Dockerfile");
    context.commit("change in place");
    assert_eq!(
        planned(&context, &[]),
        [
            "science essentials-v2",
            "compat essentials:2.0",
            "science astro",
            "compat astro:2.5"
        ],
        "astro is built on essentials-v2"
    );
}

#[test]
fn a_version_bump_in_place_is_refused_until_retired() {
    let mut context = sciserver();
    context.write(
        "science/essentials-2/sciserver-image.json",
        r#"{"image": "essentials", "version": "2.1", "target": "essentials-v2", "compat": "jupyter"}"#,
    );
    assert_snapshot!(context.run(&["plan"]), @r#"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: this change leaves a version without a final layer, so it would get no compat updates:
        `essentials:2.0`: last defined by `science/essentials-2` in commit `3cd282c`, changed in the work tree
    hint: keep a science layer with that image and version (add layers on top instead of changing the version in place), retire it in `strata.toml` once compute no longer uses it (`retired = ["essentials:2.0"]`), or pass `--allow-orphan`
    "#);
    context.commit("bump in place");
    let committed = context.output(&["plan", "--json"]);
    assert_eq!(
        committed.status.code(),
        Some(2),
        "{}",
        context.render(&committed)
    );
    let stderr = String::from_utf8_lossy(&committed.stderr);
    let bump = context.git(&["log", "-n1", "--format=%h"]);
    assert!(
        stderr.contains(&format!("changed in commit `{bump}`")),
        "{stderr}"
    );
    // `build` refuses before it needs an engine.
    let build = context.output(&["build", "--all"]);
    assert_eq!(build.status.code(), Some(2), "{}", context.render(&build));
    assert!(String::from_utf8_lossy(&build.stderr).contains("`essentials:2.0`"));

    assert_eq!(
        planned(&context, &["--allow-orphan"]),
        ["science essentials-v2", "compat essentials:2.1"]
    );
    context.write("strata.toml", "retired = [\"essentials:2.0\"]\n");
    context.commit("retire 2.0");
    assert_eq!(planned(&context, &["--since", "HEAD~2"]).len(), 2);
}

#[test]
fn deleting_a_final_layer_is_refused() {
    let mut context = sciserver();
    context.remove("science/astro");
    context.commit("drop astro");
    let output = context.output(&["plan"]);
    assert_eq!(output.status.code(), Some(2), "{}", context.render(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`astro:2.5`: last defined by `science/astro`"),
        "{stderr}"
    );
}

/// The definition history of `HEAD` is kept between runs: a second plan at the same commit
/// asks git for none of it, and a new commit is read again.
#[test]
fn the_definition_history_is_kept_for_its_commit() {
    let mut context = sciserver();
    assert_eq!(planned(&context, &["--all"]).len(), 8);
    let kept_files: Vec<_> = glob::glob(&format!(
        "{}/repositories/*/history",
        context.cache_dir().display()
    ))
    .unwrap()
    .map(Result::unwrap)
    .collect();
    assert_eq!(kept_files.len(), 1, "one repository, one kept history");
    let kept_file = &kept_files[0];
    let head = context.git(&["rev-parse", "HEAD"]);
    let count = context.git(&["rev-list", "--count", "HEAD"]);
    let text = std::fs::read_to_string(kept_file).unwrap();
    let (format, json) = text.split_once('\n').unwrap();
    assert_eq!(format, "strata definition history 1");
    let mut kept: serde_json::Value = serde_json::from_str(json).unwrap();
    // The commit and how much history git reaches from it (a deepened shallow clone has more).
    assert_eq!(kept["head"], format!("{} {}", head.trim(), count.trim()));

    // What is kept is what the next plan at this commit uses: a version defined only in the
    // kept copy is reported (git would not know it).
    let blob = "1234567890123456789012345678901234567890";
    kept["changes"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "commit": "abcdef0",
            "path": "science/phantom/sciserver-image.json",
            "old_blob": null,
            "new_blob": blob,
        }));
    kept["blob_versions"][blob] = serde_json::json!("phantom:9.9");
    std::fs::write(kept_file, format!("{format}\n{kept}")).unwrap();
    let output = context.output(&["plan", "--all"]);
    assert_eq!(output.status.code(), Some(2), "{}", context.render(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("`phantom:9.9`"),
        "{}",
        context.render(&output)
    );

    // A new commit's history is read from git again (and kept in place of the old one).
    context.touch("science/astro/Dockerfile");
    context.commit("touch astro");
    assert_eq!(planned(&context, &["--all"]).len(), 8);
    let text = std::fs::read_to_string(kept_file).unwrap();
    assert!(!text.contains("phantom"));
    assert!(text.contains(context.git(&["rev-parse", "HEAD"]).trim()));
}

/// A shallow clone (as CI makes) deepened later has the same `HEAD` and more history: the kept
/// history of the shallow one is not used for it.
#[test]
fn a_deepened_shallow_clone_reads_its_history_again() {
    let mut context = sciserver();
    context.write(
        "science/essentials-2/sciserver-image.json",
        r#"{"image": "essentials", "version": "2.1", "target": "essentials-v2", "compat": "jupyter"}"#,
    );
    context.commit("bump in place");
    let clone = context.root.with_file_name("clone");
    let url = format!("file://{}", context.root.display());
    let git = |arguments: &[&str]| {
        let status = std::process::Command::new("git")
            .args(arguments)
            .status()
            .unwrap();
        assert!(status.success(), "git {arguments:?}");
    };
    git(&[
        "clone",
        "--quiet",
        "--depth",
        "1",
        &url,
        &clone.to_string_lossy(),
    ]);
    let plan_in_clone = || {
        context
            .strata()
            .current_dir(&clone)
            .args(["plan", "--all", "--quiet"])
            .output()
            .unwrap()
    };
    // One commit of history: the bump's commit adds the definition as 2.1, nothing is orphaned.
    let shallow = plan_in_clone();
    assert!(shallow.status.success(), "{}", context.render(&shallow));
    git(&[
        "-C",
        &clone.to_string_lossy(),
        "fetch",
        "--quiet",
        "--unshallow",
    ]);
    // The whole history shows 2.0 bumped in place.
    let deepened = plan_in_clone();
    assert_eq!(
        deepened.status.code(),
        Some(2),
        "{}",
        context.render(&deepened)
    );
    assert!(String::from_utf8_lossy(&deepened.stderr).contains("`essentials:2.0`"));
}
