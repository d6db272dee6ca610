//! Finding a generic tree's images: the directories holding a Dockerfile, walked once, with
//! `[generic] ignore` patterns and nested repositories left out.

use std::path::Path;

use super::{Found, DEFAULT_DOCKERFILE};
use crate::config::Config;
use crate::error::RepoError;

/// The directories (relative to the root, `""` for the root) holding an image file, outside
/// `skip`; and the directories that are image repositories of their own.
pub(crate) fn image_directories(
    root: &Path,
    config: &Config,
    skip: &[String],
) -> Result<(Vec<String>, Vec<String>), RepoError> {
    let patterns = config
        .generic
        .dockerfiles
        .clone()
        .unwrap_or_else(|| vec![DEFAULT_DOCKERFILE.to_string()]);
    check_patterns(&patterns)?;
    let mut found = Found::default();
    walk(root, "", &patterns, skip, &mut found)?;
    let mut directories: Vec<String> = found
        .images
        .into_iter()
        .map(|(directory, _)| directory)
        .collect();
    directories.dedup();
    Ok((directories, found.nested))
}
/// Directories holding an image file, and nested repositories, below `directory`.
pub(super) fn walk(
    root: &Path,
    directory: &str,
    patterns: &[String],
    skipped: &[String],
    found: &mut Found,
) -> Result<(), RepoError> {
    let path = match (root.as_os_str().is_empty(), directory.is_empty()) {
        (true, true) => Path::new(".").to_path_buf(),
        (false, true) => root.to_path_buf(),
        (_, false) => root.join(directory),
    };
    let read_error = |source| RepoError::ReadDir {
        path: path.clone(),
        source,
    };
    let entries = fs_err::read_dir(&path).map_err(read_error)?;
    let mut files = Vec::new();
    let mut directories = Vec::new();
    let mut has_settings = false;
    for entry in entries {
        let entry = entry.map_err(read_error)?;
        let Ok(name) = entry.file_name().into_string() else {
            found
                .not_utf8
                .push(crate::directories::not_utf8(&entry.path()));
            continue;
        };
        // Symbolic links are not followed: a tree is what git holds, and links may loop.
        let file_type = entry.file_type().map_err(read_error)?;
        if file_type.is_dir() {
            if !name.starts_with('.') {
                directories.push(name);
            }
        } else if file_type.is_file() && patterns.iter().any(|pattern| glob(pattern, &name)) {
            files.push(name);
        } else if file_type.is_file() && name == crate::config::CONFIG_FILE {
            has_settings = true;
        }
    }
    let is_nested_repository = !directory.is_empty()
        && (has_settings
            || directories.iter().any(|name| name == "compat")
                && directories.iter().any(|name| name == "science")
                && crate::directories::has_definition_directory(
                    &path.join("science"),
                    crate::sciserver::DEFINITION_FILE,
                )?);
    if is_nested_repository {
        found.nested.push(directory.to_string());
        return Ok(());
    }
    files.sort_unstable();
    directories.sort_unstable();
    for file in files {
        found.images.push((directory.to_string(), file));
    }
    for name in directories {
        let child = if directory.is_empty() {
            name
        } else {
            format!("{directory}/{name}")
        };
        if skipped.contains(&child) {
            continue;
        }
        walk(root, &child, patterns, skipped, found)?;
    }
    Ok(())
}
/// Whether `name` matches `pattern` (`*`, `?` and `[…]` as shells read them; the patterns
/// are checked before the walk).
pub(super) fn glob(pattern: &str, name: &str) -> bool {
    glob::Pattern::new(pattern).is_ok_and(|pattern| pattern.matches(name))
}

/// `[generic] dockerfiles` checked: each a pattern the `glob` crate reads.
fn check_patterns(patterns: &[String]) -> Result<(), RepoError> {
    for pattern in patterns {
        glob::Pattern::new(pattern).map_err(|error| RepoError::DockerfilePattern {
            pattern: pattern.clone(),
            reason: error.msg.to_string(),
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{check_patterns, glob};

    #[test]
    fn globs() {
        assert!(glob("Dockerfile", "Dockerfile"));
        assert!(!glob("Dockerfile", "Dockerfile.gpu"));
        assert!(glob("Dockerfile.*", "Dockerfile.gpu"));
        assert!(!glob("Dockerfile.*", "Dockerfile"));
        assert!(glob("*.Dockerfile", "cuda.Dockerfile"));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b*c", "aXXcYYb"));
    }

    #[test]
    fn a_pattern_the_glob_crate_refuses_is_named() {
        let error = check_patterns(&["Dockerfile.[".to_string()]).expect_err("refused");
        assert!(error.to_string().contains("`Dockerfile.[`"), "{error}");
    }
}
