//! `strata lint` from the command line: repositories and single files, the three output
//! formats, `--fix`, settings from `strata.toml`, exit codes, and `build --lint`.

use strata_test::TestContext;

use crate::{docker_stacks, BINARY};

fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).expect("lint JSON")
}

fn rules_and_lines(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| {
            format!(
                "{}:{}:{} {} {}",
                finding["file"].as_str().unwrap(),
                finding["line"],
                finding["column"],
                finding["severity"].as_str().unwrap(),
                finding["rule"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn a_repository_is_linted_with_its_hierarchy_as_json_and_sarif() {
    let context = docker_stacks();
    let output = context.output(&["lint", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", context.render(&output));
    let report = json(&output);
    assert_eq!(report["schema_version"], 1);
    let first = &report["findings"][0];
    for field in [
        "rule", "name", "severity", "file", "line", "column", "message", "fix", "fixable",
    ] {
        assert!(!first[field].is_null(), "findings have `{field}`: {first}");
    }
    insta::assert_snapshot!(rules_and_lines(&report).join("\n"));
    // Images of the repository are not external bases: no finding about the FROM lines of
    // images built on the foundation.
    assert!(!rules_and_lines(&report)
        .iter()
        .any(|line| line.contains("base-notebook") && line.contains("BASE00")));

    let sarif = context.output(&["lint", "--format", "sarif"]);
    assert_eq!(sarif.status.code(), Some(1));
    let log = json(&sarif);
    assert_eq!(log["version"], "2.1.0");
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), report["findings"].as_array().unwrap().len());
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    for result in results {
        let index = usize::try_from(result["ruleIndex"].as_u64().unwrap()).unwrap();
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert!(["error", "warning", "note"].contains(&result["level"].as_str().unwrap()));
        let region = &result["locations"][0]["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().unwrap() >= 1);
    }
    assert_eq!(
        log["runs"][0]["originalUriBaseIds"]["SRCROOT"]["uri"]
            .as_str()
            .unwrap()
            .strip_prefix("file://")
            .map(|path| path.trim_end_matches('/').to_string()),
        Some(context.root.display().to_string())
    );

    // The failure level: only errors fail.
    let output = context.output(&["lint", "--fail-level", "error", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", context.render(&output));
}

#[test]
fn text_output_points_at_the_line_and_fix_rewrites_only_what_it_fixes() {
    let context = TestContext::new(BINARY);
    let text = "# the course image\nFROM python:3.12-slim@sha256:0000000000000000000000000000000000000000000000000000000000000000\nENV LANG=C.UTF-8\nRUN apt-get update \\\n    && apt-get install gfortran   # keep this comment out of the RUN\nRUN pip install numpy==2.0.0\nMAINTAINER Jane <jane@example.org>\nCMD [\"python\"]\n";
    context.write("Dockerfile", text);
    let output = context.output(&["lint"]);
    assert_eq!(output.status.code(), Some(1), "{}", context.render(&output));
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    assert!(
        stdout.contains("warning[PIP001]: `pip install` keeps its download cache in the layer\n --> Dockerfile:6:5\n  |\n6 | RUN pip install numpy==2.0.0\n  |     ^\n  = fix (--fix): add `--no-cache-dir` after `install`\n"),
        "{stdout}"
    );
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert!(
        stderr.contains("1 file(s): 0 error(s), 5 warning(s), 0 info; 4 fixable with `--fix`"),
        "{stderr}"
    );

    let output = context.output(&["lint", "--fix", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", context.render(&output));
    let report = json(&output);
    assert_eq!(report["summary"]["fixed"], 4);
    let fixed = fs_err::read_to_string(context.root.join("Dockerfile")).unwrap();
    assert_eq!(
        fixed,
        "# the course image\nFROM python:3.12-slim@sha256:0000000000000000000000000000000000000000000000000000000000000000\nENV LANG=C.UTF-8\nRUN apt-get update \\\n    && apt-get install -y --no-install-recommends gfortran   # keep this comment out of the RUN\nRUN pip install --no-cache-dir numpy==2.0.0\nLABEL maintainer=\"Jane <jane@example.org>\"\nCMD [\"python\"]\n"
    );
    // What --fix cannot do safely stays: the lists (a comment ends the RUN's last line).
    assert_eq!(rules_and_lines(&report), ["Dockerfile:4:1 warning APT004"]);
}

#[test]
fn settings_from_strata_toml_and_inline_comments() {
    let context = docker_stacks();
    let unpinned = |image: &str, parent: &str| {
        format!("ARG BASE_IMAGE=quay.io/jupyter/{parent}\nFROM $BASE_IMAGE\nENV CONDA_DIR=/opt/conda\nRUN pip install --no-cache-dir numpy # {image}\n# strata-ignore=PIP001\nRUN pip install scipy==1.14.0\n")
    };
    context.write(
        "images/minimal-notebook/Dockerfile",
        &unpinned("minimal", "base-notebook"),
    );
    context.write(
        "images/scipy-notebook/Dockerfile",
        &unpinned("scipy", "minimal-notebook"),
    );
    context.write(
        "strata.toml",
        "[lint]\nignore = [\"conda\", \"BASE002\"]\nfail-level = \"error\"\n[lint.severity]\nPIP002 = \"error\"\n[images.scipy-notebook.lint]\nignore = [\"pip-unpinned\"]\n",
    );
    let output = context.output(&["lint", "--json"]);
    let found: Vec<String> = rules_and_lines(&json(&output))
        .into_iter()
        .filter(|line| line.contains("minimal-notebook/") || line.contains("scipy-notebook/"))
        .collect();
    // Of the two edited images, only minimal-notebook's unpinned numpy, now an error, is left: conda rules and digests
    // are ignored everywhere, scipy-notebook ignores PIP002, the comment silences PIP001.
    assert_eq!(
        found,
        ["images/minimal-notebook/Dockerfile:4:32 error PIP002"],
        "{found:#?}"
    );
    assert_eq!(output.status.code(), Some(1), "{}", context.render(&output));
    let output = context.output(&["lint", "--json", "--ignore", "PIP002"]);
    assert_eq!(output.status.code(), Some(0), "{}", context.render(&output));

    context.write("strata.toml", "[lint]\nignore = [\"APT999\"]\n");
    let output = context.output(&["lint"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("strata.toml"), "{stderr}");
    assert!(stderr.contains("unknown lint rule `APT999`"), "{stderr}");
    assert!(
        stderr.contains("hint: `strata lint --list-rules`"),
        "{stderr}"
    );
}

#[test]
fn unreadable_input_exits_2_naming_the_file_and_line() {
    let context = TestContext::new(BINARY);
    context.write(
        "Dockerfile",
        "FROM debian:12\nRUN <<EOF\necho never closed\n",
    );
    let output = context.output(&["lint", "Dockerfile"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr
            .contains("`Dockerfile` line 2: the heredoc `<<EOF` opened on line 2 is never closed"),
        "{stderr}"
    );
    fs_err::write(
        context.root.join("Dockerfile"),
        b"FROM debian:12\nRUN echo \xff\n",
    )
    .unwrap();
    let output = context.output(&["lint", "Dockerfile"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8(output.stderr)
        .unwrap()
        .contains("`Dockerfile` is not UTF-8 text"));
    // Read as a repository, the same file stops the repository model, which names it too.
    let output = context.output(&["lint"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("`Dockerfile`") && stderr.contains("UTF-8"),
        "{stderr}"
    );
    let output = context.output(&["lint", "missing/Dockerfile.dev"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn rules_are_listed_and_explained() {
    let context = TestContext::new(BINARY);
    let listed = json(&context.output(&["lint", "--list-rules", "--json"]));
    let rules = listed["rules"].as_array().unwrap();
    assert!(rules.len() >= 27);
    assert!(rules
        .iter()
        .any(|rule| rule["code"] == "CONDA001" && rule["severity"] == "warning"));
    let explained = context.output(&["lint", "--explain", "apt-lists-not-removed"]);
    assert!(explained.status.success());
    let explained = String::from_utf8(explained.stdout).unwrap();
    assert!(
        explained.starts_with("APT004 apt-lists-not-removed (warning)"),
        "{explained}"
    );
    assert!(explained.contains("379 MB"), "{explained}");
    let output = context.output(&["lint", "--explain", "APT999"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn build_with_lint_stops_on_errors_before_any_engine_is_involved() {
    let context = docker_stacks();
    context.write(
        "images/scipy-notebook/Dockerfile",
        "ARG BASE_IMAGE=quay.io/jupyter/minimal-notebook\nFROM $BASE_IMAGE\nRUNN echo typo\n",
    );
    let output = context
        .strata()
        .args(["build", "--all", "--lint"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", context.render(&output));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("error[GEN008]: `RUNN` is not a Dockerfile instruction"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was built"), "{stderr}");
}
