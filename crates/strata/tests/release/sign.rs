//! Signing, checked against an independent implementation of cosign's format
//! (`test/sign/cosign_like.py`: pyca/cryptography, `PyNaCl` and hashlib, from cosign's
//! `SIGNATURE_SPEC` and go-securesystemslib's sealed keys) on the real registry, both ways: it
//! verifies what strata signed, strata verifies what it signed, and each refuses unsigned,
//! re-pushed and wrong-key images and payloads naming another image.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::render_output as render;
use strata_test::{fresh_namespace, TestContext};

use crate::{build_and_push, busybox_family, json, registry_digest, services};

const PASSWORD: &str = "correct horse";

fn python() -> String {
    std::env::var("STRATA_TEST_SIGN_PYTHON").expect(
        "`STRATA_TEST_SIGN_PYTHON` is not set: the signing tests check strata against an independent verifier; start the services with `scripts/dev-env.sh up`",
    )
}

/// The independent implementation, run in the test's repository.
fn cosign_like(context: &TestContext, arguments: &[&str]) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test/sign/cosign_like.py");
    Command::new(python())
        .arg(script)
        .args(arguments)
        .current_dir(&context.root)
        .output()
        .expect("run the independent verifier")
}

fn strata_with_password(context: &TestContext, password: &str, arguments: &[&str]) -> Output {
    context
        .strata()
        .env("STRATA_SIGN_PASSWORD", password)
        .args(arguments)
        .output()
        .expect("run strata")
}

/// `registry` and `repository path` of a namespace's image (as the verifier takes them).
fn split(reference: &str) -> (String, String) {
    let (registry, path) = reference.split_once('/').unwrap();
    (registry.to_string(), path.to_string())
}

#[test]
fn keys_strata_writes_open_independently_and_cosign_style_keys_open_in_strata() {
    let context = TestContext::new(crate::BINARY);
    let generated = strata_with_password(
        &context,
        PASSWORD,
        &["key", "generate", "-o", "team", "--json"],
    );
    assert!(generated.status.success(), "{}", context.render(&generated));
    let report = json(&generated);
    assert!(report["fingerprint"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    let private = context.root.join("team.key");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&fs_err::metadata(&private).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "the private key is its owner's only");
    let text = fs_err::read_to_string(&private).unwrap();
    assert!(
        text.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----"),
        "{text}"
    );
    assert!(!generated
        .stderr
        .windows(PASSWORD.len())
        .any(|window| window == PASSWORD.as_bytes()));
    // The independent reading (scrypt, secretbox, PKCS#8) finds the same public key.
    let public = cosign_like(&context, &["public", "team.key", PASSWORD]);
    assert!(public.status.success(), "{}", render(&public));
    assert_eq!(
        String::from_utf8_lossy(&public.stdout).trim(),
        fs_err::read_to_string(context.root.join("team.pub"))
            .unwrap()
            .trim()
    );
    let wrong = cosign_like(&context, &["public", "team.key", "wrong"]);
    assert!(!wrong.status.success(), "the wrong password opens nothing");

    // Existing key files are not replaced without `--force`.
    let again = strata_with_password(&context, PASSWORD, &["key", "generate", "-o", "team"]);
    assert_eq!(again.status.code(), Some(2), "{}", context.render(&again));
    assert!(String::from_utf8_lossy(&again.stderr).contains("`team.key` exists"));
    assert_eq!(fs_err::read_to_string(&private).unwrap(), text);
}

#[test]
fn what_strata_signs_verifies_independently_and_the_reverse() {
    let services = services();
    let namespace = fresh_namespace(&services.registry, "sign");
    let context = busybox_family(
        &namespace,
        &[
            (
                "base",
                "FROM strata-base/busybox:latest\nRUN echo base > /base\n",
            ),
            (
                "child",
                &format!("FROM {namespace}/base\nRUN echo child > /child\n"),
            ),
        ],
    );
    let generated = strata_with_password(&context, PASSWORD, &["key", "generate", "-o", "strata"]);
    assert!(generated.status.success(), "{}", context.render(&generated));
    let independent = cosign_like(&context, &["generate", "other", PASSWORD]);
    assert!(independent.status.success(), "{}", render(&independent));

    // A wrong password fails before anything is built or pushed.
    let wrong = strata_with_password(
        &context,
        "not it",
        &["build", "--all", "--push", "--sign", "strata.key"],
    );
    assert_eq!(wrong.status.code(), Some(2), "{}", context.render(&wrong));
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(stderr.contains("the password does not open it"), "{stderr}");
    assert_eq!(
        registry_digest(&context, &format!("{namespace}/base:latest")),
        None
    );
    // A damaged key: named, nothing pushed.
    let text = fs_err::read_to_string(context.root.join("strata.key")).unwrap();
    fs_err::write(context.root.join("truncated.key"), &text[..text.len() / 2]).unwrap();
    let truncated = strata_with_password(
        &context,
        PASSWORD,
        &["build", "--all", "--push", "--sign", "truncated.key"],
    );
    assert_eq!(
        truncated.status.code(),
        Some(2),
        "{}",
        context.render(&truncated)
    );
    assert!(String::from_utf8_lossy(&truncated.stderr).contains("truncated.key"));

    let signed = strata_with_password(
        &context,
        PASSWORD,
        &["build", "--all", "--push", "--sign", "strata.key"],
    );
    assert!(signed.status.success(), "{}", context.render(&signed));
    for image in ["base", "child"] {
        let reference = format!("{namespace}/{image}:latest");
        let digest = registry_digest(&context, &reference).expect("pushed");
        let (registry, path) = split(&format!("{namespace}/{image}"));
        let checked = cosign_like(
            &context,
            &["verify", &registry, &path, &digest, "strata.pub"],
        );
        assert!(checked.status.success(), "`{image}`: {}", render(&checked));
        let other = cosign_like(
            &context,
            &["verify", &registry, &path, &digest, "other.pub"],
        );
        assert!(!other.status.success(), "another key verifies nothing");
        let verified = context.output(&["verify", &reference, "--key", "strata.pub", "--json"]);
        assert!(verified.status.success(), "{}", context.render(&verified));
        let report = json(&verified);
        assert_eq!(report["verified"], true);
        assert_eq!(
            report["images"][0]["manifests"][0]["signed_by"][0]["key"],
            "strata.pub"
        );
        let refused = context.output(&["verify", &reference, "--key", "other.pub"]);
        assert_eq!(
            refused.status.code(),
            Some(1),
            "{}",
            context.render(&refused)
        );
        assert!(String::from_utf8_lossy(&refused.stdout)
            .contains("NOT VERIFIED: a signature none of the keys made"));
    }

    // Each image is attested: its SBOM and its provenance, signed, about that very manifest.
    let base = format!("{namespace}/base:latest");
    // `inspect --registry` says who signed it (with keys) or that it is signed.
    let inspected = context.output(&["inspect", "--registry", &base, "--key", "strata.pub"]);
    assert!(inspected.status.success(), "{}", context.render(&inspected));
    assert!(String::from_utf8_lossy(&inspected.stderr).contains("signed by strata.pub (sha256:"));
    let inspected = context.output(&["inspect", "--registry", &base]);
    assert!(String::from_utf8_lossy(&inspected.stderr)
        .contains("signed (`strata inspect --registry --key PUB`"));
    let base_digest = registry_digest(&context, &base).unwrap();
    let attested = context.output(&[
        "verify",
        &base,
        "--key",
        "strata.pub",
        "--attestation",
        "sbom",
        "--attestation",
        "provenance",
        "--json",
    ]);
    assert!(attested.status.success(), "{}", context.render(&attested));
    let report = json(&attested);
    let kinds = &report["attestations"][0];
    assert_eq!(kinds[0][0], "sbom");
    let sbom = &kinds[0][1][0]["verified"][0]["predicate"];
    assert_eq!(sbom["bomFormat"], "CycloneDX", "{report}");
    let provenance = &kinds[1][1][0]["verified"][0]["predicate"];
    let (_, labels, _) = crate::common::registry_labels(&base);
    assert_eq!(
        provenance["buildDefinition"]["internalParameters"]["inputs"], labels["org.strata.inputs"],
        "{provenance}"
    );
    let dockerfile = fs_err::read(context.root.join("images/base/Dockerfile")).unwrap();
    assert_eq!(
        provenance["buildDefinition"]["internalParameters"]["dockerfileDigest"],
        strata_registry::Digest::sha256(&dockerfile).to_string()
    );
    // The independent verifier opens the same envelopes (DSSE over in-toto).
    let (registry, base_path) = split(&format!("{namespace}/base"));
    for predicate_type in [
        "https://cyclonedx.org/bom",
        "https://slsa.dev/provenance/v1",
    ] {
        let checked = cosign_like(
            &context,
            &[
                "attestation",
                &registry,
                &base_path,
                &base_digest,
                "strata.pub",
                predicate_type,
            ],
        );
        assert!(
            checked.status.success(),
            "{predicate_type}: {}",
            render(&checked)
        );
        let other = cosign_like(
            &context,
            &[
                "attestation",
                &registry,
                &base_path,
                &base_digest,
                "other.pub",
                predicate_type,
            ],
        );
        assert!(!other.status.success());
    }

    // Promoted into another repository, the image stays verifiable there: its signature is
    // copied beside it.
    let elsewhere = format!("{namespace}/published/base:v1");
    let promoted = context.output(&["promote", &base, &elsewhere]);
    assert!(promoted.status.success(), "{}", context.render(&promoted));
    // The signatures and the attestations.
    assert!(String::from_utf8_lossy(&promoted.stderr).contains("copied 2 signature artifact(s)"));
    let verified = context.output(&["verify", &elsewhere, "--key", "strata.pub"]);
    assert!(verified.status.success(), "{}", context.render(&verified));
    let (_, published_path) = split(&format!("{namespace}/published/base"));
    let checked = cosign_like(
        &context,
        &[
            "verify",
            &registry,
            &published_path,
            &base_digest,
            "strata.pub",
        ],
    );
    assert!(checked.status.success(), "{}", render(&checked));

    // The reverse: the independent signer signs the child (its manifest replaces strata's
    // signature, as a first signer's would); strata verifies it with its public key only.
    let child = format!("{namespace}/child:latest");
    let child_digest = registry_digest(&context, &child).unwrap();
    let (registry, child_path) = split(&format!("{namespace}/child"));
    let theirs = cosign_like(
        &context,
        &[
            "sign",
            &registry,
            &child_path,
            &child_digest,
            "other.key",
            PASSWORD,
        ],
    );
    assert!(theirs.status.success(), "{}", render(&theirs));
    let verified = context.output(&["verify", &child, "--key", "other.pub"]);
    assert!(verified.status.success(), "{}", context.render(&verified));
    assert!(!context
        .output(&["verify", &child, "--key", "strata.pub"])
        .status
        .success());
    // strata signs again: its signature is added beside theirs, and both verify, in both.
    let resigned = strata_with_password(
        &context,
        PASSWORD,
        &["build", "--all", "--push", "--sign", "strata.key"],
    );
    assert!(resigned.status.success(), "{}", context.render(&resigned));
    for key in ["strata.pub", "other.pub"] {
        let verified = context.output(&["verify", &child, "--key", key]);
        assert!(
            verified.status.success(),
            "{key}: {}",
            context.render(&verified)
        );
        let checked = cosign_like(
            &context,
            &["verify", &registry, &child_path, &child_digest, key],
        );
        assert!(checked.status.success(), "{key}: {}", render(&checked));
    }

    // A corrupted signature layer (its signature annotation damaged): refused by both.
    let child_sig = strata_registry::parse_reference(&format!(
        "{namespace}/child:{}",
        child_digest.replace(':', "-") + ".sig"
    ))
    .unwrap();
    let client = strata_registry::RegistryClient::new();
    let mut artifact = strata_test::runtime()
        .block_on(client.artifact(&child_sig))
        .unwrap()
        .expect("the child's signatures");
    for layer in &mut artifact.layers {
        layer.annotations.insert(
            "dev.cosignproject.cosign/signature".to_string(),
            "MEUCIQDamaged".to_string(),
        );
    }
    let config = strata_registry::ArtifactLayer {
        media_type: strata_registry::OCI_IMAGE_CONFIG.to_string(),
        bytes: bytes::Bytes::from_static(b"{}"),
        annotations: std::collections::BTreeMap::new(),
    };
    strata_test::runtime()
        .block_on(client.push_oci_manifest(
            &child_sig,
            None,
            &config,
            &artifact.layers,
            &std::collections::BTreeMap::new(),
        ))
        .unwrap();
    let refused = context.output(&["verify", &child, "--key", "strata.pub"]);
    assert_eq!(
        refused.status.code(),
        Some(1),
        "{}",
        context.render(&refused)
    );
    assert!(String::from_utf8_lossy(&refused.stdout).contains("a signature none of the keys made"));
    assert!(!cosign_like(
        &context,
        &[
            "verify",
            &registry,
            &child_path,
            &child_digest,
            "strata.pub"
        ]
    )
    .status
    .success());

    // A signature, by the right key, of a payload naming another image: refused by both.
    let lying = cosign_like(
        &context,
        &[
            "sign",
            &registry,
            &base_path,
            &base_digest,
            "strata.key",
            PASSWORD,
            &child_digest,
        ],
    );
    assert!(lying.status.success(), "{}", render(&lying));
    let refused = context.output(&["verify", &base, "--key", "strata.pub"]);
    assert_eq!(
        refused.status.code(),
        Some(1),
        "{}",
        context.render(&refused)
    );
    assert!(
        String::from_utf8_lossy(&refused.stdout).contains("of another image"),
        "{}",
        context.render(&refused)
    );
    assert!(!cosign_like(
        &context,
        &["verify", &registry, &base_path, &base_digest, "strata.pub"]
    )
    .status
    .success());

    // Re-pushed: the tag now names an image nobody signed.
    let retagged = busybox_family(
        &namespace,
        &[(
            "base",
            "FROM strata-base/busybox:latest\nRUN echo tampered > /base\n",
        )],
    );
    build_and_push(&retagged);
    let refused = context.output(&["verify", &base, "--key", "strata.pub"]);
    assert_eq!(
        refused.status.code(),
        Some(1),
        "{}",
        context.render(&refused)
    );
    assert!(String::from_utf8_lossy(&refused.stdout).contains("no signature"));

    // A key the independent implementation wrote, as cosign writes them, signs in strata.
    fs_err::copy(
        context.root.join("other.key"),
        retagged.root.join("other.key"),
    )
    .unwrap();
    fs_err::copy(
        context.root.join("other.pub"),
        retagged.root.join("other.pub"),
    )
    .unwrap();
    let signed = strata_with_password(
        &retagged,
        PASSWORD,
        &["build", "--all", "--push", "--sign", "other.key"],
    );
    assert!(signed.status.success(), "{}", retagged.render(&signed));
    let tampered_digest = registry_digest(&context, &base).unwrap();
    let checked = cosign_like(
        &retagged,
        &[
            "verify",
            &registry,
            &base_path,
            &tampered_digest,
            "other.pub",
        ],
    );
    assert!(checked.status.success(), "{}", render(&checked));
    assert!(retagged
        .output(&["verify", &base, "--key", "other.pub"])
        .status
        .success());
}

#[test]
fn a_trust_policy_refuses_bases_not_signed_by_its_keys_before_the_engine_is_touched() {
    let services = services();
    let namespace = fresh_namespace(&services.registry, "trust");
    // Upstream publishes two bases; only `base` is signed, with upstream's key.
    let upstream = busybox_family(
        &format!("{namespace}/upstream"),
        &[
            (
                "base",
                "FROM strata-base/busybox:latest\nRUN echo base > /base\n",
            ),
            (
                "raw",
                "FROM strata-base/busybox:latest\nRUN echo raw > /raw\n",
            ),
        ],
    );
    for name in ["upstream", "impostor"] {
        let key = strata_with_password(&upstream, PASSWORD, &["key", "generate", "-o", name]);
        assert!(key.status.success(), "{}", upstream.render(&key));
    }
    build_and_push(&upstream);
    let base = format!("{namespace}/upstream/base:latest");
    let raw = format!("{namespace}/upstream/raw:latest");
    let base_digest = registry_digest(&upstream, &base).unwrap();
    let (registry, base_path) = split(&format!("{namespace}/upstream/base"));
    let signed = cosign_like(
        &upstream,
        &[
            "sign",
            &registry,
            &base_path,
            &base_digest,
            "upstream.key",
            PASSWORD,
        ],
    );
    assert!(signed.status.success(), "{}", render(&signed));

    let inspected = upstream.output(&["inspect", "--registry", &raw]);
    assert!(
        String::from_utf8_lossy(&inspected.stderr).contains("not signed"),
        "{}",
        upstream.render(&inspected)
    );
    // Signed by a tool that attests nothing: the signature verifies, an attestation does not.
    assert!(upstream
        .output(&["verify", &base, "--key", "upstream.pub"])
        .status
        .success());
    let unattested = upstream.output(&[
        "verify",
        &base,
        "--key",
        "upstream.pub",
        "--attestation",
        "sbom",
    ]);
    assert_eq!(
        unattested.status.code(),
        Some(1),
        "{}",
        upstream.render(&unattested)
    );
    assert!(
        String::from_utf8_lossy(&unattested.stdout).contains("sbom NOT VERIFIED: no attestation")
    );

    let mut family = busybox_family(
        &format!("{namespace}/family"),
        &[("sci", &format!("FROM {base}\nRUN echo sci > /sci\n"))],
    );
    fs_err::copy(
        upstream.root.join("upstream.pub"),
        family.root.join("upstream.pub"),
    )
    .unwrap();
    family.write(
        "strata.toml",
        &format!(
            "repo = \"{namespace}/family\"\n\n[trust]\n\"{namespace}/upstream/*\" = [\"upstream.pub\"]\n"
        ),
    );
    family.commit("trust upstream's key");
    let plan = family.output(&["plan", "--all"]);
    assert!(plan.status.success(), "{}", family.render(&plan));
    let stderr = String::from_utf8_lossy(&plan.stderr);
    assert!(
        stderr.contains(&format!("base `{base}` verified: signed by upstream.pub")),
        "{stderr}"
    );

    // An unsigned base: refused by plan and build, naming the base, the image, the key and
    // what failed — and before the engine (which is not there) is asked anything.
    family.write(
        "images/sci/Dockerfile",
        &format!("FROM {raw}\nRUN echo sci > /sci\n"),
    );
    family.commit("an unsigned base");
    for arguments in [&["plan", "--all"][..], &["build", "--all", "--push"][..]] {
        let refused = family
            .strata()
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .args(arguments)
            .output()
            .unwrap();
        assert_eq!(
            refused.status.code(),
            Some(2),
            "{}",
            family.render(&refused)
        );
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            stderr.contains(&format!("the base `{raw}` (of sci) is refused"))
                && stderr.contains("requires a signature by ")
                && stderr.contains("upstream.pub")
                && stderr.contains("no signature"),
            "{stderr}"
        );
    }
    // `pin` records only verified digests: refused, the Dockerfile left as it was.
    let dockerfile = fs_err::read_to_string(family.root.join("images/sci/Dockerfile")).unwrap();
    let pin = family.output(&["pin"]);
    assert_eq!(pin.status.code(), Some(2), "{}", family.render(&pin));
    assert!(String::from_utf8_lossy(&pin.stderr).contains("is refused"));
    assert_eq!(
        fs_err::read_to_string(family.root.join("images/sci/Dockerfile")).unwrap(),
        dockerfile
    );
    // Signed, but by another key: refused too.
    let raw_digest = registry_digest(&upstream, &raw).unwrap();
    let (_, raw_path) = split(&format!("{namespace}/upstream/raw"));
    let impostor = cosign_like(
        &upstream,
        &[
            "sign",
            &registry,
            &raw_path,
            &raw_digest,
            "impostor.key",
            PASSWORD,
        ],
    );
    assert!(impostor.status.success(), "{}", render(&impostor));
    let refused = family.output(&["build", "--all"]);
    assert_eq!(
        refused.status.code(),
        Some(2),
        "{}",
        family.render(&refused)
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("a signature none of the keys made"));
    // Signed right: it builds.
    let signed = cosign_like(
        &upstream,
        &[
            "sign",
            &registry,
            &raw_path,
            &raw_digest,
            "upstream.key",
            PASSWORD,
        ],
    );
    assert!(signed.status.success(), "{}", render(&signed));
    let built = family.output(&["build", "--all"]);
    assert!(built.status.success(), "{}", family.render(&built));
    let pin = family.output(&["pin"]);
    assert!(pin.status.success(), "{}", family.render(&pin));
    let pinned = fs_err::read_to_string(family.root.join("images/sci/Dockerfile")).unwrap();
    assert!(pinned.contains(&format!("{raw}@{raw_digest}")), "{pinned}");
    family.commit("pin the base");

    // Upstream moves the tag: `outdated` says whether the new image is signed, and by whom.
    let mut upstream = upstream;
    upstream.write(
        "images/raw/Dockerfile",
        "FROM strata-base/busybox:latest
RUN echo raw 2 > /raw
",
    );
    upstream.commit("a new raw");
    build_and_push(&upstream);
    let moved = family.output(&["outdated"]);
    let text = String::from_utf8_lossy(&moved.stdout).to_string();
    assert!(text.contains("NOT signed"), "{}", family.render(&moved));
    let new_digest = registry_digest(&upstream, &raw).unwrap();
    let signed = cosign_like(
        &upstream,
        &[
            "sign",
            &registry,
            &raw_path,
            &new_digest,
            "upstream.key",
            PASSWORD,
        ],
    );
    assert!(signed.status.success(), "{}", render(&signed));
    let moved = family.output(&["outdated", "--json"]);
    let report = json(&moved);
    assert_eq!(
        report["bases"][0]["signature"]["status"], "verified",
        "{report}"
    );
    assert_eq!(
        report["bases"][0]["signature"]["signed_by"][0],
        "upstream.pub"
    );
}
