//! Content digests, as OCI names blobs, manifests and image ids: `<algorithm>:<encoded>`
//! (`sha256:` and 64 lowercase hex digits for what strata computes). One type for all of them,
//! so a digest is never a tag or a path by mistake, and one place that turns a hash into one.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

/// A content digest. It reads as its text (`&*digest`, `digest == "sha256:…"`) and is written
/// and read as a JSON string.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(String);

/// Text that is not `<algorithm>:<encoded>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{text}` is not a digest (`<algorithm>:<hex>`, such as `sha256:` and 64 hex digits): {reason}"
)]
pub struct InvalidDigest {
    pub text: String,
    pub reason: &'static str,
}

impl Digest {
    /// The SHA-256 digest of `bytes`.
    pub fn sha256(bytes: &[u8]) -> Self {
        Self::from_hasher(Sha256::new_with_prefix(bytes))
    }

    /// The digest of what `hasher` has seen.
    pub fn from_hasher(hasher: Sha256) -> Self {
        Self(format!("sha256:{:x}", hasher.finalize()))
    }

    /// `sha256:` and the hex digits of a SHA-256 hash given as text (a conda record's, a
    /// layer file's name). The hex digits are checked as [`Digest::parse`] checks them.
    pub fn from_sha256_hex(hex: &str) -> Result<Self, InvalidDigest> {
        Self::parse(&format!("sha256:{hex}"))
    }

    /// Read a digest: an algorithm (lowercase letters and digits, `+._-` between components)
    /// and its encoded value; a `sha256` value is 64 lowercase hex digits.
    pub fn parse(text: &str) -> Result<Self, InvalidDigest> {
        let invalid = |reason| InvalidDigest {
            text: text.to_string(),
            reason,
        };
        let (algorithm, encoded) = text.split_once(':').ok_or_else(|| invalid("no `:`"))?;
        let algorithm_ok = !algorithm.is_empty()
            && algorithm.split(['+', '.', '_', '-']).all(|part| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit())
            });
        if !algorithm_ok {
            return Err(invalid("the algorithm is not lowercase letters and digits"));
        }
        if encoded.is_empty()
            || !encoded
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"=_-".contains(&byte))
        {
            return Err(invalid("the value is empty or holds other characters than letters, digits, `=`, `_` and `-`"));
        }
        if algorithm == "sha256"
            && (encoded.len() != 64
                || !encoded
                    .bytes()
                    .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte)))
        {
            return Err(invalid("a sha256 value is 64 lowercase hex digits"));
        }
        Ok(Self(text.to_string()))
    }

    /// The algorithm (`sha256`).
    pub fn algorithm(&self) -> &str {
        self.0
            .split_once(':')
            .map_or("", |(algorithm, _)| algorithm)
    }

    /// The encoded value: the hex digits of a `sha256` digest.
    pub fn encoded(&self) -> &str {
        self.0.split_once(':').map_or("", |(_, encoded)| encoded)
    }
}

/// Hashes bytes written to it (a layer as it streams) into a [`Digest`].
#[derive(Debug, Clone, Default)]
pub struct DigestWriter {
    hasher: Sha256,
    written: u64,
}

impl DigestWriter {
    pub fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.written += bytes.len() as u64;
    }

    /// The digest and how many bytes were hashed.
    pub fn finish(self) -> (Digest, u64) {
        (Digest::from_hasher(self.hasher), self.written)
    }
}

impl std::io::Write for DigestWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Deref for Digest {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Digest {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl FromStr for Digest {
    type Err = InvalidDigest;

    fn from_str(text: &str) -> Result<Self, InvalidDigest> {
        Self::parse(text)
    }
}

impl From<Digest> for String {
    fn from(digest: Digest) -> Self {
        digest.0
    }
}

impl PartialEq<str> for Digest {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Digest {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for Digest {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl PartialEq<Digest> for String {
    fn eq(&self, other: &Digest) -> bool {
        *self == other.0
    }
}

impl PartialEq<Digest> for &str {
    fn eq(&self, other: &Digest) -> bool {
        *self == other.0
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computed_digests_are_sha256_of_the_bytes() {
        let digest = Digest::sha256(b"abc");
        assert_eq!(
            digest,
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(digest.algorithm(), "sha256");
        assert_eq!(digest.encoded().len(), 64);
        let mut writer = DigestWriter::default();
        writer.update(b"a");
        writer.update(b"bc");
        assert_eq!(writer.finish(), (digest, 3));
    }

    #[test]
    fn only_digests_parse() {
        let hex = "a".repeat(64);
        assert!(Digest::parse(&format!("sha256:{hex}")).is_ok());
        assert!(Digest::from_sha256_hex(&hex).is_ok());
        assert!(
            Digest::parse("sha512:abc").is_ok(),
            "other algorithms keep their own length"
        );
        for text in [
            "",
            "sha256",
            ":abc",
            "sha256:",
            "sha256:abc",
            &format!("sha256:{}", "A".repeat(64)),
            &format!("SHA256:{hex}"),
            "latest",
            "sha256:a/b",
        ] {
            let error = Digest::parse(text).unwrap_err();
            assert_eq!(error.text, text);
        }
    }

    #[test]
    fn a_digest_is_a_json_string_and_is_checked_when_read() {
        let digest = Digest::sha256(b"");
        let json = serde_json::to_string(&digest).unwrap();
        assert_eq!(json, format!("\"{digest}\""));
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), digest);
        let error = serde_json::from_str::<Digest>("\"sha256:12\"").unwrap_err();
        assert!(error.to_string().contains("64 lowercase hex digits"));
    }
}
