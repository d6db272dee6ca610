//! The generic layout: any tree of Dockerfiles. Every directory holding a `Dockerfile` (or a
//! file matching `[generic] dockerfiles`) is an image. Its name is the directory's, or, when
//! the directory's name looks like a tag (`sciserver-rstudio/2022.07.2-576`,
//! `c-moor/bioc_3.13`), the directory above's, with the tag as its version. Its parent is the
//! image of the repository its final stage's `FROM` names, matched by name and tag, the
//! nearest in the tree winning (see [`Matcher`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde_json::Value;
use strata_dockerfile::{is_valid_repository_component, ImageReference};

use crate::config::{Config, ParentSetting};
use crate::diagnostic::SourceSpan;
use crate::dockerfile::read_bases;
use crate::error::{ConfigError, RepoError};
use crate::model::{GenericImage, Layer, LayerDetails, LayerId, NearMiss};

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

/// The directories (relative to the root, `""` for the root) holding an image file, outside
/// `skip`; and the directories that are image repositories of their own.
pub(crate) fn image_directories(
    root: &Path,
    config: &Config,
    skip: &[String],
) -> Result<(Vec<String>, Vec<String>), RepoError> {
    let patterns = config
        .generic
        .dockerfiles
        .clone()
        .unwrap_or_else(|| vec![DEFAULT_DOCKERFILE.to_string()]);
    let mut found = Found::default();
    walk(root, "", &patterns, skip, &mut found)?;
    let mut directories: Vec<String> = found
        .images
        .into_iter()
        .map(|(directory, _)| directory)
        .collect();
    directories.dedup();
    Ok((directories, found.nested))
}

/// Directories holding an image file, and nested repositories, below `directory`.
fn walk(
    root: &Path,
    directory: &str,
    patterns: &[String],
    skipped: &[String],
    found: &mut Found,
) -> Result<(), RepoError> {
    let path = match (root.as_os_str().is_empty(), directory.is_empty()) {
        (true, true) => Path::new(".").to_path_buf(),
        (false, true) => root.to_path_buf(),
        (_, false) => root.join(directory),
    };
    let read_error = |source| RepoError::ReadDir {
        path: path.clone(),
        source,
    };
    let entries = fs_err::read_dir(&path).map_err(read_error)?;
    let mut files = Vec::new();
    let mut directories = Vec::new();
    let mut has_settings = false;
    for entry in entries {
        let entry = entry.map_err(read_error)?;
        let Ok(name) = entry.file_name().into_string() else {
            found
                .not_utf8
                .push(crate::directories::not_utf8(&entry.path()));
            continue;
        };
        // Symbolic links are not followed: a tree is what git holds, and links may loop.
        let file_type = entry.file_type().map_err(read_error)?;
        if file_type.is_dir() {
            if !name.starts_with('.') {
                directories.push(name);
            }
        } else if file_type.is_file() && patterns.iter().any(|pattern| glob(pattern, &name)) {
            files.push(name);
        } else if file_type.is_file() && name == crate::config::CONFIG_FILE {
            has_settings = true;
        }
    }
    let is_nested_repository = !directory.is_empty()
        && (has_settings
            || directories.iter().any(|name| name == "compat")
                && directories.iter().any(|name| name == "science")
                && crate::directories::has_definition_directory(
                    &path.join("science"),
                    crate::sciserver::DEFINITION_FILE,
                )?);
    if is_nested_repository {
        found.nested.push(directory.to_string());
        return Ok(());
    }
    files.sort_unstable();
    directories.sort_unstable();
    for file in files {
        found.images.push((directory.to_string(), file));
    }
    for name in directories {
        let child = if directory.is_empty() {
            name
        } else {
            format!("{directory}/{name}")
        };
        if skipped.contains(&child) {
            continue;
        }
        walk(root, &child, patterns, skipped, found)?;
    }
    Ok(())
}

/// Whether `name` matches `pattern`, where `*` matches any text.
fn glob(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(position) => rest = &rest[position + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Whether a directory name reads as a tag rather than an image name: it starts with a digit
/// (`3.13`, `2022.07.2-576`), is `v` and a digit (`v3`), is `latest`, or has a `-`/`_`
/// separated part starting with a digit (`bioc_3.13`, `ubuntu-22.04`).
pub fn looks_like_tag(name: &str) -> bool {
    let starts_with_digit = |text: &str| text.bytes().next().is_some_and(|b| b.is_ascii_digit());
    let valid_tag = !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && !name.starts_with(['.', '-']);
    valid_tag
        && (starts_with_digit(name)
            || name.strip_prefix('v').is_some_and(starts_with_digit)
            || name == "latest"
            || name.split(['-', '_']).skip(1).any(starts_with_digit))
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

/// A tag template must be `<name>:<tag>` text naming only known variables.
fn check_template(config: &Config, image: &str, template: &str) -> Result<(), RepoError> {
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        let variable = &rest[start + 1..start + end];
        if !TEMPLATE_VARIABLES.contains(&variable) {
            return Err(ConfigError::BadTemplate {
                path: config.display_path(),
                name: image.to_string(),
                template: template.to_string(),
                reason: format!(
                    "`{{{variable}}}` is not a variable (known: {})",
                    TEMPLATE_VARIABLES
                        .iter()
                        .map(|v| format!("{{{v}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
            .into());
        }
        rest = &rest[start + end + 1..];
    }
    Ok(())
}

/// The commit facts templates may name.
#[derive(Debug, Clone, Copy)]
pub struct CommitFacts<'a> {
    pub hash: &'a str,
    pub short_hash: &'a str,
    pub count: u64,
}

/// A template rendered for an image: `None` when it names a variable the image lacks (or a
/// commit variable and no commit is given).
pub fn render(
    template: &str,
    image: &GenericImage,
    commit: Option<CommitFacts<'_>>,
) -> Option<String> {
    let mut output = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        output.push_str(&rest[..start]);
        let end = rest[start..].find('}')? + start;
        let variable = &rest[start + 1..end];
        let hash_prefix = |length: usize| commit.map(|c| c.hash.chars().take(length).collect());
        let value: Option<String> = match variable {
            "name" => Some(image.image.clone()),
            "version" => image.version.clone(),
            "variant" => image.variant.clone(),
            "label" => image.label.clone(),
            "commit" => hash_prefix(12),
            "short-commit" => commit.map(|c| c.short_hash.to_string()),
            "count" => commit.map(|c| c.count.to_string()),
            _ => None,
        };
        output.push_str(&value?);
        rest = &rest[end + 1..];
    }
    output.push_str(rest);
    Some(output)
}

/// Whether a template names a commit variable, so that its tag is unique to a build.
pub fn names_commit(template: &str) -> bool {
    COMMIT_VARIABLES
        .iter()
        .any(|variable| template.contains(&format!("{{{variable}}}")))
}

/// Every `(repository path, tag)` an image is known by before a commit is known.
fn known_tags(image: &GenericImage) -> Vec<(String, String)> {
    image
        .tags
        .iter()
        .filter_map(|template| render(template, image, None))
        .map(|tag| {
            let parsed = ImageReference::parse(&tag);
            (
                parsed.repository.to_string(),
                parsed.tag.unwrap_or("latest").to_string(),
            )
        })
        .collect()
}

/// Images of several trees whose build-unique tags would be the same (`sciserver-base:<commit>`
/// in `ubuntu-20.04/` and `ubuntu-22.04/`) get their directory above the name in front of it.
fn qualify_unique_tags(layers: &mut [Layer]) {
    let facts = CommitFacts {
        hash: "0",
        short_hash: "0",
        count: 0,
    };
    let mut holders: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, layer) in layers.iter().enumerate() {
        let Some(image) = layer.generic() else {
            continue;
        };
        if image.tags.iter().any(|template| names_commit(template)) {
            continue;
        }
        if let Some(tag) = render(&image.unique_template(), image, Some(facts)) {
            let repo = image.repo.as_deref().unwrap_or_default();
            holders
                .entry(format!("{repo}/{tag}"))
                .or_default()
                .push(index);
        }
    }
    for indices in holders.into_values().filter(|indices| indices.len() > 1) {
        for index in indices {
            let layer = &mut layers[index];
            let above = layer
                .directory
                .rsplit_once('/')
                .map_or("root", |(above, _)| above);
            let qualifier: String = above
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                        c
                    } else {
                        '-'
                    }
                })
                .take(80)
                .collect();
            if let LayerDetails::Generic(image) = &mut layer.details {
                image.qualifier = Some(qualifier.trim_start_matches(['.', '-']).to_string());
            }
        }
    }
}

fn warn_shared_tags(layers: &[Layer], warnings: &mut Vec<String>) {
    let mut holders: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for layer in layers {
        let Some(image) = layer.generic() else {
            continue;
        };
        let prefix = image
            .repo
            .as_deref()
            .map(|repo| format!("{}/", repo.trim_end_matches('/')));
        for (path, tag) in known_tags(image) {
            holders
                .entry(format!(
                    "{}{path}:{tag}",
                    prefix.as_deref().unwrap_or_default()
                ))
                .or_default()
                .push(&layer.name);
        }
    }
    let shared: Vec<String> = holders
        .into_iter()
        .filter(|(_, names)| names.len() > 1)
        .map(|(tag, names)| format!("`{tag}` ({})", names.join(", ")))
        .collect();
    if !shared.is_empty() {
        warnings.push(format!(
            "{} {} tagged by several images, so the last of them built moves it: {}; give the trees a `repo` or the images `tags` in `strata.toml`",
            shared.len(),
            if shared.len() == 1 { "tag is" } else { "tags are" },
            shared.join(", ")
        ));
    }
}

/// One way an image of the repository can be named in a `FROM` line.
#[derive(Debug)]
struct Entry {
    id: LayerId,
    /// Its directory, for nearness.
    directory: String,
    /// The repository path it is tagged under, without a registry (`heasoft`, `sci/base`).
    path: String,
    /// The tag, when one is known without a commit.
    tag: Option<String>,
}

/// Matches `FROM` references to images of the repository.
///
/// 1. A digest-pinned reference is external.
/// 2. Candidates are the images tagged under a repository path that ends the reference's
///    repository at a `/` (`heasoft` for `heasoft:latest`; `sciserver-rstudio` for
///    `containers.repo.sciserver.org/sciserver-rstudio:2021.09.2_382`).
/// 3. A registry path (`registry/name:tag`) matches only images carrying its tag (`latest`
///    when it has none), the nearest in the tree winning: the ones sharing the deepest
///    directory with the referring image. Two at that depth are ambiguous.
/// 4. A bare name (`sciserver-base`, `heasoft:latest`) is looked for nearest first: in the
///    directories the referrer shares with candidates, deepest first. At each depth an image
///    carrying the tag wins; failing that, below the root, the one image of that name
///    (`FROM sciserver-base:ubuntu-20.04` in `ubuntu-20.04/`). Two at one depth are
///    ambiguous. At the root only the tag matches. Otherwise the reference is external.
pub(crate) struct Matcher {
    entries: Vec<Entry>,
    /// Entries by the last component of their path: a reference can only match an entry whose
    /// path ends it, so each lookup reads its few candidates, not every entry.
    by_name: HashMap<String, Vec<usize>>,
}

/// An ambiguous reference: the candidates, by layer name.
#[derive(Debug)]
pub(crate) struct Ambiguous(pub Vec<LayerId>);

fn common_depth(a: &str, b: &str) -> usize {
    let components = |path: &str| -> Vec<String> {
        path.split('/')
            .filter(|component| !component.is_empty() && *component != ".")
            .map(str::to_string)
            .collect()
    };
    components(a)
        .iter()
        .zip(components(b).iter())
        .take_while(|(x, y)| x == y)
        .count()
}

impl Matcher {
    /// Every image of `layers` (all families), as its tags name it.
    pub fn new(layers: &[Layer]) -> Self {
        let mut entries = Vec::new();
        for (id, layer) in layers.iter().enumerate() {
            match &layer.details {
                LayerDetails::Generic(image) => {
                    for (path, tag) in known_tags(image) {
                        entries.push(Entry {
                            id,
                            directory: layer.directory.clone(),
                            path,
                            tag: Some(tag),
                        });
                    }
                    // The name alone, for rule 4.
                    entries.push(Entry {
                        id,
                        directory: layer.directory.clone(),
                        path: image.image.clone(),
                        tag: None,
                    });
                }
                LayerDetails::Science(science) => entries.push(Entry {
                    id,
                    directory: layer.directory.clone(),
                    path: format!("sci/{}", science.target),
                    tag: Some(science.version.clone()),
                }),
                LayerDetails::Stacks(stacks) => entries.push(Entry {
                    id,
                    directory: layer.directory.clone(),
                    path: stacks.image.clone(),
                    tag: Some(match &stacks.variant {
                        Some(variant) => format!("{variant}-latest"),
                        None => "latest".to_string(),
                    }),
                }),
            }
        }
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, entry) in entries.iter().enumerate() {
            let name = entry.path.rsplit('/').next().unwrap_or(&entry.path);
            by_name.entry(name.to_string()).or_default().push(index);
        }
        Self { entries, by_name }
    }

    /// The image `reference`, written in the Dockerfile in `directory` of image `own`, names.
    pub fn resolve(
        &self,
        reference: &str,
        directory: &str,
        own: LayerId,
    ) -> Result<Option<LayerId>, Ambiguous> {
        let parsed = ImageReference::parse(reference);
        if parsed.digest.is_some() {
            return Ok(None);
        }
        let repository = parsed.repository;
        let tag = parsed.tag.unwrap_or("latest");
        let names_path = |path: &str| {
            repository == path
                || repository
                    .strip_suffix(path)
                    .is_some_and(|prefix| prefix.ends_with('/'))
        };
        let name = repository.rsplit('/').next().unwrap_or(repository);
        let candidates: Vec<&Entry> = self
            .by_name
            .get(name)
            .into_iter()
            .flatten()
            .map(|index| &self.entries[*index])
            .filter(|entry| entry.id != own && names_path(&entry.path))
            .collect();
        let exact: Vec<&Entry> = candidates
            .iter()
            .copied()
            .filter(|entry| entry.tag.as_deref() == Some(tag))
            .collect();
        if repository.contains('/') {
            // A registry path names a published tag: only an image carrying it matches.
            return nearest(&exact, directory, 0);
        }
        // A bare name: nearest in the tree first; at each depth an image carrying the tag
        // wins, and below the root one image of the name matches whatever the tag.
        let depths: BTreeSet<usize> = candidates
            .iter()
            .map(|entry| common_depth(&entry.directory, directory))
            .collect();
        for depth in depths.into_iter().rev() {
            let at = |entries: &[&Entry]| -> BTreeSet<LayerId> {
                entries
                    .iter()
                    .filter(|entry| common_depth(&entry.directory, directory) == depth)
                    .map(|entry| entry.id)
                    .collect()
            };
            let exact_here = at(&exact);
            let here = if exact_here.is_empty() && depth > 0 {
                at(&candidates)
            } else {
                exact_here
            };
            match here.len() {
                0 => {}
                1 => return Ok(here.into_iter().next()),
                _ => return Err(Ambiguous(here.into_iter().collect())),
            }
        }
        Ok(None)
    }
}

/// The one image among `entries` sharing the deepest directory with `directory`, at least
/// `minimum_depth` components deep.
fn nearest(
    entries: &[&Entry],
    directory: &str,
    minimum_depth: usize,
) -> Result<Option<LayerId>, Ambiguous> {
    let Some(depth) = entries
        .iter()
        .map(|entry| common_depth(&entry.directory, directory))
        .max()
    else {
        return Ok(None);
    };
    if depth < minimum_depth {
        return Ok(None);
    }
    let ids: BTreeSet<LayerId> = entries
        .iter()
        .filter(|entry| common_depth(&entry.directory, directory) == depth)
        .map(|entry| entry.id)
        .collect();
    match ids.len() {
        1 => Ok(ids.into_iter().next()),
        _ => Err(Ambiguous(ids.into_iter().collect())),
    }
}

/// Whether a reference names a generic image of `layers`.
pub(crate) fn names_image(reference: &str, layers: &[Layer]) -> bool {
    let matcher = Matcher::new(layers);
    let parsed = ImageReference::parse(reference);
    matcher.entries.iter().any(|entry| {
        layers[entry.id].generic().is_some()
            && entry.tag.as_deref() == Some(parsed.tag.unwrap_or("latest"))
            && (parsed.repository == entry.path
                || parsed
                    .repository
                    .strip_suffix(entry.path.as_str())
                    .is_some_and(|prefix| prefix.ends_with('/')))
    }) && parsed.digest.is_none()
}

/// Generic images left on an external base written `namespace/<name>:<tag>` where `<name>` is
/// one of the repository's generic images (not the image itself, not pinned by digest, no
/// `parent` configured).
fn near_misses(config: &Config, others: &[Layer], layers: &[Layer]) -> Vec<NearMiss> {
    let offset = others.len();
    let mut misses = Vec::new();
    for (index, layer) in layers.iter().enumerate() {
        let configured = config
            .images
            .get(&layer.name)
            .is_some_and(|image| image.parent.is_some());
        if layer.parent.is_some() || configured || layer.generic().is_none() {
            continue;
        }
        let parsed = ImageReference::parse(&layer.base);
        let name = parsed.name();
        if parsed.digest.is_some() || !parsed.has_namespace() {
            continue;
        }
        let candidates: Vec<LayerId> = layers
            .iter()
            .enumerate()
            .filter(|(other, candidate)| {
                *other != index && candidate.generic().is_some_and(|image| image.image == name)
            })
            .map(|(other, _)| offset + other)
            .collect();
        if candidates.is_empty() {
            continue;
        }
        let namespace = parsed
            .repository
            .strip_suffix(name)
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string();
        misses.push(NearMiss {
            image: layer.name.clone(),
            dockerfile: layer.dockerfile.clone(),
            reference: layer.base.clone(),
            namespace,
            tag: parsed.tag.unwrap_or("latest").to_string(),
            candidates,
        });
    }
    misses
}

fn link_parents(
    read_images: Vec<ReadImage>,
    config: &Config,
    others: &[Layer],
) -> Result<Vec<Layer>, RepoError> {
    let offset = others.len();
    let mut all: Vec<Layer> = others.to_vec();
    all.extend(read_images.iter().map(|read| read.layer.clone()));
    let matcher = Matcher::new(&all);
    let mut layers = Vec::with_capacity(read_images.len());
    for (index, read) in read_images.into_iter().enumerate() {
        let id = offset + index;
        let mut layer = read.layer;
        let ambiguous = |reference: &str, candidates: Ambiguous| RepoError::AmbiguousParent {
            image: layer.name.clone(),
            dockerfile: layer.dockerfile.clone(),
            reference: reference.to_string(),
            candidates: candidates
                .0
                .iter()
                .map(|id| all[*id].name.clone())
                .collect(),
        };
        let configured = config
            .images
            .get(&layer.name)
            .and_then(|image| image.parent.clone());
        layer.parent = match configured {
            Some(ParentSetting::External) => None,
            Some(ParentSetting::Image(parent)) => Some(
                all.iter()
                    .position(|other| other.name == parent)
                    .ok_or_else(|| ConfigError::UnknownParent {
                        path: config.display_path(),
                        name: layer.name.clone(),
                        parent: parent.clone(),
                    })?,
            ),
            None => matcher
                .resolve(&layer.base, &layer.directory, id)
                .map_err(|candidates| ambiguous(&layer.base, candidates))?,
        };
        let mut reads = Vec::new();
        for reference in &read.other_references {
            if let Some(dependency) = matcher
                .resolve(reference, &layer.directory, id)
                .map_err(|candidates| ambiguous(reference, candidates))?
            {
                reads.push((reference.clone(), dependency));
            }
        }
        let mut also_needs: Vec<LayerId> = reads
            .iter()
            .map(|(_, dependency)| *dependency)
            .filter(|dependency| Some(*dependency) != layer.parent)
            .collect();
        also_needs.sort_unstable();
        also_needs.dedup();
        layer.reads = reads;
        layer.also_needs = also_needs;
        layers.push(layer);
    }
    Ok(layers)
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
    fn globs() {
        assert!(glob("Dockerfile", "Dockerfile"));
        assert!(!glob("Dockerfile", "Dockerfile.gpu"));
        assert!(glob("Dockerfile.*", "Dockerfile.gpu"));
        assert!(!glob("Dockerfile.*", "Dockerfile"));
        assert!(glob("*.Dockerfile", "cuda.Dockerfile"));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b*c", "aXXcYYb"));
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
