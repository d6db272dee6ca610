//! Where locks live and what they are locked for.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::images::ImageTarget;
use crate::LockingError;

/// The platform a requirements lock is made for when neither a flag, an image nor an existing
/// lock says.
pub const DEFAULT_PLATFORM: &str = "manylinux_2_28_x86_64";

/// `requirements.txt` → `requirements.lock`.
pub fn default_output(requirements: &Path) -> PathBuf {
    requirements.with_extension("lock")
}

/// `environment.lock` → `environment.pip.lock`: the lock of an environment's `pip:` section.
pub fn pip_lock_path(lock: &Path) -> PathBuf {
    lock.with_extension("pip.lock")
}

/// A conda environment file (`environment.yml`), not a requirements file.
pub fn is_environment_file(path: &Path) -> bool {
    path.extension()
        .is_some_and(|extension| extension == "yml" || extension == "yaml")
}

/// Outside a repository (no `strata.toml`), the input of the one lock a directory holds:
/// `requirements.txt` beside `requirements.lock` (the phys-398 layout), else `environment.yml`
/// beside `environment.lock`.
pub fn lone_lock(directory: &Path) -> Option<PathBuf> {
    if directory.join(strata_repo::CONFIG_FILE).exists() {
        return None;
    }
    [
        ("requirements.txt", "requirements.lock"),
        ("environment.yml", "environment.lock"),
    ]
    .iter()
    .find(|(input, lock)| directory.join(input).is_file() && directory.join(lock).is_file())
    .map(|(input, _)| {
        if directory == Path::new(".") {
            PathBuf::from(input)
        } else {
            directory.join(input)
        }
    })
}

/// A requirements lock's target: the flags, then the image's, then the existing lock's header
/// (at `output`), then the default platform. A Python nobody names is an error naming the lock
/// when there is one.
pub fn requirements_target(
    python_flag: Option<&str>,
    platform_flag: Option<&str>,
    output: &Path,
    image: Option<&ImageTarget>,
) -> Result<strata_pylock::Target, LockingError> {
    let existing = strata_pylock::read_lock_if_present(output)?;
    let python = python_flag
        .map(str::to_string)
        .or_else(|| image.map(|image| image.python.clone()))
        .or_else(|| {
            existing
                .as_ref()
                .map(|lock| lock.header.python.clone())
                .filter(|python| !python.is_empty())
        })
        .ok_or_else(|| match &existing {
            Some(_) => strata_pylock::LockError::NoTarget {
                path: output.to_path_buf(),
            },
            None => strata_pylock::LockError::UnknownPython,
        })?;
    let platform = platform_flag
        .map(str::to_string)
        .or_else(|| image.map(|image| image.platform.clone()))
        .or_else(|| {
            existing
                .as_ref()
                .map(|lock| lock.header.platform.clone())
                .filter(|platform| !platform.is_empty())
        })
        .unwrap_or_else(|| DEFAULT_PLATFORM.to_string());
    Ok(strata_pylock::Target::new(&python, &platform)?)
}

/// The wheel platform (`manylinux_2_28_x86_64`) of a conda target, for its `pip:` section.
pub fn wheel_platform(target: &strata_conda::CondaTarget) -> Result<String, LockingError> {
    let architecture = match target.platform.to_string().as_str() {
        "linux-64" => "x86_64",
        "linux-aarch64" => "aarch64",
        other => {
            return Err(LockingError::PipPlatform {
                platform: other.to_string(),
            })
        }
    };
    let glibc = target
        .glibc
        .as_deref()
        .unwrap_or(strata_conda::DEFAULT_GLIBC);
    let minor = glibc.split('.').nth(1).unwrap_or("28");
    Ok(format!("manylinux_2_{minor}_{architecture}"))
}

/// An environment's `pip:` section as a requirements file's text; `-r`/`-c` paths made
/// absolute (they are relative to the environment file).
pub fn pip_requirements(environment: &Path, entries: &[String]) -> String {
    let directory = environment.parent().unwrap_or(Path::new(""));
    let directory = std::path::absolute(directory).unwrap_or_else(|_| directory.to_path_buf());
    let mut text = String::new();
    for entry in entries {
        let entry = entry.trim();
        let flagged = ["-r ", "-c ", "--requirement ", "--constraint "]
            .iter()
            .find_map(|flag| Some((flag, entry.strip_prefix(flag)?)));
        match flagged {
            Some((flag, path)) => {
                let _ = writeln!(text, "{flag}{}", directory.join(path.trim()).display());
            }
            None => {
                let _ = writeln!(text, "{entry}");
            }
        }
    }
    text
}

/// `path` relative to `directory` (both under the repository), `/`-separated.
pub fn relative_path(path: &Path, directory: &Path) -> String {
    let path: Vec<_> = path.components().collect();
    let directory: Vec<_> = directory.components().collect();
    let common = path
        .iter()
        .zip(&directory)
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<String> = vec!["..".to_string(); directory.len() - common];
    parts.extend(
        path[common..]
            .iter()
            .map(|component| component.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_follow_the_lock() {
        assert_eq!(
            default_output(Path::new("a/requirements.txt")),
            Path::new("a/requirements.lock")
        );
        assert_eq!(
            pip_lock_path(Path::new("a/environment.lock")),
            Path::new("a/environment.pip.lock")
        );
        assert!(is_environment_file(Path::new("environment.yaml")));
        assert!(!is_environment_file(Path::new("requirements.txt")));
    }

    #[test]
    fn a_conda_target_gives_its_wheel_platform() {
        let target =
            strata_conda::CondaTarget::new("linux-aarch64", Some("2.31"), None).expect("a target");
        assert_eq!(
            wheel_platform(&target).expect("supported"),
            "manylinux_2_31_aarch64"
        );
        let target = strata_conda::CondaTarget::new("osx-arm64", None, None).expect("a target");
        assert!(matches!(
            wheel_platform(&target),
            Err(LockingError::PipPlatform { ref platform }) if platform == "osx-arm64"
        ));
    }

    #[test]
    fn relative_paths_climb_out_of_the_directory() {
        assert_eq!(
            relative_path(
                Path::new("/r/science/base/environment.lock"),
                Path::new("/r/science/child")
            ),
            "../base/environment.lock"
        );
    }

    #[test]
    fn pip_includes_are_made_absolute() {
        let text = pip_requirements(
            Path::new("/env/environment.yml"),
            &["numpy==2.0".to_string(), "-r extra.txt".to_string()],
        );
        assert_eq!(text, "numpy==2.0\n-r /env/extra.txt\n");
    }
}
