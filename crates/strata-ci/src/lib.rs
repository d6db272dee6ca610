//! The CI pipeline of a plan (`strata ci`): one build job per image and platform, each
//! `strata build --pipeline ID --only NAME` (staging its image, by digest, for the jobs after
//! it), ordered as the image graph is, and one release job (`strata release --pipeline ID`)
//! that runs only when every build job passed. Written for GitLab CI (a file usable as a
//! dynamic child pipeline or committed as is) or GitHub Actions (a workflow file), within each
//! system's limits:
//!
//! - GitLab: a job may `needs` at most 50 jobs. Build jobs `needs` their parents' jobs (through
//!   fan-in jobs when a build waits on more than 50); the release job is in a later stage, which
//!   GitLab starts only when every job of the build stage passed, so it needs no `needs`. An
//!   empty pipeline is refused by GitLab: a plan that builds nothing gives one job saying so.
//! - GitHub: a matrix makes at most 256 jobs, and a workflow file is at most 500 KB. Builds are
//!   grouped by their depth in the graph and their platform into matrix jobs of at most 256
//!   builds, each waiting on the groups of the depth before; job ids are `[A-Za-z_][A-Za-z0-9_-]*`.

use std::collections::{BTreeMap, HashMap};

use serde_yaml::{Mapping, Value};
use strata_plan::Plan;
use strata_repo::CiConfig;

/// GitLab's limit on a job's `needs`.
pub const GITLAB_MAX_NEEDS: usize = 50;
/// GitHub's limit on the jobs one matrix makes.
pub const GITHUB_MAX_MATRIX: usize = 256;

/// Which CI system the pipeline is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    Gitlab,
    Github,
}

/// What the pipeline is made from.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub plan: &'a Plan,
    pub config: &'a CiConfig,
    /// The selection every job repeats, as arguments of `strata` (`--since registry`,
    /// `--repo REPO`, …): each job must plan what the pipeline was made from.
    pub selection: Vec<String>,
    /// The repository's path from where jobs start (the checkout's root: `.`).
    pub path: String,
}

/// One build job: a build of the plan on one platform.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BuildJob {
    pub id: String,
    pub build: String,
    /// Set when the build is for several platforms: this job builds this one.
    pub platform: Option<String>,
    /// The build jobs it waits on: its parent's, and those of the images it copies from.
    pub needs: Vec<String>,
}

/// A pipeline written.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Written {
    pub format: Format,
    #[serde(skip)]
    pub text: String,
    pub builds: Vec<BuildJob>,
    /// How many jobs the file has in all (build, fan-in or matrix, release).
    pub jobs: usize,
    /// How the system's limits were met, for people.
    pub notes: Vec<String>,
}

/// One job per build and platform, with the jobs it waits on, in plan order (parents first).
pub fn build_jobs(plan: &Plan) -> Vec<BuildJob> {
    let mut used: HashMap<String, usize> = HashMap::new();
    let mut jobs: Vec<BuildJob> = Vec::new();
    for build in &plan.builds {
        let platforms: Vec<Option<&String>> = if build.platforms.len() > 1 {
            build.platforms.iter().map(Some).collect()
        } else {
            vec![None]
        };
        for platform in platforms {
            let mut id = format!("build-{}", slug(&build.name));
            if let Some(platform) = platform {
                id = format!("{id}-{}", slug(platform));
            }
            let count = used.entry(id.clone()).or_insert(0);
            *count += 1;
            if *count > 1 {
                id = format!("{id}-{count}");
            }
            jobs.push(BuildJob {
                id,
                build: build.name.clone(),
                platform: platform.cloned(),
                needs: Vec::new(),
            });
        }
    }
    let waits: Vec<Vec<String>> = plan
        .builds
        .iter()
        .flat_map(|build| {
            let count = build.platforms.len().max(1);
            std::iter::repeat_n(&build.depends_on, count)
        })
        .zip(&jobs)
        .map(|(depends_on, job)| {
            depends_on
                .iter()
                .flat_map(|dependency| {
                    let all: Vec<&BuildJob> = jobs
                        .iter()
                        .filter(|other| &other.build == dependency)
                        .collect();
                    let same: Vec<&BuildJob> = all
                        .iter()
                        .copied()
                        .filter(|other| other.platform == job.platform)
                        .collect();
                    if same.is_empty() {
                        all
                    } else {
                        same
                    }
                })
                .map(|other| other.id.clone())
                .collect()
        })
        .collect();
    for (job, needs) in jobs.iter_mut().zip(waits) {
        job.needs = needs;
    }
    jobs
}

/// Lowercase letters, digits and `-` of a name, for a job id.
fn slug(text: &str) -> String {
    let mut slug = String::new();
    for character in text.chars() {
        if character.is_ascii_alphanumeric() || character == '_' {
            slug.push(character.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_matches('-').to_string()
}

/// The pipeline file for `format`.
pub fn write(format: Format, request: &Request<'_>) -> Written {
    match format {
        Format::Gitlab => gitlab(request),
        Format::Github => github(request),
    }
}

fn quote(argument: &str) -> String {
    let plain = !argument.is_empty()
        && argument
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-_./:=@,+".contains(&byte));
    if plain {
        argument.to_string()
    } else {
        format!("'{}'", argument.replace('\'', r"'\''"))
    }
}

fn strata(request: &Request<'_>) -> String {
    request
        .config
        .strata
        .clone()
        .unwrap_or_else(|| "strata".to_string())
}

/// `strata build --pipeline ID --only NAME [--only-platform P] SELECTION PATH`.
fn build_command(
    request: &Request<'_>,
    pipeline: &str,
    build: &str,
    platform: Option<&str>,
) -> String {
    let mut words = vec![
        strata(request),
        "build".to_string(),
        "--pipeline".to_string(),
        pipeline.to_string(),
        "--only".to_string(),
        quote(build),
    ];
    if let Some(platform) = platform {
        words.extend(["--only-platform".to_string(), quote(platform)]);
    }
    words.extend(request.selection.iter().map(|argument| quote(argument)));
    words.push(quote(&request.path));
    words.join(" ")
}

fn release_command(request: &Request<'_>, pipeline: &str) -> String {
    let mut words = vec![
        strata(request),
        "release".to_string(),
        "--pipeline".to_string(),
        pipeline.to_string(),
    ];
    words.extend(request.selection.iter().map(|argument| quote(argument)));
    words.push(quote(&request.path));
    words.join(" ")
}

/// What a pipeline with a failed job runs instead of the release: its staged images removed,
/// no tag moved (`strata release --discard` looks at every image, whatever the selection).
fn discard_command(request: &Request<'_>, pipeline: &str) -> String {
    [
        strata(request),
        "release".to_string(),
        "--pipeline".to_string(),
        pipeline.to_string(),
        "--discard".to_string(),
        quote(&request.path),
    ]
    .join(" ")
}

fn strings(items: impl IntoIterator<Item = impl Into<String>>) -> Value {
    Value::Sequence(
        items
            .into_iter()
            .map(|item| Value::String(item.into()))
            .collect(),
    )
}

fn key(text: &str) -> Value {
    Value::String(text.to_string())
}

fn header(request: &Request<'_>, format: &str) -> String {
    let plan = request.plan;
    let mut arguments = vec![
        "strata".to_string(),
        "ci".to_string(),
        "--format".to_string(),
        format.to_string(),
    ];
    arguments.extend(request.selection.iter().map(|argument| quote(argument)));
    format!(
        "# Written by `{}` from the plan of commit {} ({} build(s)); do not edit it by hand.\n\
         # Each build job stages its image by digest (`strata build --pipeline`); the release job\n\
         # moves every tag once all of them passed (`strata release --pipeline`).\n",
        arguments.join(" "),
        if plan.commit.short_hash.is_empty() {
            "(none)"
        } else {
            &plan.commit.short_hash
        },
        plan.builds.len()
    )
}

/// GitLab CI: a build stage of one job per build and platform, ordered by `needs`, then a
/// release stage.
fn gitlab(request: &Request<'_>) -> Written {
    const PIPELINE: &str = "\"$CI_PIPELINE_ID\"";
    let config = request.config;
    let builds = build_jobs(request.plan);
    let mut notes = Vec::new();
    let mut document = Mapping::new();
    let mut defaults = Mapping::new();
    if let Some(image) = &config.image {
        defaults.insert(key("image"), Value::String(image.clone()));
    }
    let mut before: Vec<String> = config.before_script.clone();
    if let Some(install) = &config.install {
        before.push(install.clone());
    }
    if !before.is_empty() {
        defaults.insert(key("before_script"), strings(before));
    }
    if !defaults.is_empty() {
        document.insert(key("default"), Value::Mapping(defaults));
    }
    let tags_for = |platform: Option<&String>| -> Vec<String> {
        match platform.and_then(|platform| config.runners.get(platform)) {
            Some(runner) => vec![runner.clone()],
            None => config.tags.clone(),
        }
    };
    if builds.is_empty() {
        // GitLab refuses a pipeline without jobs.
        let mut job = Mapping::new();
        job.insert(
            key("script"),
            strings(["echo 'strata: the plan builds nothing (nothing changed); no image is built and no tag moves'"]),
        );
        if !config.tags.is_empty() {
            job.insert(key("tags"), strings(config.tags.clone()));
        }
        document.insert(key("nothing-to-build"), Value::Mapping(job));
        notes.push(
            "the plan builds nothing: one job says so (GitLab refuses a pipeline without jobs)"
                .to_string(),
        );
        return finish(
            Format::Gitlab,
            request,
            "gitlab",
            document,
            builds,
            1,
            notes,
        );
    }
    document.insert(key("stages"), strings(["build", "release"]));
    let mut jobs = 0;
    let mut fan_ins = 0;
    for job in &builds {
        let mut needs = job.needs.clone();
        // More than GitLab's 50: fan-in jobs wait on 50 each, the build on them.
        let mut level = 0;
        while needs.len() > GITLAB_MAX_NEEDS {
            level += 1;
            let mut grouped = Vec::new();
            for (index, chunk) in needs.chunks(GITLAB_MAX_NEEDS).enumerate() {
                let id = format!("{}-waits-{level}-{}", job.id, index + 1);
                let mut fan_in = Mapping::new();
                fan_in.insert(key("stage"), key("build"));
                fan_in.insert(key("needs"), strings(chunk.to_vec()));
                fan_in.insert(
                    key("script"),
                    strings(["echo 'the jobs this one waits on passed'"]),
                );
                let tags = tags_for(None);
                if !tags.is_empty() {
                    fan_in.insert(key("tags"), strings(tags));
                }
                document.insert(Value::String(id.clone()), Value::Mapping(fan_in));
                grouped.push(id);
                fan_ins += 1;
                jobs += 1;
            }
            needs = grouped;
        }
        let mut entry = Mapping::new();
        entry.insert(key("stage"), key("build"));
        entry.insert(key("needs"), strings(needs));
        let tags = tags_for(job.platform.as_ref());
        if !tags.is_empty() {
            entry.insert(key("tags"), strings(tags));
        }
        entry.insert(
            key("script"),
            strings([build_command(
                request,
                PIPELINE,
                &job.build,
                job.platform.as_deref(),
            )]),
        );
        document.insert(Value::String(job.id.clone()), Value::Mapping(entry));
        jobs += 1;
    }
    let mut release = Mapping::new();
    release.insert(key("stage"), key("release"));
    if !config.tags.is_empty() {
        release.insert(key("tags"), strings(config.tags.clone()));
    }
    release.insert(key("script"), strings([release_command(request, PIPELINE)]));
    let mut discard = release.clone();
    document.insert(key("release"), Value::Mapping(release));
    discard.insert(key("when"), key("on_failure"));
    discard.insert(key("script"), strings([discard_command(request, PIPELINE)]));
    document.insert(key("discard"), Value::Mapping(discard));
    jobs += 2;
    notes.push(format!(
        "{} build job(s) ordered by `needs`; the release job is in the `release` stage, which GitLab starts only when every build job passed (no `needs` list, so no 50-job limit); when one failed, the `discard` job removes what the pipeline staged instead",
        builds.len()
    ));
    if fan_ins > 0 {
        notes.push(format!(
            "{fan_ins} fan-in job(s): a build waiting on more than {GITLAB_MAX_NEEDS} jobs waits on them through jobs of at most {GITLAB_MAX_NEEDS} `needs` each"
        ));
    }
    finish(
        Format::Gitlab,
        request,
        "gitlab",
        document,
        builds,
        jobs,
        notes,
    )
}

/// GitHub Actions: builds grouped by depth in the graph and platform into matrix jobs.
fn github(request: &Request<'_>) -> Written {
    const PIPELINE: &str = "\"${{ github.run_id }}\"";
    let config = request.config;
    let builds = build_jobs(request.plan);
    let mut notes = Vec::new();
    let mut document = Mapping::new();
    document.insert(key("name"), key("strata"));
    let mut on = Mapping::new();
    on.insert(key("push"), Value::Null);
    on.insert(key("workflow_dispatch"), Value::Null);
    document.insert(key("on"), Value::Mapping(on));
    let runs_on = |platform: Option<&String>| -> Value {
        match platform.and_then(|platform| config.runners.get(platform)) {
            Some(runner) => Value::String(runner.clone()),
            None => match config.tags.as_slice() {
                [] => key("ubuntu-latest"),
                [one] => Value::String(one.clone()),
                many => strings(many.to_vec()),
            },
        }
    };
    let steps = |commands: Vec<String>| -> Value {
        let mut checkout = Mapping::new();
        checkout.insert(key("uses"), key("actions/checkout@v4"));
        let mut with = Mapping::new();
        // strata reads the history: `--since` references and the version history.
        with.insert(key("fetch-depth"), Value::Number(0.into()));
        checkout.insert(key("with"), Value::Mapping(with));
        let mut list = vec![Value::Mapping(checkout)];
        let mut before: Vec<String> = config.before_script.clone();
        if let Some(install) = &config.install {
            before.push(install.clone());
        }
        for command in before.into_iter().chain(commands) {
            let mut step = Mapping::new();
            step.insert(key("run"), Value::String(command));
            list.push(Value::Mapping(step));
        }
        Value::Sequence(list)
    };
    let job_base = |name: String, platform: Option<&String>, needs: Vec<String>| -> Mapping {
        let mut job = Mapping::new();
        job.insert(key("name"), Value::String(name));
        job.insert(key("runs-on"), runs_on(platform));
        if let Some(image) = &config.image {
            job.insert(key("container"), Value::String(image.clone()));
        }
        if !needs.is_empty() {
            job.insert(key("needs"), strings(needs));
        }
        job
    };
    let mut jobs_map = Mapping::new();
    if builds.is_empty() {
        let mut job = job_base("nothing to build".to_string(), None, Vec::new());
        job.insert(
            key("steps"),
            Value::Sequence(vec![{
                let mut step = Mapping::new();
                step.insert(
                    key("run"),
                    key("echo 'strata: the plan builds nothing; no image is built and no tag moves'"),
                );
                Value::Mapping(step)
            }]),
        );
        jobs_map.insert(key("nothing-to-build"), Value::Mapping(job));
        document.insert(key("jobs"), Value::Mapping(jobs_map));
        notes.push("the plan builds nothing: one job says so".to_string());
        return finish(
            Format::Github,
            request,
            "github",
            document,
            builds,
            1,
            notes,
        );
    }
    // Depth of each build: one more than its deepest dependency's (builds come parents first).
    let mut depth: HashMap<&str, usize> = HashMap::new();
    for build in &request.plan.builds {
        let level = build
            .depends_on
            .iter()
            .filter_map(|dependency| depth.get(dependency.as_str()))
            .map(|level| level + 1)
            .max()
            .unwrap_or(0);
        depth.insert(&build.name, level);
    }
    // (depth, platform) → builds, in plan order.
    let mut groups: BTreeMap<(usize, Option<String>), Vec<&BuildJob>> = BTreeMap::new();
    for job in &builds {
        groups
            .entry((depth[job.build.as_str()], job.platform.clone()))
            .or_default()
            .push(job);
    }
    let mut ids_by_depth: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut all_ids = Vec::new();
    for ((level, platform), members) in &groups {
        let chunks: Vec<&[&BuildJob]> = members.chunks(GITHUB_MAX_MATRIX).collect();
        for (index, chunk) in chunks.iter().enumerate() {
            let mut id = format!("build-{level}");
            if let Some(platform) = platform {
                id = format!("{id}-{}", slug(platform));
            }
            if chunks.len() > 1 {
                id = format!("{id}-{}", index + 1);
            }
            let needs = if *level == 0 {
                Vec::new()
            } else {
                ids_by_depth.get(&(level - 1)).cloned().unwrap_or_default()
            };
            let mut job = job_base(
                format!(
                    "build ${{{{ matrix.build }}}}{}",
                    platform
                        .as_ref()
                        .map(|platform| format!(" ({platform})"))
                        .unwrap_or_default()
                ),
                platform.as_ref(),
                needs,
            );
            let mut matrix = Mapping::new();
            matrix.insert(
                key("build"),
                strings(chunk.iter().map(|job| job.build.clone())),
            );
            let mut strategy = Mapping::new();
            // One image failing stops none of its siblings; the jobs after wait on all of them.
            strategy.insert(key("fail-fast"), Value::Bool(false));
            strategy.insert(key("matrix"), Value::Mapping(matrix));
            job.insert(key("strategy"), Value::Mapping(strategy));
            job.insert(
                key("steps"),
                steps(vec![build_command(
                    request,
                    PIPELINE,
                    "${{ matrix.build }}",
                    platform.as_deref(),
                )]),
            );
            jobs_map.insert(Value::String(id.clone()), Value::Mapping(job));
            ids_by_depth.entry(*level).or_default().push(id.clone());
            all_ids.push(id);
        }
    }
    let mut release = job_base("release".to_string(), None, all_ids.clone());
    release.insert(
        key("steps"),
        steps(vec![release_command(request, PIPELINE)]),
    );
    jobs_map.insert(key("release"), Value::Mapping(release));
    let mut discard = job_base("discard".to_string(), None, all_ids.clone());
    discard.insert(key("if"), key("${{ failure() }}"));
    discard.insert(
        key("steps"),
        steps(vec![discard_command(request, PIPELINE)]),
    );
    jobs_map.insert(key("discard"), Value::Mapping(discard));
    document.insert(key("jobs"), Value::Mapping(jobs_map));
    let jobs = all_ids.len() + 2;
    notes.push(format!(
        "{} build(s) in {} matrix job(s), one per depth in the image graph and platform, at most {GITHUB_MAX_MATRIX} builds each; each waits on the whole depth before it, and the release on every one (the `discard` job runs instead when one failed)",
        builds.len(),
        all_ids.len()
    ));
    finish(
        Format::Github,
        request,
        "github",
        document,
        builds,
        jobs,
        notes,
    )
}

fn finish(
    format: Format,
    request: &Request<'_>,
    name: &str,
    document: Mapping,
    builds: Vec<BuildJob>,
    jobs: usize,
    notes: Vec<String>,
) -> Written {
    let body = serde_yaml::to_string(&Value::Mapping(document)).unwrap_or_default();
    Written {
        format,
        text: format!("{}{body}", header(request, name)),
        builds,
        jobs,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_plan::{Build, BuildKind, Reason};

    fn build(name: &str, depends_on: &[&str], platforms: &[&str]) -> Build {
        Build {
            kind: BuildKind::Image,
            name: name.to_string(),
            image: name.to_string(),
            version: None,
            variant: None,
            context: name.to_string(),
            dockerfile: format!("{name}/Dockerfile"),
            from: "busybox".to_string(),
            parent: None,
            tags: vec![
                format!("registry.example/{name}:1"),
                format!("registry.example/{name}:latest"),
            ],
            depends_on: depends_on.iter().map(|name| (*name).to_string()).collect(),
            reason: Reason::Changed,
            triggered_by: None,
            compat_layers: Vec::new(),
            build_args: BTreeMap::new(),
            labels: BTreeMap::new(),
            taggers: Vec::new(),
            tests: Vec::new(),
            platforms: platforms
                .iter()
                .map(|platform| (*platform).to_string())
                .collect(),
            reads: Vec::new(),
        }
    }

    fn plan(builds: Vec<Build>) -> Plan {
        Plan {
            schema_version: 1,
            layout: "generic",
            layouts: vec!["generic"],
            repo: "registry.example".to_string(),
            commit: strata_repo::CommitInfo {
                hash: "0".repeat(40),
                short_hash: "0000000".to_string(),
                count: 1,
            },
            since: None,
            builds,
        }
    }

    fn request<'a>(plan: &'a Plan, config: &'a CiConfig) -> Request<'a> {
        Request {
            plan,
            config,
            selection: vec!["--since".to_string(), "registry".to_string()],
            path: ".".to_string(),
        }
    }

    fn yaml(written: &Written) -> serde_yaml::Value {
        serde_yaml::from_str(&written.text).unwrap()
    }

    #[test]
    fn jobs_follow_the_graph_per_platform() {
        let platforms = ["linux/amd64", "linux/arm64"];
        let plan = plan(vec![
            build("base", &[], &platforms),
            build("tool", &["base"], &platforms),
            // One platform: it waits on the parent's jobs of every platform.
            build("docs", &["base"], &[]),
            build("base/variant", &[], &[]),
            build("base-variant", &[], &[]),
        ]);
        let jobs = build_jobs(&plan);
        let ids: Vec<&str> = jobs.iter().map(|job| job.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "build-base-linux-amd64",
                "build-base-linux-arm64",
                "build-tool-linux-amd64",
                "build-tool-linux-arm64",
                "build-docs",
                "build-base-variant",
                "build-base-variant-2"
            ]
        );
        assert_eq!(jobs[2].needs, ["build-base-linux-amd64"]);
        assert_eq!(jobs[3].needs, ["build-base-linux-arm64"]);
        assert_eq!(
            jobs[4].needs,
            ["build-base-linux-amd64", "build-base-linux-arm64"]
        );
        let config = CiConfig {
            runners: [("linux/arm64".to_string(), "arm-runner".to_string())].into(),
            tags: vec!["docker".to_string()],
            ..CiConfig::default()
        };
        let gitlab = yaml(&write(Format::Gitlab, &request(&plan, &config)));
        let job = &gitlab["build-tool-linux-arm64"];
        assert_eq!(job["tags"][0], "arm-runner");
        assert_eq!(gitlab["build-tool-linux-amd64"]["tags"][0], "docker");
        assert_eq!(
            job["script"][0],
            "strata build --pipeline \"$CI_PIPELINE_ID\" --only tool --only-platform linux/arm64 --since registry ."
        );
        assert_eq!(gitlab["release"]["stage"], "release");
        assert!(
            gitlab["release"]["needs"].is_null(),
            "the stage orders the release"
        );
        assert_eq!(
            gitlab["release"]["script"][0],
            "strata release --pipeline \"$CI_PIPELINE_ID\" --since registry ."
        );
    }

    #[test]
    fn gitlab_needs_stay_within_fifty_through_fan_in_jobs() {
        let mut builds: Vec<Build> = (0..120)
            .map(|index| build(&format!("lib{index}"), &[], &[]))
            .collect();
        let names: Vec<String> = builds.iter().map(|build| build.name.clone()).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        builds.push(build("everything", &names, &[]));
        let plan = plan(builds);
        let written = write(Format::Gitlab, &request(&plan, &CiConfig::default()));
        let document = yaml(&written);
        let mapping = document.as_mapping().unwrap();
        for (name, job) in mapping {
            if let Some(needs) = job.get("needs").and_then(|needs| needs.as_sequence()) {
                assert!(
                    needs.len() <= GITLAB_MAX_NEEDS,
                    "{name:?} needs {}",
                    needs.len()
                );
            }
        }
        let waits = document["build-everything"]["needs"].as_sequence().unwrap();
        assert_eq!(waits.len(), 3, "120 jobs in fan-ins of 50, 50 and 20");
        let mut reached: Vec<String> = Vec::new();
        for fan_in in waits {
            for need in document[fan_in.as_str().unwrap()]["needs"]
                .as_sequence()
                .unwrap()
            {
                reached.push(need.as_str().unwrap().to_string());
            }
        }
        assert_eq!(reached.len(), 120);
        // The builds, the fan-ins, the release and the discard run when a build failed.
        assert_eq!(written.jobs, 121 + 3 + 2);
        assert_eq!(document["discard"]["when"], "on_failure");
        assert!(written
            .notes
            .iter()
            .any(|note| note.contains("3 fan-in job(s)")));
    }

    #[test]
    fn github_matrices_hold_at_most_256_builds_by_depth_and_platform() {
        let mut builds: Vec<Build> = (0..300)
            .map(|index| {
                build(
                    &format!("leaf{index}"),
                    &[],
                    &["linux/amd64", "linux/arm64"],
                )
            })
            .collect();
        builds.push(build("top", &["leaf0"], &["linux/amd64", "linux/arm64"]));
        let plan = plan(builds);
        let written = write(Format::Github, &request(&plan, &CiConfig::default()));
        let document = yaml(&written);
        let jobs = document["jobs"].as_mapping().unwrap();
        let matrix = |id: &str| {
            document["jobs"][id]["strategy"]["matrix"]["build"]
                .as_sequence()
                .unwrap()
                .len()
        };
        assert_eq!(matrix("build-0-linux-amd64-1"), 256);
        assert_eq!(matrix("build-0-linux-amd64-2"), 44);
        assert_eq!(matrix("build-1-linux-arm64"), 1);
        assert_eq!(
            document["jobs"]["build-1-linux-amd64"]["needs"]
                .as_sequence()
                .unwrap()
                .len(),
            4,
            "depth 1 waits on every job of depth 0"
        );
        assert_eq!(
            document["jobs"]["release"]["needs"]
                .as_sequence()
                .unwrap()
                .len(),
            6
        );
        for (id, _) in jobs {
            let id = id.as_str().unwrap();
            assert!(
                id.starts_with(
                    |character: char| character.is_ascii_alphabetic() || character == '_'
                ) && id.chars().all(|character| character.is_ascii_alphanumeric()
                    || character == '_'
                    || character == '-'),
                "{id}"
            );
        }
    }

    #[test]
    fn a_plan_that_builds_nothing_still_makes_a_pipeline() {
        let plan = plan(Vec::new());
        for format in [Format::Gitlab, Format::Github] {
            let written = write(format, &request(&plan, &CiConfig::default()));
            assert_eq!(written.jobs, 1);
            assert!(written.builds.is_empty());
            assert!(
                written.text.contains("nothing-to-build"),
                "{}",
                written.text
            );
            assert!(!written.text.contains("--only"), "{}", written.text);
            let document = yaml(&written);
            let jobs = match format {
                Format::Gitlab => document.as_mapping().unwrap().clone(),
                Format::Github => document["jobs"].as_mapping().unwrap().clone(),
            };
            let ids: Vec<&str> = jobs.keys().map(|key| key.as_str().unwrap()).collect();
            assert_eq!(ids, ["nothing-to-build"], "{}", written.text);
        }
    }
}
