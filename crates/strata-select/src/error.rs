use std::path::PathBuf;

use strata_diagnostic::{Diagnostic, ExitClass};

/// Why no plan could be made.
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error("cannot read the image repository at `{}`", root.display())]
    Open {
        root: PathBuf,
        #[source]
        source: Box<strata_repo::RepoError>,
    },
    #[error(transparent)]
    Repository(Box<strata_repo::RepoError>),
    #[error(transparent)]
    Git(Box<strata_repo::GitError>),
    #[error(transparent)]
    Plan(Box<strata_plan::PlanError>),
    #[error("`{repo}` cannot be a tag namespace: it must be a registry host and lowercase path, such as `registry.example.org/compute-images`")]
    TagNamespace { repo: String },
    #[error("`--platform {platform}`: {reason} (for example `linux/amd64,linux/arm64`)")]
    Platform { platform: String, reason: String },
    #[error("cannot list the published versions of `{repository}`{note}")]
    PublishedVersions {
        repository: String,
        note: String,
        #[source]
        source: Box<strata_registry::RegistryError>,
    },
    #[error("cannot compare the repository with its registry{note}")]
    Comparison {
        note: String,
        #[source]
        source: Box<strata_build::BuildError>,
    },
    #[error(transparent)]
    Session(#[from] strata_session::SessionError),
    #[error("`[trust] \"{pattern}\"` in `{}` cannot be used: {message}", config.display())]
    TrustPattern {
        config: PathBuf,
        pattern: String,
        message: String,
    },
    #[error("`[trust] \"{pattern}\"`: cannot read its key")]
    TrustKey {
        pattern: String,
        #[source]
        source: Box<strata_sign::SignError>,
    },
    #[error("cannot check the signature of the base `{base}`")]
    TrustCheck {
        base: String,
        #[source]
        source: Box<strata_sign::SignError>,
    },
    #[error("the base `{base}`{} is refused: `[trust] \"{pattern}\"` requires a signature by {}; {}", if images.is_empty() { String::new() } else { format!(" (of {})", images.join(", ")) }, keys.join(" or "), problems.join("; "))]
    Untrusted {
        base: String,
        images: Vec<String>,
        pattern: String,
        keys: Vec<String>,
        problems: Vec<String>,
    },
}

impl From<strata_repo::RepoError> for SelectError {
    fn from(error: strata_repo::RepoError) -> Self {
        Self::Repository(Box::new(error))
    }
}

impl From<strata_repo::GitError> for SelectError {
    fn from(error: strata_repo::GitError) -> Self {
        Self::Git(Box::new(error))
    }
}

impl From<strata_plan::PlanError> for SelectError {
    fn from(error: strata_plan::PlanError) -> Self {
        Self::Plan(Box::new(error))
    }
}

impl Diagnostic for SelectError {
    fn exit_class(&self) -> Option<ExitClass> {
        match self {
            Self::TagNamespace { .. }
            | Self::Platform { .. }
            | Self::TrustPattern { .. }
            | Self::Untrusted { .. } => Some(ExitClass::Input),
            Self::TrustKey { source, .. } | Self::TrustCheck { source, .. } => source.exit_class(),
            // What is wrapped knows. A transparent variant is not in the chain itself, and a
            // boxed source is found there as its box: each is asked here.
            Self::Repository(error) | Self::Open { source: error, .. } => error.exit_class(),
            Self::Git(error) => error.exit_class(),
            Self::Plan(error) => error.exit_class(),
            Self::Session(error) => error.exit_class(),
            Self::PublishedVersions { source, .. } => source.exit_class(),
            Self::Comparison { source, .. } => source.exit_class(),
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            Self::Repository(error) | Self::Open { source: error, .. } => error.hint(),
            Self::Git(error) => error.hint(),
            Self::Plan(error) => error.hint(),
            Self::Session(error) => error.hint(),
            Self::PublishedVersions { source, .. } => source.hint(),
            Self::Comparison { source, .. } => source.hint(),
            Self::TrustKey { source, .. } | Self::TrustCheck { source, .. } => source.hint(),
            Self::Untrusted { base, .. } => Some(format!("`strata verify {base} --key KEY` shows its signatures; sign it (`strata build --sign`, `cosign sign --key`) or build on a signed base")),
            Self::TagNamespace { .. } | Self::Platform { .. } | Self::TrustPattern { .. } => None,
        }
    }
}
