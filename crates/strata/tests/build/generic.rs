//! A generic tree of Dockerfiles on the real daemon, with image tests: inherited tests run on
//! the child, a failing test fails the build before any tag moves or any push, and the `JUnit`
//! report is valid XML a CI system reads.

use std::os::unix::fs::PermissionsExt;

use strata_test::{require_services, TestContext};

use crate::{fresh_namespace, json_events, local_image, registry_labels, result_of, BINARY};

fn tested_family() -> TestContext {
    let context = TestContext::new(BINARY);
    context.write(
        "family/base/Dockerfile",
        "FROM strata-base/busybox:latest\nRUN echo base > /base\n",
    );
    context.write(
        "family/base/tests/has-base",
        "#!/bin/sh\necho \"checking /base in $STRATA_TESTS\"\ntest -f /base\n",
    );
    context.write("family/base/tests/README", "not executable: not a test\n");
    let script = context.root.join("family/base/tests/has-base");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    context.write(
        "family/tool/Dockerfile",
        "FROM base\nRUN echo tool > /tool\n",
    );
    context.write(
        "strata.toml",
        r#"layout = "generic"

[[images."family/base".tests]]
name = "the host sees the image"
host = ["sh", "-c", "docker image inspect --format '{{.Id}}' \"$STRATA_IMAGE\" && test \"$STRATA_IMAGE\" = '{image}'"]
output = "sha256:"

[[images."family/tool".tests]]
name = "tool file"
command = ["cat", "/tool"]
output = "^tool"
"#,
    );
    context
}

fn junit_cases(path: &std::path::Path) -> Vec<(String, String, bool)> {
    use quick_xml::events::Event;
    let text = fs_err::read_to_string(path).unwrap();
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut cases = Vec::new();
    let mut suites = 0;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(element) | Event::Empty(element) => match element.name().as_ref() {
                b"testsuite" => suites += 1,
                b"testcase" => {
                    let attribute = |name: &[u8]| {
                        element
                            .try_get_attribute(name)
                            .unwrap()
                            .map(|value| {
                                value
                                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                    .unwrap()
                                    .to_string()
                            })
                            .unwrap_or_default()
                    };
                    cases.push((attribute(b"classname"), attribute(b"name"), true));
                }
                b"failure" | b"error" => {
                    if let Some(last) = cases.last_mut() {
                        last.2 = false;
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(suites >= 1, "{text}");
    cases
}

#[test]
fn inherited_tests_run_on_the_child_and_a_failing_one_blocks_tags_and_pushes() {
    let services = require_services();
    let mut context = tested_family();
    context.commit("a tested family");
    let repo = fresh_namespace(&services.registry, "tested");
    let junit = context.root.join("junit.xml");
    let output = context.output(&[
        "build",
        "--all",
        "--repo",
        &repo,
        "--push",
        "--json",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", context.render(&output));
    let events = json_events(&output);
    let names = |build: &str| -> Vec<(String, bool)> {
        result_of(&events, build)["tests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|test| {
                (
                    test["test"].as_str().unwrap().to_string(),
                    test["passed"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(
        names("family/base"),
        [
            ("family/base/tests/has-base".to_string(), true),
            ("the host sees the image".to_string(), true),
        ]
    );
    // The child runs its parent's tests, on itself, then its own.
    assert_eq!(
        names("family/tool"),
        [
            ("family/base/tests/has-base".to_string(), true),
            ("the host sees the image".to_string(), true),
            ("tool file".to_string(), true),
        ]
    );
    let tested: Vec<&serde_json::Value> = events
        .iter()
        .filter(|event| event["event"] == "tested" && event["build"] == "family/tool")
        .collect();
    assert_eq!(tested.len(), 3);
    // Log files are named after the build, `/` written as `_`.
    let log = fs_err::read_to_string(context.root.join(".strata/logs/family_tool.log")).unwrap();
    assert!(
        log.contains("checking /base in /strata-tests/family/base/tests"),
        "{log}"
    );
    assert!(log.contains("test passed: tool file"), "{log}");
    let cases = junit_cases(&junit);
    assert_eq!(cases.len(), 5, "{cases:?}");
    assert!(cases.iter().all(|(_, _, passed)| *passed), "{cases:?}");
    assert!(cases.contains(&(
        "family/tool.family/base".to_string(),
        "family/base/tests/has-base".to_string(),
        true
    )));
    let aliases = std::process::Command::new("docker")
        .args([
            "images",
            "--quiet",
            "--filter",
            "reference=strata-alias/*:test",
        ])
        .output()
        .expect("the docker CLI");
    assert_eq!(
        String::from_utf8_lossy(&aliases.stdout).trim(),
        "",
        "host tests' aliases are removed"
    );
    let moving = format!("{repo}/tool:latest");
    let (published, _, _) = registry_labels(&moving);
    let built = local_image(&moving).expect("tagged");

    // The child removes what its parent's test checks: the inherited test fails on it.
    context.write(
        "family/tool/Dockerfile",
        "FROM base\nRUN echo tool > /tool && rm /base\n",
    );
    context.commit("tool breaks the base's promise");
    let junit_failed = context.root.join("failed.xml");
    let output = context.output(&[
        "build",
        "--repo",
        &repo,
        "--push",
        "--json",
        "--junit",
        junit_failed.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(3), "{}", context.render(&output));
    let events = json_events(&output);
    let tool = result_of(&events, "family/tool");
    assert_eq!(tool["result"], "failed");
    assert!(
        tool["error"]
            .as_str()
            .unwrap()
            .contains("family/base/tests/has-base"),
        "{tool}"
    );
    assert!(tool["pushed"].as_array().unwrap().is_empty());
    assert_eq!(
        local_image(&moving).as_deref(),
        Some(built.as_str()),
        "no tag moved"
    );
    let (still_published, _, _) = registry_labels(&moving);
    assert_eq!(still_published, published, "nothing was pushed");
    let plan = context.output(&["plan", "--repo", &repo, "--json"]);
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let unique = plan["builds"][0]["tags"][0].as_str().unwrap();
    assert_eq!(
        local_image(unique),
        None,
        "the build's own tag was not created"
    );
    let cases = junit_cases(&junit_failed);
    assert_eq!(
        cases
            .iter()
            .filter(|(_, _, passed)| !passed)
            .map(|(_, name, _)| name.as_str())
            .collect::<Vec<_>>(),
        ["family/base/tests/has-base"]
    );

    // `strata test` runs the same tests on the images the engine has; `--no-test` skips them.
    let output = context.output(&["test", "--repo", &repo, "--json"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 5, "{report}");
    // The tool image on this engine is the last good one (its moving tag); the new build's own
    // tag does not exist, so the moving tag is what is tested, and it passes.
    assert!(
        results.iter().all(|result| result["passed"] == true),
        "{report}"
    );
    let output = context.output(&["build", "--repo", &repo, "--no-test"]);
    assert!(output.status.success(), "{}", context.render(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("not tested: `--no-test`"),
        "{}",
        context.render(&output)
    );
    let output = context.output(&["test", "--repo", &repo]);
    assert_eq!(output.status.code(), Some(1), "{}", context.render(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("test FAILED family/tool: family/base/tests/has-base"),
        "{stderr}"
    );
}
