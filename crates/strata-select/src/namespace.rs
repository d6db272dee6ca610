use strata_repo::{LayoutKind, Repository};

use crate::SelectError;

/// Where SciServer's image-builder pushes unless told otherwise; strata keeps the default so
/// tags match it.
pub const SCISERVER_DEFAULT_REPO: &str = "containers.repo.sciserver.org/compute-images";

/// The registry and namespace tags go under: `--repo`/`STRATA_REPO`, else `repo` in
/// `strata.toml`, else the layout's default (SciServer's registry; bare names for docker-stacks).
pub fn tag_namespace(repo: Option<&str>, repository: &Repository) -> String {
    repo.map(str::to_string)
        .or_else(|| repository.config.repo.clone())
        .unwrap_or_else(|| match repository.layout {
            LayoutKind::Sciserver => SCISERVER_DEFAULT_REPO.to_string(),
            LayoutKind::DockerStacks | LayoutKind::Generic => String::new(),
        })
}

/// A tag namespace must make valid references (`registry:5000/lowercase/path`): checked before
/// anything is planned, so a bad `--repo` is an input error, not a failed build.
pub(crate) fn check_tag_namespace(repo: &str) -> Result<(), SelectError> {
    if repo.is_empty() {
        return Ok(());
    }
    strata_registry::parse_reference(&format!("{repo}/image:tag")).map_err(|_| {
        SelectError::TagNamespace {
            repo: repo.to_string(),
        }
    })?;
    Ok(())
}

/// When `repo` is the layout's default (SciServer's own registry) rather than one the user
/// named: how to name theirs.
pub(crate) fn default_namespace_note(repo: &str) -> String {
    if repo == SCISERVER_DEFAULT_REPO {
        format!(" (`{repo}` is SciServer's registry, the default: name yours with `--repo REGISTRY/NAMESPACE`, `STRATA_REPO` or `repo` in `strata.toml`)")
    } else {
        String::new()
    }
}

/// `linux/amd64,linux/arm64` → its platforms, each checked, each once.
pub fn platform_list(text: &str) -> Result<Vec<String>, SelectError> {
    let mut platforms: Vec<String> = Vec::new();
    for platform in text
        .split(',')
        .map(str::trim)
        .filter(|platform| !platform.is_empty())
    {
        strata_repo::check_platform(platform).map_err(|reason| SelectError::Platform {
            platform: platform.to_string(),
            reason,
        })?;
        if !platforms.iter().any(|known| known == platform) {
            platforms.push(platform.to_string());
        }
    }
    Ok(platforms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_are_checked_and_kept_once_in_order() {
        assert_eq!(
            platform_list("linux/arm64, linux/amd64,linux/arm64,").expect("valid"),
            ["linux/arm64", "linux/amd64"]
        );
        let error = platform_list("linux/amd64,windows").expect_err("invalid");
        assert!(
            error.to_string().contains("`--platform windows`"),
            "{error}"
        );
    }

    #[test]
    fn a_namespace_must_make_references() {
        assert!(check_tag_namespace("").is_ok());
        assert!(check_tag_namespace("registry.example:5000/team").is_ok());
        assert!(matches!(
            check_tag_namespace("Registry/UPPER"),
            Err(SelectError::TagNamespace { .. })
        ));
    }
}
