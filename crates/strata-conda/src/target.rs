//! The platform an environment is solved for, and the virtual packages (`__glibc`, `__linux`,
//! `__unix`, `__archspec`, `__cuda`) that stand for what the image provides.

use std::str::FromStr;

use rattler_conda_types::package::BuildString;
use rattler_conda_types::{GenericVirtualPackage, PackageName, Subdir, Version};

use crate::error::CondaError;

/// The C library assumed when neither a flag nor an image says (`manylinux_2_28`'s, as for
/// Python locks).
pub const DEFAULT_GLIBC: &str = "2.28";

/// What an environment is solved for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CondaTarget {
    pub platform: Subdir,
    /// `__glibc`'s version (Linux platforms).
    pub glibc: Option<String>,
    /// `__cuda`'s version, when asked for.
    pub cuda: Option<String>,
}

impl CondaTarget {
    pub fn new(
        platform: &str,
        glibc: Option<&str>,
        cuda: Option<&str>,
    ) -> Result<Self, CondaError> {
        let platform = Subdir::from_str(platform).map_err(|_| CondaError::Platform {
            platform: platform.to_string(),
        })?;
        if platform == Subdir::NoArch {
            return Err(CondaError::Platform {
                platform: platform.to_string(),
            });
        }
        let glibc = platform
            .is_linux()
            .then(|| glibc.unwrap_or(DEFAULT_GLIBC).to_string());
        let target = Self {
            platform,
            glibc,
            cuda: cuda.map(str::to_string),
        };
        target.virtual_packages()?;
        Ok(target)
    }

    /// The virtual packages the solve may use.
    pub fn virtual_packages(&self) -> Result<Vec<GenericVirtualPackage>, CondaError> {
        let package = |name: &str, version: &str| -> Result<GenericVirtualPackage, CondaError> {
            Ok(GenericVirtualPackage {
                name: PackageName::new_unchecked(name),
                version: Version::from_str(version).map_err(|_| CondaError::VirtualPackage {
                    name: name.to_string(),
                    value: version.to_string(),
                })?,
                build_string: BuildString::new_unchecked("0"),
            })
        };
        let mut packages = Vec::new();
        if self.platform.is_unix() {
            packages.push(package("__unix", "0")?);
        }
        if self.platform.is_linux() {
            // A kernel new enough for anything the channel builds; images run on the host's.
            packages.push(package("__linux", "5.10")?);
            if let Some(glibc) = &self.glibc {
                packages.push(package("__glibc", glibc)?);
            }
        }
        if self.platform.is_osx() {
            packages.push(package("__osx", "11.0")?);
        }
        if let Some(arch) = self.platform.arch() {
            let mut archspec = package("__archspec", "1")?;
            archspec.build_string = BuildString::new_unchecked(arch.to_string());
            packages.push(archspec);
        }
        if let Some(cuda) = &self.cuda {
            packages.push(package("__cuda", cuda)?);
        }
        Ok(packages)
    }

    /// `linux-64 (__glibc 2.28)`: how messages name the target.
    pub fn describe(&self) -> String {
        let mut text = self.platform.to_string();
        let mut extras = Vec::new();
        if let Some(glibc) = &self.glibc {
            extras.push(format!("__glibc {glibc}"));
        }
        if let Some(cuda) = &self.cuda {
            extras.push(format!("__cuda {cuda}"));
        }
        if !extras.is_empty() {
            text = format!("{text} ({})", extras.join(", "));
        }
        text
    }
}

impl std::fmt::Display for CondaTarget {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.describe())
    }
}
