use strata_build::{compare_with_registry, RegistryComparison};
use strata_engine::BuilderKind;
use strata_plan::{Changes, Plan, PlanRequest, RegistryChanges, Selection};
use strata_repo::{Git, LayoutKind, OrphanedVersion, Repository};
use strata_session::Session;

use crate::namespace::{check_tag_namespace, default_namespace_note};
use crate::{platform_list, tag_namespace, ChangeSource, SelectError, SelectRequest};

/// Open the repository and plan the selected builds, printing nothing (the repository's
/// warnings are in `Repository::warnings`). Git is asked everything at once, before the tree
/// is read: its answers come while strata reads. The session is used only with `--since
/// registry`.
pub fn open_and_plan(
    session: &Session,
    select: &SelectRequest,
) -> Result<(Repository, Plan), SelectError> {
    let git = Git::new(&select.root);
    let since = match &select.since {
        ChangeSource::Git(since) => since.as_str(),
        ChangeSource::Registry => "",
    };
    let from_registry = select.since == ChangeSource::Registry && !select.all;
    let pending_commit = git.start_commit_info();
    let pending_changes = (!(select.all || !select.include.is_empty() || from_registry))
        .then(|| git.start_changed_paths(since));
    let pending_untracked =
        (!from_registry && select.untracked && (!since.contains("..") || since.ends_with("..")))
            .then(|| git.start_untracked_paths());
    let pending_remote = git.start_remote_url();
    // A SciServer repository's history guards its versions: read when it may be one. The
    // history of a commit planned before is kept in the cache under that commit, so the lookup
    // waits for git's answer about `HEAD` — on a thread of its own, while the tree is read.
    let history_file = (!select.allow_orphan && select.root.join("science").is_dir())
        .then(|| session.caches().repository(&select.root).join("history"));
    let history_git = git.clone();
    let commit_and_history = std::thread::spawn(move || {
        let commit = pending_commit.and_then(strata_repo::PendingCommit::finish);
        let history = history_file.map(|file| match &commit {
            Ok(commit) => history_git
                .start_definition_history_kept(&format!("{} {}", commit.hash, commit.count), &file),
            Err(_) => history_git.start_definition_history(),
        });
        (commit, history)
    });
    let mut repository = strata_repo::open(&select.root).map_err(|source| SelectError::Open {
        root: select.root.clone(),
        source: Box::new(source),
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
    let (commit, pending_history) = commit_and_history
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    let commit = commit?;
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
        published_orphans(session, &repository, &repo, &mut orphans)?;
        if !orphans.is_empty() {
            return Err(strata_repo::RepoError::Orphaned { orphans }.into());
        }
    }
    let comparison = if from_registry {
        Some(registry_comparison(
            session,
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
    session: &Session,
    repository: &Repository,
    repo: &str,
    orphans: &mut Vec<OrphanedVersion>,
) -> Result<(), SelectError> {
    let images: Vec<String> = repository
        .science_images(orphans)
        .into_iter()
        .map(str::to_string)
        .collect();
    let client = session.registry();
    for image in images {
        let repository_name = format!("{repo}/rel/{image}");
        let Ok(reference) = strata_registry::parse_reference(&format!("{repository_name}:latest"))
        else {
            continue;
        };
        let tags = session
            .block_on(client.tags(&reference))?
            .map_err(|source| SelectError::PublishedVersions {
                repository: repository_name.clone(),
                note: default_namespace_note(repo),
                source: Box::new(source),
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
                None => orphans.push(OrphanedVersion {
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
    session: &Session,
    select: &SelectRequest,
    repository: &Repository,
    commit: &strata_repo::CommitInfo,
    repo: &str,
    source_url: Option<&str>,
) -> Result<RegistryComparison, SelectError> {
    let all = strata_plan::plan(&PlanRequest {
        repository,
        commit,
        repo,
        source_url,
        selection: Selection::All,
    })?;
    let comparison = session.block_on(async {
        // The engine, when there is one, knows the external bases already pulled; without it
        // their identity comes from their registries.
        let engine = session.engine(BuilderKind::BuildKit).await.ok();
        compare_with_registry(
            repository,
            &all,
            engine.as_deref(),
            session.registry(),
            &select.build_args,
            select
                .platform
                .as_deref()
                .filter(|platform| !platform.contains(',')),
        )
        .await
    })?;
    comparison.map_err(|source| SelectError::Comparison {
        note: default_namespace_note(repo),
        source: Box::new(source),
    })
}

/// The selection with its git revisions replaced by the commits they name now (`--since HEAD^`
/// → `--since 3f2a…`; both ends of `A..B`): what a CI pipeline's jobs repeat, so a job plans
/// what the pipeline was made from even when the branch moved on, or the pipeline file itself
/// was committed, in between.
pub fn pin_revisions(select: &SelectRequest) -> Result<SelectRequest, SelectError> {
    let mut pinned = select.clone();
    // `--all` and `--include` ask git nothing.
    let asks_git = !select.all && select.include.is_empty();
    if let (ChangeSource::Git(since), true) = (&select.since, asks_git) {
        let git = Git::new(&select.root);
        let separator = if since.contains("...") { "..." } else { ".." };
        let resolved = match since.split_once(separator) {
            Some((from, to)) => format!(
                "{}{separator}{}",
                git.commit_of(if from.is_empty() { "HEAD" } else { from })?,
                git.commit_of(if to.is_empty() { "HEAD" } else { to })?
            ),
            None => git.commit_of(since)?,
        };
        pinned.since = ChangeSource::Git(resolved);
    }
    Ok(pinned)
}
