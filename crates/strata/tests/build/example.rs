//! The bundled example, end to end: build, push, read back from the registry.

use crate::{
    example_context, fresh_namespace, json_events, local_image, registry_labels, result_of,
};

#[test]
fn example_family_builds_pushes_and_labels_every_tag() {
    let (context, services) = example_context();
    let repo = fresh_namespace(&services.registry, "example");
    let output = context.output(&[
        "build",
        "--all",
        "--repo",
        &repo,
        "--push",
        "--json",
        "--network",
        "host",
    ]);
    assert!(output.status.success(), "{}", context.render(&output));
    let events = json_events(&output);

    let plan_output = context.output(&["plan", "--all", "--repo", &repo, "--json"]);
    let plan: serde_json::Value = serde_json::from_slice(&plan_output.stdout).unwrap();
    let commit = plan["commit"]["hash"].as_str().unwrap().to_string();
    for build in plan["builds"].as_array().unwrap() {
        let name = build["name"].as_str().unwrap();
        let result = result_of(&events, name);
        assert_eq!(result["result"], "built", "{name}: {result}");
        let pushed: Vec<&serde_json::Value> = result["pushed"].as_array().unwrap().iter().collect();
        assert_eq!(
            pushed.len(),
            4,
            "{name}: both tags and the two tagger tags pushed"
        );
        for tag in build["tags"].as_array().unwrap() {
            let tag = tag.as_str().unwrap();
            let (digest, labels, config) = registry_labels(tag);
            let reported = pushed.iter().find(|entry| entry["tag"] == tag).unwrap();
            assert_eq!(
                reported["digest"].as_str(),
                Some(digest.as_str()),
                "the reported digest of `{tag}` is the registry's"
            );
            assert_eq!(labels["org.opencontainers.image.revision"], commit.as_str());
            assert!(labels["org.opencontainers.image.created"]
                .as_str()
                .unwrap()
                .ends_with('Z'));
            assert!(labels["org.strata.inputs"]
                .as_str()
                .unwrap()
                .starts_with("sha256:"));
            for (key, value) in build["labels"].as_object().unwrap() {
                assert_eq!(&labels[key], value, "`{tag}` label `{key}`");
            }
            if build["kind"] == "compat" {
                let version = labels["org.sciserver.compat.version"].as_str().unwrap();
                let environment = config["config"]["Env"].as_array().unwrap();
                assert!(
                    environment
                        .iter()
                        .any(|variable| variable.as_str()
                            == Some(&format!("SCISERVER_IMAGE={version}"))),
                    "{environment:?}"
                );
                assert!(labels.contains_key("org.sciserver.compat.buildtime"));
            }
        }
    }
    // A manifest and a history row per build, with the tagger tags (the example's strata.toml
    // gives essentials-base, and so every image built on it, an `os` and a `bash` tagger).
    let history =
        fs_err::read_to_string(context.root.join(".strata/manifests/astro-2024/history.md"))
            .unwrap();
    assert!(
        history.starts_with("# Build history of `astro-2024`"),
        "{history}"
    );
    assert!(
        history.contains("`2.0`, `debian-12`, `bash-5.2`"),
        "{history}"
    );
    let astro = result_of(&events, "astro:2.0");
    assert_eq!(
        astro["tagger_tags"],
        serde_json::json!([
            format!("{repo}/rel/astro:debian-12"),
            format!("{repo}/rel/astro:bash-5.2")
        ])
    );
    assert_eq!(astro["pushed"].as_array().unwrap().len(), 4);
    let (_, labels, _) = registry_labels(&format!("{repo}/rel/astro:debian-12"));
    assert_eq!(labels["org.opencontainers.image.title"], "astro");
    // The breadcrumb trail: the astro compat image carries every science layer it is made of.
    let (_, labels, _) = registry_labels(&format!("{repo}/rel/astro:2.0"));
    for target in ["essentials-base", "essentials-tools", "astro-2024"] {
        assert!(
            labels.contains_key(&format!("org.sciserver.science.{target}.version")),
            "{target}: {labels:?}"
        );
        assert!(
            labels.contains_key(&format!("org.sciserver.science.{target}.buildtime")),
            "{target}"
        );
    }

    // Nothing changed: nothing is built, and the tags still point at the same images.
    let before = local_image(&format!("{repo}/rel/astro:2.0"));
    let again = context.output(&["build", "--all", "--repo", &repo, "--json"]);
    assert!(again.status.success(), "{}", context.render(&again));
    let again_events = json_events(&again);
    for result in crate::finished(&again_events)["results"]
        .as_array()
        .unwrap()
    {
        assert_eq!(result["result"], "up-to-date", "{result}");
    }
    assert!(
        !again_events
            .iter()
            .any(|event| event["event"] == "built" || event["event"] == "step"),
        "nothing is built"
    );
    assert_eq!(local_image(&format!("{repo}/rel/astro:2.0")), before);
    // Logs are kept per image.
    let log = fs_err::read_to_string(context.root.join(".strata/logs/astro-2024.log")).unwrap();
    assert!(log.contains("up to date"), "{log}");
}

#[test]
fn emit_context_writes_the_assembled_compat_context() {
    let mut context = strata_test::TestContext::from_fixture(crate::BINARY, "sciserver");
    context.touch("science/astro/Dockerfile");
    context.commit("change astro");
    let output = context.output(&["build", "--repo", "r", "--emit-context", "contexts"]);
    assert!(output.status.success(), "{}", context.render(&output));
    insta::assert_snapshot!(String::from_utf8_lossy(&output.stdout), @"contexts/rel-astro-2_5");
    let directory = context.root.join("contexts/rel-astro-2_5");
    insta::assert_snapshot!(fs_err::read_to_string(directory.join("Dockerfile")).unwrap(), @"
    FROM r/sci/astro:2.5
    COPY startup.sh /startup.sh

    COPY startup.sh /startup.sh
    EXPOSE 8888

    ENV MINIMAL=1

    ENV SCISERVER_IMAGE=astro:2.5-2-83403c1
    ");
    // minimal includes jupyter, which includes common: jupyter's startup.sh replaces common's.
    assert_eq!(
        fs_err::read_to_string(directory.join("startup.sh")).unwrap(),
        "echo jupyter\n"
    );
    let mut files: Vec<String> = fs_err::read_dir(&directory)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["Dockerfile", "sciserver-image.json", "startup.sh"]);
}
