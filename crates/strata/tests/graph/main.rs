//! `strata graph` in every format.

use insta::assert_snapshot;
use strata_test::TestContext;

const BINARY: &str = env!("CARGO_BIN_EXE_strata");

#[test]
fn sciserver_tree() {
    let context = TestContext::from_fixture(BINARY, "sciserver");
    assert_snapshot!(context.run(&["graph"]), @"
    success: true
    exit_code: 0
    ----- stdout -----
    debian:bookworm
    └── base:1.0  (image essentials 1.0)
        └── tools:1.0  (image essentials 1.0, final, compat jupyter)
            └── essentials-v2:2.0  (image essentials 2.0, final, compat jupyter)
                └── astro:2.5  (image astro 2.5, final, compat minimal)  [also pulls golang:1.22]
    rocker/r-ver:4.3
    └── rstudio:1.0  (image rstudio 1.0, final)
    compat layers
    ├── common
    ├── jupyter  (includes common)
    └── minimal  (includes common, jupyter)

    ----- stderr -----
    ");
}

#[test]
fn docker_stacks_tree_dot_and_mermaid() {
    let context = TestContext::from_fixture(BINARY, "docker-stacks");
    assert_snapshot!(context.run(&["graph"]), @"
    success: true
    exit_code: 0
    ----- stdout -----
    quay.io/jupyter/base-notebook@sha256:0000000000000000000000000000000000000000000000000000000000000000
    └── pinned-notebook
    ubuntu:24.04
    └── docker-stacks-foundation
        └── base-notebook
            └── minimal-notebook
                ├── scipy-notebook
                │   ├── pytorch-notebook
                │   └── pytorch-notebook/cuda12
                └── tools-notebook  [also reads base-notebook]

    ----- stderr -----
    ");
    assert_snapshot!(context.run(&["graph", "--format", "dot"]), @r#"
    success: true
    exit_code: 0
    ----- stdout -----
    digraph images {
      rankdir=LR;
      node [shape=box];
      "base-notebook";
      "docker-stacks-foundation";
      "minimal-notebook";
      "pinned-notebook";
      "pytorch-notebook";
      "pytorch-notebook/cuda12";
      "scipy-notebook";
      "tools-notebook";
      "ubuntu:24.04" [style=dashed];
      "quay.io/jupyter/base-notebook@sha256:0000000000000000000000000000000000000000000000000000000000000000" [style=dashed];
      "docker-stacks-foundation" -> "base-notebook";
      "ubuntu:24.04" -> "docker-stacks-foundation";
      "base-notebook" -> "minimal-notebook";
      "quay.io/jupyter/base-notebook@sha256:0000000000000000000000000000000000000000000000000000000000000000" -> "pinned-notebook";
      "scipy-notebook" -> "pytorch-notebook";
      "scipy-notebook" -> "pytorch-notebook/cuda12";
      "minimal-notebook" -> "scipy-notebook";
      "minimal-notebook" -> "tools-notebook";
      "base-notebook" -> "tools-notebook" [style=dotted];
    }

    ----- stderr -----
    "#);
    assert_snapshot!(context.run(&["graph", "--format", "mermaid"]), @r#"
    success: true
    exit_code: 0
    ----- stdout -----
    graph TD
      x0(["ubuntu:24.04"])
      x1(["quay.io/jupyter/base-notebook@sha256:0000000000000000000000000000000000000000000000000000000000000000"])
      n0["base-notebook"]
      n1["docker-stacks-foundation"]
      n2["minimal-notebook"]
      n3["pinned-notebook"]
      n4["pytorch-notebook"]
      n5["pytorch-notebook/cuda12"]
      n6["scipy-notebook"]
      n7["tools-notebook"]
      n1 --> n0
      x0 --> n1
      n0 --> n2
      x1 --> n3
      n6 --> n4
      n6 --> n5
      n2 --> n6
      n2 --> n7
      n0 -.-> n7

    ----- stderr -----
    "#);
}

#[test]
fn json() {
    let context = TestContext::from_fixture(BINARY, "sciserver");
    let output = context.output(&["graph", "--json"]);
    let graph: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(graph["schema_version"], 1);
    let tools = graph["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|image| image["name"] == "tools")
        .unwrap();
    assert_eq!(tools["parent"], "base");
    assert_eq!(tools["final"], true);
    let minimal = graph["compat_layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|compat| compat["name"] == "minimal")
        .unwrap();
    assert_eq!(
        minimal["expanded_includes"],
        serde_json::json!(["common", "jupyter"])
    );
}

#[test]
fn bundled_example_plans() {
    let context = TestContext::from_fixture(
        BINARY,
        &strata_test::workspace_root()
            .join("examples/sciserver")
            .display()
            .to_string(),
    );
    let output = context.output(&["plan", "--all", "--json"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let kinds: Vec<&str> = plan["builds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|build| build["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["science", "science", "compat", "science", "compat"]);
}

#[test]
fn sciserver_dot_and_mermaid_show_compat_layers() {
    let context = TestContext::from_fixture(BINARY, "sciserver");
    let dot = context.output(&["graph", "--format", "dot"]);
    let dot = String::from_utf8_lossy(&dot.stdout);
    for line in [
        "\"compat/minimal\" [shape=note];",
        "\"compat/jupyter\" -> \"compat/minimal\" [label=includes];",
        "\"astro\" -> \"compat/minimal\" [style=dashed, label=compat];",
        "\"tools\" -> \"compat/jupyter\" [style=dashed, label=compat];",
    ] {
        assert!(dot.contains(line), "{line} in:\n{dot}");
    }
    assert!(
        !dot.contains("\"base\" -> \"compat/"),
        "a non-final layer gets no compat build:\n{dot}"
    );
    let mermaid = context.output(&["graph", "--format", "mermaid"]);
    let mermaid = String::from_utf8_lossy(&mermaid.stdout);
    assert!(mermaid.contains("[/\"compat/common\"/]"), "{mermaid}");
    assert_eq!(
        mermaid.matches("-- includes -->").count(),
        2,
        "as written: {mermaid}"
    );
    assert_eq!(
        mermaid.matches("-. compat .->").count(),
        3,
        "final layers with a compat layer: {mermaid}"
    );
}

#[test]
fn sciserver_compute_images_every_tree() {
    let context = TestContext::from_fixture(BINARY, "sciserver-compute-images");
    let output = context.output(&["graph"]);
    assert!(output.status.success(), "{}", context.render(&output));
    assert_snapshot!(String::from_utf8_lossy(&output.stdout));
}
