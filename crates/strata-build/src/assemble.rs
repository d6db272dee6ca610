//! The context of each build of a plan, and `--emit-context`: writing the generated compat
//! contexts to a directory for review (or for `docker buildx bake`).

use std::path::{Path, PathBuf};

use strata_plan::{
    bake_target_name, compat_dockerfile, compat_dockerfile_for_inputs, Build, BuildKind, Plan,
};
use strata_repo::Repository;

use crate::context::BuildContext;
use crate::error::BuildError;

/// The build context of one build of a plan.
pub fn build_context(repository: &Repository, build: &Build) -> Result<BuildContext, BuildError> {
    context_with(repository, build, compat_dockerfile)
}

/// The context as the inputs hash sees it: a compat build's generated Dockerfile names its
/// image and version rather than the commit (see [`compat_dockerfile_for_inputs`]).
pub fn inputs_context(repository: &Repository, build: &Build) -> Result<BuildContext, BuildError> {
    context_with(repository, build, compat_dockerfile_for_inputs)
}

fn context_with(
    repository: &Repository,
    build: &Build,
    generate: fn(&Repository, &Build) -> Option<String>,
) -> Result<BuildContext, BuildError> {
    let root = &repository.root;
    if build.kind == BuildKind::Compat {
        let directories: Vec<PathBuf> = repository
            .compat_chain(build.compat_layers.last().map_or("", String::as_str))
            .iter()
            .map(|compat| root.join(&compat.directory))
            .collect();
        let dockerfile = generate(repository, build).unwrap_or_default();
        return BuildContext::assembled(&directories, &dockerfile);
    }
    let dockerfile = build
        .dockerfile
        .strip_prefix(&format!("{}/", build.context))
        .ok_or_else(|| BuildError::DockerfileOutsideContext {
            dockerfile: build.dockerfile.clone(),
            context: build.context.clone(),
        })?;
    BuildContext::from_directory(&root.join(&build.context), dockerfile)
}

/// Write the generated context of every compat build to `<directory>/<bake target>/`. Returns
/// the directories written.
pub fn emit_contexts(
    repository: &Repository,
    plan: &Plan,
    directory: &Path,
) -> Result<Vec<PathBuf>, BuildError> {
    let mut written = Vec::new();
    for build in plan
        .builds
        .iter()
        .filter(|build| build.kind == BuildKind::Compat)
    {
        let target = directory.join(bake_target_name(build));
        build_context(repository, build)?.write_to(&target)?;
        written.push(target);
    }
    Ok(written)
}
