//! Planner and bake tests on small repositories built in memory: no files, no git.

use std::collections::BTreeMap;
use std::path::PathBuf;

use strata_repo::{
    CommitInfo, Config, Layer, LayerDetails, LayerId, LayoutKind, Repository, StacksImage,
};

use crate::plan::{Plan, Reason};
use crate::planner::{plan, PlanRequest, RegistryChanges, Selection};
use crate::select::Changes;

/// One docker-stacks image: its name, the image of the repository it is built on (if any), and
/// the images its other instructions read, by reference.
struct Image<'a> {
    name: &'a str,
    parent: Option<&'a str>,
    reads: &'a [&'a str],
}

fn image<'a>(name: &'a str, parent: Option<&'a str>, reads: &'a [&'a str]) -> Image<'a> {
    Image {
        name,
        parent,
        reads,
    }
}

fn repository(images: &[Image<'_>]) -> Repository {
    let id = |name: &str| -> LayerId {
        images
            .iter()
            .position(|image| image.name == name)
            .unwrap_or_else(|| panic!("no image `{name}`"))
    };
    let layers = images
        .iter()
        .map(|image| {
            let reads: Vec<(String, LayerId)> = image
                .reads
                .iter()
                .map(|name| (format!("owner/{name}:latest"), id(name)))
                .collect();
            Layer {
                name: image.name.to_string(),
                directory: format!("images/{}", image.name),
                dockerfile: format!("images/{}/Dockerfile", image.name),
                definition_file: format!("images/{}/Dockerfile", image.name),
                base: image.parent.map_or_else(
                    || "debian:bookworm".to_string(),
                    |parent| format!("owner/{parent}:latest"),
                ),
                base_arg: None,
                parent: image.parent.map(id),
                also_needs: reads.iter().map(|(_, id)| *id).collect(),
                reads,
                external_reads: Vec::new(),
                build_args: BTreeMap::new(),
                taggers: Vec::new(),
                tests: Vec::new(),
                platforms: Vec::new(),
                details: LayerDetails::Stacks(StacksImage {
                    image: image.name.to_string(),
                    variant: None,
                }),
            }
        })
        .collect();
    Repository {
        root: PathBuf::from("."),
        layout: LayoutKind::DockerStacks,
        layouts: vec![LayoutKind::DockerStacks],
        config: Config::default(),
        layers,
        compat_layers: Vec::new(),
        warnings: Vec::new(),
        near_misses: Vec::new(),
    }
}

fn commit() -> CommitInfo {
    CommitInfo {
        hash: "0123456789abcdef0123456789abcdef01234567".to_string(),
        short_hash: "0123456".to_string(),
        count: 7,
    }
}

fn plan_changes(repository: &Repository, changed: &[&str]) -> Plan {
    let paths: Vec<String> = changed
        .iter()
        .map(|name| format!("images/{name}/Dockerfile"))
        .collect();
    plan(&PlanRequest {
        repository,
        commit: &commit(),
        repo: "registry.test/owner",
        source_url: None,
        selection: Selection::Changes(Changes {
            since: "HEAD^",
            changed_paths: &paths,
            untracked_paths: None,
            include: &[],
            ignore: &[],
        }),
    })
    .unwrap()
}

fn names(plan: &Plan) -> Vec<&str> {
    plan.builds
        .iter()
        .map(|build| build.name.as_str())
        .collect()
}

#[test]
fn a_change_rebuilds_what_is_built_on_it_parents_first() {
    let repository = repository(&[
        image("base", None, &[]),
        image("lab", Some("base"), &[]),
        image("scipy", Some("lab"), &[]),
        image("other", None, &[]),
    ]);
    let plan = plan_changes(&repository, &["base"]);
    assert_eq!(names(&plan), ["base", "lab", "scipy"]);
    assert_eq!(plan.builds[1].reason, Reason::ParentChanged);
    assert_eq!(plan.builds[2].triggered_by.as_deref(), Some("lab"));
    assert_eq!(
        names(&plan_changes(&repository, &["lab"])),
        ["lab", "scipy"]
    );
    assert!(plan_changes(&repository, &[]).builds.is_empty());
}

#[test]
fn a_diamond_builds_each_image_once_after_both_of_its_dependencies() {
    let repository = repository(&[
        image("a-base", None, &[]),
        image("b-left", Some("a-base"), &[]),
        image("c-right", Some("a-base"), &[]),
        image("d-top", Some("b-left"), &["c-right"]),
    ]);
    let plan = plan_changes(&repository, &["a-base"]);
    assert_eq!(names(&plan), ["a-base", "b-left", "c-right", "d-top"]);
    let top = plan.build("d-top").unwrap();
    let mut depends_on = top.depends_on.clone();
    depends_on.sort();
    assert_eq!(depends_on, ["b-left", "c-right"]);
}

#[test]
fn bake_keys_contexts_on_what_each_dependency_is_not_its_position() {
    // `app` is built on `base` (unchanged, so not in the plan) and copies from `tools`
    // (changed): its only dependency in the plan is `tools`, which must not take the place of
    // the `FROM` image.
    let repository = repository(&[
        image("base", None, &[]),
        image("tools", None, &[]),
        image("app", Some("base"), &["tools"]),
    ]);
    let plan = plan_changes(&repository, &["tools"]);
    assert_eq!(names(&plan), ["tools", "app"]);
    assert_eq!(plan.build("app").unwrap().depends_on, ["tools"]);
    let bake = bake_at_root(&plan, &repository);
    let contexts = &bake["target"]["app"]["contexts"];
    assert_eq!(
        contexts,
        &serde_json::json!({"owner/tools:latest": "target:tools"}),
        "the COPY --from reference maps to `tools`; the FROM image is the published base"
    );

    // Both changed: each reference to its own target.
    let plan = plan_changes(&repository, &["base", "tools"]);
    let bake = bake_at_root(&plan, &repository);
    assert_eq!(
        bake["target"]["app"]["contexts"],
        serde_json::json!({
            "owner/base:latest": "target:base",
            "owner/tools:latest": "target:tools",
        })
    );
}

/// The bake file with paths from the repository root.
fn bake_at_root(plan: &crate::Plan, repository: &Repository) -> serde_json::Value {
    crate::bake_file(
        plan,
        repository,
        &crate::BakePaths {
            root: String::new(),
            contexts_dir: ".strata/contexts".to_string(),
        },
    )
}

#[test]
fn bake_targets_carry_each_image_platforms() {
    let mut repository = repository(&[image("base", None, &[]), image("app", Some("base"), &[])]);
    for layer in &mut repository.layers {
        layer.platforms = vec!["linux/amd64".to_string(), "linux/arm64".to_string()];
    }
    repository.layers[0]
        .platforms
        .push("linux/arm/v7".to_string());
    let plan = plan_changes(&repository, &["base"]);
    let app = plan.build("app").unwrap();
    assert_eq!(app.platforms, ["linux/amd64", "linux/arm64"]);
    assert_eq!(
        app.parent.as_ref().unwrap().platforms,
        ["linux/amd64", "linux/arm64", "linux/arm/v7"]
    );
    let bake = bake_at_root(&plan, &repository);
    assert_eq!(
        bake["target"]["app"]["platforms"],
        serde_json::json!(["linux/amd64", "linux/arm64"])
    );
    assert_eq!(
        bake["target"]["base"]["platforms"],
        serde_json::json!(["linux/amd64", "linux/arm64", "linux/arm/v7"])
    );
}

#[test]
fn registry_changes_rebuild_what_differs_and_what_is_built_on_it() {
    let repository = repository(&[
        image("base", None, &[]),
        image("lab", Some("base"), &[]),
        image("other", None, &[]),
    ]);
    let layers = [None, Some(Reason::InputsChanged), Some(Reason::Unpublished)];
    let plan = plan(&PlanRequest {
        repository: &repository,
        commit: &commit(),
        repo: "registry.test/owner",
        source_url: None,
        selection: Selection::Registry(RegistryChanges {
            layers: &layers,
            compat: &[None, None, None],
        }),
    })
    .unwrap();
    assert_eq!(names(&plan), ["lab", "other"]);
    assert_eq!(plan.since.as_deref(), Some("registry"));
    assert_eq!(plan.builds[1].reason, Reason::Unpublished);
}
