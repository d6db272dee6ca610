//! Image references as the distribution spec reads them (`registry:5000/owner/name:tag@digest`,
//! Docker Hub's implicit `docker.io/library/`), parsed once with `oci-client`'s parser, and the
//! address strata speaks to for each registry.

pub use oci_client::Reference;

use crate::error::RegistryError;

/// Parse an image reference, with an error naming it.
pub fn parse_reference(text: &str) -> Result<Reference, RegistryError> {
    text.parse().map_err(|source| RegistryError::Reference {
        reference: text.to_string(),
        source,
    })
}

/// The reference with its tag and digest replaced by `digest`.
pub fn with_digest(reference: &Reference, digest: &str) -> Reference {
    Reference::with_digest(
        reference.registry().to_string(),
        reference.repository().to_string(),
        digest.to_string(),
    )
}

/// The reference with its tag replaced and any digest dropped.
pub fn with_tag(reference: &Reference, tag: &str) -> Reference {
    Reference::with_tag(
        reference.registry().to_string(),
        reference.repository().to_string(),
        tag.to_string(),
    )
}

/// `registry/repository`, without tag or digest, as users write it (`docker.io` kept).
pub fn repository_name(reference: &Reference) -> String {
    format!("{}/{}", reference.registry(), reference.repository())
}

/// The host the registry API answers on: Docker Hub's API is `registry-1.docker.io`.
pub fn api_host(registry: &str) -> &str {
    match registry {
        "docker.io" | "index.docker.io" => "registry-1.docker.io",
        other => other,
    }
}

/// Loopback registries are spoken to over plain HTTP, as Docker does; everything else over HTTPS.
pub fn is_loopback(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|byte| byte.is_ascii_digit()) => name,
        _ => host,
    };
    name == "localhost" || name.starts_with("127.") || name == "[::1]"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_names_are_expanded() {
        let reference = parse_reference("python:3.12").unwrap();
        assert_eq!(reference.registry(), "docker.io");
        assert_eq!(reference.repository(), "library/python");
        assert_eq!(reference.tag(), Some("3.12"));
        assert_eq!(api_host(reference.registry()), "registry-1.docker.io");
        let local = parse_reference("127.0.0.1:5555/a/b:1").unwrap();
        assert_eq!(local.registry(), "127.0.0.1:5555");
        assert_eq!(repository_name(&local), "127.0.0.1:5555/a/b");
        assert!(is_loopback(local.registry()));
        assert!(!is_loopback("quay.io"));
        assert!(is_loopback("localhost:5000"));
    }

    #[test]
    fn invalid_references_are_errors() {
        let error = parse_reference("UPPER/Case:1").unwrap_err();
        assert_eq!(
            error.to_string(),
            "`UPPER/Case:1` is not a valid image reference"
        );
        assert_eq!(error.class(), crate::ErrorClass::Input);
    }
}
