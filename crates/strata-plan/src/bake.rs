//! Export a plan as a `docker buildx bake` JSON file, so the same builds can run on BuildKit
//! builders: one target per build, dependencies expressed as `contexts` entries pointing the
//! child's `FROM` at the parent target (`target:<name>`), compat Dockerfiles inline.

use serde_json::{json, Map, Value};
use strata_repo::Repository;

use crate::compat::compat_dockerfile;
use crate::plan::{Build, BuildKind, Plan};

/// The bake target name of a build: `[A-Za-z0-9_-]` only, unique per kind.
pub fn bake_target_name(build: &Build) -> String {
    let raw = match build.kind {
        BuildKind::Science => format!("sci-{}", build.name),
        BuildKind::Compat => format!("rel-{}", build.name),
        BuildKind::Image => build.name.clone(),
    };
    raw.chars()
        .map(|character| match character {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '-' => character,
            '.' => '_',
            _ => '-',
        })
        .collect()
}

/// Where the paths of a bake file lead.
#[derive(Debug, Clone)]
pub struct BakePaths {
    /// From where `docker buildx bake` runs to the repository root (`""`: it runs there).
    pub root: String,
    /// Where compat builds with includes find their assembled contexts, from the same place.
    pub contexts_dir: String,
}

impl BakePaths {
    fn under_root(&self, path: &str) -> String {
        if self.root.is_empty() {
            path.to_string()
        } else {
            format!("{}/{path}", self.root.trim_end_matches('/'))
        }
    }
}

/// The bake file for a plan. Compat builds with includes need their assembled context on disk:
/// they point at `<contexts_dir>/<target>` (written by `strata build --emit-context`, or by
/// `strata plan --format bake --output FILE` beside the file).
pub fn bake_file(plan: &Plan, repository: &Repository, paths: &BakePaths) -> Value {
    let mut targets = Map::new();
    let mut names = Vec::with_capacity(plan.builds.len());
    for build in &plan.builds {
        let name = bake_target_name(build);
        let mut target = Map::new();
        if build.kind == BuildKind::Compat {
            let context = if build.compat_layers.len() == 1 {
                paths.under_root(&build.context)
            } else {
                format!("{}/{name}", paths.contexts_dir.trim_end_matches('/'))
            };
            target.insert("context".into(), json!(context));
            target.insert(
                "dockerfile-inline".into(),
                json!(compat_dockerfile(repository, build)),
            );
        } else {
            target.insert("context".into(), json!(paths.under_root(&build.context)));
            let dockerfile = build
                .dockerfile
                .strip_prefix(&format!("{}/", build.context))
                .unwrap_or(&build.dockerfile);
            target.insert("dockerfile".into(), json!(dockerfile));
        }
        target.insert("tags".into(), json!(build.tags));
        target.insert("labels".into(), json!(build.labels));
        if !build.build_args.is_empty() {
            target.insert("args".into(), json!(build.build_args));
        }
        if !build.platforms.is_empty() {
            target.insert("platforms".into(), json!(build.platforms));
        }
        let mut contexts = Map::new();
        let layer = repository
            .layers
            .iter()
            .find(|layer| layer.name == build.name);
        for dependency_name in &build.depends_on {
            let Some(dependency) = plan.build(dependency_name) else {
                continue;
            };
            let target = json!(format!("target:{}", bake_target_name(dependency)));
            // Keyed on what each dependency is, not where it is in `depends_on`: the parent under
            // the reference the `FROM` line resolves to, every other image under the reference
            // the Dockerfile reads it by (`COPY --from`, another stage's `FROM`).
            if build
                .parent
                .as_ref()
                .is_some_and(|parent| &parent.name == dependency_name)
            {
                contexts.insert(build.from.clone(), target.clone());
            }
            for (reference, _) in layer
                .into_iter()
                .flat_map(|layer| &layer.reads)
                .filter(|(_, id)| repository.layers[*id].name == *dependency_name)
            {
                contexts.insert(reference.clone(), target.clone());
            }
        }
        if !contexts.is_empty() {
            target.insert("contexts".into(), Value::Object(contexts));
        }
        names.push(name.clone());
        targets.insert(name, Value::Object(target));
    }
    json!({
        "group": { "default": { "targets": names } },
        "target": targets,
    })
}
