//! The SciServer layout (`sciserver/sciserver-compute-images`): science layers under
//! `science/<dir>/` and compat layers under `compat/<dir>/`, each described by a
//! `sciserver-image.json`, with every rule and check of SciServer's `image-builder`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::Path;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};

use crate::config::Config;
use crate::cycles::find_cycle;
use crate::diagnostic::SourceSpan;
use crate::directories::subdirectories;
use crate::dockerfile::read_bases;
use crate::error::{DockerfileError, RepoError};
use crate::model::{CompatLayer, Layer, LayerDetails, LayerId, ScienceLayer};
use crate::version::compare_versions;
use strata_dockerfile::{is_valid_repository_component, last_component, ImageReference};

/// The definition file in every science and compat directory.
pub const DEFINITION_FILE: &str = "sciserver-image.json";
/// The version a science layer has when its definition gives none.
pub const DEFAULT_VERSION: &str = "1.0";

/// `science/<dir>/sciserver-image.json`.
#[derive(Debug, Deserialize)]
struct ScienceDefinition {
    image: String,
    version: Option<JsonVersion>,
    target: Option<String>,
    compat: Option<String>,
}

/// `compat/<dir>/sciserver-image.json`.
#[derive(Debug, Deserialize)]
struct CompatDefinition {
    #[serde(default)]
    includes: Vec<String>,
}

const SCIENCE_KEYS: &[&str] = &["image", "version", "target", "compat"];
const COMPAT_KEYS: &[&str] = &["includes"];

/// A version written as a string (`"2.4"`) or, as SciServer allows, a number (`2.4`), rendered
/// as Python's `str()` renders it so tags match the reference builder's.
#[derive(Debug)]
struct JsonVersion(String);

impl<'de> Deserialize<'de> for JsonVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct VersionVisitor;
        impl Visitor<'_> for VersionVisitor {
            type Value = JsonVersion;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a version string such as \"2.4\"")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<JsonVersion, E> {
                Ok(JsonVersion(value.to_string()))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<JsonVersion, E> {
                Ok(JsonVersion(value.to_string()))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<JsonVersion, E> {
                Ok(JsonVersion(value.to_string()))
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<JsonVersion, E> {
                // `{:?}` is the shortest round-trip form with a `.0` on whole numbers, as in Python.
                Ok(JsonVersion(format!("{value:?}")))
            }
        }
        deserializer.deserialize_any(VersionVisitor)
    }
}

/// `image:version` of a science definition's contents, as the layout reads it; `None` when
/// they do not parse.
pub(crate) fn definition_version(contents: &[u8]) -> Option<String> {
    let definition: ScienceDefinition = serde_json::from_slice(contents).ok()?;
    let version = definition
        .version
        .map_or_else(|| DEFAULT_VERSION.to_string(), |version| version.0);
    Some(format!("{}:{version}", definition.image))
}

/// Everything read from a SciServer-layout repository.
pub(crate) struct SciserverRepository {
    pub layers: Vec<Layer>,
    pub compat_layers: Vec<CompatLayer>,
    pub warnings: Vec<String>,
}

/// Read and check a SciServer-layout repository.
pub(crate) fn load(root: &Path, config: &Config) -> Result<SciserverRepository, RepoError> {
    let mut warnings = Vec::new();
    let read_layers = read_science_layers(root, config, &mut warnings)?;
    check_unique_targets(&read_layers)?;
    let mut layers = link_dependencies(read_layers, &mut warnings)?;
    check_versions(&layers)?;
    if let Some(cycle) = find_cycle(&layers) {
        return Err(RepoError::Cycle { cycle });
    }
    mark_final_layers(&mut layers)?;
    let compat_layers = read_compat_layers(root, &mut warnings)?;
    check_compat_references(&layers, &compat_layers)?;
    Ok(SciserverRepository {
        layers,
        compat_layers,
        warnings,
    })
}

/// A science layer as read, before its dependencies are resolved.
struct ReadLayer {
    layer: Layer,
    /// External references of the Dockerfile other than the final base.
    other_references: Vec<String>,
}

fn read_science_layers(
    root: &Path,
    config: &Config,
    warnings: &mut Vec<String>,
) -> Result<Vec<ReadLayer>, RepoError> {
    let names = subdirectories(&root.join("science"), warnings)?;
    // Each layer's two files are read and parsed on the cores there are; the first error, in
    // directory order, is the one reported, as when they are read one after the other.
    let read = crate::parallel::map_in_order(&names, |name| {
        let mut layer_warnings = Vec::new();
        read_science_layer(root, config, name, &mut layer_warnings)
            .map(|layer| layer.map(|layer| (layer, layer_warnings)))
    });
    let mut layers = Vec::new();
    for result in read {
        if let Some((layer, layer_warnings)) = result? {
            warnings.extend(layer_warnings);
            layers.push(layer);
        }
    }
    Ok(layers)
}

/// One science layer's definition and Dockerfile; `None` when its directory has no definition.
fn read_science_layer(
    root: &Path,
    config: &Config,
    directory_name: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<ReadLayer>, RepoError> {
    {
        let directory = format!("science/{directory_name}");
        let definition_path = root.join(&directory).join(DEFINITION_FILE);
        let Some(Definition {
            fields: definition,
            blob: definition_blob,
        }) = read_definition::<ScienceDefinition>(&definition_path, SCIENCE_KEYS, warnings)?
        else {
            return Ok(None);
        };
        let version = definition
            .version
            .map_or_else(|| DEFAULT_VERSION.to_string(), |version| version.0);
        if version.is_empty()
            || !version
                .bytes()
                .all(|byte| byte.is_ascii_digit() || byte == b'.')
        {
            return Err(RepoError::InvalidField {
                directory,
                field: "version",
                value: version,
                rule: "a version is digits and dots, such as `2.4`",
            });
        }
        let target = definition
            .target
            .unwrap_or_else(|| directory_name.to_string());
        for (field, value) in [("target", &target), ("image", &definition.image)] {
            if !is_valid_repository_component(value) {
                return Err(RepoError::InvalidField {
                    directory,
                    field,
                    value: value.clone(),
                    rule: "it becomes part of an image name: lowercase letters and digits, with single `-`, `_` or `.` between them",
                });
            }
        }
        let dockerfile_path = root.join(&directory).join("Dockerfile");
        let build_args = config.build_args_for(&target);
        // Read, not looked at first: one open per file (a repository has thousands).
        let bases = match read_bases(&dockerfile_path, &build_args, &directory) {
            Err(RepoError::Dockerfile { source, .. }) if matches!(&*source, DockerfileError::Read(error) if error.is_not_found()) =>
            {
                return Err(RepoError::MissingDockerfile {
                    kind: "science layer",
                    directory,
                    path: dockerfile_path,
                });
            }
            bases => bases?,
        };
        let layer = Layer::read(
            target.clone(),
            directory.clone(),
            format!("{directory}/Dockerfile"),
            format!("{directory}/{DEFINITION_FILE}"),
            &bases,
            build_args,
            LayerDetails::Science(ScienceLayer {
                image: definition.image,
                version,
                target,
                compat: definition.compat,
                is_final: false,
                definition_blob,
            }),
        );
        let other_references = bases.other_references;
        Ok(Some(ReadLayer {
            layer,
            other_references,
        }))
    }
}

/// A definition file as read: its fields, and its git object id.
struct Definition<T> {
    fields: T,
    /// What `git hash-object` prints for the file: history compares it with its blobs.
    blob: String,
}

/// Parse a `sciserver-image.json`, pointing at the line and column of any error; keys the
/// reference builder does not read are reported as warnings. `None` when there is no such
/// file (the directory is not a layer).
fn read_definition<T: serde::de::DeserializeOwned>(
    path: &Path,
    known_keys: &[&str],
    warnings: &mut Vec<String>,
) -> Result<Option<Definition<T>>, RepoError> {
    let text = match strata_fs::read_text(path) {
        Ok(text) => text,
        Err(error) if error.is_not_found() => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let invalid = |error: &serde_json::Error| {
        let message = error.to_string();
        // serde_json appends " at line L column C"; the span shows that instead.
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_string();
        // An empty file fails at line 1, column 0: columns count from 1.
        RepoError::InvalidJson {
            span: SourceSpan::at(
                path,
                &text,
                error.line().max(1),
                Some(error.column().max(1)),
            ),
            message,
        }
    };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|error| invalid(&error))?;
    if !value.is_object() {
        let line = text
            .lines()
            .position(|line| !line.trim().is_empty())
            .map_or(1, |index| index + 1);
        return Err(RepoError::InvalidJson {
            span: SourceSpan::at(path, &text, line, Some(1)),
            message: "expected a JSON object, such as `{\"image\": \"essentials\", \"version\": \"2.4\"}`".to_string(),
        });
    }
    if let serde_json::Value::Object(map) = &value {
        for key in map.keys().filter(|key| !known_keys.contains(&key.as_str())) {
            warnings.push(format!(
                "`{}`: unknown key `{key}` is ignored",
                path.display()
            ));
        }
    }
    let fields = serde_json::from_str(&text).map_err(|error| invalid(&error))?;
    Ok(Some(Definition {
        fields,
        blob: crate::blob::git_blob_id(text.as_bytes()),
    }))
}

fn check_unique_targets(layers: &[ReadLayer]) -> Result<(), RepoError> {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for read in layers {
        if let Some(first) = seen.insert(&read.layer.name, &read.layer.directory) {
            return Err(RepoError::DuplicateTarget {
                target: read.layer.name.clone(),
                first: first.to_string(),
                second: read.layer.directory.clone(),
            });
        }
    }
    Ok(())
}

/// A layer depends on another when the last path component of its `FROM` image is the other's
/// `<target>:<version>`; other stages and `COPY --from` images are matched the same way.
fn link_dependencies(
    read_layers: Vec<ReadLayer>,
    warnings: &mut Vec<String>,
) -> Result<Vec<Layer>, RepoError> {
    let mut by_tag: HashMap<String, LayerId> = HashMap::new();
    let mut by_target: HashMap<String, LayerId> = HashMap::new();
    for (id, read) in read_layers.iter().enumerate() {
        let science = science_of(&read.layer);
        by_tag.insert(format!("{}:{}", science.target, science.version), id);
        by_target.insert(science.target.clone(), id);
    }
    let mut layers = Vec::with_capacity(read_layers.len());
    for (id, read) in read_layers.into_iter().enumerate() {
        let mut layer = read.layer;
        let science = science_of(&layer);
        let parent = by_tag.get(last_component(&layer.base)).copied();
        if parent == Some(id) {
            return Err(RepoError::SelfDependency {
                directory: layer.directory.clone(),
                tag: last_component(&layer.base).to_string(),
            });
        }
        for reference in std::iter::once(&layer.base).chain(&read.other_references) {
            warn_near_miss(&layer, science, reference, &by_tag, &by_target, warnings);
        }
        let mut also_needs: Vec<LayerId> = read
            .other_references
            .iter()
            .filter_map(|reference| by_tag.get(last_component(reference)).copied())
            .filter(|dependency| Some(*dependency) != parent)
            .collect();
        also_needs.sort_unstable();
        also_needs.dedup();
        if also_needs.contains(&id) {
            return Err(RepoError::SelfDependency {
                directory: layer.directory.clone(),
                tag: format!("{}:{}", science.target, science.version),
            });
        }
        layer.reads = read
            .other_references
            .iter()
            .filter_map(|reference| {
                let dependency = by_tag.get(last_component(reference))?;
                Some((reference.clone(), *dependency))
            })
            .collect();
        layer.parent = parent;
        layer.also_needs = also_needs;
        layers.push(layer);
    }
    Ok(layers)
}

/// `FROM .../sci/<target>:<other version>` for a target of this repository is almost certainly a
/// stale version in the `FROM` line: say so, as the build will use the published image.
fn warn_near_miss(
    layer: &Layer,
    science: &ScienceLayer,
    reference: &str,
    by_tag: &HashMap<String, LayerId>,
    by_target: &HashMap<String, LayerId>,
    warnings: &mut Vec<String>,
) {
    if by_tag.contains_key(last_component(reference)) {
        return;
    }
    let parsed = ImageReference::parse(reference);
    let Some(tag) = parsed.tag else { return };
    if parsed.digest.is_some()
        || !parsed
            .repository
            .ends_with(&format!("sci/{}", parsed.name()))
    {
        return;
    }
    if by_target.contains_key(parsed.name()) && parsed.name() != science.target {
        warnings.push(format!(
            "`{}`: `FROM {reference}` names science target `{}` at version `{tag}`, which this repository does not define; it is treated as a published image, not a layer to build first",
            layer.dockerfile,
            parsed.name(),
        ));
    }
}

fn science_of(layer: &Layer) -> &ScienceLayer {
    match &layer.details {
        LayerDetails::Science(science) => science,
        LayerDetails::Stacks(_) | LayerDetails::Generic(_) => {
            unreachable!("the SciServer loader only makes science layers")
        }
    }
}

/// The reference refuses a layer built on a higher version of the same image.
fn check_versions(layers: &[Layer]) -> Result<(), RepoError> {
    for layer in layers {
        let science = science_of(layer);
        for dependency in layer.dependencies() {
            let dependency_science = science_of(&layers[dependency]);
            if dependency_science.image == science.image
                && compare_versions(&science.version, &dependency_science.version).is_lt()
            {
                return Err(RepoError::DependsOnHigherVersion {
                    directory: layer.directory.clone(),
                    image: science.image.clone(),
                    version: science.version.clone(),
                    dependency: layers[dependency].directory.clone(),
                    dependency_version: dependency_science.version.clone(),
                });
            }
        }
    }
    Ok(())
}

/// The final layer of an `image:version` is the one no other layer of that image and version is
/// built on; there must be exactly one.
fn mark_final_layers(layers: &mut [Layer]) -> Result<(), RepoError> {
    let mut groups: BTreeMap<String, Vec<LayerId>> = BTreeMap::new();
    for (id, layer) in layers.iter().enumerate() {
        let science = science_of(layer);
        groups
            .entry(format!("{}:{}", science.image, science.version))
            .or_default()
            .push(id);
    }
    for (image, members) in &groups {
        let finals: Vec<LayerId> = members
            .iter()
            .copied()
            .filter(|candidate| {
                !members
                    .iter()
                    .any(|other| layers[*other].parent == Some(*candidate))
            })
            .collect();
        if finals.len() != 1 {
            let found = if finals.is_empty() {
                "every layer has another built on it".to_string()
            } else {
                let names: Vec<String> = finals
                    .iter()
                    .map(|id| format!("`{}`", layers[*id].directory))
                    .collect();
                format!(
                    "{} are all final (none is built on another)",
                    names.join(", ")
                )
            };
            return Err(RepoError::NoSingleFinal {
                image: image.clone(),
                found,
            });
        }
        if let LayerDetails::Science(science) = &mut layers[finals[0]].details {
            science.is_final = true;
        }
    }
    Ok(())
}

fn read_compat_layers(
    root: &Path,
    warnings: &mut Vec<String>,
) -> Result<Vec<CompatLayer>, RepoError> {
    let mut compat_layers = Vec::new();
    for name in subdirectories(&root.join("compat"), warnings)? {
        let directory = format!("compat/{name}");
        let Some(Definition {
            fields: definition, ..
        }) = read_definition::<CompatDefinition>(
            &root.join(&directory).join(DEFINITION_FILE),
            COMPAT_KEYS,
            warnings,
        )?
        else {
            continue;
        };
        let dockerfile_path = root.join(&directory).join("Dockerfile");
        let dockerfile_text = match strata_fs::read_text(&dockerfile_path) {
            Ok(text) => text,
            Err(error) if error.is_not_found() => {
                return Err(RepoError::MissingDockerfile {
                    kind: "compat layer",
                    directory,
                    path: dockerfile_path,
                })
            }
            Err(error) => return Err(error.into()),
        };
        compat_layers.push(CompatLayer {
            name,
            directory,
            includes: definition.includes,
            expanded_includes: Vec::new(),
            dockerfile_text,
        });
    }
    expand_includes(&mut compat_layers)?;
    Ok(compat_layers)
}

/// Resolve each compat layer's includes transitively, innermost first, each once; refuse cycles
/// and unknown names.
/// How deep compat includes may nest: a layer including one that includes another… Real
/// repositories nest two or three deep.
pub const MAX_INCLUDE_DEPTH: usize = 32;

fn expand_includes(compat_layers: &mut [CompatLayer]) -> Result<(), RepoError> {
    let index: HashMap<String, usize> = compat_layers
        .iter()
        .enumerate()
        .map(|(position, compat)| (compat.name.clone(), position))
        .collect();
    let known = || {
        let names: Vec<&str> = compat_layers
            .iter()
            .map(|compat| compat.name.as_str())
            .collect();
        names.join(", ")
    };
    for compat in compat_layers.iter() {
        for include in &compat.includes {
            if !index.contains_key(include) {
                return Err(RepoError::UnknownInclude {
                    file: definition_path(compat),
                    compat: compat.name.clone(),
                    include: include.clone(),
                    known: known(),
                });
            }
        }
    }
    // Each layer's expansion is worked out once and reused by every layer including it: a
    // chain of includes costs its length, not its square.
    let mut memo: Vec<Option<Vec<usize>>> = vec![None; compat_layers.len()];
    for start in 0..compat_layers.len() {
        let mut path = vec![start];
        expand_from(compat_layers, &index, start, &mut path, &mut memo)?;
    }
    let names: Vec<String> = compat_layers
        .iter()
        .map(|compat| compat.name.clone())
        .collect();
    for (compat, expanded) in compat_layers.iter_mut().zip(memo) {
        compat.expanded_includes = expanded
            .unwrap_or_default()
            .into_iter()
            .map(|position| names[position].clone())
            .collect();
    }
    Ok(())
}

/// `compat/<name>/sciserver-image.json`: where a compat layer's includes are written.
fn definition_path(compat: &CompatLayer) -> String {
    format!("{}/{DEFINITION_FILE}", compat.directory)
}

/// The layers `current` includes, transitively, innermost first, each once; `path` is the
/// chain of includes that led here (for cycles and the depth limit).
fn expand_from(
    compat_layers: &[CompatLayer],
    index: &HashMap<String, usize>,
    current: usize,
    path: &mut Vec<usize>,
    memo: &mut [Option<Vec<usize>>],
) -> Result<Vec<usize>, RepoError> {
    if let Some(known) = &memo[current] {
        return Ok(known.clone());
    }
    let chain = |path: &[usize], last: usize| {
        path.iter()
            .chain(std::iter::once(&last))
            .map(|entry| compat_layers[*entry].name.as_str())
            .collect::<Vec<_>>()
            .join(" → ")
    };
    let mut expanded: Vec<usize> = Vec::new();
    let mut seen: HashSet<usize> = HashSet::new();
    for include in &compat_layers[current].includes {
        let next = index[include];
        if let Some(position) = path.iter().position(|entry| *entry == next) {
            return Err(RepoError::CompatCycle {
                file: definition_path(&compat_layers[current]),
                cycle: chain(&path[position..], next),
            });
        }
        if seen.contains(&next) {
            continue;
        }
        if path.len() > MAX_INCLUDE_DEPTH {
            return Err(RepoError::IncludeDepth {
                file: definition_path(&compat_layers[path[0]]),
                limit: MAX_INCLUDE_DEPTH,
                chain: format!(
                    "{} → … → {}",
                    path[..3.min(path.len())]
                        .iter()
                        .map(|entry| compat_layers[*entry].name.as_str())
                        .collect::<Vec<_>>()
                        .join(" → "),
                    compat_layers[next].name
                ),
            });
        }
        path.push(next);
        let inner = expand_from(compat_layers, index, next, path, memo)?;
        path.pop();
        for position in inner.into_iter().chain(std::iter::once(next)) {
            if seen.insert(position) {
                expanded.push(position);
            }
        }
    }
    memo[current] = Some(expanded.clone());
    Ok(expanded)
}

fn check_compat_references(
    layers: &[Layer],
    compat_layers: &[CompatLayer],
) -> Result<(), RepoError> {
    for layer in layers {
        let science = science_of(layer);
        if let Some(compat) = &science.compat {
            if !compat_layers
                .iter()
                .any(|candidate| &candidate.name == compat)
            {
                let names: Vec<&str> = compat_layers
                    .iter()
                    .map(|candidate| candidate.name.as_str())
                    .collect();
                return Err(RepoError::UnknownCompat {
                    directory: layer.directory.clone(),
                    compat: compat.clone(),
                    known: if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    },
                });
            }
        }
    }
    Ok(())
}
