//! Settings per command: flags, environment variables and `strata.toml` merged into one
//! struct, so commands never see raw arguments.

use std::path::{Path, PathBuf};

use anyhow::Context;
use std::collections::BTreeMap;

use crate::{
    BuildArgs, BuilderArg, CiArgs, CiFormatArg, DiffArgs, FailLevel, FreezeArgs, GraphArgs,
    GraphFormatArg, InspectArgs, InspectFormat, LintArgs, LintFormat, LockArgs, LockCommand,
    OutdatedArgs, PinArgs, PlanArgs, PlanFormat, PromoteArgs, ReleaseArgs, SelectArgs,
    SelectionArgs,
};
use strata_engine::BuilderKind;
use strata_plan::GraphFormat;

pub use strata_select::{
    ChangeSource, SelectRequest as SelectSettings, DEFAULT_SINCE, SINCE_REGISTRY,
};

#[derive(Debug, Clone)]
pub struct PlanSettings {
    pub select: SelectSettings,
    pub format: PlanFormat,
    pub output: Option<PathBuf>,
    pub contexts_dir: String,
}

#[derive(Debug, Clone)]
pub struct BuildSettings {
    pub select: SelectSettings,
    pub jobs: usize,
    pub push: bool,
    /// `--only`: the builds of the plan this run makes (empty: all of them).
    pub only: Vec<String>,
    /// `--pipeline ID`: one job of that CI pipeline.
    pub pipeline: Option<String>,
    /// `--only-platform`: one platform of multi-platform builds.
    pub only_platform: Option<String>,
    pub build_args: BTreeMap<String, String>,
    pub platform: Option<String>,
    pub no_cache: bool,
    pub pull: bool,
    pub network: Option<String>,
    pub builder: BuilderKind,
    pub emit_context: Option<PathBuf>,
    /// Absolute, or relative to the current directory.
    pub logs: PathBuf,
    /// `None` with `--no-manifests`.
    pub manifests: Option<PathBuf>,
    pub no_test: bool,
    /// `--reproducible` (strata.toml's `reproducible = true` also turns it on).
    pub reproducible: bool,
    /// `--check-reproducible`: build twice and compare.
    pub check_reproducible: bool,
    /// Lint the planned images' Dockerfiles first and stop on errors.
    pub lint: bool,
    pub junit: Option<PathBuf>,
    pub json: bool,
    /// `--sign KEY` (relative to the current directory).
    pub sign: Option<PathBuf>,
    /// `--audit SEVERITY` with its advisory store.
    pub audit: Option<(crate::AuditSeverity, PathBuf)>,
}

/// `strata ci`.
#[derive(Debug, Clone)]
pub struct CiSettings {
    pub select: SelectSettings,
    pub format: strata_ci::Format,
    pub output: Option<PathBuf>,
    /// The repository's path, as given: jobs start from the checkout's root.
    pub path: String,
    pub json: bool,
}

impl CiSettings {
    /// Without `--since`, `--all` or `--include`, what differs from the registry.
    pub fn resolve(arguments: CiArgs) -> anyhow::Result<Self> {
        let path = arguments.select.path.display().to_string();
        let selection = &arguments.select.selection;
        let unselected = selection.since.as_deref().is_none_or(str::is_empty)
            && !selection.all
            && selection.include.is_empty();
        let mut select = select_settings(arguments.select)?;
        if unselected {
            select.since = ChangeSource::Registry;
        }
        select.build_args = build_arguments(&arguments.inputs.build_args)?;
        select.platform = arguments.inputs.platform;
        Ok(Self {
            select,
            format: match arguments.format {
                CiFormatArg::Gitlab => strata_ci::Format::Gitlab,
                CiFormatArg::Github => strata_ci::Format::Github,
            },
            output: arguments.output,
            path,
            json: arguments.json,
        })
    }
}

/// A selection as the arguments that make it again (`--since registry`, `--repo R`, …).
pub fn selection_arguments(select: &SelectSettings) -> Vec<String> {
    let mut arguments = Vec::new();
    if select.all {
        arguments.push("--all".to_string());
    } else {
        let since = match &select.since {
            ChangeSource::Registry => SINCE_REGISTRY.to_string(),
            ChangeSource::Git(since) => since.clone(),
        };
        arguments.extend(["--since".to_string(), since]);
    }
    for directory in &select.include {
        arguments.extend(["--include".to_string(), directory.clone()]);
    }
    for directory in &select.ignore {
        arguments.extend(["--ignore".to_string(), directory.clone()]);
    }
    if select.untracked {
        arguments.push("--untracked".to_string());
    }
    if let Some(repo) = &select.repo {
        arguments.extend(["--repo".to_string(), repo.clone()]);
    }
    if select.allow_orphan {
        arguments.push("--allow-orphan".to_string());
    }
    if let Some(platform) = &select.platform {
        arguments.extend(["--platform".to_string(), platform.clone()]);
    }
    for (name, value) in &select.build_args {
        arguments.extend(["--build-arg".to_string(), format!("{name}={value}")]);
    }
    arguments
}

/// `strata release --pipeline ID`.
#[derive(Debug, Clone)]
pub struct ReleaseSettings {
    pub select: SelectSettings,
    pub pipeline: String,
    /// Remove the staged images instead of releasing them.
    pub discard: bool,
    /// `--sign KEY`: sign what the release publishes.
    pub sign: Option<PathBuf>,
    pub json: bool,
}

impl ReleaseSettings {
    pub fn resolve(arguments: ReleaseArgs) -> anyhow::Result<Self> {
        let mut select = select_settings(arguments.select)?;
        select.build_args = build_arguments(&arguments.inputs.build_args)?;
        select.platform = arguments.inputs.platform;
        Ok(Self {
            select,
            pipeline: arguments.pipeline,
            discard: arguments.discard,
            sign: arguments.sign,
            json: arguments.json,
        })
    }
}

/// `--build-arg NAME=VALUE`s.
fn build_arguments(arguments: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut build_args = BTreeMap::new();
    for argument in arguments {
        let (name, value) = argument
            .split_once('=')
            .with_context(|| format!("`--build-arg {argument}` must be `NAME=VALUE`"))?;
        build_args.insert(name.to_string(), value.to_string());
    }
    Ok(build_args)
}

#[derive(Debug, Clone)]
pub struct TestSettings {
    pub select: SelectSettings,
    pub jobs: usize,
    pub junit: Option<PathBuf>,
    pub json: bool,
}

impl TestSettings {
    /// Without `--since`, `--include` or `--all`, every image is tested.
    pub fn resolve(arguments: crate::TestArgs) -> anyhow::Result<Self> {
        let selection = &arguments.select.selection;
        let everything = selection.since.as_deref().is_none_or(str::is_empty)
            && selection.include.is_empty()
            && !selection.untracked;
        let mut select = select_settings(arguments.select)?;
        select.all |= everything;
        Ok(Self {
            select,
            jobs: arguments.jobs.map_or_else(
                || std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
                usize::from,
            ),
            junit: arguments.junit,
            json: arguments.json,
        })
    }
}

#[derive(Debug, Clone)]
pub struct GraphSettings {
    pub root: PathBuf,
    pub format: GraphFormat,
}

/// The selection `plan`, `build`, `test` and `promote` take.
pub fn select_settings(arguments: SelectArgs) -> anyhow::Result<SelectSettings> {
    selection_settings(arguments.path, arguments.selection)
}

pub fn selection_settings(
    root: PathBuf,
    arguments: SelectionArgs,
) -> anyhow::Result<SelectSettings> {
    let include: Vec<String> = arguments
        .include
        .iter()
        .map(|directory| root_relative(&root, directory))
        .collect::<anyhow::Result<_>>()?;
    let ignore = arguments
        .ignore
        .iter()
        .map(|directory| root_relative(&root, directory))
        .collect::<anyhow::Result<_>>()?;
    // An empty variable counts as unset, as the Docker CLI treats its own.
    let since = match arguments.since.filter(|since| !since.is_empty()) {
        Some(since) if since == SINCE_REGISTRY => ChangeSource::Registry,
        Some(since) => ChangeSource::Git(since),
        None => ChangeSource::Git(DEFAULT_SINCE.to_string()),
    };
    if since == ChangeSource::Registry && (!include.is_empty() || arguments.untracked) {
        anyhow::bail!("`--since registry` compares every image with its published tag; it takes no `--include` or `--untracked`");
    }
    Ok(SelectSettings {
        all: arguments.all,
        since,
        include,
        ignore,
        untracked: arguments.untracked,
        repo: arguments.repo.filter(|repo| !repo.is_empty()),
        allow_orphan: arguments.allow_orphan,
        build_args: BTreeMap::new(),
        platform: None,
        root,
    })
}

impl PlanSettings {
    pub fn resolve(arguments: PlanArgs) -> anyhow::Result<Self> {
        let format = if arguments.json {
            PlanFormat::Json
        } else {
            arguments.format
        };
        Ok(Self {
            select: select_settings(arguments.select)?,
            format,
            output: arguments.output,
            contexts_dir: arguments.contexts_dir,
        })
    }
}

impl BuildSettings {
    pub fn resolve(arguments: BuildArgs) -> anyhow::Result<Self> {
        let build_args = build_arguments(&arguments.build_args)?;
        let jobs = arguments.jobs.map_or_else(
            || std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            usize::from,
        );
        let under_repository = |path: PathBuf| {
            if path.is_absolute() {
                path
            } else {
                arguments.select.path.join(path)
            }
        };
        let logs = under_repository(arguments.logs.clone());
        let audit = match (arguments.audit, arguments.audit_db.clone()) {
            (Some(severity), Some(db)) => Some((severity, db)),
            (Some(_), None) => anyhow::bail!(
                "`--audit` needs the advisory store: `--audit-db DIR` or `STRATA_AUDIT_DB` (write one with `strata audit import --db DIR all.zip...`)"
            ),
            (None, _) => None,
        };
        let manifests =
            (!arguments.no_manifests).then(|| under_repository(arguments.manifests.clone()));
        let mut select = select_settings(arguments.select)?;
        select.build_args.clone_from(&build_args);
        select.platform.clone_from(&arguments.platform);
        Ok(Self {
            select,
            jobs,
            push: arguments.push || arguments.pipeline.is_some(),
            only: arguments.only,
            pipeline: arguments.pipeline,
            only_platform: arguments.only_platform,
            build_args,
            platform: arguments.platform,
            no_cache: arguments.no_cache,
            pull: arguments.pull,
            network: arguments.network,
            builder: match arguments.builder {
                BuilderArg::Buildkit => BuilderKind::BuildKit,
                BuilderArg::Legacy => BuilderKind::Legacy,
            },
            emit_context: arguments.emit_context,
            logs,
            manifests,
            no_test: arguments.no_test,
            reproducible: arguments.reproducible || arguments.check_reproducible,
            check_reproducible: arguments.check_reproducible,
            lint: arguments.lint,
            junit: arguments.junit,
            json: arguments.json,
            sign: arguments.sign,
            audit,
        })
    }
}

/// `strata freeze IMAGE`.
#[derive(Debug, Clone)]
pub struct FreezeSettings {
    pub image: String,
    pub env: Option<String>,
    pub output: Option<PathBuf>,
    pub registry: bool,
    pub offline: bool,
    pub json: bool,
}

impl FreezeSettings {
    pub fn resolve(arguments: FreezeArgs) -> Self {
        Self {
            image: arguments.image,
            env: arguments.env,
            output: arguments.output,
            registry: arguments.registry,
            offline: arguments.offline,
            json: arguments.json,
        }
    }
}

#[derive(Debug, Clone)]
pub struct InspectSettings {
    pub image: String,
    pub registry: bool,
    pub format: InspectFormat,
    pub output: Option<PathBuf>,
    pub platform: Option<String>,
    /// `--key`: public keys the signatures are checked against.
    pub keys: Vec<PathBuf>,
}

impl InspectSettings {
    pub fn resolve(arguments: InspectArgs) -> Self {
        Self {
            image: arguments.image,
            registry: arguments.registry,
            format: if arguments.json {
                InspectFormat::Json
            } else {
                arguments.format
            },
            output: arguments.output,
            platform: arguments.platform,
            keys: arguments.key,
        }
    }
}

#[derive(Debug, Clone)]
pub struct DiffSettings {
    pub before: String,
    /// Empty with `--platforms`.
    pub after: String,
    pub registry: bool,
    /// `--files`: file-level comparison per layer.
    pub files: bool,
    pub json: bool,
    /// `--platform`: that platform of both images.
    pub platform: Option<String>,
    /// `--platforms`: the platforms of `before`, a multi-platform tag, against each other.
    pub platforms: bool,
}

impl DiffSettings {
    pub fn resolve(arguments: DiffArgs) -> Self {
        Self {
            before: arguments.before,
            after: arguments.after.unwrap_or_default(),
            registry: arguments.registry,
            files: arguments.files,
            json: arguments.json,
            platform: arguments.platform,
            platforms: arguments.platforms,
        }
    }
}

impl GraphSettings {
    pub fn resolve(arguments: &GraphArgs) -> Self {
        let format = match (arguments.json, arguments.format) {
            (true, _) | (false, GraphFormatArg::Json) => GraphFormat::Json,
            (false, GraphFormatArg::Tree) => GraphFormat::Tree,
            (false, GraphFormatArg::Dot) => GraphFormat::Dot,
            (false, GraphFormatArg::Mermaid) => GraphFormat::Mermaid,
        };
        Self {
            root: arguments.path.clone(),
            format,
        }
    }
}

/// A directory named on the command line, relative to the repository root. It may be given
/// relative to the current directory (`science/base`, `../repo/science/base`) or to the root.
fn root_relative(root: &Path, directory: &Path) -> anyhow::Result<String> {
    let canonical_root = root
        .canonicalize()
        .with_context(|| format!("cannot open the image repository at `{}`", root.display()))?;
    if let Ok(canonical) = directory.canonicalize() {
        if let Ok(relative) = canonical.strip_prefix(&canonical_root) {
            return Ok(slash_path(relative));
        }
    }
    Ok(slash_path(directory))
}

fn slash_path(path: &Path) -> String {
    let text = path
        .components()
        .filter(|component| !matches!(component, std::path::Component::CurDir))
        .map(|component| component.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    text.trim_end_matches('/').to_string()
}

/// How `strata promote` runs.
#[derive(Debug, Clone)]
pub struct PromoteSettings {
    pub mode: PromoteMode,
    pub force: bool,
    pub json: bool,
    /// The repository (for histories, and the plan in plan mode).
    pub root: PathBuf,
    /// `None` with `--no-manifests`.
    pub manifests: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub enum PromoteMode {
    /// `SOURCE TAG…`; `repo` (`--repo`, `STRATA_REPO`) helps find the image's history.
    References {
        source: String,
        targets: Vec<String>,
        repo: Option<String>,
    },
    /// `--tag TAG…` for every final image of a plan.
    Plan {
        select: SelectSettings,
        tags: Vec<String>,
    },
}

impl PromoteSettings {
    pub fn resolve(arguments: PromoteArgs) -> anyhow::Result<Self> {
        let root = arguments.repository.clone();
        let mode = if arguments.tags.is_empty() {
            let mut references = arguments.references.into_iter();
            let (Some(source), targets) = (references.next(), references.collect::<Vec<_>>())
            else {
                anyhow::bail!(
                    "name the image and its new tags (`strata promote SOURCE TAG...`), or promote a plan's images with `--tag TAG`"
                );
            };
            if targets.is_empty() {
                anyhow::bail!("name at least one tag to give `{source}`");
            }
            let selection = &arguments.selection;
            // `--since` is not checked: `STRATA_SINCE` may be set for the whole CI job.
            if selection.all
                || !selection.include.is_empty()
                || !selection.ignore.is_empty()
                || selection.untracked
            {
                anyhow::bail!(
                    "`--all`, `--include`, `--ignore` and `--untracked` select a plan's images for `--tag`; `SOURCE TAG...` names its image itself"
                );
            }
            PromoteMode::References {
                source,
                targets,
                repo: arguments.selection.repo.filter(|repo| !repo.is_empty()),
            }
        } else {
            if !arguments.references.is_empty() {
                anyhow::bail!(
                    "`--tag` promotes a plan's images; name no SOURCE with it (got `{}`)",
                    arguments.references.join(" ")
                );
            }
            PromoteMode::Plan {
                select: selection_settings(root.clone(), arguments.selection)?,
                tags: arguments.tags,
            }
        };
        let manifests = (!arguments.no_manifests).then(|| {
            if arguments.manifests.is_absolute() {
                arguments.manifests.clone()
            } else {
                root.join(&arguments.manifests)
            }
        });
        Ok(Self {
            mode,
            force: arguments.force,
            json: arguments.json,
            root,
            manifests,
        })
    }
}

/// How `strata lint` prints findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LintOutput {
    #[default]
    Text,
    Json,
    Sarif,
}

/// How `strata lint` runs.
#[derive(Debug, Clone, Default)]
pub struct LintSettings {
    pub paths: Vec<PathBuf>,
    pub output: LintOutput,
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub strict: bool,
    pub fix: bool,
    /// From the command line; `[lint] fail-level` applies when absent.
    pub fail_level: Option<strata_lint::Severity>,
    pub list_rules: bool,
    pub explain: Option<String>,
}

impl LintSettings {
    /// The rules the command line chooses, over `[lint]`'s.
    pub fn rules(&self) -> strata_lint::RuleChoice {
        strata_lint::RuleChoice {
            select: self.select.clone(),
            ignore: self.ignore.clone(),
            strict: self.strict,
            fail_level: self.fail_level,
        }
    }

    pub fn resolve(arguments: LintArgs) -> Self {
        let output = match (arguments.json, arguments.format) {
            (true, _) | (false, LintFormat::Json) => LintOutput::Json,
            (false, LintFormat::Sarif) => LintOutput::Sarif,
            (false, LintFormat::Text) => LintOutput::Text,
        };
        let paths = if arguments.paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            arguments.paths
        };
        Self {
            paths,
            output,
            select: arguments.select,
            ignore: arguments.ignore,
            strict: arguments.strict,
            fix: arguments.fix,
            fail_level: arguments.fail_level.map(|level| match level {
                FailLevel::Error => strata_lint::Severity::Error,
                FailLevel::Warning => strata_lint::Severity::Warning,
                FailLevel::Info => strata_lint::Severity::Info,
            }),
            list_rules: arguments.list_rules,
            explain: arguments.explain,
        }
    }
}

/// How `strata pin` runs.
#[derive(Debug, Clone)]
pub struct PinSettings {
    pub path: PathBuf,
    pub check: bool,
    pub update: bool,
    pub json: bool,
}

impl PinSettings {
    pub fn resolve(arguments: PinArgs) -> Self {
        Self {
            path: arguments.path,
            check: arguments.check,
            update: arguments.update,
            json: arguments.json,
        }
    }
}

/// How `strata outdated` runs.
#[derive(Debug, Clone)]
pub struct OutdatedSettings {
    pub path: PathBuf,
    pub repo: Option<String>,
    pub check: bool,
    pub json: bool,
    pub offline: bool,
}

impl OutdatedSettings {
    pub fn resolve(arguments: OutdatedArgs) -> Self {
        Self {
            path: arguments.path,
            repo: arguments.repo.filter(|repo| !repo.is_empty()),
            check: arguments.check,
            json: arguments.json,
            offline: arguments.offline,
        }
    }
}

/// How `strata lock` runs.
#[derive(Debug, Clone)]
pub enum LockCommandSettings {
    Lock(Box<LockRunSettings>),
    Fetch(FetchSettings),
}

/// `strata lock [REQUIREMENTS]`.
#[derive(Debug, Clone)]
pub struct LockRunSettings {
    pub requirements: Option<PathBuf>,
    pub repository: PathBuf,
    /// What the command line asks of each lock (`--upgrade` and `--upgrade-package` merged).
    pub request: strata_lock::requests::LockRequest,
    pub check: bool,
    pub offline: bool,
    pub json: bool,
}

/// `strata lock fetch LOCK DIR`.
#[derive(Debug, Clone)]
pub struct FetchSettings {
    pub lock: PathBuf,
    pub directory: PathBuf,
    pub offline: bool,
}

impl LockCommandSettings {
    pub fn resolve(arguments: LockArgs) -> Self {
        if let Some(LockCommand::Fetch(fetch)) = arguments.command {
            return Self::Fetch(FetchSettings {
                lock: fetch.lock,
                directory: fetch.directory,
                offline: fetch.offline,
            });
        }
        let options = arguments.lock;
        let upgrade = if options.upgrade {
            strata_pylock::Upgrade::All
        } else if options.upgrade_package.is_empty() {
            strata_pylock::Upgrade::Nothing
        } else {
            strata_pylock::Upgrade::Packages(
                options
                    .upgrade_package
                    .iter()
                    .map(|name| strata_inspect::normalize_python_name(name))
                    .collect(),
            )
        };
        Self::Lock(Box::new(LockRunSettings {
            requirements: options.requirements,
            repository: options.repository,
            request: strata_lock::requests::LockRequest {
                output: options.output,
                python_version: options.python_version.filter(|version| !version.is_empty()),
                platform: options.platform.filter(|platform| !platform.is_empty()),
                glibc: options.glibc,
                cuda: options.cuda,
                image: options.image,
                base: options.base,
                registry: options.registry,
                no_binary: options.no_binary,
                exclude_newer: options.exclude_newer,
                upgrade,
                index_url: options.index_url,
            },
            check: options.check,
            offline: options.offline,
            json: options.json,
        }))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::{Cli, Command};

    fn parse(arguments: &[&str]) -> Command {
        Cli::try_parse_from(std::iter::once("strata").chain(arguments.iter().copied()))
            .unwrap()
            .command
    }

    fn plan(arguments: &[&str]) -> anyhow::Result<PlanSettings> {
        let Command::Plan(arguments) = parse(&[&["plan"], arguments].concat()) else {
            unreachable!("a plan command")
        };
        PlanSettings::resolve(arguments)
    }

    #[test]
    fn since_chooses_git_or_the_registry_and_an_empty_value_is_unset() {
        assert_eq!(
            plan(&[]).unwrap().select.since,
            ChangeSource::Git(DEFAULT_SINCE.to_string())
        );
        assert_eq!(
            plan(&["--since", "main"]).unwrap().select.since,
            ChangeSource::Git("main".to_string())
        );
        assert_eq!(
            plan(&["--since", ""]).unwrap().select.since,
            ChangeSource::Git(DEFAULT_SINCE.to_string())
        );
        assert_eq!(
            plan(&["--since", SINCE_REGISTRY]).unwrap().select.since,
            ChangeSource::Registry
        );
        let refused = plan(&["--since", SINCE_REGISTRY, "--untracked"]).unwrap_err();
        assert!(refused
            .to_string()
            .contains("takes no `--include` or `--untracked`"));
    }

    #[test]
    fn directories_are_taken_relative_to_the_repository_root() {
        let directory = tempfile::tempdir().unwrap();
        let root = directory.path().join("repo");
        std::fs::create_dir_all(root.join("science/base")).unwrap();
        let root_text = root.to_str().unwrap();
        let through_root = root.join("science/base");
        let settings = plan(&[
            root_text,
            "--include",
            through_root.to_str().unwrap(),
            "--include",
            "./science/other/",
        ])
        .unwrap();
        assert_eq!(settings.select.include, ["science/base", "science/other"]);
    }

    #[test]
    fn build_arguments_are_name_value_pairs_shared_with_the_selection() {
        let Command::Build(arguments) = parse(&["build", "--build-arg", "A=1=2", "--jobs", "3"])
        else {
            unreachable!("a build command")
        };
        let settings = BuildSettings::resolve(arguments).unwrap();
        assert_eq!(settings.build_args["A"], "1=2");
        assert_eq!(settings.select.build_args, settings.build_args);
        assert_eq!(settings.jobs, 3);
        assert_eq!(settings.logs, Path::new(".").join(".strata/logs"));
        let Command::Build(arguments) = parse(&["build", "--build-arg", "A"]) else {
            unreachable!("a build command")
        };
        let refused = BuildSettings::resolve(arguments).unwrap_err();
        assert!(refused.to_string().contains("must be `NAME=VALUE`"));
    }
}
