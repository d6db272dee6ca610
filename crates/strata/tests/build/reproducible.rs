//! `strata build --reproducible` on the real daemon and registry: the same commit gives the same
//! digest for every tag (science layers, compat builds, docker-stacks images), a plain build does
//! not, the normalised images run and inspect, and `--check-reproducible` names the files that
//! differ when a Dockerfile does not follow the recipe (that test, `live_debian_…`, reaches
//! Debian's mirrors and PyPI).

use std::collections::BTreeMap;

use strata_test::TestContext;

use crate::{finished, fresh_namespace, json_events, runtime, BINARY};

/// A busybox family in both layouts: SciServer science layers with a compat build, and a
/// docker-stacks pair. The base's `RUN` makes what normalising must keep: a hard link, a
/// symlink, a whiteout of a base file, a path longer than a tar header holds.
fn family() -> TestContext {
    let mut context = TestContext::new(BINARY);
    context.write(
        "strata.toml",
        "layout = [\"sciserver\", \"docker-stacks\"]\n",
    );
    context.write(
        "science/base/sciserver-image.json",
        r#"{"image": "repro", "version": "1.0", "compat": "ui"}"#,
    );
    let long = format!("/opt/{}/{}", "d".repeat(90), "e".repeat(120));
    context.write(
        "science/base/Dockerfile",
        &format!(
            "FROM strata-base/busybox:latest\n\
             RUN echo hello > /hello && ln /hello /hello-hard && ln -s /hello /hello-soft \
             && rm /etc/passwd && mkdir -p {long} && echo deep > {long}/file\n\
             COPY data.txt /data.txt\n"
        ),
    );
    context.write("science/base/data.txt", "some data\n");
    context.write(
        "science/child/sciserver-image.json",
        r#"{"image": "repro", "version": "1.0", "target": "repro-child", "compat": "ui"}"#,
    );
    context.write(
        "science/child/Dockerfile",
        "FROM sci/base:1.0\nRUN cat /hello > /child && date > /tmp/when && rm /tmp/when\n",
    );
    // ui includes common and replaces its start.sh: the compat build copies the same file
    // twice, and the image holds one layer twice (which `docker save` writes once, linked).
    context.write("compat/common/sciserver-image.json", "{}");
    context.write(
        "compat/common/Dockerfile",
        "COPY start.sh /opt/start.sh\nRUN chmod 0755 /opt/start.sh\n",
    );
    context.write("compat/common/start.sh", "#!/bin/sh\necho common\n");
    context.write(
        "compat/ui/sciserver-image.json",
        r#"{"includes": ["common"]}"#,
    );
    context.write("compat/ui/Dockerfile", "COPY start.sh /opt/start.sh\n");
    context.write("compat/ui/start.sh", "#!/bin/sh\necho started\n");
    context.write(
        "images/tool/Dockerfile",
        "FROM strata-base/busybox:latest\nRUN echo tool > /tool\n",
    );
    context.write(
        "images/tool-child/Dockerfile",
        "ARG BASE_IMAGE=strata-test/tool\nFROM $BASE_IMAGE\nRUN cat /tool /tool > /twice\nCMD [\"cat\", \"/twice\"]\n",
    );
    context.commit("a reproducible family");
    context
}

/// Build every image from scratch and push; the digest of every pushed tag.
fn build_and_push(context: &TestContext, repo: &str, flags: &[&str]) -> BTreeMap<String, String> {
    let mut arguments = vec![
        "build",
        "--all",
        "--no-cache",
        "--no-manifests",
        "--push",
        "--json",
        "--repo",
        repo,
    ];
    arguments.extend_from_slice(flags);
    let output = context.output(&arguments);
    assert!(output.status.success(), "{}", context.render(&output));
    let events = json_events(&output);
    let mut digests = BTreeMap::new();
    for result in finished(&events)["results"].as_array().unwrap() {
        assert_eq!(result["result"], "built", "{result}");
        for pushed in result["pushed"].as_array().unwrap() {
            digests.insert(
                pushed["tag"].as_str().unwrap().to_string(),
                pushed["digest"].as_str().unwrap().to_string(),
            );
        }
    }
    digests
}

fn docker(arguments: &[&str]) -> String {
    let output = std::process::Command::new("docker")
        .args(arguments)
        .output()
        .expect("run docker");
    assert!(
        output.status.success(),
        "docker {arguments:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

#[test]
fn the_same_commit_gives_the_same_digest_for_every_tag() {
    let services = strata_test::require_services();
    let context = family();
    let repo = fresh_namespace(&services.registry, "reproducible");

    // Without the flag, two builds of one commit differ (times in layers, config, labels).
    let plain = build_and_push(&context, &repo, &[]);
    let plain_again = build_and_push(&context, &repo, &[]);
    assert!(
        plain.keys().any(|tag| tag.contains("/rel/")) && plain.len() >= 8,
        "science layers, compat builds and docker-stacks images: {plain:#?}"
    );
    for (tag, digest) in &plain {
        assert_ne!(&plain_again[tag], digest, "`{tag}` without --reproducible");
    }
    let plain_child = format!("{repo}/tool-child:latest");
    let plain_copy = format!("strata-test/plain-copy-{}:1", std::process::id());
    docker(&["tag", &plain_child, &plain_copy]);

    let first = build_and_push(&context, &repo, &["--reproducible"]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = build_and_push(&context, &repo, &["--reproducible"]);
    assert_eq!(first.len(), plain.len());
    assert_eq!(first, second, "every tag, both runs");
    for (tag, digest) in &first {
        assert_ne!(&plain[tag], digest, "`{tag}` is normalised");
    }
    // The registry holds what strata reported, and the times come from the commit.
    let (digest, labels, config) = crate::registry_labels(&format!("{repo}/tool-child:latest"));
    assert_eq!(digest, first[&format!("{repo}/tool-child:latest")]);
    assert_eq!(
        labels["org.opencontainers.image.created"],
        "2024-01-01T00:01:00Z"
    );
    assert_eq!(config["created"], "2024-01-01T00:01:00Z");
    assert!(config.get("container_config").is_none(), "{config}");

    // The pulled image runs; strata reads it locally and from the registry.
    let child = format!("{repo}/tool-child:latest");
    docker(&["rmi", "--force", &child]);
    docker(&["pull", "--quiet", &child]);
    assert_eq!(docker(&["run", "--rm", &child]), "tool\ntool");
    let local = context.output(&["inspect", "--json", &child]);
    assert!(local.status.success(), "{}", context.render(&local));
    let remote = context.output(&["inspect", "--json", "--registry", &child]);
    assert!(remote.status.success(), "{}", context.render(&remote));
    let remote: serde_json::Value = serde_json::from_slice(&remote.stdout).unwrap();
    assert_eq!(remote["created"], "2024-01-01T00:01:00Z");

    // Every file of the plain build is in the normalised one, byte for byte: only times,
    // order and the tar format changed. The base's layers are the busybox image's own.
    let compare = context.output(&["diff", "--files", "--json", &plain_copy, &child]);
    assert!(compare.status.success(), "{}", context.render(&compare));
    let report: serde_json::Value = serde_json::from_slice(&compare.stdout).unwrap();
    let layers = report["layers"].as_array().unwrap();
    assert!(!layers.is_empty(), "the layers were rewritten");
    assert!(
        layers.iter().all(|layer| layer["index"] != 0),
        "the busybox layer is kept: {report}"
    );
    for layer in layers {
        assert_eq!(layer["files"], serde_json::json!([]), "{layer}");
    }
    docker(&["rmi", &plain_copy]);
    let science = format!("{repo}/sci/base:1.0");

    // Hard link, symlink, whiteout and long path, as the normalised base holds them.
    let listing = runtime().block_on(async {
        let client = strata_registry::RegistryClient::new();
        let reference = strata_registry::parse_reference(&science).unwrap();
        let image = client.image(&reference, None).await.unwrap();
        let mut files = strata_reproducible::LayerFiles::new();
        for layer in &image.layers[1..] {
            let bytes = client.blob_bytes(&reference, &layer.digest).await.unwrap();
            let (layer_files, _) = strata_reproducible::layer_files(&bytes[..]).unwrap();
            files.extend(layer_files);
        }
        files
    });
    assert_eq!(listing["hello-hard"].kind, "hardlink");
    assert_eq!(listing["hello-hard"].link.as_deref(), Some("hello"));
    assert_eq!(listing["hello-soft"].link.as_deref(), Some("/hello"));
    assert!(
        listing.contains_key("etc/.wh.passwd"),
        "{:?}",
        listing.keys()
    );
    let long = format!("opt/{}/{}/file", "d".repeat(90), "e".repeat(120));
    assert_eq!(listing[&long].size, 5);
}

#[test]
fn live_debian_check_reproducible_names_the_files_a_dockerfile_without_the_recipe_changes() {
    let services = strata_test::require_services();
    let mut context = TestContext::from_fixture(BINARY, "reproducible");
    // The recipe installs the lock offline from the wheels `strata lock fetch` downloads.
    for image in ["python", "python-plain"] {
        let fetch = context.output(&[
            "lock",
            "fetch",
            "images/python/requirements.lock",
            &format!("images/{image}/wheels"),
        ]);
        assert!(fetch.status.success(), "{}", context.render(&fetch));
    }
    context.git(&["add", "--force", "images"]);
    context.commit("the wheels");
    let repo = fresh_namespace(&services.registry, "recipe");
    let output = context.output(&[
        "build",
        "--all",
        "--check-reproducible",
        "--network",
        "host",
        "--no-manifests",
        "--json",
        "--repo",
        &repo,
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", context.render(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", context.render(&output)));
    let images = report["images"].as_array().unwrap();
    let by_name = |name: &str| {
        images
            .iter()
            .find(|image| image["build"] == name)
            .unwrap_or_else(|| panic!("no `{name}` in {report}"))
    };
    let recipe = by_name("python");
    assert_eq!(recipe["reproducible"], true, "{recipe}");
    assert_eq!(recipe["digests"][0], recipe["digests"][1]);
    let plain = by_name("python-plain");
    assert_eq!(plain["reproducible"], false, "{plain}");
    let differing: Vec<(String, Option<String>)> = plain["layers"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|layer| layer["files"].as_array().unwrap().iter())
        .map(|file| {
            (
                file["path"].as_str().unwrap().to_string(),
                file["hint"].as_str().map(str::to_string),
            )
        })
        .collect();
    let hint_of = |path: &str| {
        differing
            .iter()
            .find(|(found, _)| found == path)
            .unwrap_or_else(|| panic!("`{path}` not among {differing:#?}"))
            .1
            .clone()
            .unwrap_or_default()
    };
    assert!(hint_of("/var/log/dpkg.log").contains("scrub"));
    assert!(
        hint_of("/opt/venv/lib/python3.11/site-packages/__pycache__/six.cpython-311.pyc")
            .contains("SOURCE_DATE_EPOCH")
    );
    // The recipe image's scrub list is reported: the Dockerfile left nothing for it to drop
    // but the whiteouts of the files it removed, which are kept.
    let recipe_image = format!("{repo}/python:latest");
    let facts = context.output(&["inspect", "--json", &recipe_image]);
    assert!(facts.status.success(), "{}", context.render(&facts));
    let facts: serde_json::Value = serde_json::from_slice(&facts.stdout).unwrap();
    let packages = facts["python"]["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|environment| environment["path"] == "/opt/venv/lib/python3.11/site-packages")
        .unwrap_or_else(|| panic!("{facts}"))["packages"]
        .to_string();
    assert!(packages.contains("\"six\""), "{packages}");
}

/// A layer with every kind of entry a build writes: an opaque directory (removed and made
/// again), a whiteout, a hard link named before its file, a symlink, a path longer than a tar
/// header holds, a set-uid file, a FIFO, a device, other owners, an empty file and a path to
/// scrub.
const EVERY_KIND_OF_ENTRY: &str = "FROM strata-base/busybox:latest
RUN rm -rf /root && mkdir /root && echo new > /root/profile \
 && rm /etc/passwd \
 && echo data > /zz-file && ln /zz-file /aa-link && ln -s /zz-file /soft \
 && mkdir -p /opt/DEEP && echo deep > /opt/DEEP/file \
 && cp /bin/busybox /suid && chmod 4755 /suid \
 && mkfifo /fifo && mknod /null2 c 1 3 \
 && touch /empty && chown 1234:5678 /empty && mkdir /scrubbed && echo x > /scrubbed/log
";

/// Normalising the layers read from the engine's overlay2 directories (the fast path) gives the
/// bytes normalising its exported tars gives: for every kind of entry, and for a whole Debian
/// base.
#[test]
fn layers_read_from_the_engines_storage_normalise_like_the_exported_ones() {
    strata_test::require_services();
    let directory = tempfile::tempdir().unwrap();
    let deep = format!("{}/{}", "d".repeat(90), "e".repeat(120));
    fs_err::write(
        directory.path().join("Dockerfile"),
        EVERY_KIND_OF_ENTRY.replace("DEEP", &deep),
    )
    .unwrap();
    let tag = format!("strata-test/every-entry-{}", std::process::id());
    docker(&[
        "build",
        "-q",
        "-t",
        &tag,
        &directory.path().display().to_string(),
    ]);
    let debian = std::env::var("STRATA_TEST_BASE_DEBIAN").expect("the dev env names the base");
    let normalisation = strata_reproducible::Normalisation {
        epoch: 1_700_000_000,
        scrub: strata_reproducible::Scrub::new(&["/scrubbed".to_string()]).unwrap(),
        // Every layer rewritten, the base's too: both paths read all of them.
        keep: Vec::new(),
    };
    let normalised = runtime().block_on(async {
        let connect = || strata_engine::DockerEngine::connect(strata_engine::BuilderKind::BuildKit);
        let engine = connect().await.unwrap();
        let hidden = strata_test::StorageHidden(connect().await.unwrap());
        let mut normalised = Vec::new();
        for image in [tag.as_str(), debian.as_str()] {
            let (storage_store, export_store) =
                (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
            let from_storage = strata_reproducible::reproduce(
                &engine,
                image,
                &strata_reproducible::BlobStore::new(storage_store.path()),
                &normalisation,
            )
            .await
            .unwrap();
            let from_export = strata_reproducible::reproduce(
                &hidden,
                image,
                &strata_reproducible::BlobStore::new(export_store.path()),
                &normalisation,
            )
            .await
            .unwrap();
            assert!(
                from_storage.from_storage,
                "{image}: the fast path was not taken"
            );
            assert!(!from_export.from_storage);
            assert_eq!(from_storage.layers, from_export.layers, "{image}");
            assert_eq!(from_storage.manifest_digest, from_export.manifest_digest);
            assert_eq!(from_storage.scrubbed, from_export.scrubbed);
            normalised.push(from_storage.image_id);
        }
        normalised
    });
    // The normalised image, loaded into the engine, has every entry.
    let files = docker(&[
        "run",
        "--rm",
        &normalised[0],
        "sh",
        "-c",
        "ls /root; cat /aa-link; ls -l /suid /fifo /null2 /empty | cut -c1-10; test -e /etc/passwd || echo gone",
    ]);
    assert!(
        files.contains("profile")
            && files.contains("data")
            && files.contains("gone")
            && files.contains("-rwsr-xr-x")
            && files.contains("prw-r--r--")
            && files.contains("crw-r--r--"),
        "{files}"
    );
    assert!(!files.contains("/scrubbed"));
    docker(&["rmi", &tag, &normalised[0]]);
}
