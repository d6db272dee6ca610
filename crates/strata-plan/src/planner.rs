//! The planner: from what changed to an ordered list of builds. A changed layer and everything
//! built on it are rebuilt, parents first; a rebuilt final science layer gets its compat build
//! right after it; a changed compat layer rebuilds the compat build of every final image whose
//! compat layer includes it, transitively. Linear in the size of the repository.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use strata_repo::{CommitInfo, LayerDetails, LayerId, Repository};

use crate::error::PlanError;
use crate::plan::{Build, BuildKind, ParentImage, Plan, Reason, PLAN_SCHEMA_VERSION};
use crate::select::{triggers, Changes};
use crate::tags::Naming;

/// Everything the planner needs.
pub struct PlanRequest<'a> {
    pub repository: &'a Repository,
    pub commit: &'a CommitInfo,
    /// Registry and namespace for tags (`localhost:5000/compute-images`); may be empty in the
    /// docker-stacks layout.
    pub repo: &'a str,
    /// Remote URL for `org.opencontainers.image.source`, when known.
    pub source_url: Option<&'a str>,
    pub selection: Selection<'a>,
}

/// Which builds to plan.
pub enum Selection<'a> {
    /// Every layer, and every final science layer's compat build.
    All,
    /// Builds triggered by a change.
    Changes(Changes<'a>),
    /// Builds whose inputs differ from what the registry holds (`--since registry`).
    Registry(RegistryChanges<'a>),
}

/// What differs from the registry, per layer: the layer's own build, and (for final science
/// layers) its compat build. `None`: the published image is up to date.
pub struct RegistryChanges<'a> {
    pub layers: &'a [Option<Reason>],
    pub compat: &'a [Option<Reason>],
}

/// Plan the builds.
pub fn plan(request: &PlanRequest<'_>) -> Result<Plan, PlanError> {
    let repository = request.repository;
    let naming = Naming {
        repo: request.repo,
        commit: request.commit,
        source_url: request.source_url,
    };
    let mut compat_build_triggers: &[Option<Reason>] = &[];
    let (layer_triggers, compat_triggers, since) = match &request.selection {
        Selection::All => (
            vec![Some(Reason::All); repository.layers.len()],
            vec![false; repository.compat_layers.len()],
            None,
        ),
        Selection::Registry(changes) => {
            compat_build_triggers = changes.compat;
            (
                changes.layers.to_vec(),
                vec![false; repository.compat_layers.len()],
                Some("registry".to_string()),
            )
        }
        Selection::Changes(changes) => {
            let triggers = triggers(repository, changes)?;
            let since = changes
                .include
                .is_empty()
                .then(|| changes.since.to_string());
            (triggers.layers, triggers.compat, since)
        }
    };

    let (reasons, triggered_by) = rebuild_set(repository, &layer_triggers);
    let order = topological_order(repository, &reasons);
    let mut builds = Vec::with_capacity(order.len() * 2);
    for &id in &order {
        let reason = reasons[id].unwrap_or(Reason::ParentChanged);
        let trigger = triggered_by[id].map(|cause| repository.layers[cause].name.clone());
        builds.push(layer_build(
            repository, &naming, id, &reasons, reason, trigger,
        ));
        let science_name = Some(repository.layers[id].name.clone());
        if let Some(compat_build) = compat_build(
            repository,
            &naming,
            id,
            &reasons,
            Reason::ScienceRebuilt,
            science_name,
        ) {
            builds.push(compat_build);
        }
    }

    // Compat builds whose own inputs differ from the registry's, on science layers that are not
    // rebuilt.
    for (id, trigger) in compat_build_triggers.iter().enumerate() {
        if let (Some(reason), None) = (trigger, reasons.get(id).copied().flatten()) {
            if let Some(build) = compat_build(repository, &naming, id, &reasons, *reason, None) {
                builds.push(build);
            }
        }
    }

    // Compat layers that changed, and those that include one that changed.
    let changed_compat: Vec<&str> = repository
        .compat_layers
        .iter()
        .zip(&compat_triggers)
        .filter(|(_, changed)| **changed)
        .map(|(compat, _)| compat.name.as_str())
        .collect();
    if !changed_compat.is_empty() {
        for (id, layer) in repository.layers.iter().enumerate() {
            let Some(science) = layer.science() else {
                continue;
            };
            let Some(compat_name) = &science.compat else {
                continue;
            };
            if !science.is_final || reasons[id].is_some() {
                continue;
            }
            let Some(compat) = repository.compat_layer(compat_name) else {
                continue;
            };
            let cause = std::iter::once(&compat.name)
                .chain(&compat.expanded_includes)
                .find(|name| changed_compat.contains(&name.as_str()));
            if let Some(cause) = cause {
                let trigger = Some(format!("compat/{cause}"));
                if let Some(build) = compat_build(
                    repository,
                    &naming,
                    id,
                    &reasons,
                    Reason::CompatChanged,
                    trigger,
                ) {
                    builds.push(build);
                }
            }
        }
    }

    Ok(Plan {
        schema_version: PLAN_SCHEMA_VERSION,
        layout: repository.layout.as_str(),
        layouts: repository
            .layouts
            .iter()
            .map(|layout| layout.as_str())
            .collect(),
        repo: request.repo.to_string(),
        commit: request.commit.clone(),
        since,
        builds,
    })
}

/// Every triggered layer and everything built on it. Returns each layer's reason (`None`: not
/// rebuilt; `ParentChanged` for those pulled in) and, for those pulled in, the layer that
/// pulled them in.
fn rebuild_set(
    repository: &Repository,
    triggers: &[Option<Reason>],
) -> (Vec<Option<Reason>>, Vec<Option<LayerId>>) {
    let dependents = repository.dependents();
    let mut reasons = triggers.to_vec();
    let mut triggered_by = vec![None; triggers.len()];
    let mut queue: VecDeque<LayerId> = (0..triggers.len())
        .filter(|id| triggers[*id].is_some())
        .collect();
    while let Some(id) = queue.pop_front() {
        for &dependent in &dependents[id] {
            if reasons[dependent].is_none() {
                reasons[dependent] = Some(Reason::ParentChanged);
                triggered_by[dependent] = Some(id);
                queue.push_back(dependent);
            }
        }
    }
    (reasons, triggered_by)
}

/// The layers to rebuild, each after every layer it depends on; among layers ready at the same
/// time, the one whose directory sorts first.
fn topological_order(repository: &Repository, reasons: &[Option<Reason>]) -> Vec<LayerId> {
    let in_plan = |id: LayerId| reasons[id].is_some();
    let mut waiting_on = vec![0usize; repository.layers.len()];
    for (id, layer) in repository.layers.iter().enumerate() {
        if in_plan(id) {
            waiting_on[id] = layer
                .dependencies()
                .filter(|dependency| in_plan(*dependency))
                .count();
        }
    }
    let dependents = repository.dependents();
    let mut ready: BinaryHeap<Reverse<LayerId>> = (0..repository.layers.len())
        .filter(|id| in_plan(*id) && waiting_on[*id] == 0)
        .map(Reverse)
        .collect();
    let mut order = Vec::new();
    while let Some(Reverse(id)) = ready.pop() {
        order.push(id);
        for &dependent in &dependents[id] {
            if in_plan(dependent) {
                waiting_on[dependent] -= 1;
                if waiting_on[dependent] == 0 {
                    ready.push(Reverse(dependent));
                }
            }
        }
    }
    order
}

fn layer_build(
    repository: &Repository,
    naming: &Naming<'_>,
    id: LayerId,
    reasons: &[Option<Reason>],
    reason: Reason,
    triggered_by: Option<String>,
) -> Build {
    let layer = &repository.layers[id];
    let mut build_args = layer.build_args.clone();
    // A `FROM $ARG` line is pointed at the parent this plan builds (or its published tag).
    let from = match (layer.parent, &layer.base_arg) {
        (Some(parent), Some(argument)) => {
            let tag = naming.stable_tag(&repository.layers[parent]);
            build_args.insert(argument.clone(), tag.clone());
            tag
        }
        _ => layer.base.clone(),
    };
    let depends_on = layer
        .dependencies()
        .filter(|dependency| reasons[*dependency].is_some())
        .map(|dependency| repository.layers[dependency].name.clone())
        .collect();
    let (kind, image, version, variant) = match &layer.details {
        LayerDetails::Science(science) => (
            BuildKind::Science,
            science.image.clone(),
            Some(science.version.clone()),
            None,
        ),
        LayerDetails::Stacks(stacks) => (
            BuildKind::Image,
            stacks.image.clone(),
            None,
            stacks.variant.clone(),
        ),
        LayerDetails::Generic(generic) => (
            BuildKind::Image,
            generic.image.clone(),
            generic.version.clone(),
            generic.variant.clone(),
        ),
    };
    Build {
        kind,
        name: layer.name.clone(),
        image,
        version,
        variant,
        context: layer.directory.clone(),
        dockerfile: layer.dockerfile.clone(),
        from,
        parent: layer.parent.map(|parent| ParentImage {
            name: repository.layers[parent].name.clone(),
            tag: naming.stable_tag(&repository.layers[parent]),
            platforms: repository.layers[parent].platforms.clone(),
        }),
        tags: naming.layer_tags(layer),
        depends_on,
        reason,
        triggered_by,
        compat_layers: Vec::new(),
        build_args,
        labels: naming.layer_labels(layer),
        taggers: layer.taggers.clone(),
        tests: layer.tests.clone(),
        platforms: layer.platforms.clone(),
        reads: layer
            .reads
            .iter()
            .filter(|(_, read)| Some(*read) != layer.parent)
            .map(|(reference, read)| {
                let read = &repository.layers[*read];
                crate::plan::ReadImage {
                    reference: reference.clone(),
                    name: read.name.clone(),
                    tag: naming.stable_tag(read),
                    platforms: read.platforms.clone(),
                }
            })
            .collect(),
    }
}

/// The compat build of a final science layer that names a compat layer.
fn compat_build(
    repository: &Repository,
    naming: &Naming<'_>,
    id: LayerId,
    reasons: &[Option<Reason>],
    reason: Reason,
    triggered_by: Option<String>,
) -> Option<Build> {
    let layer = &repository.layers[id];
    let science = layer.science()?;
    if !science.is_final {
        return None;
    }
    let compat = repository.compat_layer(science.compat.as_deref()?)?;
    let compat_layers = repository
        .compat_chain(&compat.name)
        .iter()
        .map(|compat| compat.name.clone())
        .collect();
    let depends_on = if reasons[id].is_some() {
        vec![layer.name.clone()]
    } else {
        Vec::new()
    };
    Some(Build {
        kind: BuildKind::Compat,
        name: format!("{}:{}", science.image, science.version),
        image: science.image.clone(),
        version: Some(science.version.clone()),
        variant: None,
        context: compat.directory.clone(),
        dockerfile: format!("{}/Dockerfile", compat.directory),
        from: naming.stable_tag(layer),
        parent: Some(ParentImage {
            name: layer.name.clone(),
            tag: naming.stable_tag(layer),
            platforms: layer.platforms.clone(),
        }),
        tags: naming.compat_tags(&science.image, &science.version),
        depends_on,
        reason,
        triggered_by,
        compat_layers,
        build_args: BTreeMap::new(),
        labels: naming.compat_labels(&science.image, &science.version),
        taggers: layer.taggers.clone(),
        tests: layer.tests.clone(),
        platforms: layer.platforms.clone(),
        reads: Vec::new(),
    })
}
