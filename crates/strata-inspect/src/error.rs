//! Errors reading images.

#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("cannot read layer `{layer}`")]
    Layer {
        layer: String,
        #[source]
        source: std::io::Error,
    },
    #[error("layer `{layer}` uses {what}, which strata cannot read yet")]
    Unsupported { layer: String, what: String },
    #[error("layer `{expected}` of `{reference}` has different content (`{actual}`): the registry or export is corrupt")]
    DigestMismatch {
        reference: String,
        expected: String,
        actual: String,
    },
    #[error("the image archive of `{reference}` does not contain layer `{layer}`")]
    MissingLayer { reference: String, layer: String },
    #[error("the config of `{reference}` has no `rootfs.diff_ids`")]
    NoLayers { reference: String },
    #[error("cannot use the layer cache at `{path}`", path = path.display())]
    Cache {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Engine(#[from] strata_engine::EngineError),
    #[error(transparent)]
    Registry(#[from] strata_registry::RegistryError),
    #[error("the layer reader stopped unexpectedly")]
    Reader(#[source] tokio::task::JoinError),
    #[error("`--platform {text}` is not `os/architecture[/variant]` (for example `linux/arm64`)")]
    PlatformSyntax { text: String },
    #[error("cannot inspect `{reference}`")]
    Image {
        reference: String,
        #[source]
        source: Box<InspectError>,
    },
    #[error("`{reference}` here is {here}, not {wanted}: an engine holds one platform of a tag; read {wanted} from the registry with `--registry --platform {wanted}`, or name its per-platform tag (`{platform_tag}`)")]
    OtherPlatform {
        reference: String,
        here: String,
        wanted: String,
        platform_tag: String,
    },
    #[error("cannot read `{reference}` from its registry")]
    IndexRead {
        reference: String,
        #[source]
        source: Box<strata_registry::RegistryError>,
    },
    #[error("`{reference}` is one platform's image, not a multi-platform index: nothing to compare (`strata inspect --registry {reference}` shows it)")]
    NotAnIndex { reference: String },
    #[error("cannot inspect the {platform} image of `{reference}`")]
    PlatformImage {
        platform: String,
        reference: String,
        #[source]
        source: Box<InspectError>,
    },
    #[error(transparent)]
    Session(#[from] strata_session::SessionError),
}

impl strata_diagnostic::Diagnostic for InspectError {
    /// The engine's and registry's errors keep their class; a layer that cannot be read or is
    /// damaged comes from a service that failed (5); the cache and what strata cannot read yet
    /// are the user's to change (2).
    fn exit_class(&self) -> Option<strata_diagnostic::ExitClass> {
        use strata_diagnostic::ExitClass;
        match self {
            Self::Engine(error) => error.exit_class(),
            Self::Registry(error) => error.exit_class(),
            Self::Cache { .. }
            | Self::Unsupported { .. }
            | Self::PlatformSyntax { .. }
            | Self::OtherPlatform { .. }
            | Self::NotAnIndex { .. } => Some(ExitClass::Input),
            // Boxed, the source is in the chain as its box: asked here.
            Self::Image { source, .. } | Self::PlatformImage { source, .. } => source.exit_class(),
            Self::IndexRead { source, .. } => source.exit_class(),
            Self::Session(error) => error.exit_class(),
            Self::Layer { .. }
            | Self::DigestMismatch { .. }
            | Self::MissingLayer { .. }
            | Self::NoLayers { .. }
            | Self::Reader(_) => Some(ExitClass::Unavailable),
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            Self::Cache { .. } => {
                Some("set `STRATA_CACHE_DIR` to a writable directory".to_string())
            }
            Self::DigestMismatch { .. } => Some(
                "inspect again; if it persists, the image in the registry is damaged".to_string(),
            ),
            Self::Engine(error) => error.hint(),
            Self::Registry(error) => error.hint(),
            Self::Image { source, .. } | Self::PlatformImage { source, .. } => source.hint(),
            Self::IndexRead { source, .. } => source.hint(),
            Self::Session(error) => error.hint(),
            _ => None,
        }
    }
}
