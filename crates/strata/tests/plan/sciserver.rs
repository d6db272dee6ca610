//! The SciServer layout: candidates, dependencies, final layers, compat triggers, selectors.

use insta::assert_snapshot;

use crate::{planned, sciserver};

#[test]
fn all_plans_every_layer_parents_first_with_compat_after_final_layers() {
    let context = sciserver();
    assert_snapshot!(context.run(&["plan", "--all", "--repo", "registry.test/images"]), @"
    success: true
    exit_code: 0
    ----- stdout -----
    #  KIND     NAME            REASON                           TAGS
    1  science  base            all                              registry.test/images/sci/base:1.0-1-3cd282c
                                                                 registry.test/images/sci/base:1.0
    2  science  rstudio         all                              registry.test/images/sci/rstudio:1.0-1-3cd282c
                                                                 registry.test/images/sci/rstudio:1.0
    3  science  tools           all                              registry.test/images/sci/tools:1.0-1-3cd282c
                                                                 registry.test/images/sci/tools:1.0
    4  compat   essentials:1.0  science rebuilt (tools)          registry.test/images/rel/essentials:1.0-1-3cd282c
                                                                 registry.test/images/rel/essentials:1.0
    5  science  essentials-v2   all                              registry.test/images/sci/essentials-v2:2.0-1-3cd282c
                                                                 registry.test/images/sci/essentials-v2:2.0
    6  compat   essentials:2.0  science rebuilt (essentials-v2)  registry.test/images/rel/essentials:2.0-1-3cd282c
                                                                 registry.test/images/rel/essentials:2.0
    7  science  astro           all                              registry.test/images/sci/astro:2.5-1-3cd282c
                                                                 registry.test/images/sci/astro:2.5
    8  compat   astro:2.5       science rebuilt (astro)          registry.test/images/rel/astro:2.5-1-3cd282c
                                                                 registry.test/images/rel/astro:2.5

    ----- stderr -----
    plan: 5 science builds and 3 compat builds (--all)
    ");
}

#[test]
fn nothing_changed_plans_nothing() {
    let mut context = sciserver();
    context.write("README.md", "not in an image directory\n");
    context.commit("docs");
    assert_snapshot!(context.run(&["plan"]), @"
    success: true
    exit_code: 0
    ----- stdout -----

    ----- stderr -----
    plan: nothing to build (changes since HEAD^)
    ");
}

#[test]
fn changed_root_layer_rebuilds_its_descendants_and_their_compat_builds() {
    let mut context = sciserver();
    context.touch("science/base/Dockerfile");
    context.commit("change base");
    assert_eq!(
        planned(&context, &[]),
        [
            "science base",
            "science tools",
            "compat essentials:1.0",
            "science essentials-v2",
            "compat essentials:2.0",
            "science astro",
            "compat astro:2.5",
        ]
    );
    assert_snapshot!(context.run(&["plan", "--repo", "r"]), @"
    success: true
    exit_code: 0
    ----- stdout -----
    #  KIND     NAME            REASON                           TAGS
    1  science  base            changed                          r/sci/base:1.0-2-3c2fbdc
                                                                 r/sci/base:1.0
    2  science  tools           parent changed (base)            r/sci/tools:1.0-2-3c2fbdc
                                                                 r/sci/tools:1.0
    3  compat   essentials:1.0  science rebuilt (tools)          r/rel/essentials:1.0-2-3c2fbdc
                                                                 r/rel/essentials:1.0
    4  science  essentials-v2   parent changed (tools)           r/sci/essentials-v2:2.0-2-3c2fbdc
                                                                 r/sci/essentials-v2:2.0
    5  compat   essentials:2.0  science rebuilt (essentials-v2)  r/rel/essentials:2.0-2-3c2fbdc
                                                                 r/rel/essentials:2.0
    6  science  astro           parent changed (essentials-v2)   r/sci/astro:2.5-2-3c2fbdc
                                                                 r/sci/astro:2.5
    7  compat   astro:2.5       science rebuilt (astro)          r/rel/astro:2.5-2-3c2fbdc
                                                                 r/rel/astro:2.5

    ----- stderr -----
    plan: 4 science builds and 3 compat builds (changes since HEAD^)
    ");
}

#[test]
fn non_final_layer_gets_no_compat_build_of_its_own() {
    let mut context = sciserver();
    context.touch("science/base/Dockerfile");
    context.commit("change base");
    let names = planned(&context, &[]);
    // base is not final for essentials:1.0 (tools builds on it): one compat build for 1.0, after tools.
    assert_eq!(
        names
            .iter()
            .filter(|name| *name == "compat essentials:1.0")
            .count(),
        1
    );
    let tools = names
        .iter()
        .position(|name| name == "science tools")
        .unwrap();
    let compat = names
        .iter()
        .position(|name| name == "compat essentials:1.0")
        .unwrap();
    assert!(compat > tools);
}

#[test]
fn working_tree_changes_count_against_head_parent() {
    let mut context = sciserver();
    context.commit("second commit");
    // Not committed: image-builder's `git diff HEAD^ -- dir` sees the work tree.
    context.touch("science/rstudio/Dockerfile");
    assert_eq!(planned(&context, &[]), ["science rstudio"]);
}

#[test]
fn layer_without_compat_gets_no_compat_build() {
    let mut context = sciserver();
    context.touch("science/rstudio/Dockerfile");
    context.commit("change rstudio");
    assert_eq!(planned(&context, &[]), ["science rstudio"]);
}

#[test]
fn changed_compat_layer_rebuilds_final_images_that_include_it_transitively() {
    let mut context = sciserver();
    context.touch("compat/common/startup.sh");
    context.commit("change common");
    assert_snapshot!(context.run(&["plan", "--repo", "r"]), @"
    success: true
    exit_code: 0
    ----- stdout -----
    #  KIND    NAME            REASON                          TAGS
    1  compat  astro:2.5       compat changed (compat/common)  r/rel/astro:2.5-2-e6a2ce0
                                                               r/rel/astro:2.5
    2  compat  essentials:2.0  compat changed (compat/common)  r/rel/essentials:2.0-2-e6a2ce0
                                                               r/rel/essentials:2.0
    3  compat  essentials:1.0  compat changed (compat/common)  r/rel/essentials:1.0-2-e6a2ce0
                                                               r/rel/essentials:1.0

    ----- stderr -----
    plan: 0 science builds and 3 compat builds (changes since HEAD^)
    ");
}

#[test]
fn changed_outer_compat_layer_rebuilds_only_its_users() {
    let mut context = sciserver();
    context.touch("compat/minimal/Dockerfile");
    context.commit("change minimal");
    assert_eq!(planned(&context, &[]), ["compat astro:2.5"]);
}

#[test]
fn compat_change_with_science_change_builds_each_compat_once() {
    let mut context = sciserver();
    context.touch("compat/jupyter/Dockerfile");
    context.touch("science/essentials-2/Dockerfile");
    context.commit("change both");
    assert_eq!(
        planned(&context, &[]),
        [
            "science essentials-v2",
            "compat essentials:2.0",
            "science astro",
            "compat astro:2.5",
            "compat essentials:1.0",
        ]
    );
}

#[test]
fn since_takes_any_reference_and_ranges() {
    let mut context = sciserver();
    let first = context.git(&["rev-parse", "HEAD"]);
    context.touch("science/rstudio/Dockerfile");
    context.commit("change rstudio");
    context.touch("compat/minimal/Dockerfile");
    let second = context.commit("change minimal");
    assert_eq!(
        planned(&context, &["--since", &first]),
        ["science rstudio", "compat astro:2.5"]
    );
    assert_eq!(
        planned(&context, &["--since", &format!("{first}..{second}~1")]),
        ["science rstudio"]
    );
    assert_eq!(
        planned(&context, &["--since", "HEAD~1"]),
        ["compat astro:2.5"]
    );
}

#[test]
fn include_replaces_git_changes_and_ignore_wins() {
    let mut context = sciserver();
    context.touch("science/rstudio/Dockerfile");
    context.commit("change rstudio");
    assert_eq!(
        planned(&context, &["--include", "science/essentials-2"]),
        [
            "science essentials-v2",
            "compat essentials:2.0",
            "science astro",
            "compat astro:2.5",
        ]
    );
    assert_eq!(
        planned(&context, &["--ignore", "science/rstudio"]),
        Vec::<String>::new()
    );
    // An ignored layer is still rebuilt when its parent is.
    assert_eq!(
        planned(
            &context,
            &[
                "--include",
                "science/tools",
                "science/astro",
                "--ignore",
                "science/astro"
            ]
        ),
        [
            "science tools",
            "compat essentials:1.0",
            "science essentials-v2",
            "compat essentials:2.0",
            "science astro",
            "compat astro:2.5"
        ]
    );
    // Included compat directories trigger compat builds.
    assert_eq!(
        planned(&context, &["--include", "compat/minimal/"]),
        ["compat astro:2.5"]
    );
}

#[test]
fn include_paths_are_relative_to_the_current_directory_or_the_root() {
    let context = sciserver();
    let output = context
        .strata()
        .current_dir(context.root.join("science"))
        .args(["plan", "--json", "..", "--include", "rstudio"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", context.render(&output));
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(plan["builds"][0]["name"], "rstudio");
}

#[test]
fn untracked_layers_are_candidates_only_with_untracked() {
    let mut context = sciserver();
    context.commit("second");
    context.write(
        "science/new-layer/sciserver-image.json",
        r#"{"image": "newimage", "compat": "common"}"#,
    );
    context.write("science/new-layer/Dockerfile", "FROM debian:bookworm\n");
    assert_eq!(planned(&context, &[]), Vec::<String>::new());
    assert_eq!(
        planned(&context, &["--untracked"]),
        ["science new-layer", "compat newimage:1.0"]
    );
}

#[test]
fn renamed_files_count_on_both_sides() {
    let mut context = sciserver();
    context.git(&[
        "mv",
        "compat/common/startup.sh",
        "science/rstudio/startup.sh",
    ]);
    context.commit("move");
    let names = planned(&context, &[]);
    assert!(names.contains(&"science rstudio".to_string()), "{names:?}");
    assert!(
        names.contains(&"compat essentials:1.0".to_string()),
        "{names:?}"
    );
}

#[test]
fn versions_compare_as_numbers_not_strings() {
    // image-builder compares "10.0" < "9.0" as strings and refuses this valid chain.
    let mut context = sciserver();
    context.write(
        "science/rstudio/sciserver-image.json",
        r#"{"image": "rstudio", "version": "9.0"}"#,
    );
    context.write(
        "science/rstudio-10/sciserver-image.json",
        r#"{"image": "rstudio", "version": "10.0"}"#,
    );
    context.write("science/rstudio-10/Dockerfile", "FROM sci/rstudio:9.0\n");
    context.commit("rstudio 10");
    assert_eq!(
        planned(&context, &["--all", "--allow-orphan"])
            .iter()
            .filter(|name| name.contains("rstudio"))
            .count(),
        2
    );
}

#[test]
fn same_image_and_version_chain_moves_the_final_layer() {
    // "Add without changing version": a new layer on the final one becomes final itself.
    let mut context = sciserver();
    context.write(
        "science/tools-2/sciserver-image.json",
        r#"{"image": "essentials", "version": "1.0", "compat": "jupyter"}"#,
    );
    context.write("science/tools-2/Dockerfile", "FROM x/sci/tools:1.0\n");
    context.commit("tools 2");
    let names = planned(&context, &[]);
    assert_eq!(names, ["science tools-2", "compat essentials:1.0"]);
    let all = planned(&context, &["--all"]);
    assert_eq!(
        all.iter()
            .filter(|name| *name == "compat essentials:1.0")
            .count(),
        1
    );
    let tools_2 = all
        .iter()
        .position(|name| name == "science tools-2")
        .unwrap();
    assert_eq!(all[tools_2 + 1], "compat essentials:1.0");
}

#[test]
fn stale_version_in_from_is_a_warning_and_an_external_image() {
    let mut context = sciserver();
    context.write("science/rstudio/Dockerfile", "FROM repo/sci/tools:0.9\n");
    context.commit("stale");
    assert_snapshot!(context.run(&["plan"]), @"
    success: true
    exit_code: 0
    ----- stdout -----
    #  KIND     NAME     REASON   TAGS
    1  science  rstudio  changed  containers.repo.sciserver.org/compute-images/sci/rstudio:1.0-2-863c05f
                                  containers.repo.sciserver.org/compute-images/sci/rstudio:1.0

    ----- stderr -----
    warning: `science/rstudio/Dockerfile`: `FROM repo/sci/tools:0.9` names science target `tools` at version `0.9`, which this repository does not define; it is treated as a published image, not a layer to build first
    plan: 1 science build and 0 compat builds (changes since HEAD^)
    ");
}

#[test]
fn json_version_numbers_render_as_python_does() {
    let mut context = sciserver();
    context.write(
        "science/rstudio/sciserver-image.json",
        r#"{"image": "rstudio", "version": 3}"#,
    );
    context.touch("science/rstudio/Dockerfile");
    context.commit("int version");
    let output = context.output(&["plan", "--json", "--repo", "r", "--allow-orphan"]);
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(plan["builds"][0]["tags"][1], "r/sci/rstudio:3");
}

#[test]
fn repo_comes_from_flag_then_environment_then_strata_toml_then_default() {
    let mut context = sciserver();
    context.touch("science/rstudio/Dockerfile");
    context.commit("change");
    let first_tag =
        |context: &strata_test::TestContext, arguments: &[&str], environment: Option<&str>| {
            let mut command = context.strata();
            command.args(["plan", "--json"]).args(arguments);
            if let Some(repo) = environment {
                command.env("STRATA_REPO", repo);
            }
            let output = command.output().unwrap();
            let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            plan["builds"][0]["tags"][1].as_str().unwrap().to_string()
        };
    assert_eq!(
        first_tag(&context, &[], None),
        "containers.repo.sciserver.org/compute-images/sci/rstudio:1.0"
    );
    context.write("strata.toml", "repo = \"toml.test/images\"\n");
    assert_eq!(
        first_tag(&context, &[], None),
        "toml.test/images/sci/rstudio:1.0"
    );
    assert_eq!(
        first_tag(&context, &[], Some("env.test/x")),
        "env.test/x/sci/rstudio:1.0"
    );
    assert_eq!(
        first_tag(&context, &["--repo", "flag.test/y"], Some("env.test/x")),
        "flag.test/y/sci/rstudio:1.0"
    );
}

#[test]
fn repository_in_a_subdirectory_of_the_git_work_tree() {
    let mut context = strata_test::TestContext::new(crate::BINARY);
    let fixture = strata_test::fixture_path("sciserver");
    let copy = std::process::Command::new("cp")
        .arg("-r")
        .arg(&fixture)
        .arg(context.root.join("images"))
        .status()
        .unwrap();
    assert!(copy.success());
    context.commit("import");
    context.touch("images/science/rstudio/Dockerfile");
    context.touch("other/science/rstudio/Dockerfile");
    context.commit("change");
    let output = context.output(&["plan", "--json", "images"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(plan["builds"].as_array().unwrap().len(), 1);
    assert_eq!(plan["builds"][0]["context"], "science/rstudio");
}

#[test]
fn empty_environment_variables_count_as_unset() {
    let mut context = sciserver();
    context.touch("science/rstudio/Dockerfile");
    context.commit("change");
    let output = context
        .strata()
        .env("STRATA_SINCE", "")
        .env("STRATA_REPO", "")
        .args(["plan", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", context.render(&output));
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(plan["since"], "HEAD^");
    assert_eq!(plan["repo"], "containers.repo.sciserver.org/compute-images");
}
