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
            Self::NoTags { .. } => None,
        }
    }
}
