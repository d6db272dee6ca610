//! Opening a repository: reading `strata.toml`, detecting its layouts (image families), reading
//! each, and the checks they share: unique names, no cycles, inherited taggers and tests.

use std::path::Path;

use crate::config::{Config, LayoutKind, ParentSetting};
use crate::cycles::find_cycle;
use crate::directories::has_definition_directory;
use crate::error::ConfigError;
use crate::error::RepoError;
use crate::model::{
    BuiltinCheck, CompatLayer, ImageTest, ImageTestKind, Layer, LayerId, Repository,
};
use crate::{generic, sciserver, stacks};

/// The seconds an image test may run unless `[test] timeout` or the test says otherwise.
pub const DEFAULT_TEST_TIMEOUT: u64 = 600;
/// The directory beside a Dockerfile whose executable files are the image's tests.
pub const TESTS_DIRECTORY: &str = "tests";

/// Open the image repository at `root`: read its settings, detect its layouts, read and check
/// every image definition.
pub fn open(root: &Path) -> Result<Repository, RepoError> {
    let config = Config::load(base_of(root)?)?;
    open_with_config(root, config)
}

/// The directory paths are joined to: `root`, or nothing for `.`, so that paths in messages
/// read `science/x/Dockerfile`, not `./science/x/Dockerfile`.
fn base_of(root: &Path) -> Result<&Path, RepoError> {
    if !root.is_dir() {
        return Err(RepoError::NotFound {
            root: root.to_path_buf(),
            nested: Vec::new(),
        });
    }
    Ok(if root == Path::new(".") {
        Path::new("")
    } else {
        root
    })
}

/// What `strata init` needs: the layouts detected without settings, and the directories with
/// Dockerfiles those layouts do not read.
pub fn survey(root: &Path) -> Result<(Vec<LayoutKind>, Vec<String>), RepoError> {
    let base = base_of(root)?;
    let config = Config::default();
    let mut warnings = Vec::new();
    let layouts = detect_layouts(base, &config, &mut warnings)?;
    let (others, nested) =
        generic::image_directories(base, &config, &owned_directories(&layouts, &config))?;
    if layouts == [LayoutKind::Generic] {
        if others.is_empty() {
            return Err(RepoError::NotFound {
                root: root.to_path_buf(),
                nested: nested.clone(),
            });
        }
        return Ok((layouts, Vec::new()));
    }
    Ok((layouts, others))
}

/// Open the repository at `root` with `config` rather than its `strata.toml`.
pub fn open_with_config(root: &Path, config: Config) -> Result<Repository, RepoError> {
    let base = base_of(root)?;
    let mut warnings = Vec::new();
    let layouts = match &config.layout {
        Some(layouts) if !layouts.is_empty() => {
            let mut unique = Vec::new();
            for layout in layouts {
                if !unique.contains(layout) {
                    unique.push(*layout);
                }
            }
            unique
        }
        _ => detect_layouts(base, &config, &mut warnings)?,
    };
    let mut layers: Vec<Layer> = Vec::new();
    let mut compat_layers: Vec<CompatLayer> = Vec::new();
    let mut near_misses = Vec::new();
    let mut nested = Vec::new();
    for layout in &layouts {
        let (family, family_warnings) = match layout {
            LayoutKind::Sciserver => {
                let repository = sciserver::load(base, &config)?;
                compat_layers = repository.compat_layers;
                (repository.layers, repository.warnings)
            }
            LayoutKind::DockerStacks => {
                let repository = stacks::load(base, &config)?;
                (repository.layers, repository.warnings)
            }
            LayoutKind::Generic => continue,
        };
        let offset = layers.len();
        layers.extend(family.into_iter().map(|layer| shifted(layer, offset)));
        warnings.extend(family_warnings);
    }
    // Generic trees last: their images may be built on the other families'.
    if layouts.contains(&LayoutKind::Generic) {
        let repository = generic::load(
            base,
            &config,
            &owned_directories(&layouts, &config),
            &layers,
        )?;
        layers.extend(repository.layers);
        warnings.extend(repository.warnings);
        near_misses = repository.near_misses;
        nested = repository.nested;
    }
    if layers.is_empty() {
        if config.layout.is_none() {
            // Nothing detected and no Dockerfile anywhere: not an image repository.
            return Err(RepoError::NotFound {
                root: root.to_path_buf(),
                nested: nested.clone(),
            });
        }
        let looked_in = layouts
            .iter()
            .map(|layout| match layout {
                LayoutKind::Sciserver => format!("science/*/{}", sciserver::DEFINITION_FILE),
                LayoutKind::DockerStacks => format!(
                    "{}/*/Dockerfile",
                    config
                        .images_dir
                        .as_deref()
                        .unwrap_or(stacks::DEFAULT_IMAGES_DIR)
                ),
                LayoutKind::Generic => "**/Dockerfile".to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ");
        return Err(RepoError::NoImages {
            root: root.to_path_buf(),
            layout: layouts
                .iter()
                .map(|layout| layout.as_str())
                .collect::<Vec<_>>()
                .join(" + "),
            looked_in,
        });
    }
    for layer in &mut layers {
        layer.settle_external_reads();
    }
    check_unique_names(&layers)?;
    if let Some(cycle) = find_cycle(&layers) {
        return Err(RepoError::Cycle { cycle });
    }
    check_configured_images(&config, &layers)?;
    inherit_taggers(&config, &mut layers);
    inherit_platforms(&config, &mut layers)?;
    collect_tests(base, &config, &mut layers)?;
    Ok(Repository {
        root: root.to_path_buf(),
        layout: layouts[0],
        layouts,
        config,
        layers,
        compat_layers,
        warnings,
        near_misses,
    })
}

/// A layer of one family moved to follow `offset` layers of others.
fn shifted(mut layer: Layer, offset: LayerId) -> Layer {
    if let Some(parent) = &mut layer.parent {
        *parent += offset;
    }
    for dependency in &mut layer.also_needs {
        *dependency += offset;
    }
    for (_, dependency) in &mut layer.reads {
        *dependency += offset;
    }
    layer
}

/// Directories the SciServer and docker-stacks layouts own, which the generic layout skips.
fn owned_directories(layouts: &[LayoutKind], config: &Config) -> Vec<String> {
    let mut owned = Vec::new();
    if layouts.contains(&LayoutKind::Sciserver) {
        owned.extend(["science".to_string(), "compat".to_string()]);
    }
    if layouts.contains(&LayoutKind::DockerStacks) {
        owned.push(
            config
                .images_dir
                .as_deref()
                .unwrap_or(stacks::DEFAULT_IMAGES_DIR)
                .trim_matches('/')
                .to_string(),
        );
    }
    owned
}

/// Without `layout` in `strata.toml`: SciServer when `science/*/sciserver-image.json` exists,
/// docker-stacks when `images/*/Dockerfile` does, else generic (a tree without any Dockerfile is then
/// no repository). Other Dockerfiles beside a SciServer layout are reported, not read.
fn detect_layouts(
    base: &Path,
    config: &Config,
    warnings: &mut Vec<String>,
) -> Result<Vec<LayoutKind>, RepoError> {
    let mut layouts = Vec::new();
    if has_definition_directory(&base.join("science"), sciserver::DEFINITION_FILE)? {
        layouts.push(LayoutKind::Sciserver);
    }
    let images_dir = config
        .images_dir
        .as_deref()
        .unwrap_or(stacks::DEFAULT_IMAGES_DIR);
    if layouts.is_empty() && has_definition_directory(&base.join(images_dir), "Dockerfile")? {
        layouts.push(LayoutKind::DockerStacks);
    }
    // Neither: the generic layout, which walks the tree itself (an empty one is no repository).
    if layouts.is_empty() {
        return Ok(vec![LayoutKind::Generic]);
    }
    // docker-stacks repositories keep other Dockerfiles (docs, CI) that are not images: only a
    // SciServer repository is walked for them.
    if layouts == [LayoutKind::DockerStacks] {
        return Ok(layouts);
    }
    let (others, _) =
        generic::image_directories(base, config, &owned_directories(&layouts, config))?;
    // A repository with a `Dockerfile` at its root and a layout is usually the layout's tools.
    let others: Vec<String> = others
        .into_iter()
        .filter(|directory| !directory.is_empty())
        .collect();
    if !others.is_empty() {
        warnings.push(format!(
            "{} other {} Dockerfiles ({}{}) {} not read: add `layout = [\"{}\", \"generic\"]` to `strata.toml` (or run `strata init`) to plan them too",
            others.len(),
            if others.len() == 1 { "directory holds" } else { "directories hold" },
            others.iter().take(3).map(|d| format!("`{d}`")).collect::<Vec<_>>().join(", "),
            if others.len() > 3 { ", …" } else { "" },
            if others.len() == 1 { "is" } else { "are" },
            layouts[0].as_str(),
        ));
    }
    Ok(layouts)
}

/// Image names must be unique across families: they key `strata.toml` and selectors.
fn check_unique_names(layers: &[Layer]) -> Result<(), RepoError> {
    let mut seen: std::collections::HashMap<&str, &Layer> = std::collections::HashMap::new();
    for layer in layers {
        if let Some(first) = seen.insert(&layer.name, layer) {
            return Err(RepoError::DuplicateName {
                name: layer.name.clone(),
                first: first.dockerfile.clone(),
                second: layer.dockerfile.clone(),
            });
        }
    }
    Ok(())
}

/// Every layer, each after its parent: what a layer inherits is its parent's, worked out
/// first, plus its own — linear in the number of layers, however deep the chains.
fn parents_first(layers: &[Layer]) -> Vec<LayerId> {
    let mut placed = vec![false; layers.len()];
    let mut order = Vec::with_capacity(layers.len());
    for id in 0..layers.len() {
        let mut chain = Vec::new();
        let mut current = Some(id);
        // Cycles were refused when the layers were read, so the walk ends.
        while let Some(layer) = current.filter(|layer| !placed[*layer]) {
            placed[layer] = true;
            chain.push(layer);
            current = layers[layer].parent;
        }
        order.extend(chain.into_iter().rev());
    }
    order
}

/// Each layer's list: its parent's (already inherited), then its own, each item once.
fn inherited<T: Clone + PartialEq>(layers: &[Layer], own: &[Vec<T>]) -> Vec<Vec<T>> {
    let mut inherited: Vec<Vec<T>> = vec![Vec::new(); layers.len()];
    for id in parents_first(layers) {
        let mut items = layers[id]
            .parent
            .map(|parent| inherited[parent].clone())
            .unwrap_or_default();
        for item in &own[id] {
            if !items.contains(item) {
                items.push(item.clone());
            }
        }
        inherited[id] = items;
    }
    inherited
}

/// Each layer's taggers: those of its ancestors, root first, then its own, each once.
fn inherit_taggers(config: &Config, layers: &mut [Layer]) {
    let own = |layer: &Layer| {
        config
            .images
            .get(&layer.name)
            .map(|image| image.taggers.clone())
            .unwrap_or_default()
    };
    let own: Vec<_> = layers.iter().map(own).collect();
    let inherited = inherited(layers, &own);
    for (layer, taggers) in layers.iter_mut().zip(inherited) {
        layer.taggers = taggers;
    }
}

/// Whether `text` is a platform as `docker build --platform` takes it: `os/arch[/variant]`.
pub fn check_platform(text: &str) -> Result<(), String> {
    let parts: Vec<&str> = text.split('/').collect();
    let valid_part = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|character| character.is_ascii_alphanumeric() || character == '_')
    };
    if !(2..=3).contains(&parts.len()) || !parts.iter().all(|part| valid_part(part)) {
        return Err("not `os/architecture[/variant]`".to_string());
    }
    Ok(())
}

/// Each layer's platforms: its own `platforms`, else its parent's, else the repository's. A
/// layer may only be built for platforms its parent is built for.
fn inherit_platforms(config: &Config, layers: &mut [Layer]) -> Result<(), RepoError> {
    let path = config.display_path();
    let bad = |place: String, platform: &str, reason: String| {
        RepoError::Config(ConfigError::BadPlatform {
            path: path.clone(),
            place,
            platform: platform.to_string(),
            reason,
        })
    };
    let check_list = |place: &str, platforms: &[String]| -> Result<(), RepoError> {
        for (index, platform) in platforms.iter().enumerate() {
            check_platform(platform).map_err(|reason| bad(place.to_string(), platform, reason))?;
            if platforms[..index].contains(platform) {
                return Err(bad(place.to_string(), platform, "named twice".to_string()));
            }
        }
        Ok(())
    };
    check_list("the repository", &config.platforms)?;
    for platform in config.engines.by_platform.keys() {
        check_platform(platform)
            .map_err(|reason| bad("`[engines]`".to_string(), platform, reason))?;
    }
    for (name, image) in &config.images {
        if let Some(platforms) = &image.platforms {
            check_list(&format!("image `{name}`"), platforms)?;
        }
    }
    let mut resolved: Vec<Option<Vec<String>>> = vec![None; layers.len()];
    for ancestor in parents_first(layers) {
        {
            let own = config
                .images
                .get(&layers[ancestor].name)
                .and_then(|image| image.platforms.clone());
            let parent = layers[ancestor].parent;
            let inherited = parent
                .and_then(|parent| resolved[parent].clone())
                .unwrap_or_else(|| config.platforms.clone());
            let platforms = own.unwrap_or_else(|| inherited.clone());
            if let Some(parent) = parent {
                let parent_platforms = resolved[parent].clone().unwrap_or_default();
                if !parent_platforms.is_empty() {
                    if let Some(missing) = platforms
                        .iter()
                        .find(|platform| !parent_platforms.contains(platform))
                    {
                        return Err(RepoError::Config(ConfigError::PlatformWithoutParent {
                            path: path.clone(),
                            name: layers[ancestor].name.clone(),
                            parent: layers[parent].name.clone(),
                            platform: missing.clone(),
                            parent_platforms: parent_platforms.join(", "),
                        }));
                    }
                }
            }
            resolved[ancestor] = Some(platforms);
        }
    }
    for (layer, platforms) in layers.iter_mut().zip(resolved) {
        layer.platforms = platforms.unwrap_or_default();
    }
    Ok(())
}

/// Each layer's tests: its ancestors', root first, then its own. A layer's own tests are the
/// executable files of the `tests/` directory beside its Dockerfile, then its `strata.toml`
/// tests.
fn collect_tests(base: &Path, config: &Config, layers: &mut [Layer]) -> Result<(), RepoError> {
    let mut own = Vec::with_capacity(layers.len());
    for layer in layers.iter() {
        let mut tests = script_tests(base, config, layer)?;
        if let Some(image) = config.images.get(&layer.name) {
            for (index, test) in image.tests.iter().enumerate() {
                let invalid = |reason: &str| ConfigError::BadTest {
                    path: config.display_path(),
                    name: layer.name.clone(),
                    index: index + 1,
                    reason: reason.to_string(),
                };
                let kind = match (&test.command, &test.host, &test.check) {
                    (Some(command), None, None) if !command.is_empty() => {
                        ImageTestKind::Command { command: command.clone() }
                    }
                    (None, Some(command), None) if !command.is_empty() => {
                        ImageTestKind::Host { command: command.clone() }
                    }
                    (None, None, Some(name)) => {
                        let Some(check) = BuiltinCheck::from_name(name) else {
                            let known: Vec<&str> =
                                BuiltinCheck::ALL.iter().map(|check| check.as_str()).collect();
                            return Err(invalid(&format!(
                                "`check = \"{name}\"` is not a check strata knows; known: {}",
                                known.join(", ")
                            ))
                            .into());
                        };
                        ImageTestKind::Check { check }
                    }
                    (Some(_), Some(_), _) | (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => return Err(invalid("give one of `command` (run in the image), `host` (run on this machine) or `check` (made by strata), not several").into()),
                    _ => return Err(invalid("give a non-empty `command` (run in the image), `host` (run on this machine) or `check` (made by strata)").into()),
                };
                if let Some(pattern) = &test.output {
                    regex::Regex::new(pattern).map_err(|error| {
                        invalid(&format!("`output` is not a regular expression: {error}"))
                    })?;
                }
                let command = match &kind {
                    ImageTestKind::Command { command } | ImageTestKind::Host { command } => {
                        command.join(" ")
                    }
                    ImageTestKind::Check { check } => check.as_str().to_string(),
                    ImageTestKind::Script { .. } => String::new(),
                };
                tests.push(ImageTest {
                    name: test.name.clone().unwrap_or(command),
                    declared_by: layer.name.clone(),
                    kind,
                    exit_code: test.exit_code,
                    output: test.output.clone(),
                    network: test.network.unwrap_or(config.test.network),
                    timeout: test
                        .timeout
                        .or(config.test.timeout)
                        .unwrap_or(DEFAULT_TEST_TIMEOUT),
                });
            }
        }
        own.push(tests);
    }
    let inherited = inherited(layers, &own);
    for (layer, tests) in layers.iter_mut().zip(inherited) {
        layer.tests = tests;
    }
    Ok(())
}

/// The executable files of `<directory>/tests/`, in name order.
fn script_tests(base: &Path, config: &Config, layer: &Layer) -> Result<Vec<ImageTest>, RepoError> {
    let directory = if layer.directory == "." {
        TESTS_DIRECTORY.to_string()
    } else {
        format!("{}/{TESTS_DIRECTORY}", layer.directory)
    };
    let path = base.join(&directory);
    let entries = match fs_err::read_dir(&path) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(RepoError::ReadDir { path, source }),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| RepoError::ReadDir {
            path: path.clone(),
            source,
        })?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let metadata = entry.metadata().map_err(|source| RepoError::ReadDir {
            path: path.clone(),
            source,
        })?;
        if !name.starts_with('.') && metadata.is_file() && is_executable(&metadata) {
            files.push(name);
        }
    }
    files.sort_unstable();
    Ok(files
        .into_iter()
        .map(|file| ImageTest {
            name: format!("{directory}/{file}"),
            declared_by: layer.name.clone(),
            kind: ImageTestKind::Script {
                directory: directory.clone(),
                file,
            },
            exit_code: 0,
            output: None,
            network: config.test.network,
            timeout: config.test.timeout.unwrap_or(DEFAULT_TEST_TIMEOUT),
        })
        .collect())
}

#[cfg(unix)]
fn is_executable(metadata: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &std::fs::Metadata) -> bool {
    true
}

/// Every `[images.NAME]` table of `strata.toml` must name an image of the repository.
fn check_configured_images(config: &Config, layers: &[Layer]) -> Result<(), RepoError> {
    for (name, image) in &config.images {
        if !layers.iter().any(|layer| &layer.name == name) {
            let mut known: Vec<&str> = layers.iter().map(|layer| layer.name.as_str()).collect();
            known.sort_unstable();
            return Err(ConfigError::UnknownImage {
                path: config.display_path(),
                name: name.clone(),
                known: known.join(", "),
            }
            .into());
        }
        if let Some(ParentSetting::Image(parent)) = &image.parent {
            if !layers.iter().any(|layer| &layer.name == parent) {
                return Err(ConfigError::UnknownParent {
                    path: config.display_path(),
                    name: name.clone(),
                    parent: parent.clone(),
                }
                .into());
            }
        }
    }
    Ok(())
}

impl Repository {
    /// Whether a reference names an image this repository builds: a SciServer
    /// `…/<target>:<version>` of any of its targets, or a docker-stacks image as its `FROM`
    /// lines are matched.
    pub fn names_image(&self, reference: &str) -> bool {
        self.layouts.iter().any(|layout| match layout {
            crate::config::LayoutKind::Sciserver => {
                let last = strata_dockerfile::last_component(reference);
                let name = last.split(['@', ':']).next().unwrap_or(last);
                self.layers.iter().any(|layer| {
                    layer
                        .science()
                        .is_some_and(|science| science.target == name)
                })
            }
            crate::config::LayoutKind::DockerStacks => {
                crate::stacks::names_image(reference, &self.layers, self.config.repo.as_deref())
            }
            crate::config::LayoutKind::Generic => {
                crate::generic::names_image(reference, &self.layers)
            }
        })
    }
}

#[cfg(test)]
mod platform_tests {
    use super::*;
    use strata_diagnostic::Diagnostic as _;

    /// A docker-stacks family `base` ← `child` ← `grandchild` with `strata.toml`.
    fn family(settings: &str) -> Result<Repository, RepoError> {
        let root = tempfile::tempdir().unwrap();
        let write = |name: &str, from: &str| {
            let directory = root.path().join("images").join(name);
            fs_err::create_dir_all(&directory).unwrap();
            fs_err::write(directory.join("Dockerfile"), format!("FROM {from}\n")).unwrap();
        };
        write("base", "debian:bookworm");
        write("child", "owner/base:latest");
        write("grandchild", "owner/child:latest");
        fs_err::write(
            root.path().join("strata.toml"),
            format!("repo = \"registry.test/owner\"\n{settings}"),
        )
        .unwrap();
        open(root.path())
    }

    fn platforms_of(repository: &Repository, name: &str) -> Vec<String> {
        repository
            .layers
            .iter()
            .find(|layer| layer.name == name)
            .unwrap()
            .platforms
            .clone()
    }

    #[test]
    fn platforms_are_inherited_and_narrowed_only_to_what_the_parent_has() {
        let repository = family(
            "platforms = [\"linux/amd64\", \"linux/arm64\"]\n[images.child]\nplatforms = [\"linux/arm64\"]\n",
        )
        .unwrap();
        assert_eq!(
            platforms_of(&repository, "base"),
            ["linux/amd64", "linux/arm64"]
        );
        assert_eq!(platforms_of(&repository, "child"), ["linux/arm64"]);
        // Unset: its parent's, not the repository's.
        assert_eq!(platforms_of(&repository, "grandchild"), ["linux/arm64"]);

        let error = family(
            "platforms = [\"linux/amd64\"]\n[images.child]\nplatforms = [\"linux/amd64\", \"linux/arm64\"]\n",
        )
        .unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("image `child` is built for linux/arm64, which its parent `base` is not built for (its platforms: linux/amd64)"),
            "{text}"
        );
        assert!(error
            .hint()
            .unwrap()
            .contains("[images.\"base\"] platforms"));

        let error = family("platforms = [\"amd64\"]\n").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("platform `amd64` of the repository: not `os/architecture[/variant]`"),
            "{error}"
        );
        let error = family("[engines]\n\"linux/arm64/\" = \"tcp://127.0.0.1:1\"\n").unwrap_err();
        assert!(error.to_string().contains("`[engines]`"), "{error}");
    }
}
