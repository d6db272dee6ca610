//! Image references as the distribution spec reads them (`registry:5000/owner/name:tag@digest`,
//! Docker Hub's implicit `docker.io/library/`), and the address strata speaks to for each
//! registry. The grammar is checked by hand, component by component, over the one splitter
//! every crate uses (`strata_dockerfile::ImageReference`): `oci-client`'s own parser compiles a
//! Unicode regular expression on first use, which cost a short command like `strata plan` 80 ms.

pub use oci_client::ParseError;
pub use oci_client::Reference;
use strata_dockerfile::{is_valid_repository_component, ImageReference};

use crate::error::RegistryError;

/// The longest repository name the distribution spec allows.
const NAME_TOTAL_LENGTH_MAX: usize = 255;

/// Parse an image reference, with an error naming it.
pub fn parse_reference(text: &str) -> Result<Reference, RegistryError> {
    parse(text).map_err(|source| RegistryError::Reference {
        reference: text.to_string(),
        source,
    })
}

/// The distribution grammar: `[domain[:port]/]component(/component)*[:tag][@algorithm:hex]`,
/// normalised as Docker does (`python` is `docker.io/library/python:latest`).
fn parse(text: &str) -> Result<Reference, ParseError> {
    if text.is_empty() {
        return Err(ParseError::NameEmpty);
    }
    let parts = ImageReference::parse(text);
    let (registry, path) = match parts.repository.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            if !is_domain(first) {
                return Err(ParseError::ReferenceInvalidFormat);
            }
            (first, rest)
        }
        _ => ("docker.io", parts.repository),
    };
    if !path.split('/').all(is_valid_repository_component) {
        return Err(ParseError::ReferenceInvalidFormat);
    }
    let registry = if registry == "index.docker.io" {
        "docker.io"
    } else {
        registry
    };
    let repository = if registry == "docker.io" && !path.contains('/') {
        format!("library/{path}")
    } else {
        path.to_string()
    };
    if repository.len() > NAME_TOTAL_LENGTH_MAX {
        return Err(ParseError::NameTooLong);
    }
    if let Some(tag) = parts.tag {
        if !is_tag(tag) {
            return Err(ParseError::ReferenceInvalidFormat);
        }
    }
    if let Some(digest) = parts.digest {
        check_digest(digest)?;
    }
    let registry = registry.to_string();
    Ok(match (parts.tag, parts.digest) {
        (Some(tag), Some(digest)) => {
            Reference::with_tag_and_digest(registry, repository, tag.into(), digest.into())
        }
        (None, Some(digest)) => Reference::with_digest(registry, repository, digest.into()),
        (tag, None) => Reference::with_tag(registry, repository, tag.unwrap_or("latest").into()),
    })
}

/// `host[.host…][:port]`, each label `[a-zA-Z0-9]` with inner `-`.
fn is_domain(text: &str) -> bool {
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (text, None),
    };
    let label = |label: &str| {
        let bytes = label.as_bytes();
        !bytes.is_empty()
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric()
            && bytes
                .iter()
                .all(|byte| byte.is_ascii_alphanumeric() || *byte == b'-')
    };
    host.split('.').all(label)
        && port
            .is_none_or(|port| !port.is_empty() && port.bytes().all(|byte| byte.is_ascii_digit()))
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn is_tag(tag: &str) -> bool {
    let word = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'_';
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && word(bytes[0])
        && bytes
            .iter()
            .all(|byte| word(*byte) || *byte == b'.' || *byte == b'-')
}

/// `algorithm:hex`: the algorithm `[A-Za-z][A-Za-z0-9]*` joined by `-_+.`, at least 32 hex
/// digits, and for the algorithms registries know, exactly their length.
fn check_digest(digest: &str) -> Result<(), ParseError> {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return Err(ParseError::ReferenceInvalidFormat);
    };
    let algorithm_part = |part: &str| {
        let bytes = part.as_bytes();
        !bytes.is_empty()
            && bytes[0].is_ascii_alphabetic()
            && bytes.iter().all(u8::is_ascii_alphanumeric)
    };
    if !algorithm.split(['-', '_', '+', '.']).all(algorithm_part)
        || hex.len() < 32
        || !hex.bytes().all(|byte| byte.is_ascii_hexdigit())
    {
        return Err(ParseError::ReferenceInvalidFormat);
    }
    let expected = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err(ParseError::DigestUnsupported),
    };
    if hex.len() == expected {
        Ok(())
    } else {
        Err(ParseError::DigestInvalidLength)
    }
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
    fn the_distribution_grammar() {
        let digest = format!("sha256:{}", "a".repeat(64));
        for (text, whole) in [
            ("busybox", "docker.io/library/busybox:latest"),
            ("test.com:tag", "docker.io/library/test.com:tag"),
            ("test.com:5000/repo:tag", "test.com:5000/repo:tag"),
            ("localhost/a/b", "localhost/a/b:latest"),
            (
                "index.docker.io/jupyter/base-notebook:x",
                "docker.io/jupyter/base-notebook:x",
            ),
            (
                "a__b/c.d/e---f:V_1.0-rc",
                "docker.io/a__b/c.d/e---f:V_1.0-rc",
            ),
        ] {
            assert_eq!(parse_reference(text).unwrap().whole(), whole, "{text}");
        }
        let pinned = parse_reference(&format!("r.io/a:1@{digest}")).unwrap();
        assert_eq!(pinned.tag(), Some("1"));
        assert_eq!(pinned.digest(), Some(digest.as_str()));
        for (text, error) in [
            ("", ParseError::NameEmpty),
            ("a//b", ParseError::ReferenceInvalidFormat),
            ("a:-x", ParseError::ReferenceInvalidFormat),
            ("-a.io/b", ParseError::ReferenceInvalidFormat),
            ("a.io:x1/b", ParseError::ReferenceInvalidFormat),
            // A registry host has no `_` (found by the property test below against oci-client).
            ("a_0.a/a", ParseError::ReferenceInvalidFormat),
            ("a@sha256:abc", ParseError::ReferenceInvalidFormat),
            (
                "a@sha256:0123456789abcdef0123456789abcdef",
                ParseError::DigestInvalidLength,
            ),
            (
                "a@md5:0123456789abcdef0123456789abcdef",
                ParseError::DigestUnsupported,
            ),
        ] {
            assert_eq!(parse(text).unwrap_err(), error, "{text:?}");
        }
        assert_eq!(
            parse(&format!("a:{}", "t".repeat(129))).unwrap_err(),
            ParseError::ReferenceInvalidFormat
        );
        assert_eq!(
            parse(&format!("r.io/{}", "a".repeat(256))).unwrap_err(),
            ParseError::NameTooLong
        );
    }

    proptest::proptest! {
        /// Where `oci-client`'s regular expression accepts a reference whose path is
        /// lowercase, strata reads it the same way; where it refuses one, so does strata.
        #[test]
        fn agrees_with_oci_clients_parser(
            text in "[a-zA-Z0-9._:/@-]{0,12}(/[a-z0-9._-]{1,6}){0,2}(:[A-Za-z0-9_.-]{1,6})?(@sha256:[0-9a-f]{64})?"
        ) {
            let theirs: Result<Reference, _> = text.parse();
            let ours = parse(&text);
            match (&theirs, &ours) {
                (Ok(theirs), Ok(ours)) => proptest::prop_assert_eq!(theirs.whole(), ours.whole()),
                (Err(_), Err(_)) => {}
                // oci-client does not refuse capitals in a namespace (`Owner/name`), nor an
                // underscore in a registry host (`a_0.a/a`), both of which Docker's grammar
                // refuses; strata follows Docker.
                (Ok(theirs), Err(_)) => proptest::prop_assert!(
                    theirs.repository().bytes().any(|byte| byte.is_ascii_uppercase())
                        || theirs.registry().contains('_'),
                    "oci-client reads {text:?} as {}", theirs.whole()
                ),
                (Err(error), Ok(ours)) => proptest::prop_assert!(
                    false,
                    "oci-client refuses {text:?} ({error}), strata reads {}", ours.whole()
                ),
            }
        }
    }

    #[test]
    fn invalid_references_are_errors() {
        let error = parse_reference("UPPER/Case:1").unwrap_err();
        assert_eq!(
            error.to_string(),
            "`UPPER/Case:1` is not a valid image reference"
        );
        assert_eq!(
            strata_diagnostic::Diagnostic::exit_class(&error),
            Some(strata_diagnostic::ExitClass::Input)
        );
    }
}
