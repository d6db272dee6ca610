//! Registry errors: which registry or reference, and what went wrong.

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
    #[error("cannot read `{reference}` from its registry")]
    Fetch {
        reference: String,
        #[source]
        source: oci_client::errors::OciDistributionError,
    },
    #[error("the config of `{reference}` is not valid JSON")]
    Config {
        reference: String,
        #[source]
        source: serde_json::Error,
    },
}
