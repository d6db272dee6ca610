//! Splitting image references (`registry:5000/owner/name:tag@sha256:...`) as written, into
//! repository, tag and digest, keeping their spelling: the one splitter every crate uses (the
//! registry client normalizes references with `oci-client`'s parser when it talks to a
//! registry).

/// The parts of an image reference that matter for matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageReference<'a> {
    /// Everything before the tag and digest: `registry:5000/owner/name`.
    pub repository: &'a str,
    pub tag: Option<&'a str>,
    pub digest: Option<&'a str>,
}

impl<'a> ImageReference<'a> {
    pub fn parse(reference: &'a str) -> Self {
        let (name_and_tag, digest) = match reference.split_once('@') {
            Some((name, digest)) => (name, Some(digest)),
            None => (reference, None),
        };
        // A `:` after the last `/` is a tag; before it, a registry port.
        let last_slash = name_and_tag.rfind('/').map_or(0, |index| index + 1);
        let (repository, tag) = match name_and_tag[last_slash..].rfind(':') {
            Some(colon) => (
                &name_and_tag[..last_slash + colon],
                Some(&name_and_tag[last_slash + colon + 1..]),
            ),
            None => (name_and_tag, None),
        };
        Self {
            repository,
            tag,
            digest,
        }
    }

    /// The last path component of the repository: `name` in `quay.io/owner/name:tag`.
    pub fn name(&self) -> &'a str {
        self.repository
            .rsplit('/')
            .next()
            .unwrap_or(self.repository)
    }

    /// Whether the reference has a namespace (`owner/name`), as opposed to a bare official image.
    pub fn has_namespace(&self) -> bool {
        self.repository.contains('/')
    }

    /// The registry host the reference names: its first path component when that looks like a
    /// host (has a `.` or `:`, or is `localhost`), else Docker Hub (`docker.io`).
    pub fn registry(&self) -> &'a str {
        match self.repository.split_once('/') {
            Some((first, _))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                first
            }
            _ => "docker.io",
        }
    }
}

/// The last `/`-separated component of a reference, tag included: what SciServer's image-builder
/// compares with `<target>:<version>`.
pub fn last_component(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

/// Whether `name` is a valid path component of an image repository name
/// (`[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*`).
pub fn is_valid_repository_component(name: &str) -> bool {
    let bytes = name.as_bytes();
    let alphanumeric = |byte: u8| byte.is_ascii_lowercase() || byte.is_ascii_digit();
    if bytes.is_empty() || !alphanumeric(bytes[0]) || !alphanumeric(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if alphanumeric(byte) {
            index += 1;
            continue;
        }
        let separator_start = index;
        while index < bytes.len() && !alphanumeric(bytes[index]) {
            index += 1;
        }
        let separator = &name[separator_start..index];
        let valid = separator == "."
            || separator == "_"
            || separator == "__"
            || separator.bytes().all(|b| b == b'-');
        if !valid {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_registry_port_tag_and_digest() {
        let reference = ImageReference::parse("localhost:5000/owner/name:1.0@sha256:abc");
        assert_eq!(reference.repository, "localhost:5000/owner/name");
        assert_eq!(reference.tag, Some("1.0"));
        assert_eq!(reference.digest, Some("sha256:abc"));
        assert_eq!(reference.name(), "name");
        let bare = ImageReference::parse("localhost:5000/name");
        assert_eq!(bare.repository, "localhost:5000/name");
        assert_eq!(bare.tag, None);
        assert!(!ImageReference::parse("python:3.11").has_namespace());
    }

    #[test]
    fn repository_components() {
        for valid in ["a", "base-notebook", "a__b", "a.b", "a---b", "x9"] {
            assert!(is_valid_repository_component(valid), "{valid}");
        }
        for invalid in ["", "-a", "a-", "A", "a..b", "a___b", "a b", "a_"] {
            assert!(!is_valid_repository_component(invalid), "{invalid}");
        }
    }
}
