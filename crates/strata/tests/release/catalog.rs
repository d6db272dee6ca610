//! `strata catalog`: the family's catalogue from what its registry holds, its web pages read in
//! a real browser (Debian's chromium driven by playwright-core: `test/catalog/browse.mjs`).

use std::path::Path;

use strata_test::fresh_namespace;

use crate::{build_and_push, busybox_family, json, registry_digest, services};

#[test]
fn the_catalogue_holds_every_image_with_its_packages_and_a_page_each() {
    let services = services();
    let namespace = fresh_namespace(&services.registry, "catalog");
    let debian = std::env::var("STRATA_TEST_BASE_DEBIAN").expect("set by scripts/dev-env.sh env");
    let mut context = busybox_family(
        &namespace,
        &[
            (
                "base",
                &format!(
                    "FROM {debian}\nLABEL org.opencontainers.image.description=\"A Debian base\"\n"
                ),
            ),
            (
                "tool",
                // A Debian package only the tool has, as dpkg records one.
                &format!(
                    "FROM {namespace}/base\nRUN echo tool > /tool && printf '\\nPackage: strata-probe\\nStatus: install ok installed\\nArchitecture: all\\nVersion: 1.2-1\\nDescription: a probe\\n' >> /var/lib/dpkg/status\n"
                ),
            ),
        ],
    );
    context.write(
        "images/tool/README.md",
        "# Tool\n\nThe tool, on the base.\n",
    );
    // A test the tool's build runs, and what its page lists of it.
    let settings = fs_err::read_to_string(context.root.join("strata.toml")).unwrap();
    // And an image published for two platforms (no `RUN`: nothing to emulate).
    let multi =
        std::env::var("STRATA_TEST_MULTI_PLATFORM_BUSYBOX").expect("set by scripts/dev-env.sh env");
    context.write(
        "images/multi/Dockerfile",
        &format!("FROM {multi}\nLABEL org.opencontainers.image.description=\"Two platforms\"\n"),
    );
    context.write(
        "strata.toml",
        &format!("{settings}\n[[images.tool.tests]]\nname = \"the tool is there\"\ncommand = [\"test\", \"-f\", \"/tool\"]\n\n[images.multi]\nplatforms = [\"linux/amd64\", \"linux/arm64\"]\n"),
    );
    context.commit("a README, a test, a multi-platform image");
    build_and_push(&context);
    // The tool's next release: its probe package moves on.
    let dockerfile = fs_err::read_to_string(context.root.join("images/tool/Dockerfile")).unwrap();
    context.write(
        "images/tool/Dockerfile",
        &dockerfile.replace("Version: 1.2-1", "Version: 1.3-1"),
    );
    context.commit("the probe 1.3");
    // Released signed: the pages name the key that verified it.
    let signing = |arguments: &[&str]| {
        let output = context
            .strata()
            .env("STRATA_SIGN_PASSWORD", "catalogue")
            .args(arguments)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", context.render(&output));
    };
    signing(&["key", "generate", "-o", "team"]);
    signing(&[
        "build",
        "--all",
        "--push",
        "--no-manifests",
        "--sign",
        "team.key",
    ]);
    // A release tag on the tool's newest build, moved inside the registry.
    let promoted = context.output(&["promote", &format!("{namespace}/tool:latest"), "stable"]);
    assert!(promoted.status.success(), "{}", context.render(&promoted));
    // An image added since, not built yet.
    context.write(
        "images/later/Dockerfile",
        &format!("FROM {namespace}/base\nRUN echo later > /later\n"),
    );
    context.commit("a later image");

    let output = context.output(&[
        "catalog",
        "--registry",
        "--key",
        "team.pub",
        "-o",
        "site",
        "--json",
    ]);
    assert!(output.status.success(), "{}", context.render(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("`later` is not published"), "{stderr}");
    let catalog: serde_json::Value =
        serde_json::from_slice(&fs_err::read(context.root.join("site/catalog.json")).unwrap())
            .unwrap();
    assert_eq!(catalog["schema_version"], 1);
    let images = catalog["images"].as_array().unwrap();
    let names: Vec<&str> = images
        .iter()
        .map(|image| image["name"].as_str().unwrap())
        .collect();
    // Graph order: the base before what is built on it.
    assert_eq!(names.len(), 4, "{names:?}");
    assert_eq!(names[0], "base", "{names:?}");
    let image = |name: &str| images.iter().find(|image| image["name"] == name).unwrap();
    let base = image("base");
    assert_eq!(base["description"], "A Debian base");
    assert_eq!(base["published"], true);
    assert_eq!(image("tool")["parent"], "base");
    assert_eq!(image("tool")["description"], "The tool, on the base.");
    assert_eq!(image("later")["published"], false);
    assert_eq!(
        base["digest"].as_str(),
        registry_digest(&context, &format!("{namespace}/base:latest")).as_deref()
    );
    // Its packages are what `inspect` reads: every Debian package of the image.
    let inspected = context.output(&[
        "inspect",
        "--registry",
        &format!("{namespace}/base:latest"),
        "--json",
    ]);
    let facts = json(&inspected);
    let debs = facts["deb_packages"].as_array().unwrap().len();
    assert!(debs > 50, "a Debian image: {debs}");
    let listed = base["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|package| package["ecosystem"] == "deb")
        .count();
    assert_eq!(listed, debs);
    // With the licences their copyright files name.
    let shell = base["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|package| package["name"] == "bash")
        .unwrap();
    assert!(
        shell["license"].as_str().unwrap().contains("GPL-3+"),
        "{shell}"
    );
    // A page per image, the unpublished one saying so.
    let page = fs_err::read_to_string(context.root.join("site/images/tool.md")).unwrap();
    assert!(
        page.starts_with("# tool\n\nThe tool, on the base.\n\nBuilt on [base](base.md)."),
        "{page}"
    );
    // The tool's test, the base's unpinned FROM (lint's BASE002), an SBOM per published image.
    assert_eq!(image("tool")["tests"][0]["name"], "the tool is there");
    assert_eq!(image("base")["tests"], serde_json::json!([]));
    assert!(
        image("base")["lint"]
            .as_array()
            .unwrap()
            .iter()
            .any(|finding| finding["rule"] == "BASE002" && finding["line"] == 1),
        "{}",
        image("base")["lint"]
    );
    assert_eq!(image("tool")["sbom"], "sbom/tool.cdx.json");
    // Its tag is an index: a digest per platform; a single-platform image lists none.
    let platforms: Vec<&str> = image("multi")["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|platform| platform["platform"].as_str().unwrap())
        .collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
    assert_eq!(image("tool")["platforms"], serde_json::Value::Null);
    // The registry's other tags on an image: the release tag is the tool's, not the base's.
    assert_eq!(
        image("tool")["also_tagged"],
        serde_json::json!([format!("{namespace}/tool:stable")])
    );
    assert_eq!(image("base")["also_tagged"], serde_json::Value::Null);
    assert_eq!(image("later")["sbom"], serde_json::Value::Null);
    let sbom: serde_json::Value = serde_json::from_slice(
        &fs_err::read(context.root.join("site/sbom/tool.cdx.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(sbom["bomFormat"], "CycloneDX");
    assert!(sbom["components"]
        .as_array()
        .unwrap()
        .iter()
        .any(|component| component["name"] == "strata-probe"));
    let later = fs_err::read_to_string(context.root.join("site/images/later.md")).unwrap();
    assert!(later.contains("Not published"), "{later}");
    let written = json(&output);
    assert_eq!(written["images"], 4);
    assert_eq!(written["published"], 3);

    // The web pages, as a browser shows them. What inspect says each published image has:
    let mut inspected = std::collections::BTreeMap::new();
    for name in ["base", "tool"] {
        let output = context.output(&[
            "inspect",
            "--registry",
            &format!("{namespace}/{name}:latest"),
            "--json",
        ]);
        let facts = json(&output);
        assert!(
            facts["python"]["packages"]
                .as_array()
                .is_none_or(Vec::is_empty),
            "a Debian-only image"
        );
        let debs: Vec<(String, String)> = facts["deb_packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|package| {
                (
                    package["name"].as_str().unwrap().to_string(),
                    package["version"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        inspected.insert(name, debs);
    }
    let having = |query: &str| -> Vec<&str> {
        inspected
            .iter()
            .filter(|(_, packages)| packages.iter().any(|(name, _)| name.contains(query)))
            .map(|(image, _)| *image)
            .collect()
    };
    let queries = [
        "strata-probe",
        "strata-probe>=1.3",
        "strata-probe<1.3",
        "bash",
        "libc6==",
    ];
    // The tool's two releases, newest first, as the catalogue found them in the registry.
    let tool_history: Vec<String> = image("tool")["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|release| release["tags"][0].as_str().unwrap().to_string())
        .collect();
    assert_eq!(tool_history.len(), 2, "{}", image("tool")["history"]);
    // `build --all` built the base again, unchanged: a release with no package changed.
    assert_eq!(image("base")["history"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        image("base")["history"][0]["changes"],
        serde_json::json!([])
    );
    let newest = &image("tool")["history"][0];
    assert_eq!(
        newest["changes"],
        serde_json::json!([{"ecosystem": "deb", "location": "all", "name": "strata-probe", "before": "1.2-1", "after": "1.3-1"}])
    );
    // Built on the base's new build.
    assert_eq!(newest["base_moved"], true);
    assert_eq!(
        image("tool")["history"][1]["changes"],
        serde_json::Value::Null
    );
    let compare = serde_json::json!([
        {"left": format!("tool@{}", tool_history[1]), "right": format!("tool@{}", tool_history[0])},
        {"left": format!("base@{}", image("base")["history"][0]["tags"][0].as_str().unwrap()), "right": format!("tool@{}", tool_history[0])},
    ]);
    let seen = browse(
        &context.root.join("site"),
        &serde_json::json!({
            "queries": queries,
            "pages": [
                "images/tool.html",
                "images/later.html",
                "images/base.html",
                "images/multi.html"
            ],
            "compare": compare,
        }),
    );
    assert_eq!(seen["console"], serde_json::json!([]), "no console errors");
    assert_eq!(
        seen["outside"],
        serde_json::json!([]),
        "nothing requested outside the site's own files"
    );
    // The tree: a box per image, drawn, and a line from each parent to its children.
    let tree = seen["tree"].as_array().unwrap();
    let mut drawn: Vec<&str> = tree
        .iter()
        .map(|node| node["name"].as_str().unwrap())
        .collect();
    drawn.sort_unstable();
    assert_eq!(drawn, ["base", "later", "multi", "tool"]);
    assert!(tree.iter().all(|node| node["width"].as_f64() > Some(0.0)));
    assert_eq!(seen["edges"], 2);
    // The search box is a labelled search input, its results a live region.
    assert_eq!(seen["search_box"]["type"], "search");
    assert_eq!(seen["search_box"]["live"], "polite");
    let found = |query: &str| -> Vec<String> {
        let mut images: Vec<String> = seen["searches"][query]["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|image| image.as_str().unwrap().to_string())
            .collect();
        images.sort();
        images
    };
    // A bare name lists the images inspect says have a package of that name (or holding it).
    assert_eq!(found("strata-probe"), having("strata-probe"));
    assert_eq!(found("strata-probe"), ["tool"]);
    assert_eq!(found("bash"), having("bash"));
    assert_eq!(found("bash"), ["base", "tool"]);
    // A constraint is checked against the version each image has.
    assert_eq!(found("strata-probe>=1.3"), ["tool"]);
    assert_eq!(found("strata-probe<1.3"), Vec::<String>::new());
    assert!(
        seen["searches"]["libc6=="]["status"]
            .as_str()
            .unwrap()
            .contains("is not a package name"),
        "{}",
        seen["searches"]["libc6=="]
    );
    assert_eq!(
        seen["searches"]["strata-probe"]["links"],
        serde_json::json!(["images/tool.html"])
    );
    // An image page lists every package inspect found, and says how many.
    let tool = &seen["pages"]["images/tool.html"];
    assert_eq!(tool["count"], inspected["tool"].len());
    assert_eq!(tool["rows"], inspected["tool"].len());
    assert_eq!(tool["parent"], "base.html");
    // The digest of what it was built on, as its `base.digest` label records it (the engine
    // knows the parent's registry digest only once the parent was pushed).
    let tool_facts = json(&context.output(&[
        "inspect",
        "--registry",
        &format!("{namespace}/tool:latest"),
        "--json",
    ]));
    assert_eq!(
        tool["base_digest"].as_str(),
        tool_facts["labels"]["org.opencontainers.image.base.digest"].as_str()
    );
    assert_eq!(tool["tests"], serde_json::json!(["the tool is there"]));
    assert_eq!(tool["sbom"], "../sbom/tool.cdx.json");
    assert!(
        tool["signature"]
            .as_str()
            .is_some_and(|text| text.starts_with("verified with team.pub")),
        "{}",
        tool["signature"]
    );
    assert_eq!(image("tool")["signature"]["signatures"], 1);
    // Its signed SLSA provenance, to download beside its page.
    assert_eq!(tool["provenance"], "../provenance/tool.slsa.json");
    let provenance: serde_json::Value = serde_json::from_slice(
        &fs_err::read(context.root.join("site/provenance/tool.slsa.json")).unwrap(),
    )
    .unwrap();
    assert!(
        provenance["buildDefinition"].is_object(),
        "an SLSA v1 predicate: {provenance}"
    );
    assert_eq!(seen["pages"]["images/base.html"]["lint"][0][1], "BASE002");
    assert_eq!(
        seen["pages"]["images/multi.html"]["platforms"],
        serde_json::json!(["linux/amd64", "linux/arm64"])
    );
    assert_eq!(tool["platforms"], serde_json::json!([]));
    assert_eq!(
        tool["pull"],
        format!("docker pull {namespace}/tool:latest").as_str()
    );
    assert_eq!(
        seen["pages"]["images/later.html"]["count"],
        serde_json::Value::Null
    );
    // Its release history: what changed, and a link to compare the two builds.
    let history = tool["history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(
        history[0]["changes"],
        serde_json::json!(["base digest moved", "strata-probe 1.2-1 → 1.3-1 (deb)"])
    );
    assert!(history[0]["compare"]
        .as_str()
        .unwrap()
        .contains(&format!("right=tool%40{}", tool_history[0])));
    assert_eq!(history[1]["compare"], serde_json::Value::Null);
    // Side by side: the two builds of the tool differ in the probe only; the base lacks it.
    let comparisons = seen["comparisons"].as_array().unwrap();
    assert_eq!(
        comparisons[0]["rows"],
        serde_json::json!([["strata-probe", "deb", "1.2-1", "1.3-1"]])
    );
    assert_eq!(
        comparisons[1]["rows"],
        serde_json::json!([["strata-probe", "deb", "—", "1.3-1"]])
    );
    assert!(
        comparisons[1]["status"]
            .as_str()
            .unwrap()
            .starts_with("1 package differs;"),
        "{}",
        comparisons[1]
    );
    // The keyboard reaches the search box and the tree, and Enter on an image opens its page.
    let focused = seen["keyboard"]["focused"].as_array().unwrap();
    assert!(
        focused.contains(&serde_json::json!("search")),
        "{focused:?}"
    );
    assert!(
        seen["keyboard"]["opened"]
            .as_str()
            .is_some_and(|page| page.starts_with("images/") && page.ends_with(".html")),
        "{}",
        seen["keyboard"]
    );
}

/// What a browser shows of the site at `site`: `test/catalog/browse.mjs`'s report.
fn browse(site: &Path, request: &serde_json::Value) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test/catalog/browse.mjs");
    for variable in ["STRATA_TEST_PLAYWRIGHT_CORE", "STRATA_TEST_CHROMIUM"] {
        assert!(
            std::env::var_os(variable).is_some(),
            "{variable} is not set: run the tests through scripts/test.sh, or source scripts/dev-env.sh's env file (it installs chromium and playwright-core)"
        );
    }
    let output = std::process::Command::new("node")
        .arg(&script)
        .arg(site)
        .arg(request.to_string())
        .output()
        .expect("node runs (Debian: apt-get install nodejs)");
    assert!(
        output.status.success(),
        "browse.mjs failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("browse.mjs prints JSON")
}
