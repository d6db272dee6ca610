//! The plan: builds in order, each with its context, base, tags, labels and the reason it is in
//! the plan. Serialized as-is for `strata plan --json` (schema documented in the README).

use std::collections::BTreeMap;

use serde::Serialize;
use strata_repo::CommitInfo;

/// Bumped when a field changes meaning or disappears; adding fields does not bump it.
pub const PLAN_SCHEMA_VERSION: u32 = 1;

/// An ordered build plan: every build comes after the builds it depends on.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub schema_version: u32,
    pub layout: &'static str,
    /// Every layout (image family) of the repository; `layout` is the first.
    pub layouts: Vec<&'static str>,
    /// Registry and namespace the tags are under.
    pub repo: String,
    pub commit: CommitInfo,
    /// The git reference changes were taken from; `null` for `--all` and `--include`.
    pub since: Option<String>,
    pub builds: Vec<Build>,
}

/// One image build.
#[derive(Debug, Clone, Serialize)]
pub struct Build {
    pub kind: BuildKind,
    /// Unique in the plan: a science layer's target, a compat build's `image:version`, a
    /// docker-stacks `image` or `image/variant`.
    pub name: String,
    /// The image this build belongs to (SciServer `image`, docker-stacks image name).
    pub image: String,
    /// SciServer version; `null` in the docker-stacks layout.
    pub version: Option<String>,
    /// docker-stacks variant; `null` otherwise.
    pub variant: Option<String>,
    /// Build context directory, relative to the repository root. For a compat build, the compat
    /// layer's own directory (the build assembles its includes on top).
    pub context: String,
    /// Dockerfile, relative to the repository root. For a compat build, the compat layer's own
    /// Dockerfile (the build generates the full one).
    pub dockerfile: String,
    /// The image the build starts from.
    pub from: String,
    /// The image of this repository the build is built on, when there is one: its build name
    /// and the moving tag it is published under. When `from` differs from that tag (a `FROM`
    /// line written as `sci/base:1.0`), the build points `from` at the parent locally first.
    pub parent: Option<ParentImage>,
    /// Every tag the build gets; the first is the unique, never-moving one.
    pub tags: Vec<String>,
    /// Names of builds in this plan that must finish first.
    pub depends_on: Vec<String>,
    pub reason: Reason,
    /// The build or directory whose change caused this one, when not the build's own.
    pub triggered_by: Option<String>,
    /// Compat builds: the compat layers assembled, innermost first, the layer itself last.
    pub compat_layers: Vec<String>,
    /// Build arguments passed to the engine.
    pub build_args: BTreeMap<String, String>,
    /// Labels known at plan time (build times are added when the build runs).
    pub labels: BTreeMap<String, String>,
    /// Taggers evaluated on the built image (inherited from its ancestors in `strata.toml`).
    pub taggers: Vec<strata_repo::TaggerConfig>,
    /// Tests run on the built image before any tag moves: the ancestors' first, then its own.
    #[serde(default)]
    pub tests: Vec<strata_repo::ImageTest>,
    /// Platforms the image is built for (`linux/amd64`); empty: the engine's own. With two or
    /// more, each is built on its own and the tags become multi-platform indexes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<String>,
    /// Other images of this repository the Dockerfile reads (`COPY --from`, another stage's
    /// `FROM`), as it writes them: the build points each at that image.
    #[serde(skip)]
    pub reads: Vec<ReadImage>,
}

/// An image of this repository a build reads besides its parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadImage {
    /// The reference as the Dockerfile writes it (`ARG`s expanded).
    pub reference: String,
    /// The build name of the image it names.
    pub name: String,
    /// The moving tag it is published under.
    pub tag: String,
    /// The platforms it is built for (empty: the engine's own).
    pub platforms: Vec<String>,
}

/// The repository image a build starts from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParentImage {
    pub name: String,
    pub tag: String,
    /// The platforms the parent is built for (empty: the engine's own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<String>,
}

/// What is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BuildKind {
    /// A SciServer science layer, tagged under `<repo>/sci/`.
    Science,
    /// A SciServer compat build on a final science layer, tagged under `<repo>/rel/`.
    Compat,
    /// A docker-stacks image.
    Image,
}

impl BuildKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Science => "science",
            Self::Compat => "compat",
            Self::Image => "image",
        }
    }
}

/// Why a build is in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// Its directory changed since the reference.
    Changed,
    /// Its directory was named with `--include`.
    Included,
    /// New: its definition is not tracked by git yet (`--untracked`).
    Untracked,
    /// An image it is built on is rebuilt.
    ParentChanged,
    /// Its compat layer, or one the compat layer includes, changed.
    CompatChanged,
    /// The final science layer it is built on is rebuilt.
    ScienceRebuilt,
    /// `--all`.
    All,
    /// `--since registry`: its inputs differ from those its published tag was built from.
    InputsChanged,
    /// `--since registry`: its moving tag is not in the registry.
    Unpublished,
}

impl Reason {
    /// The words shown in the text table.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Changed => "changed",
            Self::Included => "included",
            Self::Untracked => "untracked",
            Self::ParentChanged => "parent changed",
            Self::CompatChanged => "compat changed",
            Self::ScienceRebuilt => "science rebuilt",
            Self::All => "all",
            Self::InputsChanged => "inputs changed",
            Self::Unpublished => "unpublished",
        }
    }
}

impl Plan {
    /// How many builds of a kind the plan has.
    pub fn count(&self, kind: BuildKind) -> usize {
        self.builds
            .iter()
            .filter(|build| build.kind == kind)
            .count()
    }

    pub fn build(&self, name: &str) -> Option<&Build> {
        self.builds.iter().find(|build| build.name == name)
    }
}
