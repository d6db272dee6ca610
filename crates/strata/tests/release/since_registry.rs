//! `--since registry`: a checkout with no history in common with the one that built the
//! images rebuilds exactly what differs from what the registry holds.

use strata_test::{fresh_namespace, TestContext};

use crate::{json, services, BINARY};

fn example() -> TestContext {
    let example = strata_test::workspace_root().join("examples/sciserver");
    TestContext::from_fixture(BINARY, &example.display().to_string())
}

fn planned(context: &TestContext, repo: &str) -> Vec<(String, String)> {
    let output = context.output(&["plan", "--since", "registry", "--repo", repo, "--json"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let plan = json(&output);
    assert_eq!(plan["since"], "registry");
    plan["builds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|build| {
            (
                build["name"].as_str().unwrap().to_string(),
                build["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_fresh_checkout_rebuilds_exactly_what_differs_from_the_registry() {
    let services = services();
    let repo = fresh_namespace(&services.registry, "since-registry");
    let builder = example();
    let unpublished = planned(&builder, &repo);
    assert_eq!(unpublished.len(), 5, "{unpublished:?}");
    assert_eq!(
        unpublished[0],
        ("essentials-base".to_string(), "unpublished".to_string())
    );
    assert!(unpublished[1..]
        .iter()
        .all(|(_, reason)| reason == "parent-changed" || reason == "science-rebuilt"));
    let output = builder.output(&[
        "build",
        "--all",
        "--repo",
        &repo,
        "--push",
        "--network",
        "host",
        "--no-manifests",
    ]);
    assert!(output.status.success(), "{}", builder.render(&output));

    // Another machine: same files, a history of its own (other commit hashes and counts).
    let mut checkout = example();
    checkout.commit("a commit the builder never saw");
    assert_eq!(planned(&checkout, &repo), []);
    let nothing = checkout.output(&["build", "--since", "registry", "--repo", &repo]);
    assert!(nothing.status.success(), "{}", checkout.render(&nothing));
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("nothing to build"));

    // A change to a middle layer: it, what is built on it, and their compat builds.
    checkout.touch("science/essentials-tools/analysis.sh");
    checkout.commit("change tools");
    assert_eq!(
        planned(&checkout, &repo),
        [
            ("essentials-tools".to_string(), "inputs-changed".to_string()),
            ("essentials:1.0".to_string(), "science-rebuilt".to_string()),
            ("astro-2024".to_string(), "parent-changed".to_string()),
            ("astro:2.0".to_string(), "science-rebuilt".to_string()),
        ]
    );
    // A change to an included compat layer: only compat builds, on the published science.
    let compat_only = example();
    compat_only.touch("compat/common/Dockerfile");
    let mut compat_plan = planned(&compat_only, &repo);
    compat_plan.sort();
    assert_eq!(
        compat_plan,
        [
            ("astro:2.0".to_string(), "inputs-changed".to_string()),
            ("essentials:1.0".to_string(), "inputs-changed".to_string()),
        ]
    );

    let output = checkout.output(&[
        "build",
        "--since",
        "registry",
        "--repo",
        &repo,
        "--push",
        "--network",
        "host",
        "--no-manifests",
        "--json",
    ]);
    assert!(output.status.success(), "{}", checkout.render(&output));
    let built: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|event| event["event"] == "built")
        .map(|event| event["build"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(built.len(), 4, "{built:?}");
    assert_eq!(
        planned(&checkout, &repo),
        [],
        "the registry now holds what the checkout builds"
    );

    // A checkout whose history never had `astro:2.0`: only the registry knows it was published.
    let mut bumped = example();
    let definition = "science/astro/sciserver-image.json";
    let text = fs_err::read_to_string(bumped.root.join(definition)).unwrap();
    bumped.write(definition, &text.replace("\"2.0\"", "\"2.1\""));
    bumped.git(&["checkout", "--quiet", "--orphan", "history-without-2.0"]);
    bumped.commit("astro 2.1 from the start");
    let refused = bumped.output(&["plan", "--since", "registry", "--repo", &repo]);
    assert_eq!(
        refused.status.code(),
        Some(2),
        "{}",
        bumped.render(&refused)
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&format!(
            "`astro:2.0`: defined by no commit of this history; published as `{repo}/rel/astro:2.0`"
        )),
        "{stderr}"
    );
    let settings = fs_err::read_to_string(bumped.root.join("strata.toml")).unwrap();
    bumped.write(
        "strata.toml",
        &format!("retired = [\"astro:2.0\"]\n{settings}"),
    );
    let retired = bumped.output(&["plan", "--since", "registry", "--repo", &repo]);
    assert!(retired.status.success(), "{}", bumped.render(&retired));
}
