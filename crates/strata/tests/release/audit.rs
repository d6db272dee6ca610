//! `strata audit`: hand-written OSV records (`test/audit/osv`) imported into a store, and a
//! Debian image with a probe package built on the real engine, at an affected version and at
//! its fixed one.

use std::path::Path;

use strata_test::fresh_namespace;

use crate::{build_and_push, busybox_family, json, services};

const PROBE: &str = "printf '\\nPackage: strata-probe\\nStatus: install ok installed\\nArchitecture: all\\nVersion: VERSION\\nDescription: a probe\\n' >> /var/lib/dpkg/status";

#[test]
fn advisories_match_by_release_and_version_merge_aliases_and_leave_withdrawn_ones_out() {
    let services = services();
    let namespace = fresh_namespace(&services.registry, "audit");
    let debian = std::env::var("STRATA_TEST_BASE_DEBIAN").expect("set by scripts/dev-env.sh env");
    let context = busybox_family(
        &namespace,
        &[
            (
                "affected",
                &format!("FROM {debian}\nRUN {}\n", PROBE.replace("VERSION", "1.2-1")),
            ),
            (
                "fixed",
                &format!("FROM {debian}\nRUN {}\n", PROBE.replace("VERSION", "1.3-1")),
            ),
            (
                "child",
                &format!("FROM {namespace}/affected\nRUN echo child > /child\n"),
            ),
        ],
    );
    build_and_push(&context);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test/audit/osv");
    let imported = context.output(&[
        "audit",
        "import",
        "--db",
        "store",
        fixtures.to_str().unwrap(),
        "--json",
    ]);
    assert!(imported.status.success(), "{}", context.render(&imported));
    let summary = json(&imported);
    assert_eq!(summary["records"], 6);
    assert_eq!(summary["withdrawn"], 1);
    assert_eq!(
        summary["ecosystems"],
        serde_json::json!(["Debian:11", "Debian:12", "PyPI"])
    );

    // Read from the local engine, under strace: no network connection, only the engine's socket.
    let affected = format!("{namespace}/affected:latest");
    let trace = context.root.join("connect.trace");
    let strata = context.strata();
    let mut traced = std::process::Command::new("strace");
    traced
        .args(["-f", "-e", "trace=connect", "-o"])
        .arg(&trace)
        .arg(strata.get_program())
        .args(["audit", &affected, "--db", "store", "--json"])
        .current_dir(&context.root);
    for (key, value) in strata.get_envs() {
        match value {
            Some(value) => traced.env(key, value),
            None => traced.env_remove(key),
        };
    }
    let output = traced
        .output()
        .expect("strace runs (Debian: apt-get install strace)");
    assert!(output.status.success(), "{}", context.render(&output));
    let connects = fs_err::read_to_string(&trace).unwrap();
    assert!(
        !connects.contains("AF_INET"),
        "an audit connects to nothing but the engine:\n{connects}"
    );
    let report = json(&output);
    let findings = report["images"][0]["findings"].as_array().unwrap();
    assert_eq!(report["images"][0]["distribution"], "Debian:12");
    // One finding for the CVE the two records share, at the higher of their ratings; none for
    // the advisory fixed before 1.2-1, the withdrawn one, or Debian 11's.
    assert_eq!(findings.len(), 1, "{findings:?}");
    let finding = &findings[0];
    assert_eq!(finding["id"], "CVE-2026-0001");
    assert_eq!(
        finding["aliases"],
        serde_json::json!(["CVE-2026-0001", "DEBIAN-CVE-2026-0001", "DSA-9999-1"])
    );
    assert_eq!(finding["package"], "strata-probe");
    assert_eq!(finding["version"], "1.2-1");
    assert_eq!(finding["fixed"], "1.3-1");
    assert_eq!(finding["severity"], "high");
    // Brought in by the image's own layer (the `RUN` on top of the Debian base), not the base's.
    let layers = json(&context.output(&["inspect", &affected, "--json"]))["layers"].clone();
    let last = layers.as_array().unwrap().len();
    assert_eq!(finding["layer"]["index"], last, "{finding}");
    assert_eq!(finding["layer"]["diff_id"], layers[last - 1]["diff_id"]);

    // At its fixed version: nothing.
    let fixed = context.output(&[
        "audit",
        &format!("{namespace}/fixed:latest"),
        "--db",
        "store",
        "--json",
        "--registry",
    ]);
    // From the registry, the layer also names its step.
    let registry_affected =
        context.output(&["audit", &affected, "--db", "store", "--json", "--registry"]);
    let layer = &json(&registry_affected)["images"][0]["findings"][0]["layer"];
    assert!(
        layer["step"]
            .as_str()
            .is_some_and(|step| step.contains("strata-probe")),
        "{layer}"
    );
    assert!(fixed.status.success(), "{}", context.render(&fixed));
    assert_eq!(json(&fixed)["images"][0]["findings"], serde_json::json!([]));

    // `--fail-on`: a high finding fails `high`, not `critical`.
    let failing = context.output(&["audit", &affected, "--db", "store", "--fail-on", "high"]);
    assert_eq!(
        failing.status.code(),
        Some(1),
        "{}",
        context.render(&failing)
    );
    let text = String::from_utf8_lossy(&failing.stdout);
    assert!(
        text.contains("CVE-2026-0001") && text.contains("fixed in 1.3-1"),
        "{text}"
    );
    let passing = context.output(&["audit", &affected, "--db", "store", "--fail-on", "critical"]);
    assert_eq!(
        passing.status.code(),
        Some(0),
        "{}",
        context.render(&passing)
    );

    // The whole family (the repository, each image by its tags): the child's finding is its
    // parent's package, reported once, at the parent.
    let family = context.output(&["audit", "--db", "store", "--json", "--registry"]);
    assert!(family.status.success(), "{}", context.render(&family));
    let family = json(&family);
    let image = |name: &str| {
        family["images"]
            .as_array()
            .unwrap()
            .iter()
            .find(|image| image["name"] == name)
            .unwrap_or_else(|| panic!("`{name}` in {family}"))
            .clone()
    };
    assert_eq!(image("affected")["findings"].as_array().unwrap().len(), 1);
    assert_eq!(image("child")["findings"], serde_json::json!([]));
    assert_eq!(image("child")["inherited"], 1);
    assert_eq!(image("child")["inherited_from"], "affected");
    assert_eq!(image("fixed")["findings"], serde_json::json!([]));

    // What would fix it: the package came with the image's own layer, so an upgrade there.
    assert_eq!(finding["introduced_by"], affected.as_str());
    assert_eq!(finding["fix"]["kind"], "upgrade", "{finding}");
    assert_eq!(finding["fix"]["layer"], last);
    assert!(
        finding["fix"]["command"]
            .as_str()
            .is_some_and(|command| command.contains("--only-upgrade -y strata-probe")),
        "{finding}"
    );

    // With an advisory about a package of the Debian base: the family audit reads the base
    // once (from the engine that built on it), reports its finding there, once, and counts it
    // as inherited by every image on it; its fix is a newer base.
    let base_fixtures = fixtures.with_file_name("osv-extra");
    let imported = context.output(&[
        "audit",
        "db",
        "import",
        "--db",
        "store-base",
        fixtures.to_str().unwrap(),
        base_fixtures.to_str().unwrap(),
    ]);
    assert!(imported.status.success(), "{}", context.render(&imported));
    let with_base = context.output(&["audit", "--db", "store-base", "--json"]);
    assert!(with_base.status.success(), "{}", context.render(&with_base));
    let with_base = json(&with_base);
    let reports = with_base["images"].as_array().unwrap();
    let bases: Vec<_> = reports
        .iter()
        .filter(|image| image["base"] == true)
        .collect();
    assert_eq!(bases.len(), 1, "one base report: {with_base}");
    assert_eq!(bases[0]["image"], debian.as_str());
    let zlib = &bases[0]["findings"][0];
    assert_eq!(zlib["id"], "CVE-2026-0100", "{zlib}");
    assert_eq!(zlib["installed"], serde_json::json!(["zlib1g"]));
    assert_eq!(zlib["layer"]["index"], 1);
    assert_eq!(zlib["introduced_by"], debian.as_str());
    assert_eq!(zlib["fix"]["kind"], "base");
    let named = |name: &str| {
        reports
            .iter()
            .find(|image| image["name"] == name)
            .unwrap_or_else(|| panic!("`{name}` in {with_base}"))
            .clone()
    };
    for name in ["affected", "fixed"] {
        let report = named(name);
        assert_eq!(report["inherited"], 1, "{report}");
        assert_eq!(report["inherited_from"], debian.as_str());
        assert!(report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|finding| finding["package"] != "zlib"));
    }
    // The child has the base's finding through its parent: inherited from `affected`, with
    // the probe's.
    assert_eq!(named("child")["inherited"], 2);
    // Each package several images hold at one version was matched once, and each layer stack
    // read once: the base's layer is shared by every image.
    let work = &with_base["work"];
    assert!(
        work["packages_matched"].as_u64().unwrap() < work["packages_seen"].as_u64().unwrap() / 3,
        "{work}"
    );
    // Auditing one image on the base, its finding stays the image's, fixed by a newer base.
    let single = json(&context.output(&["audit", &affected, "--db", "store-base", "--json"]));
    let zlib = single["images"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|finding| finding["package"] == "zlib")
        .cloned()
        .unwrap_or_else(|| panic!("zlib in {single}"));
    assert_eq!(zlib["fix"]["kind"], "base", "{zlib}");
    assert_eq!(zlib["fix"]["base"], debian.as_str());

    // A selection of the family: the child alone; the image it is built on, not selected, is
    // read as its base, once, and the child's findings are reported there.
    let selected = context.output(&[
        "audit",
        "--db",
        "store",
        "--json",
        "--include",
        "images/child",
    ]);
    assert!(selected.status.success(), "{}", context.render(&selected));
    let selected = json(&selected);
    let audited: Vec<_> = selected["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|image| image["name"].as_str().unwrap_or("(base)").to_string())
        .collect();
    assert_eq!(audited, ["(base)", "child"], "{selected}");
    assert_eq!(selected["images"][1]["inherited"], 1, "{selected}");

    // SARIF for code scanning: a rule per advisory, a result per finding at the Dockerfile
    // line whose layer brought the package in.
    let sarif = context.output(&[
        "audit",
        "--db",
        "store",
        "--sarif",
        "--registry",
        "-o",
        "audit.sarif",
    ]);
    assert!(sarif.status.success(), "{}", context.render(&sarif));
    let sarif: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(context.root.join("audit.sarif")).unwrap())
            .unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["rules"][0]["id"], "CVE-2026-0001");
    assert_eq!(
        run["tool"]["driver"]["rules"][0]["properties"]["security-severity"],
        "8.0"
    );
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "the child's is its parent's: {sarif}");
    let location = &results[0]["locations"][0]["physicalLocation"];
    assert_eq!(
        location["artifactLocation"]["uri"],
        "images/affected/Dockerfile"
    );
    assert_eq!(location["region"]["startLine"], 2, "the RUN line: {sarif}");
    assert_eq!(results[0]["level"], "error");

    // CycloneDX: the image's SBOM with the finding affecting the probe's component.
    let cyclonedx = context.output(&["audit", &affected, "--db", "store", "--cyclonedx"]);
    assert!(cyclonedx.status.success(), "{}", context.render(&cyclonedx));
    let bom = json(&cyclonedx);
    assert_eq!(bom["bomFormat"], "CycloneDX");
    let vulnerability = &bom["vulnerabilities"][0];
    assert_eq!(vulnerability["id"], "CVE-2026-0001");
    let reference = vulnerability["affects"][0]["ref"].as_str().unwrap();
    let component = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|component| component["bom-ref"] == reference)
        .unwrap_or_else(|| panic!("{reference} is a component of {bom}"));
    assert_eq!(component["name"], "strata-probe");
    assert_eq!(component["version"], "1.2-1");
    assert!(vulnerability["recommendation"]
        .as_str()
        .is_some_and(|text| text.contains("strata-probe")));

    // An export given as the store is imported once, into the cache, and read from there
    // while it is unchanged.
    let from_export = context.output(&[
        "audit",
        &affected,
        "--db",
        fixtures.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        from_export.status.success(),
        "{}",
        context.render(&from_export)
    );
    assert_eq!(
        json(&from_export)["images"][0]["findings"][0]["id"],
        "CVE-2026-0001"
    );
    let kept: Vec<_> = fs_err::read_dir(context.cache_dir().join("audit"))
        .unwrap()
        .collect();
    assert_eq!(kept.len(), 1, "one store imported from the export");

    // Each platform of a multi-platform image is its own report.
    let multi = std::env::var("STRATA_TEST_MULTI_PLATFORM_BUSYBOX").expect("set by dev-env");
    let platforms = context.output(&[
        "audit",
        &multi,
        "--registry",
        "--platform",
        "linux/amd64,linux/arm64",
        "--db",
        "store",
        "--json",
    ]);
    assert!(platforms.status.success(), "{}", context.render(&platforms));
    let platforms = json(&platforms);
    let read: Vec<_> = platforms["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|image| image["platform"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(read, ["linux/amd64", "linux/arm64"], "{platforms}");

    // The catalogue shows each image's findings: the parent's on its page, the child's naming
    // the parent it comes from; the front page counts them.
    let written = context.output(&["catalog", "--audit-db", "store", "-o", "site"]);
    assert!(written.status.success(), "{}", context.render(&written));
    let catalog: serde_json::Value = serde_json::from_str(
        &fs_err::read_to_string(context.root.join("site/catalog.json")).unwrap(),
    )
    .unwrap();
    let entry = |name: &str| {
        catalog["images"]
            .as_array()
            .unwrap()
            .iter()
            .find(|image| image["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("`{name}` in {catalog}"))
    };
    let own = &entry("affected")["vulnerabilities"];
    assert_eq!(own.as_array().unwrap().len(), 1, "{own}");
    assert_eq!(own[0]["id"], "CVE-2026-0001");
    assert_eq!(own[0]["from"], serde_json::Value::Null);
    let inherited = &entry("child")["vulnerabilities"][0];
    assert_eq!(inherited["from"], "affected", "{inherited}");
    assert_eq!(inherited["from_page"], "images/affected.html");
    assert_eq!(entry("fixed")["vulnerabilities"], serde_json::json!([]));
    let page = fs_err::read_to_string(context.root.join("site/images/child.html")).unwrap();
    assert!(
        page.contains("Known vulnerabilities") && page.contains("CVE-2026-0001"),
        "{page}"
    );
    assert!(
        page.contains("<a href=\"affected.html\">affected</a>"),
        "{page}"
    );
    let front = fs_err::read_to_string(context.root.join("site/index.html")).unwrap();
    assert!(front.contains("1 (high)"), "{front}");

    // `strata build --audit`: a changed image with a finding at least that severe fails its
    // build before any tag moves (exit 3, naming the finding); below it, it builds and tags.
    let image_id = |reference: &str| {
        json(&context.output(&["inspect", reference, "--json"]))["id"]
            .as_str()
            .map(str::to_string)
    };
    let before = image_id(&affected).expect("built");
    let mut dockerfile =
        fs_err::read_to_string(context.root.join("images/affected/Dockerfile")).unwrap();
    dockerfile.push_str("RUN echo audited > /audited\n");
    context.write("images/affected/Dockerfile", &dockerfile);
    let refused = context.output(&[
        "build",
        "--include",
        "images/affected",
        "--audit",
        "high",
        "--audit-db",
        "store",
    ]);
    assert_eq!(
        refused.status.code(),
        Some(3),
        "{}",
        context.render(&refused)
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("CVE-2026-0001 in strata-probe 1.2-1")
            && stderr.contains("no tag was moved"),
        "{stderr}"
    );
    assert_eq!(
        image_id(&affected).as_deref(),
        Some(before.as_str()),
        "the tag did not move"
    );
    let no_store = context.output(&["build", "--include", "images/affected", "--audit", "high"]);
    assert_eq!(
        no_store.status.code(),
        Some(2),
        "{}",
        context.render(&no_store)
    );
    let accepted = context.output(&[
        "build",
        "--include",
        "images/affected",
        "--audit",
        "critical",
        "--audit-db",
        "store",
    ]);
    assert!(accepted.status.success(), "{}", context.render(&accepted));
    assert_ne!(
        image_id(&affected).as_deref(),
        Some(before.as_str()),
        "the tag moved"
    );

    // Bad input is named: not a store, not an OSV record.
    let missing = context.output(&["audit", &affected, "--db", "nowhere"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("strata audit import"));
    context.write("broken/DSA-1.json", "{\"id\": ");
    let broken = context.output(&["audit", "import", "--db", "other", "broken"]);
    assert_eq!(broken.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&broken.stderr).contains("DSA-1.json"));
    assert!(!context.root.join("other").exists(), "nothing half-written");
    // The store imported before is still whole.
    assert!(context.root.join("store/store.json").is_file());
}

/// Python (dist-info), conda (`conda-meta`, approximately, by the PyPI name its files install)
/// and R (`DESCRIPTION`) packages of an image built on the engine, each matched in its
/// ecosystem, each with the fix that suits it.
#[test]
fn python_conda_and_r_packages_are_matched_in_their_ecosystems() {
    let services = services();
    let namespace = fresh_namespace(&services.registry, "audit-ecosystems");
    let busybox = std::env::var("STRATA_TEST_BASE_BUSYBOX").expect("set by scripts/dev-env.sh env");
    let dist_info = "/usr/lib/python3/dist-packages/Strata_Probe-2.0.1.dist-info";
    let conda = "/opt/conda/conda-meta";
    let library = "/usr/local/lib/R/site-library/strataprobe";
    let dockerfile = format!(
        "FROM {busybox}\n\
         RUN mkdir -p {dist_info} {conda} {library} \\\n \
         && printf 'Metadata-Version: 2.1\\nName: Strata_Probe\\nVersion: 2.0.1\\n' > {dist_info}/METADATA \\\n \
         && printf '{{\"name\": \"strata-probe\", \"version\": \"2.0.2\", \"build\": \"py_0\", \"files\": [\"lib/python3.12/site-packages/strata_probe-2.0.2.dist-info/METADATA\"]}}' > {conda}/strata-probe-2.0.2-py_0.json \\\n \
         && printf 'Package: strataprobe\\nVersion: 0.9-1\\n' > {library}/DESCRIPTION\n"
    );
    let mut context = busybox_family(&namespace, &[("probes", &dockerfile)]);
    context.write(
        "images/probes/requirements.lock",
        "strata-probe==2.0.1 \\\n    --hash=sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
    );
    context.commit("a lock beside the Dockerfile");
    build_and_push(&context);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test/audit");
    let imported = context.output(&[
        "audit",
        "import",
        "--db",
        "store",
        fixtures.join("osv").to_str().unwrap(),
        fixtures.join("osv-extra").to_str().unwrap(),
    ]);
    assert!(imported.status.success(), "{}", context.render(&imported));
    let output = context.output(&["audit", "--db", "store", "--json"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let report = json(&output);
    let probes = report["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|image| image["name"] == "probes")
        .cloned()
        .unwrap_or_else(|| panic!("probes in {report}"));
    let findings = probes["findings"].as_array().unwrap();
    let found: Vec<(String, String, String, bool)> = findings
        .iter()
        .map(|finding| {
            (
                finding["ecosystem"].as_str().unwrap().to_string(),
                finding["id"].as_str().unwrap().to_string(),
                finding["location"].as_str().unwrap_or_default().to_string(),
                finding["approximate"] == true,
            )
        })
        .collect();
    // Most severe first (then by package name as written): the critical PyPI advisory, in the
    // Python environment and in the conda prefix (approximate), then the R package's moderate
    // one. Places are as `strata inspect` names them.
    let expected = [
        (
            "PyPI",
            "CVE-2026-0004",
            "/usr/lib/python3/dist-packages",
            false,
        ),
        ("PyPI", "CVE-2026-0004", "opt/conda", true),
        (
            "CRAN",
            "CVE-2026-0200",
            "usr/local/lib/R/site-library",
            false,
        ),
    ]
    .map(|(ecosystem, id, location, approximate)| {
        (
            ecosystem.to_string(),
            id.to_string(),
            location.to_string(),
            approximate,
        )
    });
    assert_eq!(found, expected, "{probes}");
    let by_location = |location: &str| {
        findings
            .iter()
            .find(|finding| finding["location"] == location)
            .unwrap()
            .clone()
    };
    let python = by_location("/usr/lib/python3/dist-packages");
    assert_eq!(python["fixed"], "2.0.5");
    assert_eq!(python["severity"], "critical");
    // Pinned by the lock beside its Dockerfile: re-lock it.
    assert_eq!(python["fix"]["kind"], "relock", "{python}");
    assert_eq!(python["fix"]["lock"], "images/probes/requirements.lock");
    assert_eq!(python["fix"]["requirement"], "Strata_Probe>=2.0.5");
    let conda = by_location("opt/conda");
    assert_eq!(conda["version"], "2.0.2");
    assert!(
        conda["fix"]["command"]
            .as_str()
            .is_some_and(|command| command.starts_with("conda install")),
        "{conda}"
    );
    let r = by_location("usr/local/lib/R/site-library");
    assert_eq!(r["package"], "strataprobe");
    assert_eq!(r["version"], "0.9-1");
    assert_eq!(r["fixed"], "1.0-0");
    assert_eq!(r["severity"], "medium");
}
