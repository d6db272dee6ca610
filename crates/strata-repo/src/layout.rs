//! Opening a repository: reading `strata.toml`, detecting the layout, and the directory and
//! graph checks both layouts share.

use std::path::Path;

use crate::config::{Config, LayoutKind};
use crate::directories::definition_directories;
use crate::error::ConfigError;
use crate::error::RepoError;
use crate::model::{Layer, Repository};
use crate::{sciserver, stacks};

/// Open the image repository at `root`: read its settings, detect its layout, read and check
/// every image definition.
pub fn open(root: &Path) -> Result<Repository, RepoError> {
    if !root.is_dir() {
        return Err(RepoError::NotFound {
            root: root.to_path_buf(),
        });
    }
    // Paths in messages read `science/x/Dockerfile`, not `./science/x/Dockerfile`.
    let base = if root == Path::new(".") {
        Path::new("")
    } else {
        root
    };
    let config = Config::load(base)?;
    let layout = match config.layout {
        Some(layout) => layout,
        None => detect_layout(base, root, &config)?,
    };
    let (mut layers, compat_layers, warnings) = match layout {
        LayoutKind::Sciserver => {
            let repository = sciserver::load(base, &config)?;
            (
                repository.layers,
                repository.compat_layers,
                repository.warnings,
            )
        }
        LayoutKind::DockerStacks => {
            let repository = stacks::load(base, &config)?;
            (repository.layers, Vec::new(), repository.warnings)
        }
    };
    if layers.is_empty() {
        let looked_in = match layout {
            LayoutKind::Sciserver => format!("science/*/{}", sciserver::DEFINITION_FILE),
            LayoutKind::DockerStacks => format!(
                "{}/*/Dockerfile",
                config
                    .images_dir
                    .as_deref()
                    .unwrap_or(stacks::DEFAULT_IMAGES_DIR)
            ),
        };
        return Err(RepoError::NoImages {
            root: root.to_path_buf(),
            layout: layout.as_str(),
            looked_in,
        });
    }
    check_configured_images(&config, &layers)?;
    inherit_taggers(&config, &mut layers);
    Ok(Repository {
        root: root.to_path_buf(),
        layout,
        config,
        layers,
        compat_layers,
        warnings,
    })
}

fn detect_layout(base: &Path, root: &Path, config: &Config) -> Result<LayoutKind, RepoError> {
    if !definition_directories(&base.join("science"), sciserver::DEFINITION_FILE)?.is_empty() {
        return Ok(LayoutKind::Sciserver);
    }
    let images_dir = config
        .images_dir
        .as_deref()
        .unwrap_or(stacks::DEFAULT_IMAGES_DIR);
    if !definition_directories(&base.join(images_dir), "Dockerfile")?.is_empty() {
        return Ok(LayoutKind::DockerStacks);
    }
    Err(RepoError::NotFound {
        root: root.to_path_buf(),
    })
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
    let mut inherited = Vec::with_capacity(layers.len());
    for layer in layers.iter() {
        let mut chain = vec![own(layer)];
        let mut current = layer.parent;
        // Cycles were refused when the layers were read, so the chain ends.
        while let Some(parent) = current {
            chain.push(own(&layers[parent]));
            current = layers[parent].parent;
        }
        let mut taggers = Vec::new();
        for tagger in chain.into_iter().rev().flatten() {
            if !taggers.contains(&tagger) {
                taggers.push(tagger);
            }
        }
        inherited.push(taggers);
    }
    for (layer, taggers) in layers.iter_mut().zip(inherited) {
        layer.taggers = taggers;
    }
}

/// Every `[images.NAME]` table of `strata.toml` must name an image of the repository.
fn check_configured_images(config: &Config, layers: &[Layer]) -> Result<(), RepoError> {
    for name in config.images.keys() {
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
    }
    Ok(())
}
