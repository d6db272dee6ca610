//! `strata release --pipeline` against the fake registry's faults: a release interrupted while
//! it moves tags leaves no tag mixed (those it moved are put back) and its re-run completes it;
//! staged images that do not hold together are refused before anything moves.

use strata_test::{FakeRegistry, Fault, FaultKind, TestContext};

/// A base and a child on it, tagged under the fake registry, committed.
fn family(registry: &FakeRegistry) -> TestContext {
    let mut context = TestContext::new(crate::BINARY);
    context.write(
        "family/base/Dockerfile",
        "FROM busybox:latest\nRUN echo base\n",
    );
    context.write("family/child/Dockerfile", "FROM base\nRUN echo child\n");
    context.write(
        "strata.toml",
        &format!(
            "layout = \"generic\"\nrepo = \"{}/fam\"\n",
            registry.address()
        ),
    );
    context.commit("a base and a child");
    context
}

/// What two build jobs of pipeline `p1` would have staged: the base, then the child on it
/// (`child_base` in its base label). Returns both digests.
fn stage(registry: &FakeRegistry, child_base: Option<&str>) -> (String, String) {
    let base = registry.put_labelled_image(
        "fam/base/strata-staging",
        "p1",
        &[b"base layer"],
        &serde_json::json!({"org.strata.inputs": "sha256:1"}),
    );
    let child = registry.put_labelled_image(
        "fam/child/strata-staging",
        "p1",
        &[b"base layer", b"child layer"],
        &serde_json::json!({
            "org.strata.inputs": "sha256:2",
            "org.opencontainers.image.base.digest": child_base.unwrap_or(&base),
        }),
    );
    (base, child)
}

#[test]
fn an_interrupted_release_puts_back_what_it_moved_and_a_rerun_completes_it() {
    let registry = FakeRegistry::start();
    let context = family(&registry);
    // The last release.
    let old_base = registry.put_image("fam/base", "latest", &[b"old base"]);
    let old_child = registry.put_image("fam/child", "latest", &[b"old base", b"old child"]);
    let (base, child) = stage(&registry, None);

    // The child's moving tag cannot be written, however often the client tries again.
    registry.inject(Fault {
        method: "PUT",
        path: "/v2/fam/child/manifests/latest".to_string(),
        times: 100,
        kind: FaultKind::Status(500),
    });
    let interrupted = context.output(&["release", "--all", "--pipeline", "p1"]);
    assert!(
        !interrupted.status.success(),
        "{}",
        context.render(&interrupted)
    );
    let stderr = String::from_utf8_lossy(&interrupted.stderr);
    assert!(stderr.contains("cannot release pipeline `p1`"), "{stderr}");
    assert!(stderr.contains("run the release again"), "{stderr}");
    assert_eq!(
        registry.tag("fam/base", "latest").as_deref(),
        Some(old_base.as_str()),
        "put back"
    );
    assert_eq!(
        registry.tag("fam/child", "latest").as_deref(),
        Some(old_child.as_str())
    );
    assert!(
        registry.tag("fam/base/strata-staging", "p1").is_some(),
        "staging kept for the re-run"
    );

    registry.clear_faults();
    let rerun = context.output(&["release", "--all", "--pipeline", "p1", "--json"]);
    assert!(rerun.status.success(), "{}", context.render(&rerun));
    assert_eq!(registry.tag("fam/base", "latest"), Some(base));
    assert_eq!(registry.tag("fam/child", "latest"), Some(child));
    assert_eq!(
        registry.tag("fam/base/strata-staging", "p1"),
        None,
        "staging removed"
    );
    assert_eq!(registry.tag("fam/child/strata-staging", "p1"), None);
    assert_eq!(registry.blob_uploads(), 0, "tags move inside the registry");
}

#[test]
fn a_child_staged_on_another_parent_is_refused_before_any_tag_moves() {
    let registry = FakeRegistry::start();
    let context = family(&registry);
    let stale = format!("sha256:{}", "e".repeat(64));
    stage(&registry, Some(&stale));
    let refused = context.output(&["release", "--all", "--pipeline", "p1"]);
    assert_eq!(
        refused.status.code(),
        Some(1),
        "{}",
        context.render(&refused)
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("`family/child` was staged on `sha256:eeee")
            && stderr.contains("no tag was moved")
            && stderr.contains("re-run `family/child`'s job"),
        "{stderr}"
    );
    assert_eq!(registry.tag("fam/base", "latest"), None);
    assert_eq!(registry.tag("fam/child", "latest"), None);
}
