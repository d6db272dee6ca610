//! CycloneDX 1.5 JSON SBOMs, with package URLs: `pkg:deb/<distro>/<name>@<version>?arch=...`,
//! `pkg:pypi/<name>@<version>`, `pkg:conda/<name>@<version>?build=...&channel=...`,
//! `pkg:cran/<name>@<version>`. Deterministic for the same facts: the serial number derives
//! from the image.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::facts::ImageFacts;

/// Percent-encode everything but unreserved characters, as package URLs require.
fn encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}

/// `?key=value&...` of the qualifiers that are present, or nothing.
fn qualifiers(pairs: &[(&str, Option<&String>)]) -> String {
    let present: Vec<String> = pairs
        .iter()
        .filter_map(|(key, value)| value.map(|value| format!("{key}={}", encode(value))))
        .collect();
    if present.is_empty() {
        String::new()
    } else {
        format!("?{}", present.join("&"))
    }
}

/// PEP 503 normalized name: the one strata uses everywhere (strata-pylock's).
pub use strata_pylock::normalize_name as normalize_python_name;

fn component(
    kind: &str,
    name: &str,
    version: &str,
    purl: &str,
    licenses: &[&str],
    properties: &[(&str, &str)],
) -> Value {
    let mut value = json!({
        "type": kind,
        "bom-ref": purl,
        "name": name,
        "version": version,
        "purl": purl,
    });
    if !licenses.is_empty() {
        value["licenses"] = licenses
            .iter()
            .map(|license| json!({ "license": { "name": license } }))
            .collect();
    }
    if !properties.is_empty() {
        value["properties"] = properties
            .iter()
            .map(|(name, value)| json!({"name": name, "value": value}))
            .collect();
    }
    value
}

/// The CycloneDX 1.5 document of an image.
pub fn cyclonedx(facts: &ImageFacts) -> Value {
    let distro = facts.os_release.as_ref().map(|os| match &os.version_id {
        Some(version) => format!("{}-{version}", os.id),
        None => os.id.clone(),
    });
    let namespace = facts
        .os_release
        .as_ref()
        .map_or("debian", |os| os.id.as_str());
    let mut components: BTreeMap<String, Value> = BTreeMap::new();
    for package in &facts.deb_packages {
        let query = qualifiers(&[
            ("arch", package.architecture.as_ref()),
            ("distro", distro.as_ref()),
        ]);
        let purl = format!(
            "pkg:deb/{}/{}@{}{query}",
            encode(namespace),
            encode(&package.name),
            encode(&package.version)
        );
        components.insert(
            purl.clone(),
            component(
                "library",
                &package.name,
                &package.version,
                &purl,
                &package
                    .licenses
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
                &[],
            ),
        );
    }
    for environment in &facts.python.environments {
        for package in &environment.packages {
            let purl = format!(
                "pkg:pypi/{}@{}",
                encode(&normalize_python_name(&package.name)),
                encode(&package.version)
            );
            components.entry(purl.clone()).or_insert_with(|| {
                component(
                    "library",
                    &package.name,
                    &package.version,
                    &purl,
                    package.license.as_deref().as_slice(),
                    &[("strata:python-environment", &environment.path)],
                )
            });
        }
    }
    for environment in &facts.conda {
        for package in &environment.packages {
            let query = qualifiers(&[
                ("build", package.build.as_ref()),
                ("channel", package.channel.as_ref()),
            ]);
            let purl = format!(
                "pkg:conda/{}@{}{query}",
                encode(&package.name),
                encode(&package.version)
            );
            components.entry(purl.clone()).or_insert_with(|| {
                component(
                    "library",
                    &package.name,
                    &package.version,
                    &purl,
                    package.license.as_deref().as_slice(),
                    &[],
                )
            });
        }
    }
    for library in &facts.r {
        for package in &library.packages {
            let purl = format!(
                "pkg:cran/{}@{}",
                encode(&package.name),
                encode(&package.version)
            );
            components.entry(purl.clone()).or_insert_with(|| {
                component(
                    "library",
                    &package.name,
                    &package.version,
                    &purl,
                    package.license.as_deref().as_slice(),
                    &[],
                )
            });
        }
    }
    // The operating system itself, as CycloneDX's `operating-system` component.
    if let Some(os) = &facts.os_release {
        let version = os.version_id.clone().unwrap_or_default();
        let bom_ref = format!("os:{}@{version}", os.id);
        let mut system = json!({
            "type": "operating-system",
            "bom-ref": bom_ref,
            "name": os.id,
            "version": version,
        });
        if let Some(description) = os.pretty_name.as_ref().or(os.name.as_ref()) {
            system["description"] = json!(description);
        }
        components.insert(bom_ref, system);
    }
    let identity = facts
        .image
        .digests
        .first()
        .cloned()
        .unwrap_or_else(|| facts.image.id.clone());
    let hash = Sha256::digest(format!("{}\n{identity}", facts.image.reference).as_bytes());
    let hex = format!("{hash:x}");
    let serial = format!(
        "urn:uuid:{}-{}-5{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    );
    let mut image = json!({
        "type": "container",
        "bom-ref": facts.image.reference,
        "name": facts.image.reference,
    });
    if !identity.is_empty() {
        image["version"] = json!(identity);
    }
    let mut metadata = json!({
        "tools": { "components": [{ "type": "application", "name": "strata", "version": env!("CARGO_PKG_VERSION") }] },
        "component": image,
    });
    if let Some(created) = &facts.image.created {
        metadata["timestamp"] = json!(created);
    }
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": serial,
        "version": 1,
        "metadata": metadata,
        "components": components.into_values().collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_encoding() {
        assert_eq!(
            normalize_python_name("Jupyter_Server.Terminals"),
            "jupyter-server-terminals"
        );
        assert_eq!(encode("1:2.0+dfsg-1"), "1%3A2.0%2Bdfsg-1");
    }

    #[test]
    fn the_os_and_licences_are_components_and_fields() {
        let mut facts = crate::facts::compute(crate::facts::ImageMetadata::default(), &[]);
        facts.os_release = Some(crate::facts::OsRelease {
            id: "debian".to_string(),
            version_id: Some("12".to_string()),
            name: None,
            pretty_name: Some("Debian GNU/Linux 12 (bookworm)".to_string()),
            version_codename: None,
        });
        facts.deb_packages = vec![crate::records::DebPackage {
            name: "bash".to_string(),
            version: "5.2.15-2+b7".to_string(),
            architecture: Some("amd64".to_string()),
            source: None,
            licenses: vec!["GPL-3+".to_string(), "BSD-4-clause-UC".to_string()],
        }];
        let sbom = cyclonedx(&facts);
        let components = sbom["components"].as_array().unwrap();
        let system = components
            .iter()
            .find(|component| component["type"] == "operating-system")
            .unwrap();
        assert_eq!(system["name"], "debian");
        assert_eq!(system["version"], "12");
        let bash = components
            .iter()
            .find(|component| component["name"] == "bash")
            .unwrap();
        assert_eq!(
            bash["licenses"],
            json!([{"license": {"name": "GPL-3+"}}, {"license": {"name": "BSD-4-clause-UC"}}])
        );
    }
}
