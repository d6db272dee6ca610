//! `strata catalog`: the family's catalogue from what its registry holds.

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
                &format!("FROM {namespace}/base\nRUN echo tool > /tool\n"),
            ),
        ],
    );
    context.write(
        "images/tool/README.md",
        "# Tool\n\nThe tool, on the base.\n",
    );
    context.commit("a README");
    build_and_push(&context);
    // An image added since, not built yet.
    context.write(
        "images/later/Dockerfile",
        &format!("FROM {namespace}/base\nRUN echo later > /later\n"),
    );
    context.commit("a later image");

    let output = context.output(&["catalog", "--registry", "-o", "site", "--json"]);
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
    assert_eq!(names.len(), 3, "{names:?}");
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
    // A page per image, the unpublished one saying so.
    let page = fs_err::read_to_string(context.root.join("site/images/tool.md")).unwrap();
    assert!(
        page.starts_with("# tool\n\nThe tool, on the base.\n\nBuilt on [base](base.md)."),
        "{page}"
    );
    let later = fs_err::read_to_string(context.root.join("site/images/later.md")).unwrap();
    assert!(later.contains("Not published"), "{later}");
    let written = json(&output);
    assert_eq!(written["images"], 3);
    assert_eq!(written["published"], 2);
}
