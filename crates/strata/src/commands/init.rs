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
use crate::output::write_atomically;
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
    let text = render(&layouts, &config, &ambiguities, &stacks_tests);
    if arguments.dry_run {
        printer.data(&text);
    } else {
        write_atomically(&path, text.as_bytes())?;
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
        ambiguities.len()
    ));
    Ok(if ambiguities.is_empty() && repository.is_some() {
        ExitStatus::Success
    } else {
        ExitStatus::Problems
    })
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
        let _ = writeln!(
            text,
            "# tags = [\"{{name}}:v{{version}}\", \"{{name}}:latest\"]"
        );
    }
    for ambiguity in ambiguities {
        let _ = writeln!(
            text,
            "\n# UNDECIDED: `FROM {}` in `{}` could be any of these; keep one.\n[images.{}]",
            ambiguity.reference,
            ambiguity.dockerfile,
            quoted(&ambiguity.image)
        );
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
