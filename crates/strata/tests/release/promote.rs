//! `strata promote` on the real registries: the phys-398 course-tag workflow, refusals,
//! idempotence, other repositories, and a whole family with `--all`.

use strata_test::{fresh_namespace, TestContext};

use crate::{build_and_push, busybox_family, json, registry_digest, services};

const TINY: &str = "FROM strata-base/busybox:latest\nRUN echo tiny > /tiny\n";
const OTHER: &str = "FROM strata-base/busybox:latest\nRUN echo other > /other\n";

/// Blob uploads (not mounts) the plain registry logged for a repository.
fn logged_uploads(repository_path: &str) -> usize {
    let logs = std::env::var("STRATA_DEV_LOGS").expect("`STRATA_DEV_LOGS` is set by the dev env");
    let log = fs_err::read_to_string(format!("{logs}/registry.log")).unwrap_or_default();
    log.lines()
        .filter(|line| {
            line.contains(&format!("/v2/{repository_path}/blobs/uploads/"))
                && (line.contains("\"PATCH ") || line.contains("\"PUT "))
        })
        .count()
}

#[test]
fn a_course_tag_is_promoted_inside_the_registry_and_protected() {
    let services = services();
    let namespace = fresh_namespace(&services.registry, "course");
    let context = busybox_family(&namespace, &[("tiny", TINY), ("other", OTHER)]);
    build_and_push(&context);
    let latest = format!("{namespace}/tiny:latest");
    let latest_digest = registry_digest(&context, &latest).unwrap();

    let output = context.output(&["promote", &latest, "spring-2022", "--json"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let report = json(&output);
    assert_eq!(report["schema_version"], 1);
    let promotion = &report["promotions"][0];
    assert_eq!(promotion["outcome"], "created");
    assert_eq!(promotion["digest"], latest_digest.as_str());
    assert_eq!(promotion["previous"], serde_json::Value::Null);
    assert_eq!(promotion["bytes_copied"], 0);
    assert_eq!(
        registry_digest(&context, &format!("{namespace}/tiny:spring-2022")).as_deref(),
        Some(latest_digest.as_str())
    );
    let history =
        fs_err::read_to_string(context.root.join(".strata/manifests/tiny/history.md")).unwrap();
    assert!(
        history.contains(&format!("`{namespace}/tiny:spring-2022`")),
        "{history}"
    );

    // Again: already there, success, nothing recorded twice.
    let again = context.output(&["promote", &latest, "spring-2022"]);
    assert!(again.status.success(), "{}", context.render(&again));
    assert!(String::from_utf8_lossy(&again.stdout).contains("already there"));
    let history_after =
        fs_err::read_to_string(context.root.join(".strata/manifests/tiny/history.md")).unwrap();
    assert_eq!(history, history_after);

    // Another image onto the course tag: refused, both digests named, nothing moved.
    let other = format!("{namespace}/other:latest");
    let other_digest = registry_digest(&context, &other).unwrap();
    let course_tag = format!("{namespace}/tiny:spring-2022");
    let refused = context.output(&["promote", &other, &course_tag]);
    assert_eq!(
        refused.status.code(),
        Some(1),
        "{}",
        context.render(&refused)
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&latest_digest) && stderr.contains(&other_digest),
        "{stderr}"
    );
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(
        registry_digest(&context, &course_tag).as_deref(),
        Some(latest_digest.as_str())
    );
    let forced = context.output(&["promote", &other, &course_tag, "--force", "--json"]);
    assert!(forced.status.success(), "{}", context.render(&forced));
    let report = json(&forced);
    assert_eq!(report["promotions"][0]["outcome"], "moved");
    assert_eq!(report["promotions"][0]["previous"], latest_digest.as_str());
    assert_eq!(
        registry_digest(&context, &course_tag).as_deref(),
        Some(other_digest.as_str())
    );
}

#[test]
fn promotion_to_another_repository_mounts_every_blob() {
    let services = services();
    let namespace = fresh_namespace(&services.registry, "mount");
    let context = busybox_family(&namespace, &[("tiny", TINY)]);
    build_and_push(&context);
    let latest = format!("{namespace}/tiny:latest");
    let target = format!("{namespace}/archive/tiny:2022");
    let output = context.output(&["promote", &latest, &target, "--json"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let promotion = &json(&output)["promotions"][0];
    assert!(
        promotion["blobs_mounted"].as_u64().unwrap() >= 2,
        "{promotion}"
    );
    assert_eq!(promotion["blobs_copied"], 0);
    assert_eq!(
        registry_digest(&context, &target),
        registry_digest(&context, &latest)
    );
    let path = namespace.split_once('/').unwrap().1;
    assert_eq!(logged_uploads(&format!("{path}/archive/tiny")), 0);
    // The source repository's own uploads are in the log, so the check can see uploads.
    assert!(logged_uploads(&format!("{path}/tiny")) > 0);
}

#[test]
fn every_final_image_of_a_plan_is_promoted_with_credentials() {
    let services = services();
    let namespace = fresh_namespace(&services.auth_registry, "family");
    let context = busybox_family(
        &namespace,
        &[
            ("base", TINY),
            (
                "child",
                &format!("FROM {namespace}/base:latest\nRUN echo child > /child\n"),
            ),
        ],
    );
    context.login(&services.auth_registry, "strata", "strata-password");
    build_and_push(&context);
    let output = context.output(&["promote", "--all", "--tag", "stable", "--json"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let report = json(&output);
    let targets: Vec<&str> = report["promotions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|promotion| promotion["target"].as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        [
            format!("{namespace}/base:stable"),
            format!("{namespace}/child:stable")
        ]
    );

    let anonymous = tempfile::tempdir().unwrap();
    let refused = context
        .strata()
        .env("DOCKER_CONFIG", anonymous.path())
        .args(["promote", "--all", "--tag", "candidate"])
        .output()
        .unwrap();
    assert_eq!(
        refused.status.code(),
        Some(5),
        "{}",
        context.render(&refused)
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("401 Unauthorized"), "{stderr}");
    assert!(stderr.contains("docker login"), "{stderr}");
}

#[test]
fn promotion_follows_the_bearer_token_flow_with_docker_config_credentials() {
    let registry = strata_test::FakeRegistry::with_token_auth("robot", "s3cret");
    let address = registry.address();
    let digest = registry.put_image("staging/app", "1.0", &[b"layer"]);
    let context = strata_test::TestContext::new(crate::BINARY);

    let anonymous = context.output(&[
        "promote",
        &format!("{address}/staging/app:1.0"),
        &format!("{address}/production/app:1.0"),
    ]);
    assert_eq!(
        anonymous.status.code(),
        Some(5),
        "{}",
        context.render(&anonymous)
    );
    assert!(String::from_utf8_lossy(&anonymous.stderr).contains(&format!("docker login {address}")));

    context.login(&address, "robot", "s3cret");
    let output = context.output(&[
        "promote",
        &format!("{address}/staging/app:1.0"),
        &format!("{address}/production/app:1.0"),
        "--json",
    ]);
    assert!(output.status.success(), "{}", context.render(&output));
    assert_eq!(registry.tag("production/app", "1.0"), Some(digest));
    assert_eq!(registry.blob_uploads(), 0, "{:?}", registry.requests());
    // The mounts needed push on the target and pull on the source in one token.
    assert!(
        json(&output)["promotions"][0]["blobs_mounted"]
            .as_u64()
            .unwrap()
            >= 2
    );
}

#[test]
fn promote_arguments_are_checked_before_any_registry_is_asked() {
    let context = strata_test::TestContext::new(crate::BINARY);
    for arguments in [
        vec!["promote"],
        vec!["promote", "127.0.0.1:1/a:1"],
        vec!["promote", "127.0.0.1:1/a:1", "b", "--all"],
        vec!["promote", "--tag", "not/a-tag", "--all"],
        vec!["promote", "UPPER/Case:1", "b"],
    ] {
        let output = context.output(&arguments);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{arguments:?}: {}",
            context.render(&output)
        );
        assert!(
            String::from_utf8_lossy(&output.stderr).starts_with("error: "),
            "{}",
            context.render(&output)
        );
    }
}

/// `promote SOURCE TAG` names everything it needs: it reads no working tree unless the
/// directory says it is an image repository (`strata.toml`, a layout's folders, manifests),
/// where the promotion is recorded. Run from a directory of Dockerfiles strata cannot read, it
/// promotes without a word about them; once the directory is a repository, the history it
/// cannot record is reported, not swallowed.
#[test]
fn promoting_registry_references_reads_no_working_tree() {
    let services = services();
    let namespace = fresh_namespace(&services.registry, "promote-no-tree");
    let mut context = TestContext::new(crate::BINARY);
    context.write("tools/broken/Dockerfile", "# no FROM line\n");
    context.commit("Dockerfiles strata cannot read");
    let source = format!("{}/strata-base/busybox:latest", services.registry);

    let output = context.output(&["promote", &source, &format!("{namespace}/copy:first")]);
    assert!(output.status.success(), "{}", context.render(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("broken"), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");

    context.write("strata.toml", "layout = [\"generic\"]\n");
    let output = context.output(&["promote", &source, &format!("{namespace}/copy:second")]);
    assert!(output.status.success(), "{}", context.render(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the promotion is recorded in no history")
            && stderr.contains("tools/broken/Dockerfile"),
        "{stderr}"
    );
}
