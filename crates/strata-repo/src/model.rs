//! The layout-independent model of an image repository: layers (images) with their parents,
//! SciServer compat layers, and the queries the planner and graph need.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::config::{Config, LayoutKind};

/// Index of a layer in [`Repository::layers`].
pub type LayerId = usize;

/// An image repository: its layers in a stable order (sorted by directory) and, in the SciServer
/// layout, its compat layers.
#[derive(Debug, Clone)]
pub struct Repository {
    pub root: PathBuf,
    pub layout: LayoutKind,
    pub config: Config,
    pub layers: Vec<Layer>,
    pub compat_layers: Vec<CompatLayer>,
    /// Things worth telling the user that do not stop planning.
    pub warnings: Vec<String>,
}

/// One buildable image: a SciServer science layer or a docker-stacks image (or variant).
#[derive(Debug, Clone)]
pub struct Layer {
    /// Unique name: the science layer's target, or the docker-stacks `image` / `image/variant`.
    pub name: String,
    /// Build context directory, relative to the root, `/`-separated.
    pub directory: String,
    /// Dockerfile path relative to the root.
    pub dockerfile: String,
    /// The file whose absence from git marks the layer as new (`--untracked`).
    pub definition_file: String,
    /// The final stage's base reference, `ARG`s expanded.
    pub base: String,
    /// The `ARG` the `FROM` line is written as, when it is exactly `$NAME`.
    pub base_arg: Option<String>,
    /// The layer of this repository the final stage is built on.
    pub parent: Option<LayerId>,
    /// Other layers this one's build reads (earlier stages, `COPY --from`), excluding `parent`.
    pub also_needs: Vec<LayerId>,
    /// Every reference other than the final base that names a layer of this repository, as the
    /// Dockerfile writes it (`ARG`s expanded), with the layer: what a `docker buildx bake`
    /// `contexts` entry must be keyed on.
    pub reads: Vec<(String, LayerId)>,
    /// Build arguments from `strata.toml`.
    pub build_args: BTreeMap<String, String>,
    /// Taggers from `strata.toml`: the ancestors' first, then the layer's own.
    pub taggers: Vec<crate::config::TaggerConfig>,
    pub details: LayerDetails,
}

/// What a layer is, by layout.
#[derive(Debug, Clone)]
pub enum LayerDetails {
    Science(ScienceLayer),
    Stacks(StacksImage),
}

/// A SciServer science layer's `sciserver-image.json`, with defaults applied.
#[derive(Debug, Clone)]
pub struct ScienceLayer {
    pub image: String,
    pub version: String,
    pub target: String,
    pub compat: Option<String>,
    /// Whether this is the final layer of its `image:version` (no layer of the same image and
    /// version is built on it): only final layers get a compat build.
    pub is_final: bool,
}

/// A docker-stacks image or variant.
#[derive(Debug, Clone)]
pub struct StacksImage {
    pub image: String,
    pub variant: Option<String>,
}

/// A SciServer compat layer.
#[derive(Debug, Clone)]
pub struct CompatLayer {
    pub name: String,
    /// Directory relative to the root.
    pub directory: String,
    /// `includes` as written.
    pub includes: Vec<String>,
    /// Every layer included, transitively, innermost first, each once.
    pub expanded_includes: Vec<String>,
    /// The Dockerfile's text, for assembling compat builds.
    pub dockerfile_text: String,
}

impl Repository {
    pub fn compat_layer(&self, name: &str) -> Option<&CompatLayer> {
        self.compat_layers.iter().find(|compat| compat.name == name)
    }

    /// For each layer, the layers built directly on it or reading it.
    pub fn dependents(&self) -> Vec<Vec<LayerId>> {
        let mut dependents = vec![Vec::new(); self.layers.len()];
        for (id, layer) in self.layers.iter().enumerate() {
            for dependency in layer.dependencies() {
                dependents[dependency].push(id);
            }
        }
        dependents
    }

    /// The compat layers a compat build of `compat` assembles, innermost first, itself last.
    pub fn compat_chain(&self, compat: &str) -> Vec<&CompatLayer> {
        let Some(layer) = self.compat_layer(compat) else {
            return Vec::new();
        };
        layer
            .expanded_includes
            .iter()
            .filter_map(|name| self.compat_layer(name))
            .chain(std::iter::once(layer))
            .collect()
    }
}

impl Repository {
    /// Whether a reference names an image this repository builds: a SciServer
    /// `…/<target>:<version>` of any of its targets, or a docker-stacks image as its `FROM`
    /// lines are matched.
    pub fn names_image(&self, reference: &str) -> bool {
        match self.layout {
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
        }
    }
}

impl Layer {
    /// Every layer of the repository this one needs built first.
    pub fn dependencies(&self) -> impl Iterator<Item = LayerId> + '_ {
        self.parent
            .into_iter()
            .chain(self.also_needs.iter().copied())
    }

    pub fn science(&self) -> Option<&ScienceLayer> {
        match &self.details {
            LayerDetails::Science(science) => Some(science),
            LayerDetails::Stacks(_) => None,
        }
    }
}
