//! The warm check: a lock whose inputs did not change needs no resolution. What can change a
//! lock is its requirement files (with their includes), its settings and target, and the
//! index's answers for the projects it pins. strata keeps, in its cache, a digest of all of
//! them for each lock file it wrote or verified (keyed by the lock file's contents, so the lock
//! itself stays byte for byte the same); a later run whose digest matches does one request per
//! pinned project and nothing else.

use std::collections::BTreeMap;
use std::fmt::Write;

use sha2::{Digest, Sha256};

use crate::client::IndexClient;
use crate::error::LockError;
use crate::lockfile::LockFile;
use crate::requirements::RequirementsFile;

/// Everything besides the index that decides a lock.
pub(crate) struct LockInputs<'a> {
    pub requirements: &'a RequirementsFile,
    pub python: String,
    pub platform: String,
    pub indexes: &'a [String],
    pub exclude_newer: Option<&'a str>,
    pub no_binary: Vec<&'a str>,
    pub base: &'a BTreeMap<String, String>,
}

impl LockInputs<'_> {
    fn fingerprint(&self) -> String {
        let mut text = String::from("strata-lock-inputs-v1\n");
        let _ = writeln!(text, "python {}\nplatform {}", self.python, self.platform);
        for requirement in &self.requirements.requirements {
            let _ = writeln!(
                text,
                "requirement {} {}",
                requirement.requirement, requirement.origin
            );
        }
        for constraint in &self.requirements.constraints {
            let _ = writeln!(
                text,
                "constraint {} {}",
                constraint.requirement, constraint.origin
            );
        }
        let _ = writeln!(text, "pre {}", self.requirements.pre);
        for index in self.indexes {
            let _ = writeln!(text, "index {index}");
        }
        let _ = writeln!(text, "exclude-newer {}", self.exclude_newer.unwrap_or(""));
        for name in &self.no_binary {
            let _ = writeln!(text, "no-binary {name}");
        }
        for (name, version) in self.base {
            let _ = writeln!(text, "base {name}=={version}");
        }
        text
    }

    /// The digest of these inputs and of the index's current pages for every pin of `lock`.
    pub async fn digest(&self, lock: &LockFile, client: &IndexClient) -> Result<String, LockError> {
        let lookups = lock.pins.iter().map(|pin| async move {
            if let Some(url) = &pin.url {
                return Ok::<_, LockError>(format!(
                    "{} url {url} {}",
                    pin.name,
                    pin.hashes.join(",")
                ));
            }
            for index in self.indexes {
                if let Some(digest) = client.page_digest(index, &pin.name).await? {
                    return Ok(format!("{} page {index} {digest}", pin.name));
                }
            }
            Ok(format!("{} missing", pin.name))
        });
        let pages = futures_util::future::try_join_all(lookups).await?;
        let mut hasher = Sha256::new();
        hasher.update(self.fingerprint().as_bytes());
        for page in pages {
            hasher.update(page.as_bytes());
            hasher.update(b"\n");
        }
        Ok(format!("sha256:{:x}", hasher.finalize()))
    }
}

/// Where the digest a lock file was last verified with is kept: keyed by its contents.
fn record_key(lock_text: &str) -> String {
    format!("{:x}", Sha256::digest(lock_text.as_bytes()))
}

/// The digest recorded for a lock file's contents, if any.
pub(crate) fn recorded(client: &IndexClient, lock_text: &str) -> Option<String> {
    let path = client.cache_file(&["locks-v1", &record_key(lock_text)])?;
    fs_err::read_to_string(path)
        .ok()
        .map(|text| text.trim().to_string())
}

/// Remember that the lock with these contents matches inputs with this digest.
pub(crate) fn record(client: &IndexClient, lock_text: &str, digest: &str) {
    if let Some(path) = client.cache_file(&["locks-v1", &record_key(lock_text)]) {
        crate::client::write_cache(&path, digest.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requirements(text: &str) -> RequirementsFile {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("requirements.txt");
        fs_err::write(&path, text).unwrap();
        RequirementsFile::read(&path).unwrap()
    }

    #[test]
    fn every_input_changes_the_fingerprint() {
        let file = requirements("requests\n");
        let indexes = vec!["https://pypi.org/simple".to_string()];
        let base = BTreeMap::new();
        let inputs = || LockInputs {
            requirements: &file,
            python: "3.11".to_string(),
            platform: "manylinux_2_28_x86_64".to_string(),
            indexes: &indexes,
            exclude_newer: None,
            no_binary: Vec::new(),
            base: &base,
        };
        let first = inputs().fingerprint();
        assert_eq!(first, inputs().fingerprint());
        let other_requirements = requirements("requests<3\n");
        let mut changed = inputs();
        changed.requirements = &other_requirements;
        assert_ne!(first, changed.fingerprint());
        let mut changed = inputs();
        changed.python = "3.12".to_string();
        assert_ne!(first, changed.fingerprint());
        let mut changed = inputs();
        changed.exclude_newer = Some("2024-01-01T00:00:00Z");
        assert_ne!(first, changed.fingerprint());
        let mut changed = inputs();
        changed.no_binary = vec!["requests"];
        assert_ne!(first, changed.fingerprint());
        let with_base = BTreeMap::from([("pip".to_string(), "24.0".to_string())]);
        let mut changed = inputs();
        changed.base = &with_base;
        assert_ne!(first, changed.fingerprint());
    }
}
