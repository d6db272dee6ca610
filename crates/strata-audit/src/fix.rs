//! What would fix a finding: the image it is built on (a family image, where the finding is
//! reported, or an external base whose tag may have moved to a fixed image), a re-lock of the
//! image's lock file, or an upgrade of the package in the layer that installs it.

use std::cmp::Ordering;

use serde::Serialize;
use strata_inspect::ImageFacts;

use crate::audit::{candidates, Finding};
use crate::version::Scheme;

/// What would fix a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Fix {
    /// The package came with the family image this one is built on: fixed there, where the
    /// finding is reported.
    Parent { image: String },
    /// The package came with the external image this one is built on: rebuild on a newer one.
    Base {
        base: String,
        /// The image the base's tag names now, when it moved since this image was built.
        #[serde(skip_serializing_if = "Option::is_none")]
        newer: Option<NewerBase>,
    },
    /// Re-lock the image's lock file with the fixed version as a floor.
    Relock { lock: String, requirement: String },
    /// Upgrade the package where the image installs it.
    Upgrade {
        #[serde(skip_serializing_if = "Option::is_none")]
        layer: Option<usize>,
        command: String,
    },
}

/// The image an external base's tag names now, and whether it fixes the finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewerBase {
    pub digest: String,
    /// The version it holds (`None`: it holds no such package).
    pub version: Option<String>,
    pub fixes: bool,
}

/// The image an audited image is built on: how many of its layers are that image's.
#[derive(Debug, Clone, Copy)]
pub struct BaseLayers<'a> {
    pub reference: &'a str,
    pub layers: usize,
    /// A family image (audited too), not an external base.
    pub in_family: bool,
    /// For an external base whose tag moved since the build: the image it names now.
    pub newer: Option<&'a ImageFacts>,
}

/// What the audit knows of an image beyond its packages.
#[derive(Debug, Clone, Copy, Default)]
pub struct Provenance<'a> {
    pub base: Option<BaseLayers<'a>>,
    /// The lock files of the image's directory: the path to show and its text.
    pub locks: &'a [(String, String)],
}

/// How many of `image`'s bottom layers are `base`'s (the image is built on it when all of
/// `base`'s are).
pub fn shared_layers(image: &ImageFacts, base: &ImageFacts) -> usize {
    image
        .image
        .layers
        .iter()
        .zip(&base.image.layers)
        .take_while(|(ours, theirs)| ours.diff_id == theirs.diff_id)
        .count()
}

/// What would fix `finding` (`None` when no version fixes it yet).
pub fn suggest_fix(finding: &Finding, provenance: &Provenance<'_>) -> Option<Fix> {
    let fixed = finding.fixed.as_deref()?;
    let layer = finding.layer.as_ref().map(|layer| layer.index);
    if let (Some(index), Some(base)) = (layer, provenance.base) {
        if index <= base.layers {
            if base.in_family {
                return Some(Fix::Parent {
                    image: base.reference.to_string(),
                });
            }
            return Some(Fix::Base {
                base: base.reference.to_string(),
                newer: base.newer.map(|newer| newer_base(finding, fixed, newer)),
            });
        }
    }
    let requirement = format!("{}>={fixed}", finding.package);
    // A conda package is locked by conda's own lock, not a pip-compile one.
    if finding.ecosystem == "PyPI" && !finding.approximate {
        if let Some((lock, _)) = provenance
            .locks
            .iter()
            .find(|(_, text)| pins(text, &finding.package))
        {
            return Some(Fix::Relock {
                lock: lock.clone(),
                requirement,
            });
        }
    }
    let command = match Scheme::of(&finding.ecosystem) {
        Scheme::Dpkg => {
            let packages = if finding.installed.is_empty() {
                finding.package.clone()
            } else {
                finding.installed.join(" ")
            };
            format!("apt-get update && apt-get install --only-upgrade -y {packages}")
        }
        Scheme::Pep440 if finding.approximate => format!("conda install '{requirement}'"),
        Scheme::Pep440 => format!("pip install '{requirement}'"),
        Scheme::Generic if finding.ecosystem == "CRAN" => format!(
            "Rscript -e 'install.packages(\"{}\")' (CRAN has {fixed} or later)",
            finding.package
        ),
        Scheme::Generic => format!("upgrade {} to {fixed} or later", finding.package),
    };
    Some(Fix::Upgrade { layer, command })
}

fn newer_base(finding: &Finding, fixed: &str, newer: &ImageFacts) -> NewerBase {
    let scheme = Scheme::of(&finding.ecosystem);
    let version = candidates(newer)
        .into_iter()
        .find(|candidate| {
            candidate.ecosystem == finding.ecosystem
                && candidate.package == finding.package
                && candidate.location == finding.location
        })
        .map(|candidate| candidate.version);
    let resolves = version.as_deref().is_none_or(|version| {
        scheme
            .compare(version, fixed)
            .is_some_and(|order| order != Ordering::Less)
    });
    NewerBase {
        digest: newer
            .image
            .digests
            .first()
            .cloned()
            .unwrap_or_else(|| newer.image.id.clone()),
        version,
        fixes: resolves,
    }
}

/// Whether a lock file's `text` pins the Python distribution `name`: a `name==version` line
/// (pip-compile's format) or a `name = "…"` entry (pylock.toml), names compared as PEP 503
/// normalises them.
fn pins(text: &str, name: &str) -> bool {
    let wanted = strata_inspect::normalize_python_name(name);
    text.lines().any(|line| {
        let line = line.trim();
        let pinned = if let Some((left, _)) = line.split_once("==") {
            left.split('[').next().unwrap_or(left).trim()
        } else if let Some(rest) = line.strip_prefix("name") {
            rest.trim_start()
                .strip_prefix('=')
                .map_or("", |value| value.trim().trim_matches('"'))
        } else {
            return false;
        };
        !pinned.is_empty() && strata_inspect::normalize_python_name(pinned) == wanted
    })
}

impl Fix {
    /// The suggestion as a sentence.
    pub fn describe(&self, finding: &Finding) -> String {
        let fixed = finding.fixed.as_deref().unwrap_or_default();
        match self {
            Self::Parent { image } => format!("fix it in `{image}`, where it is reported"),
            Self::Base { base, newer: None } => format!(
                "rebuild on a newer `{base}` once it has {fixed} (`strata outdated` says when its tag moves)"
            ),
            Self::Base {
                base,
                newer: Some(newer),
            } if newer.fixes => format!(
                "rebuild on `{base}`: its tag moved to {}, which {}",
                short(&newer.digest),
                newer.version.as_deref().map_or_else(
                    || "no longer has the package".to_string(),
                    |version| format!("has {version}")
                )
            ),
            Self::Base {
                base,
                newer: Some(newer),
            } => format!(
                "`{base}`'s tag moved to {}, which still has {}: upgrade it in this image",
                short(&newer.digest),
                newer.version.as_deref().unwrap_or(&finding.version)
            ),
            Self::Relock { lock, requirement } => {
                format!("re-lock `{lock}` with `{requirement}`")
            }
            Self::Upgrade {
                layer: Some(layer),
                command,
            } => format!("upgrade it in the step of layer {layer}: `{command}`"),
            Self::Upgrade {
                layer: None,
                command,
            } => format!("upgrade it: `{command}`"),
        }
    }
}

fn short(digest: &str) -> &str {
    let hex = digest.rsplit(':').next().unwrap_or(digest);
    hex.get(..12).unwrap_or(hex)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osv::Severity;

    fn finding(ecosystem: &str, package: &str, layer: Option<usize>) -> Finding {
        Finding {
            id: "CVE-1".to_string(),
            aliases: vec!["CVE-1".to_string()],
            ecosystem: ecosystem.to_string(),
            package: package.to_string(),
            installed: if ecosystem.starts_with("Debian") {
                vec![format!("lib{package}1"), format!("{package}-bin")]
            } else {
                Vec::new()
            },
            version: "1.0".to_string(),
            location: String::new(),
            fixed: Some("1.1".to_string()),
            severity: Severity::High,
            summary: None,
            approximate: false,
            layer: layer.map(|index| crate::LayerOrigin {
                index,
                diff_id: format!("sha256:{index}"),
                step: None,
            }),
            introduced_by: None,
            fix: None,
        }
    }

    #[test]
    fn a_package_of_the_base_is_fixed_by_the_base_and_the_images_own_by_an_upgrade() {
        let base = BaseLayers {
            reference: "debian:bookworm",
            layers: 2,
            in_family: false,
            newer: None,
        };
        let provenance = Provenance {
            base: Some(base),
            locks: &[],
        };
        let from_base = finding("Debian:12", "zlib", Some(2));
        assert_eq!(
            suggest_fix(&from_base, &provenance),
            Some(Fix::Base {
                base: "debian:bookworm".to_string(),
                newer: None
            })
        );
        let own = finding("Debian:12", "zlib", Some(3));
        let Some(Fix::Upgrade { layer, command }) = suggest_fix(&own, &provenance) else {
            panic!("an upgrade")
        };
        assert_eq!(layer, Some(3));
        assert!(command.ends_with("install --only-upgrade -y libzlib1 zlib-bin"));
        let family = Provenance {
            base: Some(BaseLayers {
                in_family: true,
                ..base
            }),
            locks: &[],
        };
        assert_eq!(
            suggest_fix(&from_base, &family),
            Some(Fix::Parent {
                image: "debian:bookworm".to_string()
            })
        );
        let mut unfixed = own.clone();
        unfixed.fixed = None;
        assert_eq!(suggest_fix(&unfixed, &provenance), None);
    }

    fn debian_image(digest: &str, zlib: &str) -> ImageFacts {
        let mut facts = strata_inspect::compute(
            strata_inspect::ImageMetadata {
                digests: vec![digest.to_string()],
                ..strata_inspect::ImageMetadata::default()
            },
            &[],
        );
        facts.os_release = Some(strata_inspect::OsRelease {
            id: "debian".to_string(),
            version_id: Some("12".to_string()),
            name: None,
            pretty_name: None,
            version_codename: None,
        });
        facts.deb_packages = vec![strata_inspect::DebPackage {
            name: "zlib1g".to_string(),
            version: zlib.to_string(),
            architecture: Some("amd64".to_string()),
            source: Some("zlib".to_string()),
            licenses: Vec::new(),
        }];
        facts
    }

    #[test]
    fn a_moved_base_fixes_a_finding_when_its_new_image_has_the_fixed_version() {
        let mut zlib = finding("Debian:12", "zlib", Some(1));
        zlib.version = "1:1.2.13.dfsg-1".to_string();
        zlib.fixed = Some("1:1.2.13.dfsg-1+deb12u1".to_string());
        for (now, fixes) in [
            ("1:1.2.13.dfsg-1+deb12u1", true),
            ("1:1.2.13.dfsg-1", false),
        ] {
            let newer = debian_image("sha256:0123456789abcdef", now);
            let provenance = Provenance {
                base: Some(BaseLayers {
                    reference: "debian:bookworm",
                    layers: 1,
                    in_family: false,
                    newer: Some(&newer),
                }),
                locks: &[],
            };
            let fix = suggest_fix(&zlib, &provenance).expect("a fix");
            assert_eq!(
                fix,
                Fix::Base {
                    base: "debian:bookworm".to_string(),
                    newer: Some(NewerBase {
                        digest: "sha256:0123456789abcdef".to_string(),
                        version: Some(now.to_string()),
                        fixes,
                    })
                }
            );
            let text = fix.describe(&zlib);
            assert!(text.contains("0123456789ab"), "{text}");
            assert_eq!(text.contains("still has"), !fixes, "{text}");
        }
    }

    #[test]
    fn a_locked_python_package_is_fixed_by_a_relock() {
        let locks = [
            (
                "other.lock".to_string(),
                "numpy==1.26.4 \\\n    --hash=sha256:00\n".to_string(),
            ),
            (
                "requirements.lock".to_string(),
                "Jinja2==3.1.2 \\\n    --hash=sha256:00\n".to_string(),
            ),
        ];
        let provenance = Provenance {
            base: None,
            locks: &locks,
        };
        assert_eq!(
            suggest_fix(&finding("PyPI", "jinja2", Some(4)), &provenance),
            Some(Fix::Relock {
                lock: "requirements.lock".to_string(),
                requirement: "jinja2>=1.1".to_string()
            })
        );
        assert!(pins("[[packages]]\nname = \"jinja2\"\n", "Jinja2"));
        assert!(!pins("jinja2-time==0.2\n", "jinja2"));
        let Some(Fix::Upgrade { command, .. }) =
            suggest_fix(&finding("PyPI", "requests", None), &provenance)
        else {
            panic!("an upgrade")
        };
        assert_eq!(command, "pip install 'requests>=1.1'");
    }
}
