//! `--json`, `--format bake` and `--output`.

use insta::assert_snapshot;

use crate::sciserver;

#[test]
fn json_schema() {
    let mut context = sciserver();
    context.touch("science/essentials-2/Dockerfile");
    context.commit("change");
    context.git(&[
        "remote",
        "add",
        "origin",
        "https://user:secret@git.example.org/images.git",
    ]);
    assert_snapshot!(context.run(&["plan", "--json", "--repo", "r"]), @r#"
    success: true
    exit_code: 0
    ----- stdout -----
    {
      "schema_version": 1,
      "layout": "sciserver",
      "layouts": [
        "sciserver"
      ],
      "repo": "r",
      "commit": {
        "hash": "387390b3fdd9f906d0107b345af64ea069428dc2",
        "short_hash": "387390b",
        "count": 2
      },
      "since": "HEAD^",
      "builds": [
        {
          "kind": "science",
          "name": "essentials-v2",
          "image": "essentials",
          "version": "2.0",
          "variant": null,
          "context": "science/essentials-2",
          "dockerfile": "science/essentials-2/Dockerfile",
          "from": "sci/tools:1.0",
          "parent": {
            "name": "tools",
            "tag": "r/sci/tools:1.0"
          },
          "tags": [
            "r/sci/essentials-v2:2.0-2-387390b",
            "r/sci/essentials-v2:2.0"
          ],
          "depends_on": [],
          "reason": "changed",
          "triggered_by": null,
          "compat_layers": [],
          "build_args": {},
          "labels": {
            "org.opencontainers.image.revision": "387390b3fdd9f906d0107b345af64ea069428dc2",
            "org.opencontainers.image.source": "https://git.example.org/images.git",
            "org.opencontainers.image.title": "essentials-v2",
            "org.opencontainers.image.version": "2.0-2-387390b",
            "org.sciserver.science.essentials-v2.version": "2.0-2-387390b"
          },
          "taggers": [],
          "tests": []
        },
        {
          "kind": "compat",
          "name": "essentials:2.0",
          "image": "essentials",
          "version": "2.0",
          "variant": null,
          "context": "compat/jupyter",
          "dockerfile": "compat/jupyter/Dockerfile",
          "from": "r/sci/essentials-v2:2.0",
          "parent": {
            "name": "essentials-v2",
            "tag": "r/sci/essentials-v2:2.0"
          },
          "tags": [
            "r/rel/essentials:2.0-2-387390b",
            "r/rel/essentials:2.0"
          ],
          "depends_on": [
            "essentials-v2"
          ],
          "reason": "science-rebuilt",
          "triggered_by": "essentials-v2",
          "compat_layers": [
            "common",
            "jupyter"
          ],
          "build_args": {},
          "labels": {
            "org.opencontainers.image.revision": "387390b3fdd9f906d0107b345af64ea069428dc2",
            "org.opencontainers.image.source": "https://git.example.org/images.git",
            "org.opencontainers.image.title": "essentials",
            "org.opencontainers.image.version": "2.0-2-387390b",
            "org.sciserver.compat.version": "essentials:2.0-2-387390b"
          },
          "taggers": [],
          "tests": []
        },
        {
          "kind": "science",
          "name": "astro",
          "image": "astro",
          "version": "2.5",
          "variant": null,
          "context": "science/astro",
          "dockerfile": "science/astro/Dockerfile",
          "from": "sci/essentials-v2:2.0",
          "parent": {
            "name": "essentials-v2",
            "tag": "r/sci/essentials-v2:2.0"
          },
          "tags": [
            "r/sci/astro:2.5-2-387390b",
            "r/sci/astro:2.5"
          ],
          "depends_on": [
            "essentials-v2"
          ],
          "reason": "parent-changed",
          "triggered_by": "essentials-v2",
          "compat_layers": [],
          "build_args": {},
          "labels": {
            "org.opencontainers.image.revision": "387390b3fdd9f906d0107b345af64ea069428dc2",
            "org.opencontainers.image.source": "https://git.example.org/images.git",
            "org.opencontainers.image.title": "astro",
            "org.opencontainers.image.version": "2.5-2-387390b",
            "org.sciserver.science.astro.version": "2.5-2-387390b"
          },
          "taggers": [],
          "tests": []
        },
        {
          "kind": "compat",
          "name": "astro:2.5",
          "image": "astro",
          "version": "2.5",
          "variant": null,
          "context": "compat/minimal",
          "dockerfile": "compat/minimal/Dockerfile",
          "from": "r/sci/astro:2.5",
          "parent": {
            "name": "astro",
            "tag": "r/sci/astro:2.5"
          },
          "tags": [
            "r/rel/astro:2.5-2-387390b",
            "r/rel/astro:2.5"
          ],
          "depends_on": [
            "astro"
          ],
          "reason": "science-rebuilt",
          "triggered_by": "astro",
          "compat_layers": [
            "common",
            "jupyter",
            "minimal"
          ],
          "build_args": {},
          "labels": {
            "org.opencontainers.image.revision": "387390b3fdd9f906d0107b345af64ea069428dc2",
            "org.opencontainers.image.source": "https://git.example.org/images.git",
            "org.opencontainers.image.title": "astro",
            "org.opencontainers.image.version": "2.5-2-387390b",
            "org.sciserver.compat.version": "astro:2.5-2-387390b"
          },
          "taggers": [],
          "tests": []
        }
      ]
    }

    ----- stderr -----
    plan: 2 science builds and 2 compat builds (changes since HEAD^)
    "#);
}

#[test]
fn bake_file() {
    let mut context = sciserver();
    context.touch("science/essentials-2/Dockerfile");
    context.commit("change");
    assert_snapshot!(context.run(&["plan", "--format", "bake", "--repo", "r"]), @r#"
    success: true
    exit_code: 0
    ----- stdout -----
    {
      "group": {
        "default": {
          "targets": [
            "sci-essentials-v2",
            "rel-essentials-2_0",
            "sci-astro",
            "rel-astro-2_5"
          ]
        }
      },
      "target": {
        "rel-astro-2_5": {
          "context": ".strata/contexts/rel-astro-2_5",
          "contexts": {
            "r/sci/astro:2.5": "target:sci-astro"
          },
          "dockerfile-inline": "FROM r/sci/astro:2.5\nCOPY startup.sh /startup.sh\n\nCOPY startup.sh /startup.sh\nEXPOSE 8888\n\nENV MINIMAL=1\n\nENV SCISERVER_IMAGE=astro:2.5-2-387390b\n",
          "labels": {
            "org.opencontainers.image.revision": "387390b3fdd9f906d0107b345af64ea069428dc2",
            "org.opencontainers.image.title": "astro",
            "org.opencontainers.image.version": "2.5-2-387390b",
            "org.sciserver.compat.version": "astro:2.5-2-387390b"
          },
          "tags": [
            "r/rel/astro:2.5-2-387390b",
            "r/rel/astro:2.5"
          ]
        },
        "rel-essentials-2_0": {
          "context": ".strata/contexts/rel-essentials-2_0",
          "contexts": {
            "r/sci/essentials-v2:2.0": "target:sci-essentials-v2"
          },
          "dockerfile-inline": "FROM r/sci/essentials-v2:2.0\nCOPY startup.sh /startup.sh\n\nCOPY startup.sh /startup.sh\nEXPOSE 8888\n\nENV SCISERVER_IMAGE=essentials:2.0-2-387390b\n",
          "labels": {
            "org.opencontainers.image.revision": "387390b3fdd9f906d0107b345af64ea069428dc2",
            "org.opencontainers.image.title": "essentials",
            "org.opencontainers.image.version": "2.0-2-387390b",
            "org.sciserver.compat.version": "essentials:2.0-2-387390b"
          },
          "tags": [
            "r/rel/essentials:2.0-2-387390b",
            "r/rel/essentials:2.0"
          ]
        },
        "sci-astro": {
          "context": "science/astro",
          "contexts": {
            "sci/essentials-v2:2.0": "target:sci-essentials-v2"
          },
          "dockerfile": "Dockerfile",
          "labels": {
            "org.opencontainers.image.revision": "387390b3fdd9f906d0107b345af64ea069428dc2",
            "org.opencontainers.image.title": "astro",
            "org.opencontainers.image.version": "2.5-2-387390b",
            "org.sciserver.science.astro.version": "2.5-2-387390b"
          },
          "tags": [
            "r/sci/astro:2.5-2-387390b",
            "r/sci/astro:2.5"
          ]
        },
        "sci-essentials-v2": {
          "context": "science/essentials-2",
          "dockerfile": "Dockerfile",
          "labels": {
            "org.opencontainers.image.revision": "387390b3fdd9f906d0107b345af64ea069428dc2",
            "org.opencontainers.image.title": "essentials-v2",
            "org.opencontainers.image.version": "2.0-2-387390b",
            "org.sciserver.science.essentials-v2.version": "2.0-2-387390b"
          },
          "tags": [
            "r/sci/essentials-v2:2.0-2-387390b",
            "r/sci/essentials-v2:2.0"
          ]
        }
      }
    }

    ----- stderr -----
    plan: 2 science builds and 2 compat builds (changes since HEAD^)
    "#);
}

#[test]
fn output_file_is_written_whole() {
    let context = sciserver();
    let output = context.output(&["plan", "--all", "--format", "bake", "--output", "bake.json"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let bake: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(context.root.join("bake.json")).unwrap())
            .unwrap();
    assert_eq!(
        bake["group"]["default"]["targets"]
            .as_array()
            .unwrap()
            .len(),
        8
    );
    assert!(output.stdout.is_empty());
    // A failing plan leaves the existing file alone.
    context.write("science/astro/sciserver-image.json", "{");
    let failed = context.output(&["plan", "--all", "--format", "bake", "--output", "bake.json"]);
    assert_eq!(failed.status.code(), Some(2));
    let still: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(context.root.join("bake.json")).unwrap())
            .unwrap();
    assert_eq!(still, bake);
}

#[test]
fn a_bake_file_written_elsewhere_runs_from_its_own_directory() {
    let context = sciserver();
    let output = context.output(&[
        "plan",
        "--all",
        "--format",
        "bake",
        "--output",
        "ci/out/bake.json",
    ]);
    assert!(output.status.success(), "{}", context.render(&output));
    let directory = context.root.join("ci/out");
    let bake: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(directory.join("bake.json")).unwrap())
            .unwrap();
    let targets = bake["target"].as_object().unwrap();
    for (name, target) in targets {
        let context_path = target["context"].as_str().unwrap();
        assert!(
            directory.join(context_path).is_dir(),
            "`{name}`: `{context_path}` is a directory, from the bake file's directory"
        );
        if let Some(dockerfile) = target["dockerfile"].as_str() {
            assert!(
                directory.join(context_path).join(dockerfile).is_file(),
                "{name}"
            );
        }
    }
    assert_eq!(targets["sci-base"]["context"], "../../science/base");
    // minimal includes common and jupyter: its assembled context is written beside the file.
    let minimal = &targets["rel-astro-2_5"];
    assert_eq!(minimal["context"], "bake.contexts/rel-astro-2_5");
    assert!(
        directory
            .join("bake.contexts/rel-astro-2_5/Dockerfile")
            .is_file(),
        "the assembled context, generated Dockerfile included"
    );
}
