//! `strata pin`: external references pinned in place (every other byte kept), drift seen and
//! moved, internal images left alone, index digests for multi-platform tags, and the base
//! labels of the images built from pinned Dockerfiles.

use strata_test::{fresh_namespace, FakeRegistry, TestContext};

use crate::common::registry_labels;
use crate::{
    build_and_push, busybox_family, json, move_upstream_tag, publish_local, registry_digest,
    services, BINARY,
};

fn statuses(report: &serde_json::Value) -> Vec<(String, u64, String)> {
    report["references"]
        .as_array()
        .unwrap()
        .iter()
        .map(|reference| {
            (
                reference["file"].as_str().unwrap().to_string(),
                reference["line"].as_u64().unwrap(),
                reference["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn pins_are_written_in_place_drift_is_seen_and_updates_move_them() {
    let services = services();
    let namespace = fresh_namespace(&services.registry, "pin");
    let upstream = format!("{namespace}/upstream/busybox:1");
    publish_local("strata-base/busybox:latest", &upstream);
    let first = registry_digest_of(&upstream);

    let base = format!(
        "# the course base\nARG BASE={upstream}\n# the base image, pinned by strata\nfrom ${{BASE}} AS build\nRUN echo base \\\n    > /base\nFROM build\nCOPY --from={upstream} /bin/busybox /busybox-copy\n"
    );
    let child = format!("FROM {namespace}/base:latest\nRUN echo child > /child\n");
    let shared = format!(
        "ARG IMG={upstream}\nFROM $IMG\nARG IMG\nRUN <<EOF\necho built on $IMG\nFROM {upstream}\nEOF\nLABEL from=$IMG\n"
    );
    let context = busybox_family(
        &namespace,
        &[("base", &base), ("child", &child), ("shared", &shared)],
    );

    let check = context.output(&["pin", "--check", "--json"]);
    assert_eq!(check.status.code(), Some(1), "{}", context.render(&check));
    assert_eq!(
        statuses(&json(&check)),
        [
            (
                "images/base/Dockerfile".to_string(),
                4,
                "unpinned".to_string()
            ),
            (
                "images/base/Dockerfile".to_string(),
                8,
                "unpinned".to_string()
            ),
            (
                "images/shared/Dockerfile".to_string(),
                2,
                "cannot-pin".to_string()
            ),
        ],
        "the child's FROM names an image of the repository and is never pinned"
    );
    let report = json(&check);
    assert!(report["references"][2]["reason"]
        .as_str()
        .unwrap()
        .contains("also used on line 3"));
    assert_eq!(report["references"][0]["written_on_line"], 2);

    let output = context.output(&["pin"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let pinned = format!("{upstream}@{first}");
    let expected = base.replace(&format!("={upstream}"), &format!("={pinned}"));
    assert_eq!(
        fs_err::read_to_string(context.root.join("images/base/Dockerfile")).unwrap(),
        expected,
        "only the two references changed, byte for byte"
    );
    assert_eq!(
        fs_err::read_to_string(context.root.join("images/child/Dockerfile")).unwrap(),
        child
    );
    assert_eq!(
        fs_err::read_to_string(context.root.join("images/shared/Dockerfile")).unwrap(),
        shared
    );

    // Upstream moves the tag: --check reports drift with both digests; plain `pin` keeps the
    // pin; `--update` moves it.
    let moved = move_upstream_tag(&upstream);
    assert_ne!(moved, first);
    let check = context.output(&["pin", "--check", "--json", "images/base/Dockerfile"]);
    assert_eq!(check.status.code(), Some(1), "{}", context.render(&check));
    let drifted = &json(&check)["references"][0];
    assert_eq!(drifted["status"], "drifted");
    assert_eq!(drifted["digest"], first.as_str());
    assert_eq!(drifted["current"], moved.as_str());
    let text = context.output(&["pin", "--check", "images/base/Dockerfile"]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains("drifted") && stdout.contains(&moved[..19]),
        "{stdout}"
    );

    let kept = context.output(&["pin"]);
    assert!(kept.status.success(), "{}", context.render(&kept));
    assert_eq!(
        fs_err::read_to_string(context.root.join("images/base/Dockerfile")).unwrap(),
        expected
    );
    let updated = context.output(&["pin", "--update"]);
    assert!(updated.status.success(), "{}", context.render(&updated));
    assert_eq!(
        fs_err::read_to_string(context.root.join("images/base/Dockerfile")).unwrap(),
        expected.replace(&first, &moved)
    );

    // The pinned Dockerfiles build, and the images say what they were built on.
    std::fs::remove_dir_all(context.root.join("images/shared")).unwrap();
    let mut context = context;
    context.commit("pinned");
    build_and_push(&context);
    let (_, labels, _) = registry_labels(&format!("{namespace}/base:latest"));
    assert_eq!(
        labels["org.opencontainers.image.base.name"],
        upstream.as_str()
    );
    assert_eq!(
        labels["org.opencontainers.image.base.digest"],
        moved.as_str()
    );
    let base_digest = registry_digest(&context, &format!("{namespace}/base:latest")).unwrap();
    let (_, labels, _) = registry_labels(&format!("{namespace}/child:latest"));
    assert_eq!(
        labels["org.opencontainers.image.base.name"],
        format!("{namespace}/base:latest").as_str()
    );
    assert_eq!(
        labels["org.opencontainers.image.base.digest"],
        base_digest.as_str()
    );
}

fn registry_digest_of(reference: &str) -> String {
    let context = TestContext::new(BINARY);
    registry_digest(&context, reference).expect("published")
}

#[test]
fn a_multi_platform_tag_is_pinned_by_its_index_digest_in_a_lone_dockerfile() {
    let registry = FakeRegistry::start();
    let index = registry.put_index("jupyter/minimal-notebook", "lab-3.2.8", &[b"notebook"]);
    let reference = format!("{}/jupyter/minimal-notebook:lab-3.2.8", registry.address());
    // The phys-398 layout: one Dockerfile under docker/, no image repository around it.
    let context = TestContext::new(BINARY);
    let dockerfile = format!("FROM {reference}\nCOPY requirements.lock /tmp/\n");
    context.write("docker/Dockerfile", &dockerfile);
    let output = context.output(&["pin", "docker", "--json"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let report = json(&output);
    assert_eq!(report["references"][0]["current"], index.as_str());
    assert_eq!(report["written"][0], "docker/Dockerfile");
    assert_eq!(
        fs_err::read_to_string(context.root.join("docker/Dockerfile")).unwrap(),
        format!("FROM {reference}@{index}\nCOPY requirements.lock /tmp/\n")
    );
}

#[test]
fn a_tag_that_does_not_exist_is_an_input_error_and_nothing_is_written() {
    let registry = FakeRegistry::start();
    registry.put_image("present/image", "1", &[b"x"]);
    let context = TestContext::new(BINARY);
    let dockerfile = format!(
        "FROM {0}/present/image:1\nCOPY --from={0}/missing/image:9.9 /a /a\n",
        registry.address()
    );
    context.write("Dockerfile", &dockerfile);
    let output = context.output(&["pin"]);
    assert_eq!(output.status.code(), Some(2), "{}", context.render(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "`{}/missing/image:9.9` not found in `{}`",
            registry.address(),
            registry.address()
        )),
        "{stderr}"
    );
    assert_eq!(
        fs_err::read_to_string(context.root.join("Dockerfile")).unwrap(),
        dockerfile
    );
}
