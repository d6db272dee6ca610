//! What `strata lint` lints: the repositories, files and directories given, each Dockerfile
//! seen as its repository sees it.

use std::path::{Path, PathBuf};

use strata_repo::{Config, RepoError};

use crate::{repository_targets, ImageContext, LintError, Target};

/// What to lint: the repository's Dockerfiles, each file given, or a directory's `Dockerfile`;
/// and the settings that apply (the first repository's, else `./strata.toml`).
pub fn collect_targets(
    paths: &[PathBuf],
    warnings: &mut Vec<String>,
) -> Result<(Vec<Target>, Config), LintError> {
    let mut targets = Vec::new();
    let mut config: Option<Config> = None;
    for path in paths {
        // A path that is not there is named as such, not as a missing repository.
        std::fs::metadata(path).map_err(|source| LintError::Missing {
            path: path.clone(),
            source,
        })?;
        if path.is_file() {
            // A Dockerfile of a repository is linted as the repository sees it: its parents'
            // settings, its siblings as images of the repository, the repository's settings.
            if let Some((mut target, repository_config)) = as_part_of_repository(path) {
                target.display.clone_from(path);
                targets.push(target);
                if config.is_none() {
                    config = Some(repository_config);
                }
                continue;
            }
            targets.push(Target {
                path: path.clone(),
                display: path.clone(),
                context: ImageContext {
                    context_directory: path.parent().map(Path::to_path_buf),
                    ..ImageContext::default()
                },
                ignore: Vec::new(),
            });
            continue;
        }
        match strata_repo::open(path) {
            Ok(repository) => {
                warnings.extend(repository.warnings.iter().cloned());
                let mut found = repository_targets(&repository);
                // Findings name files as the user would type them from here.
                for target in &mut found {
                    target.display = path.join(&target.display);
                    if let Ok(relative) = target.display.strip_prefix(".") {
                        target.display = relative.to_path_buf();
                    }
                }
                targets.extend(found);
                if config.is_none() {
                    config = Some(repository.config);
                }
            }
            Err(RepoError::NotFound { .. }) if path.join("Dockerfile").is_file() => {
                let file = path.join("Dockerfile");
                targets.push(Target {
                    display: file
                        .strip_prefix(".")
                        .map_or(file.clone(), Path::to_path_buf),
                    path: file,
                    context: ImageContext {
                        context_directory: Some(path.clone()),
                        ..ImageContext::default()
                    },
                    ignore: Vec::new(),
                });
            }
            Err(error) => {
                return Err(LintError::Repository {
                    root: path.clone(),
                    source: Box::new(error),
                })
            }
        }
    }
    let config = match config {
        Some(config) => config,
        None => Config::load(Path::new(".")).map_err(|source| LintError::Config {
            source: Box::new(source),
        })?,
    };
    Ok((targets, config))
}

/// The file's target in the image repository that holds it, if one does: the nearest directory
/// above it (within its git work tree) with a `strata.toml`, SciServer's `science/` and
/// `compat/`, or docker-stacks' `images/`, whose images include the file.
fn as_part_of_repository(file: &Path) -> Option<(Target, Config)> {
    let file = file.canonicalize().ok()?;
    for directory in file.ancestors().skip(1) {
        let is_repository = directory.join(strata_repo::CONFIG_FILE).is_file()
            || directory.join("science").is_dir() && directory.join("compat").is_dir()
            || directory.join(strata_repo::DEFAULT_IMAGES_DIR).is_dir();
        if is_repository {
            let repository = strata_repo::open(directory).ok()?;
            let config = repository.config.clone();
            let target = repository_targets(&repository)
                .into_iter()
                .find(|target| target.path.canonicalize().ok().as_deref() == Some(&file))?;
            return Some((target, config));
        }
        if directory.join(".git").exists() {
            return None;
        }
    }
    None
}
