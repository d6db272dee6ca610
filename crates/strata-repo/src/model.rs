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
    /// The first of `layouts`.
    pub layout: LayoutKind,
    /// Every family of images the repository holds, in the order they were read.
    pub layouts: Vec<LayoutKind>,
    pub config: Config,
    pub layers: Vec<Layer>,
    pub compat_layers: Vec<CompatLayer>,
    /// Things worth telling the user that do not stop planning.
    pub warnings: Vec<String>,
    /// `FROM` lines that name one of the repository's images under a namespace with a tag it
    /// does not carry: read as the published image (each is among `warnings` too).
    pub near_misses: Vec<NearMiss>,
}

/// A `FROM namespace/<image>:<tag>` whose `<image>` is an image of the repository that is not
/// tagged `<tag>`: strata builds on the published image, though the author may have meant the
/// repository's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearMiss {
    /// The image whose Dockerfile says it.
    pub image: String,
    pub dockerfile: String,
    /// The reference as written (`ARG`s expanded).
    pub reference: String,
    /// What comes before `/<image>`: `someorg`, `registry.example/team`.
    pub namespace: String,
    pub tag: String,
    /// The repository's images of that name.
    pub candidates: Vec<LayerId>,
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
    /// The other references the Dockerfile makes (earlier stages' bases, `COPY --from`) to
    /// images outside the repository, `ARG`s expanded: pulled by the build and pinned by
    /// `strata pin`, as the final base is.
    pub external_reads: Vec<String>,
    /// Build arguments from `strata.toml`.
    pub build_args: BTreeMap<String, String>,
    /// Taggers from `strata.toml`: the ancestors' first, then the layer's own.
    pub taggers: Vec<crate::config::TaggerConfig>,
    /// Tests run on the built image: the ancestors' first, then the layer's own.
    pub tests: Vec<ImageTest>,
    /// Platforms the layer is built for (its own setting, else its parent's, else the
    /// repository's); empty: the engine's own.
    pub platforms: Vec<String>,
    pub details: LayerDetails,
}

/// One test of an image, as declared by the image or one of its ancestors.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImageTest {
    /// The name reports use: the script's path, or the configured name or command.
    pub name: String,
    /// The image whose directory or settings declare the test.
    pub declared_by: String,
    pub kind: ImageTestKind,
    /// The exit code that passes.
    pub exit_code: i64,
    /// A regular expression the output must match.
    pub output: Option<String>,
    /// Whether the test container may use the host's network.
    pub network: bool,
    /// Seconds before the test fails.
    pub timeout: u64,
}

/// Where and how a test runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ImageTestKind {
    /// An executable file of a `tests/` directory beside a Dockerfile: the directory is copied
    /// into a throw-away container of the image and the file run there.
    Script {
        /// The `tests/` directory, relative to the repository root.
        directory: String,
        /// The file's name in it.
        file: String,
    },
    /// A command run in a throw-away container of the image.
    Command { command: Vec<String> },
    /// A command run on the host at the repository root, with `STRATA_IMAGE` set.
    Host { command: Vec<String> },
    /// A check strata makes by reading the image's files, without a container.
    Check { check: BuiltinCheck },
}

/// The checks strata makes itself (`check = "…"` in `strata.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BuiltinCheck {
    /// Every variable a conda environment's activation scripts export is set by the image's
    /// `ENV` (or its entrypoint activates the environment).
    CondaActivation,
}

impl BuiltinCheck {
    pub const ALL: [Self; 1] = [Self::CondaActivation];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CondaActivation => "conda-activation",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|check| check.as_str() == name)
    }
}

impl ImageTestKind {
    /// `script`, `command`, `host` or `check`, as reports name the kinds.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Script { .. } => "script",
            Self::Command { .. } => "command",
            Self::Host { .. } => "host",
            Self::Check { .. } => "check",
        }
    }
}

/// What a layer is, by layout.
#[derive(Debug, Clone)]
pub enum LayerDetails {
    Science(ScienceLayer),
    Stacks(StacksImage),
    Generic(GenericImage),
}

/// An image of the generic layout: any directory holding a Dockerfile.
#[derive(Debug, Clone)]
pub struct GenericImage {
    /// The image name (`heasoft`): the directory's name, or the one above a tag-like directory.
    pub image: String,
    /// `{version}`: from `strata.toml`, the tree's build JSON, or a tag-like directory name.
    pub version: Option<String>,
    /// `{variant}`: the suffix of a `Dockerfile.<variant>`.
    pub variant: Option<String>,
    /// `{label}`: from the tree's build JSON.
    pub label: Option<String>,
    /// Tag templates, the moving tag last.
    pub tags: Vec<String>,
    /// Registry and namespace of the image's tree, when the tree sets one.
    pub repo: Option<String>,
    /// When images of several trees would share a build-unique tag (`sciserver-base:<commit>`),
    /// the text that tells this one's apart: its directory above the name
    /// (`ubuntu-22.04`), put at the front of the tag.
    pub qualifier: Option<String>,
}

impl GenericImage {
    /// The template of the tag unique to each build, when no template names the commit.
    pub fn unique_template(&self) -> String {
        let qualifier = self
            .qualifier
            .as_deref()
            .map(|qualifier| format!("{qualifier}-"))
            .unwrap_or_default();
        let rest = match (&self.version, &self.variant) {
            (Some(_), Some(_)) => "{version}-{variant}-{count}-{short-commit}",
            (Some(_), None) => "{version}-{count}-{short-commit}",
            (None, Some(_)) => "{variant}-{commit}",
            (None, None) => "{commit}",
        };
        format!("{{name}}:{qualifier}{rest}")
    }
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
    /// The git object id of its `sciserver-image.json` as read: history's blobs with this id
    /// define this layer's version, without reading them.
    pub definition_blob: String,
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
    /// Forget the generic trees' own `repo`s: every image goes under the one namespace given
    /// on the command line.
    pub fn clear_tree_repos(&mut self) {
        for layer in &mut self.layers {
            if let LayerDetails::Generic(image) = &mut layer.details {
                image.repo = None;
            }
        }
    }

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

impl Layer {
    /// A layer as a loader reads it, before parents are matched and taggers and tests
    /// inherited.
    pub(crate) fn read(
        name: String,
        directory: String,
        dockerfile: String,
        definition_file: String,
        bases: &crate::dockerfile::ImageBases,
        build_args: BTreeMap<String, String>,
        details: LayerDetails,
    ) -> Self {
        Self {
            name,
            directory,
            dockerfile,
            definition_file,
            base: bases.base.clone(),
            base_arg: bases.base_arg.clone(),
            parent: None,
            also_needs: Vec::new(),
            reads: Vec::new(),
            external_reads: bases.other_references.clone(),
            build_args,
            taggers: Vec::new(),
            tests: Vec::new(),
            platforms: Vec::new(),
            details,
        }
    }

    /// Drop from `external_reads` what `reads` found to be the repository's own.
    pub(crate) fn settle_external_reads(&mut self) {
        let reads = &self.reads;
        self.external_reads
            .retain(|reference| !reads.iter().any(|(read, _)| read == reference));
    }

    /// Every layer of the repository this one needs built first.
    pub fn dependencies(&self) -> impl Iterator<Item = LayerId> + '_ {
        self.parent
            .into_iter()
            .chain(self.also_needs.iter().copied())
    }

    pub fn science(&self) -> Option<&ScienceLayer> {
        match &self.details {
            LayerDetails::Science(science) => Some(science),
            LayerDetails::Stacks(_) | LayerDetails::Generic(_) => None,
        }
    }

    pub fn generic(&self) -> Option<&GenericImage> {
        match &self.details {
            LayerDetails::Generic(generic) => Some(generic),
            LayerDetails::Science(_) | LayerDetails::Stacks(_) => None,
        }
    }
}
