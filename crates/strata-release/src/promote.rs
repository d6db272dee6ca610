//! `strata promote`: which tags a promotion sets, and the build histories that record it.

use std::fmt::Write as _;
use std::path::Path;

use strata_build::{record_promotions, PromotionRecord};
use strata_plan::{Build, BuildKind, Plan};
use strata_registry::{
    parse_reference, repository_name, with_tag, PromoteOutcome, Promotion, PromotionResult,
    Reference,
};
use strata_repo::Repository;
use strata_select::{ChangeSource, SelectRequest, DEFAULT_SINCE};
use strata_session::Session;

use crate::ReleaseError;

/// Where promotions are recorded: the repository (`--repository`) and its manifests directory
/// (`None` with `--no-manifests`).
#[derive(Debug, Clone, Copy)]
pub struct Histories<'a> {
    pub root: &'a Path,
    pub manifests: Option<&'a Path>,
}

/// A promotion and the build whose history records it.
#[derive(Debug, Clone)]
pub struct Planned {
    pub promotion: Promotion,
    /// The build whose history records it, when one does.
    pub history: Option<String>,
}

/// `SOURCE TAG…`: bare tags stay in the source's repository.
/// `warn` hears why the promotion cannot be recorded in a history, when it cannot.
pub fn by_references(
    session: &Session,
    histories: &Histories<'_>,
    source: &str,
    targets: &[String],
    repo: Option<&str>,
    warn: &mut dyn FnMut(String),
) -> Result<Vec<Planned>, ReleaseError> {
    let source_reference = parse_reference(source)?;
    let history = history_owner(session, histories, &source_reference, repo, warn);
    targets
        .iter()
        .map(|target| {
            let target_reference = if is_bare_tag(target) {
                with_tag(&source_reference, target)
            } else {
                parse_reference(target)?
            };
            Ok(Planned {
                promotion: Promotion {
                    source: source_reference.clone(),
                    target: target_reference,
                },
                history: history.clone(),
            })
        })
        .collect::<Result<_, strata_registry::RegistryError>>()
        .map_err(ReleaseError::from)
}

/// A tag as `docker tag` takes it: no `/`, no `:`, at most 128 characters of `[A-Za-z0-9_.-]`,
/// not starting with `.` or `-`.
pub fn is_bare_tag(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 128
        && !text.starts_with(['.', '-'])
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-'))
}

/// The build of the repository at `--repository` whose tags the source is one of (or, failing
/// that, whose repository it is in). The directory is read only when it says it is an image
/// repository without being walked: a `strata.toml`, the SciServer or docker-stacks folders, or
/// the manifests directory. Any other directory (a home, a temporary one, a Rust checkout) is
/// not searched for Dockerfiles: a promotion given registry references reads no working tree.
fn history_owner(
    session: &Session,
    histories: &Histories<'_>,
    source: &Reference,
    repo: Option<&str>,
    warn: &mut dyn FnMut(String),
) -> Option<String> {
    let manifests = histories.manifests?;
    let root = histories.root;
    let is_repository = manifests.is_dir()
        || root.join(strata_repo::CONFIG_FILE).is_file()
        || root.join("science").is_dir()
        || root.join(strata_repo::DEFAULT_IMAGES_DIR).is_dir();
    if !is_repository {
        tracing::debug!(
            "`{}` is no image repository: the promotion is recorded in no history",
            root.display()
        );
        return None;
    }
    let select = SelectRequest {
        root: root.to_path_buf(),
        all: true,
        since: ChangeSource::Git(DEFAULT_SINCE.to_string()),
        include: Vec::new(),
        ignore: Vec::new(),
        untracked: false,
        repo: repo.map(str::to_string),
        allow_orphan: true,
        build_args: std::collections::BTreeMap::new(),
        platform: None,
    };
    let plan = match strata_select::open_and_plan(session, &select) {
        Ok((_, plan)) => plan,
        Err(error) => {
            warn(format!(
                "the promotion is recorded in no history: the image repository `{}` cannot be planned: {}",
                root.display(),
                strata_repo::join_chain(&error, ": ")
            ));
            return None;
        }
    };
    let source_text = source.whole();
    let same_repository = |tag: &String| {
        parse_reference(tag).is_ok_and(|tag| repository_name(&tag) == repository_name(source))
    };
    plan.builds
        .iter()
        .find(|build| {
            build
                .tags
                .iter()
                .any(|tag| parse_reference(tag).is_ok_and(|tag| tag.whole() == source_text))
        })
        .or_else(|| {
            plan.builds
                .iter()
                .find(|build| build.tags.iter().any(same_repository))
        })
        .map(|build| build.name.clone())
}

/// Whether a build is an image people use, not an intermediate layer: compat builds and
/// docker-stacks images, and final science layers without a compat layer.
fn is_final_image(repository: &Repository, build: &Build) -> bool {
    match build.kind {
        BuildKind::Compat | BuildKind::Image => true,
        BuildKind::Science => repository
            .layers
            .iter()
            .find(|layer| layer.name == build.name)
            .and_then(|layer| layer.science())
            .is_some_and(|science| science.is_final && science.compat.is_none()),
    }
}

/// `--tag TAG…` for every final image of the plan: from its moving tag to `TAG` (prefixed by
/// the variant, as its other tags are) in the same repository.
pub fn by_plan(
    repository: &Repository,
    plan: &Plan,
    tags: &[String],
) -> Result<Vec<Planned>, ReleaseError> {
    let mut planned = Vec::new();
    for build in plan
        .builds
        .iter()
        .filter(|build| is_final_image(repository, build))
    {
        let moving = build.tags.last().ok_or_else(|| ReleaseError::NoTags {
            build: build.name.clone(),
        })?;
        let source = parse_reference(moving).map_err(|source| ReleaseError::NotARegistryTag {
            build: build.name.clone(),
            source: Box::new(source),
        })?;
        let prefix = build
            .variant
            .as_ref()
            .map(|variant| format!("{variant}-"))
            .unwrap_or_default();
        for tag in tags {
            planned.push(Planned {
                promotion: Promotion {
                    target: with_tag(&source, &format!("{prefix}{tag}")),
                    source: source.clone(),
                },
                history: Some(build.name.clone()),
            });
        }
    }
    Ok(planned)
}

/// Record each promotion that changed something in its build's history under `manifests`
/// (dated `date`, `YYYY-MM-DD`); the histories written, and (build, error) for those that
/// could not be.
pub fn record_histories(
    manifests: &Path,
    planned: &[Planned],
    results: &[PromotionResult],
    date: &str,
) -> Vec<(String, Result<std::path::PathBuf, strata_build::BuildError>)> {
    let mut by_build: std::collections::BTreeMap<&str, Vec<PromotionRecord>> =
        std::collections::BTreeMap::new();
    for (item, result) in planned.iter().zip(results) {
        if result.outcome == PromoteOutcome::AlreadyThere {
            continue;
        }
        if let Some(build) = &item.history {
            by_build.entry(build).or_default().push(PromotionRecord {
                date: date.to_string(),
                target: result.target.clone(),
                source: result.source.clone(),
                digest: result.digest.clone(),
                previous: result.previous.clone(),
            });
        }
    }
    by_build
        .into_iter()
        .map(|(build, records)| {
            (
                build.to_string(),
                record_promotions(manifests, build, &records),
            )
        })
        .collect()
}

fn outcome_text(result: &PromotionResult) -> String {
    match (result.outcome, &result.previous) {
        (PromoteOutcome::Created, _) => "created".to_string(),
        (PromoteOutcome::Moved, Some(previous)) => {
            format!("moved (was {})", previous.get(..19).unwrap_or(previous))
        }
        (PromoteOutcome::Moved, None) => "moved".to_string(),
        (PromoteOutcome::AlreadyThere, _) => "already there".to_string(),
    }
}

/// Each target tag, the digest it points at, and what happened to it.
pub fn promotions_table(results: &[PromotionResult]) -> String {
    let rows: Vec<[String; 3]> = results
        .iter()
        .map(|result| {
            [
                result.target.clone(),
                result
                    .digest
                    .get(..19)
                    .unwrap_or(&result.digest)
                    .to_string(),
                outcome_text(result),
            ]
        })
        .collect();
    strata_diagnostic::table::render(["TARGET", "DIGEST", "RESULT"], &rows)
}

/// `promoted 2 tags, 1 already there; …; 0 layer bytes sent`.
pub fn promotions_summary(results: &[PromotionResult]) -> String {
    let done = results
        .iter()
        .filter(|result| result.outcome != PromoteOutcome::AlreadyThere)
        .count();
    let already = results.len() - done;
    let mounted: usize = results.iter().map(|result| result.blobs_mounted).sum();
    let copied: u64 = results.iter().map(|result| result.bytes_copied).sum();
    let mut text = format!("promoted {done} {}", if done == 1 { "tag" } else { "tags" });
    if already > 0 {
        let _ = write!(text, ", {already} already there");
    }
    if mounted > 0 {
        let _ = write!(text, "; {mounted} blob(s) linked by the registry");
    }
    let _ = write!(text, "; {copied} layer bytes sent");
    text
}

/// After a promote: the signatures and attestations of every image promoted into another
/// repository (each platform's manifest's too, for an index) copied beside it there. Returns
/// the references written, and what could not be copied (the tags moved all the same).
pub async fn carry_signatures(
    registry: &strata_registry::RegistryClient,
    results: &[PromotionResult],
) -> (Vec<String>, Vec<String>) {
    let mut written = Vec::new();
    let mut warnings = Vec::new();
    let mut done = std::collections::BTreeSet::new();
    for result in results {
        let (Ok(source), Ok(target)) = (
            strata_registry::parse_reference(&result.source),
            strata_registry::parse_reference(&result.target),
        ) else {
            continue;
        };
        let (from, to) = (
            strata_registry::repository_name(&source),
            strata_registry::repository_name(&target),
        );
        if from == to || !done.insert((to.clone(), result.digest.clone())) {
            continue;
        }
        let mut digests = vec![result.digest.clone()];
        let exact = strata_registry::with_digest(&source, &result.digest);
        match registry.manifest(&exact).await {
            Ok(manifest) if manifest.is_index() => {
                if let Ok(children) = manifest.children(&exact.whole()) {
                    digests.extend(children.into_iter().map(|child| child.digest));
                }
            }
            Ok(_) => {}
            Err(error) => {
                warnings.push(format!(
                    "cannot read `{}` for its signatures: {error}",
                    exact.whole()
                ));
                continue;
            }
        }
        for digest in digests {
            match strata_sign::copy_signatures(registry, &source, &target, &digest).await {
                Ok(copied) => written.extend(copied),
                Err(error) => warnings.push(format!(
                    "the signatures of `{from}@{digest}` are not copied to `{to}`: {}",
                    strata_repo::join_chain(&error, ": ")
                )),
            }
        }
    }
    (written, warnings)
}

#[cfg(test)]
mod tests {
    use super::is_bare_tag;

    #[test]
    fn bare_tags_and_references() {
        for tag in ["spring-2022", "1.0", "latest", "v2_rc.1"] {
            assert!(is_bare_tag(tag), "{tag}");
        }
        for reference in ["r/img:tag", "python:3.12", "", "-x", ".x", "a b"] {
            assert!(!is_bare_tag(reference), "{reference}");
        }
    }
}
