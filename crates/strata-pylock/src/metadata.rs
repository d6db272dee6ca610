//! Core metadata (`METADATA`, `PKG-INFO`): the name, version, `Requires-Python` and
//! `Requires-Dist` a resolver needs.

use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{ExtraName, Requirement, VerbatimUrl};

#[derive(Debug, Clone)]
pub struct CoreMetadata {
    pub name: String,
    pub version: Version,
    pub metadata_version: String,
    pub requires_python: Option<VersionSpecifiers>,
    pub requires_dist: Vec<Requirement<VerbatimUrl>>,
    pub provides_extra: Vec<ExtraName>,
    /// Fields declared dynamic (Metadata 2.2+): not final in an sdist's `PKG-INFO`.
    pub dynamic: Vec<String>,
}

/// The header fields of a core metadata file (`METADATA`, `PKG-INFO`: everything before the
/// first blank line), in order: names lower case, values trimmed, a value's continuation lines
/// joined to it by newlines. The one reader of these headers: the resolver's `CoreMetadata`
/// and strata-inspect's installed packages both read through it.
pub fn metadata_fields(text: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            break;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some((_, value)) = fields.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            fields.push((key.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    fields
}

impl CoreMetadata {
    /// Parse the header of a metadata file.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let text = String::from_utf8_lossy(bytes);
        let fields: Vec<(String, String)> = metadata_fields(&text)
            .into_iter()
            .map(|(key, value)| (key, value.replace('\n', " ")))
            .collect();
        let get = |key: &str| {
            fields
                .iter()
                .find(|(field, _)| field == key)
                .map(|(_, value)| value.clone())
        };
        let all = |key: &str| {
            fields
                .iter()
                .filter(|(field, _)| field == key)
                .map(|(_, value)| value.clone())
                .collect::<Vec<_>>()
        };
        let name = get("name").ok_or("no `Name`")?;
        let version = get("version").ok_or("no `Version`")?;
        let version = Version::from_str(&version)
            .map_err(|error| format!("invalid `Version` `{version}`: {error}"))?;
        let requires_python = match get("requires-python") {
            Some(value) if !value.is_empty() => Some(
                VersionSpecifiers::from_str(&value)
                    .map_err(|error| format!("invalid `Requires-Python` `{value}`: {error}"))?,
            ),
            _ => None,
        };
        let mut requires_dist = Vec::new();
        for value in all("requires-dist") {
            match crate::requirements::parse_pep508(&value) {
                Ok(requirement) => requires_dist.push(requirement),
                Err(error) => tracing::warn!(
                    "{name} {version}: ignoring invalid `Requires-Dist: {value}`: {error}"
                ),
            }
        }
        Ok(Self {
            name,
            version,
            metadata_version: get("metadata-version").unwrap_or_default(),
            requires_python,
            requires_dist,
            provides_extra: all("provides-extra")
                .iter()
                .filter_map(|extra| ExtraName::from_str(extra).ok())
                .collect(),
            dynamic: all("dynamic")
                .iter()
                .map(|field| field.to_ascii_lowercase())
                .collect(),
        })
    }

    /// Whether an sdist's `PKG-INFO` can be trusted for dependencies: Metadata 2.2+ without a
    /// dynamic `Requires-Dist`, or `Requires-Dist` lines present.
    pub fn dependencies_are_static(&self) -> bool {
        let version: Vec<u32> = self
            .metadata_version
            .split('.')
            .filter_map(|part| part.parse().ok())
            .collect();
        let at_least_2_2 = version.as_slice() >= [2, 2].as_slice();
        (at_least_2_2 && !self.dynamic.iter().any(|field| field == "requires-dist"))
            || !self.requires_dist.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_keep_continuations_and_stop_at_the_body() {
        let fields = super::metadata_fields(
            "Metadata-Version: 2.1\nName: numpy\nLicense: Copyright (c) NumPy\n        All rights reserved.\n\nName: not-this\n",
        );
        assert_eq!(
            fields,
            [
                ("metadata-version".to_string(), "2.1".to_string()),
                ("name".to_string(), "numpy".to_string()),
                (
                    "license".to_string(),
                    "Copyright (c) NumPy\nAll rights reserved.".to_string()
                ),
            ]
        );
    }

    #[test]
    fn parses_dependencies_and_extras() {
        let metadata = CoreMetadata::parse(
            b"Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nRequires-Python: >=3.7\nRequires-Dist: charset-normalizer (<4,>=2)\nRequires-Dist: PySocks (!=1.5.7,>=1.5.6) ; extra == 'socks'\nProvides-Extra: socks\n\nlong description\nRequires-Dist: not-this\n",
        )
        .unwrap();
        assert_eq!(metadata.requires_dist.len(), 2);
        assert_eq!(metadata.provides_extra.len(), 1);
        assert!(metadata.requires_python.is_some());
        assert!(metadata.dependencies_are_static());
        let dynamic = CoreMetadata::parse(
            b"Metadata-Version: 2.2\nName: x\nVersion: 1\nDynamic: Requires-Dist\n",
        )
        .unwrap();
        assert!(!dynamic.dependencies_are_static());
        let old = CoreMetadata::parse(b"Metadata-Version: 2.1\nName: x\nVersion: 1\n").unwrap();
        assert!(!old.dependencies_are_static());
    }
}
