use std::path::PathBuf;

use strata_diagnostic::{Diagnostic, ExitClass};

/// Why a release step could not be worked out.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("cannot read the image repository at `{}`", root.display())]
    Open {
        root: PathBuf,
        #[source]
        source: Box<strata_repo::RepoError>,
    },
    #[error("cannot resolve the base images' digests")]
    Resolve {
        #[source]
        source: Box<strata_registry::RegistryError>,
    },
    #[error("the build `{build}` has no tags")]
    NoTags { build: String },
    #[error("cannot promote `{build}`: its tag is not a registry reference (set `--repo`)")]
    NotARegistryTag {
        build: String,
        #[source]
        source: Box<strata_registry::RegistryError>,
    },
    #[error("cannot read the pinned `{reference}`")]
    PinnedImage {
        reference: String,
        #[source]
        source: Box<strata_inspect::InspectError>,
    },
    #[error("cannot read what `{reference}` points at now")]
    CurrentImage {
        reference: String,
        #[source]
        source: Box<strata_inspect::InspectError>,
    },
    #[error(transparent)]
    Repository(Box<strata_repo::RepoError>),
    #[error(transparent)]
    Dockerfile(Box<strata_repo::DockerfileError>),
    #[error(transparent)]
    Git(Box<strata_repo::GitError>),
    #[error(transparent)]
    Registry(Box<strata_registry::RegistryError>),
    #[error(transparent)]
    Select(Box<strata_select::SelectError>),
    #[error(transparent)]
    Write(#[from] strata_fs::WriteError),
    #[error(transparent)]
    Session(#[from] strata_session::SessionError),
    #[error("pipeline `{pipeline}` has not staged {}: its build {} not pass; no tag was moved", missing.join(", "), if missing.len() == 1 { "job did" } else { "jobs did" })]
    NotStaged {
        pipeline: String,
        missing: Vec<String>,
    },
    #[error("`{reference}` was not staged by `strata build --pipeline` (it has no `org.strata.inputs` label); no tag was moved")]
    NotStrataStaged { reference: String },
    #[error("`{build}` was staged on `{}` but this pipeline staged its parent `{parent}` as `{staged}`; no tag was moved", if recorded.is_empty() { "an unknown base" } else { recorded.as_str() })]
    StaleChild {
        build: String,
        parent: String,
        recorded: String,
        staged: strata_registry::Digest,
    },
    #[error("`{tag}` is published already as `{published}`, and this pipeline staged `{staged}`: a version's unique tag never moves; no tag was moved")]
    PublishedVersion {
        tag: String,
        published: strata_registry::Digest,
        staged: strata_registry::Digest,
    },
    #[error("cannot read the signatures of `{reference}`")]
    Signature {
        reference: String,
        #[source]
        source: Box<strata_sign::SignError>,
    },
    #[error("the tags moved, but `{image}` is not signed")]
    Sign {
        image: String,
        #[source]
        source: Box<strata_sign::SignError>,
    },
    #[error("cannot release pipeline `{pipeline}`")]
    Promote {
        pipeline: String,
        #[source]
        source: Box<strata_registry::PromoteError>,
    },
    #[error("cannot write the multi-platform index `{tag}`: {message}")]
    Index { tag: String, message: String },
}

impl From<strata_repo::RepoError> for ReleaseError {
    fn from(error: strata_repo::RepoError) -> Self {
        Self::Repository(Box::new(error))
    }
}

impl From<strata_repo::DockerfileError> for ReleaseError {
    fn from(error: strata_repo::DockerfileError) -> Self {
        Self::Dockerfile(Box::new(error))
    }
}

impl From<strata_repo::GitError> for ReleaseError {
    fn from(error: strata_repo::GitError) -> Self {
        Self::Git(Box::new(error))
    }
}

impl From<strata_registry::RegistryError> for ReleaseError {
    fn from(error: strata_registry::RegistryError) -> Self {
        Self::Registry(Box::new(error))
    }
}

impl From<strata_select::SelectError> for ReleaseError {
    fn from(error: strata_select::SelectError) -> Self {
        Self::Select(Box::new(error))
    }
}

impl Diagnostic for ReleaseError {
    fn exit_class(&self) -> Option<ExitClass> {
        // Boxed and transparent sources are not found in the chain as themselves: asked here.
        match self {
            Self::Open { source, .. } => source.exit_class(),
            Self::Repository(error) => error.exit_class(),
            Self::Dockerfile(error) => error.exit_class(),
            Self::Git(error) => error.exit_class(),
            Self::Resolve { source } | Self::NotARegistryTag { source, .. } => source.exit_class(),
            Self::Registry(error) => error.exit_class(),
            Self::PinnedImage { source, .. } | Self::CurrentImage { source, .. } => {
                source.exit_class()
            }
            Self::Select(error) => error.exit_class(),
            Self::Write(error) => error.exit_class(),
            Self::Session(error) => error.exit_class(),
            Self::NoTags { .. } => Some(ExitClass::Input),
            Self::NotStaged { .. }
            | Self::NotStrataStaged { .. }
            | Self::StaleChild { .. }
            | Self::PublishedVersion { .. } => Some(ExitClass::Problems),
            Self::Promote { source, .. } => source.exit_class(),
            Self::Sign { source, .. } | Self::Signature { source, .. } => source.exit_class(),
            Self::Index { .. } => Some(ExitClass::PushFailed),
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            Self::Open { source, .. } => source.hint(),
            Self::Repository(error) => error.hint(),
            Self::Dockerfile(error) => error.hint(),
            Self::Git(error) => error.hint(),
            Self::Resolve { source } | Self::NotARegistryTag { source, .. } => source.hint(),
            Self::Registry(error) => error.hint(),
            Self::PinnedImage { source, .. } | Self::CurrentImage { source, .. } => source.hint(),
            Self::Select(error) => error.hint(),
            Self::Write(error) => error.hint(),
            Self::Session(error) => error.hint(),
            Self::NoTags { .. } | Self::NotStrataStaged { .. } => None,
            Self::NotStaged { pipeline, .. } => Some(format!("the release runs after every build job passed; re-run the failed jobs of pipeline `{pipeline}` (each builds only its image), then the release")),
            Self::StaleChild { build, .. } => Some(format!("re-run `{build}`'s job (and those after it) so it builds on the parent this pipeline staged last")),
            Self::PublishedVersion { .. } => Some("a new commit gives the images new unique tags; re-run the pipeline on it".to_string()),
            // Not the promotion's own hint: the command to run again is the release.
            Self::Promote { pipeline, .. } => Some(format!("run the release again (`strata release --pipeline {pipeline}`, the same selection): tags already at the staged digest count as done, the rest move")),
            Self::Index { .. } => Some("run the release again: it writes the indexes the platforms' tags are ready for".to_string()),
            Self::Signature { source, .. } => source.hint(),
            Self::Sign { .. } => Some("run the release again with the same key: tags already in place count as done, and what is signed already is not signed twice".to_string()),
        }
    }
}
