//! `strata init`: a starting `strata.toml` for a tree — its layouts, the generic trees that
//! keep versions in a build JSON, docker-stacks' per-image pytest directories as host tests —
//! and what strata could not decide (ambiguous parents, names several images carry).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use crate::{Config, LayoutKind, ParentSetting, RepoError, TreeConfig};

/// The file a tree's per-image versions are looked for in (heasarc's `build.py` reads it).
const BUILD_JSON: &str = "build.json";
/// docker-stacks keeps each image's pytest files here.
const STACKS_TESTS: &str = "tests/by_image";
/// Parents `init` gives up on after this many ambiguities (each needs a repository read).
const MAX_AMBIGUITIES: usize = 200;

/// A `FROM` strata could not match to one image.
pub struct Ambiguity {
    pub image: String,
    pub dockerfile: String,
    pub reference: String,
    pub candidates: Vec<String>,
}

/// What `strata init` proposes for the tree at `root`.
pub struct Proposal {
    /// The `strata.toml` text, ending in a newline.
    pub text: String,
    pub layouts: Vec<LayoutKind>,
    /// Parents that could be any of several images.
    pub ambiguities: Vec<Ambiguity>,
    /// `FROM namespace/<image>` lines linked, or left to the user.
    pub links: Links,
    /// What the user should know (other Dockerfiles, test fixtures, warnings of the read).
    pub notes: Vec<String>,
    /// The images of the repository as the proposal reads it; `None` when it does not read.
    pub images: Option<usize>,
}

impl Proposal {
    /// Whether everything was decided and the repository reads with the proposal.
    pub fn is_complete(&self) -> bool {
        self.ambiguities.is_empty() && self.links.undecided.is_empty() && self.images.is_some()
    }
}

/// Survey the tree at `root` and propose its `strata.toml`: its layouts, the generic trees that
/// keep versions in a build JSON, docker-stacks' per-image pytest directories as host tests,
/// the repository's own images linked where a `FROM` names them under a namespace; what it
/// cannot decide is set aside and reported.
pub fn propose_config(root: &Path) -> Result<Proposal, RepoError> {
    let (mut layouts, others) = crate::survey(root)?;
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
        match crate::open_with_config(root, config.clone()) {
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
                    crate::join_chain(&error, ": ")
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
            if let crate::LayerDetails::Stacks(stacks) = &layer.details {
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
    Ok(Proposal {
        text,
        layouts,
        ambiguities,
        links,
        notes,
        images: repository
            .as_ref()
            .map(|repository| repository.layers.len()),
    })
}

/// What `init` did about `FROM namespace/<image>:<tag>` lines naming the repository's own
/// images by a tag they do not carry.
#[derive(Default)]
pub struct Links {
    /// Linked: the image given the tag (and its tree the namespace), for the comment.
    pub made: Vec<(String, crate::NearMiss)>,
    /// Several images have the name: the user's call.
    pub undecided: Vec<UndecidedLink>,
}

pub struct UndecidedLink {
    pub dockerfile: String,
    pub reference: String,
    /// Each candidate's name and the settings that would link it.
    pub candidates: Vec<(String, Vec<String>)>,
}

/// For each near miss with one candidate, give the candidate the tag the child asks for and
/// its tree the namespace; keep the settings when the repository then links them (read again
/// to check), else leave them out with a note. Several candidates are left undecided.
fn link_near_misses(
    root: &Path,
    config: &mut Config,
    repository: crate::Repository,
    notes: &mut Vec<String>,
) -> (Option<crate::Repository>, Links) {
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
    match crate::open_with_config(root, proposed.clone()) {
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
            crate::join_chain(&error, ": ")
        )),
    }
    (Some(repository), links)
}

/// The `strata.toml` lines that would tag `layer` as `miss` names it.
fn link_settings(layer: &crate::Layer, miss: &crate::NearMiss) -> Vec<String> {
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
fn with_tag(layer: &crate::Layer, tag: &str) -> Vec<String> {
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
fn tree_of(layer: &crate::Layer) -> Option<String> {
    Path::new(&layer.directory)
        .parent()
        .map(|parent| parent.to_string_lossy().into_owned())
        .filter(|parent| !parent.is_empty() && parent != ".")
}

/// Put the link into `config`; `false` when a namespace is set already to another one.
fn apply_link(config: &mut Config, layer: &crate::Layer, miss: &crate::NearMiss) -> bool {
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
