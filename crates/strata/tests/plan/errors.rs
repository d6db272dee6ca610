//! Every error image-builder raises, and the ones it should: each names the file, directory or
//! image, exits 2, and says what to do next.

use insta::assert_snapshot;
use strata_test::TestContext;

use crate::{sciserver, BINARY};

fn broken(change: impl FnOnce(&TestContext)) -> String {
    let context = sciserver();
    change(&context);
    context.run(&["plan", "--all"])
}

#[test]
fn duplicate_targets() {
    assert_snapshot!(broken(|context| {
        context.write("science/tools/sciserver-image.json", r#"{"image": "essentials", "target": "base"}"#);
    }), @"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: cannot read the image repository at `.`
      Caused by: duplicate target `base`: defined by both `science/base` and `science/tools`
    hint: give one of them a distinct `target` in its `sciserver-image.json`
    ");
}

#[test]
fn self_dependency() {
    assert_snapshot!(broken(|context| {
        context.write("science/rstudio/Dockerfile", "FROM x/sci/rstudio:1.0\n");
    }), @"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: cannot read the image repository at `.`
      Caused by: science layer `science/rstudio` depends on itself: its `FROM` names its own tag `rstudio:1.0`
    hint: a layer's `FROM` must name another layer's `sci/<target>:<version>` tag
    ");
}

#[test]
fn dependency_on_a_higher_version_of_the_same_image() {
    assert_snapshot!(broken(|context| {
        context.write("science/base/sciserver-image.json", r#"{"image": "essentials", "version": "0.9", "compat": "jupyter"}"#);
        context.write("science/base/Dockerfile", "FROM sci/essentials-v2:2.0\n");
        context.write("science/tools/Dockerfile", "FROM debian:bookworm\n");
    }), @"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: cannot read the image repository at `.`
      Caused by: science layer `science/base` (`essentials:0.9`) depends on `science/essentials-2`, a higher version (`essentials:2.0`) of the same image
    hint: build the higher version on top of the lower one, not the other way round
    ");
}

#[test]
fn no_single_final_layer() {
    assert_snapshot!(broken(|context| {
        // Two essentials 1.0 layers, neither built on the other.
        context.write("science/tools/Dockerfile", "FROM debian:bookworm\n");
    }), @"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: cannot read the image repository at `.`
      Caused by: no single final science layer for `essentials:1.0`: `science/base`, `science/tools` are all final (none is built on another)
    hint: layers of one image and version must form a chain: exactly one of them must have no other layer of the same image and version built on it
    ");
}

#[test]
fn dependency_cycle_across_images() {
    assert_snapshot!(broken(|context| {
        context.write("science/rstudio/Dockerfile", "FROM sci/astro:2.5\n");
        context.write("science/base/Dockerfile", "FROM sci/rstudio:1.0\n");
    }), @"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: cannot read the image repository at `.`
      Caused by: circular dependency between images: `science/astro/Dockerfile` → `science/essentials-2/Dockerfile` (essentials-v2) → `science/tools/Dockerfile` → `science/base/Dockerfile` → `science/rstudio/Dockerfile` → `science/astro/Dockerfile`
    ");
}

#[test]
fn circular_compat_includes() {
    assert_snapshot!(broken(|context| {
        context.write("compat/common/sciserver-image.json", r#"{"includes": ["minimal"]}"#);
    }), @"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: cannot read the image repository at `.`
      Caused by: `compat/jupyter/sciserver-image.json`: circular compat includes: common → minimal → jupyter → common
    ");
}

#[test]
fn unknown_compat_include() {
    assert_snapshot!(broken(|context| {
        context.write("compat/jupyter/sciserver-image.json", r#"{"includes": ["commons"]}"#);
    }), @"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: cannot read the image repository at `.`
      Caused by: `compat/jupyter/sciserver-image.json`: compat layer `jupyter` includes `commons`, which is not a compat layer (known: common, jupyter, minimal)
    ");
}

#[test]
fn unknown_compat_layer() {
    assert_snapshot!(broken(|context| {
        context.write("science/rstudio/sciserver-image.json", r#"{"image": "rstudio", "compat": "rstudio-ui"}"#);
    }), @"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: cannot read the image repository at `.`
      Caused by: science layer `science/rstudio` uses compat layer `rstudio-ui`, which does not exist under `compat/` (known: common, jupyter, minimal)
    ");
}

#[test]
fn missing_science_dockerfile() {
    assert_snapshot!(broken(|context| {
        context.remove("science/rstudio/Dockerfile");
    }), @"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: cannot read the image repository at `.`
      Caused by: missing Dockerfile for science layer `science/rstudio`: expected `science/rstudio/Dockerfile`
    hint: add the Dockerfile, or remove the directory's `sciserver-image.json`
    ");
}

#[test]
fn missing_compat_dockerfile() {
    assert_snapshot!(broken(|context| {
        context.remove("compat/minimal/Dockerfile");
    }), @"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: cannot read the image repository at `.`
      Caused by: missing Dockerfile for compat layer `compat/minimal`: expected `compat/minimal/Dockerfile`
    hint: add the Dockerfile, or remove the directory's `sciserver-image.json`
    ");
}

#[test]
fn invalid_json_points_at_line_and_column() {
    assert_snapshot!(broken(|context| {
        context.write("science/astro/sciserver-image.json", "{\n  \"image\": \"astro\",\n  \"version\": 2.5,\n}\n");
    }), @"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: cannot read the image repository at `.`
      Caused by: invalid JSON in `science/astro/sciserver-image.json`: trailing comma
         --> science/astro/sciserver-image.json:4:1
          |
        4 | }
          | ^
    ");
}

#[test]
fn wrong_json_type_points_at_the_value() {
    assert_snapshot!(broken(|context| {
        context.write("science/astro/sciserver-image.json", "{\n  \"image\": [\"astro\"]\n}\n");
    }), @r#"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: cannot read the image repository at `.`
      Caused by: invalid JSON in `science/astro/sciserver-image.json`: invalid type: sequence, expected a string
         --> science/astro/sciserver-image.json:2:11
          |
        2 |   "image": ["astro"]
          |           ^
    "#);
}

#[test]
fn missing_image_field() {
    assert_snapshot!(broken(|context| {
        context.write("science/astro/sciserver-image.json", "{\"version\": \"1.0\"}\n");
    }), @r#"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: cannot read the image repository at `.`
      Caused by: invalid JSON in `science/astro/sciserver-image.json`: missing field `image`
         --> science/astro/sciserver-image.json:1:18
          |
        1 | {"version": "1.0"}
          |                  ^
    "#);
}

#[test]
fn invalid_version_and_names() {
    assert_snapshot!(broken(|context| {
        context.write("science/astro/sciserver-image.json", r#"{"image": "astro", "version": "2.5-beta"}"#);
    }), @"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: cannot read the image repository at `.`
      Caused by: invalid version `2.5-beta` for `science/astro`: a version is digits and dots, such as `2.4`
    ");
    assert_snapshot!(broken(|context| {
        context.write("science/astro/sciserver-image.json", r#"{"image": "Astro"}"#);
    }), @"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: cannot read the image repository at `.`
      Caused by: invalid image `Astro` for `science/astro`: it becomes part of an image name: lowercase letters and digits, with single `-`, `_` or `.` between them
    ");
}

#[test]
fn bad_from_line_names_file_and_line() {
    assert_snapshot!(broken(|context| {
        context.write("science/astro/Dockerfile", "ARG BASE\n\nFROM $BASE AS x y\n");
    }), @"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: cannot read the image repository at `.`
      Caused by: in image `science/astro`
      Caused by: bad `FROM` instruction: expected `FROM [--platform=...] IMAGE [AS NAME]`
         --> science/astro/Dockerfile:3
          |
        3 | FROM $BASE AS x y
    ");
}

#[test]
fn unterminated_heredoc_names_file_and_line_instead_of_swallowing_the_next_from() {
    assert_snapshot!(broken(|context| {
        context.write(
            "science/astro/Dockerfile",
            "FROM sci/tools:1.0\nRUN <<EOF\necho astro\nFROM sci/base:1.0\n",
        );
    }), @"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: cannot read the image repository at `.`
      Caused by: in image `science/astro`
      Caused by: the heredoc `<<EOF` opened on line 2 is never closed: no line is exactly `EOF`
         --> science/astro/Dockerfile:2
          |
        2 | RUN <<EOF
    ");
}

#[test]
fn definition_files_that_are_not_objects_or_are_empty() {
    assert_snapshot!(broken(|context| {
        context.write("science/astro/sciserver-image.json", "[1, 2]\n");
    }), @r#"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: cannot read the image repository at `.`
      Caused by: invalid JSON in `science/astro/sciserver-image.json`: expected a JSON object, such as `{"image": "essentials", "version": "2.4"}`
         --> science/astro/sciserver-image.json:1:1
          |
        1 | [1, 2]
          | ^
    "#);
    assert_snapshot!(broken(|context| {
        context.write("science/astro/sciserver-image.json", "");
    }), @"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: cannot read the image repository at `.`
      Caused by: invalid JSON in `science/astro/sciserver-image.json`: EOF while parsing a value
         --> science/astro/sciserver-image.json:1:1
          |
        1 | 
          | ^
    ");
}

#[test]
fn a_forced_layout_that_finds_no_image() {
    assert_snapshot!(broken(|context| {
        context.write("strata.toml", "layout = \"docker-stacks\"\n");
    }), @"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: cannot read the image repository at `.`
      Caused by: the docker-stacks layout finds no image in `.`: nothing matches `images/*/Dockerfile`
    hint: check `layout` (and `images-dir`) in `strata.toml`, or remove `layout` to let strata detect it
    ");
}

#[test]
fn unknown_include_directory() {
    let context = sciserver();
    assert_snapshot!(context.run(&["plan", "--include", "science/nope"]), @"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: `science/nope` is not an image directory of this repository
    hint: `--include` and `--ignore` take image directories, relative to the current directory or the repository root: compat/common, compat/jupyter, compat/minimal, science/astro, science/base, science/essentials-2, science/rstudio, science/tools
    ");
}

#[test]
fn bad_since_reference() {
    let context = sciserver();
    assert_snapshot!(context.run(&["plan", "--since", "no-such-branch"]), @"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: `no-such-branch` is not a commit of this repository
    hint: check the `--since` reference (`git log --oneline` lists commits); on a repository with one commit, use `--all`
    ");
}

#[test]
fn not_an_image_repository() {
    let context = TestContext::new(BINARY);
    assert_snapshot!(context.run(&["plan"]), @"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: cannot read the image repository at `.`
      Caused by: no image repository found at `.`
    hint: an image repository has `science/*/sciserver-image.json` (SciServer layout), `images/*/Dockerfile` (docker-stacks layout) or any `Dockerfile` (generic layout); pass its path, or set `layout` in `strata.toml`
    ");
}

#[test]
fn not_a_git_repository() {
    let context = sciserver();
    context.remove(".git");
    assert_snapshot!(context.run(&["plan", "--all"]), @"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: `.` is not inside a git repository
    hint: strata tags images with the commit they are built from: commit the repository first
    ");
}

#[test]
fn invalid_strata_toml() {
    assert_snapshot!(broken(|context| {
        context.write("strata.toml", "repo = \"r\"\n[images.nope]\nparent = \"x\"\n");
    }), @"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: cannot read the image repository at `.`
      Caused by: `strata.toml` configures image `nope`, which is not in the repository (known: astro, base, essentials-v2, rstudio, tools)
    hint: run `strata graph` to list the repository's images
    ");
    assert_snapshot!(broken(|context| {
        context.write("strata.toml", "layout = \"flat\"\n");
    }), @r#"
    success: false
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: cannot read the image repository at `.`
      Caused by: invalid `strata.toml`
      Caused by: TOML parse error at line 1, column 10
          |
        1 | layout = "flat"
          |          ^^^^^^
        unknown variant `flat`, expected one of `sciserver`, `docker-stacks`, `generic`
    "#);
}

#[test]
fn usage_errors_exit_2() {
    let context = sciserver();
    let output = context.output(&["plan", "--all", "--since", "HEAD~1"]);
    assert_eq!(output.status.code(), Some(2));
}
