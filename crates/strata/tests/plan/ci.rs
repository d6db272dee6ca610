//! `strata ci`: the pipelines it writes are valid for their CI system (checked with
//! check-jsonschema's built-in GitLab CI and GitHub workflow schemas), at the size of a large
//! family, and a plan that builds nothing still makes a pipeline GitLab accepts.

use std::process::Command;

use strata_test::TestContext;

use crate::BINARY;

fn check_jsonschema() -> String {
    std::env::var("STRATA_TEST_CHECK_JSONSCHEMA").expect(
        "`STRATA_TEST_CHECK_JSONSCHEMA` is not set: this test validates pipelines with check-jsonschema, which `scripts/dev-env.sh up` installs; run `scripts/test.sh`, or `. \"$(scripts/dev-env.sh env)\"` after `up`",
    )
}

/// Whether `file` is valid for check-jsonschema's built-in `schema`.
fn validate(schema: &str, file: &std::path::Path) {
    let output = Command::new(check_jsonschema())
        .args(["--builtin-schema", schema])
        .arg(file)
        .output()
        .expect("run check-jsonschema");
    assert!(
        output.status.success(),
        "{} is not a valid {schema} file:\n{}{}",
        file.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A generic family of `images` images, each built on the one at half its index (a tree ten
/// deep), for three platforms.
fn family(images: usize) -> TestContext {
    let mut context = TestContext::new(BINARY);
    for index in 0..images {
        let from = if index == 0 {
            "busybox:latest".to_string()
        } else {
            format!("i{}", (index - 1) / 2)
        };
        context.write(
            &format!("family/i{index}/Dockerfile"),
            &format!("FROM {from}\nRUN echo {index}\n"),
        );
    }
    context.write(
        "strata.toml",
        "layout = \"generic\"\nrepo = \"registry.example/family\"\nplatforms = [\"linux/amd64\", \"linux/arm64\", \"linux/ppc64le\"]\n\n[ci]\ntags = [\"docker\"]\ninstall = \"cargo install --locked strata\"\n\n[ci.runners]\n\"linux/arm64\" = \"arm64\"\n",
    );
    context.commit("a large family");
    context
}

#[test]
fn a_500_image_3_platform_family_makes_valid_gitlab_and_github_pipelines() {
    let context = family(500);
    for (format, schema) in [
        ("gitlab", "vendor.gitlab-ci"),
        ("github", "vendor.github-workflows"),
    ] {
        let file = context.root.join(format!("{format}.yml"));
        let output = context.output(&[
            "ci",
            "--format",
            format,
            "--all",
            "-o",
            file.to_str().unwrap(),
            "--json",
        ]);
        assert!(output.status.success(), "{}", context.render(&output));
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(report["builds"].as_array().unwrap().len(), 1500, "{format}");
        validate(schema, &file);
        let text = fs_err::read_to_string(&file).unwrap();
        if format == "github" {
            assert!(
                text.len() < 500 * 1024,
                "GitHub refuses workflow files over 500 KB"
            );
        }
        let document: serde_json::Value = serde_yaml::from_str(&text).unwrap();
        let jobs = if format == "gitlab" {
            &document
        } else {
            &document["jobs"]
        };
        for (id, job) in jobs.as_object().unwrap() {
            if let Some(needs) = job["needs"].as_array() {
                if format == "gitlab" {
                    assert!(needs.len() <= 50, "`{id}` needs {} jobs", needs.len());
                }
            }
            if let Some(matrix) = job["strategy"]["matrix"]["build"].as_array() {
                assert!(matrix.len() <= 256, "`{id}` makes {} jobs", matrix.len());
            }
        }
    }
}

#[test]
fn a_plan_that_builds_nothing_makes_a_pipeline_gitlab_accepts() {
    let context = family(3);
    for (format, schema) in [
        ("gitlab", "vendor.gitlab-ci"),
        ("github", "vendor.github-workflows"),
    ] {
        let file = context.root.join(format!("{format}.yml"));
        // Nothing changed since the last commit.
        let output = context.output(&[
            "ci",
            "--format",
            format,
            "--since",
            "HEAD",
            "-o",
            file.to_str().unwrap(),
        ]);
        assert!(output.status.success(), "{}", context.render(&output));
        let text = fs_err::read_to_string(&file).unwrap();
        assert!(text.contains("nothing-to-build:"), "{text}");
        assert!(!text.contains("--only"), "{text}");
        validate(schema, &file);
    }
}
