//! Distribution file names: wheels (`name-version(-build)?-python-abi-platform.whl`, with
//! compressed tag sets) and source distributions (`name-version.tar.gz` / `.zip`).

use pep440_rs::Version;
use pep508_rs::PackageName;

/// What a file name says about a distribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DistributionFile {
    Wheel(WheelName),
    Sdist { name: PackageName, version: Version },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelName {
    pub name: PackageName,
    pub version: Version,
    pub python: Vec<String>,
    pub abi: Vec<String>,
    pub platform: Vec<String>,
}

/// Parse a distribution file name; `None` for anything else (eggs, `.exe`, ...).
pub fn parse_filename(filename: &str) -> Option<DistributionFile> {
    if let Some(stem) = filename.strip_suffix(".whl") {
        let parts: Vec<&str> = stem.split('-').collect();
        let (name, version, tags) = match parts.len() {
            5 => (parts[0], parts[1], &parts[2..]),
            6 => (parts[0], parts[1], &parts[3..]),
            _ => return None,
        };
        let split = |text: &str| text.split('.').map(str::to_string).collect::<Vec<_>>();
        return Some(DistributionFile::Wheel(WheelName {
            name: PackageName::new(name.to_string()).ok()?,
            version: version.parse().ok()?,
            python: split(tags[0]),
            abi: split(tags[1]),
            platform: split(tags[2]),
        }));
    }
    let stem = [".tar.gz", ".zip", ".tar.bz2", ".tgz"]
        .iter()
        .find_map(|extension| filename.strip_suffix(extension))?;
    // The version is what follows the last `-` that starts a valid version.
    let (name, version) = stem.rsplit_once('-')?;
    Some(DistributionFile::Sdist {
        name: PackageName::new(name.to_string()).ok()?,
        version: version.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheel_and_sdist_names() {
        let Some(DistributionFile::Wheel(wheel)) = parse_filename(
            "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        ) else {
            panic!("a wheel")
        };
        assert_eq!(wheel.name.as_ref(), "numpy");
        assert_eq!(
            wheel.platform,
            ["manylinux_2_17_x86_64", "manylinux2014_x86_64"]
        );
        let Some(DistributionFile::Wheel(built)) =
            parse_filename("pkg-1.0-1build-py2.py3-none-any.whl")
        else {
            panic!()
        };
        assert_eq!(built.python, ["py2", "py3"]);
        assert_eq!(
            parse_filename("Jupyter_Server-2.0.0.tar.gz"),
            Some(DistributionFile::Sdist {
                name: PackageName::new("jupyter-server".to_string()).unwrap(),
                version: "2.0.0".parse().unwrap()
            })
        );
        assert_eq!(parse_filename("thing-1.0.exe"), None);
    }
}
