//! `strata init`: a starting `strata.toml` for a repository — its layouts, the generic trees
//! that keep versions in a build JSON, docker-stacks' per-image pytest directories as host
//! tests — and a report of what strata could not decide (ambiguous parents).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use anyhow::Context;
use strata_cli::InitArgs;
use strata_repo::{Config, LayoutKind, ParentSetting, RepoError, TreeConfig, CONFIG_FILE};

use crate::exit_status::ExitStatus;
use crate::printer::Printer;

/// The file a tree's per-image versions are looked for in (heasarc's `build.py` reads it).
const BUILD_JSON: &str = "build.json";
/// docker-stacks keeps each image's pytest files here.
const STACKS_TESTS: &str = "tests/by_image";
/// Parents `init` gives up on after this many ambiguities (each needs a repository read).
const MAX_AMBIGUITIES: usize = 200;

/// A `FROM` strata could not match to one image.
struct Ambiguity {
    image: String,
    dockerfile: String,
    reference: String,
    candidates: Vec<String>,
}

pub fn init(arguments: &InitArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let root = &arguments.path;
    let path = root.join(CONFIG_FILE);
    if path.exists() && !arguments.force && !arguments.dry_run {
        anyhow::bail!(
            "`{}` exists already: pass `--force` to replace it, or `--dry-run` to see what `init` would write",
            path.display()
        );
    }
    let (mut layouts, others) =
        strata_repo::survey(root).with_context(|| format!("cannot survey `{}`", root.display()))?;
    let mut notes = Vec::new();
    if !others.is_empty() && !layouts.contains(&LayoutKind::Generic) {
        if layouts.contains(&LayoutKind::DockerStacks) {
            notes.push(format!(
                "{} other directories hold Dockerfiles ({}); add \"generic\" to `layout` to build them too",
                others.len(),
                others.iter().take(3).map(|d| format!("`{d}`")).collect::<Vec<_>>().join(", ")
            ));
        } else {
            layouts.push(LayoutKind::Generic);
        }
    }
    let mut config = Config {
        layout: Some(layouts.clone()),
        ..Config::default()
    };
    if layouts.contains(&LayoutKind::Generic) {
        config.generic.trees = build_json_trees(root, &others);
    }

    // Read the repository as these settings describe it; each ambiguous parent is noted and
    // set aside (as external) so that the next one can be found.
    let mut ambiguities = Vec::new();
    let repository = loop {
        match strata_repo::open_with_config(root, config.clone()) {
            Ok(repository) => break Some(repository),
            Err(RepoError::AmbiguousParent {
                image,
                dockerfile,
                reference,
                candidates,
            }) if ambiguities.len() < MAX_AMBIGUITIES => {
                config.images.entry(image.clone()).or_default().parent =
                    Some(ParentSetting::External);
                ambiguities.push(Ambiguity {
                    image,
                    dockerfile,
                    reference,
                    candidates,
                });
            }
            Err(error) => {
                notes.push(format!(
                    "the repository does not read with these settings: {}",
                    strata_repo::join_chain(&error, ": ")
                ));
                break None;
            }
        }
    };
    let (repository, links) = match repository {
        Some(repository) => link_near_misses(root, &mut config, repository, &mut notes),
        None => (None, Links::default()),
    };
    let mut stacks_tests = BTreeMap::new();
    if let Some(repository) = &repository {
        notes.extend(repository.warnings.iter().cloned());
        for layer in &repository.layers {
            if let strata_repo::LayerDetails::Stacks(stacks) = &layer.details {
                let directory = format!("{STACKS_TESTS}/{}", stacks.image);
                if stacks.variant.is_none() && root.join(&directory).is_dir() {
                    stacks_tests.insert(layer.name.clone(), directory);
                }
            }
        }
        if !stacks_tests.is_empty() {
            notes.push(format!(
                "docker-stacks' `tests/conftest.py` names the image from `--registry`, `--owner` and `--image`: make its `image_name` fixture return `os.environ[\"STRATA_IMAGE\"]` when that is set, so the {} pytest {} test the image strata just built",
                stacks_tests.len(),
                if stacks_tests.len() == 1 { "directory" } else { "directories" }
            ));
        }
    }
    let text = render(&layouts, &config, &ambiguities, &links, &stacks_tests);
    if arguments.dry_run {
        printer.data(&text);
    } else {
        strata_fs::write_atomically(&path, text.as_bytes())?;
        printer.info(&format!("wrote `{}`", path.display()));
    }
    for ambiguity in &ambiguities {
        printer.warn(&format!(
            "undecided: `{}`: `FROM {}` could be any of {}; say which under `[images.\"{}\"]` (`parent = \"…\"`, or `false` for an external image)",
            ambiguity.dockerfile,
            ambiguity.reference,
            ambiguity.candidates.join(", "),
            ambiguity.image
        ));
    }
    for miss in &links.undecided {
        printer.warn(&format!(
            "undecided: `{}`: `FROM {}` names `{}`, which several images of this repository are called; tag one of them so (see `strata.toml`)",
            miss.dockerfile,
            miss.reference,
            strata_repo::ImageReference::parse(&miss.reference).name(),
        ));
    }
    for note in &notes {
        printer.warn(note);
    }
    let layer_count = repository
        .as_ref()
        .map_or(0, |repository| repository.layers.len());
    printer.info(&format!(
        "init: {} ({}), {} undecided",
        crate::output::counted(layer_count, "image", "images"),
        layouts
            .iter()
            .map(|layout| layout.as_str())
            .collect::<Vec<_>>()
            .join(" + "),
        ambiguities.len() + links.undecided.len()
    ));
    Ok(
        if ambiguities.is_empty() && links.undecided.is_empty() && repository.is_some() {
            ExitStatus::Success
        } else {
            ExitStatus::Problems
        },
    )
}

/// What `init` did about `FROM namespace/<image>:<tag>` lines naming the repository's own
/// images by a tag they do not carry.
#[derive(Default)]
struct Links {
    /// Linked: the image given the tag (and its tree the namespace), for the comment.
    made: Vec<(String, strata_repo::NearMiss)>,
    /// Several images have the name: the user's call.
    undecided: Vec<UndecidedLink>,
}

struct UndecidedLink {
    dockerfile: String,
    reference: String,
    /// Each candidate's name and the settings that would link it.
    candidates: Vec<(String, Vec<String>)>,
}

/// For each near miss with one candidate, give the candidate the tag the child asks for and
/// its tree the namespace; keep the settings when the repository then links them (read again
/// to check), else leave them out with a note. Several candidates are left undecided.
fn link_near_misses(
    root: &Path,
    config: &mut Config,
    repository: strata_repo::Repository,
    notes: &mut Vec<String>,
) -> (Option<strata_repo::Repository>, Links) {
    let mut links = Links::default();
    let mut proposed = config.clone();
    let mut planned = Vec::new();
    for miss in &repository.near_misses {
        let suggestions: Vec<(String, Vec<String>)> = miss
            .candidates
            .iter()
            .map(|id| {
                let layer = &repository.layers[*id];
                (layer.name.clone(), link_settings(layer, miss))
            })
            .collect();
        if let [(name, _)] = suggestions.as_slice() {
            let layer = &repository.layers[miss.candidates[0]];
            if apply_link(&mut proposed, layer, miss) {
                planned.push((name.clone(), miss.clone()));
                continue;
            }
        }
        links.undecided.push(UndecidedLink {
            dockerfile: miss.dockerfile.clone(),
            reference: miss.reference.clone(),
            candidates: suggestions,
        });
    }
    if planned.is_empty() {
        return (Some(repository), links);
    }
    match strata_repo::open_with_config(root, proposed.clone()) {
        Ok(linked) => {
            let unlinked: Vec<&str> = planned
                .iter()
                .filter(|(parent, miss)| {
                    linked
                        .layers
                        .iter()
                        .find(|layer| layer.name == miss.image)
                        .and_then(|layer| layer.parent)
                        .is_none_or(|id| linked.layers[id].name != *parent)
                })
                .map(|(_, miss)| miss.dockerfile.as_str())
                .collect();
            if unlinked.is_empty() {
                *config = proposed;
                links.made = planned;
                return (Some(linked), links);
            }
            notes.push(format!(
                "tagging the repository's images as {} names them does not link them; set `parent` by hand",
                unlinked.join(", ")
            ));
        }
        Err(error) => notes.push(format!(
            "the settings that would link `FROM` lines to the repository's images do not read: {}",
            strata_repo::join_chain(&error, ": ")
        )),
    }
    (Some(repository), links)
}

/// The `strata.toml` lines that would tag `layer` as `miss` names it.
fn link_settings(layer: &strata_repo::Layer, miss: &strata_repo::NearMiss) -> Vec<String> {
    let mut lines = match tree_of(layer) {
        Some(tree) => vec![
            format!("[generic.trees.{}]", quoted(&tree)),
            format!("repo = {}", quoted(&miss.namespace)),
        ],
        None => vec![format!(
            "repo = {}   # at the top of the file, before any table",
            quoted(&miss.namespace)
        )],
    };
    lines.push(format!("[images.{}]", quoted(&layer.name)));
    lines.push(format!("tags = {}", tags_list(&with_tag(layer, &miss.tag))));
    lines
}

/// The image's tag templates, plus the tag the child names.
fn with_tag(layer: &strata_repo::Layer, tag: &str) -> Vec<String> {
    let mut templates = layer
        .generic()
        .map(|image| image.tags.clone())
        .unwrap_or_default();
    let wanted = format!("{{name}}:{tag}");
    if !templates.contains(&wanted) {
        templates.push(wanted);
    }
    templates
}

/// The tree directory whose `repo` the image takes: the directory above the image's, or `None`
/// for an image at the top of the repository (the repository-wide `repo`).
fn tree_of(layer: &strata_repo::Layer) -> Option<String> {
    Path::new(&layer.directory)
        .parent()
        .map(|parent| parent.to_string_lossy().into_owned())
        .filter(|parent| !parent.is_empty() && parent != ".")
}

/// Put the link into `config`; `false` when a namespace is set already to another one.
fn apply_link(
    config: &mut Config,
    layer: &strata_repo::Layer,
    miss: &strata_repo::NearMiss,
) -> bool {
    let namespace = Some(miss.namespace.clone());
    let repo = match tree_of(layer) {
        Some(tree) => &mut config.generic.trees.entry(tree).or_default().repo,
        None => &mut config.repo,
    };
    if repo.is_some() && *repo != namespace {
        return false;
    }
    *repo = namespace;
    config.images.entry(layer.name.clone()).or_default().tags = Some(with_tag(layer, &miss.tag));
    true
}

fn tags_list(templates: &[String]) -> String {
    format!(
        "[{}]",
        templates
            .iter()
            .map(|template| quoted(template))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Trees holding a `build.json` whose keys name images under them.
fn build_json_trees(root: &Path, image_directories: &[String]) -> BTreeMap<String, TreeConfig> {
    // Each ancestor directory is looked at once, however many images are under it.
    let mut looked_at: BTreeMap<&Path, bool> = BTreeMap::new();
    for directory in image_directories {
        let mut ancestor = Path::new(directory).parent();
        while let Some(tree) = ancestor.filter(|tree| !tree.as_os_str().is_empty()) {
            looked_at.entry(tree).or_insert_with(|| {
                names_images(&root.join(tree).join(BUILD_JSON), tree, image_directories)
            });
            ancestor = tree.parent();
        }
    }
    looked_at
        .into_iter()
        .filter(|(_, names_images)| *names_images)
        .map(|(tree, _)| {
            (
                tree.to_string_lossy().to_string(),
                TreeConfig {
                    build_json: Some(BUILD_JSON.to_string()),
                    ..TreeConfig::default()
                },
            )
        })
        .collect()
}

/// Whether the JSON object at `path` has a key that is the last component of an image
/// directory under `tree`.
fn names_images(path: &Path, tree: &Path, image_directories: &[String]) -> bool {
    let Ok(text) = fs_err::read_to_string(path) else {
        return false;
    };
    let Ok(serde_json::Value::Object(entries)) = serde_json::from_str(&text) else {
        return false;
    };
    image_directories.iter().any(|directory| {
        let directory = Path::new(directory);
        directory.starts_with(tree)
            && directory
                .file_name()
                .is_some_and(|name| entries.contains_key(&*name.to_string_lossy()))
    })
}

fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

fn render(
    layouts: &[LayoutKind],
    config: &Config,
    ambiguities: &[Ambiguity],
    links: &Links,
    stacks_tests: &BTreeMap<String, String>,
) -> String {
    let mut text = String::from(
        "# strata.toml, started by `strata init`. Every key is described in the README.\n",
    );
    let names: Vec<String> = layouts
        .iter()
        .map(|layout| quoted(layout.as_str()))
        .collect();
    let _ = writeln!(text, "layout = [{}]", names.join(", "));
    if let Some(repo) = &config.repo {
        let _ = writeln!(
            text,
            "# The namespace the repository's `FROM` lines name its own images under.\nrepo = {}",
            quoted(repo)
        );
    }
    if layouts.contains(&LayoutKind::Generic) {
        let _ = writeln!(
            text,
            "\n# Generic images are tagged `{{name}}:{{version}}` (or `{{name}}:latest` without a version);\n# set `tags` for a tree or an image to tag them otherwise."
        );
    }
    for (tree, settings) in &config.generic.trees {
        let _ = writeln!(text, "\n[generic.trees.{}]", quoted(tree));
        if let Some(file) = &settings.build_json {
            let _ = writeln!(
                text,
                "build-json = {}   # versions and build arguments per image",
                quoted(file)
            );
        }
        if let Some(repo) = &settings.repo {
            let _ = writeln!(text, "repo = {}", quoted(repo));
        }
        if settings.build_json.is_some() {
            let _ = writeln!(
                text,
                "# tags = [\"{{name}}:v{{version}}\", \"{{name}}:latest\"]"
            );
        }
    }
    for (parent, miss) in &links.made {
        if ambiguities
            .iter()
            .any(|ambiguity| &ambiguity.image == parent)
        {
            // Written in that image's UNDECIDED block: one table per image.
            continue;
        }
        let tags = config
            .images
            .get(parent)
            .and_then(|image| image.tags.clone())
            .unwrap_or_default();
        let _ = writeln!(
            text,
            "\n# `FROM {}` in `{}` builds on this image.\n[images.{}]\ntags = {}",
            miss.reference,
            miss.dockerfile,
            quoted(parent),
            tags_list(&tags)
        );
    }
    for undecided in &links.undecided {
        let _ = writeln!(
            text,
            "\n# UNDECIDED: `FROM {}` in `{}` names an image several of this repository's are\n# called; to build on one of them, tag it so (keep one):",
            undecided.reference, undecided.dockerfile
        );
        for (_, lines) in &undecided.candidates {
            let _ = writeln!(text, "#");
            for line in lines {
                let _ = writeln!(text, "# {line}");
            }
        }
    }
    for ambiguity in ambiguities {
        let _ = writeln!(
            text,
            "\n# UNDECIDED: `FROM {}` in `{}` could be any of these; keep one.\n[images.{}]",
            ambiguity.reference,
            ambiguity.dockerfile,
            quoted(&ambiguity.image)
        );
        if let Some(tags) = config
            .images
            .get(&ambiguity.image)
            .and_then(|image| image.tags.as_ref())
        {
            let _ = writeln!(text, "tags = {}", tags_list(tags));
        }
        for candidate in &ambiguity.candidates {
            let _ = writeln!(text, "# parent = {}", quoted(candidate));
        }
        let _ = writeln!(text, "# parent = false   # an external image");
    }
    for (image, directory) in stacks_tests {
        let _ = writeln!(
            text,
            "\n[[images.{}.tests]]\nname = {}\nhost = [\"python3\", \"-m\", \"pytest\", \"-m\", \"not info\", {}]",
            quoted(image),
            quoted(&format!("pytest {directory}")),
            quoted(directory)
        );
    }
    text
}
