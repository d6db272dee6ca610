//! `strata plan`: what a change rebuilds, as a table, JSON, or a bake file.

use anyhow::Context;
use strata_build::{compare_with_registry, RegistryComparison};
use strata_cli::PlanFormat;
use strata_engine::{BuilderKind, DockerEngine};
use strata_plan::{BuildKind, Changes, Plan, PlanRequest, RegistryChanges, Selection};
use strata_registry::RegistryClient;
use strata_repo::{Git, LayoutKind, Repository};

use crate::exit_status::ExitStatus;
use crate::output::write_output;
use crate::printer::Printer;
use crate::settings::{ChangeSource, PlanSettings, SelectSettings};

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
fn check_tag_namespace(repo: &str) -> anyhow::Result<()> {
    if repo.is_empty() {
        return Ok(());
    }
    strata_registry::parse_reference(&format!("{repo}/image:tag")).map_err(|_| {
        anyhow::anyhow!(
            "`{repo}` cannot be a tag namespace: it must be a registry host and lowercase path, such as `registry.example.org/compute-images`"
        )
    })?;
    Ok(())
}

/// Open the repository and plan the selected builds (shared with the commands that run plans).
/// The repository's warnings are printed.
pub fn make_plan(select: &SelectSettings, printer: &Printer) -> anyhow::Result<(Repository, Plan)> {
    let (repository, plan) = open_and_plan(select)?;
    for warning in &repository.warnings {
        printer.warn(warning);
    }
    Ok((repository, plan))
}

/// `linux/amd64,linux/arm64` → its platforms, each checked.
pub(crate) fn platform_list(text: &str) -> anyhow::Result<Vec<String>> {
    let mut platforms: Vec<String> = Vec::new();
    for platform in text
        .split(',')
        .map(str::trim)
        .filter(|platform| !platform.is_empty())
    {
        strata_repo::check_platform(platform).map_err(|reason| {
            anyhow::anyhow!(
                "`--platform {platform}`: {reason} (for example `linux/amd64,linux/arm64`)"
            )
        })?;
        if !platforms.iter().any(|known| known == platform) {
            platforms.push(platform.to_string());
        }
    }
    Ok(platforms)
}

/// Open the repository and plan the selected builds, printing nothing. Git is asked
/// everything at once, before the tree is read: its answers come while strata reads.
pub fn open_and_plan(select: &SelectSettings) -> anyhow::Result<(Repository, Plan)> {
    let git = Git::new(&select.root);
    let since = match &select.since {
        ChangeSource::Git(since) => since.as_str(),
        ChangeSource::Registry => "",
    };
    let from_registry = select.since == ChangeSource::Registry && !select.all;
    let pending_commit = git.start_commit_info();
    // A SciServer repository's history guards its versions: started when it may be one.
    let pending_history = (!select.allow_orphan && select.root.join("science").is_dir())
        .then(|| git.start_definition_history());
    let pending_changes = (!(select.all || !select.include.is_empty() || from_registry))
        .then(|| git.start_changed_paths(since));
    let pending_untracked =
        (!from_registry && select.untracked && (!since.contains("..") || since.ends_with("..")))
            .then(|| git.start_untracked_paths());
    let pending_remote = git.start_remote_url();
    let mut repository = strata_repo::open(&select.root).with_context(|| {
        format!(
            "cannot read the image repository at `{}`",
            select.root.display()
        )
    })?;
    if select.repo.is_some() {
        // `--repo` puts every image under one namespace, over the trees' own.
        repository.clear_tree_repos();
    }
    if let Some(platforms) = &select.platform {
        // `--platform` builds every image for the platforms it names, over `strata.toml`.
        let platforms = platform_list(platforms)?;
        for layer in &mut repository.layers {
            layer.platforms.clone_from(&platforms);
        }
    }
    let commit = pending_commit?.finish()?;
    // Protected versions: history first; with `--since registry`, the published versions too
    // once the tag namespace is known (below).
    let protect_versions =
        !select.allow_orphan && repository.layouts.contains(&LayoutKind::Sciserver);
    let mut orphans = match pending_history {
        Some(history) if protect_versions => repository.orphaned_versions_from(&git, history?)?,
        Some(history) => {
            // Not a SciServer repository after all: the history read is not needed.
            drop(history);
            Vec::new()
        }
        None if protect_versions => repository.orphaned_versions(&git)?,
        None => Vec::new(),
    };
    if !orphans.is_empty() && !from_registry {
        return Err(strata_repo::RepoError::Orphaned { orphans }.into());
    }
    let changed_paths = match pending_changes {
        Some(pending) => pending?.finish()?,
        None => Vec::new(),
    };
    let untracked_paths = pending_untracked
        .map(|pending| pending?.finish())
        .transpose()?;
    let source_url = pending_remote
        .ok()
        .and_then(strata_repo::PendingRemote::finish);
    let repo = tag_namespace(select.repo.as_deref(), &repository);
    check_tag_namespace(&repo)?;
    if protect_versions && from_registry {
        published_orphans(&repository, &repo, &mut orphans)?;
        if !orphans.is_empty() {
            return Err(strata_repo::RepoError::Orphaned { orphans }.into());
        }
    }
    let comparison = if from_registry {
        Some(registry_comparison(
            select,
            &repository,
            &commit,
            &repo,
            source_url.as_deref(),
        )?)
    } else {
        None
    };
    let selection = if select.all {
        Selection::All
    } else if let Some(comparison) = &comparison {
        Selection::Registry(RegistryChanges {
            layers: &comparison.layers,
            compat: &comparison.compat,
        })
    } else {
        Selection::Changes(Changes {
            since,
            changed_paths: &changed_paths,
            untracked_paths: untracked_paths.as_deref(),
            include: &select.include,
            ignore: &select.ignore,
        })
    };
    let plan = strata_plan::plan(&PlanRequest {
        repository: &repository,
        commit: &commit,
        repo: &repo,
        source_url: source_url.as_deref(),
        selection,
    })?;
    Ok((repository, plan))
}

/// Published SciServer versions (`<repo>/rel/<image>:<version>` tags) that no layer has and
/// `strata.toml` does not retire: added to `orphans`, or marked on those history found.
pub fn published_orphans(
    repository: &Repository,
    repo: &str,
    orphans: &mut Vec<strata_repo::OrphanedVersion>,
) -> anyhow::Result<()> {
    let images: Vec<String> = repository
        .science_images(orphans)
        .into_iter()
        .map(str::to_string)
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let client = RegistryClient::new();
    for image in images {
        let repository_name = format!("{repo}/rel/{image}");
        let Ok(reference) = strata_registry::parse_reference(&format!("{repository_name}:latest"))
        else {
            continue;
        };
        let tags = runtime.block_on(client.tags(&reference)).with_context(|| {
            format!(
                "cannot list the published versions of `{repository_name}`{}",
                default_namespace_note(repo)
            )
        })?;
        for tag in tags {
            let is_version = !tag.is_empty()
                && tag
                    .split('.')
                    .all(|part| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit()));
            let version = format!("{image}:{tag}");
            if !is_version || repository.keeps_version(&version) {
                continue;
            }
            let published_as = Some(format!("{repository_name}:{tag}"));
            match orphans.iter_mut().find(|orphan| orphan.version == version) {
                Some(orphan) => orphan.published_as = published_as,
                None => orphans.push(strata_repo::OrphanedVersion {
                    version,
                    directory: None,
                    defined_in: None,
                    changed_in: None,
                    published_as,
                }),
            }
        }
    }
    Ok(())
}

/// `--since registry`: every image's inputs against its published moving tag's.
pub fn registry_comparison(
    select: &SelectSettings,
    repository: &Repository,
    commit: &strata_repo::CommitInfo,
    repo: &str,
    source_url: Option<&str>,
) -> anyhow::Result<RegistryComparison> {
    let all = strata_plan::plan(&PlanRequest {
        repository,
        commit,
        repo,
        source_url,
        selection: Selection::All,
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let comparison = runtime.block_on(async {
        // The engine, when there is one, knows the external bases already pulled; without it
        // their identity comes from their registries.
        let engine = DockerEngine::connect(BuilderKind::BuildKit).await.ok();
        compare_with_registry(
            repository,
            &all,
            engine.as_ref(),
            &RegistryClient::new(),
            &select.build_args,
            select
                .platform
                .as_deref()
                .filter(|platform| !platform.contains(',')),
        )
        .await
    });
    comparison.with_context(|| {
        format!(
            "cannot compare the repository with its registry{}",
            default_namespace_note(repo)
        )
    })
}

/// When `repo` is the layout's default (SciServer's own registry) rather than one the user
/// named: how to name theirs.
fn default_namespace_note(repo: &str) -> String {
    if repo == SCISERVER_DEFAULT_REPO {
        format!(" (`{repo}` is SciServer's registry, the default: name yours with `--repo REGISTRY/NAMESPACE`, `STRATA_REPO` or `repo` in `strata.toml`)")
    } else {
        String::new()
    }
}

pub fn plan(settings: &PlanSettings, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let (repository, plan) = make_plan(&settings.select, printer)?;
    let text = match settings.format {
        PlanFormat::Text => render_table(&plan),
        PlanFormat::Json => json_text(&plan)?,
        PlanFormat::Bake => {
            let paths = bake_paths(settings, &repository, &plan, printer)?;
            let bake = strata_plan::bake_file(&plan, &repository, &paths);
            let mut text = serde_json::to_string_pretty(&bake)?;
            text.push('\n');
            text
        }
    };
    write_output(settings.output.as_deref(), &text, printer)?;
    printer.info(&summary(&plan));
    Ok(ExitStatus::Success)
}

/// With `--output FILE`, every path is relative to the file's directory and the assembled compat
/// contexts are written beside it (`<FILE stem>.contexts/`), so `docker buildx bake -f FILE`
/// runs from there as it is. On stdout, paths are relative to the repository root and compat
/// contexts are looked for in `--contexts-dir` (`strata build --emit-context` writes them).
fn bake_paths(
    settings: &PlanSettings,
    repository: &Repository,
    plan: &Plan,
    printer: &Printer,
) -> anyhow::Result<strata_plan::BakePaths> {
    let Some(output) = &settings.output else {
        return Ok(strata_plan::BakePaths {
            root: String::new(),
            contexts_dir: settings.contexts_dir.clone(),
        });
    };
    let directory = match output.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    fs_err::create_dir_all(&directory)?;
    let stem = output.file_stem().map_or_else(
        || "bake".to_string(),
        |stem| stem.to_string_lossy().into_owned(),
    );
    let contexts_dir = format!("{stem}.contexts");
    let written = strata_build::emit_contexts(repository, plan, &directory.join(&contexts_dir))
        .with_context(|| {
            format!(
                "cannot write the compat contexts beside `{}`",
                output.display()
            )
        })?;
    if !written.is_empty() {
        printer.info(&format!(
            "wrote {} compat context(s) to `{}`",
            written.len(),
            directory.join(&contexts_dir).display()
        ));
    }
    Ok(strata_plan::BakePaths {
        root: relative_path(&directory, &repository.root)?,
        contexts_dir,
    })
}

/// `to` relative to `from` (both directories), `/`-separated: `../repo`, or `""` for the same.
fn relative_path(from: &std::path::Path, to: &std::path::Path) -> anyhow::Result<String> {
    let from = from
        .canonicalize()
        .with_context(|| format!("cannot resolve `{}`", from.display()))?;
    let to = to
        .canonicalize()
        .with_context(|| format!("cannot resolve `{}`", to.display()))?;
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from
        .iter()
        .zip(&to)
        .take_while(|(left, right)| left == right)
        .count();
    let parts: Vec<String> = std::iter::repeat_n("..".to_string(), from.len() - common)
        .chain(
            to[common..]
                .iter()
                .map(|part| part.as_os_str().to_string_lossy().into_owned()),
        )
        .collect();
    Ok(parts.join("/"))
}

fn json_text(plan: &Plan) -> anyhow::Result<String> {
    let mut text = serde_json::to_string_pretty(plan)?;
    text.push('\n');
    Ok(text)
}

/// `plan: 2 science builds and 2 compat builds (changes since HEAD^)`.
fn summary(plan: &Plan) -> String {
    let since = match &plan.since {
        Some(since) if since == crate::settings::SINCE_REGISTRY => {
            "compared with the registry".to_string()
        }
        Some(since) => format!("changes since {since}"),
        None if plan
            .builds
            .iter()
            .any(|build| build.reason == strata_plan::Reason::All) =>
        {
            "--all".to_string()
        }
        None => "included directories".to_string(),
    };
    if plan.builds.is_empty() {
        return format!("plan: nothing to build ({since})");
    }
    let images = format!(
        "{} image {}",
        plan.count(BuildKind::Image),
        builds_word(plan.count(BuildKind::Image))
    );
    let counts = if plan.layouts.contains(&"sciserver") {
        let science = format!(
            "{} science {} and {} compat {}",
            plan.count(BuildKind::Science),
            builds_word(plan.count(BuildKind::Science)),
            plan.count(BuildKind::Compat),
            builds_word(plan.count(BuildKind::Compat)),
        );
        if plan.count(BuildKind::Image) > 0 {
            format!("{images}, {science}")
        } else {
            science
        }
    } else {
        images
    };
    format!("plan: {counts} ({since})")
}

fn builds_word(count: usize) -> &'static str {
    if count == 1 {
        "build"
    } else {
        "builds"
    }
}

/// The table: order, kind, name, reason, tags (one per line).
pub fn render_table(plan: &Plan) -> String {
    if plan.builds.is_empty() {
        return String::new();
    }
    let mut rows: Vec<[String; 5]> = Vec::new();
    for (index, build) in plan.builds.iter().enumerate() {
        let reason = match &build.triggered_by {
            Some(cause) => format!("{} ({cause})", build.reason.as_str()),
            None => build.reason.as_str().to_string(),
        };
        let mut tags = build.tags.iter();
        rows.push([
            (index + 1).to_string(),
            build.kind.as_str().to_string(),
            build.name.clone(),
            reason,
            tags.next().cloned().unwrap_or_default(),
        ]);
        for tag in tags {
            rows.push([
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                tag.clone(),
            ]);
        }
    }
    crate::table::render(["#", "KIND", "NAME", "REASON", "TAGS"], &rows)
}
