//! Errors from reading an image repository. Each names the file, image or directory at fault,
//! and `hint()` says what to do next.

use std::path::PathBuf;

use crate::diagnostic::SourceSpan;

/// An error reading one Dockerfile.
#[derive(Debug, thiserror::Error)]
pub enum DockerfileError {
    #[error(transparent)]
    Read(#[from] strata_fs::InputError),
    #[error("`{path}` has no `FROM` instruction", path = path.display())]
    NoFrom { path: PathBuf },
    #[error("bad `FROM` instruction: {reason}\n{span}")]
    BadFrom { span: SourceSpan, reason: String },
    #[error("{message}\n{span}")]
    Syntax { span: SourceSpan, message: String },
}

/// An error in `strata.toml`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Read(#[from] strata_fs::InputError),
    #[error("invalid `{path}`", path = path.display())]
    Parse {
        path: PathBuf,
        /// The TOML parser's error: line, column, the line shown, what it expected.
        #[source]
        source: Box<toml::de::Error>,
    },
    #[error("`{path}` configures image `{name}`, which is not in the repository (known: {known})", path = path.display())]
    UnknownImage {
        path: PathBuf,
        name: String,
        known: String,
    },
    #[error("`{path}`: image `{name}` has no tag: every template names a variable it lacks (`{templates}`)", path = path.display())]
    NoTags {
        path: PathBuf,
        name: String,
        templates: String,
    },
    #[error("`{path}`: tag template `{template}` of image `{name}`: {reason}", path = path.display())]
    BadTemplate {
        path: PathBuf,
        name: String,
        template: String,
        reason: String,
    },
    #[error("`{path}`: test {index} of image `{name}`: {reason}", path = path.display())]
    BadTest {
        path: PathBuf,
        name: String,
        index: usize,
        reason: String,
    },
    #[error("`{path}`: platform `{platform}` of {place}: {reason}", path = path.display())]
    BadPlatform {
        path: PathBuf,
        place: String,
        platform: String,
        reason: String,
    },
    #[error("`{path}`: image `{name}` is built for {platform}, which its parent `{parent}` is not built for (its platforms: {parent_platforms})", path = path.display())]
    PlatformWithoutParent {
        path: PathBuf,
        name: String,
        parent: String,
        platform: String,
        parent_platforms: String,
    },
    #[error("`{path}` sets the parent of `{name}` to `{parent}`, which is not an image of the repository", path = path.display())]
    UnknownParent {
        path: PathBuf,
        name: String,
        parent: String,
    },
}

/// An error in the repository's layout or image definitions.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("no image repository found at `{root}`", root = root.display())]
    NotFound {
        root: PathBuf,
        /// Directories below it that are image repositories of their own.
        nested: Vec<String>,
    },
    #[error("the {layout} layout finds no image in `{root}`: nothing matches `{looked_in}`", root = root.display())]
    NoImages {
        root: PathBuf,
        layout: String,
        looked_in: String,
    },
    #[error("this change leaves {} without a final layer, so {} no compat updates:{}", if orphans.len() == 1 { "a version" } else { "versions" }, if orphans.len() == 1 { "it would get" } else { "they would get" }, crate::orphans::listing(orphans))]
    Orphaned {
        orphans: Vec<crate::orphans::OrphanedVersion>,
    },
    #[error("`[generic] dockerfiles` in `strata.toml`: `{pattern}` is not a file name pattern: {reason}")]
    DockerfilePattern { pattern: String, reason: String },
    #[error("cannot read directory `{path}`", path = path.display())]
    ReadDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("in image `{image}`")]
    Dockerfile {
        image: String,
        #[source]
        source: Box<DockerfileError>,
    },
    #[error(transparent)]
    ReadDefinition(#[from] strata_fs::InputError),
    #[error("invalid JSON in `{path}`: {message}\n{span}", path = span.path.display())]
    InvalidJson { span: SourceSpan, message: String },
    #[error("invalid {field} `{value}` for `{directory}`: {rule}")]
    InvalidField {
        directory: String,
        field: &'static str,
        value: String,
        rule: &'static str,
    },
    #[error("missing Dockerfile for {kind} `{directory}`: expected `{path}`", path = path.display())]
    MissingDockerfile {
        kind: &'static str,
        directory: String,
        path: PathBuf,
    },
    #[error("duplicate target `{target}`: defined by both `{first}` and `{second}`")]
    DuplicateTarget {
        target: String,
        first: String,
        second: String,
    },
    #[error("science layer `{directory}` depends on itself: its `FROM` names its own tag `{tag}`")]
    SelfDependency { directory: String, tag: String },
    #[error(
        "science layer `{directory}` (`{image}:{version}`) depends on `{dependency}`, a higher version (`{image}:{dependency_version}`) of the same image"
    )]
    DependsOnHigherVersion {
        directory: String,
        image: String,
        version: String,
        dependency: String,
        dependency_version: String,
    },
    #[error("no single final science layer for `{image}`: {found}")]
    NoSingleFinal { image: String, found: String },
    #[error("`{dockerfile}`: `FROM {reference}` could name any of {} images of this repository: {}", candidates.len(), candidates.join(", "))]
    AmbiguousParent {
        image: String,
        dockerfile: String,
        reference: String,
        candidates: Vec<String>,
    },
    #[error("image name `{name}` is used by two images: `{first}` and `{second}`")]
    DuplicateName {
        name: String,
        first: String,
        second: String,
    },
    #[error("circular dependency between images: {cycle}")]
    Cycle { cycle: String },
    #[error("`{file}`: circular compat includes: {cycle}")]
    CompatCycle { file: String, cycle: String },
    #[error("`{file}`: compat includes nest more than {limit} deep: {chain}")]
    IncludeDepth {
        file: String,
        limit: usize,
        chain: String,
    },
    #[error("`{file}`: compat layer `{compat}` includes `{include}`, which is not a compat layer (known: {known})")]
    UnknownInclude {
        file: String,
        compat: String,
        include: String,
        known: String,
    },
    #[error("science layer `{directory}` uses compat layer `{compat}`, which does not exist under `compat/` (known: {known})")]
    UnknownCompat {
        directory: String,
        compat: String,
        known: String,
    },
}

impl strata_diagnostic::Diagnostic for RepoError {
    fn exit_class(&self) -> Option<strata_diagnostic::ExitClass> {
        Some(strata_diagnostic::ExitClass::Input)
    }

    /// What the user can do about this error, when there is something specific to say.
    fn hint(&self) -> Option<String> {
        match self {
            Self::Orphaned { orphans } => Some(format!(
                "keep a science layer with that image and version (add layers on top instead of changing the version in place), retire it in `strata.toml` once compute no longer uses it (`retired = [{}]`), or pass `--allow-orphan`",
                orphans.iter().map(|orphan| format!("\"{}\"", orphan.version)).collect::<Vec<_>>().join(", ")
            )),
            Self::NoImages { .. } => Some(
                "check `layout` (and `images-dir`) in `strata.toml`, or remove `layout` to let strata detect it".to_string(),
            ),
            Self::NotFound { root, nested } if !nested.is_empty() => Some(format!(
                "{} {} an image repository: pass {} path (`{}`)",
                nested.iter().map(|directory| format!("`{directory}`")).collect::<Vec<_>>().join(", "),
                if nested.len() == 1 { "is" } else { "are each" },
                if nested.len() == 1 { "its" } else { "one's" },
                root.join(&nested[0]).display()
            )),
            Self::NotFound { .. } => Some(
                "an image repository has `science/*/sciserver-image.json` (SciServer layout), `images/*/Dockerfile` (docker-stacks layout) or any `Dockerfile` (generic layout); pass its path, or set `layout` in `strata.toml`".to_string(),
            ),
            Self::DuplicateTarget { .. } => Some("give one of them a distinct `target` in its `sciserver-image.json`".to_string()),
            Self::SelfDependency { .. } => Some("a layer's `FROM` must name another layer's `sci/<target>:<version>` tag".to_string()),
            Self::NoSingleFinal { .. } => Some("layers of one image and version must form a chain: exactly one of them must have no other layer of the same image and version built on it".to_string()),
            Self::DependsOnHigherVersion { .. } => Some("build the higher version on top of the lower one, not the other way round".to_string()),
            Self::MissingDockerfile { .. } => Some("add the Dockerfile, or remove the directory's `sciserver-image.json`".to_string()),
            Self::AmbiguousParent { image, candidates, .. } => Some(format!(
                "say which in `strata.toml`:\n  [images.\"{image}\"]\n  parent = \"{}\"   # or one of the others; `parent = false` for an external image",
                candidates.first().map_or("", String::as_str)
            )),
            Self::DuplicateName { .. } => Some("rename one: `name` under its `[images.\"<directory>\"]` in `strata.toml`, or a distinct `target`".to_string()),
            Self::Config(ConfigError::NoTags { .. } | ConfigError::BadTemplate { .. }) => Some(
                "tag templates may name {name}, {version}, {variant}, {label}, {commit}, {short-commit} and {count}; give the image a `version` in `strata.toml`, or a template it can fill".to_string(),
            ),
            Self::Config(ConfigError::BadPlatform { .. }) => Some(
                "platforms are written `os/architecture[/variant]`, as `docker build --platform` takes them: `linux/amd64`, `linux/arm64`, `linux/arm/v7`".to_string(),
            ),
            Self::Config(ConfigError::PlatformWithoutParent { parent, .. }) => Some(format!(
                "add the platform to `[images.\"{parent}\"] platforms` (or the repository-wide `platforms`), or leave it out of this image's"
            )),
            Self::Config(ConfigError::UnknownImage { .. } | ConfigError::UnknownParent { .. }) => {
                Some("run `strata graph` to list the repository's images".to_string())
            }
            _ => None,
        }
    }
}

impl strata_diagnostic::Diagnostic for DockerfileError {
    fn exit_class(&self) -> Option<strata_diagnostic::ExitClass> {
        Some(strata_diagnostic::ExitClass::Input)
    }
}

impl strata_diagnostic::Diagnostic for ConfigError {
    fn exit_class(&self) -> Option<strata_diagnostic::ExitClass> {
        Some(strata_diagnostic::ExitClass::Input)
    }
}
