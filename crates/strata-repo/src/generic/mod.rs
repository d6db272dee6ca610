//! The generic layout: any tree of Dockerfiles. Every directory holding a `Dockerfile` (or a
//! file matching `[generic] dockerfiles`) is an image. Its name is the directory's, or, when
//! the directory's name looks like a tag (`sciserver-rstudio/2022.07.2-576`,
//! `c-moor/bioc_3.13`), the directory above's, with the tag as its version. Its parent is the
//! image of the repository its final stage's `FROM` names, matched by name and tag, the
//! nearest in the tree winning (see [`Matcher`]).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use strata_dockerfile::is_valid_repository_component;

use crate::config::Config;
use crate::diagnostic::SourceSpan;
use crate::dockerfile::read_bases;
use crate::error::{ConfigError, RepoError};
use crate::model::{GenericImage, Layer, LayerDetails, NearMiss};
pub(crate) use discovery::image_directories;
use discovery::walk;
pub(crate) use parents::names_image;
use parents::{link_parents, near_misses};
use tags::{check_template, known_tags, qualify_unique_tags, warn_shared_tags};
pub use tags::{looks_like_tag, names_commit, render, CommitFacts};

mod discovery;
mod parents;
mod tags;

/// The file that makes a directory an image unless `[generic] dockerfiles` says otherwise.
pub const DEFAULT_DOCKERFILE: &str = "Dockerfile";
/// Variables a tag template may name.
pub const TEMPLATE_VARIABLES: &[&str] = &[
    "name",
    "version",
    "variant",
    "label",
    "commit",
    "short-commit",
    "count",
];
/// Variables only known when a plan is made, from the commit.
pub const COMMIT_VARIABLES: &[&str] = &["commit", "short-commit", "count"];
pub(crate) struct GenericRepository {
    pub layers: Vec<Layer>,
    pub warnings: Vec<String>,
    pub near_misses: Vec<NearMiss>,
    /// Directories below the root that are image repositories of their own, left out.
    pub nested: Vec<String>,
}
/// What a walk of the tree found.
#[derive(Default)]
struct Found {
    /// `(directory, file name)` of each image file, the directory `/`-separated relative to
    /// the root (`""` for the root itself), depth first in name order.
    images: Vec<(String, String)>,
    /// Subdirectories that are image repositories of their own (a `strata.toml`, or SciServer's
    /// `science/` and `compat/` folders): not walked, since their Dockerfiles are read by their
    /// own settings (a compat layer's Dockerfile is a fragment, not an image).
    nested: Vec<String>,
    /// Warnings for entries left out because their names are not UTF-8.
    not_utf8: Vec<String>,
}
/// A generic image as read, before its parent is matched.
struct ReadImage {
    layer: Layer,
    other_references: Vec<String>,
}
/// Read every generic image under `root`, skipping `skip` (directories other layouts own).
/// `others` are the layers other layouts already read: generic images may be built on them.
/// The returned layers' ids follow on from `others`.
pub(crate) fn load(
    root: &Path,
    config: &Config,
    skip: &[String],
    others: &[Layer],
) -> Result<GenericRepository, RepoError> {
    let mut warnings = Vec::new();
    let patterns = config
        .generic
        .dockerfiles
        .clone()
        .unwrap_or_else(|| vec![DEFAULT_DOCKERFILE.to_string()]);
    let mut skipped: Vec<String> = skip.to_vec();
    skipped.extend(
        config
            .generic
            .exclude
            .iter()
            .map(|directory| directory.trim_matches('/').to_string()),
    );
    let mut found = Found::default();
    walk(root, "", &patterns, &skipped, &mut found)?;
    if !found.nested.is_empty() && !found.images.is_empty() {
        warnings.push(format!(
            "{} left out: {} an image repository of {} own; run strata on {} path",
            found
                .nested
                .iter()
                .map(|directory| format!("`{directory}`"))
                .collect::<Vec<_>>()
                .join(", "),
            if found.nested.len() == 1 {
                "it is"
            } else {
                "each is"
            },
            if found.nested.len() == 1 {
                "its"
            } else {
                "their"
            },
            if found.nested.len() == 1 {
                "its"
            } else {
                "each one's"
            },
        ));
    }
    warnings.append(&mut found.not_utf8);
    let build_json = read_build_json(root, config)?;
    let mut read_images = Vec::with_capacity(found.images.len());
    for (directory, file) in found.images {
        read_images.push(read_image(root, config, &build_json, &directory, &file)?);
    }
    for (tree, (file, names)) in &build_json {
        for name in names.keys() {
            let known = read_images.iter().any(|read| {
                read.layer
                    .generic()
                    .is_some_and(|image| &image.image == name)
                    && in_tree(&read.layer.directory, tree)
            });
            if !known {
                warnings.push(format!(
                    "`{file}` describes `{name}`, which is no image under `{tree}/`"
                ));
            }
        }
    }
    let mut layers = link_parents(read_images, config, others)?;
    let near_misses = near_misses(config, others, &layers);
    for miss in &near_misses {
        let offset = others.len();
        let names: Vec<String> = miss
            .candidates
            .iter()
            .map(|id| {
                let layer = &layers[*id - offset];
                let tags: Vec<String> = layer
                    .generic()
                    .map(|image| {
                        known_tags(image)
                            .into_iter()
                            .map(|(path, tag)| format!("{path}:{tag}"))
                            .collect()
                    })
                    .unwrap_or_default();
                format!(
                    "`{}` (tagged {})",
                    layer.name,
                    tags.iter()
                        .map(|tag| format!("`{tag}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect();
        warnings.push(format!(
            "`{}`: `FROM {}` builds on the published image, though {} of this repository {} that name but not that tag; `strata init --dry-run` shows the `repo` and `tags` that link them, or set `parent` under `[images.\"{}\"]`",
            miss.dockerfile,
            miss.reference,
            names.join(" and "),
            if names.len() == 1 { "has" } else { "have" },
            miss.image,
        ));
    }
    qualify_unique_tags(&mut layers);
    warn_shared_tags(&layers, &mut warnings);
    Ok(GenericRepository {
        layers,
        warnings,
        near_misses,
        nested: found.nested,
    })
}
/// The image name and tag-like directory a directory gives, before `strata.toml` overrides.
fn name_from_directory(root: &Path, directory: &str) -> (String, Option<String>) {
    let components: Vec<&str> = directory.split('/').filter(|c| !c.is_empty()).collect();
    match components.as_slice() {
        [] => {
            let root = if root.as_os_str().is_empty() {
                Path::new(".")
            } else {
                root
            };
            let name = std::fs::canonicalize(root)
                .ok()
                .and_then(|path| path.file_name().map(|n| n.to_string_lossy().to_string()))
                .unwrap_or_default();
            (name.to_lowercase(), None)
        }
        [.., parent, last] if looks_like_tag(last) => {
            (parent.to_lowercase(), Some((*last).to_string()))
        }
        [.., last] => (last.to_lowercase(), None),
    }
}
/// The layer name of a generic image: its directory (`heasarc/heasoft`, `.` for the root), or
/// `<directory>/<file>` for a file other than `Dockerfile`.
fn layer_name(directory: &str, file: &str) -> String {
    match (directory.is_empty(), file == DEFAULT_DOCKERFILE) {
        (true, true) => ".".to_string(),
        (true, false) => file.to_string(),
        (false, true) => directory.to_string(),
        (false, false) => format!("{directory}/{file}"),
    }
}
/// `tree → (its build JSON's path, image name → settings)` read from each tree's `build-json`.
type BuildJson = BTreeMap<String, (String, BTreeMap<String, BTreeMap<String, String>>)>;
fn read_build_json(root: &Path, config: &Config) -> Result<BuildJson, RepoError> {
    let mut all = BuildJson::new();
    for (tree, settings) in &config.generic.trees {
        let Some(file) = &settings.build_json else {
            continue;
        };
        let tree = tree.trim_matches('/').to_string();
        let path = root.join(&tree).join(file);
        let text = strata_fs::read_text(&path)?;
        let invalid = |message: String, line: usize| RepoError::InvalidJson {
            span: SourceSpan::line(&path, &text, line),
            message,
        };
        let value: Value = serde_json::from_str(&text)
            .map_err(|error| invalid(error.to_string(), error.line()))?;
        let Value::Object(images) = value else {
            return Err(invalid(
                "expected an object of images: {\"<image>\": {\"version\": \"…\"}}".to_string(),
                1,
            ));
        };
        let mut by_name = BTreeMap::new();
        for (name, entry) in images {
            let line = line_of(&text, &format!("\"{name}\""));
            let Value::Object(entry) = entry else {
                return Err(invalid(
                    format!("`{name}` must be an object of settings"),
                    line,
                ));
            };
            let mut settings = BTreeMap::new();
            for (key, value) in entry {
                let value = match value {
                    Value::String(text) => text,
                    Value::Number(number) => number.to_string(),
                    Value::Bool(flag) => flag.to_string(),
                    _ => {
                        return Err(invalid(
                            format!("`{name}.{key}` must be a string, number or boolean"),
                            line,
                        ))
                    }
                };
                settings.insert(key, value);
            }
            by_name.insert(name, settings);
        }
        let display = if tree.is_empty() {
            file.clone()
        } else {
            format!("{tree}/{file}")
        };
        all.insert(tree, (display, by_name));
    }
    Ok(all)
}
/// The 1-based line where `needle` first occurs, 1 when it does not.
fn line_of(text: &str, needle: &str) -> usize {
    text.find(needle)
        .map_or(1, |offset| text[..offset].matches('\n').count() + 1)
}
/// Whether `directory` is `tree` or under it.
fn in_tree(directory: &str, tree: &str) -> bool {
    let tree = tree.trim_matches('/');
    tree.is_empty() || directory == tree || directory.starts_with(&format!("{tree}/"))
}
/// The trees `directory` is in, outermost first.
fn trees_of<'c>(
    config: &'c Config,
    directory: &str,
) -> Vec<(&'c str, &'c crate::config::TreeConfig)> {
    let mut trees: Vec<_> = config
        .generic
        .trees
        .iter()
        .filter(|(tree, _)| in_tree(directory, tree))
        .map(|(tree, settings)| (tree.as_str(), settings))
        .collect();
    trees.sort_by_key(|(tree, _)| tree.trim_matches('/').len());
    trees
}
fn read_image(
    root: &Path,
    config: &Config,
    build_json: &BuildJson,
    directory: &str,
    file: &str,
) -> Result<ReadImage, RepoError> {
    let name = layer_name(directory, file);
    let image_config = config.images.get(&name);
    let (derived_name, directory_tag) = name_from_directory(root, directory);
    let image = image_config
        .and_then(|image| image.name.clone())
        .unwrap_or(derived_name);
    if !is_valid_repository_component(&image) {
        return Err(RepoError::InvalidField {
            directory: name,
            field: "image name",
            value: image,
            rule: "an image name is lowercase letters and digits, with single `-`, `_` or `.` between them; set `name` under `[images.\"<directory>\"]` in `strata.toml`",
        });
    }
    let variant = file
        .strip_prefix(DEFAULT_DOCKERFILE)
        .and_then(|suffix| suffix.strip_prefix(['.', '-', '_']))
        .filter(|suffix| !suffix.is_empty())
        .map(str::to_lowercase);

    // Settings: repository-wide, then each tree outermost first, then the tree's build JSON,
    // then the image's own.
    let trees = trees_of(config, directory);
    let mut build_args = config.build_args.clone();
    let mut tags = config.generic.tags.clone();
    let mut repo = None;
    let mut json_settings = BTreeMap::new();
    for (tree, settings) in &trees {
        build_args.extend(settings.build_args.clone());
        if settings.tags.is_some() {
            tags.clone_from(&settings.tags);
        }
        if settings.repo.is_some() {
            repo.clone_from(&settings.repo);
        }
        if let Some(entry) = build_json
            .get(tree.trim_matches('/'))
            .and_then(|(_, images)| images.get(&image))
        {
            json_settings.clone_from(entry);
        }
    }
    let label = json_settings.remove("label");
    json_settings.remove("name");
    let version = image_config
        .and_then(|image| image.version.clone())
        .or_else(|| json_settings.get("version").cloned())
        .or(directory_tag);
    build_args.extend(json_settings);
    if let Some(image_config) = image_config {
        build_args.extend(image_config.build_args.clone());
        if image_config.tags.is_some() {
            tags.clone_from(&image_config.tags);
        }
    }
    let tags = tags.unwrap_or_else(|| {
        vec![match (&version, &variant) {
            (Some(_), Some(_)) => "{name}:{version}-{variant}".to_string(),
            (Some(_), None) => "{name}:{version}".to_string(),
            (None, Some(_)) => "{name}:{variant}".to_string(),
            (None, None) => "{name}:latest".to_string(),
        }]
    });
    for template in &tags {
        check_template(config, &name, template)?;
    }
    let details = GenericImage {
        image,
        version,
        variant,
        label,
        tags,
        repo,
        qualifier: None,
    };
    if details
        .tags
        .iter()
        .all(|template| render(template, &details, None).is_none())
    {
        return Err(ConfigError::NoTags {
            path: config.display_path(),
            name,
            templates: details.tags.join("`, `"),
        }
        .into());
    }

    let dockerfile_path = if directory.is_empty() {
        file.to_string()
    } else {
        format!("{directory}/{file}")
    };
    let bases = read_bases(&root.join(&dockerfile_path), &build_args, &name)?;
    let directory = if directory.is_empty() {
        ".".to_string()
    } else {
        directory.to_string()
    };
    let layer = Layer::read(
        name,
        directory,
        dockerfile_path.clone(),
        dockerfile_path,
        &bases,
        build_args,
        LayerDetails::Generic(details),
    );
    Ok(ReadImage {
        layer,
        other_references: bases.other_references,
    })
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_like_directory_names() {
        for tag in [
            "3.13",
            "2022.07.2-576",
            "2021.09.0_351",
            "bioc_3.13",
            "v3",
            "ubuntu-22.04",
            "latest",
        ] {
            assert!(looks_like_tag(tag), "{tag}");
        }
        for name in [
            "sciserver-base",
            "heasoft",
            "tensorflow-build",
            "s3-tools",
            "py3",
            "vnc-kde",
            "",
        ] {
            assert!(!looks_like_tag(name), "{name}");
        }
    }

    #[test]
    fn templates_render_or_drop() {
        let image = GenericImage {
            image: "heasoft".into(),
            version: Some("6.35.1".into()),
            variant: None,
            label: None,
            tags: Vec::new(),
            repo: None,
            qualifier: None,
        };
        assert_eq!(
            render("{name}:v{version}", &image, None).as_deref(),
            Some("heasoft:v6.35.1")
        );
        assert_eq!(render("{name}:{label}", &image, None), None);
        assert_eq!(render("{name}:{commit}", &image, None), None);
        let commit = CommitFacts {
            hash: "0123456789abcdef",
            short_hash: "0123456",
            count: 7,
        };
        assert_eq!(
            render(
                "{name}:{version}-{count}-{short-commit}",
                &image,
                Some(commit)
            )
            .as_deref(),
            Some("heasoft:6.35.1-7-0123456")
        );
        assert_eq!(
            render("{name}:{commit}", &image, Some(commit)).as_deref(),
            Some("heasoft:0123456789ab")
        );
    }
}
