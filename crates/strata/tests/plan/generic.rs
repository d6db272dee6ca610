//! The generic layout on the shape of sciserver/sciserver-compute-images: every tree of
//! Dockerfiles beside the SciServer layers, planned together.

use insta::assert_snapshot;

use crate::{compute_images, planned, BINARY};
use strata_test::TestContext;

#[test]
fn a_change_under_heasoft_rebuilds_it_and_the_five_after_it() {
    let mut context = compute_images();
    context.touch("heasarc/heasoft/Dockerfile");
    context.commit("heasoft: new release");
    assert_eq!(
        planned(&context, &[]),
        [
            "image heasarc/heasoft",
            "image heasarc/ciao",
            "image heasarc/fermi",
            "image heasarc/spex",
            "image heasarc/xmmsas",
            "image heasarc/heasarc",
        ]
    );
}

#[test]
fn build_json_versions_tags_and_build_args() {
    let mut context = compute_images();
    context.touch("heasarc/ciao/Dockerfile");
    context.commit("ciao");
    let output = context.output(&["plan", "--json", "--repo", "localhost:5000/heasarc"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let ciao = &plan["builds"][0];
    assert_eq!(ciao["name"], "heasarc/ciao");
    assert_eq!(ciao["version"], "4.17");
    let hash = plan["commit"]["short_hash"].as_str().unwrap();
    let count = plan["commit"]["count"].as_u64().unwrap();
    assert_eq!(
        ciao["tags"],
        serde_json::json!([
            format!("localhost:5000/heasarc/ciao:4.17-{count}-{hash}"),
            "localhost:5000/heasarc/ciao:v4.17",
            "localhost:5000/heasarc/ciao:latest",
        ])
    );
    // build.py passes every key of the image's entry, version included, as a build argument.
    assert_eq!(ciao["build_args"]["version"], "4.17");
    assert_eq!(ciao["build_args"]["heasoft_version"], "6.35");
    assert_eq!(ciao["build_args"]["pyversion"], "3.11");
    assert_eq!(ciao["parent"]["name"], "heasarc/heasoft");
    assert_eq!(
        ciao["parent"]["tag"],
        "localhost:5000/heasarc/heasoft:latest"
    );
    assert_eq!(
        ciao["labels"]["org.opencontainers.image.version"],
        format!("4.17-{count}-{hash}")
    );
    assert_eq!(ciao["labels"]["org.opencontainers.image.title"], "ciao");
}

#[test]
fn build_json_change_rebuilds_the_whole_tree() {
    let mut context = compute_images();
    let text = std::fs::read_to_string(context.root.join("heasarc/build.json")).unwrap();
    context.write(
        "heasarc/build.json",
        &text.replace("\"2.2.0\"", "\"2.3.0\""),
    );
    context.commit("fermi 2.3.0");
    let builds = planned(&context, &[]);
    assert_eq!(builds.len(), 9, "{builds:?}");
    assert!(builds
        .iter()
        .all(|build| build.starts_with("image heasarc/")));
}

#[test]
fn generic_and_sciserver_builds_in_one_plan() {
    let mut context = compute_images();
    context.touch("science/nist/Dockerfile");
    context.touch("bioconductor/3.14/Dockerfile");
    context.commit("two families");
    assert_eq!(
        planned(&context, &[]),
        [
            "science nist-basic",
            "compat nist-basic:1.0",
            "image bioconductor/3.14",
            "image c-moor/bioc_3.14",
        ]
    );
}

#[test]
fn include_selects_a_generic_directory() {
    let context = compute_images();
    assert_eq!(
        planned(
            &context,
            &["--include", "ubuntu-22.04/sciserver-mambaforge"]
        ),
        [
            "image ubuntu-22.04/sciserver-mambaforge",
            "image ubuntu-22.04/sciserver-essentials",
        ]
    );
}

#[test]
fn all_plan() {
    let context = compute_images();
    let output = context.output(&["plan", "--all", "--repo", "localhost:5000/sciserver"]);
    assert_snapshot!(context.render(&output));
}

#[test]
fn an_ambiguous_parent_lists_the_candidates_and_the_line_that_settles_it() {
    let mut context = compute_images();
    let config = std::fs::read_to_string(context.root.join("strata.toml")).unwrap();
    let cut = config.find("# `FROM sciserver-base`").unwrap();
    context.write("strata.toml", &config[..cut]);
    context.commit("no parent setting");
    assert_snapshot!(context.run(&["plan", "--all"]), @r#"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: cannot read the image repository at `.`
      Caused by: `sciserver-rstudio/2022.07.2-576/Dockerfile`: `FROM sciserver-base` could name any of 5 images of this repository: essentials/3.0/sciserver-base, flow-cytometry/sciserver-base, heasarc/sciserver-base, ubuntu-20.04/sciserver-base, ubuntu-22.04/sciserver-base
    hint: say which in `strata.toml`:
      [images."sciserver-rstudio/2022.07.2-576"]
      parent = "essentials/3.0/sciserver-base"   # or one of the others; `parent = false` for an external image
    "#);
}

#[test]
fn nearest_image_wins_and_a_bare_tag_matches_within_its_tree() {
    let context = compute_images();
    let output = context.output(&["graph", "--format", "json"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let graph: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let parent = |name: &str| {
        graph["images"]
            .as_array()
            .unwrap()
            .iter()
            .find(|image| image["name"] == name)
            .unwrap_or_else(|| panic!("{name}"))["parent"]
            .clone()
    };
    // `FROM sciserver-jupyter:latest`: three trees have one; heasarc's own is nearest.
    assert_eq!(parent("heasarc/heasoft"), "heasarc/sciserver-jupyter");
    // `FROM sciserver-base:ubuntu-20.04`: no image has that tag; the one in the same tree.
    assert_eq!(
        parent("ubuntu-20.04/sciserver-jupyter"),
        "ubuntu-20.04/sciserver-base"
    );
    // A registry path: its last component and exact tag.
    assert_eq!(
        parent("bioconductor/3.14"),
        "sciserver-rstudio/2021.09.2_382"
    );
    assert_eq!(parent("pg2021/bioc_3.13"), "c-moor/bioc_3.13");
    // Not in the repository: external.
    assert_eq!(
        parent("sciserver-rstudio/2021.09.0_351"),
        serde_json::Value::Null
    );
    assert_eq!(parent("nist-basic"), serde_json::Value::Null);
}

#[test]
fn without_configuration_the_other_trees_are_reported() {
    let mut context = TestContext::from_fixture(BINARY, "sciserver-compute-images");
    context.remove("strata.toml");
    context.commit("no settings");
    let output = context.output(&["graph"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("other directories hold Dockerfiles")
            && stderr.contains("layout = [\"sciserver\", \"generic\"]"),
        "{stderr}"
    );
}

#[test]
fn init_writes_the_layouts_the_build_json_tree_and_what_it_could_not_decide() {
    let mut context = compute_images();
    context.remove("strata.toml");
    context.commit("no settings");
    let output = context.output(&["init"]);
    assert_eq!(output.status.code(), Some(1), "{}", context.render(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("undecided: `sciserver-rstudio/2022.07.2-576/Dockerfile`"),
        "{stderr}"
    );
    let written = std::fs::read_to_string(context.root.join("strata.toml")).unwrap();
    assert_snapshot!(written);
    // Refused over an existing file without --force.
    let again = context.output(&["init"]);
    assert_eq!(again.status.code(), Some(2), "{}", context.render(&again));
    // Settling the one undecided parent is all the repository needs.
    context.write(
        "strata.toml",
        &written.replace(
            "# parent = \"ubuntu-22.04/sciserver-base\"",
            "parent = \"ubuntu-22.04/sciserver-base\"",
        ),
    );
    let graph = context.output(&["graph", "--json"]);
    assert!(graph.status.success(), "{}", context.render(&graph));
    let graph: serde_json::Value = serde_json::from_slice(&graph.stdout).unwrap();
    assert_eq!(graph["images"].as_array().unwrap().len(), 35);
}

#[test]
fn docker_stacks_init_maps_tests_by_image_to_host_tests() {
    let mut context = crate::docker_stacks();
    context.write(
        "tests/by_image/base-notebook/test_python.py",
        "def test(): pass\n",
    );
    context.commit("tests");
    let output = context.output(&["init", "--dry-run"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("[[images.\"base-notebook\".tests]]\nname = \"pytest tests/by_image/base-notebook\"\nhost = [\"python3\", \"-m\", \"pytest\", \"-m\", \"not info\", \"tests/by_image/base-notebook\"]"),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("STRATA_IMAGE"));
}

#[test]
fn dockerfile_variants_versions_from_strata_toml_and_bad_templates() {
    let mut context = TestContext::new(BINARY);
    context.write("app/Dockerfile", "FROM debian:12\n");
    context.write("app/Dockerfile.gpu", "FROM app:2.1\n");
    context.write(
        "strata.toml",
        "[generic]\ndockerfiles = [\"Dockerfile\", \"Dockerfile.*\"]\n[images.app]\nversion = \"2.1\"\n",
    );
    context.commit("variants");
    let output = context.output(&["plan", "--all", "--json", "--repo", "registry.test/lab"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let builds = plan["builds"].as_array().unwrap();
    assert_eq!(builds[0]["name"], "app");
    assert_eq!(builds[0]["tags"][1], "registry.test/lab/app:2.1");
    assert_eq!(builds[1]["name"], "app/Dockerfile.gpu");
    assert_eq!(builds[1]["variant"], "gpu");
    assert_eq!(
        builds[1]["parent"]["name"], "app",
        "`FROM app:2.1` is the image beside it"
    );
    assert_eq!(builds[1]["tags"][1], "registry.test/lab/app:gpu");
    assert_eq!(plan["layouts"], serde_json::json!(["generic"]));

    context.write(
        "strata.toml",
        "[images.app]\ntags = [\"{name}:{release}\"]\n",
    );
    context.commit("a template naming nothing known");
    assert_snapshot!(context.run(&["plan", "--all"]), @"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: cannot read the image repository at `.`
      Caused by: `strata.toml`: tag template `{name}:{release}` of image `app`: `{release}` is not a variable (known: {name}, {version}, {variant}, {label}, {commit}, {short-commit}, {count})
    hint: tag templates may name {name}, {version}, {variant}, {label}, {commit}, {short-commit} and {count}; give the image a `version` in `strata.toml`, or a template it can fill
    ");
}

#[test]
fn a_build_json_entry_without_an_image_is_a_warning_naming_the_file() {
    let mut context = compute_images();
    let config = std::fs::read_to_string(context.root.join("strata.toml")).unwrap();
    // A tree written with a trailing slash is the same tree.
    context.write(
        "strata.toml",
        &config.replace("[generic.trees.heasarc]", "[generic.trees.\"heasarc/\"]"),
    );
    let json = std::fs::read_to_string(context.root.join("heasarc/build.json")).unwrap();
    context.write(
        "heasarc/build.json",
        &json.replacen('{', "{\n    \"ixpe\": {\"version\": \"1.0\"},", 1),
    );
    context.commit("an image not there yet");
    let output = context.output(&["graph"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr
            .contains("`heasarc/build.json` describes `ixpe`, which is no image under `heasarc/`"),
        "{stderr}"
    );
}

/// `FROM someorg/<image>:<tag>` naming an image of the tree by a tag it does not carry: graph
/// warns that the child builds on the published image; init writes the namespace and the tag
/// that link them (the repository read again with them has the child on its parent), or, when
/// several images have the name, an UNDECIDED block.
#[test]
fn init_links_images_named_under_a_namespace_and_graph_warns_of_near_misses() {
    let mut context = TestContext::new(BINARY);
    context.write("base/Dockerfile", "FROM ubuntu:22.04\n");
    context.write("child/Dockerfile", "FROM someorg/base:2.0\n");
    context.write("tools/base2/Dockerfile", "FROM ubuntu:22.04\n");
    context.write("tools/user/Dockerfile", "FROM team.example/tools/base2:1\n");
    context.commit("a tree whose images name each other through namespaces");

    let graph = context.output(&["graph", "--json"]);
    assert!(graph.status.success(), "{}", context.render(&graph));
    let stderr = String::from_utf8_lossy(&graph.stderr);
    assert!(
        stderr.contains("`child/Dockerfile`: `FROM someorg/base:2.0` builds on the published image, though `base` (tagged `base:latest`)"),
        "{stderr}"
    );

    let init = context.output(&["init"]);
    assert!(init.status.success(), "{}", context.render(&init));
    let written = fs_err::read_to_string(context.root.join("strata.toml")).unwrap();
    assert!(
        written.ends_with("]\n") && !written.ends_with("\n\n"),
        "{written:?}"
    );
    assert!(written.contains("\nrepo = \"someorg\"\n"), "{written}");
    assert!(
        written.contains("[generic.trees.\"tools\"]\nrepo = \"team.example/tools\"\n"),
        "{written}"
    );
    assert!(
        written.contains("[images.\"base\"]\ntags = [\"{name}:latest\", \"{name}:2.0\"]\n"),
        "{written}"
    );
    // With the settings init wrote, both children are built on the repository's images, which
    // carry the tags the children's `FROM` lines name.
    context.commit("init");
    let plan = context.output(&["plan", "--all", "--json"]);
    assert!(plan.status.success(), "{}", context.render(&plan));
    assert!(!String::from_utf8_lossy(&plan.stderr).contains("published image"));
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let build = |name: &str| {
        plan["builds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|build| build["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(build("child")["parent"]["name"], "base");
    assert!(build("base")["tags"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("someorg/base:2.0")));
    assert_eq!(build("tools/user")["parent"]["name"], "tools/base2");
    assert!(build("tools/base2")["tags"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("team.example/tools/base2:1")));

    // A second image called `base`: which one the child means is the maintainers' call.
    context.remove("strata.toml");
    context.write("other/base/Dockerfile", "FROM ubuntu:22.04\n");
    context.commit("another base");
    let init = context.output(&["init", "--dry-run"]);
    assert_eq!(init.status.code(), Some(1), "{}", context.render(&init));
    let proposed = String::from_utf8_lossy(&init.stdout);
    assert!(
        proposed.contains("# UNDECIDED: `FROM someorg/base:2.0` in `child/Dockerfile`")
            && proposed.contains(
                "# [generic.trees.\"other\"]\n# repo = \"someorg\"\n# [images.\"other/base\"]"
            )
            && proposed
                .contains("# [images.\"base\"]\n# tags = [\"{name}:latest\", \"{name}:2.0\"]"),
        "{proposed}"
    );
    // Written as proposed, the file reads (the undecided lines are comments).
    let parsed: Result<toml::Value, _> = toml::from_str(&proposed);
    assert!(parsed.is_ok(), "{parsed:?}");
}
