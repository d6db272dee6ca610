//! Registry errors: which registry, repository or reference, what went wrong, and what to do.

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot read credentials for `{registry}` from the Docker config: {message}")]
    Credentials { registry: String, message: String },
    #[error("`{reference}` is not a valid image reference")]
    Reference {
        reference: String,
        #[source]
        source: oci_client::ParseError,
    },
    #[error("cannot reach the registry `{registry}`")]
    Unreachable {
        registry: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("`{registry}` refused {who} for `{repository}` (401 Unauthorized)", who = if *.anonymous { "anonymous access" } else { "strata's credentials" })]
    Unauthorized {
        registry: String,
        repository: String,
        /// No credentials were configured for the registry.
        anonymous: bool,
    },
    #[error("`{registry}` denied access to `{repository}` (403 Forbidden)")]
    Denied {
        registry: String,
        repository: String,
    },
    #[error("`{reference}` not found in `{registry}`")]
    NotFound { reference: String, registry: String },
    #[error("`{registry}` answered {status} to {method} `{path}`{detail}", detail = if message.is_empty() { String::new() } else { format!(": {message}") })]
    Status {
        registry: String,
        method: String,
        path: String,
        status: u16,
        message: String,
    },
    #[error("cannot get a token for `{registry}` from `{realm}`: {message}")]
    Token {
        registry: String,
        realm: String,
        message: String,
    },
    #[error("cannot get a token for `{registry}` from `{realm}`")]
    TokenRequest {
        registry: String,
        realm: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("`{reference}`: {message}")]
    Invalid { reference: String, message: String },
    #[error("the manifest of `{reference}` is not a valid manifest (JSON with `sha256:` digests)")]
    Manifest {
        reference: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot read the blob `{reference}`")]
    Blob {
        reference: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the config of `{reference}` is not valid JSON")]
    Config {
        reference: String,
        #[source]
        source: serde_json::Error,
    },
}

impl strata_diagnostic::Diagnostic for RegistryError {
    /// A reference that is not valid or names nothing the registry has is the user's input (2);
    /// a registry that cannot be reached, refuses or fails is unavailable (5).
    fn exit_class(&self) -> Option<strata_diagnostic::ExitClass> {
        use strata_diagnostic::ExitClass;
        Some(match self {
            Self::Reference { .. } | Self::NotFound { .. } => ExitClass::Input,
            Self::Status { status, .. } => ExitClass::of_http_status(*status),
            _ => ExitClass::Unavailable,
        })
    }

    /// What the user can do next.
    fn hint(&self) -> Option<String> {
        match self {
            Self::Credentials { .. } => Some(
                "check `credsStore`/`credHelpers` in the Docker config (`$DOCKER_CONFIG/config.json`)"
                    .to_string(),
            ),
            Self::Reference { .. } => Some(
                "references look like `registry.example.org/namespace/name:tag`, in lowercase"
                    .to_string(),
            ),
            Self::Unreachable { registry, .. } => Some(format!(
                "check that `{registry}` is up and reachable from this machine"
            )),
            Self::Unauthorized {
                registry,
                anonymous: true,
                ..
            } => Some(format!("log in first: `docker login {registry}`")),
            Self::Unauthorized { registry, .. } => Some(format!(
                "the stored credentials for `{registry}` were refused; log in again with `docker login {registry}`"
            )),
            Self::Denied { registry, .. } => Some(format!(
                "the account logged in to `{registry}` lacks permission; ask the registry's administrator, or log in as another user"
            )),
            Self::NotFound { .. } => Some(
                "check the name and tag; list what the registry has with `strata outdated` or the registry's UI"
                    .to_string(),
            ),
            Self::Status { status, .. } if *status >= 500 || *status == 429 => Some(
                "the registry kept failing after retries; try again later".to_string(),
            ),
            Self::TokenRequest { realm, .. } => Some(format!(
                "check that the token service `{realm}` is up and reachable from this machine"
            )),
            Self::Token { .. } => Some(
                "check the credentials for this registry in the Docker config (`docker login`)"
                    .to_string(),
            ),
            _ => None,
        }
    }
}
