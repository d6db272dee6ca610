//! The Dockerfile of a SciServer compat build: `FROM` the final science image, then the
//! Dockerfiles of the compat layer's includes (transitively, innermost first, each once) and of
//! the layer itself, then `ENV SCISERVER_IMAGE=<image>:<build version>`.

use strata_repo::Repository;

use crate::plan::{Build, BuildKind};

/// The generated Dockerfile of a compat build; `None` for other kinds of build.
pub fn compat_dockerfile(repository: &Repository, build: &Build) -> Option<String> {
    let unique_tag = build.tags.first()?;
    let build_tag = unique_tag.rsplit('/').next().unwrap_or(unique_tag);
    generate(repository, build, build_tag)
}

/// The compat Dockerfile as the inputs hash sees it: `SCISERVER_IMAGE` names the image and
/// version, not the commit, so a compat build whose layers did not change has the same inputs
/// at every commit.
pub fn compat_dockerfile_for_inputs(repository: &Repository, build: &Build) -> Option<String> {
    let version = build.version.as_deref().unwrap_or_default();
    generate(repository, build, &format!("{}:{version}", build.image))
}

fn generate(repository: &Repository, build: &Build, image_tag: &str) -> Option<String> {
    if build.kind != BuildKind::Compat {
        return None;
    }
    let mut dockerfile = format!("FROM {}\n", build.from);
    for name in &build.compat_layers {
        let layer = repository.compat_layer(name)?;
        dockerfile.push_str(&layer.dockerfile_text);
        dockerfile.push('\n');
    }
    dockerfile.push_str("ENV SCISERVER_IMAGE=");
    dockerfile.push_str(image_tag);
    dockerfile.push('\n');
    Some(dockerfile)
}
