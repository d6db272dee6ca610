//! Environments as they are installed in an image (from their `conda-meta/*.json` records):
//! frozen into an explicit lock, compared with a lock, or held fixed under a child's solve.

use std::collections::{BTreeMap, BTreeSet};

use rattler_conda_types::{PackageRecord, RepoDataRecord};
use url::Url;

use crate::error::CondaError;
use crate::explicit::{CondaLock, LockHeader};

/// One package of an installed environment, as its `conda-meta` record gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstalledPackage {
    pub name: String,
    pub version: String,
    pub build: String,
    pub build_number: u64,
    pub subdir: Option<String>,
    /// Where it was downloaded from; `None` for a package installed from a local file.
    pub url: Option<String>,
    pub sha256: Option<String>,
    pub md5: Option<String>,
    pub depends: Vec<String>,
}

impl InstalledPackage {
    /// `name-version-build`.
    pub fn label(&self) -> String {
        format!("{}-{}-{}", self.name, self.version, self.build)
    }

    /// The record a solver takes for it.
    pub fn to_record(&self) -> Result<RepoDataRecord, CondaError> {
        let url = self.url.as_deref().ok_or_else(|| CondaError::Installed {
            package: self.label(),
            message: "its record has no URL (installed from a local file?)".to_string(),
        })?;
        let file_name = url.rsplit('/').next().unwrap_or_default();
        let channel = url.rsplitn(3, '/').nth(2).map(str::to_string);
        let value = serde_json::json!({
            "name": self.name,
            "version": self.version,
            "build": self.build,
            "build_number": self.build_number,
            "subdir": self.subdir.clone().unwrap_or_default(),
            "depends": self.depends,
            // A malformed digest is not the solver's business: the lock carries it as recorded.
            "sha256": self.sha256.as_deref().filter(|hash| is_hex(hash, 64)),
            "md5": self.md5.as_deref().filter(|hash| is_hex(hash, 32)),
            "fn": file_name,
            "url": url,
            "channel": channel,
        });
        serde_json::from_value(value).map_err(|error| CondaError::Installed {
            package: self.label(),
            message: error.to_string(),
        })
    }

    /// `url#sha256:<hex>` (`url#<md5>` when the record has only md5; the bare URL when it
    /// has neither).
    fn locked_url(&self) -> Result<Url, CondaError> {
        let text = self.url.as_deref().ok_or_else(|| CondaError::Installed {
            package: self.label(),
            message: "its record has no URL (installed from a local file?), so no lock can name it"
                .to_string(),
        })?;
        let mut url = Url::parse(text).map_err(|error| CondaError::Installed {
            package: self.label(),
            message: format!("`{text}` is not a URL: {error}"),
        })?;
        if let Some(sha256) = &self.sha256 {
            url.set_fragment(Some(&format!("sha256:{sha256}")));
        } else if let Some(md5) = &self.md5 {
            url.set_fragment(Some(md5));
        }
        Ok(url)
    }
}

fn is_hex(text: &str, length: usize) -> bool {
    text.len() == length && text.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// The packages a lock installs, as far as its URLs say (no dependencies): for a lock that
/// another is solved on top of.
pub fn locked_packages(lock: &CondaLock) -> Vec<InstalledPackage> {
    lock.packages
        .iter()
        .map(|url| {
            let label = CondaLock::package_label(url);
            let mut parts = label.rsplitn(3, '-');
            let build = parts.next().unwrap_or_default().to_string();
            let version = parts.next().unwrap_or_default().to_string();
            let name = parts.next().unwrap_or_default().to_string();
            let fragment = url.fragment().unwrap_or_default();
            let mut bare = url.clone();
            bare.set_fragment(None);
            let subdir = url
                .path_segments()
                .and_then(|segments| segments.rev().nth(1).map(str::to_string));
            InstalledPackage {
                name,
                version,
                build,
                subdir,
                url: Some(bare.to_string()),
                sha256: fragment.strip_prefix("sha256:").map(str::to_string),
                md5: (!fragment.is_empty() && !fragment.starts_with("sha256:"))
                    .then(|| fragment.to_string()),
                ..InstalledPackage::default()
            }
        })
        .collect()
}

/// The explicit lock of an installed environment, in install order (dependencies first).
/// Also returns a warning per package whose record carries no hash.
pub fn freeze(
    packages: &[InstalledPackage],
    header: LockHeader,
) -> Result<(CondaLock, Vec<String>), CondaError> {
    let mut records = packages
        .iter()
        .map(InstalledPackage::to_record)
        .collect::<Result<Vec<_>, _>>()?;
    records.sort_by(|a, b| a.package_record.name.cmp(&b.package_record.name));
    let order: Vec<String> = PackageRecord::sort_topologically(records)
        .into_iter()
        .map(|record| record.package_record.name.as_normalized().to_string())
        .collect();
    let by_name: BTreeMap<&str, &InstalledPackage> = packages
        .iter()
        .map(|package| (package.name.as_str(), package))
        .collect();
    let mut lock = CondaLock {
        header,
        packages: Vec::with_capacity(packages.len()),
    };
    let mut warnings = Vec::new();
    for name in order {
        let package = by_name[name.as_str()];
        if package.sha256.is_none() && package.md5.is_none() {
            warnings.push(format!(
                "`{}` has no sha256 or md5 in its record: the lock names it without a hash",
                package.label()
            ));
        }
        lock.packages.push(package.locked_url()?);
    }
    Ok((lock, warnings))
}

/// How an installed environment differs from a lock: `+ pkg` installed but not locked,
/// `- pkg` locked but not installed, `~ pkg` installed from another URL or with another hash.
pub fn compare(lock: &CondaLock, packages: &[InstalledPackage]) -> Vec<String> {
    let locked: BTreeMap<String, &Url> = lock
        .packages
        .iter()
        .map(|url| (CondaLock::package_label(url), url))
        .collect();
    let installed: BTreeMap<String, &InstalledPackage> = packages
        .iter()
        .map(|package| (package.label(), package))
        .collect();
    let mut changes = Vec::new();
    for (label, package) in &installed {
        match locked.get(label) {
            None => changes.push(format!("+ {label} is installed but not in the lock")),
            Some(url) => {
                let mut bare = (*url).clone();
                bare.set_fragment(None);
                let fragment = url.fragment().unwrap_or_default();
                let hash_differs = match (fragment.strip_prefix("sha256:"), &package.sha256) {
                    (Some(locked), Some(installed)) => !locked.eq_ignore_ascii_case(installed),
                    (None, _) if !fragment.is_empty() => package
                        .md5
                        .as_deref()
                        .is_some_and(|md5| !md5.eq_ignore_ascii_case(fragment)),
                    _ => false,
                };
                if package
                    .url
                    .as_deref()
                    .is_some_and(|from| from != bare.as_str())
                {
                    changes.push(format!(
                        "~ {label} was installed from {} (the lock has {bare})",
                        package.url.as_deref().unwrap_or_default()
                    ));
                } else if hash_differs {
                    changes.push(format!(
                        "~ {label}: the installed file's hash is not the lock's"
                    ));
                }
            }
        }
    }
    let names: BTreeSet<&String> = installed.keys().collect();
    for label in locked.keys() {
        if !names.contains(label) {
            changes.push(format!("- {label} is in the lock but not installed"));
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str, sha256: &str) -> InstalledPackage {
        InstalledPackage {
            name: name.to_string(),
            version: "1.0".to_string(),
            build: "h0_0".to_string(),
            url: Some(format!(
                "https://conda.example/linux-64/{name}-1.0-h0_0.conda"
            )),
            sha256: Some(sha256.to_string()),
            ..InstalledPackage::default()
        }
    }

    #[test]
    fn an_environment_is_compared_with_a_lock_by_package_url_and_hash() {
        // Digests as recorded, even malformed ones, are compared as they are.
        let installed = [package("a", "aa"), package("b", "bb"), package("c", "cc")];
        let (lock, warnings) = freeze(&installed, LockHeader::default()).unwrap();
        assert!(warnings.is_empty());
        assert!(compare(&lock, &installed).is_empty());
        // What a lock file gives back is what was installed.
        let mut from_lock = locked_packages(&lock);
        from_lock.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(from_lock, {
            let mut expected = installed.to_vec();
            for package in &mut expected {
                package.subdir = Some("linux-64".to_string());
            }
            expected
        });
        let changed = [package("a", "aa"), package("b", "xx"), package("d", "dd")];
        assert_eq!(
            compare(&lock, &changed),
            [
                "~ b-1.0-h0_0: the installed file's hash is not the lock's",
                "+ d-1.0-h0_0 is installed but not in the lock",
                "- c-1.0-h0_0 is in the lock but not installed",
            ]
        );
        let mut moved = package("a", "aa");
        moved.url = Some("https://mirror.example/linux-64/a-1.0-h0_0.conda".to_string());
        assert!(
            compare(&lock, &[moved, package("b", "bb"), package("c", "cc")])[0]
                .starts_with("~ a-1.0-h0_0 was installed from https://mirror.example")
        );
        let mut local = package("e", "ee");
        local.url = None;
        assert!(freeze(&[local], LockHeader::default()).is_err());
    }
}
