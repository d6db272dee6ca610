//! The docker-stacks layout: `images/<name>/Dockerfile`, with variants in
//! `images/<name>/<variant>/Dockerfile`. An image's parent is the image of this repository its
//! final stage's `FROM` names once `ARG` defaults are expanded, or `parent` in `strata.toml`.

use std::collections::HashMap;
use std::path::Path;

use crate::config::Config;
use crate::cycles::find_cycle;
use crate::directories::definition_directories;
use crate::dockerfile::read_bases;
use crate::error::{ConfigError, RepoError};
use crate::model::{Layer, LayerDetails, LayerId, StacksImage};
use strata_dockerfile::ImageReference;

/// Where images live unless `images-dir` says otherwise.
pub const DEFAULT_IMAGES_DIR: &str = "images";

pub(crate) struct StacksRepository {
    pub layers: Vec<Layer>,
    pub warnings: Vec<String>,
}

struct ReadImage {
    layer: Layer,
    other_references: Vec<String>,
}

pub(crate) fn load(root: &Path, config: &Config) -> Result<StacksRepository, RepoError> {
    let images_dir = config
        .images_dir
        .as_deref()
        .unwrap_or(DEFAULT_IMAGES_DIR)
        .trim_end_matches('/');
    let mut read_images = Vec::new();
    let mut warnings = Vec::new();
    for image in definition_directories(&root.join(images_dir), "Dockerfile", &mut warnings)? {
        let directory = format!("{images_dir}/{image}");
        read_images.push(read_image(root, config, &directory, &image, None)?);
        for variant in definition_directories(&root.join(&directory), "Dockerfile", &mut warnings)?
        {
            let variant_directory = format!("{directory}/{variant}");
            read_images.push(read_image(
                root,
                config,
                &variant_directory,
                &image,
                Some(variant),
            )?);
        }
    }
    let layers = link_parents(read_images, config, &mut warnings)?;
    if let Some(cycle) = find_cycle(&layers) {
        return Err(RepoError::Cycle { cycle });
    }
    Ok(StacksRepository { layers, warnings })
}

fn read_image(
    root: &Path,
    config: &Config,
    directory: &str,
    image: &str,
    variant: Option<String>,
) -> Result<ReadImage, RepoError> {
    let name = match &variant {
        Some(variant) => format!("{image}/{variant}"),
        None => image.to_string(),
    };
    let dockerfile_path = format!("{directory}/Dockerfile");
    let build_args = config.build_args_for(&name);
    let bases = read_bases(&root.join(&dockerfile_path), &build_args, &name)?;
    let layer = Layer::read(
        name,
        directory.to_string(),
        dockerfile_path.clone(),
        dockerfile_path,
        &bases,
        build_args,
        LayerDetails::Stacks(StacksImage {
            image: image.to_string(),
            variant,
        }),
    );
    Ok(ReadImage {
        layer,
        other_references: bases.other_references,
    })
}

fn link_parents(
    read_images: Vec<ReadImage>,
    config: &Config,
    warnings: &mut Vec<String>,
) -> Result<Vec<Layer>, RepoError> {
    let index: HashMap<String, LayerId> = read_images
        .iter()
        .enumerate()
        .map(|(id, read)| (read.layer.name.clone(), id))
        .collect();
    let repo = config
        .repo
        .as_deref()
        .map(|repo| repo.trim_end_matches('/'));
    let mut layers = Vec::with_capacity(read_images.len());
    for (id, read) in read_images.into_iter().enumerate() {
        let mut layer = read.layer;
        let configured_parent = config
            .images
            .get(&layer.name)
            .and_then(|image| image.parent.clone());
        layer.parent = match configured_parent {
            Some(crate::config::ParentSetting::External) => None,
            Some(crate::config::ParentSetting::Image(parent)) => Some(
                *index
                    .get(&parent)
                    .ok_or_else(|| ConfigError::UnknownParent {
                        path: config.display_path(),
                        name: layer.name.clone(),
                        parent: parent.clone(),
                    })?,
            ),
            None => match_image(&layer.base, &index, repo),
        };
        if layer.parent == Some(id) {
            warnings.push(format!(
                "`{}`: `FROM {}` names the image itself; treated as an external image",
                layer.dockerfile, layer.base
            ));
            layer.parent = None;
        }
        layer.reads = read
            .other_references
            .iter()
            .filter_map(|reference| {
                let dependency = match_image(reference, &index, repo)?;
                (dependency != id).then(|| (reference.clone(), dependency))
            })
            .collect();
        let mut also_needs: Vec<LayerId> = read
            .other_references
            .iter()
            .filter_map(|reference| match_image(reference, &index, repo))
            .filter(|dependency| Some(*dependency) != layer.parent && *dependency != id)
            .collect();
        also_needs.sort_unstable();
        also_needs.dedup();
        layer.also_needs = also_needs;
        layers.push(layer);
    }
    Ok(layers)
}

/// Whether a reference names an image of `layers` (see [`match_image`]).
pub(crate) fn names_image(reference: &str, layers: &[Layer], repo: Option<&str>) -> bool {
    let index: HashMap<String, LayerId> = layers
        .iter()
        .enumerate()
        .filter(|(_, layer)| matches!(layer.details, LayerDetails::Stacks(_)))
        .map(|(id, layer)| (layer.name.clone(), id))
        .collect();
    match_image(
        reference,
        &index,
        repo.map(|repo| repo.trim_end_matches('/')),
    )
    .is_some()
}

/// The image of this repository a reference names: its last path component is the image's name
/// and either it has a namespace (`quay.io/jupyter/base-notebook`, `jupyter/base-notebook`) or
/// it is exactly `<repo>/<name>`. A tag `<variant>-...` selects that variant when it exists.
/// Digest-pinned references are external by definition.
fn match_image(
    reference: &str,
    index: &HashMap<String, LayerId>,
    repo: Option<&str>,
) -> Option<LayerId> {
    let parsed = ImageReference::parse(reference);
    if parsed.digest.is_some() {
        return None;
    }
    let name = parsed.name();
    let in_repo = repo.is_some_and(|repo| parsed.repository == format!("{repo}/{name}"));
    if !parsed.has_namespace() && !in_repo {
        return None;
    }
    if let Some((variant, _)) = parsed.tag.and_then(|tag| tag.split_once('-')) {
        if let Some(id) = index.get(&format!("{name}/{variant}")) {
            return Some(*id);
        }
    }
    index.get(name).copied()
}
