//! The docker-stacks layout: parents from `ARG`-expanded `FROM` lines, variants, overrides.

use insta::assert_snapshot;

use crate::{docker_stacks, planned};

#[test]
fn all_in_dependency_order() {
    let context = docker_stacks();
    assert_snapshot!(context.run(&["plan", "--all", "--repo", "localhost:5000/jupyter"]), @"
    success: true
    exit_code: 0
    ----- stdout -----
    #  KIND   NAME                      REASON  TAGS
    1  image  docker-stacks-foundation  all     localhost:5000/jupyter/docker-stacks-foundation:5ef4af0cf70b
                                                localhost:5000/jupyter/docker-stacks-foundation:latest
    2  image  base-notebook             all     localhost:5000/jupyter/base-notebook:5ef4af0cf70b
                                                localhost:5000/jupyter/base-notebook:latest
    3  image  minimal-notebook          all     localhost:5000/jupyter/minimal-notebook:5ef4af0cf70b
                                                localhost:5000/jupyter/minimal-notebook:latest
    4  image  pinned-notebook           all     localhost:5000/jupyter/pinned-notebook:5ef4af0cf70b
                                                localhost:5000/jupyter/pinned-notebook:latest
    5  image  scipy-notebook            all     localhost:5000/jupyter/scipy-notebook:5ef4af0cf70b
                                                localhost:5000/jupyter/scipy-notebook:latest
    6  image  pytorch-notebook          all     localhost:5000/jupyter/pytorch-notebook:5ef4af0cf70b
                                                localhost:5000/jupyter/pytorch-notebook:latest
    7  image  pytorch-notebook/cuda12   all     localhost:5000/jupyter/pytorch-notebook:cuda12-5ef4af0cf70b
                                                localhost:5000/jupyter/pytorch-notebook:cuda12-latest
    8  image  tools-notebook            all     localhost:5000/jupyter/tools-notebook:5ef4af0cf70b
                                                localhost:5000/jupyter/tools-notebook:latest

    ----- stderr -----
    plan: 8 image builds (--all)
    ");
}

#[test]
fn change_rebuilds_descendants_including_variants() {
    let mut context = docker_stacks();
    context.touch("images/scipy-notebook/Dockerfile");
    context.commit("change");
    assert_eq!(
        planned(&context, &[]),
        [
            "image scipy-notebook",
            "image pytorch-notebook",
            "image pytorch-notebook/cuda12"
        ]
    );
}

#[test]
fn variant_directory_change_rebuilds_only_the_variant() {
    let mut context = docker_stacks();
    context.touch("images/pytorch-notebook/cuda12/README.md");
    context.commit("change");
    assert_eq!(planned(&context, &[]), ["image pytorch-notebook/cuda12"]);
}

#[test]
fn other_stages_and_copy_from_are_dependencies() {
    let mut context = docker_stacks();
    context.touch("images/base-notebook/Dockerfile");
    context.commit("change");
    let names = planned(&context, &[]);
    let tools = names
        .iter()
        .position(|name| name == "image tools-notebook")
        .expect("tools-notebook rebuilt");
    let minimal = names
        .iter()
        .position(|name| name == "image minimal-notebook")
        .unwrap();
    assert!(tools > minimal);
    // Pinned by digest: not rebuilt.
    assert!(!names.contains(&"image pinned-notebook".to_string()));
}

#[test]
fn changes_outside_image_directories_rebuild_nothing() {
    let mut context = docker_stacks();
    context.touch("docs/index.md");
    context.commit("docs");
    assert_eq!(planned(&context, &[]), Vec::<String>::new());
}

#[test]
fn from_arg_is_pointed_at_the_parent_tag() {
    let mut context = docker_stacks();
    context.touch("images/base-notebook/Dockerfile");
    context.commit("change");
    let output = context.output(&["plan", "--json", "--repo", "localhost:5000/me"]);
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let build = &plan["builds"][0];
    assert_eq!(build["name"], "base-notebook");
    assert_eq!(
        build["from"],
        "localhost:5000/me/docker-stacks-foundation:latest"
    );
    assert_eq!(
        build["build_args"]["BASE_IMAGE"],
        "localhost:5000/me/docker-stacks-foundation:latest"
    );
    assert_eq!(build["tags"][1], "localhost:5000/me/base-notebook:latest");
}

#[test]
fn strata_toml_overrides_parent_and_build_args() {
    let mut context = docker_stacks();
    context.write(
        "strata.toml",
        "layout = \"docker-stacks\"\n[images.docker-stacks-foundation]\nparent = \"pinned-notebook\"\n[images.base-notebook.build-args]\nOWNER = \"someone-else\"\n",
    );
    context.touch("images/pinned-notebook/Dockerfile");
    context.commit("override");
    let names = planned(&context, &[]);
    assert_eq!(names[0], "image pinned-notebook");
    assert_eq!(names[1], "image docker-stacks-foundation");
    // base-notebook's FROM now names someone-else/docker-stacks-foundation: still matched by name.
    assert!(names.contains(&"image base-notebook".to_string()));
}

#[test]
fn unknown_parent_in_strata_toml() {
    let context = docker_stacks();
    context.write("strata.toml", "[images.base-notebook]\nparent = \"nope\"\n");
    assert_snapshot!(context.run(&["plan", "--all"]), @"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: cannot read the image repository at `.`
      Caused by: `strata.toml` sets the parent of `base-notebook` to `nope`, which is not an image of the repository
    hint: run `strata graph` to list the repository's images
    ");
}
