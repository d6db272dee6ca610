//! The registry client and promotion against the in-process fake registry: the token flow,
//! retries, faults in the middle of a promotion, mounts, and what crosses the wire.

use std::time::Duration;
use strata_diagnostic::{Diagnostic as _, ExitClass};

use strata_registry::{
    parse_reference, promote, Credentials, PromoteError, PromoteOutcome, Promotion, RegistryClient,
    RegistryError, RetryPolicy,
};
use strata_test::{runtime, tags_of, FakeRegistry, Fault, FaultKind};

fn client() -> RegistryClient {
    RegistryClient::with_retry(RetryPolicy {
        attempts: 4,
        first_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
    })
}

fn promotion(source: &str, target: &str) -> Promotion {
    Promotion {
        source: parse_reference(source).unwrap(),
        target: parse_reference(target).unwrap(),
    }
}

#[test]
fn token_flow_with_basic_credentials_then_cached_tokens() {
    let registry = FakeRegistry::with_token_auth("robot", "s3cret");
    let digest = registry.put_image("team/base", "1.0", &[b"layer one"]);
    let address = registry.address();
    let reference = parse_reference(&format!("{address}/team/base:1.0")).unwrap();
    let runtime = runtime();

    let anonymous = client();
    anonymous.set_credentials(&address, None);
    let error = runtime.block_on(anonymous.resolve(&reference)).unwrap_err();
    assert!(
        matches!(
            error,
            RegistryError::Unauthorized {
                anonymous: true,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(
        error.hint().unwrap(),
        format!("log in first: `docker login {address}`")
    );

    let wrong = client();
    wrong.set_credentials(
        &address,
        Some(Credentials::UsernamePassword {
            username: "robot".into(),
            password: "wrong".into(),
        }),
    );
    let error = runtime.block_on(wrong.resolve(&reference)).unwrap_err();
    assert!(
        matches!(
            error,
            RegistryError::Unauthorized {
                anonymous: false,
                ..
            }
        ),
        "{error}"
    );

    let client = client();
    client.set_credentials(
        &address,
        Some(Credentials::UsernamePassword {
            username: "robot".into(),
            password: "s3cret".into(),
        }),
    );
    let resolved = runtime
        .block_on(client.resolve(&reference))
        .unwrap()
        .unwrap();
    assert_eq!(resolved.digest, digest);
    let image = runtime.block_on(client.image(&reference, None)).unwrap();
    assert_eq!(image.digest, digest);
    assert_eq!(image.config["config"]["Labels"]["fake"], "yes");
    let tokens = registry
        .requests()
        .iter()
        .filter(|request| request.path == "/token" && request.status == 200)
        .count();
    assert_eq!(
        tokens,
        1,
        "one token for the pull scope, reused: {:?}",
        registry.requests()
    );
}

#[test]
fn server_errors_and_dropped_connections_are_retried() {
    let registry = FakeRegistry::start();
    let digest = registry.put_image("a", "1", &[b"x"]);
    let reference = parse_reference(&format!("{}/a:1", registry.address())).unwrap();
    registry.inject(Fault {
        method: "HEAD",
        path: "/manifests/1".into(),
        times: 2,
        kind: FaultKind::Status(503),
    });
    registry.inject(Fault {
        method: "GET",
        path: "/manifests/1".into(),
        times: 1,
        kind: FaultKind::Drop,
    });
    let runtime = runtime();
    let client = client();
    assert_eq!(
        runtime
            .block_on(client.resolve(&reference))
            .unwrap()
            .unwrap()
            .digest,
        digest
    );
    assert_eq!(
        runtime
            .block_on(client.manifest(&reference))
            .unwrap()
            .digest,
        digest
    );

    registry.inject(Fault {
        method: "HEAD",
        path: "/manifests/1".into(),
        times: 10,
        kind: FaultKind::Status(500),
    });
    let error = runtime.block_on(client.resolve(&reference)).unwrap_err();
    assert!(
        matches!(error, RegistryError::Status { status: 500, .. }),
        "{error}"
    );
    assert!(error.hint().unwrap().contains("after retries"));
}

#[test]
fn missing_tags_are_not_found_naming_the_registry() {
    let registry = FakeRegistry::start();
    let text = format!("{}/a:9.9", registry.address());
    let error = runtime()
        .block_on(client().manifest(&parse_reference(&text).unwrap()))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("`{text}` not found in `{}`", registry.address())
    );
    assert_eq!(error.exit_class(), Some(ExitClass::Input));
}

#[test]
fn promote_in_one_repository_uploads_nothing_and_keeps_the_digest() {
    let registry = FakeRegistry::start();
    let address = registry.address();
    let digest = registry.put_image("course/image", "latest", &[b"big layer", b"another"]);
    let runtime = runtime();
    let client = client();
    let results = runtime
        .block_on(promote(
            &client,
            &[promotion(
                &format!("{address}/course/image:latest"),
                &format!("{address}/course/image:spring-2022"),
            )],
            false,
        ))
        .unwrap();
    assert_eq!(results[0].outcome, PromoteOutcome::Created);
    assert_eq!(results[0].digest, digest);
    assert_eq!(
        registry.tag("course/image", "spring-2022"),
        Some(digest.clone())
    );
    assert_eq!(registry.blob_uploads(), 0);
    assert_eq!(client.traffic().received(), 0, "no blob was read");

    // Again: already there, nothing written.
    let writes_before = registry
        .requests()
        .iter()
        .filter(|request| request.method == "PUT")
        .count();
    let again = runtime
        .block_on(promote(
            &client,
            &[promotion(
                &format!("{address}/course/image:latest"),
                &format!("{address}/course/image:spring-2022"),
            )],
            false,
        ))
        .unwrap();
    assert_eq!(again[0].outcome, PromoteOutcome::AlreadyThere);
    let writes_after = registry
        .requests()
        .iter()
        .filter(|request| request.method == "PUT")
        .count();
    assert_eq!(writes_before, writes_after);
}

#[test]
fn promote_refuses_to_move_a_tag_unless_forced() {
    let registry = FakeRegistry::start();
    let address = registry.address();
    let new = registry.put_image("r/img", "candidate", &[b"new"]);
    let old = registry.put_image("r/img", "stable", &[b"old"]);
    registry.put_image("r/other", "candidate", &[b"other-new"]);
    let other_old = registry.put_image("r/other", "stable", &[b"other-old"]);
    let runtime = runtime();
    let client = client();
    let pairs = [
        promotion(
            &format!("{address}/r/img:candidate"),
            &format!("{address}/r/img:stable"),
        ),
        promotion(
            &format!("{address}/r/other:candidate"),
            &format!("{address}/r/other:fresh"),
        ),
    ];
    let error = runtime
        .block_on(promote(&client, &pairs, false))
        .unwrap_err();
    let PromoteError::Conflicts { conflicts } = &error else {
        panic!("{error}");
    };
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].current, old);
    assert_eq!(conflicts[0].wanted, new);
    let message = error.to_string();
    assert!(
        message.contains(&old) && message.contains(&new),
        "{message}"
    );
    // All or nothing: the unconflicted target was not written either.
    assert_eq!(registry.tag("r/other", "fresh"), None);
    assert_eq!(registry.tag("r/other", "stable"), Some(other_old));

    let results = runtime.block_on(promote(&client, &pairs, true)).unwrap();
    assert_eq!(results[0].outcome, PromoteOutcome::Moved);
    assert_eq!(results[0].previous.as_deref(), Some(old.as_str()));
    assert_eq!(registry.tag("r/img", "stable"), Some(new));
}

#[test]
fn cross_repository_promotion_mounts_blobs_or_copies_when_declined() {
    let registry = FakeRegistry::start();
    let address = registry.address();
    let digest = registry.put_image("staging/app", "1.0", &[b"layer-a", b"layer-b"]);
    let runtime = runtime();
    let client = client();
    let results = runtime
        .block_on(promote(
            &client,
            &[promotion(
                &format!("{address}/staging/app:1.0"),
                &format!("{address}/production/app:1.0"),
            )],
            false,
        ))
        .unwrap();
    assert_eq!(results[0].digest, digest);
    assert_eq!(results[0].blobs_mounted, 3, "config and two layers");
    assert_eq!(results[0].blobs_copied, 0);
    assert_eq!(registry.blob_uploads(), 0);
    assert_eq!(registry.tag("production/app", "1.0"), Some(digest.clone()));

    registry.decline_mounts();
    let results = runtime
        .block_on(promote(
            &client,
            &[promotion(
                &format!("{address}/staging/app:1.0"),
                &format!("{address}/mirror/app:1.0"),
            )],
            false,
        ))
        .unwrap();
    assert_eq!(results[0].blobs_copied, 3);
    assert!(results[0].bytes_copied > 14);
    assert_eq!(registry.tag("mirror/app", "1.0"), Some(digest));
}

#[test]
fn a_multi_platform_index_is_promoted_whole_to_another_repository() {
    let registry = FakeRegistry::start();
    let address = registry.address();
    let index = registry.put_index("multi/app", "1.0", &[b"shared"]);
    let runtime = runtime();
    let client = client();
    runtime
        .block_on(promote(
            &client,
            &[promotion(
                &format!("{address}/multi/app:1.0"),
                &format!("{address}/other/app:1.0"),
            )],
            false,
        ))
        .unwrap();
    assert_eq!(registry.tag("other/app", "1.0"), Some(index));
    let arm = runtime
        .block_on(client.image(
            &parse_reference(&format!("{address}/other/app:1.0")).unwrap(),
            Some(&strata_registry::Platform::parse("linux/arm64").unwrap()),
        ))
        .unwrap();
    assert_eq!(arm.config["architecture"], "arm64");
    assert_eq!(registry.blob_uploads(), 0);
}

#[test]
fn a_failure_while_moving_tags_leaves_each_at_its_old_or_new_digest_and_a_rerun_finishes() {
    let registry = FakeRegistry::start();
    let address = registry.address();
    let mut pairs = Vec::new();
    let mut old = Vec::new();
    let mut new = Vec::new();
    for name in ["a", "b", "c"] {
        new.push(registry.put_image(
            &format!("fam/{name}"),
            "candidate",
            &[name.as_bytes(), b"new"],
        ));
        old.push(registry.put_image(&format!("fam/{name}"), "stable", &[name.as_bytes(), b"old"]));
        pairs.push(promotion(
            &format!("{address}/fam/{name}:candidate"),
            &format!("{address}/fam/{name}:stable"),
        ));
    }
    // `b`'s manifest write keeps failing: first a 500, then dropped connections.
    registry.inject(Fault {
        method: "PUT",
        path: "/fam/b/manifests/stable".into(),
        times: 1,
        kind: FaultKind::Status(500),
    });
    registry.inject(Fault {
        method: "PUT",
        path: "/fam/b/manifests/stable".into(),
        times: 100,
        kind: FaultKind::Drop,
    });
    let runtime = runtime();
    let client = client();
    let error = runtime
        .block_on(promote(&client, &pairs, true))
        .unwrap_err();
    let PromoteError::Interrupted {
        target,
        rolled_back,
        ..
    } = &error
    else {
        panic!("{error}");
    };
    assert!(target.ends_with("fam/b:stable"));
    assert_eq!(rolled_back.len(), 1, "`a` was put back");
    for (index, name) in ["a", "b", "c"].iter().enumerate() {
        let now = registry
            .tag(&format!("fam/{name}"), "stable")
            .expect("never missing");
        assert!(now == old[index] || now == new[index], "{name}: {now}");
    }
    assert_eq!(
        (0..3)
            .map(|index| registry
                .tag(&format!("fam/{}", ["a", "b", "c"][index]), "stable")
                .unwrap()
                == old[index])
            .filter(|at_old| *at_old)
            .count(),
        3,
        "all or nothing: {:?}",
        tags_of(&registry)
    );

    registry.clear_faults();
    let results = runtime.block_on(promote(&client, &pairs, true)).unwrap();
    for (index, name) in ["a", "b", "c"].iter().enumerate() {
        assert_eq!(
            registry.tag(&format!("fam/{name}"), "stable"),
            Some(new[index].clone())
        );
        assert_eq!(results[index].digest, new[index]);
    }
    assert_eq!(registry.blob_uploads(), 0);
}

#[test]
fn rate_limits_are_retried() {
    let registry = FakeRegistry::start();
    registry.put_image("a", "1", &[b"x"]);
    registry.inject(Fault {
        method: "GET",
        path: "/tags/list".into(),
        times: 2,
        kind: FaultKind::Status(429),
    });
    let tags = runtime()
        .block_on(client().tags(&parse_reference(&format!("{}/a:1", registry.address())).unwrap()))
        .unwrap();
    assert_eq!(tags, ["1"]);
}

#[test]
fn a_forbidden_repository_is_named_with_what_to_do() {
    let registry = FakeRegistry::start();
    registry.put_image("team/private", "1", &[b"x"]);
    registry.inject(Fault {
        method: "GET",
        path: "/team/private/manifests/1".into(),
        times: 1,
        kind: FaultKind::Status(403),
    });
    let error =
        runtime()
            .block_on(client().manifest(
                &parse_reference(&format!("{}/team/private:1", registry.address())).unwrap(),
            ))
            .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "`{}` denied access to `team/private` (403 Forbidden)",
            registry.address()
        )
    );
    assert!(error.hint().unwrap().contains("lacks permission"));
    assert_eq!(error.exit_class(), Some(ExitClass::Unavailable));
}
