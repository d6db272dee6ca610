//! What a lock is resolved for: a CPython version and a platform (`manylinux_2_28_x86_64`,
//! `musllinux_1_2_aarch64`), from which come the wheel tags it accepts, in order of preference,
//! and the PEP 508 marker environment.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};

use pep440_rs::Version;
use pep508_rs::{MarkerEnvironment, MarkerEnvironmentBuilder};

use crate::error::LockError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    X86_64,
    Aarch64,
}

impl Architecture {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Aarch64 => "aarch64",
        }
    }

    /// From an OCI architecture (`amd64`, `arm64`) or a machine name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "x86_64" | "amd64" => Some(Self::X86_64),
            "aarch64" | "arm64" => Some(Self::Aarch64),
            _ => None,
        }
    }
}

/// The C library family and its version, which bound the binary wheels a system can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Libc {
    /// glibc `2.minor`: `manylinux_2_<minor>`.
    Glibc { minor: u16 },
    /// musl `1.minor`: `musllinux_1_<minor>`.
    Musl { minor: u16 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Platform {
    pub libc: Libc,
    pub architecture: Architecture,
}

impl FromStr for Platform {
    type Err = LockError;

    /// `manylinux_2_28_x86_64`, `musllinux_1_2_aarch64`, `manylinux2014_x86_64`, or uv's
    /// `x86_64-manylinux_2_28`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || LockError::InvalidPlatform {
            platform: text.to_string(),
        };
        let (architecture, rest) = if let Some((architecture, rest)) = text.split_once('-') {
            (
                Architecture::from_name(architecture).ok_or_else(invalid)?,
                rest.to_string(),
            )
        } else {
            let architecture = [Architecture::X86_64, Architecture::Aarch64]
                .into_iter()
                .find(|architecture| text.ends_with(&format!("_{}", architecture.as_str())))
                .ok_or_else(invalid)?;
            (
                architecture,
                text[..text.len() - architecture.as_str().len() - 1].to_string(),
            )
        };
        let number = |value: &str| value.parse::<u16>().map_err(|_| invalid());
        let libc = match rest.as_str() {
            "manylinux2014" => Libc::Glibc { minor: 17 },
            "manylinux2010" => Libc::Glibc { minor: 12 },
            "manylinux1" => Libc::Glibc { minor: 5 },
            other => {
                if let Some(version) = other.strip_prefix("manylinux_2_") {
                    Libc::Glibc {
                        minor: number(version)?,
                    }
                } else if let Some(version) = other.strip_prefix("musllinux_1_") {
                    Libc::Musl {
                        minor: number(version)?,
                    }
                } else {
                    return Err(invalid());
                }
            }
        };
        Ok(Self { libc, architecture })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.libc {
            Libc::Glibc { minor } => write!(
                formatter,
                "manylinux_2_{minor}_{}",
                self.architecture.as_str()
            ),
            Libc::Musl { minor } => write!(
                formatter,
                "musllinux_1_{minor}_{}",
                self.architecture.as_str()
            ),
        }
    }
}

impl Platform {
    /// Platform tags this platform runs, most specific first.
    pub fn tags(&self) -> Vec<String> {
        let architecture = self.architecture.as_str();
        let mut tags = Vec::new();
        match self.libc {
            Libc::Glibc { minor } => {
                for version in (5..=minor).rev() {
                    tags.push(format!("manylinux_2_{version}_{architecture}"));
                    let legacy = match version {
                        17 => Some("manylinux2014"),
                        12 if self.architecture == Architecture::X86_64 => Some("manylinux2010"),
                        5 if self.architecture == Architecture::X86_64 => Some("manylinux1"),
                        _ => None,
                    };
                    if let Some(legacy) = legacy {
                        tags.push(format!("{legacy}_{architecture}"));
                    }
                }
            }
            Libc::Musl { minor } => {
                for version in (0..=minor).rev() {
                    tags.push(format!("musllinux_1_{version}_{architecture}"));
                }
            }
        }
        tags
    }
}

/// The platform tag a built image's wheels must fit: glibc from its `libc6` package version
/// (`2.36-9+deb12u4` → `manylinux_2_36`), musl for Alpine, and its architecture (Go's names, as
/// image configs give them: `amd64`, `arm64`). Without `libc6` and not Alpine: `manylinux_2_28`.
pub fn image_platform(
    architecture: Option<&str>,
    libc6_version: Option<&str>,
    os_id: Option<&str>,
) -> String {
    let architecture = architecture
        .and_then(Architecture::from_name)
        .unwrap_or(Architecture::X86_64);
    let glibc_minor = libc6_version.and_then(|version| {
        let mut parts = version.split(['.', '-', ':']);
        // An epoch (`1:2.36-9`) is skipped: the first part that is `2` starts the version.
        let _major = parts.find(|part| *part == "2")?;
        parts.next()?.parse::<u32>().ok()
    });
    match (glibc_minor, os_id) {
        (Some(minor), _) => format!("manylinux_2_{minor}_{}", architecture.as_str()),
        (None, Some("alpine")) => format!("musllinux_1_2_{}", architecture.as_str()),
        _ => format!("manylinux_2_28_{}", architecture.as_str()),
    }
}

/// The accepted tags by `python-abi-platform`, each with its rank (lower is preferred).
#[derive(Debug, Default)]
pub struct SupportedTags {
    ranks: HashMap<String, usize>,
}

impl SupportedTags {
    fn new(list: &[(String, String, String)]) -> Self {
        let mut ranks = HashMap::with_capacity(list.len());
        for (rank, (python, abi, platform)) in list.iter().enumerate() {
            ranks
                .entry(format!("{python}-{abi}-{platform}"))
                .or_insert(rank);
        }
        Self { ranks }
    }

    /// The best (lowest) rank of any tag a wheel carries; `None` when it fits no tag.
    pub fn priority(&self, wheel: &crate::wheel::WheelName) -> Option<usize> {
        let mut best: Option<usize> = None;
        let mut key = String::new();
        for python in &wheel.python {
            for abi in &wheel.abi {
                for platform in &wheel.platform {
                    key.clear();
                    key.push_str(python);
                    key.push('-');
                    key.push_str(abi);
                    key.push('-');
                    key.push_str(platform);
                    if let Some(rank) = self.ranks.get(&key) {
                        best = Some(best.map_or(*rank, |current| current.min(*rank)));
                    }
                }
            }
        }
        best
    }
}

/// The interpreter and platform a lock is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `3.11` or `3.11.7`; a minor version alone stands for its `.0` release in markers, as uv
    /// assumes.
    pub python: Version,
    pub platform: Platform,
}

impl Target {
    pub fn new(python: &str, platform: &str) -> Result<Self, LockError> {
        let python: Version = python.parse().map_err(|_| LockError::InvalidPython {
            python: python.to_string(),
        })?;
        if python.release().len() < 2 || python.release()[0] != 3 {
            return Err(LockError::InvalidPython {
                python: python.to_string(),
            });
        }
        Ok(Self {
            python,
            platform: platform.parse()?,
        })
    }

    pub fn minor(&self) -> u64 {
        self.python.release()[1]
    }

    /// `3.11`.
    pub fn python_minor_version(&self) -> String {
        format!("3.{}", self.minor())
    }

    /// `3.11.7`, or `3.11.0` when only the minor version is known.
    pub fn python_full_version(&self) -> String {
        let release = self.python.release();
        format!("3.{}.{}", release[1], release.get(2).copied().unwrap_or(0))
    }

    pub fn python_full(&self) -> Version {
        self.python_full_version()
            .parse()
            .unwrap_or_else(|_| self.python.clone())
    }

    /// The PEP 508 marker environment of the target.
    pub fn marker_environment(&self) -> MarkerEnvironment {
        let full = self.python_full_version();
        let minor = self.python_minor_version();
        let builder = MarkerEnvironmentBuilder {
            implementation_name: "cpython",
            implementation_version: &full,
            os_name: "posix",
            platform_machine: self.platform.architecture.as_str(),
            platform_python_implementation: "CPython",
            platform_release: "",
            platform_system: "Linux",
            platform_version: "",
            python_full_version: &full,
            python_version: &minor,
            sys_platform: "linux",
        };
        MarkerEnvironment::try_from(builder)
            .unwrap_or_else(|_| unreachable!("the versions above are valid PEP 440"))
    }

    /// The tags the target accepts, ready for ranking wheels; computed once per target and
    /// process (every project page would otherwise build the list again).
    pub fn supported_tags(&self) -> Arc<SupportedTags> {
        static CACHE: OnceLock<Mutex<HashMap<String, Arc<SupportedTags>>>> = OnceLock::new();
        let key = format!("{} {}", self.python, self.platform);
        let mut cache = CACHE
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(
            cache
                .entry(key)
                .or_insert_with(|| Arc::new(SupportedTags::new(&self.supported_tag_list()))),
        )
    }

    /// Every `python-abi-platform` tag the target accepts, most preferred first (as
    /// `packaging.tags` orders them for CPython).
    pub fn supported_tag_list(&self) -> Vec<(String, String, String)> {
        let minor = self.minor();
        let cp = format!("cp3{minor}");
        let platforms = self.platform.tags();
        let mut tags = Vec::new();
        for platform in &platforms {
            tags.push((cp.clone(), cp.clone(), platform.clone()));
            tags.push((cp.clone(), "abi3".to_string(), platform.clone()));
            tags.push((cp.clone(), "none".to_string(), platform.clone()));
        }
        for older in (2..minor).rev() {
            for platform in &platforms {
                tags.push((format!("cp3{older}"), "abi3".to_string(), platform.clone()));
            }
        }
        let generic_interpreters: Vec<String> = std::iter::once(format!("py3{minor}"))
            .chain(std::iter::once("py3".to_string()))
            .chain((0..minor).rev().map(|older| format!("py3{older}")))
            .collect();
        for platform in &platforms {
            for interpreter in &generic_interpreters {
                tags.push((interpreter.clone(), "none".to_string(), platform.clone()));
            }
        }
        tags.push((cp, "none".to_string(), "any".to_string()));
        for interpreter in generic_interpreters {
            tags.push((interpreter, "none".to_string(), "any".to_string()));
        }
        tags
    }
}

impl fmt::Display for Target {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Python {} on {}", self.python, self.platform)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_platforms_from_libc_and_architecture() {
        assert_eq!(
            image_platform(Some("amd64"), Some("2.36-9+deb12u4"), Some("debian")),
            "manylinux_2_36_x86_64"
        );
        assert_eq!(
            image_platform(Some("arm64"), Some("2.35-0ubuntu3.8"), Some("ubuntu")),
            "manylinux_2_35_aarch64"
        );
        assert_eq!(
            image_platform(Some("amd64"), Some("1:2.17-326"), None),
            "manylinux_2_17_x86_64"
        );
        assert_eq!(
            image_platform(Some("arm64"), None, Some("alpine")),
            "musllinux_1_2_aarch64"
        );
        assert_eq!(image_platform(None, None, None), "manylinux_2_28_x86_64");
    }

    #[test]
    fn platforms_parse_and_expand() {
        let platform: Platform = "manylinux_2_28_x86_64".parse().unwrap();
        assert_eq!(platform.to_string(), "manylinux_2_28_x86_64");
        assert_eq!(
            "x86_64-manylinux_2_28".parse::<Platform>().unwrap(),
            platform
        );
        let tags = platform.tags();
        assert_eq!(tags[0], "manylinux_2_28_x86_64");
        assert!(tags.contains(&"manylinux2014_x86_64".to_string()));
        assert!(tags.contains(&"manylinux1_x86_64".to_string()));
        assert_eq!(
            "manylinux2014_aarch64".parse::<Platform>().unwrap().libc,
            Libc::Glibc { minor: 17 }
        );
        let musl: Platform = "musllinux_1_2_aarch64".parse().unwrap();
        assert_eq!(
            musl.tags(),
            [
                "musllinux_1_2_aarch64",
                "musllinux_1_1_aarch64",
                "musllinux_1_0_aarch64"
            ]
        );
        assert!("windows_amd64".parse::<Platform>().is_err());
    }

    #[test]
    fn tag_preference_order() {
        let target = Target::new("3.11", "manylinux_2_17_x86_64").unwrap();
        let tags = target.supported_tag_list();
        let position = |python: &str, abi: &str, platform: &str| {
            tags.iter()
                .position(|tag| tag == &(python.to_string(), abi.to_string(), platform.to_string()))
                .unwrap()
        };
        assert_eq!(position("cp311", "cp311", "manylinux_2_17_x86_64"), 0);
        assert!(
            position("cp311", "abi3", "manylinux_2_17_x86_64")
                < position("cp39", "abi3", "manylinux_2_17_x86_64")
        );
        assert!(position("cp39", "abi3", "manylinux2014_x86_64") < position("py3", "none", "any"));
        assert!(position("cp311", "none", "any") < position("py3", "none", "any"));
        assert!(!tags.iter().any(|tag| tag.0 == "cp312"));
        assert_eq!(target.python_full_version(), "3.11.0");
    }
}
