//! What can go wrong making an image reproducible; each error names the layer, file or image.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ReproducibleError {
    #[error("cannot read the layer `{layer}`")]
    Layer {
        layer: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the scrub pattern `{pattern}` is not a path pattern: {message}")]
    Scrub { pattern: String, message: String },
    #[error("the image config cannot be read: {message}")]
    Config { message: String },
    #[error("cannot normalise `{image}`: {message}")]
    Export { image: String, message: String },
    #[error("cannot write `{path}`", path = path.display())]
    Store {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`SOURCE_DATE_EPOCH={value}` is not a number of seconds since 1970")]
    Epoch { value: String },
    #[error(transparent)]
    Engine(#[from] strata_engine::EngineError),
    #[error("cannot read `{reference}` from its registry")]
    Registry {
        reference: String,
        #[source]
        source: Box<strata_registry::RegistryError>,
    },
    #[error("cannot read the layers of `{image}`")]
    Archive {
        image: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the layers of `{image}`")]
    Read {
        image: String,
        #[source]
        source: Box<strata_inspect::InspectError>,
    },
    #[error("cannot push `{reference}`")]
    Push {
        reference: String,
        #[source]
        source: Box<strata_registry::RegistryError>,
    },
}

impl strata_diagnostic::Diagnostic for ReproducibleError {
    fn exit_class(&self) -> Option<strata_diagnostic::ExitClass> {
        use strata_diagnostic::ExitClass;
        match self {
            Self::Engine(error) => error.exit_class(),
            Self::Push { source, .. } | Self::Registry { source, .. } => source.exit_class(),
            Self::Read { source, .. } => source.exit_class(),
            // The engine's export or its layers could not be read.
            Self::Layer { .. }
            | Self::Archive { .. }
            | Self::Export { .. }
            | Self::Config { .. } => Some(ExitClass::Unavailable),
            Self::Scrub { .. } | Self::Store { .. } | Self::Epoch { .. } => Some(ExitClass::Input),
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            Self::Scrub { .. } => Some(
                "scrub paths are like `/var/log/dpkg.log`, `/var/cache/ldconfig/aux-cache` or `/usr/**/__pycache__`".to_string(),
            ),
            Self::Epoch { .. } => Some(
                "unset it to use the commit's time, or set it to `$(git log -1 --format=%ct)`".to_string(),
            ),
            Self::Store { .. } => Some(
                "the normalised layers live in strata's cache (`STRATA_CACHE_DIR`): check its space and permissions".to_string(),
            ),
            Self::Engine(error) => error.hint(),
            Self::Push { source, .. } | Self::Registry { source, .. } => source.hint(),
            Self::Read { source, .. } => source.hint(),
            _ => None,
        }
    }
}
