//! OCI distribution: credentials from the user's Docker config and credential helpers, the
//! token flow, retries, manifests kept byte for byte, blobs checked as they stream, tags, and
//! copying images between tags and repositories without an engine (`promote`).

mod artifact;
mod auth;
mod client;
mod credentials;
mod error;
mod manifest;
mod platform_tags;
mod promote;
mod reference;
mod remote;

pub use artifact::{Artifact, ArtifactLayer, EMPTY_MEDIA_TYPE, OCI_IMAGE_CONFIG};
pub use auth::Scope;
pub use client::{RegistryClient, RetryPolicy, Traffic};
pub use credentials::{credentials_for, credentials_for_host, registry_host, Credentials};
pub use error::RegistryError;
pub use manifest::{
    Descriptor, Manifest, Platform, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST,
};
pub use platform_tags::{platform_suffix, with_suffix};
pub use promote::{promote, PromoteError, PromoteOutcome, Promotion, PromotionResult};
pub use reference::{parse_reference, repository_name, with_digest, with_tag, Reference};
pub use remote::{fetch_image, RemoteImage, RemoteLayer};
pub use strata_digest::Digest;
